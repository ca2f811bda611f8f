//! The OpenAPI 3.1 document of the REST routes, built by utoipa from the operations and the
//! wire schemas below. The operations are described here, on stubs, rather than on the
//! handlers: the routes serve every RPC with the same two generic handlers.
//!
//! The schemas describe the JSON as docs/API.md has it: camelCase names, int64 as strings,
//! enums with their exact names, both oneofs, the grpc-gateway error body. They are written
//! for the document only: decoding is protojson-lenient (`rekey_api::json`), so what it accepts is a
//! superset of what the document promises.
#![allow(dead_code)] // the structs exist for their schemas

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The document served at `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "rekey",
        description = "Self-hosted password reset, compatible with ZITADEL's User Service v2. \
            Every RPC is also served on its Connect path (`x-connect-path`; POST, \
            application/json or application/proto) and over gRPC and gRPC-Web on \
            server.grpc_bind, which this document does not list.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        password_reset,
        set_password,
        add_human_user,
        get_user,
        add_organization,
        password_reset_v2beta,
        set_password_v2beta,
        healthz,
        ready,
        metrics,
    ),
    modifiers(&BearerScheme),
    security(("bearer" = [])),
    tags(
        (name = "UserService", description = "zitadel.user.v2.UserService"),
        (name = "OrganizationService", description = "zitadel.org.v2.OrganizationService"),
        (name = "UserService v2beta", description = "zitadel.user.v2beta.UserService: the deprecated twins of PasswordReset and SetPassword, with the same messages"),
        (name = "Operations", description = "Health and metrics"),
    ),
)]
pub(crate) struct ApiDoc;

/// The bearer token scheme every RPC uses.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A personal access token (`rekey admin token create`).",
                    ))
                    .build(),
            ),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Operations

/// The path parameter every user route takes.
const USER_ID: &str = "The user's id (1 to 200 characters); it wins over a userId in the body";

#[utoipa::path(
    post,
    path = "/v2/users/{userId}/password_reset",
    tag = "UserService",
    operation_id = "PasswordReset",
    summary = "Request a code to reset a password",
    params(("userId" = String, Path, description = USER_ID)),
    request_body = PasswordResetDoc,
    responses(
        (status = 200, description = "A code was issued (and returned, for returnCode)", body = PasswordResetResponseDoc),
        CommonErrors,
        (status = 429, description = "A budget is spent (code 8); nothing was issued", body = ErrorDoc, headers(("Retry-After" = i64, description = "Seconds until the budget has room"))),
    ),
)]
fn password_reset() {}

#[utoipa::path(
    post,
    path = "/v2beta/users/{userId}/password_reset",
    tag = "UserService v2beta",
    operation_id = "PasswordResetV2beta",
    summary = "Request a code to reset a password (v2beta, deprecated: use PasswordReset)",
    params(("userId" = String, Path, description = USER_ID)),
    request_body = PasswordResetDoc,
    responses(
        (status = 200, description = "A code was issued (and returned, for returnCode)", body = PasswordResetResponseDoc),
        CommonErrors,
        (status = 429, description = "A budget is spent (code 8); nothing was issued", body = ErrorDoc, headers(("Retry-After" = i64, description = "Seconds until the budget has room"))),
    ),
)]
#[deprecated = "v2beta: use PasswordReset"]
fn password_reset_v2beta() {}

#[utoipa::path(
    post,
    path = "/v2/users/{userId}/password",
    tag = "UserService",
    operation_id = "SetPassword",
    summary = "Change the password of a user",
    params(("userId" = String, Path, description = USER_ID)),
    request_body = SetPasswordDoc,
    responses(
        (status = 200, description = "The password was changed", body = DetailsResponseDoc),
        CommonErrors,
        (status = 429, description = "Too many current passwords tried for this user or by this caller (code 8, limits.wrong_passwords); the password was not checked", body = ErrorDoc, headers(("Retry-After" = i64, description = "Seconds until the budget has room"))),
    ),
)]
fn set_password() {}

#[utoipa::path(
    post,
    path = "/v2beta/users/{userId}/password",
    tag = "UserService v2beta",
    operation_id = "SetPasswordV2beta",
    summary = "Change the password of a user (v2beta, deprecated: use SetPassword)",
    params(("userId" = String, Path, description = USER_ID)),
    request_body = SetPasswordDoc,
    responses(
        (status = 200, description = "The password was changed", body = DetailsResponseDoc),
        CommonErrors,
        (status = 429, description = "Too many current passwords tried for this user or by this caller (code 8, limits.wrong_passwords); the password was not checked", body = ErrorDoc, headers(("Retry-After" = i64, description = "Seconds until the budget has room"))),
    ),
)]
#[deprecated = "v2beta: use SetPassword"]
fn set_password_v2beta() {}

#[utoipa::path(
    get,
    path = "/v2/users/{userId}",
    tag = "UserService",
    operation_id = "GetUserByID",
    summary = "Get a user by its id",
    params(("userId" = String, Path, description = USER_ID)),
    responses(
        (status = 200, description = "The user", body = GetUserResponseDoc),
        CommonErrors,
    ),
)]
fn get_user() {}

#[utoipa::path(
    post,
    path = "/v2/users/human",
    tag = "UserService",
    operation_id = "AddHumanUser",
    summary = "Create a human user",
    request_body = AddHumanUserDoc,
    responses(
        (status = 200, description = "The user was created", body = AddHumanUserResponseDoc),
        CommonErrors,
        (status = 409, description = "Already exists (code 6)", body = ErrorDoc),
    ),
)]
fn add_human_user() {}

#[utoipa::path(
    post,
    path = "/v2/organizations",
    tag = "OrganizationService",
    operation_id = "AddOrganization",
    summary = "Create an organization",
    request_body = AddOrganizationDoc,
    responses(
        (status = 200, description = "The organization was created", body = AddOrganizationResponseDoc),
        CommonErrors,
        (status = 409, description = "Already exists (code 6)", body = ErrorDoc),
    ),
)]
fn add_organization() {}

/// Whether the process answers.
#[utoipa::path(
    get,
    path = "/debug/healthz",
    tag = "Operations",
    security(()),
    responses((status = 200, description = "The process answers", body = StatusDoc)),
)]
fn healthz() {}

/// Ready when the database answers. The cause of not being ready is logged, not shown.
#[utoipa::path(
    get,
    path = "/debug/ready",
    tag = "Operations",
    security(()),
    responses(
        (status = 200, description = "The database answers", body = StatusDoc),
        (status = 503, description = "The database does not answer", body = StatusDoc),
    ),
)]
fn ready() {}

/// Prometheus metrics, in the text exposition format.
#[utoipa::path(
    get,
    path = "/debug/metrics",
    tag = "Operations",
    security(()),
    responses(
        (
            status = 200,
            description = "Counters, gauges and histograms (`rekey_…`)",
            body = String,
            content_type = "text/plain; version=0.0.4"
        ),
        (status = 404, description = "Served only on server.metrics_bind, which is set (code 5)", body = ErrorDoc),
    ),
)]
fn metrics() {}

/// What an id accepts: 1 to 200 characters, none of them a control character.
const ID_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]{1,200}$";

/// The document as pretty JSON, as served and as committed in `docs/openapi.json`.
pub fn document() -> String {
    let mut document = serde_json::to_value(ApiDoc::openapi())
        .unwrap_or_else(|_| unreachable!("the document is plain data"));
    refine(&mut document);
    serde_json::to_string_pretty(&document)
        .unwrap_or_else(|_| unreachable!("the document is plain data"))
}

/// What utoipa's attributes cannot say: a oneof's cases exclude each other (`not` both
/// required), ids are 1 to 200 characters without control characters, each RPC's Connect path
/// (`x-connect-path`), and the catalogue of error ids (`x-rekey-errors`).
fn refine(document: &mut serde_json::Value) {
    use serde_json::json;
    let schemas = &mut document["components"]["schemas"];
    for (schema, cases) in [
        ("PasswordResetRequest", ["sendLink", "returnCode"]),
        (
            "SetPasswordRequest",
            ["verificationCode", "currentPassword"],
        ),
    ] {
        schemas[schema]["not"] = json!({ "required": cases });
    }
    for (schema, field) in [
        ("AddHumanUserRequest", "userId"),
        ("Organization", "orgId"),
        ("AddOrganizationRequest", "orgId"),
        ("AddOrganizationRequest", "organizationId"),
    ] {
        schemas[schema]["properties"][field]["pattern"] = json!(ID_PATTERN);
    }
    schemas["ErrorDetail"]["properties"]["id"]["description"] = json!(
        "A stable error id, e.g. `COMMAND-SAF4f`; every id rekey answers with is listed in \
         `x-rekey-errors`."
    );
    document["x-rekey-errors"] = crate::catalog::errors_json();
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(|p| p.as_object_mut())
        .flat_map(|p| p.values_mut())
    {
        let id = operation["operationId"].as_str().unwrap_or_default();
        if let Some((_, connect)) = crate::catalog::CONNECT_PATHS
            .iter()
            .find(|(rpc, _)| *rpc == id)
        {
            operation["x-connect-path"] = json!(connect);
        }
    }
    for operation in paths.values_mut().filter_map(|p| p.as_object_mut()) {
        for parameter in operation
            .values_mut()
            .filter_map(|op| op.get_mut("parameters")?.as_array_mut())
            .flatten()
            .filter(|p| p["name"] == "userId")
        {
            parameter["schema"] = json!({ "type": "string", "pattern": ID_PATTERN });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared

/// `zitadel.object.v2.Details`: where the aggregate stands after the change.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Details)]
pub(crate) struct DetailsDoc {
    /// The aggregate's sequence after the change (int64, as a string).
    #[schema(pattern = "^[0-9]+$", example = "2")]
    sequence: String,
    /// When the change happened: RFC 3339, UTC.
    #[schema(format = DateTime, example = "2024-06-13T06:44:35.860Z")]
    change_date: String,
    /// The organization the aggregate belongs to.
    #[schema(example = "69629023906488334")]
    resource_owner: String,
    /// When the aggregate was created: RFC 3339, UTC. Set on reads (GetUserByID), not on
    /// command responses.
    #[schema(format = DateTime, example = "2024-06-13T06:44:35.860Z", nullable = false)]
    creation_date: Option<String>,
}

/// The grpc-gateway error body.
#[derive(Serialize, ToSchema)]
#[schema(as = Error, example = json!({
    "code": 5,
    "message": "User could not be found (COMMAND-SAF4f)",
    "details": [{
        "@type": "type.googleapis.com/zitadel.v1.ErrorDetail",
        "id": "COMMAND-SAF4f",
        "message": "User could not be found"
    }]
}))]
pub(crate) struct ErrorDoc {
    /// The gRPC status code (3, 5, 6, 7, 8, 9, 12, 13, 14, 16).
    code: i32,
    /// What went wrong, with the error id in parentheses when there is one. A 5xx message
    /// holds a fixed text and the request id only.
    message: String,
    /// ZITADEL's error detail, when the error has an id.
    #[schema(nullable = false)]
    details: Option<Vec<ErrorDetailDoc>>,
}

/// The error answers every RPC can give (an operation lists its own 409 or 429 beside them).
#[derive(utoipa::IntoResponses)]
pub(crate) enum CommonErrors {
    /// A field is invalid (code 3) or a precondition fails (code 9)
    #[response(status = 400)]
    Invalid(ErrorDoc),
    /// No valid bearer token (code 16)
    #[response(status = 401, headers(("WWW-Authenticate" = String)))]
    Unauthenticated(ErrorDoc),
    /// The caller may not do this (code 7)
    #[response(status = 403)]
    PermissionDenied(ErrorDoc),
    /// No such user, or an unknown route (code 5)
    #[response(status = 404)]
    NotFound(ErrorDoc),
    /// The body is larger than server.body_limit (code 3)
    #[response(status = 413)]
    TooLarge(ErrorDoc),
    /// The database is unavailable, or (SetPassword, AddHumanUser) the password hashing queue
    /// is full (code 14); try again after Retry-After
    #[response(status = 503, headers(("Retry-After" = i64, description = "Seconds to wait before trying again")))]
    Unavailable(ErrorDoc),
}

/// `zitadel.v1.ErrorDetail`.
#[derive(Serialize, ToSchema)]
#[schema(as = ErrorDetail)]
pub(crate) struct ErrorDetailDoc {
    #[serde(rename = "@type")]
    #[schema(example = "type.googleapis.com/zitadel.v1.ErrorDetail")]
    kind: String,
    /// A stable error id, e.g. `COMMAND-SAF4f`.
    id: String,
    /// The message without the id.
    message: String,
}

/// An empty message (`{}`), used to pick a oneof case.
#[derive(Serialize, ToSchema)]
#[schema(as = Empty)]
pub(crate) struct EmptyDoc {}

// ---------------------------------------------------------------------------------------------
// PasswordReset

/// `zitadel.user.v2.NotificationType`. Numbers (0, 1, 2) are accepted too; unknown names mean
/// the default (Email).
#[derive(Serialize, ToSchema)]
#[schema(as = NotificationType)]
pub(crate) enum NotificationTypeDoc {
    #[serde(rename = "NOTIFICATION_TYPE_Unspecified")]
    Unspecified,
    #[serde(rename = "NOTIFICATION_TYPE_Email")]
    Email,
    #[serde(rename = "NOTIFICATION_TYPE_SMS")]
    Sms,
}

/// `SendPasswordResetLink`: mail or text the user a link.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SendPasswordResetLink)]
pub(crate) struct SendLinkDoc {
    notification_type: Option<NotificationTypeDoc>,
    /// The link, with `{{.UserID}}`, `{{.Code}}` and `{{.OrgID}}`; default: rekey's reset page.
    /// It must start with `https://` or `http://` and a host, written out (else 400, code 3,
    /// `REKEY-UrlScheme`).
    #[schema(
        min_length = 1,
        max_length = 200,
        example = "https://example.com/pw?userID={{.UserID}}&code={{.Code}}&orgID={{.OrgID}}"
    )]
    url_template: Option<String>,
}

