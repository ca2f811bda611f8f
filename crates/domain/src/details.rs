//! The `details` object every mutating RPC answers with.

use chrono::{DateTime, Utc};

use crate::OrgId;

/// `details {sequence, changeDate, resourceOwner}`: where an aggregate stands after a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    /// The aggregate's sequence after the change.
    pub sequence: i64,
    /// When the change's event was recorded.
    pub change_date: DateTime<Utc>,
    /// The organization that owns the aggregate.
    pub resource_owner: OrgId,
}
