//! Micro-benchmarks of the PasswordReset messages: decoding and checking a request as every
//! transport does (proto3 JSON for REST and Connect JSON, protobuf for gRPC and Connect binary),
//! and encoding the response.
//!
//! Run with `cargo xtask bench --micro` (or `cargo bench -p rekey-api`).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use prost::Message as _;
use rekey_api::json::{self, JsonResponse as _};
use rekey_api::rpc::password_reset::{input, response};
use rekey_application::usecase::password_reset::Output;
use rekey_domain::{Details, OrgId, PlainCode};
use rekey_proto::zitadel::user::v2::PasswordResetRequest;

fn codec(c: &mut Criterion) {
    let return_code = br#"{"userId":"312345678901234567","returnCode":{}}"#;
    c.bench_function("decode PasswordResetRequest JSON (returnCode)", |b| {
        b.iter(|| json::decode::<PasswordResetRequest>(black_box(return_code)).map(input));
    });
    let send_link = br#"{"userId":"312345678901234567","sendLink":{"notificationType":"NOTIFICATION_TYPE_Email","urlTemplate":"https://login.example.com/ui/login/password/init?userID={{.UserID}}&code={{.Code}}&orgID={{.OrgID}}"}}"#;
    c.bench_function("decode PasswordResetRequest JSON (sendLink)", |b| {
        b.iter(|| json::decode::<PasswordResetRequest>(black_box(send_link)).map(input));
    });
    let binary = json::decode::<PasswordResetRequest>(send_link)
        .expect("the JSON decodes")
        .encode_to_vec();
    c.bench_function("decode PasswordResetRequest protobuf (sendLink)", |b| {
        b.iter(|| PasswordResetRequest::decode(black_box(binary.as_slice())).map(input));
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
    c.bench_function("encode PasswordResetResponse JSON (returnCode)", |b| {
        b.iter(|| response(black_box(&output)).to_json().to_string());
    });
    c.bench_function("encode PasswordResetResponse protobuf (returnCode)", |b| {
        b.iter(|| response(black_box(&output)).encode_to_vec());
    });
}

criterion_group!(benches, codec);
criterion_main!(benches);
