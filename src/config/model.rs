//! The configuration as an installer writes it: one serde struct per TOML table.
//!
//! Every struct denies unknown fields, so a mistyped key is an error that names the key
//! and its line rather than a silently ignored setting. Defaults are documented on each
//! field and repeated in the README's configuration reference.

use serde::Deserialize;
use std::path::PathBuf;

pub use super::delivery::*;
use super::secret::Secret;

/// The whole configuration file.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Where the site is and whom to call.
    pub site: Site,
    /// Panel-wide timers and limits.
    pub panel: Panel,
    /// Parts of the site armed and disarmed as one (gate, warehouse).
    pub areas: Vec<Area>,
    /// Groups of detectors with one alarm behaviour.
    pub zones: Vec<Zone>,
    /// Physical detectors and where their readings come from.
    pub sensors: Vec<Sensor>,
    /// Sirens, strobes, fault LEDs driven by the engine.
    pub outputs: Vec<Output>,
    /// Where the journal lives.
    pub journal: Journal,
    /// The local observation socket for scripts and integrations.
    pub feed: Option<Feed>,
    /// The control socket the command line uses (`picket alarm ack|resolve`).
    pub control: Option<Control>,
    /// The local MQTT broker (filled in by the sensor work).
    pub mqtt: Option<Mqtt>,
    /// The GPIO backend (filled in by the sensor work).
    pub gpio: Option<Gpio>,
    /// IP cameras.
    pub cameras: Vec<Camera>,
    /// Where alarm clips are kept, and for how long.
    pub evidence: Evidence,
    /// Who is told about alarms, and when.
    pub escalation: Option<Escalation>,
    /// How each recipient is reached.
    pub channels: Vec<Channel>,
    /// The local HTTP server: the status page, the API, `/healthz` and `/metrics`.
    pub web: Option<Web>,
    /// The periodic security reviews' reports: font, thresholds, scheduled sending.
    pub reports: Reports,
}

/// `[site]`: identity of the premises, shown on the page and sent with every alarm.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Site name, e.g. "Nhà máy Dệt Tân Bình".
    pub name: String,
    /// Street address given to police and fire police.
    #[serde(default)]
    pub address: String,
    /// Latitude and longitude, so responders can find the gate.
    #[serde(default)]
    pub coordinates: Option<Coordinates>,
    /// IANA time zone for reports and the page. Default `Asia/Ho_Chi_Minh`.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// First language shown to people: `vi` (default) or `en`; the other is always shown too.
    #[serde(default)]
    pub locale: Locale,
    /// Local police (113) contact.
    #[serde(default)]
    pub police: Option<Contact>,
    /// Fire police (114) contact.
    #[serde(default)]
    pub fire_police: Option<Contact>,
}

impl Default for Site {
    fn default() -> Self {
        Site {
            name: String::new(),
            address: String::new(),
            coordinates: None,
            timezone: default_timezone(),
            locale: Locale::Vi,
            police: None,
            fire_police: None,
        }
    }
}

fn default_timezone() -> String {
    "Asia/Ho_Chi_Minh".to_string()
}

/// Which language a person reads first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// Vietnamese first.
    #[default]
    Vi,
    /// English first.
    En,
}

/// A point on the map.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coordinates {
    /// Latitude in degrees, −90..=90.
    pub lat: f64,
    /// Longitude in degrees, −180..=180.
    pub lon: f64,
}

/// A responder's contact details.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Unit name, e.g. "Công an phường Tây Thạnh".
    pub name: String,
    /// Phone number, e.g. "113" or the station's direct line.
    pub phone: String,
    /// Station address, if known.
    #[serde(default)]
    pub address: String,
}

/// `[panel]`: timers and limits every area shares.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    /// How long sirens sound before they stop by themselves, seconds. Default 180.
    #[serde(default = "default_siren_limit")]
    pub siren_limit_s: u32,
    /// A second detector in the same area within this many seconds confirms an intrusion
    /// (BS 8243 practice). Default 1800.
    #[serde(default = "default_confirmation_window")]
    pub confirmation_window_s: u32,
    /// A zone that alarms more than this many times in one arming period is bypassed. Default 3.
    #[serde(default = "default_swinger_limit")]
    pub swinger_limit: u32,
    /// A disarm this many seconds after an intrusion alarm sends a cancel (406). Default 30.
    #[serde(default = "default_abort_window")]
    pub abort_window_s: u32,
    /// A walk test ends by itself after this many seconds. Default 1800.
    #[serde(default = "default_walk_test_timeout")]
    pub walk_test_timeout_s: u32,
}

