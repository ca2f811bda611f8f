//! Sessions: a login UI's record that it identified a user and checked the user's password, as
//! ZITADEL's Session Service keeps it (password-only: no passkeys, OTP or identity providers).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use crate::{OrgId, TokenHash, UserId, UserState};

/// The user a session checked: the user factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedUser {
    /// The user.
    pub id: UserId,
    /// The user's organization.
    pub org_id: OrgId,
    /// When the user was checked.
    pub checked_at: DateTime<Utc>,
}

/// What the login UI tells about the browser, stored as given (`userAgent`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UserAgent {
    /// The login UI's fingerprint of the browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint_id: Option<String>,
    /// The browser's IP address; an unparsable one is dropped, as ZITADEL does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// A description, e.g. "Firefox on Linux".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Request headers the UI passed on.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub header: BTreeMap<String, Vec<String>>,
}

impl UserAgent {
    /// Whether nothing was given (ZITADEL then leaves `userAgent` out of the session).
    pub fn is_empty(&self) -> bool {
        self.fingerprint_id.is_none()
            && self.ip.is_none()
            && self.description.is_none()
            && self.header.is_empty()
    }
}

/// A session as the stores load it: the aggregate Create/SetSession act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Id (a numeric id, like every id rekey makes).
    pub id: String,
    /// The aggregate's sequence: the number of events recorded for it.
    pub sequence: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its last event was recorded.
    pub changed_at: DateTime<Utc>,
    /// Who created it (the login UI's service user, usually).
    pub creator: UserId,
    /// The user factor, once a user was checked.
    pub user: Option<CheckedUser>,
    /// When the password was last checked; cleared when the user's password changes.
    pub password_checked_at: Option<DateTime<Utc>>,
    /// When it expires; `None` = never (no `lifetime` given).
    pub expires_at: Option<DateTime<Utc>>,
    /// The browser, as the UI described it.
    pub user_agent: UserAgent,
    /// The UI's own key-value data.
    pub metadata: BTreeMap<String, Vec<u8>>,
    /// The fingerprint of its current token; every change makes a new token.
    pub token: TokenHash,
}

impl Session {
    /// Whether it has expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// Checks a session's `lifetime`: more than zero, and not so long that its end overflows.
///
/// # Errors
/// [`LifetimeError`] for zero, a negative lifetime or one over 100 years.
pub fn session_lifetime(seconds: i64, nanos: i32) -> Result<TimeDelta, LifetimeError> {
    const MAX_SECONDS: i64 = 100 * 365 * 24 * 3600;
    if seconds < 0 || nanos < 0 || (seconds == 0 && nanos == 0) {
        return Err(LifetimeError::NotPositive);
    }
    if seconds > MAX_SECONDS {
        return Err(LifetimeError::TooLong);
    }
    let nanos = u32::try_from(nanos).map_err(|_| LifetimeError::NotPositive)?;
    TimeDelta::new(seconds, nanos).ok_or(LifetimeError::NotPositive)
}

/// Why a session's `lifetime` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LifetimeError {
    /// Zero or negative.
    #[error("value must be greater than 0s")]
    NotPositive,
    /// Over 100 years.
    #[error("value must be at most 100 years")]
    TooLong,
}

/// ZITADEL's lockout policy: how many wrong passwords in a row lock a user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Wrong passwords in a row that lock the user; 0 = never (ZITADEL's default).
    pub max_password_attempts: u32,
}

impl LockoutPolicy {
    /// Whether the `attempts`-th wrong password in a row locks the user.
    pub fn locks_at(self, attempts: u32) -> bool {
        self.max_password_attempts > 0 && attempts >= self.max_password_attempts
    }
}

impl UserState {
    /// Whether a session may check this user (ZITADEL's `IsEnabled`: active or initial).
    pub fn may_log_in(self) -> bool {
        matches!(self, Self::Active | Self::Initial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_positive_and_bounded() {
        assert_eq!(session_lifetime(18_000, 0), Ok(TimeDelta::hours(5)));
        assert_eq!(session_lifetime(0, 1), Ok(TimeDelta::nanoseconds(1)));
        assert_eq!(session_lifetime(0, 0), Err(LifetimeError::NotPositive));
        assert_eq!(session_lifetime(-1, 0), Err(LifetimeError::NotPositive));
        assert_eq!(
            session_lifetime(i64::MAX, 0),
            Err(LifetimeError::TooLong),
            "would overflow a timestamp"
        );
    }

    #[test]
    fn lockout_is_off_at_zero_and_locks_at_the_maximum() {
        let off = LockoutPolicy::default();
        assert!(!off.locks_at(1_000));
        let three = LockoutPolicy {
            max_password_attempts: 3,
        };
        assert!(!three.locks_at(2));
        assert!(three.locks_at(3));
    }

    #[test]
    fn only_active_and_initial_users_may_log_in() {
        assert!(UserState::Active.may_log_in());
        assert!(UserState::Initial.may_log_in());
        for state in [UserState::Inactive, UserState::Locked, UserState::Deleted] {
            assert!(!state.may_log_in(), "{state:?}");
        }
    }

    #[test]
    fn expiry_is_inclusive_and_optional() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let mut session = Session {
            id: "1".into(),
            sequence: 1,
            created_at: at,
            changed_at: at,
            creator: "c".parse().expect("id"),
            user: None,
            password_checked_at: None,
            expires_at: None,
            user_agent: UserAgent::default(),
            metadata: BTreeMap::new(),
            token: TokenHash("h".into()),
        };
        assert!(!session.is_expired(at + TimeDelta::days(36_500)));
        session.expires_at = Some(at + TimeDelta::seconds(1));
        assert!(!session.is_expired(at));
        assert!(session.is_expired(at + TimeDelta::seconds(1)));
    }
}
