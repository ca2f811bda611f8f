//! Byte-level facts: bytes produced by ZITADEL's own TypeScript stack (`@bufbuild/protobuf`
//! `toBinary`, `@zitadel/proto` 1.3.1) decode to what we expect, and ours encode to the same.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use prost::Message as _;
use rekey_proto::google::rpc::Status;
use rekey_proto::prost;
use rekey_proto::prost_types::Any;
use rekey_proto::zitadel::user::{v2, v2beta};
use rekey_proto::zitadel::v1::ErrorDetail;

/// `{userId:"123", returnCode:{}}`.
const RETURN_CODE: &[u8] = &[0x0a, 0x03, 0x31, 0x32, 0x33, 0x1a, 0x00];
/// `{userId:"123", sendLink:{notificationType:1, urlTemplate:"x"}}`.
const SEND_LINK: &[u8] = &[
    0x0a, 0x03, 0x31, 0x32, 0x33, 0x12, 0x05, 0x08, 0x01, 0x12, 0x01, 0x78,
];

/// The `grpc-status-details-bin` of ZITADEL's answer to PasswordReset for a missing user.
const NOT_FOUND_STATUS_B64: &str = "CAUSJ1VzZXIgY291bGQgbm90IGJlIGZvdW5kIChDT01NQU5ELVNBRjRmKRpWCip0eXBlLmdvb2dsZWFwaXMuY29tL3ppdGFkZWwudjEuRXJyb3JEZXRhaWwSKAoNQ09NTUFORC1TQUY0ZhIXVXNlciBjb3VsZCBub3QgYmUgZm91bmQ";
/// The same error's Connect detail `value`: the `ErrorDetail` alone.
const NOT_FOUND_DETAIL_B64: &str = "Cg1DT01NQU5ELVNBRjRmEhdVc2VyIGNvdWxkIG5vdCBiZSBmb3VuZA";

fn not_found_detail() -> ErrorDetail {
    ErrorDetail {
        id: "COMMAND-SAF4f".to_owned(),
        message: "User could not be found".to_owned(),
    }
}

fn not_found_status() -> Status {
    Status {
        code: 5,
        message: "User could not be found (COMMAND-SAF4f)".to_owned(),
        details: vec![Any {
            type_url: rekey_proto::ERROR_DETAIL_TYPE_URL.to_owned(),
            value: not_found_detail().encode_to_vec(),
        }],
    }
}

#[test]
fn password_reset_return_code_bytes_decode_to_the_request() {
    let request = v2::PasswordResetRequest::decode(RETURN_CODE).expect("ZITADEL's bytes decode");
    assert_eq!(
        request,
        v2::PasswordResetRequest {
            user_id: "123".to_owned(),
            medium: Some(v2::password_reset_request::Medium::ReturnCode(
                v2::ReturnPasswordResetCode {}
            )),
        }
    );
    assert_eq!(request.encode_to_vec(), RETURN_CODE);
}

#[test]
fn password_reset_send_link_bytes_decode_to_the_request() {
    let request = v2::PasswordResetRequest::decode(SEND_LINK).expect("ZITADEL's bytes decode");
    assert_eq!(
        request,
        v2::PasswordResetRequest {
            user_id: "123".to_owned(),
            medium: Some(v2::password_reset_request::Medium::SendLink(
                v2::SendPasswordResetLink {
                    notification_type: v2::NotificationType::Email.into(),
                    url_template: Some("x".to_owned()),
                }
            )),
        }
    );
    assert_eq!(request.encode_to_vec(), SEND_LINK);
}

#[test]
fn the_v2beta_password_reset_has_the_same_bytes() {
    let request = v2beta::PasswordResetRequest::decode(SEND_LINK).expect("decodes");
    assert_eq!(request.user_id, "123");
    let Some(v2beta::password_reset_request::Medium::SendLink(link)) = &request.medium else {
        panic!("expected sendLink, got {request:?}");
    };
    assert_eq!(
        link.notification_type(),
        v2beta::NotificationType::Email,
        "{link:?}"
    );
    assert_eq!(link.url_template.as_deref(), Some("x"));
    assert_eq!(request.encode_to_vec(), SEND_LINK);
    let request = v2beta::PasswordResetRequest::decode(RETURN_CODE).expect("decodes");
    assert_eq!(request.encode_to_vec(), RETURN_CODE);
    assert!(matches!(
        request.medium,
        Some(v2beta::password_reset_request::Medium::ReturnCode(_))
    ));
}