impl Default for Panel {
    fn default() -> Self {
        Panel {
            siren_limit_s: default_siren_limit(),
            confirmation_window_s: default_confirmation_window(),
            swinger_limit: default_swinger_limit(),
            abort_window_s: default_abort_window(),
            walk_test_timeout_s: default_walk_test_timeout(),
        }
    }
}

fn default_siren_limit() -> u32 {
    180
}
fn default_confirmation_window() -> u32 {
    1800
}
fn default_swinger_limit() -> u32 {
    3
}
fn default_abort_window() -> u32 {
    30
}
fn default_walk_test_timeout() -> u32 {
    1800
}

/// `[[areas]]`: a part of the site armed and disarmed as one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    /// Stable identifier used in topics, the journal and commands.
    pub id: String,
    /// Name in Vietnamese (or the site's language).
    pub name: String,
    /// Name in English; defaults to `name`.
    #[serde(default)]
    pub name_en: Option<String>,
    /// Exit delay after arming, seconds (0–600). Default 30.
    #[serde(default = "default_delay")]
    pub exit_delay_s: u32,
    /// Entry delay for entry/exit zones, seconds (0–600). Default 30.
    #[serde(default = "default_delay")]
    pub entry_delay_s: u32,
    /// Area (partition) number the receiving centre knows it by: Contact ID group, SIA
    /// area (1–99). Default: its position in the file.
    #[serde(default)]
    pub number: Option<u8>,
    /// When the area should be armed each day, `"HH:MM-HH:MM"` in the site's time zone
    /// (e.g. `"22:00-06:00"`), for the reports' late and missed arming. Default none.
    #[serde(default)]
    pub arm_schedule: Option<String>,
    /// Minutes after the schedule's start within which arming still counts as on time
    /// (0–240). Default 15.
    #[serde(default = "default_arm_grace")]
    pub arm_grace_min: u32,
}

fn default_arm_grace() -> u32 {
    15
}

fn default_delay() -> u32 {
    30
}

/// What kind of protection a zone gives; decides when it alarms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneType {
    /// The door people arm and disarm through: starts the entry delay.
    EntryExit,
    /// Fences, gates, windows: alarm at once when armed.
    Perimeter,
    /// Inside detectors: alarm at once when armed.
    Interior,
    /// Inside detectors on the entry route: delayed only while an entry delay runs.
    InteriorFollower,
    /// Smoke, heat, call points: alarm in every mode.
    Fire,
    /// Panic buttons: alarm in every mode, silently by default.
    Panic,
    /// Enclosure and cable tamper loops: alarm in every mode.
    Tamper,
    /// Vaults, cages: burglary alarm in every mode.
    #[serde(rename = "burglary_24h")]
    Burglary24h,
    /// Water, gas, temperature: alarm in every mode.
    Technical,
}

impl ZoneType {
    /// The name written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneType::EntryExit => "entry_exit",
            ZoneType::Perimeter => "perimeter",
            ZoneType::Interior => "interior",
            ZoneType::InteriorFollower => "interior_follower",
            ZoneType::Fire => "fire",
            ZoneType::Panic => "panic",
            ZoneType::Tamper => "tamper",
            ZoneType::Burglary24h => "burglary_24h",
            ZoneType::Technical => "technical",
        }
    }

    /// Burglary zones: the only ones swinger shutdown may take.
    pub fn is_burglary(self) -> bool {
        matches!(
            self,
            ZoneType::EntryExit
                | ZoneType::Perimeter
                | ZoneType::Interior
                | ZoneType::InteriorFollower
                | ZoneType::Burglary24h
        )
    }

    /// Zones live only while their area is armed: the intrusions that confirmation (a
    /// second detector) is about.
    pub fn is_armed_only(self) -> bool {
        self.is_burglary() && self != ZoneType::Burglary24h
    }

    /// Zones that alarm in every mode, disarmed included.
    pub fn is_24h(self) -> bool {
        matches!(
            self,
            ZoneType::Fire
                | ZoneType::Panic
                | ZoneType::Tamper
                | ZoneType::Burglary24h
                | ZoneType::Technical
        )
    }
}

