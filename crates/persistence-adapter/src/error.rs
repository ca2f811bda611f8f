//! Driver errors, mapped to the application's failures.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::PoolError;
use rekey_application::Failure;
use rekey_application::ports::StoreError;

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
/// `Unexpected` (500).
pub(crate) fn query_failure(error: DieselError) -> Failure {
    let transient = match &error {
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
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
    /// A unique constraint other than the event key.
    Duplicate(&'static str),
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

/// Names the unique constraint a violation hit, by the columns or constraint it reports
/// (PostgreSQL names the constraint; SQLite lists `table.column`s in the message).
/// `rules` maps a fragment to the name to report; the first match wins.
pub(crate) fn unique_violation(error: DieselError, rules: &[(&str, &'static str)]) -> TxError {
    if let DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) = &error {
        let text = format!(
            "{} {}",
            info.constraint_name().unwrap_or(""),
            info.message()
        );
        if let Some((_, name)) = rules.iter().find(|(fragment, _)| text.contains(fragment)) {
            return TxError::Duplicate(name);
        }
    }
    error.into()
}

/// Maps a failed event insert: its primary key taken means a concurrent append.
pub(crate) fn event_insert(error: DieselError) -> TxError {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => TxError::Conflict,
        other => other.into(),
    }
}
