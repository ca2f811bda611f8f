//! `zitadel.session.v2.SessionService`, password only: CreateSession, SetSession, GetSession,
//! DeleteSession and ListSessions.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::TimeDelta;
use rekey_application::Ports;
use rekey_application::ports::SessionQuery;
use rekey_application::usecase::session::{
    self, Checks, CreateInput, Error, ListInput, SetInput, Shown, UserSearch, Written,
};
use rekey_domain::{BearerToken, Password, Principal, UserAgent, UserKind, session_lifetime};
use rekey_proto::zitadel::object::v2 as object;
use rekey_proto::zitadel::session::v2::{
    self as proto, CreateSessionRequest, CreateSessionResponse, DeleteSessionRequest,
    DeleteSessionResponse, GetSessionRequest, GetSessionResponse, ListSessionsRequest,
    ListSessionsResponse, SetSessionRequest, SetSessionResponse, check_user::Search,
    search_query::Query,
};

use super::fields::{self, permission_denied};
use crate::status::{Code, Status};

/// The refusal of a check or challenge rekey does not do (it checks passwords only).
fn unsupported(what: &str) -> Status {
    Status::with_id(
        Code::Unimplemented,
        "REKEY-PasswordOnly",
        format!("rekey checks users and passwords only; {what} is not supported"),
    )
}

/// The checks, refusing the kinds rekey does not do.
fn checks(checks: Option<proto::Checks>) -> Result<Checks, Status> {
    let Some(checks) = checks else {
        return Ok(Checks::default());
    };
    for (given, what) in [
        (checks.web_auth_n.is_some(), "checks.webAuthN"),
        (checks.idp_intent.is_some(), "checks.idpIntent"),
        (checks.totp.is_some(), "checks.totp"),
        (checks.otp_sms.is_some(), "checks.otpSms"),
        (checks.otp_email.is_some(), "checks.otpEmail"),
        (checks.recovery_code.is_some(), "checks.recoveryCode"),
    ] {
        if given {
            return Err(unsupported(what));
        }
    }
    let user = match checks.user.and_then(|u| u.search) {
        Some(Search::UserId(id)) => Some(UserSearch::Id(fields::user_id("CheckUser.UserId", id)?)),
        Some(Search::LoginName(name)) => Some(UserSearch::LoginName(fields::plain_text(
            "CheckUser.LoginName",
            name,
            1,
            200,
        )?)),
        None => None,
    };
    let password = checks
        .password
        .map(|p| fields::text("CheckPassword.Password", p.password, 1, 200))
        .transpose()?
        .map(Password::new);
    Ok(Checks { user, password })
}

fn no_challenges(challenges: Option<&proto::RequestChallenges>) -> Result<(), Status> {
    match challenges {
        Some(c) if c.web_auth_n.is_some() || c.otp_sms.is_some() || c.otp_email.is_some() => {
            Err(unsupported("challenges"))
        }
        _ => Ok(()),
    }
}

/// `lifetime`: PGV's `gt: {seconds: 0}`.
fn lifetime(
    message: &str,
    given: Option<prost_types::Duration>,
) -> Result<Option<TimeDelta>, Status> {
    given
        .map(|d| {
            session_lifetime(d.seconds, d.nanos)
                .map_err(|e| Status::invalid(format!("invalid {message}.Lifetime: {e}")))
        })
        .transpose()
}

fn metadata(given: std::collections::HashMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    given.into_iter().collect()
}

/// The browser as the UI describes it; an IP that does not parse is dropped, as ZITADEL does.
fn user_agent(given: Option<proto::UserAgent>) -> UserAgent {
    let Some(given) = given else {
        return UserAgent::default();
    };
    UserAgent {
        fingerprint_id: given.fingerprint_id,
        ip: given
            .ip
            .filter(|ip| ip.trim().parse::<IpAddr>().is_ok())
            .map(|ip| ip.trim().to_owned()),
        description: given.description,
        header: given
            .header
            .into_iter()
            .map(|(name, values)| (name, values.values))
            .collect(),
    }
}

fn session_id(message: &str, id: String) -> Result<String, Status> {
    fields::plain_text(&format!("{message}.SessionId"), id, 1, 200)
}

