//! The RPCs, one module each, independent of the transport that carries them.
//!
//! Every module has the same three steps around its use case: `input()` checks the request
//! message's fields (protoc-gen-validate's rules and messages, as ZITADEL answers them) and
//! builds the use case's input; `error()` maps the use case's refusal to a [`Status`] with
//! ZITADEL's code, id and text; `response()` builds the response message from the output.
//! `call()` runs the three. The adapters only frame: JSON or protobuf, HTTP or gRPC.

pub mod add_human_user;
pub mod add_organization;
mod fields;
pub mod get_user;
pub mod lifecycle;
pub mod password_reset;
pub mod personal_access_token;
pub mod session;
pub mod set_password;
pub mod settings;

pub use add_human_user::call as add_human_user;
pub use add_organization::call as add_organization;
pub use get_user::call as get_user_by_id;
pub use password_reset::call as password_reset;
pub use set_password::call as set_password;

use crate::status::Status;

/// The RPCs rekey serves, by their method name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rpc {
    /// `zitadel.user.v2.UserService/PasswordReset` (and its v2beta twin).
    PasswordReset,
    /// `zitadel.user.v2.UserService/SetPassword` (and its v2beta twin).
    SetPassword,
    /// `zitadel.user.v2.UserService/GetUserByID`.
    GetUserById,
    /// `zitadel.user.v2.UserService/AddHumanUser`.
    AddHumanUser,
    /// `zitadel.org.v2.OrganizationService/AddOrganization`.
    AddOrganization,
    /// `zitadel.session.v2.SessionService/CreateSession`.
    CreateSession,
    /// `zitadel.session.v2.SessionService/SetSession`.
    SetSession,
    /// `zitadel.session.v2.SessionService/GetSession`.
    GetSession,
    /// `zitadel.session.v2.SessionService/DeleteSession`.
    DeleteSession,
    /// `zitadel.session.v2.SessionService/ListSessions`.
    ListSessions,
    /// `zitadel.settings.v2.SettingsService/GetPasswordComplexitySettings`.
    GetPasswordComplexitySettings,
    /// `zitadel.settings.v2.SettingsService/GetLockoutSettings`.
    GetLockoutSettings,
    /// `zitadel.user.v2.UserService/ListAuthenticationMethodTypes`.
    ListAuthenticationMethodTypes,
    /// `zitadel.user.v2.UserService/DeactivateUser`.
    DeactivateUser,
    /// `zitadel.user.v2.UserService/ReactivateUser`.
    ReactivateUser,
    /// `zitadel.user.v2.UserService/LockUser`.
    LockUser,
    /// `zitadel.user.v2.UserService/UnlockUser`.
    UnlockUser,
    /// `zitadel.user.v2.UserService/DeleteUser`.
    DeleteUser,
    /// `zitadel.user.v2.UserService/AddPersonalAccessToken`.
    AddPersonalAccessToken,
    /// `zitadel.user.v2.UserService/RemovePersonalAccessToken`.
    RemovePersonalAccessToken,
    /// `zitadel.user.v2.UserService/ListPersonalAccessTokens`.
    ListPersonalAccessTokens,
}

impl Rpc {
    /// Every RPC.
    pub const ALL: [Self; 21] = [
        Self::PasswordReset,
        Self::SetPassword,
        Self::GetUserById,
        Self::AddHumanUser,
        Self::AddOrganization,
        Self::CreateSession,
        Self::SetSession,
        Self::GetSession,
        Self::DeleteSession,
        Self::ListSessions,
        Self::GetPasswordComplexitySettings,
        Self::GetLockoutSettings,
        Self::ListAuthenticationMethodTypes,
        Self::DeactivateUser,
        Self::ReactivateUser,
        Self::LockUser,
        Self::UnlockUser,
        Self::DeleteUser,
        Self::AddPersonalAccessToken,
        Self::RemovePersonalAccessToken,
        Self::ListPersonalAccessTokens,
    ];

    /// The method name, as in the gRPC path.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::PasswordReset => "PasswordReset",
            Self::SetPassword => "SetPassword",
            Self::GetUserById => "GetUserByID",
            Self::AddHumanUser => "AddHumanUser",
            Self::AddOrganization => "AddOrganization",
            Self::CreateSession => "CreateSession",
            Self::SetSession => "SetSession",
            Self::GetSession => "GetSession",
            Self::DeleteSession => "DeleteSession",
            Self::ListSessions => "ListSessions",
            Self::GetPasswordComplexitySettings => "GetPasswordComplexitySettings",
            Self::GetLockoutSettings => "GetLockoutSettings",
            Self::ListAuthenticationMethodTypes => "ListAuthenticationMethodTypes",
            Self::DeactivateUser => "DeactivateUser",
            Self::ReactivateUser => "ReactivateUser",
            Self::LockUser => "LockUser",
            Self::UnlockUser => "UnlockUser",
            Self::DeleteUser => "DeleteUser",
            Self::AddPersonalAccessToken => "AddPersonalAccessToken",
            Self::RemovePersonalAccessToken => "RemovePersonalAccessToken",
            Self::ListPersonalAccessTokens => "ListPersonalAccessTokens",
        }
    }

    /// The metrics' `rpc` label: the use case's name in snake case.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::SetPassword => "set_password",
            Self::GetUserById => "get_user",
            Self::AddHumanUser => "add_human_user",
            Self::AddOrganization => "add_organization",
            Self::CreateSession => "create_session",
            Self::SetSession => "set_session",
            Self::GetSession => "get_session",
            Self::DeleteSession => "delete_session",
            Self::ListSessions => "list_sessions",
            Self::GetPasswordComplexitySettings => "get_password_complexity_settings",
            Self::GetLockoutSettings => "get_lockout_settings",
            Self::ListAuthenticationMethodTypes => "list_authentication_method_types",
            Self::DeactivateUser => "deactivate_user",
            Self::ReactivateUser => "reactivate_user",
            Self::LockUser => "lock_user",
            Self::UnlockUser => "unlock_user",
            Self::DeleteUser => "delete_user",
            Self::AddPersonalAccessToken => "add_personal_access_token",
            Self::RemovePersonalAccessToken => "remove_personal_access_token",
            Self::ListPersonalAccessTokens => "list_personal_access_tokens",
        }
    }
}

/// `rekey_rpc_outcomes_total{rpc, protocol, outcome}`: `ok`, or the error's id
/// (`COMMAND-SAF4f`), or its code's name when it has no id.
pub fn count_outcome(rpc: Rpc, protocol: &'static str, result: Result<(), &Status>) {
    let outcome = match result {
        Ok(()) => "ok",
        Err(status) => status.id().unwrap_or_else(|| status.code().name()),
    };
    metrics::counter!(
        "rekey_rpc_outcomes_total",
        "rpc" => rpc.label(),
        "protocol" => protocol,
        "outcome" => outcome,
    )
    .increment(1);
}

/// Re-reads a message as another with the same field numbers: a v2beta request as its v2
/// twin, a v2 response as its v2beta twin. Fields the other message lacks are dropped.
#[must_use]
pub fn transcode<A: prost::Message, B: prost::Message + Default>(message: &A) -> B {
    // The bytes were just encoded by prost from a message of the same numbering; a decode error
    // would mean the twins' .proto files drifted apart, which rekey-proto's tests rule out.
    B::decode(message.encode_to_vec().as_slice()).unwrap_or_default()
}
