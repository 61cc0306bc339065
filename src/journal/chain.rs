//! The hash chain over events: each row's SHA-256 covers the previous row's hash and every
//! column of the row, so any change to history shows at the first altered row.

use sha2::{Digest, Sha256};

/// The hash before the first event.
pub const GENESIS: [u8; 32] = [0; 32];

/// The columns of one event row, in chain order.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRow {
    /// Sequence number, from 1, without gaps.
    pub seq: i64,
    /// Time in ms since the epoch.
    pub at_ms: i64,
    /// Event kind.
    pub kind: String,
    /// Category.
    pub category: String,
    /// Contact ID code.
    pub code: Option<i64>,
    /// Qualifier digit.
    pub qualifier: i64,
    /// Area.
    pub area: Option<String>,
    /// Zone.
    pub zone: Option<String>,
    /// Zone number.
    pub zone_number: Option<i64>,
    /// Sensor.
    pub sensor: Option<String>,
    /// Alarm id.
    pub alarm_id: Option<i64>,
    /// User.
    pub user_name: Option<String>,
    /// Vietnamese message.
    pub message_vi: String,
    /// English message.
    pub message_en: String,
    /// Source message id.
    pub source_ref: Option<String>,
}

/// The hash of a row given the previous row's hash.
pub fn hash(prev: &[u8], row: &EventRow) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    let mut int = |v: Option<i64>| match v {
        Some(v) => {
            h.update([1u8]);
            h.update(v.to_be_bytes());
        }
        None => h.update([0u8]),
    };
    int(Some(row.seq));
    int(Some(row.at_ms));
    int(row.code);
    int(Some(row.qualifier));
    int(row.zone_number);
    int(row.alarm_id);
    for text in [
        Some(&row.kind),
        Some(&row.category),
        row.area.as_ref(),
        row.zone.as_ref(),
        row.sensor.as_ref(),
        row.user_name.as_ref(),
        Some(&row.message_vi),
        Some(&row.message_en),
        row.source_ref.as_ref(),
    ] {
        match text {
            Some(t) => {
                h.update([1u8]);
                h.update((t.len() as u64).to_be_bytes());
                h.update(t.as_bytes());
            }
            None => h.update([0u8]),
        }
    }
    h.finalize().into()
}
