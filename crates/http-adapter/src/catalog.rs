//! What a client author looks up: every error id rekey answers with (its gRPC code, and so its
//! HTTP status, and when it comes), and the Connect path of every RPC. The OpenAPI document
//! carries both (`refine` in `openapi.rs`), and `docs/API.md`'s tables are generated from that
//! document (`api_md`, checked by a test like the committed document).

#[cfg(test)]
use std::fmt::Write as _;

use serde_json::Value;

use crate::error::Code;

/// One error id.
#[derive(Debug)]
pub(crate) struct ErrorEntry {
    /// ZITADEL's id (`COMMAND-SAF4f`), or rekey's own (`REKEY-…`) for what ZITADEL lacks.
    pub id: &'static str,
    /// The gRPC code; the HTTP status follows from it.
    pub code: Code,
    /// The RPCs (or the page) that answer with it.
    pub rpcs: &'static str,
    /// When.
    pub when: &'static str,
}

const fn entry(id: &'static str, code: Code, rpcs: &'static str, when: &'static str) -> ErrorEntry {
    ErrorEntry {
        id,
        code,
        rpcs,
        when,
    }
}

/// Every error id, grouped by what is checked first. A test keeps it complete: each id literal
/// in the crates' sources must be here.
pub(crate) const ERRORS: &[ErrorEntry] = &[
    entry(
        "AUTH-7fs1e",
        Code::Unauthenticated,
        "all RPCs",
        "no `Authorization` header, or the token is unknown, expired or revoked, or its user \
         is not active (deactivated, locked, deleted); a change shows within `tokens.cache_ttl`",
    ),
    entry(
        "AUTH-Bq6ds",
        Code::Unauthenticated,
        "all RPCs",
        "the `Authorization` header is not `Bearer <token>`",
    ),
    entry(
        "AUTH-AWfge",
        Code::PermissionDenied,
        "all RPCs but ListSessions, ListPersonalAccessTokens, GetPasswordComplexitySettings, \
         GetLockoutSettings",
        "the caller lacks the permission (e.g. `user.write` on the user's organization, \
         `user.delete` for DeleteUser, `session.write`), or for AddPersonalAccessToken a role \
         the new token would carry; without a `sessionToken`, GetSession also lets the \
         session's creator and user in, DeleteSession its user",
    ),
    entry(
        "COMMAND-SAF4f",
        Code::NotFound,
        "PasswordReset, GetUserByID, ListAuthenticationMethodTypes",
        "no user with this id",
    ),
    entry(
        "COMMAND-Sfe4g",
        Code::FailedPrecondition,
        "PasswordReset, SetPassword",
        "the user is in state Initial",
    ),
    entry(
        "DOMAIN-oGh5e",
        Code::InvalidArgument,
        "PasswordReset",
        "`urlTemplate` does not parse",
    ),
    entry(
        "DOMAIN-ieYa7",
        Code::InvalidArgument,
        "PasswordReset",
        "`urlTemplate` uses a placeholder other than `UserID`, `Code`, `OrgID` (the message names it)",
    ),
    entry(
        "REKEY-UrlScheme",
        Code::InvalidArgument,
        "PasswordReset",
        "`urlTemplate` does not start with `https://` or `http://` and a host (the message says what it gives)",
    ),
    entry(
        "REKEY-NoMail",
        Code::FailedPrecondition,
        "PasswordReset",
        "a link by email was asked for, and the user has no email address",
    ),
    entry(
        "REKEY-NoPhone",
        Code::FailedPrecondition,
        "PasswordReset",
        "a link by SMS was asked for, and the user has no phone number",
    ),
    entry(
        "REKEY-SmsCountry",
        Code::FailedPrecondition,
        "PasswordReset",
        "SMS to the user's country is not allowed (`limits.sms.countries`)",
    ),
    entry(
        "REKEY-Limit",
        Code::ResourceExhausted,
        "PasswordReset, SetPassword, CreateSession, SetSession",
        "a budget is spent; `Retry-After` says when to try again (a password was not checked)",
    ),
    entry(
        "COMMAND-G8dh3",
        Code::FailedPrecondition,
        "SetPassword",
        "no user with this id",
    ),
    entry(
        "COMMAND-2M9fs",
        Code::FailedPrecondition,
        "SetPassword",
        "no current code: never requested, used, replaced, or deleted after too many wrong tries",
    ),
    entry(
        "CODE-QvUQ4P",
        Code::FailedPrecondition,
        "SetPassword",
        "the code has expired (`code.expiry`)",
    ),
    entry(
        "CODE-woT0xc",
        Code::InvalidArgument,
        "SetPassword",
        "the code does not match",
    ),
    entry(
        "COMMAND-3M0fs",
        Code::InvalidArgument,
        "SetPassword, CreateSession, SetSession",
        "`currentPassword` or the session's password does not match; the detail is a \
         `CredentialsCheckError` whose `failedAttempts` counts this one",
    ),
    entry(
        "COMMAND-Aesh5",
        Code::InvalidArgument,
        "SetPassword",
        "the new password equals the current one",
    ),
    entry(
        "DOMAIN-HuJf6",
        Code::InvalidArgument,
        "SetPassword, AddHumanUser",
        "the new password is shorter than the policy's minimum",
    ),
    entry(
        "DOMAIN-co3Xw",
        Code::InvalidArgument,
        "SetPassword, AddHumanUser",
        "the new password has no lower-case letter",
    ),
    entry(
        "DOMAIN-VoaRj",
        Code::InvalidArgument,
        "SetPassword, AddHumanUser",
        "the new password has no upper-case letter",
    ),
    entry(
        "DOMAIN-ZBv4H",
        Code::InvalidArgument,
        "SetPassword, AddHumanUser",
        "the new password has no digit",
    ),
    entry(
        "DOMAIN-ZDLwA",
        Code::InvalidArgument,
        "SetPassword, AddHumanUser",
        "the new password has no symbol",
    ),
    entry(
        "REKEY-PwPers",
        Code::InvalidArgument,
        "SetPassword, AddHumanUser",
        "the new password contains the username, the email's local part or a name",
    ),
    entry(
        "REKEY-PwWeak",
        Code::InvalidArgument,
        "SetPassword, AddHumanUser",
        "the new password is too easy to guess (zxcvbn below `password.min_strength`)",
    ),
    entry(
        "EMAIL-599BI",
        Code::InvalidArgument,
        "AddHumanUser",
        "the email address is invalid",
    ),
    entry(
        "PHONE-so0wa",
        Code::InvalidArgument,
        "AddHumanUser",
        "the phone number is malformed or unassigned",
    ),
    entry(
        "REKEY-PhonePremium",
        Code::InvalidArgument,
        "AddHumanUser",
        "the phone number is premium-rate",
    ),
    entry(
        "LANG-lg4DP",
        Code::InvalidArgument,
        "AddHumanUser",
        "`profile.preferredLanguage` is not a language tag",
    ),
    entry(
        "USER-oz74onzvqr",
        Code::InvalidArgument,
        "AddHumanUser",
        "`hashedPassword.hash` is in no format rekey verifies, is malformed, or its cost is \
         outside rekey's bounds; the message (`Password hash encoding not supported: …`) says \
         why, and never repeats the hash",
    ),
    entry(
        "REKEY-Org404",
        Code::NotFound,
        "AddHumanUser",
        "the organization does not exist",
    ),
    entry(
        "REKEY-UsrDup",
        Code::AlreadyExists,
        "AddHumanUser",
        "the user id or username is taken",
    ),
    entry(
        "REKEY-OrgDup",
        Code::AlreadyExists,
        "AddOrganization",
        "the organization id or name is taken",
    ),
    entry(
        "COMMAND-5gp2p62iin",
        Code::NotFound,
        "DeactivateUser",
        "no user with this id (never created, or deleted)",
    ),
    entry(
        "COMMAND-gvx4kct9r2",
        Code::FailedPrecondition,
        "DeactivateUser",
        "the user is in state Initial: it can only be deleted, not deactivated",
    ),
    entry(
        "COMMAND-5gunjw0cd7",
        Code::FailedPrecondition,
        "DeactivateUser",
        "the user is already inactive",
    ),
    entry(
        "COMMAND-9hy5kzbuk6",
        Code::NotFound,
        "ReactivateUser",
        "no user with this id (never created, or deleted)",
    ),
    entry(
        "COMMAND-s5qqcz97hf",
        Code::FailedPrecondition,
        "ReactivateUser",
        "the user is not inactive",
    ),
    entry(
        "COMMAND-450yxuqrh1",
        Code::NotFound,
        "LockUser",
        "no user with this id (never created, or deleted)",
    ),
    entry(
        "COMMAND-lgws8wtsqf",
        Code::FailedPrecondition,
        "LockUser",
        "the user is neither active nor initial (already locked, or inactive)",
    ),
    entry(
        "COMMAND-x377t913pw",
        Code::NotFound,
        "UnlockUser",
        "no user with this id (never created, or deleted)",
    ),
    entry(
        "COMMAND-olb9vb0oca",
        Code::FailedPrecondition,
        "UnlockUser",
        "the user is not locked",
    ),
    entry(
        "COMMAND-bd4ir1mblj",
        Code::NotFound,
        "DeleteUser",
        "no user with this id (never created, or already deleted)",
    ),
    entry(
        "DOMAIN-dv3t5",
        Code::InvalidArgument,
        "AddPersonalAccessToken",
        "`expirationDate` is in the past",
    ),
    entry(
        "COMMAND-Dggw2",
        Code::FailedPrecondition,
        "AddPersonalAccessToken",
        "no user with this id (never created, or deleted); FailedPrecondition, not NotFound, \
         as ZITADEL answers",
    ),
    entry(
        "COMMAND-Df2f1",
        Code::FailedPrecondition,
        "AddPersonalAccessToken",
        "the user is not a machine user (\"User is of wrong type\"): the API adds tokens to \
         machine users only",
    ),
    entry(
        "COMMAND-4m77G",
        Code::NotFound,
        "RemovePersonalAccessToken",
        "the user has no live token with this id (never added, already removed, another \
         user's), or there is no such user",
    ),
    entry(
        "QUERY-4M0fs",
        Code::InvalidArgument,
        "ListPersonalAccessTokens",
        "`pagination.limit` is over 1 000",
    ),
    entry(
        "REKEY-PasswordOnly",
        Code::Unimplemented,
        "CreateSession, SetSession, ListSessions",
        "a check or challenge other than user and password, or a ListSessions query other \
         than `idsQuery`, `userIdQuery`, `creatorQuery`",
    ),
    entry(
        "QUERY-SFeaa",
        Code::NotFound,
        "SetSession, GetSession",
        "no session with this id (never created, or deleted)",
    ),
    entry(
        "COMMAND-Hkl3d",
        Code::FailedPrecondition,
        "SetSession",
        "the session has expired",
    ),
    entry(
        "QUERY-dsfr3",
        Code::PermissionDenied,
        "GetSession",
        "`sessionToken` is not the session's current token",
    ),
    entry(
        "COMMAND-sGr42",
        Code::PermissionDenied,
        "DeleteSession",
        "`sessionToken` is not the session's current token",
    ),
    entry(
        "QUERY-Dfbg2",
        Code::NotFound,
        "CreateSession, SetSession",
        "the user check names no user (no such id, or a login name that no user or several \
         users have)",
    ),
    entry(
        "SESSION-Gj4ko",
        Code::FailedPrecondition,
        "CreateSession, SetSession",
        "the checked user is inactive or locked; the message is \
         `Errors.User.NotActive (SESSION-Gj4ko)`, which ZITADEL's login app compares",
    ),
    entry(
        "COMMAND-Sfw3f",
        Code::FailedPrecondition,
        "CreateSession, SetSession",
        "a password check without a user: none in the request, none checked before",
    ),
    entry(
        "COMMAND-JLK35",
        Code::FailedPrecondition,
        "SetSession, SetPassword",
        "the user is locked (`lockout.max_password_attempts`): a session's password check \
         after its user check, or SetPassword with `currentPassword`; with a \
         `CredentialsCheckError`",
    ),
    entry(
        "COMMAND-3nJ4t",
        Code::FailedPrecondition,
        "CreateSession, SetSession",
        "a password check of a user that has no password",
    ),
];

