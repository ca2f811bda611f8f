//! The failures every use case shares: the infrastructure is down, or something unexpected.

/// An infrastructure failure, already stripped of driver types by the adapter that saw it.
///
/// The text is for the log, written once where the failure is handled; it never reaches a
/// response body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// A dependency (the database) cannot be reached now; the request may be retried.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected state.
    #[error("unexpected: {0}")]
    Unexpected(String),
}