#[test]
fn the_not_found_status_is_zitadels_byte_for_byte() {
    let bytes = not_found_status().encode_to_vec();
    assert_eq!(STANDARD_NO_PAD.encode(&bytes), NOT_FOUND_STATUS_B64);
    let zitadels = STANDARD_NO_PAD
        .decode(NOT_FOUND_STATUS_B64)
        .expect("GRPC.md's base64");
    assert_eq!(bytes, zitadels);
    assert_eq!(
        Status::decode(zitadels.as_slice()).expect("decodes"),
        not_found_status()
    );
}

#[test]
fn the_not_found_detail_is_zitadels_byte_for_byte() {
    let bytes = not_found_detail().encode_to_vec();
    assert_eq!(STANDARD_NO_PAD.encode(&bytes), NOT_FOUND_DETAIL_B64);
    let status = Status::decode(
        STANDARD_NO_PAD
            .decode(NOT_FOUND_STATUS_B64)
            .expect("base64")
            .as_slice(),
    )
    .expect("decodes");
    let [detail] = status.details.as_slice() else {
        panic!("one detail expected: {status:?}");
    };
    assert_eq!(
        detail.type_url,
        "type.googleapis.com/zitadel.v1.ErrorDetail"
    );
    assert_eq!(
        ErrorDetail::decode(detail.value.as_slice()).expect("decodes"),
        not_found_detail()
    );
}

/// ZITADEL's `humanToPb` sets the optional profile fields even when empty: they are present on
/// the wire (`1a 00`, `30 00`), which needs explicit presence (`Option`) in Rust.
#[test]
fn present_but_empty_optional_fields_are_on_the_wire() {
    let profile = v2::HumanProfile {
        nick_name: Some(String::new()),
        gender: Some(v2::Gender::Unspecified.into()),
        ..Default::default()
    };
    assert_eq!(profile.encode_to_vec(), [0x1a, 0x00, 0x30, 0x00]);
    let decoded = v2::HumanProfile::decode([0x1a, 0x00, 0x30, 0x00].as_slice()).expect("decodes");
    assert_eq!(decoded.nick_name.as_deref(), Some(""));
    assert_eq!(decoded.display_name, None);
    assert_eq!(decoded.gender, Some(0));
}

/// `is_verified = false` inside the oneof is set (the login app sends it: "send no mail"),
/// unlike an absent oneof.
#[test]
fn is_verified_false_in_the_oneof_is_set() {
    use v2::set_human_email::Verification;
    let email = v2::SetHumanEmail {
        email: String::new(),
        verification: Some(Verification::IsVerified(false)),
    };
    assert_eq!(email.encode_to_vec(), [0x20, 0x00]);
    let decoded = v2::SetHumanEmail::decode([0x20, 0x00].as_slice()).expect("decodes");
    assert_eq!(decoded.verification, Some(Verification::IsVerified(false)));
    let absent = v2::SetHumanEmail::decode(b"".as_slice()).expect("decodes");
    assert_eq!(absent.verification, None);
}

/// Proto3 enums are open: a number we do not know survives a round trip.
#[test]
fn unknown_enum_numbers_are_kept() {
    let bytes = [0x12, 0x02, 0x08, 0x07];
    let request = v2::PasswordResetRequest::decode(bytes.as_slice()).expect("decodes");
    let Some(v2::password_reset_request::Medium::SendLink(link)) = &request.medium else {
        panic!("expected sendLink: {request:?}");
    };
    assert_eq!(link.notification_type, 7);
    assert_eq!(request.encode_to_vec(), bytes);
}
