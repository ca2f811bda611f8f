//! Password strength: zxcvbn's estimate of how many guesses a password takes.

use rekey_application::ports::PasswordStrength;
use rekey_domain::Password;

/// zxcvbn (Dropbox's estimator): scores 0..=4 by estimated guesses, counting the user's own
/// words as known.
#[derive(Debug, Clone, Copy, Default)]
pub struct ZxcvbnStrength;

impl PasswordStrength for ZxcvbnStrength {
    fn estimate(&self, password: &Password, user_inputs: &[&str]) -> (u8, Option<String>) {
        // zxcvbn's cost grows with length; the policy caps passwords at 200 code points, and
        // beyond 100 the estimate is maximal anyway.
        let text: String = password.expose().chars().take(100).collect();
        let entropy = zxcvbn::zxcvbn(&text, user_inputs);
        let warning = entropy
            .feedback()
            .and_then(zxcvbn::feedback::Feedback::warning)
            .map(|w| w.to_string());
        (entropy.score() as u8, warning)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_and_personal_passwords_score_low() {
        let score = |pw: &str, words: &[&str]| ZxcvbnStrength.estimate(&Password::new(pw), words).0;
        assert!(score("Password1!", &[]) < 3);
        assert!(score("Kq7#vX2!mRt9", &[]) >= 3);
        assert!(score("Lovelace1815!", &["lovelace"]) < score("Lovelace1815!", &[]));
        let (low, warning) = ZxcvbnStrength.estimate(&Password::new("qwerty123"), &[]);
        assert!(low <= 1 && warning.is_some());
    }
}
