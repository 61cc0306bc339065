//! Links to an alarm's evidence, for notices planned before the evidence exists.
//!
//! A notice is planned when its alarm is committed; the clip is written seconds later.
//! So each notice names the evidence it will have by a deterministic address,
//! `<public_url>/evidence/<alarm>/<camera>.<mp4|jpg>`, signed with a key only this
//! gateway holds, so that the address can be followed by whoever received the notice and
//! guessed by nobody else. The web server checks the signature and serves the file
//! recorded in the journal for that alarm and camera.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use rand::RngExt;
use sha2::Sha256;

use crate::config::Config;

use super::notice::Evidence;

/// Bytes of the signing key.
const KEY_BYTES: usize = 32;
/// Hex digits of the signature kept in a link (128 bits).
const SIGNATURE_HEX: usize = 32;

/// The kinds of evidence a camera gives an alarm, with their file extensions.
pub const EVIDENCE_KINDS: [(&str, &str); 2] = [("clip", "mp4"), ("snapshot", "jpg")];

/// Why the signing key could not be had.
#[derive(Debug, thiserror::Error)]
#[error("evidence link key {path}: {source}")]
pub struct LinkKeyError {
    /// The key file.
    pub path: String,
    /// What the system said.
    pub source: std::io::Error,
}

/// Signs and checks evidence addresses.
#[derive(Clone)]
pub struct EvidenceLinks {
    /// `web.public_url` without a trailing slash.
    base: String,
    /// HMAC-SHA256 key.
    key: Vec<u8>,
}

impl std::fmt::Debug for EvidenceLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvidenceLinks")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl EvidenceLinks {
    /// Links under `base`, signed with `key`.
    pub fn new(base: &str, key: Vec<u8>) -> EvidenceLinks {
        EvidenceLinks {
            base: base.trim_end_matches('/').to_string(),
            key,
        }
    }

    /// Reads the key at `path`, or makes one (readable by the owner only) when there is
    /// none, so links stay valid across restarts.
    pub fn load_or_create_key(path: &Path) -> Result<Vec<u8>, LinkKeyError> {
        let err = |source| LinkKeyError {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read(path) {
            Ok(key) if key.len() == KEY_BYTES => return Ok(key),
            Ok(_) => {
                return Err(err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("expected {KEY_BYTES} bytes; delete the file to make a new key"),
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err(e)),
        }
        let mut key = vec![0u8; KEY_BYTES];
        rand::rng().fill(&mut key[..]);
        let partial = path.with_extension("partial");
        let mut file = open_private(&partial).map_err(err)?;
        file.write_all(&key).map_err(err)?;
        file.sync_all().map_err(err)?;
        std::fs::rename(&partial, path).map_err(err)?;
        Ok(key)
    }

    /// The MAC over one evidence file's address.
    fn mac(&self, alarm: u64, file: &str) -> Option<Hmac<Sha256>> {
        // HMAC takes keys of any length, so this never fails.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).ok()?;
        mac.update(format!("{alarm}/{file}").as_bytes());
        Some(mac)
    }

    /// The signature of one evidence file's address: the MAC's first 128 bits, in hex.
    fn signature(&self, alarm: u64, file: &str) -> String {
        let Some(mac) = self.mac(alarm, file) else {
            return String::new();
        };
        let mut sig = hex::encode(mac.finalize().into_bytes());
        sig.truncate(SIGNATURE_HEX);
        sig
    }

    /// The signed address of `file` (`<camera>.<ext>`) of `alarm`.
    pub fn url(&self, alarm: u64, file: &str) -> String {
        format!(
            "{}/evidence/{alarm}/{file}?sig={}",
            self.base,
            self.signature(alarm, file)
        )
    }

    /// Whether `sig` is this gateway's signature of the address (compared in constant
    /// time by the `hmac` crate).
    pub fn verify(&self, alarm: u64, file: &str, sig: &str) -> bool {
        match (hex::decode(sig), self.mac(alarm, file)) {
            (Ok(tag), Some(mac)) if tag.len() * 2 == SIGNATURE_HEX => {
                mac.verify_truncated_left(&tag).is_ok()
            }
            _ => false,
        }
    }
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

/// Which evidence each alarm's notices list: one clip and one snapshot per camera that
/// covers the alarm's zone.
#[derive(Debug, Clone)]
pub struct EvidencePlan {
    /// Signs the addresses, when the gateway has a public one.
    links: Option<EvidenceLinks>,
    /// Camera ids by zone id.
    cameras_by_zone: BTreeMap<String, Vec<String>>,
}

impl EvidencePlan {
    /// The plan for the configured cameras, with addresses signed by `links`.
    pub fn new(config: &Config, links: Option<EvidenceLinks>) -> EvidencePlan {
        let mut cameras_by_zone: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for camera in &config.cameras {
            for zone in &camera.zones {
                cameras_by_zone
                    .entry(zone.clone())
                    .or_default()
                    .push(camera.id.clone());
            }
        }
        EvidencePlan {
            links,
            cameras_by_zone,
        }
    }

    /// The evidence an alarm in `zone` will have.
    pub fn for_alarm(&self, alarm: u64, zone: Option<&str>) -> Vec<Evidence> {
        let Some(cameras) = zone.and_then(|z| self.cameras_by_zone.get(z)) else {
            return Vec::new();
        };
        cameras
            .iter()
            .flat_map(|camera| {
                EVIDENCE_KINDS.iter().map(move |(kind, ext)| Evidence {
                    kind: (*kind).to_string(),
                    camera: camera.clone(),
                    url: self
                        .links
                        .as_ref()
                        .map(|l| l.url(alarm, &format!("{camera}.{ext}"))),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_verifies_and_a_changed_one_does_not() {
        let links = EvidenceLinks::new("https://gate.example/", vec![7; KEY_BYTES]);
        let url = links.url(12, "gate.mp4");
        assert!(url.starts_with("https://gate.example/evidence/12/gate.mp4?sig="));
        let sig = url.rsplit('=').next().unwrap_or_default();
        assert!(links.verify(12, "gate.mp4", sig));
        assert!(!links.verify(13, "gate.mp4", sig));
        assert!(!links.verify(12, "fence.mp4", sig));
        assert!(!links.verify(12, "gate.jpg", sig));
        let other = EvidenceLinks::new("https://gate.example", vec![8; KEY_BYTES]);
        assert!(!other.verify(12, "gate.mp4", sig));
    }

    #[test]
    fn the_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("links.key");
        let first = EvidenceLinks::load_or_create_key(&path).expect("made");
        let again = EvidenceLinks::load_or_create_key(&path).expect("read");
        assert_eq!(first, again);
        assert_eq!(first.len(), KEY_BYTES);
        std::fs::write(&path, b"short").expect("write");
        let e = EvidenceLinks::load_or_create_key(&path).expect_err("short key");
        assert!(e.to_string().contains("expected 32 bytes"), "{e}");
    }
}
