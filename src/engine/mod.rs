//! The alarm engine: a deterministic state machine with no I/O.
//!
//! It takes [`Input`]s (observations, commands, ticks) and returns an [`Outcome`] for
//! each, doing what a professional alarm panel does: arming modes with exit and entry
//! delays, 24-hour zones, confirmation by a second detector, swinger shutdown,
//! supervision, duress, cancel in the abort window, walk tests, siren limits. Time comes
//! from a [`Clock`]; the same inputs at the same times always give the same outcomes.

pub mod clock;
pub mod codes;
mod commands;
mod evidence;
mod messages;
pub mod model;
mod outputs;
mod readings;
pub mod site;
pub mod state;
#[cfg(test)]
mod tests;
mod timers;
mod zones;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::config::{OutputKind, SensorKind, ZoneType};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp, TokioClock};
pub use codes::{Category, ContactId, Qualifier};
use messages::Text;
pub use model::*;
pub use readings::SYSTEM_TROUBLE_REF;
pub use site::Site;
use state::{AreaState, BypassReason, EntryDelay, IntrusionTrigger, SensorState, WalkTest};

/// What the engine remembers across restarts, as loaded from the journal.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Area states.
    pub areas: Vec<AreaState>,
    /// Sensor states.
    pub sensors: Vec<SensorState>,
    /// Alarms not yet resolved.
    pub open_alarms: Vec<Alarm>,
    /// The next alarm id to assign.
    pub next_alarm: AlarmId,
}

/// The panel.
pub struct Engine<C: Clock> {
    /// Where "now" comes from.
    clock: C,
    /// The configured site.
    site: Arc<Site>,
    /// Area states by id.
    areas: BTreeMap<String, AreaState>,
    /// Sensor states by id.
    sensors: BTreeMap<String, SensorState>,
    /// Alarms not yet resolved, by id.
    alarms: BTreeMap<AlarmId, Alarm>,
    /// Next alarm id.
    next_alarm: AlarmId,
    /// Current output patterns, to report only changes.
    outputs: BTreeMap<String, OutputPattern>,
    /// Supervision baseline for sensors never heard from.
    started_at: Timestamp,
    /// Gateway troubles open now (drive the fault LED).
    system_troubles: BTreeSet<String>,
    /// The earliest a timer can fall due, as far as the engine knows: timers are looked
    /// at only once it has come, so an input costs what it changes, not the number of
    /// sensors, areas or open alarms.
    timers_due: TimersDue,
}

/// When the engine's timers (exit and entry delays, walk tests, siren limits, sensor
/// supervision) can next fall due: never earlier than this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimersDue {
    /// Not known: look at every timer.
    Unknown,
    /// None is running.
    Never,
    /// Not before then.
    At(Timestamp),
}

/// Work in progress for one input.
struct Step {
    /// The input's time.
    now: Timestamp,
    /// What is being produced.
    out: Outcome,
    /// Areas changed.
    dirty_areas: BTreeSet<String>,
    /// Sensors changed.
    dirty_sensors: BTreeSet<String>,
    /// Alarms changed.
    dirty_alarms: BTreeSet<AlarmId>,
    /// The source message being handled.
    source_ref: Option<String>,
}

/// Who and what an event is about.
#[derive(Default)]
struct About<'a> {
    area: Option<&'a str>,
    zone: Option<&'a str>,
    sensor: Option<&'a str>,
    alarm: Option<AlarmId>,
    user: Option<&'a str>,
    /// The Contact ID zone to report instead of the sensor's or zone's number: a user's
    /// number (openings, closings, cancel, duress), a DC-09 path's.
    number: Option<u16>,
}

impl<C: Clock> Engine<C> {
    /// A fresh engine: everything disarmed, nothing heard yet.
    pub fn new(site: Arc<Site>, clock: C) -> Self {
        Self::restore(site, clock, Snapshot::default())
    }

    /// An engine that continues from a journal snapshot. Unknown ids (removed from the
    /// configuration since) are dropped; new ones start fresh.
    pub fn restore(site: Arc<Site>, clock: C, snapshot: Snapshot) -> Self {
        let started_at = clock.now();
        let mut areas: BTreeMap<String, AreaState> = site
            .areas
            .keys()
            .map(|id| (id.clone(), AreaState::new(id)))
            .collect();
        for saved in snapshot.areas {
            if let Some(slot) = areas.get_mut(&saved.area) {
                *slot = saved;
            }
        }
        let mut sensors: BTreeMap<String, SensorState> = site
            .sensors
            .keys()
            .map(|id| (id.clone(), SensorState::new(id)))
            .collect();
        for saved in snapshot.sensors {
            if let Some(slot) = sensors.get_mut(&saved.sensor) {
                *slot = saved;
            }
        }
        let next_alarm = snapshot
            .open_alarms
            .iter()
            .map(|a| a.id + 1)
            .max()
            .unwrap_or(1)
            .max(snapshot.next_alarm)
            .max(1);
        let alarms = snapshot
            .open_alarms
            .into_iter()
            .filter(|a| a.state != AlarmState::Resolved)
            .map(|a| (a.id, a))
            .collect();
        let mut engine = Engine {
            clock,
            site,
            areas,
            sensors,
            alarms,
            next_alarm,
            outputs: BTreeMap::new(),
            started_at,
            system_troubles: BTreeSet::new(),
            timers_due: TimersDue::Unknown,
        };
        engine.outputs = engine.desired_outputs(started_at);
        engine
    }

