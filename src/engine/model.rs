//! What goes into the engine and what comes out of it.
//!
//! Inputs are [`Observation`]s from sources, [`Command`]s from people and clock ticks.
//! Each input yields one [`Outcome`]: the events to journal, alarm changes, output states,
//! escalations and audit entries, plus the state snapshots to persist so a restart resumes
//! exactly where the engine was.

use serde::{Deserialize, Serialize};

use super::clock::Timestamp;
use super::codes::{Category, ContactId, Qualifier};
use crate::config::OutputKind;

/// Identifier of an alarm, assigned by the engine in raise order.
pub type AlarmId = u64;

/// A reading from a sensor, as a source understood it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reading {
    /// Door/gate/window contact; `active` = open.
    Contact {
        /// Open.
        active: bool,
    },
    /// Motion or fence detector; `active` = detecting.
    Motion {
        /// Detecting.
        active: bool,
    },
    /// Smoke detector.
    Smoke {
        /// Smoke detected.
        active: bool,
    },
    /// Heat detector.
    Heat {
        /// Heat detected.
        active: bool,
    },
    /// Panic button or keyfob panic.
    Panic {
        /// Pressed.
        active: bool,
    },
    /// Water leak detector.
    Water {
        /// Leak detected.
        active: bool,
    },
    /// Tamper switch of any sensor.
    Tamper {
        /// Tampered.
        active: bool,
    },
    /// Battery report.
    Battery {
        /// Below the device's low threshold.
        low: bool,
        /// Percentage, when the device reports it.
        #[serde(default)]
        percent: Option<u8>,
    },
    /// The device is alive and has nothing new to say.
    Heartbeat,
    /// Bridge-reported availability (Zigbee2MQTT availability, Tasmota LWT).
    Availability {
        /// Reachable.
        online: bool,
    },
    /// A camera's picture stopped or came back.
    VideoLoss {
        /// No picture.
        active: bool,
    },
}

impl Reading {
    /// The detection value for readings that trip zones (contact, motion, smoke…).
    pub fn detection(&self) -> Option<bool> {
        match self {
            Reading::Contact { active }
            | Reading::Motion { active }
            | Reading::Smoke { active }
            | Reading::Heat { active }
            | Reading::Panic { active }
            | Reading::Water { active } => Some(*active),
            _ => None,
        }
    }
}

/// One reading from one sensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Configured sensor id.
    pub sensor: String,
    /// What it reported.
    pub reading: Reading,
    /// The source's own id for the message (MQTT packet, feed line), kept with the event
    /// so an input can be traced to its journal entry.
    #[serde(default)]
    pub source_ref: Option<String>,
}

/// What a person may do, in increasing order of trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read-only: the page and the log, no commands (the enterprise security team, a
    /// police liaison).
    Viewer,
    /// Gate guard: arm, disarm, acknowledge, resolve, walk test.
    Guard,
    /// Shift supervisor: also force-arm and bypass.
    Supervisor,
    /// Installer: like supervisor, for commissioning.
    Installer,
    /// Administrator: everything, including users.
    Admin,
}

impl Role {
    /// Parses a role name.
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "viewer" => Some(Role::Viewer),
            "guard" => Some(Role::Guard),
            "supervisor" => Some(Role::Supervisor),
            "installer" => Some(Role::Installer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Guard => "guard",
            Role::Supervisor => "supervisor",
            Role::Installer => "installer",
            Role::Admin => "admin",
        }
    }

    /// May force-arm and bypass.
    pub fn is_supervisor(self) -> bool {
        self >= Role::Supervisor
    }
}

/// Where a command was entered, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// The status page.
    Page,
    /// The MQTT command topic.
    Mqtt,
    /// A keypad.
    Keypad,
    /// A GPIO keyswitch.
    Keyswitch,
    /// An SMS from a person's phone.
    Sms,
    /// The JSON API, with a token.
    Api,
    /// The command line.
    Cli,
    /// The demo simulator.
    Simulator,
}

impl Origin {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Page => "page",
            Origin::Mqtt => "mqtt",
            Origin::Keypad => "keypad",
            Origin::Keyswitch => "keyswitch",
            Origin::Sms => "sms",
            Origin::Api => "api",
            Origin::Cli => "cli",
            Origin::Simulator => "simulator",
        }
    }
}

