//! Micro-benchmarks of url templates: the check PasswordReset runs on every sendLink template,
//! and the rendering the delivery worker does for every message.
//!
//! Run with `cargo xtask bench --micro` (or `cargo bench -p rekey-notifier-adapter`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rekey_application::ports::{LinkData, LinkRenderer as _};
use rekey_domain::UrlTemplate;
use rekey_notifier_adapter::HandlebarsLinks;

fn links(c: &mut Criterion) {
    let links = HandlebarsLinks::new();
    let data = LinkData {
        user_id: "312345678901234567",
        org_id: "312345678901234000",
        code: "Q7K2ZM",
    };
    let go = "https://login.example.com/ui/login/password/init?userID={{.UserID}}&code={{.Code}}&orgID={{.OrgID}}";
    c.bench_function("HandlebarsLinks::render (Go style, 3 values)", |b| {
        b.iter(|| links.render(black_box(go), black_box(&data)));
    });
    let conditional =
        "https://example.com/reset/{{UserID}}?code={{Code}}{{#if OrgID}}&org={{OrgID}}{{/if}}";
    c.bench_function("HandlebarsLinks::render (if helper)", |b| {
        b.iter(|| links.render(black_box(conditional), black_box(&data)));
    });
    // The renders above reuse the compiled template; a fresh renderer compiles it first.
    c.bench_function(
        "HandlebarsLinks::render (Go style, not yet compiled)",
        |b| {
            b.iter(|| HandlebarsLinks::new().render(black_box(go), black_box(&data)));
        },
    );
    let template = UrlTemplate::try_from(go.to_owned()).expect("template");
    c.bench_function("HandlebarsLinks::validate", |b| {
        b.iter(|| links.validate(black_box(&template)));
    });
}

criterion_group!(benches, links);
criterion_main!(benches);
