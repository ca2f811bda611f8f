//! Driver errors, mapped to the application's failures.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::PoolError;
use rekey_application::Failure;
use rekey_application::ports::{StoreError, Taken};

/// A pool that could not hand out a connection: the database is unreachable.
pub(crate) fn pool_failure(error: bb8::RunError<PoolError>) -> Failure {
    Failure::Unavailable(format!("database connection: {error}"))
}

/// What a server or connection says when it is going away or not there; the request may work
/// again later (PostgreSQL's admin shutdown, a reset socket, SQLite's busy lock).
const TRANSIENT: [&str; 10] = [
    "connection closed",
    "terminating connection",
    "connection reset",
    "connection refused",
    "broken pipe",
    "server closed the connection",
    "the database system is shutting down",
    "the database system is starting up",
    "error communicating with the server",
    "database is locked",
];

/// A query failed. Connection-level failures are `Unavailable` (503, retry), the rest
/// `Unexpected` (500). A read-only server also has the pools drop their connections
/// ([`crate::pg_pools::PgManager`]).
pub(crate) fn query_failure(error: DieselError) -> Failure {
    if let DieselError::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _) = &error {
        crate::pg_pools::met_read_only_server();
    }
    let transient = match &error {
        // A read-only transaction: the server is a standby, or was made read-only; a write
        // may work again once a primary takes over.
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection
            | DatabaseErrorKind::UnableToSendCommand
            | DatabaseErrorKind::ReadOnlyTransaction,
            _,
        ) => true,
        DieselError::DatabaseError(_, info) => {
            let message = info.message().to_lowercase();
            TRANSIENT.iter().any(|t| message.contains(t))
        }
        other => {
            let message = other.to_string().to_lowercase();
            TRANSIENT.iter().any(|t| message.contains(t))
        }
    };
    if transient {
        Failure::Unavailable(format!("database unavailable: {error}"))
    } else {
        Failure::Unexpected(format!("database query: {error}"))
    }
}

/// Errors inside a write transaction. Any of them rolls the transaction back.
#[derive(Debug)]
pub(crate) enum TxError {
    /// The guarded update found another sequence, or the event's key was taken.
    Conflict,
    /// A new organization's or user's unique key.
    Duplicate(Taken),
    /// Anything else.
    Failure(Failure),
}

impl From<DieselError> for TxError {
    fn from(error: DieselError) -> Self {
        Self::Failure(query_failure(error))
    }
}

impl From<Failure> for TxError {
    fn from(failure: Failure) -> Self {
        Self::Failure(failure)
    }
}

impl From<TxError> for StoreError {
    fn from(error: TxError) -> Self {
        match error {
            TxError::Conflict => Self::Conflict,
            TxError::Duplicate(what) => Self::Duplicate(what),
            TxError::Failure(failure) => Self::Failure(failure),
        }
    }
}

/// The unique keys of new organizations and users, as each backend names them: PostgreSQL
/// reports the constraint, SQLite a message listing the columns. Matched exactly, never by a
/// fragment, so a violation of any other constraint stays a failure.
const TAKEN: [(&str, &str, Taken); 4] = [
    (
        "organizations_name_unique",
        "UNIQUE constraint failed: organizations.name",
        Taken::OrgName,
    ),
    (
        "organizations_pkey",
        "UNIQUE constraint failed: organizations.id",
        Taken::OrgId,
    ),
    (
        "users_username_unique",
        "UNIQUE constraint failed: users.org_id, users.username",
        Taken::Username,
    ),
    (
        "users_pkey",
        "UNIQUE constraint failed: users.id",
        Taken::UserId,
    ),
];

/// Maps a failed insert of a new organization or user: which of its unique keys is taken.
pub(crate) fn unique_violation(error: DieselError) -> TxError {
    if let DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) = &error {
        let found = TAKEN.iter().find(|(constraint, message, _)| {
            info.constraint_name() == Some(*constraint) || info.message() == *message
        });
        if let Some((_, _, taken)) = found {
            return TxError::Duplicate(*taken);
        }
    }
    error.into()
}

/// Maps a failed outbox insert: its idempotency key (user and sequence) taken means a
/// concurrent change to the same user got there first, a conflict like a moved sequence.
pub(crate) fn outbox_insert(error: DieselError) -> TxError {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => TxError::Conflict,
        other => other.into(),
    }
}

/// Maps a failed event insert: its primary key taken means a concurrent append.
pub(crate) fn event_insert(error: DieselError) -> TxError {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => TxError::Conflict,
        other => other.into(),
    }
}