/// ZITADEL's code, id and text for each refusal.
#[must_use]
pub fn error(error: Error) -> Status {
    match error {
        Error::PermissionDenied => permission_denied(),
        Error::UserNotFound => {
            Status::with_id(Code::NotFound, "QUERY-Dfbg2", "User could not be found")
        }
        // The login app compares this text: ZITADEL has no translation for the key.
        Error::UserNotActive => Status::with_id(
            Code::FailedPrecondition,
            "SESSION-Gj4ko",
            "Errors.User.NotActive",
        ),
        Error::UserIdMissing => {
            Status::with_id(Code::FailedPrecondition, "COMMAND-Sfw3f", "User ID missing")
        }
        Error::UserChange => Status::invalid("user change not possible"),
        Error::UserLocked { failed_attempts } => Status::credentials(
            Code::FailedPrecondition,
            "COMMAND-JLK35",
            "User is locked",
            failed_attempts,
        ),
        Error::PasswordNotSet => Status::with_id(
            Code::FailedPrecondition,
            "COMMAND-3nJ4t",
            "User has not set a password",
        ),
        Error::Exhausted(exhausted) => Status::exhausted(&exhausted),
        Error::PasswordInvalid { failed_attempts } => Status::credentials(
            Code::InvalidArgument,
            "COMMAND-3M0fs",
            "Password is invalid",
            failed_attempts,
        ),
        Error::SessionNotFound => {
            Status::with_id(Code::NotFound, "QUERY-SFeaa", "Session does not exist")
        }
        Error::SessionExpired => Status::with_id(
            Code::FailedPrecondition,
            "COMMAND-Hkl3d",
            "Session has expired",
        ),
        Error::TokenDenied => {
            Status::with_id(Code::PermissionDenied, "QUERY-dsfr3", "Permission denied")
        }
        Error::TokenInvalid => Status::with_id(
            Code::PermissionDenied,
            "COMMAND-sGr42",
            "Session Token is invalid",
        ),
        Error::Failure(failure) => Status::failure(failure),
    }
}

/// Checks a CreateSession request.
///
/// # Errors
/// Code 3 for a field against its rule, 12 for a check or challenge rekey does not do.
pub fn create_input(request: CreateSessionRequest) -> Result<CreateInput, Status> {
    no_challenges(request.challenges.as_ref())?;
    Ok(CreateInput {
        checks: checks(request.checks)?,
        lifetime: lifetime("CreateSessionRequest", request.lifetime)?,
        user_agent: user_agent(request.user_agent),
        metadata: metadata(request.metadata),
    })
}

/// Runs CreateSession for `caller`.
///
/// # Errors
/// The refusal, as [`error`] maps it.
pub async fn create<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: CreateSessionRequest,
) -> Result<CreateSessionResponse, Status> {
    let input = create_input(request)?;
    let written = session::create(ports, caller, input).await.map_err(error)?;
    let Written {
        details,
        session_id,
        token,
    } = written;
    Ok(CreateSessionResponse {
        details: Some(fields::details(&details)),
        session_id,
        session_token: token.map(|t| t.expose().to_owned()).unwrap_or_default(),
        challenges: None,
    })
}

/// Checks a SetSession request. Its `sessionToken` is not needed (ZITADEL ignores it), and
/// not bounded, as the login app sends one longer than the proto's rule allows.
///
/// # Errors
/// As [`create_input`].
pub fn set_input(request: SetSessionRequest) -> Result<SetInput, Status> {
    no_challenges(request.challenges.as_ref())?;
    Ok(SetInput {
        session_id: session_id("SetSessionRequest", request.session_id)?,
        checks: checks(request.checks)?,
        lifetime: lifetime("SetSessionRequest", request.lifetime)?,
        metadata: metadata(request.metadata),
    })
}

/// Runs SetSession for `caller`.
///
/// # Errors
/// The refusal, as [`error`] maps it.
pub async fn set<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: SetSessionRequest,
) -> Result<SetSessionResponse, Status> {
    let input = set_input(request)?;
    let written = session::set(ports, caller, input).await.map_err(error)?;
    Ok(SetSessionResponse {
        details: Some(fields::details(&written.details)),
        session_token: written
            .token
            .map(|t| t.expose().to_owned())
            .unwrap_or_default(),
        challenges: None,
    })
}

/// Runs GetSession for `caller`.
///
/// # Errors
/// The refusal, as [`error`] maps it.
pub async fn get<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: GetSessionRequest,
) -> Result<GetSessionResponse, Status> {
    let id = session_id("GetSessionRequest", request.session_id)?;
    let token = request.session_token.map(BearerToken::new);
    let shown = session::get(ports, caller, &id, token.as_ref())
        .await
        .map_err(error)?;
    Ok(GetSessionResponse {
        session: Some(session_message(&shown)),
    })
}

