//! PasswordReset and SetPassword over native gRPC, for the harness's `Protocol::Grpc`: the
//! tests' JSON fields become the protobuf request, and the gRPC answer is read back into the
//! REST shape (HTTP status from the gRPC code, `{code, message, details}`), so one assertion
//! checks every protocol alike.

use prost::Message as _;
use rekey_proto::google::rpc::Status as RpcStatus;
use rekey_proto::zitadel::object::v2::Details;
use rekey_proto::zitadel::user::v2 as user;
use rekey_proto::zitadel::v1::{CredentialsCheckError, ErrorDetail};
use serde_json::{Map, Value, json};
use tonic::transport::Channel;

use crate::harness::Answer;

/// A JSON field in either spelling (`sendLink` or `send_link`); `null` is absent.
fn field<'a>(object: &'a Map<String, Value>, camel: &str, snake: &str) -> Option<&'a Value> {
    object
        .get(camel)
        .or_else(|| object.get(snake))
        .filter(|v| !v.is_null())
}

fn text(value: Option<&Value>) -> Option<Option<String>> {
    match value {
        None => Some(None),
        Some(Value::String(s)) => Some(Some(s.clone())),
        Some(_) => None,
    }
}

/// Whether the JSON is something protobuf can say: one spelling per field and one member per
/// oneof. (Two spellings or two members are JSON-only mistakes, refused by the JSON decoder.)
fn single_spellings(object: &Map<String, Value>, pairs: &[(&str, &str)]) -> bool {
    pairs
        .iter()
        .all(|(camel, snake)| !(object.contains_key(*camel) && object.contains_key(*snake)))
}

/// `fields` (PasswordReset's body without `userId`) as the protobuf request, if it has a
/// protobuf form.
pub fn password_reset_request(user_id: &str, fields: &Value) -> Option<user::PasswordResetRequest> {
    use user::password_reset_request::Medium;
    let object = fields.as_object()?;
    if !single_spellings(
        object,
        &[("sendLink", "send_link"), ("returnCode", "return_code")],
    ) {
        return None;
    }
    let medium = match (
        field(object, "sendLink", "send_link"),
        field(object, "returnCode", "return_code"),
    ) {
        (Some(_), Some(_)) => return None,
        (Some(link), None) => {
            let link = link.as_object()?;
            let notification_type = match field(link, "notificationType", "notification_type") {
                None => 0,
                Some(Value::Number(n)) => i32::try_from(n.as_i64()?).ok()?,
                Some(Value::String(name)) => {
                    user::NotificationType::from_str_name(name).map_or(0, |t| t as i32)
                }
                Some(_) => return None,
            };
            Some(Medium::SendLink(user::SendPasswordResetLink {
                notification_type,
                url_template: text(field(link, "urlTemplate", "url_template"))?,
            }))
        }
        (None, Some(_)) => Some(Medium::ReturnCode(user::ReturnPasswordResetCode {})),
        (None, None) => None,
    };
    Some(user::PasswordResetRequest {
        user_id: user_id.to_owned(),
        medium,
    })
}

/// `fields` (SetPassword's body without `userId`) as the protobuf request, if it has a protobuf
/// form.
pub fn set_password_request(user_id: &str, fields: &Value) -> Option<user::SetPasswordRequest> {
    use user::set_password_request::Verification;
    let object = fields.as_object()?;
    let pairs = [
        ("newPassword", "new_password"),
        ("verificationCode", "verification_code"),
        ("currentPassword", "current_password"),
    ];
    if !single_spellings(object, &pairs) {
        return None;
    }
    let new_password = match field(object, "newPassword", "new_password") {
        None => None,
        Some(new) => {
            let new = new.as_object()?;
            Some(user::Password {
                password: text(new.get("password").filter(|v| !v.is_null()))?.unwrap_or_default(),
                change_required: match field(new, "changeRequired", "change_required") {
                    None => false,
                    Some(v) => v.as_bool()?,
                },
            })
        }
    };
    let verification = match (
        text(field(object, "verificationCode", "verification_code"))?,
        text(field(object, "currentPassword", "current_password"))?,
    ) {
        (Some(_), Some(_)) => return None,
        (Some(code), None) => Some(Verification::VerificationCode(code)),
        (None, Some(current)) => Some(Verification::CurrentPassword(current)),
        (None, None) => None,
    };
    Some(user::SetPasswordRequest {
        user_id: user_id.to_owned(),
        new_password,
        verification,
    })
}

