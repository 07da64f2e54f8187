//! A string that must never be printed: app secrets, refresh and access tokens.
//!
//! `Debug` and `Display` print `***`, so a secret that ends up in a log line, an
//! error message or a derived `Debug` of a config struct shows nothing. The only way
//! to the text is [`Secret::expose`], which the HTTP layer calls when it builds a
//! request; grepping for `expose` finds every place a secret leaves the program.

use std::fmt;

/// A secret string (app secret, refresh token, access token).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `s`.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret's text, for building a request or writing the credentials file.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of this secret in `text` with `***`; for text that
    /// came from elsewhere (a server's error body) and is about to be shown.
    pub fn redact(&self, text: &str) -> String {
        if self.0.len() < 4 {
            // Too short to be a real secret; redacting it would mangle ordinary text.
            return text.to_owned();
        }
        text.replace(&self.0, "***")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_text() {
        let s = Secret::new("sl.very-secret-token");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        #[derive(Debug)]
        #[allow(dead_code)] // only read through Debug
        struct Holder {
            token: Secret,
        }
        let h = Holder { token: s.clone() };
        assert!(!format!("{h:?}").contains("very-secret"));
        assert_eq!(s.expose(), "sl.very-secret-token");
    }

    #[test]
    fn redact_replaces_every_occurrence() {
        let s = Secret::new("abcd1234");
        assert_eq!(s.redact("x abcd1234 y abcd1234"), "x *** y ***");
    }
}