/// `PasswordResetRequest` without `userId` (it is in the path). `sendLink` and `returnCode`
/// are a oneof: set at most one; neither means an email with the default link.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PasswordResetRequest, example = json!({
    "sendLink": {
        "notificationType": "NOTIFICATION_TYPE_Email",
        "urlTemplate": "https://example.com/pw?userID={{.UserID}}&code={{.Code}}&orgID={{.OrgID}}"
    }
}))]
pub(crate) struct PasswordResetDoc {
    send_link: Option<SendLinkDoc>,
    return_code: Option<EmptyDoc>,
}

/// `PasswordResetResponse`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PasswordResetResponse, example = json!({
    "details": {
        "sequence": "2",
        "changeDate": "2024-06-13T06:44:35.860Z",
        "resourceOwner": "69629023906488334"
    },
    "verificationCode": "K7Q2ZD"
}))]
pub(crate) struct PasswordResetResponseDoc {
    details: DetailsDoc,
    /// The code, for `returnCode` only.
    #[schema(nullable = false)]
    verification_code: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// SetPassword

/// `zitadel.user.v2.Password`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Password)]
pub(crate) struct PasswordDoc {
    #[schema(min_length = 1, max_length = 200, example = "Secr3tP4ssw0rd!")]
    password: String,
    change_required: Option<bool>,
}

/// `SetPasswordRequest` without `userId`. `verificationCode` and `currentPassword` are a
/// oneof; neither needs `user.write` on the user's organization.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SetPasswordRequest, example = json!({
    "newPassword": { "password": "Secr3tP4ssw0rd!", "changeRequired": false },
    "verificationCode": "K7Q2ZD"
}))]
pub(crate) struct SetPasswordDoc {
    new_password: PasswordDoc,
    #[schema(min_length = 1, max_length = 20)]
    verification_code: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    current_password: Option<String>,
}