/// The armed modes a burglary zone may take part in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArmedMode {
    /// Everyone has left.
    Away,
    /// People are inside; perimeter armed.
    Home,
    /// Night shift: perimeter and chosen interior zones armed.
    Night,
}

/// `[[zones]]`: detectors that share one alarm behaviour.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    /// Stable identifier.
    pub id: String,
    /// Name in Vietnamese (or the site's language).
    pub name: String,
    /// Name in English; defaults to `name`.
    #[serde(default)]
    pub name_en: Option<String>,
    /// The area this zone belongs to.
    pub area: String,
    /// Zone type; see [`ZoneType`].
    #[serde(rename = "type")]
    pub zone_type: ZoneType,
    /// Entry delay for this zone, seconds (0–600); default the area's.
    #[serde(default)]
    pub entry_delay_s: Option<u32>,
    /// Armed modes in which a burglary zone is active. Default: perimeter and entry/exit in
    /// all three; interior zones in `away` only.
    #[serde(default)]
    pub armed_modes: Option<Vec<ArmedMode>>,
    /// May the panel bypass this zone by itself when it is open at arming? Default false.
    #[serde(default)]
    pub auto_bypass: bool,
    /// Raise alarms without sirens. Default true for panic zones, false otherwise.
    #[serde(default)]
    pub silent: Option<bool>,
    /// Contact ID zone number sent to the receiving centre (1–999); default the zone's position.
    #[serde(default)]
    pub number: Option<u16>,
}

/// What a sensor physically is; decides the Contact ID code of its alarms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorKind {
    /// Magnetic door, gate or window contact.
    Contact,
    /// PIR or microwave motion detector.
    Motion,
    /// Fence vibration or beam sensor.
    Fence,
    /// Optical or ionisation smoke detector.
    Smoke,
    /// Heat detector.
    Heat,
    /// Manual fire call point.
    CallPoint,
    /// Panic button or keyfob.
    PanicButton,
    /// Water leak detector.
    Water,
    /// Tamper switch or loop.
    Tamper,
    /// An IP camera used as a detector (motion, video loss, tamper).
    Camera,
}

/// Where a sensor's readings come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceBinding {
    /// The built-in simulator (`picket demo`, tests).
    Simulated,
    /// The local observation socket (`[feed]`).
    Feed,
    /// An MQTT device on the local broker.
    Mqtt {
        /// The device's topic: `zigbee2mqtt/<friendly_name>` (zigbee2mqtt), the device
        /// topic `<topic>` (tasmota), `<node>/binary_sensor/<name>` (esphome), or the full
        /// state topic (generic).
        topic: String,
        /// How payloads are shaped. Default `zigbee2mqtt`.
        #[serde(default)]
        profile: MqttProfile,
        /// generic: JSON pointer to the value, e.g. `/state/open`; absent = raw payload.
        #[serde(default)]
        pointer: Option<String>,
        /// generic: the value (JSON or raw text) meaning active. Default `ON`/`true`.
        #[serde(default)]
        payload_on: Option<String>,
        /// generic: the value meaning normal. Default `OFF`/`false`.
        #[serde(default)]
        payload_off: Option<String>,
        /// generic: topic carrying `online`/`offline`.
        #[serde(default)]
        availability_topic: Option<String>,
    },
    /// A wired contact on a GPIO input pin.
    Gpio {
        /// BCM pin number (0–27).
        pin: u8,
        /// Internal pull resistor: `up` (default), `down` or `none`.
        #[serde(default)]
        pull: Pull,
        /// Active when the pin reads low instead of high (e.g. a normally-open contact to
        /// ground with a pull-up). Default false: high = active (normally-closed loop to
        /// ground with a pull-up opens to high).
        #[serde(default)]
        invert: bool,
        /// Kernel debounce, milliseconds (1–1000). Default 50.
        #[serde(default = "default_debounce")]
        debounce_ms: u32,
        /// BCM pin of the detector's tamper loop, if wired.
        #[serde(default)]
        tamper_pin: Option<u8>,
        /// The tamper loop is active low.
        #[serde(default)]
        tamper_invert: bool,
    },
    /// A camera's analysis.
    Camera {
        /// Camera id from `[[cameras]]`.
        camera: String,
    },
}

impl SourceBinding {
    /// Short name for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            SourceBinding::Simulated => "simulated",
            SourceBinding::Feed => "feed",
            SourceBinding::Mqtt { .. } => "mqtt",
            SourceBinding::Gpio { .. } => "gpio",
            SourceBinding::Camera { .. } => "camera",
        }
    }
}

