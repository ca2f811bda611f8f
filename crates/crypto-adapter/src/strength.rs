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

    /// Words from each of zxcvbn's dictionaries (common passwords, English, first names,
    /// surnames, TV and film) and keyboard, sequence and repeat patterns.
    const BASES: &str = "password dragon monkey football iloveyou trustno1 letmein sunshine \
        princess qwerty baseball shadow michael jennifer smith johnson garcia elizabeth margaret \
        robert christopher simpsons starwars matrix seinfeld friends house beautiful computer \
        nothing government lovelace correcthorse battery staple zxcvbnm asdfgh 1qaz2wsx abcdef \
        aaaaaa 19841984 12345678 7777777 hello world summer winter dolphin master whatever";

    /// Each base as typed, capitalised with a suffix, in l33t, reversed, with a year, joined to
    /// the next base, behind a random prefix; then a few whole passwords, some with the
    /// user's own words.
    fn corpus() -> Vec<(String, Vec<&'static str>)> {
        let l33t = |w: &str| {
            w.chars()
                .map(|c| match c {
                    'a' => '@',
                    'e' => '3',
                    'o' => '0',
                    's' => '$',
                    'i' => '1',
                    other => other,
                })
                .collect::<String>()
        };
        let bases: Vec<&str> = BASES.split_whitespace().collect();
        let mut corpus = Vec::new();
        for (i, base) in bases.iter().enumerate() {
            let next = bases[(i + 1) % bases.len()];
            let mut capital = base.to_string();
            capital[..1].make_ascii_uppercase();
            for password in [
                base.to_string(),
                format!("{capital}1!"),
                l33t(base),
                base.chars().rev().collect(),
                format!("{base}2019"),
                format!("{base}{next}"),
                format!("Kq7#{base}"),
            ] {
                corpus.push((password, vec![]));
            }
        }
        for (password, inputs) in [
            ("Tr0ub4dor&3", vec![]),
            ("correct horse battery staple", vec![]),
            ("Kq7#vX2!mRt9", vec![]),
            ("N3w-Passw0rd!x", vec![]),
            ("qwertyuiop123", vec![]),
            ("01/02/1984", vec![]),
            ("abcabcabcabc", vec![]),
            ("zaq1ZAQ!xsw2", vec![]),
            ("Lovelace1815!", vec!["lovelace"]),
            (
                "ada.lovelace@example.com",
                vec!["ada", "lovelace", "alovelace"],
            ),
            ("byron-augusta-1815", vec!["byron"]),
        ] {
            corpus.push((password.to_string(), inputs));
        }
        corpus
    }

    /// The score and guesses of every corpus password, against the committed copy made with
    /// upstream zxcvbn 3.1.1: rekey builds a patched zxcvbn (vendor/zxcvbn) whose word lists
    /// take an index of their own instead of hash maps, and it must estimate exactly as upstream.
    /// `REKEY_BLESS=1` rewrites the copy (after a deliberate zxcvbn upgrade).
    #[test]
    fn estimates_match_upstream_zxcvbn() {
        let fresh: String = corpus()
            .iter()
            .map(|(password, inputs)| {
                let entropy = zxcvbn::zxcvbn(password, inputs);
                format!(
                    "{password}\t{}\t{:.6}\n",
                    entropy.score() as u8,
                    entropy.guesses_log10()
                )
            })
            .collect();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/strength_upstream.tsv");
        if std::env::var_os("REKEY_BLESS").is_some() {
            std::fs::write(path, &fresh).expect("write the committed copy");
            return;
        }
        let committed = std::fs::read_to_string(path).expect("the committed copy");
        for (line, (fresh, committed)) in fresh.lines().zip(committed.lines()).enumerate() {
            assert_eq!(fresh, committed, "line {}", line + 1);
        }
        assert_eq!(fresh.lines().count(), committed.lines().count());
    }
}