    /// The engine's current time.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The site this engine runs.
    pub fn site(&self) -> &Arc<Site> {
        &self.site
    }

    /// Handles one input and returns everything it produced.
    pub fn handle(&mut self, input: Input) -> Outcome {
        let now = self.clock.now();
        let mut step = Step {
            now,
            out: Outcome::default(),
            dirty_areas: BTreeSet::new(),
            dirty_sensors: BTreeSet::new(),
            dirty_alarms: BTreeSet::new(),
            source_ref: None,
        };
        // Whatever fell due before this input happened before it.
        let due = match self.timers_due {
            TimersDue::Unknown => true,
            TimersDue::Never => false,
            TimersDue::At(t) => t <= now,
        };
        if due {
            self.run_timers(&mut step);
            self.timers_due = TimersDue::Unknown;
        }
        match input {
            Input::Observation(obs) => {
                step.source_ref = obs.source_ref.clone();
                self.observe(&mut step, obs);
            }
            Input::Command(cmd) => self.command(&mut step, cmd),
            Input::Trouble(t) => self.system_trouble(&mut step, t),
            Input::Audit(mut entry) => {
                entry.at = now;
                step.out.audit.push(entry);
            }
            Input::Tick => {}
            Input::TestReport => self.test_report(&mut step),
            Input::Evidence(note) => {
                step.source_ref = Some(evidence::source_ref(&note.sha256));
                self.evidence(&mut step, &note);
            }
        }
        self.finish(step)
    }

    /// A time no later than the earliest at which a tick will change something, so the
    /// runtime can sleep until then instead of polling; it costs nothing to ask. (Sensors
    /// heard since it was worked out may have moved their supervision later: a tick then
    /// finds nothing due and works it out again.)
    pub fn timers_due_by(&self) -> Option<Timestamp> {
        match self.timers_due {
            TimersDue::At(t) => Some(t),
            TimersDue::Never => None,
            TimersDue::Unknown => self.next_deadline(),
        }
    }

    /// Makes the next input look at every timer, as if nothing were known of when they
    /// fall due: for the property test that looking only when due decides the same.
    #[doc(hidden)]
    pub fn forget_timers(&mut self) {
        self.timers_due = TimersDue::Unknown;
    }

    /// The earliest time at which a tick will change something, worked out from every
    /// timer.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let areas = self.areas.values().flat_map(|a| {
            [
                a.exit_until,
                a.entry.as_ref().map(|e| e.until),
                a.walk_test.as_ref().map(|w| w.until),
            ]
        });
        let sirens = self.alarms.values().map(|a| a.siren_until);
        let supervision = self.sensors.values().map(|s| self.supervision_deadline(s));
        areas.chain(sirens).chain(supervision).flatten().min()
    }

    /// Current state of every area.
    pub fn areas(&self) -> impl Iterator<Item = &AreaState> {
        self.areas.values()
    }

    /// Current state of every sensor.
    pub fn sensors(&self) -> impl Iterator<Item = &SensorState> {
        self.sensors.values()
    }

    /// Alarms not yet resolved.
    pub fn open_alarms(&self) -> impl Iterator<Item = &Alarm> {
        self.alarms.values()
    }

    /// Current output patterns.
    pub fn outputs(&self) -> &BTreeMap<String, OutputPattern> {
        &self.outputs
    }

    /// The next alarm id, for snapshots.
    pub fn next_alarm_id(&self) -> AlarmId {
        self.next_alarm
    }

    /// Zones of an area not yet tripped in the running walk test (fire zones excluded:
    /// they keep alarming during a walk test).
    pub fn untested_zones(&self, area: &str) -> Vec<String> {
        let Some(state) = self.areas.get(area) else {
            return Vec::new();
        };
        let tested = state.walk_test.as_ref().map(|w| &w.tested);
        self.site
            .areas
            .get(area)
            .map(|a| {
                a.zones
                    .iter()
                    .filter(|z| self.zone_type(z) != Some(ZoneType::Fire))
                    .filter(|z| tested.is_none_or(|t| !t.contains(*z)))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}
