//! The engine's memory of areas and sensors, kept in the journal so a restart resumes
//! where the engine stopped: an armed area stays armed, a running entry delay keeps
//! running, a missing sensor stays in trouble.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::clock::Timestamp;
use super::model::{AlarmId, Mode, Origin};

/// Why a zone is bypassed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BypassReason {
    /// A supervisor bypassed it.
    Manual,
    /// Open at arming and allowed to auto-bypass.
    Auto,
    /// Open at a supervisor's force-arm.
    Forced,
    /// Alarmed too often in one arming period (swinger shutdown).
    Swinger,
}

impl BypassReason {
    /// Vietnamese and English reason text.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            BypassReason::Manual => ("bỏ qua thủ công", "manual bypass"),
            BypassReason::Auto => ("tự động bỏ qua khi bật", "auto-bypassed at arming"),
            BypassReason::Forced => ("bỏ qua khi bật cưỡng bức", "bypassed by force-arm"),
            BypassReason::Swinger => (
                "báo động quá nhiều lần (swinger)",
                "too many alarms (swinger shutdown)",
            ),
        }
    }
}

/// A running entry delay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryDelay {
    /// When it runs out.
    pub until: Timestamp,
    /// The entry/exit zone that started it.
    pub zone: String,
    /// The sensor that started it.
    pub sensor: String,
    /// Interior-follower zones tripped while it ran: (zone, sensor).
    pub followers: Vec<(String, String)>,
}

/// An intrusion activation remembered for confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntrusionTrigger {
    /// Sensor that tripped.
    pub sensor: String,
    /// When.
    pub at: Timestamp,
    /// Alarm it raised or joined.
    pub alarm: AlarmId,
}

/// A running walk test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkTest {
    /// When it ends by itself.
    pub until: Timestamp,
    /// Zones tripped so far.
    pub tested: BTreeSet<String>,
}

/// One area's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaState {
    /// Area id.
    pub area: String,
    /// Mode (the target mode while an exit delay runs).
    pub mode: Mode,
    /// Exit delay end, while arming.
    pub exit_until: Option<Timestamp>,
    /// Running entry delay.
    pub entry: Option<EntryDelay>,
    /// Who armed.
    pub armed_by: Option<String>,
    /// Where they armed from, for the closing report's code.
    #[serde(default)]
    pub armed_via: Option<Origin>,
    /// Their number at the receiving centre, for the closing report.
    #[serde(default)]
    pub armed_by_number: Option<u16>,
    /// Bypassed zones and why.
    pub bypassed: BTreeMap<String, BypassReason>,
    /// Alarm activations per zone in this arming period (swinger shutdown).
    pub activations: BTreeMap<String, u32>,
    /// Recent intrusion activations (confirmation window).
    pub recent_intrusions: Vec<IntrusionTrigger>,
    /// Running walk test.
    pub walk_test: Option<WalkTest>,
}

impl AreaState {
    /// A disarmed area with nothing going on.
    pub fn new(area: &str) -> Self {
        AreaState {
            area: area.to_string(),
            mode: Mode::Disarmed,
            exit_until: None,
            entry: None,
            armed_by: None,
            armed_via: None,
            armed_by_number: None,
            bypassed: BTreeMap::new(),
            activations: BTreeMap::new(),
            recent_intrusions: Vec::new(),
            walk_test: None,
        }
    }

    /// Armed (or arming) in some mode.
    pub fn is_armed(&self) -> bool {
        self.mode != Mode::Disarmed
    }
}

/// One sensor's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensorState {
    /// Sensor id.
    pub sensor: String,
    /// Detecting (open, motion, smoke…).
    pub active: bool,
    /// Tamper switch open.
    pub tamper: bool,
    /// Battery low.
    pub battery_low: bool,
    /// Not heard within its supervision interval, or reported offline.
    pub missing: bool,
    /// Camera picture lost.
    pub video_loss: bool,
    /// Last time anything was heard from it.
    pub last_seen: Option<Timestamp>,
}

impl SensorState {
    /// A sensor never heard from.
    pub fn new(sensor: &str) -> Self {
        SensorState {
            sensor: sensor.to_string(),
            active: false,
            tamper: false,
            battery_low: false,
            missing: false,
            video_loss: false,
            last_seen: None,
        }
    }

    /// Has any open trouble (drives the fault LED).
    pub fn has_trouble(&self) -> bool {
        self.missing || self.battery_low || self.video_loss || self.tamper
    }
}