/// A response holding only `details`.
#[derive(Serialize, ToSchema)]
#[schema(as = DetailsResponse)]
pub(crate) struct DetailsResponseDoc {
    details: DetailsDoc,
}

// ---------------------------------------------------------------------------------------------
// AddHumanUser

/// `Organization`: which organization the user joins.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Organization)]
pub(crate) struct OrganizationDoc {
    #[schema(example = "69629023906488334")]
    org_id: Option<String>,
}

/// `SetHumanProfile`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SetHumanProfile)]
pub(crate) struct ProfileDoc {
    #[schema(min_length = 1, max_length = 200, example = "Ada")]
    given_name: String,
    #[schema(min_length = 1, max_length = 200, example = "Lovelace")]
    family_name: String,
    #[schema(min_length = 1, max_length = 200)]
    display_name: Option<String>,
    /// A language tag, e.g. `de`.
    #[schema(max_length = 10, example = "en")]
    preferred_language: Option<String>,
}

/// `SetHumanEmail`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SetHumanEmail)]
pub(crate) struct EmailDoc {
    #[schema(min_length = 1, max_length = 200, example = "ada@example.com")]
    email: String,
    is_verified: Option<bool>,
}

/// `SetHumanPhone`: international (E.164) form; premium-rate numbers are refused.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SetHumanPhone)]
pub(crate) struct PhoneDoc {
    #[schema(max_length = 200, example = "+41791234567")]
    phone: Option<String>,
    is_verified: Option<bool>,
}