/// Payload shapes an installer can choose per MQTT sensor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MqttProfile {
    /// Zigbee2MQTT JSON state and availability.
    #[default]
    Zigbee2mqtt,
    /// Tasmota `tele/…/SENSOR`, `stat/…/POWER`, `tele/…/LWT`.
    Tasmota,
    /// ESPHome `…/state` ON/OFF and `…/status` online/offline.
    Esphome,
    /// A JSON pointer and value map, or a raw payload match.
    Generic,
}

/// A GPIO input's pull resistor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pull {
    /// Pull-up: an open input reads high.
    #[default]
    Up,
    /// Pull-down: an open input reads low.
    Down,
    /// No pull resistor (external one fitted).
    None,
}

fn default_debounce() -> u32 {
    50
}

/// `[[sensors]]`: one physical detector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sensor {
    /// Stable identifier.
    pub id: String,
    /// Name shown to people (Vietnamese or the site's language); defaults to the id.
    #[serde(default)]
    pub name: Option<String>,
    /// Name in English; defaults to `name`.
    #[serde(default)]
    pub name_en: Option<String>,
    /// The zone this sensor belongs to.
    pub zone: String,
    /// What the sensor is.
    pub kind: SensorKind,
    /// Where its readings come from.
    pub source: SourceBinding,
    /// Trouble (381) if not heard for this many seconds (60–604800). Default: not supervised.
    #[serde(default)]
    pub supervision_s: Option<u32>,
    /// Point number the receiving centre knows this sensor by (1–999). Default: its zone's
    /// number; a camera's sensor gets one of its own (after the highest zone number), so
    /// the centre can tell a camera's video loss from the detector in the same zone.
    #[serde(default)]
    pub number: Option<u16>,
}

/// What an output drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// Sounder: steady for intrusion, temporal-3 for fire, stops at the siren limit.
    Siren,
    /// Flashing light: on until the alarm is acknowledged.
    Strobe,
    /// Fault indicator: on while any trouble is open.
    FaultLed,
}

/// `[[outputs]]`: a siren, strobe or fault LED.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// Stable identifier.
    pub id: String,
    /// What it drives.
    pub kind: OutputKind,
    /// Areas whose alarms drive it; empty means every area.
    #[serde(default)]
    pub areas: Vec<String>,
    /// BCM pin, when driven through GPIO.
    #[serde(default)]
    pub pin: Option<u8>,
    /// The relay or LED is on when the pin is low.
    #[serde(default)]
    pub active_low: bool,
}

/// `[journal]`: where history is kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    /// SQLite file. Default `/var/lib/picket/journal.db`.
    #[serde(default = "default_journal_path")]
    pub path: PathBuf,
}

impl Default for Journal {
    fn default() -> Self {
        Journal {
            path: default_journal_path(),
        }
    }
}

fn default_journal_path() -> PathBuf {
    PathBuf::from("/var/lib/picket/journal.db")
}

/// `[feed]`: line-delimited JSON observations on a Unix socket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feed {
    /// Socket path. Default `/run/picket/feed.sock`.
    #[serde(default = "default_feed_socket")]
    pub socket: PathBuf,
}

/// `[control]`: the control socket, through which `picket alarm ack|resolve` reach the
/// running daemon with a person's code.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// Socket path. Default `control.sock` beside the journal.
    #[serde(default)]
    pub socket: Option<PathBuf>,
}

fn default_feed_socket() -> PathBuf {
    PathBuf::from("/run/picket/feed.sock")
}

