//! The escalation policy and the delivery channels as an installer writes them:
//! `[escalation]` says who is told when, `[[channels]]` says how each recipient is reached.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

use super::model::MqttTls;
use super::secret::Secret;

/// `[escalation]`: tiers of recipients, per-category overrides and the periodic test.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// Tiers in order: guards → security team → police. Each is told after its delay unless
    /// the alarm was acknowledged first.
    #[serde(default)]
    pub tiers: Vec<Tier>,
    /// Tier a confirmed intrusion jumps to at once, with every tier before it. Default: the
    /// last tier.
    #[serde(default)]
    pub confirmed_tier: Option<String>,
    /// Per-category rules, keyed by category (`fire`, `panic`, `duress`, `burglary`,
    /// `tamper`, `technical`).
    #[serde(default)]
    pub categories: BTreeMap<String, CategoryRule>,
    /// Channels told at once of every reportable event that is not an alarm: troubles and
    /// their restores, arming and disarming, bypasses. Default none.
    #[serde(default)]
    pub events: Vec<String>,
    /// The periodic test report (602) to the receiving centre.
    #[serde(default)]
    pub test_report: Option<TestReport>,
    /// Delivered, skipped and failed deliveries are kept this many days (1–3650). Default
    /// 400: the assessment year's report needs a year of them.
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
    /// A delivery still pending this long after it was due raises trouble on the other
    /// channels, seconds (10–86400). Default 300.
    #[serde(default = "default_stuck_after")]
    pub stuck_after_s: u32,
}

impl Default for Escalation {
    /// What an empty `[escalation]` section means: no tiers, the documented defaults.
    fn default() -> Self {
        Escalation {
            tiers: Vec::new(),
            confirmed_tier: None,
            categories: BTreeMap::new(),
            events: Vec::new(),
            test_report: None,
            retention_days: default_retention_days(),
            stuck_after_s: default_stuck_after(),
        }
    }
}

fn default_retention_days() -> u32 {
    400
}
fn default_stuck_after() -> u32 {
    300
}

/// `[[escalation.tiers]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Name, used by `confirmed_tier` and webhook `tier_urls` (`guards`, `security`,
    /// `police`).
    pub name: String,
    /// Seconds after the alarm before this tier is told (0–86400).
    #[serde(default)]
    pub delay_s: u32,
    /// Channels of this tier (ids from `[[channels]]`).
    #[serde(default)]
    pub channels: Vec<String>,
}

/// `[escalation.categories.<category>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRule {
    /// Channels told at once about alarms of this category (fire → the fire-police
    /// receiver, panic and duress → police), before and in addition to the tiers.
    #[serde(default)]
    pub at_once: Vec<String>,
}

/// `[escalation.test_report]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestReport {
    /// Hours between reports (1–168). Default 24.
    #[serde(default = "default_test_every")]
    pub every_h: u32,
    /// Channels that receive it.
    pub channels: Vec<String>,
}

fn default_test_every() -> u32 {
    24
}

/// One `[[channels]]` entry: a recipient and how to reach it. The `type` key picks the kind.
#[derive(Debug, Clone)]
pub enum Channel {
    /// An alarm receiving centre over SIA DC-09.
    Sia(SiaChannel),
    /// An HTTPS endpoint receiving signed JSON.
    Webhook(WebhookChannel),
    /// Mailboxes reached over SMTP.
    Email(EmailChannel),
    /// An enterprise or fleet MQTT broker.
    Mqtt(UpstreamMqttChannel),
    /// Phones reached by SMS through gammu-smsd and the site's modem.
    Sms(SmsChannel),
}

impl Channel {
    /// The channel's id.
    pub fn id(&self) -> &str {
        match self {
            Channel::Sia(c) => &c.id,
            Channel::Webhook(c) => &c.id,
            Channel::Email(c) => &c.id,
            Channel::Mqtt(c) => &c.id,
            Channel::Sms(c) => &c.id,
        }
    }

    /// The kind, as written in `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Sia(_) => "sia",
            Channel::Webhook(_) => "webhook",
            Channel::Email(_) => "email",
            Channel::Mqtt(_) => "mqtt",
            Channel::Sms(_) => "sms",
        }
    }
}

/// The `type` values a channel may have.
pub const CHANNEL_TYPES: &[&str] = &["sia", "webhook", "email", "mqtt", "sms"];

/// TCP or UDP to a receiving centre.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiaProtocol {
    /// TCP (default).
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

/// What a DC-09 message carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiaFormat {
    /// `ADM-CID`: Contact ID (default).
    #[default]
    AdmCid,
    /// `SIA-DCS`: SIA codes.
    SiaDcs,
}

