//! The notice: what one delivery says, independent of the channel that carries it. Stored
//! as JSON in the outbox row, so a retry after a restart says exactly the same thing.
//! The webhook and upstream MQTT bodies are this JSON; DC-09 and email are formatted from it.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::engine::{Alarm, Event};
use crate::journal::CommittedEvent;

/// Version of the notice format, bumped on incompatible changes.
pub const NOTICE_VERSION: u32 = 1;

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A new alarm, for one escalation tier.
    Alarm,
    /// A later event of an alarm already told: confirmed, cancelled, restored,
    /// acknowledged, resolved.
    AlarmUpdate,
    /// A reportable event that is not an alarm: trouble, restore, arming, bypass.
    Event,
    /// The periodic test report.
    Test,
    /// A scheduled security review report (`[reports] monthly`, `quarterly`), its PDF
    /// attached.
    Report,
}

/// The site, so a recipient with many sites knows which one speaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteInfo {
    /// Short id (the MQTT site segment).
    pub id: String,
    /// Name.
    pub name: String,
    /// Street address for responders.
    pub address: String,
    /// Latitude, when configured.
    pub latitude: Option<f64>,
    /// Longitude, when configured.
    pub longitude: Option<f64>,
}

impl SiteInfo {
    /// The site as configured.
    pub fn from_config(config: &Config) -> SiteInfo {
        SiteInfo {
            id: crate::mqtt_connection::site_topic(config),
            name: config.site.name.clone(),
            address: config.site.address.clone(),
            latitude: config.site.coordinates.as_ref().map(|c| c.lat),
            longitude: config.site.coordinates.as_ref().map(|c| c.lon),
        }
    }
}

/// The alarm a notice concerns, as it stood when the notice was planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmInfo {
    /// Alarm id.
    pub id: u64,
    /// Category.
    pub category: String,
    /// Contact ID code it was raised with.
    pub code: u16,
    /// Area.
    pub area: String,
    /// Zone.
    pub zone: Option<String>,
    /// raised, acknowledged or resolved.
    pub state: String,
    /// Confirmed by a second detector.
    pub confirmed: bool,
    /// Silent (panic, duress).
    pub silent: bool,
    /// Cancelled in the abort window.
    pub cancelled: bool,
    /// When raised, RFC 3339 UTC.
    pub raised_at: String,
}

impl AlarmInfo {
    /// From the engine's record.
    pub fn of(a: &Alarm) -> AlarmInfo {
        AlarmInfo {
            id: a.id,
            category: a.category.as_str().to_string(),
            code: a.code.0,
            area: a.area.clone(),
            zone: a.zone.clone(),
            state: a.state.as_str().to_string(),
            confirmed: a.confirmed,
            silent: a.silent,
            cancelled: a.cancelled,
            raised_at: rfc3339(a.raised_at.0),
        }
    }
}

/// The journal event a notice carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventInfo {
    /// Journal sequence number.
    pub seq: i64,
    /// When, RFC 3339 UTC.
    pub at: String,
    /// When, milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// What happened (`alarm_raised`, `trouble`, …).
    pub kind: String,
    /// Category.
    pub category: String,
    /// Contact ID code, for events a receiving centre takes.
    pub code: Option<u16>,
    /// Contact ID qualifier: 1 new, 3 restore, 6 status.
    pub qualifier: u8,
    /// Area.
    pub area: Option<String>,
    /// The area's number at the receiving centre (Contact ID group).
    #[serde(default)]
    pub area_number: Option<u8>,
    /// Zone.
    pub zone: Option<String>,
    /// Contact ID zone (or user) number.
    pub zone_number: Option<u16>,
    /// Sensor.
    pub sensor: Option<String>,
    /// Person.
    pub user: Option<String>,
    /// Vietnamese text.
    pub message_vi: String,
    /// English text.
    pub message_en: String,
}

impl EventInfo {
    /// From a committed event.
    pub fn of(c: &CommittedEvent) -> EventInfo {
        let e: &Event = &c.event;
        EventInfo {
            seq: c.seq,
            at: rfc3339(e.at.0),
            at_ms: e.at.0,
            kind: e.kind.as_str().to_string(),
            category: e.category.as_str().to_string(),
            code: e.code.map(|c| c.0),
            qualifier: e.qualifier.digit(),
            area: e.area.clone(),
            area_number: e.area_number,
            zone: e.zone.clone(),
            zone_number: e.zone_number,
            sensor: e.sensor.clone(),
            user: e.user.clone(),
            message_vi: e.message_vi.clone(),
            message_en: e.message_en.clone(),
        }
    }
}

/// A piece of evidence (clip, snapshot) an alarm will have from a camera covering its
/// zone. The file is written after the notice is planned, so the notice carries its signed
/// address; the web server answers with the file and its SHA-256 once it exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// `clip` (MP4) or `snapshot` (JPEG).
    pub kind: String,
    /// The camera.
    pub camera: String,
    /// Signed address on the gateway's web server, when `web.public_url` is set.
    pub url: Option<String>,
}

/// What one delivery says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// Format version ([`NOTICE_VERSION`]).
    pub version: u32,
    /// What it is about.
    pub kind: NoticeKind,
    /// Which site speaks.
    pub site: SiteInfo,
    /// Escalation tier name, for alarms.
    pub tier: Option<String>,
    /// The alarm, when it concerns one.
    pub alarm: Option<AlarmInfo>,
    /// The event carried.
    pub event: EventInfo,
    /// Evidence (clips, snapshots) from the cameras covering the alarm's zone.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// Files that go with it (a scheduled report's PDF), kept in the row so that a retry
    /// after a restart sends the same bytes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// A file carried by a notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// The bytes, base64 (standard alphabet, padded).
    pub base64: String,
}

/// Milliseconds since the epoch as RFC 3339 UTC.
pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}