/// `[mqtt]`: the broker on the gateway.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mqtt {
    /// Broker host. Default `127.0.0.1`.
    #[serde(default = "default_mqtt_host")]
    pub host: String,
    /// Broker port (1–65535). Default 1883 (8883 is usual with TLS).
    #[serde(default = "default_mqtt_port")]
    pub port: u16,
    /// Client id; stable across restarts so the broker keeps the session. Default
    /// `picket-<first area or site>`.
    #[serde(default)]
    pub client_id: Option<String>,
    /// User name, if the broker wants one.
    #[serde(default)]
    pub username: Option<String>,
    /// Password written inline (prefer `password_file` or `password_env`).
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
    /// Keep-alive, seconds (5–600). Default 30.
    #[serde(default = "default_keep_alive")]
    pub keep_alive_s: u32,
    /// Trouble (330) when the broker has been unreachable this long, seconds (5–3600).
    /// Default 30.
    #[serde(default = "default_broker_grace")]
    pub broker_loss_grace_s: u32,
    /// Topic prefix of picket's own interface: `<base_topic>/<site>/…`. Default `picket`.
    #[serde(default = "default_base_topic")]
    pub base_topic: String,
    /// Site segment of picket's topics; default derived from the site name.
    #[serde(default)]
    pub site_topic: Option<String>,
    /// Publish Home Assistant MQTT discovery. Default true.
    #[serde(default = "default_true")]
    pub discovery: bool,
    /// Home Assistant discovery prefix. Default `homeassistant`.
    #[serde(default = "default_discovery_prefix")]
    pub discovery_prefix: String,
}

/// `[mqtt.tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttTls {
    /// PEM file of the CA that signed the broker's certificate.
    pub ca_file: PathBuf,
    /// PEM client certificate, for brokers that require one.
    #[serde(default)]
    pub client_cert_file: Option<PathBuf>,
    /// PEM client key, with `client_cert_file`.
    #[serde(default)]
    pub client_key_file: Option<PathBuf>,
}

fn default_keep_alive() -> u32 {
    30
}
fn default_broker_grace() -> u32 {
    30
}
fn default_base_topic() -> String {
    "picket".to_string()
}
fn default_discovery_prefix() -> String {
    "homeassistant".to_string()
}
fn default_true() -> bool {
    true
}

fn default_mqtt_host() -> String {
    "127.0.0.1".to_string()
}
fn default_mqtt_port() -> u16 {
    1883
}

/// Which GPIO implementation drives pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GpioBackend {
    /// The Raspberry Pi's pins through rppal.
    Rppal,
    /// In-memory pins for the demo and tests.
    Simulated,
}

/// `[gpio]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gpio {
    /// Backend. Default `rppal`.
    #[serde(default = "default_gpio_backend")]
    pub backend: GpioBackend,
    /// Keyswitches that arm and disarm an area.
    #[serde(default)]
    pub keyswitches: Vec<Keyswitch>,
}

/// `[[gpio.keyswitches]]`: a key switch (or arming button) wired to a pin: active arms,
/// inactive disarms.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keyswitch {
    /// BCM pin.
    pub pin: u8,
    /// Area it arms.
    pub area: String,
    /// Mode it arms in: `away` (default), `home`, `night`.
    #[serde(default = "default_keyswitch_mode")]
    pub mode: ArmedMode,
    /// Active low.
    #[serde(default)]
    pub invert: bool,
    /// Name in the audit log. Default `keyswitch`.
    #[serde(default = "default_keyswitch_user")]
    pub user: String,
    /// Number the receiving centre knows this keyswitch by, sent with its openings and
    /// closings (Contact ID 409, 1–999). Default: after the zones and camera sensors.
    #[serde(default)]
    pub number: Option<u16>,
}

fn default_keyswitch_mode() -> ArmedMode {
    ArmedMode::Away
}
fn default_keyswitch_user() -> String {
    "keyswitch".to_string()
}

fn default_gpio_backend() -> GpioBackend {
    GpioBackend::Rppal
}

/// `[[cameras]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Camera {
    /// Stable identifier.
    pub id: String,
    /// RTSP URL without credentials.
    pub url: String,
    /// Zones the camera watches.
    #[serde(default)]
    pub zones: Vec<String>,
    /// RTSP user name.
    #[serde(default)]
    pub username: Option<String>,
    /// RTSP password written inline.
    #[serde(default)]
    pub password: Option<Secret>,
    /// File holding the RTSP password.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the RTSP password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// How RTP travels: `tcp` (interleaved, the default) or `udp`.
    #[serde(default)]
    pub transport: CameraTransport,
    /// No frame for this many seconds means the picture is lost. Default 5.
    #[serde(default = "default_stall_timeout_s")]
    pub stall_timeout_s: u32,
    /// Seconds of picture before an alarm kept for its clip. Default 10.
    #[serde(default = "default_pre_s")]
    pub pre_s: u32,
    /// Seconds of picture after an alarm in its clip. Default 10.
    #[serde(default = "default_post_s")]
    pub post_s: u32,
    /// Most memory the pre-event buffer may hold, in MiB. Default 16.
    #[serde(default = "default_buffer_mb")]
    pub buffer_mb: u32,
    /// Motion and tamper analysis (`[cameras.analysis]`); none when absent.
    #[serde(default)]
    pub analysis: Option<CameraAnalysis>,
}

