//! Micro-benchmarks of the PasswordReset messages: decoding and checking a request body as
//! the handlers do, and encoding the response.
//!
//! Run with `cargo xtask bench --micro` (or `cargo bench -p rekey-http-adapter`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rekey_application::usecase::password_reset::Output;
use rekey_domain::{Details, OrgId, PlainCode};
use rekey_http_adapter::codec::{decode_password_reset, encode_password_reset};

fn json(c: &mut Criterion) {
    let return_code = br#"{"userId":"312345678901234567","returnCode":{}}"#;
    c.bench_function("decode PasswordResetRequest (returnCode)", |b| {
        b.iter(|| decode_password_reset(black_box(return_code)));
    });
    let send_link = br#"{"userId":"312345678901234567","sendLink":{"notificationType":"NOTIFICATION_TYPE_Email","urlTemplate":"https://login.example.com/ui/login/password/init?userID={{.UserID}}&code={{.Code}}&orgID={{.OrgID}}"}}"#;
    c.bench_function("decode PasswordResetRequest (sendLink)", |b| {
        b.iter(|| decode_password_reset(black_box(send_link)));
    });
    let org = OrgId::try_from("312345678901234000".to_owned()).expect("org id");
    let output = Output {
        details: Details {
            sequence: 42,
            change_date: chrono::DateTime::from_timestamp(1_764_250_000, 123_456_000)
                .expect("time"),
            resource_owner: org,
        },
        code: Some(PlainCode::new("Q7K2ZM")),
    };
    c.bench_function("encode PasswordResetResponse (returnCode)", |b| {
        b.iter(|| encode_password_reset(black_box(&output)));
    });
}

criterion_group!(benches, json);
criterion_main!(benches);
