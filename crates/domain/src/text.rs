//! Strings with a length bound measured in code points, as protoc-gen-validate measures "runes".

use std::fmt;

/// Why a bounded string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// The string has fewer or more code points than allowed.
    #[error("value length must be between {min} and {max} runes, inclusive")]
    Length {
        /// Smallest accepted length in code points.
        min: usize,
        /// Largest accepted length in code points.
        max: usize,
    },
}

/// A string of `MIN..=MAX` Unicode code points.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BoundedText<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> BoundedText<MIN, MAX> {
    /// Checks the length of `value` and wraps it.
    ///
    /// # Errors
    /// [`TextError::Length`] when `value` has fewer than `MIN` or more than `MAX` code points.
    pub fn new(value: impl Into<String>) -> Result<Self, TextError> {
        let value = value.into();
        let len = value.chars().count();
        if (MIN..=MAX).contains(&len) {
            Ok(Self(value))
        } else {
            Err(TextError::Length { min: MIN, max: MAX })
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const MIN: usize, const MAX: usize> fmt::Debug for BoundedText<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<const MIN: usize, const MAX: usize> fmt::Display for BoundedText<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A url template as a PasswordReset request carries it: 1..=200 code points.
///
/// Only the length is checked here; whether it parses and which placeholders it uses is the
/// business of the `LinkRenderer` port, because the syntax belongs to the rendering engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlTemplate(BoundedText<1, 200>);

impl UrlTemplate {
    /// The template text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl TryFrom<String> for UrlTemplate {
    type Error = TextError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        BoundedText::new(value).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_code_points_not_bytes() {
        assert!(BoundedText::<1, 3>::new("äöü").is_ok());
        assert_eq!(
            BoundedText::<1, 3>::new("äöüß"),
            Err(TextError::Length { min: 1, max: 3 })
        );
        assert!(BoundedText::<1, 3>::new("").is_err());
    }

    #[test]
    fn url_template_bounds() {
        assert!(UrlTemplate::try_from(String::new()).is_err());
        assert!(UrlTemplate::try_from("x".repeat(200)).is_ok());
        assert!(UrlTemplate::try_from("x".repeat(201)).is_err());
    }
}