/// The REST operation (its `operationId`) and the Connect path serving the same RPC.
pub(crate) const CONNECT_PATHS: &[(&str, &str)] = &[
    (
        "PasswordReset",
        "/zitadel.user.v2.UserService/PasswordReset",
    ),
    ("SetPassword", "/zitadel.user.v2.UserService/SetPassword"),
    ("GetUserByID", "/zitadel.user.v2.UserService/GetUserByID"),
    ("AddHumanUser", "/zitadel.user.v2.UserService/AddHumanUser"),
    (
        "AddOrganization",
        "/zitadel.org.v2.OrganizationService/AddOrganization",
    ),
    (
        "ListAuthenticationMethodTypes",
        "/zitadel.user.v2.UserService/ListAuthenticationMethodTypes",
    ),
    (
        "DeactivateUser",
        "/zitadel.user.v2.UserService/DeactivateUser",
    ),
    (
        "ReactivateUser",
        "/zitadel.user.v2.UserService/ReactivateUser",
    ),
    ("LockUser", "/zitadel.user.v2.UserService/LockUser"),
    ("UnlockUser", "/zitadel.user.v2.UserService/UnlockUser"),
    ("DeleteUser", "/zitadel.user.v2.UserService/DeleteUser"),
    (
        "AddPersonalAccessToken",
        "/zitadel.user.v2.UserService/AddPersonalAccessToken",
    ),
    (
        "RemovePersonalAccessToken",
        "/zitadel.user.v2.UserService/RemovePersonalAccessToken",
    ),
    (
        "ListPersonalAccessTokens",
        "/zitadel.user.v2.UserService/ListPersonalAccessTokens",
    ),
    (
        "CreateSession",
        "/zitadel.session.v2.SessionService/CreateSession",
    ),
    (
        "SetSession",
        "/zitadel.session.v2.SessionService/SetSession",
    ),
    (
        "GetSession",
        "/zitadel.session.v2.SessionService/GetSession",
    ),
    (
        "DeleteSession",
        "/zitadel.session.v2.SessionService/DeleteSession",
    ),
    (
        "ListSessions",
        "/zitadel.session.v2.SessionService/ListSessions",
    ),
    (
        "GetPasswordComplexitySettings",
        "/zitadel.settings.v2.SettingsService/GetPasswordComplexitySettings",
    ),
    (
        "GetLockoutSettings",
        "/zitadel.settings.v2.SettingsService/GetLockoutSettings",
    ),
    (
        "PasswordResetV2beta",
        "/zitadel.user.v2beta.UserService/PasswordReset",
    ),
    (
        "SetPasswordV2beta",
        "/zitadel.user.v2beta.UserService/SetPassword",
    ),
];