/// A person whose code was verified where it was entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// User name.
    pub user: String,
    /// Their role.
    pub role: Role,
    /// The code entered was this user's duress code.
    pub duress: bool,
    /// Where the code was entered.
    pub origin: Origin,
    /// Their user number at the receiving centre (Contact ID ZZZ of openings, closings,
    /// cancels and duress), or the keyswitch's number.
    #[serde(default)]
    pub number: Option<u16>,
    /// From where exactly, when known: the page's client address, a phone number.
    #[serde(default)]
    pub address: Option<String>,
}

/// The armed state of an area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Only 24-hour zones are active.
    Disarmed,
    /// Everything active.
    ArmedAway,
    /// Perimeter and chosen zones active; people inside.
    ArmedHome,
    /// Night setting.
    ArmedNight,
}

impl Mode {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Disarmed => "disarmed",
            Mode::ArmedAway => "armed_away",
            Mode::ArmedHome => "armed_home",
            Mode::ArmedNight => "armed_night",
        }
    }

    /// Vietnamese name.
    pub fn name_vi(self) -> &'static str {
        match self {
            Mode::Disarmed => "tắt báo động",
            Mode::ArmedAway => "bật báo động (vắng người)",
            Mode::ArmedHome => "bật báo động (có người)",
            Mode::ArmedNight => "bật báo động (ban đêm)",
        }
    }

    /// English name.
    pub fn name_en(self) -> &'static str {
        match self {
            Mode::Disarmed => "disarmed",
            Mode::ArmedAway => "armed away",
            Mode::ArmedHome => "armed home",
            Mode::ArmedNight => "armed night",
        }
    }
}

/// How an alarm ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// A real incident.
    Real,
    /// A false alarm.
    False,
    /// A planned test.
    Test,
    /// Could not be established.
    Unknown,
}

impl Resolution {
    /// Stable name.
    /// Parses a resolution's name (`real`, `false`, `test`, `unknown`).
    pub fn parse(name: &str) -> Option<Resolution> {
        [
            Resolution::Real,
            Resolution::False,
            Resolution::Test,
            Resolution::Unknown,
        ]
        .into_iter()
        .find(|r| r.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Real => "real",
            Resolution::False => "false",
            Resolution::Test => "test",
            Resolution::Unknown => "unknown",
        }
    }
}

/// What a person asks the panel to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CommandKind {
    /// Arm an area. `force` (supervisors) bypasses open zones.
    Arm {
        /// Area id.
        area: String,
        /// Target mode (not `disarmed`).
        mode: Mode,
        /// Bypass whatever is open.
        #[serde(default)]
        force: bool,
    },
    /// Disarm an area.
    Disarm {
        /// Area id.
        area: String,
    },
    /// Take responsibility for an alarm; silences its sirens.
    Acknowledge {
        /// Alarm id.
        alarm: AlarmId,
        /// What the guard found.
        #[serde(default)]
        note: String,
    },
    /// Close an acknowledged alarm.
    Resolve {
        /// Alarm id.
        alarm: AlarmId,
        /// Real, false, test or unknown.
        resolution: Resolution,
        /// Findings.
        #[serde(default)]
        note: String,
    },
    /// A guard ending a shift leaves a note for the next (hash-chained like every event).
    HandoverNote {
        /// What the next shift should know.
        text: String,
    },
    /// Take a zone out of service until the next disarm (or put it back).
    Bypass {
        /// Zone id.
        zone: String,
        /// true to bypass, false to restore.
        on: bool,
    },
    /// Start or stop a walk test in a disarmed area.
    WalkTest {
        /// Area id.
        area: String,
        /// true to start, false to stop.
        on: bool,
    },
}

impl CommandKind {
    /// The action's name in the audit log: `arm`, `force_arm`, `disarm`, `acknowledge`,
    /// `resolve`, `bypass`, `unbypass`, `walk_test_start`, `walk_test_stop`.
    pub fn action_name(&self) -> &'static str {
        match self {
            CommandKind::Arm { force: true, .. } => "force_arm",
            CommandKind::Arm { .. } => "arm",
            CommandKind::Disarm { .. } => "disarm",
            CommandKind::Acknowledge { .. } => "acknowledge",
            CommandKind::Resolve { .. } => "resolve",
            CommandKind::Bypass { on: true, .. } => "bypass",
            CommandKind::Bypass { .. } => "unbypass",
            CommandKind::HandoverNote { .. } => "handover_note",
            CommandKind::WalkTest { on: true, .. } => "walk_test_start",
            CommandKind::WalkTest { .. } => "walk_test_stop",
        }
    }

    /// What the command is about, in the audit log: `area:mode`, the area, `alarm:<id>`,
    /// the zone.
    pub fn target(&self) -> String {
        match self {
            CommandKind::Arm { area, mode, .. } => format!("{area}:{}", mode.as_str()),
            CommandKind::Disarm { area } | CommandKind::WalkTest { area, .. } => area.clone(),
            CommandKind::Acknowledge { alarm, .. } | CommandKind::Resolve { alarm, .. } => {
                format!("alarm:{alarm}")
            }
            CommandKind::Bypass { zone, .. } => zone.clone(),
            CommandKind::HandoverNote { .. } => "handover".into(),
        }
    }
}

