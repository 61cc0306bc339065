//! The change stream: what each commit changed — its events and the area, sensor and
//! alarm records it touched — in commit order, for everything that shows or publishes the
//! panel: picket's own MQTT topics, the page's live updates, the API, the SMS inbox's
//! status reply and the cameras' alarm clips.
//!
//! The engine task publishes one [`ChangeSet`] per commit, and just before it the panel
//! as it stands after that commit ([`PanelView`]). The panel's maps are persistent and
//! their entries shared, so a new version costs what the commit changed, not the size of
//! the site or the number of open alarms. A reader ([`ChangeReader`]) first gets the
//! panel as it stands, then every set after it, in order; one that falls more than
//! [`BUFFERED`] sets behind gets the panel as it stands again ([`Change::Snapshot`]) and
//! goes on from there. So a slow reader never holds memory without bound, and never shows
//! a state the panel is not in.

use imbl::OrdMap;
use std::sync::Arc;
use tokio::sync::{broadcast, watch};

use crate::engine::state::{AreaState, SensorState};
use crate::engine::{Alarm, AlarmId, AlarmState, Clock, Engine, Event, Timestamp};

/// Sets kept for readers that are behind; a reader further behind is resynchronised.
pub const BUFFERED: usize = 1024;

/// An event as published to the page, MQTT and channels.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    /// Journal sequence number; `None` if the journal could not be written.
    pub seq: Option<i64>,
    /// The event.
    pub event: Event,
}

/// The panel as it stands after a commit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PanelView {
    /// The commit this is the state after: that of the last [`ChangeSet`] applied (0 at
    /// start).
    pub version: u64,
    /// Areas by id.
    pub areas: OrdMap<String, Arc<AreaState>>,
    /// Sensors by id.
    pub sensors: OrdMap<String, Arc<SensorState>>,
    /// Open alarms by id.
    pub alarms: OrdMap<AlarmId, Arc<Alarm>>,
}

impl PanelView {
    /// The engine's state now.
    pub fn of<C: Clock>(engine: &Engine<C>) -> Self {
        PanelView {
            version: 0,
            areas: engine
                .areas()
                .map(|a| (a.area.clone(), Arc::new(a.clone())))
                .collect(),
            sensors: engine
                .sensors()
                .map(|s| (s.sensor.clone(), Arc::new(s.clone())))
                .collect(),
            alarms: engine
                .open_alarms()
                .map(|a| (a.id, Arc::new(a.clone())))
                .collect(),
        }
    }

    /// The panel after `set`.
    fn apply(&mut self, set: &ChangeSet) {
        self.version = set.version;
        for a in &set.areas {
            self.areas.insert(a.area.clone(), a.clone());
        }
        for s in &set.sensors {
            self.sensors.insert(s.sensor.clone(), s.clone());
        }
        for alarm in &set.alarms {
            if alarm.state == AlarmState::Resolved {
                self.alarms.remove(&alarm.id);
            } else {
                self.alarms.insert(alarm.id, alarm.clone());
            }
        }
    }
}

/// What one commit changed, in the order it happened.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeSet {
    /// Its place in the stream: one more than the set before it.
    pub version: u64,
    /// The events journaled.
    pub events: Vec<Arc<Published>>,
    /// Areas as they are now.
    pub areas: Vec<Arc<AreaState>>,
    /// Sensors whose state changed, as they are now.
    pub sensors: Vec<Arc<SensorState>>,
    /// Every alarm record that changed, resolved ones included (once).
    pub alarms: Vec<Arc<Alarm>>,
}

impl ChangeSet {
    /// Nothing in it.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.areas.is_empty()
            && self.sensors.is_empty()
            && self.alarms.is_empty()
    }
}

/// What a reader gets next.
#[derive(Debug, Clone)]
pub enum Change {
    /// The panel as it stands: at the start, and after falling behind. Events before it
    /// that the reader did not see are in the journal.
    Snapshot(Arc<PanelView>),
    /// The next commit's changes.
    Set(Arc<ChangeSet>),
}