/// `[cameras.analysis]`: the camera's picture as a detector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraAnalysis {
    /// The stream analysed (a substream, e.g. 640×360); default the camera's `url`. Same
    /// credentials and transport.
    #[serde(default)]
    pub url: Option<String>,
    /// Pictures compared per second (0.5–15). Default 5.
    #[serde(default = "default_analysis_fps")]
    pub fps: f64,
    /// 1 (only strong changes) to 100 (the faintest). Default 50.
    #[serde(default = "default_sensitivity")]
    pub sensitivity: u8,
    /// Percent of the masked picture that must change to be motion (0.1–100). Default 1.
    #[serde(default = "default_min_area_percent")]
    pub min_area_percent: f64,
    /// Where motion counts: rectangles `[x, y, width, height]` in percent of the picture.
    /// Default: all of it.
    #[serde(default)]
    pub regions: Vec<[f64; 4]>,
    /// Look for tamper (covered, defocused, turned away). Default true.
    #[serde(default = "default_true")]
    pub tamper: bool,
}

fn default_analysis_fps() -> f64 {
    5.0
}
fn default_sensitivity() -> u8 {
    50
}
fn default_min_area_percent() -> f64 {
    1.0
}

fn default_pre_s() -> u32 {
    10
}
fn default_post_s() -> u32 {
    10
}
fn default_buffer_mb() -> u32 {
    16
}

/// `[evidence]`: alarm clips on disk.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Directory of clips. Default: `evidence/` beside the journal.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// Clips older than this many days are deleted. Default 30 (Vietnam's personal-data
    /// rules ask that recordings of people are not kept longer than needed).
    #[serde(default = "default_retention_days")]
    pub retention_days: u32,
    /// The oldest clips are deleted while all together exceed this many MiB. Default 4096.
    #[serde(default = "default_max_total_mb")]
    pub max_total_mb: u32,
}

impl Default for Evidence {
    fn default() -> Self {
        Evidence {
            dir: None,
            retention_days: default_retention_days(),
            max_total_mb: default_max_total_mb(),
        }
    }
}

fn default_retention_days() -> u32 {
    30
}
fn default_max_total_mb() -> u32 {
    4096
}

/// The numbers the receiving centre knows each place by, with every default applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PointNumbers {
    /// Area (Contact ID group) numbers by area id.
    pub areas: std::collections::BTreeMap<String, u8>,
    /// Zone numbers by zone id.
    pub zones: std::collections::BTreeMap<String, u16>,
    /// Sensor point numbers by sensor id.
    pub sensors: std::collections::BTreeMap<String, u16>,
    /// Keyswitch numbers, in `[[gpio.keyswitches]]` order.
    pub keyswitches: Vec<u16>,
}

impl Config {
    /// The control socket: `[control] socket`, or `control.sock` beside the journal.
    pub fn control_socket(&self) -> PathBuf {
        self.control
            .as_ref()
            .and_then(|c| c.socket.clone())
            .unwrap_or_else(|| {
                self.journal
                    .path
                    .parent()
                    .unwrap_or_else(|| std::path::Path::new("."))
                    .join("control.sock")
            })
    }