/// `AddHumanUserRequest` (the fields rekey uses; others are accepted and ignored).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AddHumanUserRequest, example = json!({
    "username": "ada",
    "organization": { "orgId": "69629023906488334" },
    "profile": { "givenName": "Ada", "familyName": "Lovelace", "preferredLanguage": "en" },
    "email": { "email": "ada@example.com", "isVerified": true },
    "phone": { "phone": "+41791234567" }
}))]
pub(crate) struct AddHumanUserDoc {
    #[schema(min_length = 1, max_length = 200)]
    user_id: Option<String>,
    /// Default: the email address.
    #[schema(min_length = 1, max_length = 200)]
    username: Option<String>,
    organization: Option<OrganizationDoc>,
    profile: ProfileDoc,
    email: EmailDoc,
    phone: Option<PhoneDoc>,
    password: Option<PasswordDoc>,
}

/// `AddHumanUserResponse`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AddHumanUserResponse)]
pub(crate) struct AddHumanUserResponseDoc {
    user_id: String,
    details: DetailsDoc,
}

// ---------------------------------------------------------------------------------------------
// GetUserByID

/// `zitadel.user.v2.UserState`.
#[derive(Serialize, ToSchema)]
#[schema(as = UserState)]
pub(crate) enum UserStateDoc {
    #[serde(rename = "USER_STATE_ACTIVE")]
    Active,
    #[serde(rename = "USER_STATE_INACTIVE")]
    Inactive,
    #[serde(rename = "USER_STATE_DELETED")]
    Deleted,
    #[serde(rename = "USER_STATE_LOCKED")]
    Locked,
    #[serde(rename = "USER_STATE_INITIAL")]
    Initial,
}