/// The writing end, held by the engine task; clones share the stream.
#[derive(Clone)]
pub struct Changes {
    panel: watch::Sender<Arc<PanelView>>,
    sets: broadcast::Sender<Arc<ChangeSet>>,
}

impl Changes {
    /// A stream whose panel starts as `panel`.
    pub fn new(panel: PanelView) -> Self {
        Changes {
            panel: watch::channel(Arc::new(panel)).0,
            sets: broadcast::channel(BUFFERED).0,
        }
    }

    /// The panel as it stands now.
    pub fn panel(&self) -> Arc<PanelView> {
        self.panel.borrow().clone()
    }

    /// A reader whose first change is the panel as it stands now, at this call.
    pub fn reader(&self) -> ChangeReader {
        // Subscribed before the panel is read, so no set after it can be missed: a set
        // is sent only after the panel that includes it.
        let sets = self.sets.subscribe();
        let mut panel = self.panel.subscribe();
        let now = panel.borrow_and_update().clone();
        ChangeReader {
            sets,
            panel,
            after: now.version,
            first: Some(now),
        }
    }

    /// A reader that starts after the panel as it stands now: for a reader that has just
    /// shown or published that panel itself, so its first change is the next set (or the
    /// panel again, if it falls behind).
    pub fn reader_after_now(&self) -> ChangeReader {
        let mut reader = self.reader();
        reader.first = None;
        reader
    }

    /// Publishes one commit's changes, and `seen` (sensors heard without a change) in the
    /// panel's records of them when there is a new panel anyway: an empty set publishes
    /// nothing, so a sensor repeating itself wakes no reader.
    pub fn publish(&self, mut set: ChangeSet, seen: &[(String, Timestamp)]) {
        if set.is_empty() {
            return;
        }
        let mut panel = PanelView::clone(&self.panel.borrow());
        set.version = panel.version + 1;
        panel.apply(&set);
        for (sensor, at) in seen {
            if let Some(s) = panel.sensors.get_mut(sensor) {
                Arc::make_mut(s).last_seen = Some(*at);
            }
        }
        self.panel.send_replace(Arc::new(panel));
        let _ = self.sets.send(Arc::new(set));
    }
}

/// One reader's place in the stream.
pub struct ChangeReader {
    sets: broadcast::Receiver<Arc<ChangeSet>>,
    panel: watch::Receiver<Arc<PanelView>>,
    /// The version this reader has seen up to.
    after: u64,
    /// The panel when the reader was made, until it is read.
    first: Option<Arc<PanelView>>,
}