/// A command with the verified person behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// What to do.
    pub kind: CommandKind,
    /// Who asked, verified.
    pub actor: Actor,
}

/// A trouble of the gateway itself (a broker, a bus), reported by whoever watches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemTrouble {
    /// Stable id of what is in trouble, e.g. `mqtt`.
    pub id: String,
    /// Contact ID code (330 peripheral, 350 communication…).
    pub code: ContactId,
    /// true when the trouble begins, false when it is over.
    pub active: bool,
    /// What it is, in Vietnamese.
    pub what_vi: String,
    /// What it is, in English.
    pub what_en: String,
    /// The Contact ID zone it is reported with (a DC-09 path: 1 primary, 2 backup); none
    /// gives 000.
    pub number: Option<u16>,
}

/// An evidence file (an alarm's clip or snapshot) written or deleted, so its fingerprint
/// enters the hash-chained history: a clip changed afterwards no longer matches the
/// chain, and a deletion is on record with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceNote {
    /// The alarm it belongs to.
    pub alarm: AlarmId,
    /// The camera it came from.
    pub camera: String,
    /// What it is.
    pub kind: EvidenceKind,
    /// Its file name in the evidence directory.
    pub file: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// File size.
    pub bytes: u64,
    /// `None` when written; when retention deleted it, why (Vietnamese, English).
    pub deleted: Option<(String, String)>,
}

/// The kinds of evidence a camera leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceKind {
    /// An MP4 of the seconds around the alarm.
    Clip,
    /// A JPEG of the picture when the alarm was raised.
    Snapshot,
}

impl EvidenceKind {
    /// The name the journal's `evidence` table uses.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::Clip => "clip",
            EvidenceKind::Snapshot => "snapshot",
        }
    }

    /// The kind named `name` in the journal.
    pub fn from_name(name: &str) -> Option<EvidenceKind> {
        match name {
            "clip" => Some(EvidenceKind::Clip),
            "snapshot" => Some(EvidenceKind::Snapshot),
            _ => None,
        }
    }
}

/// One input to the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A person's action that was refused before reaching the engine (wrong code, lockout):
    /// only audited. The engine stamps it with its own time.
    Audit(AuditEntry),
    /// A gateway trouble begins or ends.
    Trouble(SystemTrouble),
    /// A sensor reading.
    Observation(Observation),
    /// A person's command.
    Command(Command),
    /// Time has passed; fire due timers.
    Tick,
    /// The schedule says the receiving centre is owed a periodic test report (602).
    TestReport,
    /// An evidence file was written or deleted.
    Evidence(EvidenceNote),
}

/// What kind of thing happened, for the journal's `kind` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A sensor changed state (opened, closed, detected, cleared).
    SensorChanged,
    /// A new alarm.
    AlarmRaised,
    /// A zone with an unacknowledged alarm tripped again.
    AlarmRetriggered,
    /// The zone of an open alarm went back to normal.
    AlarmZoneRestored,
    /// A second detector confirmed the intrusion.
    AlarmConfirmed,
    /// A person took responsibility for the alarm.
    AlarmAcknowledged,
    /// A person closed the alarm.
    AlarmResolved,
    /// A disarm within the abort window.
    AlarmCancelled,
    /// Something broke.
    Trouble,
    /// It works again.
    TroubleRestored,
    /// Arming began; exit delay runs.
    ArmingStarted,
    /// The area is armed.
    Armed,
    /// The area is disarmed.
    Disarmed,
    /// An entry delay began.
    EntryDelayStarted,
    /// The exit delay ended with the entry/exit zone still open.
    ExitError,
    /// A zone was bypassed.
    Bypassed,
    /// A bypass was removed.
    BypassRemoved,
    /// A walk test began.
    WalkTestStarted,
    /// A zone was tripped during a walk test.
    WalkTestTrigger,
    /// A walk test ended.
    WalkTestEnded,
    /// Sirens stopped at the time limit.
    SirenTimeout,
    /// The periodic test report to the receiving centre.
    TestReport,
    /// An alarm's clip or snapshot was written; the event holds its SHA-256.
    EvidenceRecorded,
    /// Retention deleted an alarm's clip or snapshot.
    EvidenceDeleted,
    /// A shift handover note.
    HandoverNote,
}