/// grpc-gateway's HTTP status for a gRPC code.
fn http_status(code: tonic::Code) -> u16 {
    use tonic::Code as C;
    match code {
        C::Ok => 200,
        C::InvalidArgument | C::FailedPrecondition | C::OutOfRange => 400,
        C::Unauthenticated => 401,
        C::PermissionDenied => 403,
        C::NotFound => 404,
        C::AlreadyExists | C::Aborted => 409,
        C::ResourceExhausted => 429,
        C::Cancelled => 499,
        C::Unimplemented => 501,
        C::Unavailable => 503,
        C::DeadlineExceeded => 504,
        _ => 500,
    }
}

fn details_json(details: Option<&Details>) -> Value {
    let details = details.cloned().unwrap_or_default();
    let mut body = json!({
        "sequence": details.sequence.to_string(),
        "resourceOwner": details.resource_owner,
    });
    if let Some(at) = details.change_date {
        let nanos = u32::try_from(at.nanos).unwrap_or(0);
        let at = chrono::DateTime::from_timestamp(at.seconds, nanos).expect("a valid timestamp");
        body["changeDate"] = at
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            .into();
    }
    body
}

/// A refusal in the REST shape, with the detail (`ErrorDetail`, or `CredentialsCheckError` for a
/// failed password check) read from `grpc-status-details-bin` (checked against `grpc-status`
/// and `grpc-message`).
fn refusal(status: &tonic::Status) -> Answer {
    let mut body = json!({ "code": status.code() as i32, "message": status.message() });
    if !status.details().is_empty() {
        let rpc = RpcStatus::decode(status.details()).expect("grpc-status-details-bin decodes");
        assert_eq!(
            rpc.code,
            status.code() as i32,
            "the details' code is grpc-status"
        );
        assert_eq!(
            rpc.message,
            status.message(),
            "the details' message is grpc-message"
        );
        let details: Vec<Value> = rpc
            .details
            .iter()
            .map(|any| match any.type_url.as_str() {
                "type.googleapis.com/zitadel.v1.ErrorDetail" => {
                    let detail = ErrorDetail::decode(any.value.as_slice()).expect("an ErrorDetail");
                    json!({ "@type": any.type_url, "id": detail.id, "message": detail.message })
                }
                "type.googleapis.com/zitadel.v1.CredentialsCheckError" => {
                    let detail = CredentialsCheckError::decode(any.value.as_slice())
                        .expect("a CredentialsCheckError");
                    json!({
                        "@type": any.type_url,
                        "id": detail.id,
                        "message": detail.message,
                        "failedAttempts": detail.failed_attempts,
                    })
                }
                other => panic!("a detail of type {other}"),
            })
            .collect();
        body["details"] = Value::Array(details);
    }
    Answer {
        status: http_status(status.code()),
        headers: status.metadata().clone().into_headers(),
        body,
    }
}

fn request<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(token) = token {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("a token is ASCII"),
        );
    }
    request
}

/// A unary call's result in the REST shape: 200 with `body` of the message, or the refusal.
fn answered<T>(
    result: Result<tonic::Response<T>, tonic::Status>,
    body: impl FnOnce(T) -> Value,
) -> Answer {
    match result {
        Ok(response) => {
            let (metadata, message, _) = response.into_parts();
            Answer {
                status: 200,
                headers: metadata.into_headers(),
                body: body(message),
            }
        }
        Err(status) => refusal(&status),
    }
}

/// PasswordReset over gRPC, answered in the REST shape.
pub async fn password_reset(
    channel: Channel,
    token: Option<&str>,
    message: user::PasswordResetRequest,
) -> Answer {
    let mut client = user::user_service_client::UserServiceClient::new(channel);
    answered(
        client.password_reset(request(message, token)).await,
        |message| {
            let mut body = json!({ "details": details_json(message.details.as_ref()) });
            if let Some(code) = message.verification_code {
                body["verificationCode"] = code.into();
            }
            body
        },
    )
}

/// A life-cycle RPC (`deactivate`, `reactivate`, `lock`, `unlock`, `delete`) over gRPC,
/// answered in the REST shape.
pub async fn lifecycle(
    channel: Channel,
    token: Option<&str>,
    user_id: &str,
    action: &str,
) -> Answer {
    let mut client = user::user_service_client::UserServiceClient::new(channel);
    let user_id = user_id.to_owned();
    let details = |d: Option<&rekey_proto::zitadel::object::v2::Details>| json!({ "details": details_json(d) });
    match action {
        "deactivate" => answered(
            client
                .deactivate_user(request(user::DeactivateUserRequest { user_id }, token))
                .await,
            |m| details(m.details.as_ref()),
        ),
        "reactivate" => answered(
            client
                .reactivate_user(request(user::ReactivateUserRequest { user_id }, token))
                .await,
            |m| details(m.details.as_ref()),
        ),
        "lock" => answered(
            client
                .lock_user(request(user::LockUserRequest { user_id }, token))
                .await,
            |m| details(m.details.as_ref()),
        ),
        "unlock" => answered(
            client
                .unlock_user(request(user::UnlockUserRequest { user_id }, token))
                .await,
            |m| details(m.details.as_ref()),
        ),
        "delete" => answered(
            client
                .delete_user(request(user::DeleteUserRequest { user_id }, token))
                .await,
            |m| details(m.details.as_ref()),
        ),
        other => panic!("no life-cycle RPC {other}"),
    }
}