impl ChangeReader {
    /// The next change: first the panel as it stands, then each set after it in commit
    /// order; the panel again if this reader fell [`BUFFERED`] sets behind. `None` once
    /// the engine has stopped.
    pub async fn next(&mut self) -> Option<Change> {
        if let Some(first) = self.first.take() {
            return Some(Change::Snapshot(first));
        }
        loop {
            match self.sets.recv().await {
                Ok(set) => {
                    if let Some(change) = self.accept(set) {
                        return Some(change);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    return Some(self.resync(missed));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The next change if one is waiting, without waiting: for a reader that takes what
    /// has piled up in one go.
    pub fn try_next(&mut self) -> Option<Change> {
        if let Some(first) = self.first.take() {
            return Some(Change::Snapshot(first));
        }
        loop {
            match self.sets.try_recv() {
                Ok(set) => {
                    if let Some(change) = self.accept(set) {
                        return Some(change);
                    }
                }
                Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                    return Some(self.resync(missed));
                }
                Err(_) => return None,
            }
        }
    }

    /// `set`, unless the panel this reader last had already includes it.
    fn accept(&mut self, set: Arc<ChangeSet>) -> Option<Change> {
        (set.version > self.after).then(|| {
            self.after = set.version;
            Change::Set(set)
        })
    }

    /// The panel as it stands, for a reader `missed` sets behind.
    fn resync(&mut self, missed: u64) -> Change {
        tracing::warn!(missed, "a change reader fell behind; it resynchronises");
        self.snapshot()
    }

    /// The panel as it stands, and this reader moved past every set it includes: to the
    /// stream's end first, then the panel read (a set is sent after its panel), so the
    /// sets the reader gets next are exactly those after it.
    fn snapshot(&mut self) -> Change {
        self.sets = self.sets.resubscribe();
        let panel = self.panel.borrow_and_update().clone();
        self.after = panel.version;
        Change::Snapshot(panel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sensor(id: &str, active: bool) -> Arc<SensorState> {
        Arc::new(SensorState {
            active,
            ..SensorState::new(id)
        })
    }

    fn set_of(sensors: Vec<Arc<SensorState>>) -> ChangeSet {
        ChangeSet {
            sensors,
            ..ChangeSet::default()
        }
    }

    #[tokio::test]
    async fn a_reader_starts_with_the_panel_then_gets_every_set_in_order() {
        let changes = Changes::new(PanelView::default());
        changes.publish(set_of(vec![sensor("door", true)]), &[]);
        let mut reader = changes.reader();
        let Some(Change::Snapshot(first)) = reader.next().await else {
            panic!("a reader starts with the panel");
        };
        assert_eq!(first.version, 1);
        assert!(first.sensors["door"].active);
        for n in 0..10 {
            changes.publish(set_of(vec![sensor("door", n % 2 == 1)]), &[]);
        }
        for n in 0..10u64 {
            let Some(Change::Set(set)) = reader.next().await else {
                panic!("set {n} in order");
            };
            assert_eq!(set.version, n + 2);
            assert_eq!(set.sensors[0].active, n % 2 == 1);
        }
    }

    #[tokio::test]
    async fn a_reader_after_now_starts_with_the_next_set() {
        let changes = Changes::new(PanelView::default());
        changes.publish(set_of(vec![sensor("door", true)]), &[]);
        let mut reader = changes.reader_after_now();
        assert!(reader.try_next().is_none(), "nothing before the next set");
        changes.publish(set_of(vec![sensor("door", false)]), &[]);
        let Some(Change::Set(set)) = reader.next().await else {
            panic!("the first change is the set after the panel");
        };
        assert_eq!(set.version, 2);
    }

    #[tokio::test]
    async fn a_reader_far_behind_gets_the_panel_as_it_stands_and_goes_on_from_there() {
        let changes = Changes::new(PanelView::default());
        let mut reader = changes.reader();
        assert!(matches!(reader.next().await, Some(Change::Snapshot(_))));
        for n in 0..(BUFFERED * 3) {
            changes.publish(
                set_of(vec![sensor(&format!("s{}", n % 7), n % 2 == 0)]),
                &[],
            );
        }
        let Some(Change::Snapshot(now)) = reader.next().await else {
            panic!("a reader behind is resynchronised");
        };
        assert_eq!(now.version, (BUFFERED * 3) as u64);
        assert_eq!(*now, *changes.panel());
        changes.publish(set_of(vec![sensor("s0", true)]), &[]);
        let got = reader.next().await;
        let Some(Change::Set(next)) = got else {
            panic!("and then goes on with the next set: {got:?}");
        };
        assert_eq!(next.version, now.version + 1);
    }

    #[tokio::test]
    async fn a_sensor_heard_without_a_change_publishes_nothing() {
        let changes = Changes::new(PanelView::default());
        changes.publish(set_of(vec![sensor("door", false)]), &[]);
        changes.publish(
            ChangeSet::default(),
            &[("door".into(), Timestamp::default())],
        );
        assert_eq!(changes.panel().version, 1);
    }
}
