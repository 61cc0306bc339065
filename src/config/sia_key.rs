//! A receiving centre's AES key (SIA DC-09 encryption), as `[[channels]]` gives it: text
//! or hex digits, checked where the configuration is read so `check-config` names the key
//! to fix; [`crate::channels::sia`] encrypts with it.

/// An AES key of 16, 24 or 32 bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SiaKey(Vec<u8>);

impl std::fmt::Debug for SiaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SiaKey(AES-{}, <redacted>)", self.0.len() * 8)
    }
}

impl SiaKey {
    /// From the hex string installers are given (32, 48 or 64 hex digits).
    pub fn from_hex(hex_key: &str) -> Result<SiaKey, String> {
        let bytes = hex::decode(hex_key.trim()).map_err(|e| format!("key is not hex: {e}"))?;
        match bytes.len() {
            16 | 24 | 32 => Ok(SiaKey(bytes)),
            n => Err(format!("key is {n} bytes; AES needs 16, 24 or 32")),
        }
    }

    /// From a key written as text (16, 24 or 32 ASCII characters), as pysiaalarm and Home
    /// Assistant take it.
    pub fn from_text(text: &str) -> Result<SiaKey, String> {
        let bytes = text.as_bytes().to_vec();
        match bytes.len() {
            16 | 24 | 32 if text.is_ascii() => Ok(SiaKey(bytes)),
            n => Err(format!(
                "key text is {n} bytes; AES needs 16, 24 or 32 ASCII characters"
            )),
        }
    }

    /// A channel's key: `key` (text) or `key_hex` (hex digits), never both; `None` for
    /// an account in clear. The error names the key to fix and says what it must be.
    pub fn of_channel(
        channel: &super::SiaChannel,
    ) -> Result<Option<SiaKey>, (&'static str, String)> {
        match (&channel.key, &channel.key_hex) {
            (Some(_), Some(_)) => Err((
                "key_hex",
                "give the AES key once: `key` as text or `key_hex` as hex digits, not both".into(),
            )),
            (Some(text), None) => SiaKey::from_text(text.expose()).map(Some).map_err(|e| {
                let hint = if text.expose().chars().all(|c| c.is_ascii_hexdigit()) {
                    "; for hex digits write key_hex"
                } else {
                    ""
                };
                (
                    "key",
                    format!(
                        "{e}: `key` is the AES key as text, 16, 24 or 32 characters \
                         (AES-128/192/256), as pysiaalarm and Home Assistant take it{hint}"
                    ),
                )
            }),
            (None, Some(hex_key)) => SiaKey::from_hex(hex_key.expose()).map(Some).map_err(|e| {
                (
                    "key_hex",
                    format!(
                        "{e}: `key_hex` is the AES key as 32, 48 or 64 hex digits \
                         (AES-128/192/256)"
                    ),
                )
            }),
            (None, None) => Ok(None),
        }
    }

    /// The key's bytes, for the cipher.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}