/// SetPassword over gRPC, answered in the REST shape.
pub async fn set_password(
    channel: Channel,
    token: Option<&str>,
    message: user::SetPasswordRequest,
) -> Answer {
    let mut client = user::user_service_client::UserServiceClient::new(channel);
    answered(
        client.set_password(request(message, token)).await,
        |message| json!({ "details": details_json(message.details.as_ref()) }),
    )
}

fn rfc3339(at: Option<prost_types::Timestamp>) -> Value {
    at.map_or(Value::Null, |at| {
        let nanos = u32::try_from(at.nanos).unwrap_or(0);
        chrono::DateTime::from_timestamp(at.seconds, nanos)
            .expect("a valid timestamp")
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            .into()
    })
}

/// A personal-access-token RPC over gRPC (`add`, `remove` or `list`), from the fields the
/// tests use, answered in the REST shape.
pub async fn personal_access_token(
    channel: Channel,
    token: Option<&str>,
    action: &str,
    fields: &Value,
) -> Answer {
    use rekey_proto::zitadel::filter::v2 as filter;
    let mut client = user::user_service_client::UserServiceClient::new(channel);
    let text = |name: &str| fields[name].as_str().unwrap_or_default().to_owned();
    match action {
        "add" => {
            let expiration_date = fields["expirationDate"].as_str().map(|at| {
                let at: chrono::DateTime<chrono::Utc> = at.parse().expect("RFC 3339");
                prost_types::Timestamp {
                    seconds: at.timestamp(),
                    nanos: 0,
                }
            });
            let message = user::AddPersonalAccessTokenRequest {
                user_id: text("userId"),
                expiration_date,
            };
            answered(
                client
                    .add_personal_access_token(request(message, token))
                    .await,
                |m| {
                    json!({
                        "creationDate": rfc3339(m.creation_date),
                        "tokenId": m.token_id,
                        "token": m.token,
                    })
                },
            )
        }
        "remove" => {
            let message = user::RemovePersonalAccessTokenRequest {
                user_id: text("userId"),
                token_id: text("tokenId"),
            };
            answered(
                client
                    .remove_personal_access_token(request(message, token))
                    .await,
                |m| json!({ "deletionDate": rfc3339(m.deletion_date) }),
            )
        }
        "list" => {
            use user::personal_access_tokens_search_filter::Filter;
            let page = &fields["pagination"];
            let filters = fields["filters"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|f| {
                    let id = |name: &str| {
                        f[name]["id"]
                            .as_str()
                            .map(|id| filter::IdFilter { id: id.to_owned() })
                    };
                    let filter = id("userIdFilter")
                        .map(Filter::UserIdFilter)
                        .or_else(|| id("tokenIdFilter").map(Filter::TokenIdFilter))
                        .or_else(|| id("organizationIdFilter").map(Filter::OrganizationIdFilter))
                        .expect("an id filter");
                    user::PersonalAccessTokensSearchFilter {
                        filter: Some(filter),
                    }
                })
                .collect();
            let message = user::ListPersonalAccessTokensRequest {
                pagination: page.is_object().then(|| filter::PaginationRequest {
                    offset: page["offset"].as_u64().unwrap_or(0),
                    limit: page["limit"]
                        .as_u64()
                        .map_or(0, |l| u32::try_from(l).expect("a u32")),
                    asc: page["asc"].as_bool().unwrap_or(false),
                }),
                sorting_column: 0,
                filters,
            };
            answered(
                client
                    .list_personal_access_tokens(request(message, token))
                    .await,
                |m| {
                    let pagination = m.pagination.unwrap_or_default();
                    let result: Vec<Value> = m
                        .result
                        .into_iter()
                        .map(|t| {
                            json!({
                                "creationDate": rfc3339(t.creation_date),
                                "changeDate": rfc3339(t.change_date),
                                "id": t.id,
                                "userId": t.user_id,
                                "organizationId": t.organization_id,
                                "expirationDate": rfc3339(t.expiration_date),
                            })
                        })
                        .collect();
                    json!({
                        "pagination": {
                            "totalResult": pagination.total_result.to_string(),
                            "appliedLimit": pagination.applied_limit.to_string(),
                        },
                        "result": result,
                    })
                },
            )
        }
        other => panic!("no personal-access-token RPC {other}"),
    }
}
