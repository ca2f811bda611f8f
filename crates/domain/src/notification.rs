//! How a reset code reaches its user.

use crate::UrlTemplate;

/// The channel for a reset link (`NOTIFICATION_TYPE_*` on the wire).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum NotificationType {
    /// `NOTIFICATION_TYPE_Email` (and `NOTIFICATION_TYPE_Unspecified`, which means email).
    #[default]
    Email,
    /// `NOTIFICATION_TYPE_SMS`.
    Sms,
}

impl NotificationType {
    /// `email` or `sms`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }
}

/// What a PasswordReset request asks for: a link sent to the user, or the code returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetMedium {
    /// Send a link; `url_template` overrides the default link.
    SendLink {
        /// Email or SMS.
        notification_type: NotificationType,
        /// The request's template, if it gave one.
        url_template: Option<UrlTemplate>,
    },
    /// Return the code to the caller; nothing is sent.
    ReturnCode,
}

impl Default for ResetMedium {
    /// An absent medium means: email, default link.
    fn default() -> Self {
        Self::SendLink {
            notification_type: NotificationType::Email,
            url_template: None,
        }
    }
}