/// The catalogue as the OpenAPI document's `x-rekey-errors` extension.
pub(crate) fn errors_json() -> Value {
    ERRORS
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id,
                "code": e.code.number(),
                "connectCode": e.code.name(),
                "httpStatus": e.code.http_status(),
                "rpcs": e.rpcs,
                "when": e.when,
            })
        })
        .collect()
}

#[cfg(test)]
/// Marks around a generated part of `docs/API.md`.
fn marks(name: &str) -> (String, String) {
    (
        format!("<!-- generated: {name} (from docs/openapi.json; REKEY_BLESS=1 rewrites) -->\n"),
        format!("<!-- end of generated: {name} -->"),
    )
}

#[cfg(test)]
/// `docs/API.md` with its generated parts (`routes`, `errors`) made anew from the OpenAPI
/// document; `None` when a part's marks are missing.
pub(crate) fn api_md(current: &str, document: &Value) -> Option<String> {
    let mut text = current.to_owned();
    for (name, body) in [
        ("routes", routes_table(document)),
        ("errors", errors_table(document)),
    ] {
        let (begin, end) = marks(name);
        let start = text.find(&begin)? + begin.len();
        let stop = start + text[start..].find(&end)?;
        text.replace_range(start..stop, &body);
    }
    Some(text)
}