/// `type = "sia"`: an alarm receiving centre.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiaChannel {
    /// Stable identifier.
    pub id: String,
    /// Always `sia`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Primary receiver, `host:port`.
    pub primary: String,
    /// Backup receiver, `host:port`.
    #[serde(default)]
    pub backup: Option<String>,
    /// `tcp` (default) or `udp`.
    #[serde(default)]
    pub protocol: SiaProtocol,
    /// `adm_cid` (default) or `sia_dcs`.
    #[serde(default)]
    pub format: SiaFormat,
    /// Account number given by the centre (3–16 hex digits).
    pub account: String,
    /// Receiver number prefix (`R`), hex digits, when the centre assigns one.
    #[serde(default)]
    pub receiver: Option<String>,
    /// Line number prefix (`L`), hex digits. Default `0`.
    #[serde(default = "default_line")]
    pub line: String,
    /// AES key as text: 16, 24 or 32 characters (AES-128/192/256), the form pysiaalarm
    /// and Home Assistant take. Always text, even when it looks like hex digits.
    #[serde(default)]
    pub key: Option<Secret>,
    /// File holding the AES key as text.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Environment variable holding the AES key as text.
    #[serde(default)]
    pub key_env: Option<String>,
    /// AES key as hex digits: 32, 48 or 64 of them (AES-128/192/256), the form
    /// `openssl rand -hex 16` prints.
    #[serde(default)]
    pub key_hex: Option<Secret>,
    /// File holding the AES key as hex digits.
    #[serde(default)]
    pub key_hex_file: Option<PathBuf>,
    /// Environment variable holding the AES key as hex digits.
    #[serde(default)]
    pub key_hex_env: Option<String>,
    /// Seconds to wait for ACK (1–60). Default 10.
    #[serde(default = "default_timeout")]
    pub timeout_s: u32,
    /// Seconds between NULL supervision polls on each path (0 = off, else 1–86400).
    /// Default 60.
    #[serde(default = "default_supervision")]
    pub supervision_s: u32,
    /// A path failing this long is down: trouble 350 naming the path, restored when it
    /// answers again, seconds (2–86400). Default 180.
    #[serde(default = "default_path_window")]
    pub path_down_after_s: u32,
}

fn default_line() -> String {
    "0".to_string()
}
fn default_timeout() -> u32 {
    10
}
fn default_supervision() -> u32 {
    60
}
fn default_path_window() -> u32 {
    180
}

/// `type = "webhook"`: an HTTPS endpoint of the security team.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookChannel {
    /// Stable identifier.
    pub id: String,
    /// Always `webhook`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Default URL (`https://`; `http://` only for loopback).
    pub url: String,
    /// URLs per tier name, overriding `url` for that tier.
    #[serde(default)]
    pub tier_urls: BTreeMap<String, String>,
    /// HMAC-SHA256 signing secret written inline.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// File holding the signing secret.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// Environment variable holding the signing secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// PEM CA that signed the endpoint's certificate, besides the public roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Seconds to wait for an answer (1–120). Default 10.
    #[serde(default = "default_timeout")]
    pub timeout_s: u32,
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which is required (default; port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same host or in tests.
    None,
}

/// `type = "email"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailChannel {
    /// Stable identifier.
    pub id: String,
    /// Always `email`.
    #[serde(rename = "type")]
    pub kind: String,
    /// SMTP server host.
    pub host: String,
    /// SMTP port. Default 587.
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// `starttls` (default), `tls` or `none`.
    #[serde(default)]
    pub security: SmtpSecurity,
    /// PEM CA that signed the server's certificate, besides the public roots.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// SMTP user name, when the server wants one.
    #[serde(default)]
    pub username: Option<String>,
    /// SMTP password written inline.
    #[serde(default)]
    pub password: Option<Secret>,
    /// File holding the SMTP password.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the SMTP password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Sender address, e.g. `Picket <picket@example.vn>`.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Seconds to wait for the server (1–120). Default 10.
    #[serde(default = "default_timeout")]
    pub timeout_s: u32,
}

fn default_smtp_port() -> u16 {
    587
}

