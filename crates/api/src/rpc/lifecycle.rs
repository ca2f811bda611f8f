//! `zitadel.user.v2.UserService` DeactivateUser, ReactivateUser, LockUser, UnlockUser and
//! DeleteUser: a request of only the user's id, a response of only `details`.

use rekey_application::Ports;
use rekey_application::usecase::lifecycle::{self, Error, Transition};
use rekey_domain::{Details, Principal};
use rekey_proto::zitadel::user::v2 as proto;

use super::fields::{self, permission_denied};
use crate::status::{Code, Status};

/// ZITADEL's v2 code, id and text for each refusal; `not_found` is the id of the RPC's own
/// NotFound.
#[must_use]
pub fn error(error: Error, not_found: &'static str) -> Status {
    let precondition = |id, text: &str| Status::with_id(Code::FailedPrecondition, id, text);
    match error {
        Error::NotFound => Status::with_id(Code::NotFound, not_found, error.to_string()),
        Error::PermissionDenied => permission_denied(),
        Error::CannotDeactivateInitial => precondition("COMMAND-gvx4kct9r2", &error.to_string()),
        Error::AlreadyInactive => precondition("COMMAND-5gunjw0cd7", &error.to_string()),
        Error::NotInactive => precondition("COMMAND-s5qqcz97hf", &error.to_string()),
        Error::ShouldBeActiveOrInitial => precondition("COMMAND-lgws8wtsqf", &error.to_string()),
        Error::NotLocked => precondition("COMMAND-olb9vb0oca", &error.to_string()),
        Error::Failure(failure) => Status::failure(failure),
    }
}

/// The transition's RPC name (for the field rule's message) and its NotFound id.
fn names(transition: Option<Transition>) -> (&'static str, &'static str) {
    match transition {
        Some(Transition::Deactivate) => ("DeactivateUserRequest", "COMMAND-5gp2p62iin"),
        Some(Transition::Reactivate) => ("ReactivateUserRequest", "COMMAND-9hy5kzbuk6"),
        Some(Transition::Lock) => ("LockUserRequest", "COMMAND-450yxuqrh1"),
        Some(Transition::Unlock) => ("UnlockUserRequest", "COMMAND-x377t913pw"),
        None => ("DeleteUserRequest", "COMMAND-bd4ir1mblj"),
    }
}

/// Runs `transition` (or, for `None`, DeleteUser) for `user_id`.
async fn run<P: Ports>(
    ports: &P,
    caller: &Principal,
    user_id: String,
    transition: Option<Transition>,
) -> Result<Details, Status> {
    let (message, not_found) = names(transition);
    let user_id = fields::user_id(&format!("{message}.UserId"), user_id)?;
    match transition {
        Some(transition) => lifecycle::transition(ports, caller, &user_id, transition).await,
        None => lifecycle::delete(ports, caller, &user_id).await,
    }
    .map_err(|e| error(e, not_found))
}

macro_rules! lifecycle_rpc {
    ($(#[$doc:meta])* $name:ident, $request:ident, $response:ident, $transition:expr) => {
        $(#[$doc])*
        ///
        /// # Errors
        /// The refusal, as [`error`] maps it.
        pub async fn $name<P: Ports>(
            ports: &P,
            caller: &Principal,
            request: proto::$request,
        ) -> Result<proto::$response, Status> {
            let details = run(ports, caller, request.user_id, $transition).await?;
            Ok(proto::$response {
                details: Some(fields::details(&details)),
            })
        }
    };
}

lifecycle_rpc!(
    /// DeactivateUser: active or locked → inactive.
    deactivate,
    DeactivateUserRequest,
    DeactivateUserResponse,
    Some(Transition::Deactivate)
);
lifecycle_rpc!(
    /// ReactivateUser: inactive → active.
    reactivate,
    ReactivateUserRequest,
    ReactivateUserResponse,
    Some(Transition::Reactivate)
);
lifecycle_rpc!(
    /// LockUser: active or initial → locked.
    lock,
    LockUserRequest,
    LockUserResponse,
    Some(Transition::Lock)
);
lifecycle_rpc!(
    /// UnlockUser: locked → active.
    unlock,
    UnlockUserRequest,
    UnlockUserResponse,
    Some(Transition::Unlock)
);
lifecycle_rpc!(
    /// DeleteUser: the user and its personal data go.
    delete,
    DeleteUserRequest,
    DeleteUserResponse,
    None
);