#[cfg(test)]
/// Every operation of the document: method, REST path, Connect path, summary, answers.
fn routes_table(document: &Value) -> String {
    let mut table = String::from(
        "| RPC | REST | Connect path and gRPC method | what | answers |\n|---|---|---|---|---|\n",
    );
    let Some(paths) = document["paths"].as_object() else {
        return table;
    };
    for (path, operations) in paths {
        let Some(operations) = operations.as_object() else {
            continue;
        };
        for (method, operation) in operations {
            let id = operation["operationId"].as_str().unwrap_or_default();
            let connect = operation["x-connect-path"]
                .as_str()
                .map_or_else(|| "—".to_owned(), |p| format!("`{p}`"));
            let answers = operation["responses"]
                .as_object()
                .map(|r| r.keys().cloned().collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            let _ = writeln!(
                table,
                "| {id} | `{} {path}` | {connect} | {} | {answers} |",
                method.to_uppercase(),
                operation["summary"].as_str().unwrap_or_default(),
            );
        }
    }
    table
}

#[cfg(test)]
/// Every error id of the document's `x-rekey-errors`.
fn errors_table(document: &Value) -> String {
    let mut table =
        String::from("| id | HTTP | code | Connect | from | when |\n|---|---|---|---|---|---|\n");
    for error in document["x-rekey-errors"].as_array().into_iter().flatten() {
        let _ = writeln!(
            table,
            "| `{}` | {} | {} | `{}` | {} | {} |",
            error["id"].as_str().unwrap_or_default(),
            error["httpStatus"],
            error["code"],
            error["connectCode"].as_str().unwrap_or_default(),
            error["rpcs"].as_str().unwrap_or_default(),
            error["when"].as_str().unwrap_or_default(),
        );
    }
    table
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// The quoted id literals (`"COMMAND-SAF4f"`) in the Rust sources under `dir`.
    fn ids_in(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                ids_in(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for piece in text.split('"').skip(1).step_by(2) {
                    let Some((prefix, rest)) = piece.split_once('-') else {
                        continue;
                    };
                    let prefixes = [
                        "AUTH", "CODE", "COMMAND", "DOMAIN", "EMAIL", "LANG", "PHONE", "QUERY",
                        "SESSION", "USER",
                    ];
                    if (prefixes.contains(&prefix) || prefix == "REKEY")
                        && (4..=16).contains(&rest.len())
                        && rest.chars().all(|c| c.is_ascii_alphanumeric())
                    {
                        found.insert(piece.to_owned());
                    }
                }
            }
        }
    }

    #[test]
    fn every_error_id_in_the_sources_is_in_the_catalogue() {
        let mut found = BTreeSet::new();
        for krate in ["domain", "application", "api", "http-adapter"] {
            ids_in(&root().join("crates").join(krate).join("src"), &mut found);
        }
        let listed: BTreeSet<String> = ERRORS.iter().map(|e| e.id.to_owned()).collect();
        assert_eq!(listed.len(), ERRORS.len(), "an id is listed twice");
        let missing: Vec<_> = found.difference(&listed).collect();
        assert!(missing.is_empty(), "add to catalog::ERRORS: {missing:?}");
        let stale: Vec<_> = listed.difference(&found).collect();
        assert!(stale.is_empty(), "no longer answered: {stale:?}");
    }

    #[test]
    fn every_rest_rpc_has_its_connect_path() {
        let document: Value = serde_json::from_str(&crate::openapi::document()).unwrap();
        let rpcs: BTreeSet<&str> = document["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|ops| ops.as_object().unwrap().values())
            .filter(|op| op["tags"][0] != "Operations")
            .filter_map(|op| op["operationId"].as_str())
            .collect();
        let mapped: BTreeSet<&str> = CONNECT_PATHS.iter().map(|(id, _)| *id).collect();
        assert_eq!(rpcs, mapped);
    }

    /// `docs/API.md` lists every route and every error id of the document, in tables made from
    /// it. `REKEY_BLESS=1` rewrites the tables.
    #[test]
    fn api_md_matches_the_openapi_document() {
        let path = root().join("docs/API.md");
        let current = std::fs::read_to_string(&path).unwrap();
        let document: Value = serde_json::from_str(&crate::openapi::document()).unwrap();
        let fresh = api_md(&current, &document).expect("docs/API.md has both generated parts");
        if std::env::var_os("REKEY_BLESS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
            return;
        }
        for (path, operations) in document["paths"].as_object().unwrap() {
            for method in operations.as_object().unwrap().keys() {
                let route = format!("`{} {path}`", method.to_uppercase());
                assert!(current.contains(&route), "docs/API.md lacks {route}");
            }
        }
        for error in ERRORS {
            assert!(
                current.contains(&format!("`{}`", error.id)),
                "docs/API.md lacks {}",
                error.id
            );
        }
        for (_, connect) in CONNECT_PATHS {
            assert!(current.contains(connect), "docs/API.md lacks {connect}");
        }
        assert!(
            fresh == current,
            "docs/API.md's generated tables differ from the document; run \
             REKEY_BLESS=1 cargo test -p rekey-http-adapter api_md"
        );
    }
}