impl EventKind {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::SensorChanged => "sensor_changed",
            EventKind::AlarmRaised => "alarm_raised",
            EventKind::AlarmRetriggered => "alarm_retriggered",
            EventKind::AlarmZoneRestored => "alarm_zone_restored",
            EventKind::AlarmConfirmed => "alarm_confirmed",
            EventKind::AlarmAcknowledged => "alarm_acknowledged",
            EventKind::AlarmResolved => "alarm_resolved",
            EventKind::AlarmCancelled => "alarm_cancelled",
            EventKind::Trouble => "trouble",
            EventKind::TroubleRestored => "trouble_restored",
            EventKind::ArmingStarted => "arming_started",
            EventKind::Armed => "armed",
            EventKind::Disarmed => "disarmed",
            EventKind::EntryDelayStarted => "entry_delay_started",
            EventKind::ExitError => "exit_error",
            EventKind::HandoverNote => "handover_note",
            EventKind::Bypassed => "bypassed",
            EventKind::BypassRemoved => "bypass_removed",
            EventKind::WalkTestStarted => "walk_test_started",
            EventKind::WalkTestTrigger => "walk_test_trigger",
            EventKind::WalkTestEnded => "walk_test_ended",
            EventKind::SirenTimeout => "siren_timeout",
            EventKind::TestReport => "test_report",
            EventKind::EvidenceRecorded => "evidence_recorded",
            EventKind::EvidenceDeleted => "evidence_deleted",
        }
    }
}

/// One entry of the journal's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    pub kind: EventKind,
    /// Category, for filtering and routing.
    pub category: Category,
    /// Contact ID code, for events a receiving centre takes; `None` for status events
    /// (a door opening while disarmed, an alarm acknowledged).
    pub code: Option<ContactId>,
    /// New, restore or status.
    pub qualifier: Qualifier,
    /// Area concerned.
    pub area: Option<String>,
    /// Zone concerned.
    pub zone: Option<String>,
    /// Contact ID zone number: the sensor's point number, else the zone's, or the user's
    /// number for openings, closings, cancels and duress.
    pub zone_number: Option<u16>,
    /// The area's number at the receiving centre (Contact ID group); not journaled, it
    /// follows the configuration.
    pub area_number: Option<u8>,
    /// Sensor concerned.
    pub sensor: Option<String>,
    /// Alarm this event belongs to.
    pub alarm: Option<AlarmId>,
    /// Person who caused it.
    pub user: Option<String>,
    /// Vietnamese text.
    pub message_vi: String,
    /// English text.
    pub message_en: String,
    /// The source message that caused it.
    pub source_ref: Option<String>,
}

/// Where an alarm is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmState {
    /// Raised, nobody has taken it yet.
    Raised,
    /// A person is handling it.
    Acknowledged,
    /// Closed with a resolution.
    Resolved,
}

impl AlarmState {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Raised => "raised",
            AlarmState::Acknowledged => "acknowledged",
            AlarmState::Resolved => "resolved",
        }
    }
}

/// An alarm: raised → acknowledged → resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    /// Engine-assigned id.
    pub id: AlarmId,
    /// Category (fire, burglary…).
    pub category: Category,
    /// Contact ID code it was raised with.
    pub code: ContactId,
    /// Area.
    pub area: String,
    /// Zone, when one caused it (duress has none).
    pub zone: Option<String>,
    /// Sensor, when one caused it.
    pub sensor: Option<String>,
    /// When raised.
    pub raised_at: Timestamp,
    /// Confirmed by a second detector (intrusions); 24-hour alarms are born confirmed.
    pub confirmed: bool,
    /// No sirens, no local indication.
    pub silent: bool,
    /// Cancelled by a disarm inside the abort window.
    pub cancelled: bool,
    /// Where it is in its life.
    pub state: AlarmState,
    /// Sirens sound until this time (None: not sounding).
    pub siren_until: Option<Timestamp>,
    /// Who acknowledged.
    pub acknowledged_by: Option<String>,
    /// When acknowledged.
    pub acknowledged_at: Option<Timestamp>,
    /// Who resolved.
    pub resolved_by: Option<String>,
    /// When resolved.
    pub resolved_at: Option<Timestamp>,
    /// How it ended.
    pub resolution: Option<Resolution>,
    /// Notes from acknowledgement and resolution.
    pub note: String,
}