/// `HumanProfile` (fields at their default are omitted).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = HumanProfile)]
pub(crate) struct HumanProfileDoc {
    #[schema(nullable = false)]
    given_name: Option<String>,
    #[schema(nullable = false)]
    family_name: Option<String>,
    #[schema(nullable = false)]
    display_name: Option<String>,
    #[schema(nullable = false)]
    preferred_language: Option<String>,
}

/// `HumanEmail`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = HumanEmail)]
pub(crate) struct HumanEmailDoc {
    #[schema(nullable = false)]
    email: Option<String>,
    #[schema(nullable = false)]
    is_verified: Option<bool>,
}

/// `HumanPhone`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = HumanPhone)]
pub(crate) struct HumanPhoneDoc {
    #[schema(nullable = false)]
    phone: Option<String>,
    #[schema(nullable = false)]
    is_verified: Option<bool>,
}

/// `HumanUser`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = HumanUser)]
pub(crate) struct HumanDoc {
    profile: HumanProfileDoc,
    email: HumanEmailDoc,
    phone: HumanPhoneDoc,
    #[schema(nullable = false)]
    password_change_required: Option<bool>,
    #[schema(nullable = false, format = DateTime)]
    password_changed: Option<String>,
}

/// `MachineUser`.
#[derive(Serialize, ToSchema)]
#[schema(as = MachineUser)]
pub(crate) struct MachineDoc {
    name: String,
}

