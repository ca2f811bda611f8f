//! Users and organizations, and the rules a password reset checks against them.

use chrono::{DateTime, Utc};

use crate::{BoundedText, Email, NotificationType, OrgId, Phone, TextError, UserId};

/// A login name, unique within its organization: 1..=200 code points.
pub type Username = BoundedText<1, 200>;

/// An organization's name, unique in the instance: 1..=200 code points.
pub type OrgName = BoundedText<1, 200>;

/// A language tag such as `de` or `en-US` (letters, digits and `-`, at most 35 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Language(String);

impl Language {
    /// Checks and wraps a language tag.
    ///
    /// # Errors
    /// [`TextError::Length`] for an empty or over-long tag or one with other characters.
    pub fn new(tag: &str) -> Result<Self, TextError> {
        let valid = !tag.is_empty()
            && tag.len() <= 35
            && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && tag.as_bytes()[0].is_ascii_alphabetic();
        if valid {
            Ok(Self(tag.to_owned()))
        } else {
            Err(TextError::Length { min: 1, max: 35 })
        }
    }

    /// The tag.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The life-cycle state of a user (`USER_STATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserState {
    /// Created, but not yet initialized (no password, unverified): may not reset.
    Initial,
    /// In normal use.
    Active,
    /// Deactivated by an administrator.
    Inactive,
    /// Locked, e.g. after too many failed logins.
    Locked,
    /// Removed; behaves as if it did not exist.
    Deleted,
}

impl UserState {
    /// The stored name: `initial`, `active`, `inactive`, `locked`, `deleted`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initial => "initial",
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Locked => "locked",
            Self::Deleted => "deleted",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Initial,
            Self::Active,
            Self::Inactive,
            Self::Locked,
            Self::Deleted,
        ]
        .into_iter()
        .find(|state| state.as_str() == name)
    }
}

/// The profile and contacts of a human user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HumanProfile {
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Display name; defaults to "given family".
    pub display_name: String,
    /// Preferred language for messages, if known.
    pub preferred_language: Option<Language>,
    /// Email address.
    pub email: Email,
    /// Whether the email was verified.
    pub email_verified: bool,
    /// Phone number, if any.
    pub phone: Option<Phone>,
    /// Whether the phone was verified.
    pub phone_verified: bool,
    /// Whether the user must change the password at next login.
    pub password_change_required: bool,
    /// When the password was last changed.
    pub password_changed: Option<DateTime<Utc>>,
}

/// Where a reset link goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// An email address.
    Email(Email),
    /// A phone number.
    Phone(Phone),
}

impl Recipient {
    /// The address itself.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Email(email) => email.as_str(),
            Self::Phone(phone) => phone.as_str(),
        }
    }

    /// The address masked for logs and listings.
    pub fn masked(&self) -> String {
        match self {
            Self::Email(email) => email.masked(),
            Self::Phone(phone) => phone.masked(),
        }
    }
}

impl HumanProfile {
    /// The address a link of `channel` goes to, verified or not (as ZITADEL does); `None`
    /// when the user has no such address.
    pub fn recipient(&self, channel: NotificationType) -> Option<Recipient> {
        match channel {
            NotificationType::Email => Some(Recipient::Email(self.email.clone())),
            NotificationType::Sms => self.phone.clone().map(Recipient::Phone),
        }
    }
}

/// Human or machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKind {
    /// A person, who can reset a password.
    Human(HumanProfile),
    /// A service account; it has no password to reset.
    Machine {
        /// Its name.
        name: String,
    },
}

/// A user as the stores load it: the aggregate a reset acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Organization (resource owner).
    pub org_id: OrgId,
    /// Login name, unique in the organization.
    pub username: String,
    /// Life-cycle state.
    pub state: UserState,
    /// Human or machine.
    pub kind: UserKind,
    /// The aggregate's sequence: the number of events recorded for it.
    pub sequence: i64,
    /// Wrong passwords in a row since the last right one (or the last password change).
    pub failed_password_attempts: u32,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
    /// When the last event was recorded.
    pub changed_at: DateTime<Utc>,
}

impl User {
    /// Whether the user exists: every state but deleted (a deleted user's id stays taken).
    pub fn exists(&self) -> bool {
        self.state != UserState::Deleted
    }

    /// The human profile, if this is a human that exists (not deleted).
    pub fn live_human(&self) -> Option<&HumanProfile> {
        match (&self.kind, self.state) {
            (_, UserState::Deleted) => None,
            (UserKind::Human(profile), _) => Some(profile),
            (UserKind::Machine { .. }, _) => None,
        }
    }

    /// `loginNames`: the username; rekey has no organization domains yet.
    pub fn login_names(&self) -> Vec<String> {
        vec![self.username.clone()]
    }
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Id.
    pub id: OrgId,
    /// Name, unique in the instance.
    pub name: String,
    /// The aggregate's sequence.
    pub sequence: i64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn human(phone: Option<&str>) -> HumanProfile {
        HumanProfile {
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            display_name: "Ada Lovelace".into(),
            preferred_language: None,
            email: "ada@example.com".parse().expect("email"),
            email_verified: false,
            phone: phone.map(|p| p.parse().expect("phone")),
            phone_verified: false,
            password_change_required: false,
            password_changed: None,
        }
    }

    #[test]
    fn recipients_follow_the_channel() {
        let with_phone = human(Some("+41791234567"));
        assert!(matches!(
            with_phone.recipient(NotificationType::Sms),
            Some(Recipient::Phone(_))
        ));
        assert!(matches!(
            with_phone.recipient(NotificationType::Email),
            Some(Recipient::Email(_))
        ));
        assert_eq!(human(None).recipient(NotificationType::Sms), None);
    }

    #[test]
    fn deleted_and_machine_users_are_not_live_humans() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let mut user = User {
            id: "u".parse().expect("id"),
            org_id: "o".parse().expect("id"),
            username: "ada".into(),
            state: UserState::Locked,
            kind: UserKind::Human(human(None)),
            sequence: 1,
            failed_password_attempts: 0,
            created_at: now,
            changed_at: now,
        };
        assert!(user.live_human().is_some(), "locked users still reset");
        user.state = UserState::Deleted;
        assert!(user.live_human().is_none());
        user.state = UserState::Active;
        user.kind = UserKind::Machine { name: "bot".into() };
        assert!(user.live_human().is_none());
    }

    #[test]
    fn states_and_languages_parse() {
        for state in ["initial", "active", "inactive", "locked", "deleted"] {
            assert_eq!(UserState::parse(state).map(UserState::as_str), Some(state));
        }
        assert!(Language::new("de").is_ok());
        assert!(Language::new("en-US").is_ok());
        assert!(Language::new("").is_err());
        assert!(Language::new("1de").is_err());
        assert!(Language::new("de DE").is_err());
    }
}