/// Why escalation should act on an alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationTrigger {
    /// A new alarm: start the tiers.
    Raised,
    /// The intrusion was confirmed: jump to the police tier.
    Confirmed,
    /// Acknowledged: stop further tiers.
    Acknowledged,
    /// Cancelled in the abort window: tell whoever was told.
    Cancelled,
    /// Resolved: close.
    Resolved,
}

/// A request for the escalation layer, written to the outbox in the same transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Escalation {
    /// The alarm.
    pub alarm: AlarmId,
    /// What happened to it.
    pub trigger: EscalationTrigger,
    /// Its category, for per-category policy.
    pub category: Category,
    /// Confirmed at this moment.
    pub confirmed: bool,
    /// Silent alarms go out silently.
    pub silent: bool,
}

/// The state an output should be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputPattern {
    /// Off.
    Off,
    /// Steady on (intrusion, fault LED).
    Steady,
    /// ISO 8201 temporal-3 (fire).
    Temporal3,
}

/// An output whose state changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputChange {
    /// Output id.
    pub output: String,
    /// What it drives.
    pub kind: OutputKind,
    /// New pattern.
    pub pattern: OutputPattern,
}

/// One person's action, for the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When.
    pub at: Timestamp,
    /// Who (`unknown` when no code matched).
    pub user: String,
    /// Their role; none when nobody was recognised.
    pub role: Option<Role>,
    /// From where.
    pub origin: Origin,
    /// From where exactly, when known: a client address, a phone number.
    pub address: Option<String>,
    /// What they asked (`arm`, `disarm`, …).
    pub action: String,
    /// What it was about (area, zone or alarm id).
    pub target: String,
    /// `ok` or `refused: reason`.
    pub result: String,
}

/// Why a command or observation was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// Vietnamese text.
    pub reason_vi: String,
    /// English text.
    pub reason_en: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} / {}", self.reason_vi, self.reason_en)
    }
}

/// Everything one input produced. Committed to the journal as one transaction before any
/// of it takes effect.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// History to append.
    pub events: Vec<Event>,
    /// Alarms raised or changed (full current record).
    pub alarms: Vec<Alarm>,
    /// Outputs whose state changed.
    pub outputs: Vec<OutputChange>,
    /// Work for the escalation layer.
    pub escalations: Vec<Escalation>,
    /// People's actions.
    pub audit: Vec<AuditEntry>,
    /// Area snapshots to persist (changed areas only).
    pub areas: Vec<super::state::AreaState>,
    /// Sensor snapshots to persist (changed sensors only).
    pub sensors: Vec<super::state::SensorState>,
    /// Sensors heard without a state change: only their last-seen time is updated.
    pub seen: Vec<(String, Timestamp)>,
    /// Set when the input was refused.
    pub refused: Option<Refusal>,
    /// For each zone restore event: every open alarm of that zone and code, so those told
    /// about any of them hear the one restore.
    pub zone_restores: Vec<ZoneRestore>,
    /// Alarms retriggered by a zone that had been back to normal (its restore told): a new
    /// report of the same code, which those told hear as they heard the restore. A zone
    /// tripped again while it is still held (another of its sensors) stays one report.
    pub retriggered_after_restore: Vec<AlarmId>,
}

/// One zone restore event and the open alarms it restores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneRestore {
    /// The alarm the restore event is tied to (the newest).
    pub alarm: AlarmId,
    /// Its Contact ID code.
    pub code: ContactId,
    /// Every open alarm of the zone with that code, the newest included.
    pub alarms: Vec<AlarmId>,
}

/// What ended in a zone: its detection, or a sensor's tamper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreOf {
    /// Every sensor of the zone is back to normal.
    Detection,
    /// A sensor's tamper switch closed again (144).
    Tamper,
}

impl Outcome {
    /// Did this input change anything worth a journal entry beyond last-seen times?
    pub fn changes_state(&self) -> bool {
        !self.events.is_empty()
            || !self.alarms.is_empty()
            || !self.audit.is_empty()
            || !self.areas.is_empty()
            || !self.sensors.is_empty()
    }
}
