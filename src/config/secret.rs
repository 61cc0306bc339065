//! Secrets (passwords, keys) that must never reach a log line or an error message.
//!
//! A secret may be written inline, read from a `*_file` key, or taken from a `*_env`
//! environment variable; [`resolve`] turns the three into one value and reports a missing
//! file or variable by its key and path, never by its content.

use serde::Deserialize;
use std::fmt;
use std::path::Path;

/// A secret string whose `Debug` and `Display` print `<redacted>`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value read from somewhere safe.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it (a login, a TLS key).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where one secret may come from: the three keys `NAME`, `NAME_file`, `NAME_env`.
pub struct SecretKeys<'a> {
    /// Inline value of `NAME`.
    pub inline: Option<&'a Secret>,
    /// Path in `NAME_file`.
    pub file: Option<&'a Path>,
    /// Variable name in `NAME_env`.
    pub env: Option<&'a str>,
}

/// Turns the three possible keys into one secret. `Err` holds a message that names the
/// key to fix; it never contains the secret.
pub fn resolve(name: &str, keys: SecretKeys<'_>) -> Result<Option<Secret>, String> {
    let given = [
        keys.inline.is_some(),
        keys.file.is_some(),
        keys.env.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(format!(
            "give only one of `{name}`, `{name}_file`, `{name}_env`"
        ));
    }
    if let Some(secret) = keys.inline {
        return Ok(Some(secret.clone()));
    }
    if let Some(path) = keys.file {
        return match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(Secret::new(text.trim_end_matches(['\r', '\n'])))),
            Err(err) => Err(format!("cannot read {}: {err}", path.display())),
        };
    }
    if let Some(var) = keys.env {
        return match std::env::var(var) {
            Ok(value) => Ok(Some(Secret::new(value))),
            Err(_) => Err(format!(
                "environment variable {var} is not set (or not UTF-8)"
            )),
        };
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(format!("{s}"), "<redacted>");
    }

    #[test]
    fn file_secret_is_read_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").unwrap();
        let got = resolve(
            "password",
            SecretKeys {
                inline: None,
                file: Some(&path),
                env: None,
            },
        )
        .unwrap()
        .unwrap();
        assert_eq!(got.expose(), "s3cret");
    }

    #[test]
    fn two_sources_for_one_secret_is_an_error() {
        let inline = Secret::new("a");
        let err = resolve(
            "password",
            SecretKeys {
                inline: Some(&inline),
                file: None,
                env: Some("X"),
            },
        )
        .unwrap_err();
        assert!(err.contains("only one of"), "{err}");
        assert!(!err.contains('a') || !err.contains("\"a\""));
    }
}