/// Runs DeleteSession for `caller`.
///
/// # Errors
/// The refusal, as [`error`] maps it.
pub async fn delete<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: DeleteSessionRequest,
) -> Result<DeleteSessionResponse, Status> {
    let id = session_id("DeleteSessionRequest", request.session_id)?;
    let token = request.session_token.map(BearerToken::new);
    let details = session::delete(ports, caller, &id, token.as_ref())
        .await
        .map_err(error)?;
    Ok(DeleteSessionResponse {
        details: Some(fields::details(&details)),
    })
}

/// Checks a ListSessions request: ids, user and creator queries (all must hold), offset,
/// limit and order by creation.
///
/// # Errors
/// Code 3 for an id against its rule, 12 for a query rekey does not do.
pub fn list_input(caller: &Principal, request: ListSessionsRequest) -> Result<ListInput, Status> {
    let mut query = SessionQuery::default();
    if let Some(list) = request.query {
        query.offset = list.offset;
        query.limit = list.limit;
        query.ascending = list.asc;
    }
    for search in request.queries {
        match search.query {
            Some(Query::IdsQuery(ids)) => {
                let mut wanted = query.ids.take().unwrap_or_default();
                for id in ids.ids {
                    wanted.push(fields::plain_text("IDsQuery.Ids", id, 1, 200)?);
                }
                query.ids = Some(wanted);
            }
            Some(Query::UserIdQuery(user)) => {
                query.user_id = Some(fields::user_id("UserIDQuery.Id", user.id)?);
            }
            Some(Query::CreatorQuery(creator)) => {
                query.creator = Some(match creator.id {
                    Some(id) => fields::user_id("CreatorQuery.Id", id)?,
                    None => caller.user_id.clone(),
                });
            }
            Some(Query::CreationDateQuery(_)) => return Err(unsupported("creationDateQuery")),
            Some(Query::UserAgentQuery(_)) => return Err(unsupported("userAgentQuery")),
            Some(Query::ExpirationDateQuery(_)) => {
                return Err(unsupported("expirationDateQuery"));
            }
            None => {}
        }
    }
    Ok(ListInput { query })
}

/// Runs ListSessions for `caller`.
///
/// # Errors
/// The refusal, as [`error`] maps it.
pub async fn list<P: Ports>(
    ports: &P,
    caller: &Principal,
    request: ListSessionsRequest,
) -> Result<ListSessionsResponse, Status> {
    let input = list_input(caller, request)?;
    let (shown, total) = session::list(ports, caller, input).await.map_err(error)?;
    Ok(ListSessionsResponse {
        details: Some(object::ListDetails {
            total_result: total,
            processed_sequence: 0,
            timestamp: None,
        }),
        sessions: shown.iter().map(session_message).collect(),
    })
}

/// The `Session` message: `factors` only once a user was checked, `userAgent` only when the
/// UI described one, as ZITADEL fills them.
#[must_use]
pub fn session_message(shown: &Shown) -> proto::Session {
    let session = &shown.session;
    let factors = session.user.as_ref().map(|checked| {
        let display_name = shown
            .user
            .as_ref()
            .map_or_else(String::new, |user| match &user.kind {
                UserKind::Human(profile) => profile.display_name.clone(),
                UserKind::Machine { name } => name.clone(),
            });
        proto::Factors {
            user: Some(proto::UserFactor {
                verified_at: Some(fields::timestamp(checked.checked_at)),
                id: checked.id.as_str().to_owned(),
                login_name: shown
                    .user
                    .as_ref()
                    .map(|u| u.username.clone())
                    .unwrap_or_default(),
                display_name,
                organization_id: checked.org_id.as_str().to_owned(),
            }),
            password: session.password_checked_at.map(|at| proto::PasswordFactor {
                verified_at: Some(fields::timestamp(at)),
            }),
            ..proto::Factors::default()
        }
    });
    let agent = &session.user_agent;
    proto::Session {
        id: session.id.clone(),
        creation_date: Some(fields::timestamp(session.created_at)),
        change_date: Some(fields::timestamp(session.changed_at)),
        sequence: u64::try_from(session.sequence).unwrap_or(0),
        factors,
        metadata: session
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        user_agent: (!agent.is_empty()).then(|| proto::UserAgent {
            fingerprint_id: agent.fingerprint_id.clone(),
            ip: agent.ip.clone(),
            description: agent.description.clone(),
            header: agent
                .header
                .iter()
                .map(|(name, values)| {
                    (
                        name.clone(),
                        proto::user_agent::HeaderValues {
                            values: values.clone(),
                        },
                    )
                })
                .collect(),
        }),
        expiration_date: session.expires_at.map(fields::timestamp),
    }
}