    /// Area, zone, sensor and keyswitch numbers: as written, or by default an area's and
    /// a zone's position, a sensor its zone's number, and a camera's sensor and a
    /// keyswitch the next numbers after every zone number (in file order), so each is a
    /// point of its own at the centre.
    pub fn point_numbers(&self) -> PointNumbers {
        let position = |i: usize| u16::try_from(i + 1).unwrap_or(999);
        let areas = self
            .areas
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let n = a
                    .number
                    .unwrap_or_else(|| u8::try_from(i + 1).unwrap_or(99));
                (a.id.clone(), n)
            })
            .collect();
        let zones: std::collections::BTreeMap<String, u16> = self
            .zones
            .iter()
            .enumerate()
            .map(|(i, z)| (z.id.clone(), z.number.unwrap_or_else(|| position(i))))
            .collect();
        let taken: std::collections::BTreeSet<u16> = zones
            .values()
            .copied()
            .chain(self.sensors.iter().filter_map(|s| s.number))
            .collect();
        let mut next = taken.iter().max().copied().unwrap_or(0);
        let mut fresh = || {
            next = next.saturating_add(1).min(999);
            next
        };
        let mut sensors = std::collections::BTreeMap::new();
        for s in &self.sensors {
            let n = match s.number {
                Some(n) => n,
                None if s.kind == SensorKind::Camera => fresh(),
                None => zones.get(&s.zone).copied().unwrap_or(0),
            };
            sensors.insert(s.id.clone(), n);
        }
        let keyswitches = self
            .gpio
            .iter()
            .flat_map(|g| &g.keyswitches)
            .map(|k| k.number.unwrap_or_else(&mut fresh))
            .collect();
        PointNumbers {
            areas,
            zones,
            sensors,
            keyswitches,
        }
    }

    /// Where clips go: `[evidence] dir`, or `evidence/` beside the journal.
    pub fn evidence_dir(&self) -> PathBuf {
        self.evidence.dir.clone().unwrap_or_else(|| {
            self.journal
                .path
                .parent()
                .map_or_else(|| PathBuf::from("evidence"), |d| d.join("evidence"))
        })
    }

    /// The key evidence links are signed with: `evidence-links.key` beside the journal.
    pub fn evidence_link_key_path(&self) -> PathBuf {
        self.journal.path.with_file_name("evidence-links.key")
    }
}

/// `cameras[].transport`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraTransport {
    /// RTP interleaved on the RTSP TCP connection.
    #[default]
    Tcp,
    /// RTP on UDP ports.
    Udp,
}

fn default_stall_timeout_s() -> u32 {
    5
}

/// `[web]`: the local status page.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Web {
    /// Listen address. Default `127.0.0.1:8080`.
    #[serde(default = "default_web_listen")]
    pub listen: String,
    /// The address recipients of notices reach this server at (`https://gate1.example.vn`),
    /// for the signed evidence links in alarm notices. Unset: notices carry no links.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Minutes a page session may stay idle before its person must log in again (1–1440).
    /// Default 15: guards' phones get lost.
    #[serde(default = "default_session_idle")]
    pub session_idle_min: u32,
    /// Serve the page over HTTPS with this certificate and key (PEM).
    #[serde(default)]
    pub tls: Option<WebTls>,
}

/// `[web.tls]`: the page's certificate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebTls {
    /// Certificate chain, PEM.
    pub cert_file: PathBuf,
    /// Private key, PEM.
    pub key_file: PathBuf,
}

fn default_session_idle() -> u32 {
    15
}

fn default_web_listen() -> String {
    "127.0.0.1:8080".to_string()
}

/// `[reports]`: how the periodic reports are made and which are sent by themselves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reports {
    /// The TrueType font the PDF is set in; it must cover Vietnamese. Default Debian's
    /// `fonts-dejavu-core`: `/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf`.
    #[serde(default = "default_report_font")]
    pub font: PathBuf,
    /// Its bold face. Default `DejaVuSans-Bold.ttf` beside it.
    #[serde(default = "default_report_bold_font")]
    pub bold_font: PathBuf,
    /// A delivery made more than this many seconds after it was due is listed as late
    /// (1–3600). Default 60.
    #[serde(default = "default_late_delivery")]
    pub late_delivery_s: u32,
    /// Last month's report, sent on the first day of each month.
    #[serde(default)]
    pub monthly: Option<ScheduledReport>,
    /// Last quarter's report, sent on the first day of each quarter.
    #[serde(default)]
    pub quarterly: Option<ScheduledReport>,
}

impl Default for Reports {
    fn default() -> Self {
        Reports {
            font: default_report_font(),
            bold_font: default_report_bold_font(),
            late_delivery_s: default_late_delivery(),
            monthly: None,
            quarterly: None,
        }
    }
}

/// `[reports] monthly = { channels = [...] }`: where a scheduled report goes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledReport {
    /// Email channels it is sent through, with the PDF attached.
    pub channels: Vec<String>,
    /// The time of day it is made, `HH:MM` in the site's zone. Default `07:00`.
    #[serde(default = "default_report_at")]
    pub at: String,
}

fn default_report_font() -> PathBuf {
    PathBuf::from("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
}

fn default_report_bold_font() -> PathBuf {
    PathBuf::from("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
}

fn default_late_delivery() -> u32 {
    60
}

fn default_report_at() -> String {
    "07:00".to_string()
}
