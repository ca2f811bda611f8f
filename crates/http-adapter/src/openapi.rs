//! The OpenAPI 3.1 document of the REST routes, built by utoipa from the operations and the
//! wire schemas below. The operations are described here, on stubs, rather than on the
//! handlers: the routes serve every RPC with the same two generic handlers.
//!
//! The schemas describe the JSON as docs/API.md has it: camelCase names, int64 as strings,
//! enums with their exact names, both oneofs, the grpc-gateway error body. They are written
//! for the document only: decoding is protojson-lenient (`rekey_api::json`), so what it accepts is a
//! superset of what the document promises.
#![allow(dead_code)] // the structs exist for their schemas

use std::collections::HashMap;

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The document served at `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "rekey",
        description = "Self-hosted password reset, compatible with ZITADEL's User Service v2, \
            with the password part of its Session Service v2 and the settings a login UI reads. \
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
        list_authentication_method_types,
        deactivate_user,
        reactivate_user,
        lock_user,
        unlock_user,
        delete_user,
        add_personal_access_token,
        remove_personal_access_token,
        list_personal_access_tokens,
        create_session,
        set_session,
        get_session,
        delete_session,
        list_sessions,
        get_password_complexity_settings,
        get_lockout_settings,
        password_reset_v2beta,
        set_password_v2beta,
        healthz,
        ready,
        metrics,
    ),
    components(schemas(CredentialsCheckErrorDoc)),
    modifiers(&BearerScheme),
    security(("bearer" = [])),
    tags(
        (name = "UserService", description = "zitadel.user.v2.UserService"),
        (name = "OrganizationService", description = "zitadel.org.v2.OrganizationService"),
        (name = "SessionService", description = "zitadel.session.v2.SessionService: sessions with a user and a password check; rekey does no other check"),
        (name = "SettingsService", description = "zitadel.settings.v2.SettingsService: the instance's password complexity and lockout settings"),
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
                        "A personal access token (`rekey admin token create`, or \
                         AddPersonalAccessToken for a machine user).",
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
        (status = 400, description = "A field is invalid (code 3): a missing field or a wrong length, the email (EMAIL-599BI), the phone (PHONE-so0wa, REKEY-PhonePremium), the language (LANG-lg4DP), the password policy (DOMAIN-HuJf6, DOMAIN-co3Xw, DOMAIN-VoaRj, DOMAIN-ZBv4H, DOMAIN-ZDLwA, REKEY-PwPers, REKEY-PwWeak), or a hashedPassword.hash rekey cannot verify: an unknown format, malformed, or its cost out of bounds (USER-oz74onzvqr)", body = ErrorDoc),
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

#[utoipa::path(
    get,
    path = "/v2/users/{userId}/authentication_methods",
    tag = "UserService",
    operation_id = "ListAuthenticationMethodTypes",
    summary = "List a user's authentication methods (PASSWORD, when it has one)",
    params(("userId" = String, Path, description = USER_ID)),
    responses(
        (status = 200, description = "The user's methods: PASSWORD, or none", body = ListAuthenticationMethodTypesResponseDoc),
        CommonErrors,
    ),
)]
fn list_authentication_method_types() {}

// The life cycle: each RPC takes only the path's userId (a body, if any, is `{}`) and answers
// only `details`. Their 400, 403 and 404 name their ids; the rest is CommonErrors'.

#[utoipa::path(
    post,
    path = "/v2/users/{userId}/deactivate",
    tag = "UserService",
    operation_id = "DeactivateUser",
    summary = "Deactivate a user: no session, no token of its own, until it is reactivated",
    params(("userId" = String, Path, description = USER_ID)),
    responses(
        (status = 200, description = "The user is inactive; its sessions ended", body = DetailsResponseDoc),
        CommonErrors,
        (status = 400, description = "A field is invalid (code 3), or the user is in state Initial (code 9, COMMAND-gvx4kct9r2) or already inactive (code 9, COMMAND-5gunjw0cd7)", body = ErrorDoc),
        (status = 403, description = "The caller is neither the user nor holds user.write on its organization (code 7, AUTH-AWfge)", body = ErrorDoc),
        (status = 404, description = "No such user, or it was deleted (code 5, COMMAND-5gp2p62iin)", body = ErrorDoc),
    ),
)]
fn deactivate_user() {}

#[utoipa::path(
    post,
    path = "/v2/users/{userId}/reactivate",
    tag = "UserService",
    operation_id = "ReactivateUser",
    summary = "Reactivate a deactivated user",
    params(("userId" = String, Path, description = USER_ID)),
    responses(
        (status = 200, description = "The user is active again", body = DetailsResponseDoc),
        CommonErrors,
        (status = 400, description = "A field is invalid (code 3), or the user is not inactive (code 9, COMMAND-s5qqcz97hf)", body = ErrorDoc),
        (status = 403, description = "The caller is neither the user nor holds user.write on its organization (code 7, AUTH-AWfge)", body = ErrorDoc),
        (status = 404, description = "No such user, or it was deleted (code 5, COMMAND-9hy5kzbuk6)", body = ErrorDoc),
    ),
)]
fn reactivate_user() {}

#[utoipa::path(
    post,
    path = "/v2/users/{userId}/lock",
    tag = "UserService",
    operation_id = "LockUser",
    summary = "Lock a user: no session, no token of its own, until it is unlocked",
    params(("userId" = String, Path, description = USER_ID)),
    responses(
        (status = 200, description = "The user is locked; its sessions ended", body = DetailsResponseDoc),
        CommonErrors,
        (status = 400, description = "A field is invalid (code 3), or the user is neither active nor initial (code 9, COMMAND-lgws8wtsqf)", body = ErrorDoc),
        (status = 403, description = "The caller is neither the user nor holds user.write on its organization (code 7, AUTH-AWfge)", body = ErrorDoc),
        (status = 404, description = "No such user, or it was deleted (code 5, COMMAND-450yxuqrh1)", body = ErrorDoc),
    ),
)]
fn lock_user() {}

#[utoipa::path(
    post,
    path = "/v2/users/{userId}/unlock",
    tag = "UserService",
    operation_id = "UnlockUser",
    summary = "Unlock a locked user, its count of wrong passwords at 0",
    params(("userId" = String, Path, description = USER_ID)),
    responses(
        (status = 200, description = "The user is active again", body = DetailsResponseDoc),
        CommonErrors,
        (status = 400, description = "A field is invalid (code 3), or the user is not locked (code 9, COMMAND-olb9vb0oca)", body = ErrorDoc),
        (status = 403, description = "The caller is neither the user nor holds user.write on its organization (code 7, AUTH-AWfge)", body = ErrorDoc),
        (status = 404, description = "No such user, or it was deleted (code 5, COMMAND-x377t913pw)", body = ErrorDoc),
    ),
)]
fn unlock_user() {}

#[utoipa::path(
    delete,
    path = "/v2/users/{userId}",
    tag = "UserService",
    operation_id = "DeleteUser",
    summary = "Delete a user, with its sessions, tokens, code and queued messages",
    params(("userId" = String, Path, description = USER_ID)),
    responses(
        (status = 200, description = "The user is gone; its events stay, without its address and names", body = DetailsResponseDoc),
        CommonErrors,
        (status = 400, description = "A field is invalid (code 3)", body = ErrorDoc),
        (status = 403, description = "The caller is neither the user nor holds user.delete on its organization (code 7, AUTH-AWfge)", body = ErrorDoc),
        (status = 404, description = "No such user, or it was already deleted (code 5, COMMAND-bd4ir1mblj)", body = ErrorDoc),
    ),
)]
fn delete_user() {}

// Personal access tokens of machine users. The caller is the user itself or holds user.write
// on its organization; a new token carries the roles of the user's live tokens, and only a
// caller holding each of them may add it (403 otherwise).

/// The path parameter of RemovePersonalAccessToken's token.
const TOKEN_ID: &str = "The token's id (1 to 200 characters); it wins over a tokenId in the body";

#[utoipa::path(
    post,
    path = "/v2/users/{userId}/pats",
    tag = "UserService",
    operation_id = "AddPersonalAccessToken",
    summary = "Add a personal access token to a machine user, with the roles of its live tokens",
    params(("userId" = String, Path, description = USER_ID)),
    request_body = Option<AddPersonalAccessTokenDoc>,
    responses(
        (status = 200, description = "The token was added; this answer is the only place it is ever shown", body = AddPersonalAccessTokenResponseDoc),
        CommonErrors,
        (status = 400, description = "A field is invalid (code 3), expirationDate is in the past (code 3, DOMAIN-dv3t5), no such user (code 9, COMMAND-Dggw2: ZITADEL's answer, not 404) or the user is not a machine user (code 9, COMMAND-Df2f1)", body = ErrorDoc),
        (status = 403, description = "The caller is neither the user nor holds user.write on its organization, or does not hold every role the new token would carry (code 7, AUTH-AWfge)", body = ErrorDoc),
        (status = 404, description = "An unknown route only (code 5): a user that does not exist is 400, COMMAND-Dggw2", body = ErrorDoc),
    ),
)]
fn add_personal_access_token() {}

#[utoipa::path(
    delete,
    path = "/v2/users/{userId}/pats/{tokenId}",
    tag = "UserService",
    operation_id = "RemovePersonalAccessToken",
    summary = "Remove a personal access token: it authenticates nothing from the next request on",
    params(
        ("userId" = String, Path, description = USER_ID),
        ("tokenId" = String, Path, description = TOKEN_ID),
    ),
    responses(
        (status = 200, description = "The token is revoked (within tokens.cache_ttl where a process remembers it)", body = RemovePersonalAccessTokenResponseDoc),
        CommonErrors,
        (status = 400, description = "A field is invalid (code 3)", body = ErrorDoc),
        (status = 403, description = "The caller is neither the user nor holds user.write on its organization (code 7, AUTH-AWfge)", body = ErrorDoc),
        (status = 404, description = "The user has no live token with this id: never added, already removed, another user's, or no such user (code 5, COMMAND-4m77G)", body = ErrorDoc),
    ),
)]
fn remove_personal_access_token() {}

#[utoipa::path(
    post,
    path = "/v2/users/pats/search",
    tag = "UserService",
    operation_id = "ListPersonalAccessTokens",
    summary = "Search personal access tokens (never the tokens themselves)",
    request_body = ListPersonalAccessTokensDoc,
    responses(
        (status = 200, description = "The matching tokens the caller may see: its own, and those of users it holds user.read for; removed tokens never", body = ListPersonalAccessTokensResponseDoc),
        CommonErrors,
        (status = 400, description = "A filter, the sorting column or a method is invalid (code 3), or pagination.limit is over 1000 (code 3, QUERY-4M0fs)", body = ErrorDoc),
    ),
)]
fn list_personal_access_tokens() {}

/// The path parameter every session route takes.
const SESSION_ID: &str =
    "The session's id (1 to 200 characters); it wins over a sessionId in the body";

#[utoipa::path(
    post,
    path = "/v2/sessions",
    tag = "SessionService",
    operation_id = "CreateSession",
    summary = "Create a session, checking a user and its password",
    request_body = CreateSessionDoc,
    responses(
        (status = 201, description = "The session was created, with its first token", body = CreateSessionResponseDoc),
        CommonErrors,
        (status = 429, description = "Too many wrong passwords for this user from this client, or from this client in all (code 8, limits.wrong_passwords, limits.client_wrong_passwords); the password was not checked", body = ErrorDoc, headers(("Retry-After" = i64, description = "Seconds until the budget has room"))),
        (status = 501, description = "A check or challenge other than user and password (code 12, REKEY-PasswordOnly)", body = ErrorDoc),
    ),
)]
fn create_session() {}

#[utoipa::path(
    patch,
    path = "/v2/sessions/{sessionId}",
    tag = "SessionService",
    operation_id = "SetSession",
    summary = "Check a session's user or password, or change its lifetime or metadata",
    params(("sessionId" = String, Path, description = SESSION_ID)),
    request_body = SetSessionDoc,
    responses(
        (status = 200, description = "The session was changed (with a new token), or nothing was to change (without one)", body = SetSessionResponseDoc),
        CommonErrors,
        (status = 429, description = "Too many wrong passwords for this user from this client, or from this client in all (code 8, limits.wrong_passwords, limits.client_wrong_passwords); the password was not checked", body = ErrorDoc, headers(("Retry-After" = i64, description = "Seconds until the budget has room"))),
        (status = 501, description = "A check or challenge other than user and password (code 12, REKEY-PasswordOnly)", body = ErrorDoc),
    ),
)]
fn set_session() {}

#[utoipa::path(
    get,
    path = "/v2/sessions/{sessionId}",
    tag = "SessionService",
    operation_id = "GetSession",
    summary = "Get a session",
    params(
        ("sessionId" = String, Path, description = SESSION_ID),
        ("sessionToken" = Option<String>, Query, description = "The session's current token. With it any authenticated caller may read the session; a wrong one is 403 (QUERY-dsfr3). Without it the caller must be the session's creator or user, or hold session.read"),
    ),
    responses(
        (status = 200, description = "The session, also when it has expired", body = GetSessionResponseDoc),
        CommonErrors,
    ),
)]
fn get_session() {}

#[utoipa::path(
    delete,
    path = "/v2/sessions/{sessionId}",
    tag = "SessionService",
    operation_id = "DeleteSession",
    summary = "End a session",
    params(("sessionId" = String, Path, description = SESSION_ID)),
    request_body = Option<DeleteSessionDoc>,
    responses(
        (status = 200, description = "The session ended, or there was none with this id", body = DetailsResponseDoc),
        CommonErrors,
    ),
)]
fn delete_session() {}

#[utoipa::path(
    post,
    path = "/v2/sessions/search",
    tag = "SessionService",
    operation_id = "ListSessions",
    summary = "Search sessions",
    request_body = ListSessionsDoc,
    responses(
        (status = 200, description = "The matching sessions the caller may see", body = ListSessionsResponseDoc),
        CommonErrors,
        (status = 501, description = "A query other than idsQuery, userIdQuery and creatorQuery (code 12, REKEY-PasswordOnly)", body = ErrorDoc),
    ),
)]
fn list_sessions() {}

#[utoipa::path(
    get,
    path = "/v2/settings/password/complexity",
    tag = "SettingsService",
    operation_id = "GetPasswordComplexitySettings",
    summary = "Get the password complexity settings",
    responses(
        (status = 200, description = "The instance's complexity rules", body = GetPasswordComplexitySettingsResponseDoc),
        CommonErrors,
    ),
)]
fn get_password_complexity_settings() {}

#[utoipa::path(
    get,
    path = "/v2/settings/lockout",
    tag = "SettingsService",
    operation_id = "GetLockoutSettings",
    summary = "Get the lockout settings",
    responses(
        (status = 200, description = "The instance's lockout policy", body = GetLockoutSettingsResponseDoc),
        CommonErrors,
    ),
)]
fn get_lockout_settings() {}

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
/// required), ids are 1 to 200 characters without control characters, metadata values are
/// base64, an error's detail is one of two types, each RPC's Connect path (`x-connect-path`),
/// and the catalogue of error ids (`x-rekey-errors`).
fn refine(document: &mut serde_json::Value) {
    use serde_json::json;
    let schemas = &mut document["components"]["schemas"];
    for (schema, cases) in [
        ("PasswordResetRequest", ["sendLink", "returnCode"]),
        (
            "SetPasswordRequest",
            ["verificationCode", "currentPassword"],
        ),
        ("CheckUser", ["userId", "loginName"]),
        ("AddHumanUserRequest", ["password", "hashedPassword"]),
    ] {
        schemas[schema]["not"] = json!({ "required": cases });
    }
    schemas["SearchQuery"]["not"] = json!({ "anyOf": [
        { "required": ["idsQuery", "userIdQuery"] },
        { "required": ["idsQuery", "creatorQuery"] },
        { "required": ["userIdQuery", "creatorQuery"] },
    ] });
    // PersonalAccessTokensSearchFilter's oneof: its five cases exclude each other.
    let filters = [
        "tokenIdFilter",
        "userIdFilter",
        "organizationIdFilter",
        "createdDateFilter",
        "expirationDateFilter",
    ];
    let pairs: Vec<_> = filters
        .iter()
        .enumerate()
        .flat_map(|(i, a)| {
            filters[i + 1..]
                .iter()
                .map(move |b| json!({ "required": [a, b] }))
        })
        .collect();
    schemas["PersonalAccessTokensSearchFilter"]["not"] = json!({ "anyOf": pairs });
    for (schema, field) in [
        ("AddHumanUserRequest", "userId"),
        ("Organization", "orgId"),
        ("AddOrganizationRequest", "orgId"),
        ("AddOrganizationRequest", "organizationId"),
        ("CheckUser", "userId"),
        ("UserIDQuery", "id"),
        ("CreatorQuery", "id"),
    ] {
        schemas[schema]["properties"][field]["pattern"] = json!(ID_PATTERN);
    }
    for schema in ["CreateSessionRequest", "SetSessionRequest", "Session"] {
        schemas[schema]["properties"]["metadata"]["additionalProperties"] =
            json!({ "type": "string", "contentEncoding": "base64" });
    }
    schemas["ErrorDetail"]["properties"]["id"]["description"] = json!(
        "A stable error id, e.g. `COMMAND-SAF4f`; every id rekey answers with is listed in \
         `x-rekey-errors`."
    );
    // The two details exclude each other by their type.
    for (schema, type_url) in [
        ("ErrorDetail", "type.googleapis.com/zitadel.v1.ErrorDetail"),
        (
            "CredentialsCheckError",
            "type.googleapis.com/zitadel.v1.CredentialsCheckError",
        ),
    ] {
        schemas[schema]["properties"]["@type"]["const"] = json!(type_url);
    }
    schemas["Error"]["properties"]["details"]["items"] = json!({ "oneOf": [
        { "$ref": "#/components/schemas/ErrorDetail" },
        { "$ref": "#/components/schemas/CredentialsCheckError" },
    ] });
    // DeleteSession's and AddPersonalAccessToken's bodies may be left out (they then mean
    // `{}`), but they are not `null`.
    document["paths"]["/v2/sessions/{sessionId}"]["delete"]["requestBody"]["content"]["application/json"]
        ["schema"] = json!({ "$ref": "#/components/schemas/DeleteSessionRequest" });
    document["paths"]["/v2/users/{userId}/pats"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"] = json!({ "$ref": "#/components/schemas/AddPersonalAccessTokenRequest" });
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
            .filter(|p| {
                ["userId", "sessionId", "tokenId"].contains(&p["name"].as_str().unwrap_or_default())
            })
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
    /// ZITADEL's error detail, when the error has an id: an `ErrorDetail`, or for a failed
    /// password check a `CredentialsCheckError`.
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
    /// No such user or session, or an unknown route (code 5)
    #[response(status = 404)]
    NotFound(ErrorDoc),
    /// The body is larger than server.body_limit (code 3)
    #[response(status = 413)]
    TooLarge(ErrorDoc),
    /// The database is unavailable, or (SetPassword, AddHumanUser, CreateSession, SetSession)
    /// the password hashing queue is full (code 14); try again after Retry-After
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

/// `HashedPassword`: a password hash from another system, stored as it is and replaced by
/// argon2id at the user's first successful password check. The formats and their cost bounds
/// are in docs/API.md (AddHumanUser); any other is 400, code 3, `USER-oz74onzvqr`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = HashedPassword)]
pub(crate) struct HashedPasswordDoc {
    #[schema(
        min_length = 1,
        max_length = 1024,
        example = "$2b$04$PbButVTm32Jf8yPfRA6PV.0XVJa1ezbDq7FVAGmbJD0h7r9zLcRUq"
    )]
    hash: String,
    change_required: Option<bool>,
}

/// `AddHumanUserRequest` (the fields rekey uses; others are accepted and ignored).
/// `password` and `hashedPassword` are a oneof: set at most one; neither makes a user without
/// a password.
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
    hashed_password: Option<HashedPasswordDoc>,
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
// Personal access tokens

/// `AddPersonalAccessTokenRequest` without `userId` (it is in the path).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AddPersonalAccessTokenRequest, example = json!({
    "expirationDate": "2030-01-01T00:00:00Z"
}))]
pub(crate) struct AddPersonalAccessTokenDoc {
    /// When the token stops working: RFC 3339, not in the past (else 400, code 3,
    /// `DOMAIN-dv3t5`). Without it the token never expires (listed with
    /// `9999-12-31T23:59:59Z`, as in ZITADEL).
    #[schema(format = DateTime, example = "2030-01-01T00:00:00Z")]
    expiration_date: Option<String>,
}

/// `AddPersonalAccessTokenResponse`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AddPersonalAccessTokenResponse, example = json!({
    "creationDate": "2024-06-13T06:44:35.860Z",
    "tokenId": "69629023906488340",
    "token": "rekey_pat_yQ3b0nJ6qk1Zx9T0f2m8Vw4cA7eLhR5sUoPiKdGjB1E"
}))]
pub(crate) struct AddPersonalAccessTokenResponseDoc {
    #[schema(format = DateTime, example = "2024-06-13T06:44:35.860Z")]
    creation_date: String,
    /// The id that RemovePersonalAccessToken and ListPersonalAccessTokens name it by.
    token_id: String,
    /// The bearer token: shown here once, never stored (rekey keeps a fingerprint only), never
    /// listed. It carries the roles the user's live tokens carried when it was added.
    token: String,
}

/// `RemovePersonalAccessTokenResponse`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = RemovePersonalAccessTokenResponse)]
pub(crate) struct RemovePersonalAccessTokenResponseDoc {
    /// When the token was revoked.
    #[schema(format = DateTime, example = "2024-06-13T06:44:35.860Z")]
    deletion_date: String,
}

/// `zitadel.filter.v2.PaginationRequest`.
#[derive(Serialize, ToSchema)]
#[schema(as = PaginationRequest)]
pub(crate) struct PaginationRequestDoc {
    /// Tokens to skip (uint64; a number or a string).
    offset: Option<u64>,
    /// At most this many (uint32); 0 or none: 100; more than 1 000 is 400, code 3,
    /// `QUERY-4M0fs`.
    #[schema(maximum = 1000)]
    limit: Option<u32>,
    /// Smallest first; default: largest (newest) first.
    asc: Option<bool>,
}

/// `zitadel.user.v2.PersonalAccessTokenFieldName`: what the page is ordered by (then by id);
/// `UNSPECIFIED` is the creation date. Never-expiring tokens sort as 9999-12-31T23:59:59Z.
#[derive(Serialize, ToSchema)]
#[schema(as = PersonalAccessTokenFieldName)]
pub(crate) enum PersonalAccessTokenFieldNameDoc {
    #[serde(rename = "PERSONAL_ACCESS_TOKEN_FIELD_NAME_UNSPECIFIED")]
    Unspecified,
    #[serde(rename = "PERSONAL_ACCESS_TOKEN_FIELD_NAME_CREATED_DATE")]
    CreatedDate,
    #[serde(rename = "PERSONAL_ACCESS_TOKEN_FIELD_NAME_ID")]
    Id,
    #[serde(rename = "PERSONAL_ACCESS_TOKEN_FIELD_NAME_USER_ID")]
    UserId,
    #[serde(rename = "PERSONAL_ACCESS_TOKEN_FIELD_NAME_ORGANIZATION_ID")]
    OrganizationId,
    #[serde(rename = "PERSONAL_ACCESS_TOKEN_FIELD_NAME_EXPIRATION_DATE")]
    ExpirationDate,
}

/// `zitadel.filter.v2.IDFilter`: equal to this id.
#[derive(Serialize, ToSchema)]
#[schema(as = IDFilter)]
pub(crate) struct IdFilterDoc {
    #[schema(max_length = 200, example = "69629023906488334")]
    id: Option<String>,
}

/// `zitadel.filter.v2.TimestampFilterMethod`: how the token's date compares to `timestamp`.
#[derive(Serialize, ToSchema)]
#[schema(as = TimestampFilterMethod)]
pub(crate) enum TimestampFilterMethodDoc {
    #[serde(rename = "TIMESTAMP_FILTER_METHOD_EQUALS")]
    Equals,
    #[serde(rename = "TIMESTAMP_FILTER_METHOD_AFTER")]
    After,
    #[serde(rename = "TIMESTAMP_FILTER_METHOD_AFTER_OR_EQUALS")]
    AfterOrEquals,
    #[serde(rename = "TIMESTAMP_FILTER_METHOD_BEFORE")]
    Before,
    #[serde(rename = "TIMESTAMP_FILTER_METHOD_BEFORE_OR_EQUALS")]
    BeforeOrEquals,
}

/// `zitadel.filter.v2.TimestampFilter`.
#[derive(Serialize, ToSchema)]
#[schema(as = TimestampFilter)]
pub(crate) struct TimestampFilterDoc {
    /// Required (else 400, code 3).
    #[schema(format = DateTime, example = "2024-06-13T06:44:35.860Z")]
    timestamp: String,
    /// Default: `TIMESTAMP_FILTER_METHOD_EQUALS`.
    method: Option<TimestampFilterMethodDoc>,
}

/// `PersonalAccessTokensSearchFilter`: one of `tokenIdFilter`, `userIdFilter`,
/// `organizationIdFilter`, `createdDateFilter`, `expirationDateFilter` (none, or two, is 400,
/// code 3).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PersonalAccessTokensSearchFilter)]
pub(crate) struct PersonalAccessTokensSearchFilterDoc {
    token_id_filter: Option<IdFilterDoc>,
    user_id_filter: Option<IdFilterDoc>,
    organization_id_filter: Option<IdFilterDoc>,
    created_date_filter: Option<TimestampFilterDoc>,
    /// A token without expiry compares as 9999-12-31T23:59:59Z.
    expiration_date_filter: Option<TimestampFilterDoc>,
}

/// `ListPersonalAccessTokensRequest`: every filter must hold.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ListPersonalAccessTokensRequest, example = json!({
    "pagination": { "limit": 20 },
    "sortingColumn": "PERSONAL_ACCESS_TOKEN_FIELD_NAME_CREATED_DATE",
    "filters": [{ "userIdFilter": { "id": "69629023906488334" } }]
}))]
pub(crate) struct ListPersonalAccessTokensDoc {
    pagination: Option<PaginationRequestDoc>,
    sorting_column: Option<PersonalAccessTokenFieldNameDoc>,
    filters: Option<Vec<PersonalAccessTokensSearchFilterDoc>>,
}

/// `zitadel.filter.v2.PaginationResponse`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PaginationResponse)]
pub(crate) struct PaginationResponseDoc {
    /// How many match in all (uint64, as a string).
    #[schema(pattern = "^[0-9]+$", example = "1")]
    total_result: String,
    /// The limit applied: the one given, or 100 (uint64, as a string).
    #[schema(pattern = "^[0-9]+$", example = "100")]
    applied_limit: String,
}

/// `PersonalAccessToken`: never the token itself.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PersonalAccessToken)]
pub(crate) struct PersonalAccessTokenDoc {
    #[schema(format = DateTime, example = "2024-06-13T06:44:35.860Z")]
    creation_date: String,
    /// The creation date: a token does not change.
    #[schema(format = DateTime, example = "2024-06-13T06:44:35.860Z")]
    change_date: String,
    id: String,
    user_id: String,
    organization_id: String,
    /// `9999-12-31T23:59:59Z` for a token that never expires (as ZITADEL). An expired token is
    /// still listed until it is removed.
    #[schema(format = DateTime, example = "9999-12-31T23:59:59Z")]
    expiration_date: String,
}

/// `ListPersonalAccessTokensResponse`.
#[derive(Serialize, ToSchema)]
#[schema(as = ListPersonalAccessTokensResponse)]
pub(crate) struct ListPersonalAccessTokensResponseDoc {
    pagination: PaginationResponseDoc,
    /// This page, in the order asked for (default: newest first).
    result: Vec<PersonalAccessTokenDoc>,
}

// ---------------------------------------------------------------------------------------------
// Session Service

/// `CheckUser`: the user, by `userId` or by `loginName` (a oneof: set one). A user that does
/// not exist is 404 (`QUERY-Dfbg2`); one that is not active (inactive, locked) is 400, code 9,
/// `Errors.User.NotActive (SESSION-Gj4ko)`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CheckUser)]
pub(crate) struct CheckUserDoc {
    #[schema(min_length = 1, max_length = 200, example = "69629023906488334")]
    user_id: Option<String>,
    /// The username, compared without case.
    #[schema(min_length = 1, max_length = 200, example = "ada")]
    login_name: Option<String>,
}

/// `CheckPassword`: the password of the session's user.
#[derive(Serialize, ToSchema)]
#[schema(as = CheckPassword)]
pub(crate) struct CheckPasswordDoc {
    #[schema(min_length = 1, max_length = 200, example = "Secr3tP4ssw0rd!")]
    password: String,
}

/// `Checks`: the user first, then its password. Any other check (`webAuthN`, `idpIntent`,
/// `totp`, `otpSms`, `otpEmail`, `recoveryCode`) is 501, code 12, `REKEY-PasswordOnly`.
#[derive(Serialize, ToSchema)]
#[schema(as = Checks)]
pub(crate) struct ChecksDoc {
    user: Option<CheckUserDoc>,
    /// Needs a user: in this request or checked before (else 400, code 9, `COMMAND-Sfw3f`).
    password: Option<CheckPasswordDoc>,
}

/// `UserAgent.HeaderValues`.
#[derive(Serialize, ToSchema)]
#[schema(as = HeaderValues)]
pub(crate) struct HeaderValuesDoc {
    #[schema(nullable = false)]
    values: Option<Vec<String>>,
}

/// `UserAgent`: the browser, as the login UI describes it; stored as given, except an `ip`
/// that is not an IP address, which is dropped.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UserAgent)]
pub(crate) struct UserAgentDoc {
    #[schema(nullable = false)]
    fingerprint_id: Option<String>,
    /// The browser's address. When the caller holds `IAM_LOGIN_CLIENT`, the password checks
    /// of the session spend this address's budgets.
    #[schema(nullable = false, example = "192.0.2.1")]
    ip: Option<String>,
    #[schema(nullable = false, example = "Firefox on Linux")]
    description: Option<String>,
    /// Request headers, by name.
    #[schema(nullable = false)]
    header: Option<HashMap<String, HeaderValuesDoc>>,
}

/// `CreateSessionRequest`. Any `challenges` are 501, code 12, `REKEY-PasswordOnly`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CreateSessionRequest, example = json!({
    "checks": {
        "user": { "loginName": "ada" },
        "password": { "password": "Secr3tP4ssw0rd!" }
    },
    "lifetime": "86400s",
    "userAgent": {
        "ip": "192.0.2.1",
        "description": "Firefox on Linux",
        "header": { "user-agent": { "values": ["Mozilla/5.0"] } }
    }
}))]
pub(crate) struct CreateSessionDoc {
    checks: Option<ChecksDoc>,
    /// The login UI's data: keys to base64 values; an empty value sets nothing.
    metadata: Option<HashMap<String, String>>,
    user_agent: Option<UserAgentDoc>,
    /// A `google.protobuf.Duration`: the session ends this long after now; more than 0s, at
    /// most 100 years. Without it the session does not expire.
    #[schema(pattern = "^[0-9]+(\\.[0-9]{1,9})?s$", example = "86400s")]
    lifetime: Option<String>,
}

/// `SetSessionRequest` without `sessionId` (it is in the path). Any `challenges` are 501,
/// code 12, `REKEY-PasswordOnly`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SetSessionRequest, example = json!({
    "checks": { "password": { "password": "Secr3tP4ssw0rd!" } },
    "lifetime": "86400s"
}))]
pub(crate) struct SetSessionDoc {
    /// Not needed, and not checked (as in ZITADEL): `session.write` is what counts.
    session_token: Option<String>,
    /// A user check must name the session's user, if it has one (else 400, code 3).
    checks: Option<ChecksDoc>,
    /// Keys to base64 values; an empty value removes the key.
    metadata: Option<HashMap<String, String>>,
    /// A `google.protobuf.Duration`: the session now ends this long after this change.
    #[schema(pattern = "^[0-9]+(\\.[0-9]{1,9})?s$", example = "86400s")]
    lifetime: Option<String>,
}

/// `DeleteSessionRequest` without `sessionId` (it is in the path).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = DeleteSessionRequest)]
pub(crate) struct DeleteSessionDoc {
    /// The session's current token: with it any authenticated caller may end the session (a
    /// wrong one is 403, `COMMAND-sGr42`). Without it the caller must be the session's user,
    /// or hold `session.delete`.
    session_token: Option<String>,
}

/// `ListQuery`.
#[derive(Serialize, ToSchema)]
#[schema(as = ListQuery)]
pub(crate) struct ListQueryDoc {
    /// Sessions to skip (uint64; a number or a string).
    offset: Option<u64>,
    /// At most this many (uint32); 0 or none: 100; more than 1 000: 1 000.
    limit: Option<u32>,
    /// Oldest first; default: newest first.
    asc: Option<bool>,
}

/// `IDsQuery`.
#[derive(Serialize, ToSchema)]
#[schema(as = IDsQuery)]
pub(crate) struct IdsQueryDoc {
    ids: Option<Vec<String>>,
}

/// `UserIDQuery`: the sessions whose checked user is this one.
#[derive(Serialize, ToSchema)]
#[schema(as = UserIDQuery)]
pub(crate) struct UserIdQueryDoc {
    #[schema(min_length = 1, max_length = 200)]
    id: String,
}

/// `CreatorQuery`: the sessions this user created; without `id`, the caller.
#[derive(Serialize, ToSchema)]
#[schema(as = CreatorQuery)]
pub(crate) struct CreatorQueryDoc {
    #[schema(min_length = 1, max_length = 200)]
    id: Option<String>,
}

/// `SearchQuery`: one of `idsQuery`, `userIdQuery`, `creatorQuery`. The others
/// (`creationDateQuery`, `userAgentQuery`, `expirationDateQuery`) are 501, code 12,
/// `REKEY-PasswordOnly`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SearchQuery)]
pub(crate) struct SearchQueryDoc {
    ids_query: Option<IdsQueryDoc>,
    user_id_query: Option<UserIdQueryDoc>,
    creator_query: Option<CreatorQueryDoc>,
}

/// `zitadel.session.v2.SessionFieldName`: sessions are ordered by creation date whatever it is.
#[derive(Serialize, ToSchema)]
#[schema(as = SessionFieldName)]
pub(crate) enum SessionFieldNameDoc {
    #[serde(rename = "SESSION_FIELD_NAME_UNSPECIFIED")]
    Unspecified,
    #[serde(rename = "SESSION_FIELD_NAME_CREATION_DATE")]
    CreationDate,
}

/// `ListSessionsRequest`: every query must hold.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ListSessionsRequest, example = json!({
    "query": { "limit": 20 },
    "queries": [{ "userIdQuery": { "id": "69629023906488334" } }]
}))]
pub(crate) struct ListSessionsDoc {
    query: Option<ListQueryDoc>,
    queries: Option<Vec<SearchQueryDoc>>,
    sorting_column: Option<SessionFieldNameDoc>,
}

/// `CreateSessionResponse`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CreateSessionResponse, example = json!({
    "details": {
        "sequence": "5",
        "changeDate": "2024-06-13T06:44:35.860Z",
        "resourceOwner": "rekey"
    },
    "sessionId": "69629023906488340",
    "sessionToken": "rekey_sess_yQ3b0nJ6qk1Zx9T0f2m8Vw4cA7eLhR5sUoPiKdGjB1E"
}))]
pub(crate) struct CreateSessionResponseDoc {
    /// The session's; its resource owner is the instance (`instance.id`).
    details: DetailsDoc,
    session_id: String,
    /// The session's token (`rekey_sess_…`): keep it secret, it reads and ends the session.
    session_token: String,
}

/// `SetSessionResponse`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SetSessionResponse)]
pub(crate) struct SetSessionResponseDoc {
    details: DetailsDoc,
    /// The new token, which ends the old one; absent when nothing changed (the old one stays).
    #[schema(nullable = false)]
    session_token: Option<String>,
}

/// A checked factor: when.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PasswordFactor)]
pub(crate) struct PasswordFactorDoc {
    #[schema(format = DateTime, example = "2024-06-13T06:44:35.860Z")]
    verified_at: String,
}

/// `UserFactor`: the checked user (fields at their default are omitted).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UserFactor)]
pub(crate) struct UserFactorDoc {
    #[schema(format = DateTime, example = "2024-06-13T06:44:35.860Z")]
    verified_at: String,
    id: String,
    /// The username.
    #[schema(nullable = false)]
    login_name: Option<String>,
    #[schema(nullable = false)]
    display_name: Option<String>,
    organization_id: String,
}

/// `Factors`: the user, once checked, and the password, once checked (a password change
/// removes it).
#[derive(Serialize, ToSchema)]
#[schema(as = Factors)]
pub(crate) struct FactorsDoc {
    #[schema(nullable = false)]
    user: Option<UserFactorDoc>,
    #[schema(nullable = false)]
    password: Option<PasswordFactorDoc>,
}

/// `Session`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Session)]
pub(crate) struct SessionDoc {
    id: String,
    #[schema(format = DateTime, example = "2024-06-13T06:44:35.860Z")]
    creation_date: String,
    #[schema(format = DateTime, example = "2024-06-13T06:44:35.860Z")]
    change_date: String,
    /// The number of the session's events (uint64, as a string).
    #[schema(pattern = "^[0-9]+$", example = "5")]
    sequence: String,
    /// Present once a user was checked.
    #[schema(nullable = false)]
    factors: Option<FactorsDoc>,
    /// Keys to base64 values.
    #[schema(nullable = false)]
    metadata: Option<HashMap<String, String>>,
    /// Present when CreateSession described one.
    #[schema(nullable = false)]
    user_agent: Option<UserAgentDoc>,
    /// When the session ends; absent: never. GetSession shows a session after it.
    #[schema(nullable = false, format = DateTime, example = "2024-06-14T06:44:35.860Z")]
    expiration_date: Option<String>,
}

/// `GetSessionResponse`.
#[derive(Serialize, ToSchema)]
#[schema(as = GetSessionResponse)]
pub(crate) struct GetSessionResponseDoc {
    session: SessionDoc,
}

/// `zitadel.object.v2.ListDetails` (fields at their default are omitted).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ListDetails)]
pub(crate) struct ListDetailsDoc {
    /// How many match in all (uint64, as a string; absent: 0).
    #[schema(nullable = false, pattern = "^[0-9]+$", example = "1")]
    total_result: Option<String>,
}

/// `ListSessionsResponse`.
#[derive(Serialize, ToSchema)]
#[schema(as = ListSessionsResponse)]
pub(crate) struct ListSessionsResponseDoc {
    details: ListDetailsDoc,
    /// This page, ordered by creation date.
    #[schema(nullable = false)]
    sessions: Option<Vec<SessionDoc>>,
}

/// `zitadel.v1.CredentialsCheckError`: the detail of a failed password check (`COMMAND-3M0fs`,
/// `COMMAND-JLK35`), in place of an `ErrorDetail`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = CredentialsCheckError)]
pub(crate) struct CredentialsCheckErrorDoc {
    #[serde(rename = "@type")]
    #[schema(example = "type.googleapis.com/zitadel.v1.CredentialsCheckError")]
    kind: String,
    #[schema(example = "COMMAND-3M0fs")]
    id: String,
    /// The message without the id.
    message: String,
    /// The user's wrong passwords in a row, this one included.
    #[schema(minimum = 0, example = 1)]
    failed_attempts: u32,
}

// ---------------------------------------------------------------------------------------------
// Settings Service, ListAuthenticationMethodTypes

/// `zitadel.settings.v2.ResourceOwnerType`: rekey's settings are the instance's.
#[derive(Serialize, ToSchema)]
#[schema(as = ResourceOwnerType)]
pub(crate) enum ResourceOwnerTypeDoc {
    #[serde(rename = "RESOURCE_OWNER_TYPE_INSTANCE")]
    Instance,
}

/// `zitadel.object.v2.Details` of a setting: the instance's (`instance.id`), from the
/// configuration, so without a change date.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SettingsDetails)]
pub(crate) struct SettingsDetailsDoc {
    #[schema(example = "0")]
    sequence: String,
    #[schema(example = "rekey")]
    resource_owner: String,
}

/// `PasswordComplexitySettings` (fields at their default are omitted).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PasswordComplexitySettings)]
pub(crate) struct PasswordComplexitySettingsDoc {
    /// uint64, as a string.
    #[schema(nullable = false, pattern = "^[0-9]+$", example = "8")]
    min_length: Option<String>,
    #[schema(nullable = false)]
    requires_uppercase: Option<bool>,
    #[schema(nullable = false)]
    requires_lowercase: Option<bool>,
    #[schema(nullable = false)]
    requires_number: Option<bool>,
    #[schema(nullable = false)]
    requires_symbol: Option<bool>,
    resource_owner_type: ResourceOwnerTypeDoc,
}

/// `GetPasswordComplexitySettingsResponse`.
#[derive(Serialize, ToSchema)]
#[schema(as = GetPasswordComplexitySettingsResponse)]
pub(crate) struct GetPasswordComplexitySettingsResponseDoc {
    details: SettingsDetailsDoc,
    settings: PasswordComplexitySettingsDoc,
}

/// `LockoutSettings` (fields at their default are omitted).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = LockoutSettings)]
pub(crate) struct LockoutSettingsDoc {
    /// `lockout.max_password_attempts` (uint64, as a string); absent: 0, no lockout.
    #[schema(nullable = false, pattern = "^[0-9]+$", example = "5")]
    max_password_attempts: Option<String>,
    resource_owner_type: ResourceOwnerTypeDoc,
}

/// `GetLockoutSettingsResponse`.
#[derive(Serialize, ToSchema)]
#[schema(as = GetLockoutSettingsResponse)]
pub(crate) struct GetLockoutSettingsResponseDoc {
    details: SettingsDetailsDoc,
    settings: LockoutSettingsDoc,
}

/// `zitadel.user.v2.AuthenticationMethodType`: rekey knows passwords only.
#[derive(Serialize, ToSchema)]
#[schema(as = AuthenticationMethodType)]
pub(crate) enum AuthenticationMethodTypeDoc {
    #[serde(rename = "AUTHENTICATION_METHOD_TYPE_PASSWORD")]
    Password,
}

/// `ListAuthenticationMethodTypesResponse`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ListAuthenticationMethodTypesResponse, example = json!({
    "details": { "totalResult": "1" },
    "authMethodTypes": ["AUTHENTICATION_METHOD_TYPE_PASSWORD"]
}))]
pub(crate) struct ListAuthenticationMethodTypesResponseDoc {
    details: ListDetailsDoc,
    /// Absent when the user has no password.
    #[schema(nullable = false)]
    auth_method_types: Option<Vec<AuthenticationMethodTypeDoc>>,
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
            ("/v2/users/{userId}/authentication_methods", "get"),
            ("/v2/users/{userId}/deactivate", "post"),
            ("/v2/users/{userId}/reactivate", "post"),
            ("/v2/users/{userId}/lock", "post"),
            ("/v2/users/{userId}/unlock", "post"),
            ("/v2/users/{userId}", "delete"),
            ("/v2/users/{userId}/pats", "post"),
            ("/v2/users/{userId}/pats/{tokenId}", "delete"),
            ("/v2/users/pats/search", "post"),
            ("/v2/sessions", "post"),
            ("/v2/sessions/search", "post"),
            ("/v2/sessions/{sessionId}", "get"),
            ("/v2/sessions/{sessionId}", "patch"),
            ("/v2/sessions/{sessionId}", "delete"),
            ("/v2/settings/password/complexity", "get"),
            ("/v2/settings/lockout", "get"),
        ] {
            let operation = &document["paths"][path][method];
            assert!(operation.is_object(), "{method} {path}");
            assert!(operation["responses"]["400"].is_object(), "{method} {path}");
        }
        let create = &document["paths"]["/v2/sessions"]["post"]["responses"];
        assert!(
            create["201"].is_object() && create["200"].is_null(),
            "ZITADEL's 201"
        );
        let token = &document["paths"]["/v2/sessions/{sessionId}"]["get"]["parameters"][1];
        assert_eq!(
            (&token["name"], &token["in"]),
            (&"sessionToken".into(), &"query".into())
        );
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
            schemas["CredentialsCheckError"]["properties"]["failedAttempts"]["type"],
            "integer"
        );
        assert_eq!(
            document["components"]["securitySchemes"]["bearer"]["scheme"],
            "bearer"
        );
    }
}