/// `type = "mqtt"`: an enterprise or fleet broker aggregating many sites.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamMqttChannel {
    /// Stable identifier.
    pub id: String,
    /// Always `mqtt`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Broker host.
    pub host: String,
    /// Broker port. Default 8883 with `tls`, else 1883.
    #[serde(default)]
    pub port: Option<u16>,
    /// Client id, stable so the broker keeps the session. Default `picket-<site>-<id>`.
    #[serde(default)]
    pub client_id: Option<String>,
    /// User name.
    #[serde(default)]
    pub username: Option<String>,
    /// Password written inline.
    #[serde(default)]
    pub password: Option<Secret>,
    /// File holding the password.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// TLS to the broker; absent = plain TCP.
    #[serde(default)]
    pub tls: Option<MqttTls>,
    /// Topic prefix; messages go to `<prefix>/<site>/event` and `<prefix>/<site>/alarm/<id>`.
    /// Default `picket`.
    #[serde(default = "default_upstream_prefix")]
    pub topic_prefix: String,
    /// Keep-alive, seconds (5–600). Default 30.
    #[serde(default = "default_upstream_keep_alive")]
    pub keep_alive_s: u32,
    /// Seconds to wait for PUBACK (1–120). Default 10.
    #[serde(default = "default_timeout")]
    pub timeout_s: u32,
}

fn default_upstream_prefix() -> String {
    "picket".to_string()
}
fn default_upstream_keep_alive() -> u32 {
    30
}

/// How an SMS is written on the air.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsEncoding {
    /// UCS-2: Vietnamese with its diacritics, 70 characters in one message, 67 a part
    /// (default).
    #[default]
    Unicode,
    /// The GSM 7-bit alphabet, Vietnamese folded to plain letters (`Báo cháy` → `Bao
    /// chay`): 160 characters in one message, 153 a part, for old handsets.
    Ascii,
}

/// `type = "sms"`: phones (the ward police's duty officer, the security manager, the
/// guard on patrol) reached through gammu-smsd and the site's own 4G modem, which keeps
/// working when the factory's internet is down; with `commands`, replies from people's
/// phones acknowledge, arm and disarm.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsChannel {
    /// Stable identifier.
    pub id: String,
    /// Always `sms`.
    #[serde(rename = "type")]
    pub kind: String,
    /// gammu-smsd's SQLite database (its `[smsd] service = sql`, `driver = sqlite3`),
    /// which must exist. Default `/var/lib/gammu-smsd/smsd.db`.
    #[serde(default = "default_sms_database")]
    pub database: PathBuf,
    /// gammu-smsd's `PhoneID`, when it sets one (messages are queued for that phone and
    /// its health is read from its row). Default: any phone.
    #[serde(default)]
    pub phone_id: Option<String>,
    /// Numbers told by default (`+84…` or `0…`).
    #[serde(default)]
    pub to: Vec<String>,
    /// Numbers per tier name, instead of `to` for that tier (guards' patrol phones for
    /// `guards`, the police duty officer for `police`).
    #[serde(default)]
    pub tier_to: BTreeMap<String, Vec<String>>,
    /// `unicode` (default) or `ascii`.
    #[serde(default)]
    pub encoding: SmsEncoding,
    /// Most parts one message may take (1–10). Default 3. The English half is left out
    /// when both languages do not fit; the Vietnamese one is cut at a word, never sent
    /// in more parts.
    #[serde(default = "default_max_parts")]
    pub max_parts: u8,
    /// The number a fire alarm tells people to call. Default `114` (fire police).
    #[serde(default = "default_call_fire")]
    pub call_fire: String,
    /// The number other alarms tell people to call. Default `113` (police).
    #[serde(default = "default_call_police")]
    pub call_police: String,
    /// Ask the network for delivery reports; a message is acknowledged when its report
    /// says delivered. Default true.
    #[serde(default = "default_true")]
    pub delivery_reports: bool,
    /// Read replies from listed people's phones as commands (`OK`, `TAT`, `BAT`, `TT`).
    /// Default true; at most one channel per database.
    #[serde(default = "default_true")]
    pub commands: bool,
    /// Seconds gammu-smsd may take to transmit a message before the try counts as failed
    /// and is retried (the message stays queued with gammu-smsd, never queued twice),
    /// 5–600. Default 60.
    #[serde(default = "default_sms_send_timeout")]
    pub send_timeout_s: u32,
    /// gammu-smsd silent, or its modem off the network, this long: trouble 350 naming
    /// the SMS path, restored when back; seconds, 2–3600. Default 120. Set gammu-smsd's
    /// `StatusFrequency` well below it (it refreshes its status that often).
    #[serde(default = "default_sms_lost_after")]
    pub lost_after_s: u32,
}

fn default_sms_database() -> PathBuf {
    PathBuf::from("/var/lib/gammu-smsd/smsd.db")
}
fn default_max_parts() -> u8 {
    3
}
fn default_call_fire() -> String {
    "114".to_string()
}
fn default_call_police() -> String {
    "113".to_string()
}
fn default_true() -> bool {
    true
}
fn default_sms_send_timeout() -> u32 {
    60
}
fn default_sms_lost_after() -> u32 {
    120
}