/// `User`: `human` or `machine`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = User)]
pub(crate) struct UserDoc {
    user_id: String,
    details: DetailsDoc,
    state: UserStateDoc,
    username: String,
    login_names: Vec<String>,
    preferred_login_name: String,
    #[schema(nullable = false)]
    human: Option<HumanDoc>,
    #[schema(nullable = false)]
    machine: Option<MachineDoc>,
}

/// `GetUserByIDResponse`.
#[derive(Serialize, ToSchema)]
#[schema(as = GetUserByIDResponse)]
pub(crate) struct GetUserResponseDoc {
    details: DetailsDoc,
    user: UserDoc,
}

// ---------------------------------------------------------------------------------------------
// AddOrganization

/// `AddOrganizationRequest` (admins are not supported yet and are ignored).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AddOrganizationRequest, example = json!({ "name": "acme" }))]
pub(crate) struct AddOrganizationDoc {
    #[schema(min_length = 1, max_length = 200, example = "acme")]
    name: String,
    /// The id to give the organization (deprecated upstream: prefer `organizationId`).
    #[schema(min_length = 1, max_length = 200)]
    org_id: Option<String>,
    /// The id to give the organization; wins over `orgId`. Default: a generated id.
    #[schema(min_length = 1, max_length = 200)]
    organization_id: Option<String>,
}

/// `AddOrganizationResponse`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AddOrganizationResponse)]
pub(crate) struct AddOrganizationResponseDoc {
    details: DetailsDoc,
    organization_id: String,
}

// ---------------------------------------------------------------------------------------------
// Operations

/// `/debug/healthz` and `/debug/ready`.
#[derive(Serialize, ToSchema)]
#[schema(as = Status)]
pub(crate) struct StatusDoc {
    #[schema(example = "ok")]
    status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed copy: changes to the API are deliberate. `REKEY_BLESS=1 cargo test -p
    /// rekey-http-adapter openapi` rewrites it after a deliberate change.
    const COMMITTED: &str = include_str!("../../../docs/openapi.json");

    #[test]
    fn the_document_equals_the_committed_copy() {
        let document = document();
        if std::env::var_os("REKEY_BLESS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
            std::fs::write(path, format!("{document}\n")).expect("write docs/openapi.json");
            return;
        }
        assert_eq!(
            document.trim_end(),
            COMMITTED.trim_end(),
            "the API document changed: if on purpose, run REKEY_BLESS=1 cargo test -p rekey-http-adapter openapi"
        );
    }

    #[test]
    fn every_rest_route_of_the_contract_is_documented_as_openapi_3_1() {
        let document: serde_json::Value = serde_json::from_str(&document()).expect("JSON");
        assert_eq!(document["openapi"], "3.1.0");
        for (path, method) in [
            ("/v2/users/{userId}/password_reset", "post"),
            ("/v2/users/{userId}/password", "post"),
            ("/v2/users/human", "post"),
            ("/v2/users/{userId}", "get"),
            ("/v2/organizations", "post"),
        ] {
            let operation = &document["paths"][path][method];
            assert!(operation.is_object(), "{method} {path}");
            assert!(operation["responses"]["400"].is_object(), "{method} {path}");
        }
        let schemas = &document["components"]["schemas"];
        assert_eq!(
            schemas["NotificationType"]["enum"],
            serde_json::json!([
                "NOTIFICATION_TYPE_Unspecified",
                "NOTIFICATION_TYPE_Email",
                "NOTIFICATION_TYPE_SMS"
            ])
        );
        assert_eq!(
            schemas["Details"]["properties"]["sequence"]["type"],
            "string"
        );
        assert!(schemas["PasswordResetRequest"]["properties"]["sendLink"].is_object());
        assert_eq!(
            document["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }
}
