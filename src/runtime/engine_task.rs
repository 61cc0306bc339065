//! The engine task: the only owner of the engine and the only writer of the journal.
//!
//! Inputs arrive on a channel; the task takes what is queued (up to [`MAX_BATCH`]), runs
//! each through the engine, commits all outcomes in one transaction, and only then
//! replies to the senders (the MQTT ack, the feed ack) and publishes effects. When the
//! journal cannot be written, effects still go out — life safety outranks bookkeeping —
//! a system trouble (300) is raised, senders are told their input was not committed, the
//! deliveries are planned in the writer's shadow outbox so every channel still hears of
//! the alarm, and the outcomes are kept to be written once the journal recovers.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;

use crate::engine::{
    Category, Clock, ContactId, Engine, Event, EventKind, Input, Outcome, Qualifier,
};
use crate::journal::Writer;
use crate::shared::changes::{ChangeSet, Published};
use crate::shared::effects::Effects;
use crate::shared::engine_handle::{EngineHandle, Envelope, Receipt, Request, SubmitError};

/// Inputs committed together at most.
pub const MAX_BATCH: usize = 256;

/// Outcomes kept in memory while the journal cannot be written. Past this the oldest are
/// dropped; the later ones then get other sequence numbers than the shadow outbox gave
/// them, so what the shadow delivered is not matched and goes again, with new ids.
const MAX_UNWRITTEN: usize = 50_000;

/// The engine task's state.
pub struct EngineTask<C: Clock> {
    engine: Engine<C>,
    writer: Writer,
    rx: mpsc::Receiver<Envelope>,
    effects: Effects,
    /// Outcomes not yet in the journal, oldest first.
    unwritten: VecDeque<Outcome>,
    /// A journal trouble (300) is open.
    journal_trouble: bool,
    /// Whom to tell, and how often, that the loop is alive.
    watchdog: Option<super::watchdog::Watchdog>,
    /// Test hooks: `engine` panics before a batch when armed.
    faults: crate::fault::FaultHooks,
    /// When sensors heard without a change were last heard, not yet in the journal: a
    /// repeat costs no disk write; these are written together every
    /// [`SEEN_WRITE_EVERY`] and at shutdown (a restart then supervises from a time at most
    /// that old, which can only report a sensor missing a little early).
    unsaved_seen: BTreeMap<String, crate::engine::Timestamp>,
}

/// How often last-heard times of sensors that only repeated themselves are written.
pub const SEEN_WRITE_EVERY: Duration = Duration::from_secs(60);

/// Creates the task and its first handle.
pub fn spawn_parts<C: Clock + 'static>(
    engine: Engine<C>,
    writer: Writer,
    effects: Effects,
    watchdog: Option<super::watchdog::Watchdog>,
) -> (EngineTask<C>, EngineHandle) {
    let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
    (
        EngineTask {
            engine,
            writer,
            rx,
            effects,
            unwritten: VecDeque::new(),
            journal_trouble: false,
            watchdog,
            faults: crate::fault::FaultHooks::default(),
            unsaved_seen: BTreeMap::new(),
        },
        EngineHandle { tx },
    )
}

impl<C: Clock + 'static> EngineTask<C> {
    /// The same task with fault hooks a test can arm.
    pub fn with_faults(mut self, faults: crate::fault::FaultHooks) -> Self {
        self.faults = faults;
        self
    }

    /// Runs until every handle is dropped and the queue is drained.
    pub async fn run(mut self) {
        let mut watchdog = self
            .watchdog
            .as_ref()
            .map(|w| tokio::time::interval(w.interval));
        let mut retry = tokio::time::interval(Duration::from_secs(5));
        let mut write_seen = tokio::time::interval(SEEN_WRITE_EVERY);
        write_seen.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let sleep_ms = self
                .engine
                .timers_due_by()
                .map(|d| d.millis_since(self.engine.now()).max(0) as u64);
            tokio::select! {
                biased;
                // First, so that a flood of inputs cannot starve it.
                _ = async { match watchdog.as_mut() { Some(w) => { w.tick().await; } None => std::future::pending().await } } => {
                    if let Some(w) = &self.watchdog {
                        w.beat();
                    }
                }
                first = self.rx.recv() => {
                    let Some(first) = first else { break };
                    let mut batch = Vec::new();
                    first.into_requests(&mut batch);
                    while batch.len() < MAX_BATCH {
                        match self.rx.try_recv() {
                            Ok(envelope) => envelope.into_requests(&mut batch),
                            Err(_) => break,
                        }
                    }
                    self.process(batch).await;
                }
                _ = tokio::time::sleep(Duration::from_millis(sleep_ms.unwrap_or(0))), if sleep_ms.is_some() => {
                    self.process(vec![Request { input: Input::Tick, reply: None }]).await;
                }
                _ = retry.tick(), if !self.unwritten.is_empty() => {
                    self.process(Vec::new()).await;
                }
                _ = write_seen.tick(), if !self.unsaved_seen.is_empty() => {
                    self.write_seen().await;
                }
            }
        }
        if let Some(w) = &self.watchdog {
            w.finish();
        }
        if !self.unwritten.is_empty() {
            self.process(Vec::new()).await;
        }
        self.write_seen().await;
        if !self.unwritten.is_empty() {
            tracing::error!(
                outcomes = self.unwritten.len(),
                "stopping with outcomes that could not be written to the journal"
            );
        }
    }

    /// Writes the last-heard times kept in memory, in one transaction; kept for the next
    /// round when the journal cannot take them.
    async fn write_seen(&mut self) {
        if self.unsaved_seen.is_empty() {
            return;
        }
        let seen = std::mem::take(&mut self.unsaved_seen);
        let outcome = Outcome {
            seen: seen.iter().map(|(s, at)| (s.clone(), *at)).collect(),
            ..Outcome::default()
        };
        if let Err(e) = self.writer.commit(&[&outcome]).await {
            tracing::warn!(error = %e, "cannot write when sensors were last heard; kept for later");
            for (sensor, at) in seen {
                let kept = self.unsaved_seen.entry(sensor).or_insert(at);
                *kept = (*kept).max(at);
            }
        }
    }

    async fn process(&mut self, batch: Vec<Request>) {
        self.faults.check("engine");
        let mut replies = Vec::with_capacity(batch.len());
        let mut fresh = Vec::with_capacity(batch.len());
        for req in batch {
            let is_observation = matches!(req.input, Input::Observation(_));
            let outcome = self.engine.handle(req.input);
            if let Some(refusal) = &outcome.refused {
                let counter = if is_observation {
                    &self.effects.stats.observations_refused
                } else {
                    &self.effects.stats.commands_refused
                };
                counter.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(reason = %refusal, "input refused");
            }
            replies.push((req.reply, outcome.refused.clone()));
            fresh.push(outcome);
        }
        // What others are told, prepared now and sent only after the commit.
        let mut changed = ChangeSet::default();
        for o in &fresh {
            changed.areas.extend(o.areas.iter().cloned().map(Arc::new));
            changed
                .sensors
                .extend(o.sensors.iter().cloned().map(Arc::new));
            changed
                .alarms
                .extend(o.alarms.iter().cloned().map(Arc::new));
        }
        // A sensor only repeating itself costs no write now: its last-heard time waits in
        // memory (see `unsaved_seen`).
        let mut seen = Vec::new();
        for o in &mut fresh {
            for (sensor, at) in o.seen.drain(..) {
                self.unsaved_seen.insert(sensor.clone(), at);
                seen.push((sensor, at));
            }
        }
        let worth_writing = |o: &Outcome| o.changes_state() || !o.seen.is_empty();
        let backlog = self.unwritten.len();
        let to_write: Vec<&Outcome> = self
            .unwritten
            .iter()
            .chain(fresh.iter())
            .filter(|o| worth_writing(o))
            .collect();
        let wrote_something = !to_write.is_empty();
        let result = if to_write.is_empty() {
            Ok(Vec::new())
        } else {
            self.writer.commit(&to_write).await
        };
        match result {
            Ok(committed) => {
                if wrote_something {
                    self.effects
                        .stats
                        .transactions
                        .fetch_add(1, Ordering::Relaxed);
                }
                self.effects
                    .stats
                    .committed
                    .fetch_add(fresh.len() as u64, Ordering::Relaxed);
                // Events of the backlog were already published when they happened.
                let mut committed = committed.into_iter();
                for _ in self.unwritten.iter().filter(|o| worth_writing(o)) {
                    committed.next();
                }
                self.unwritten.clear();
                self.effects
                    .stats
                    .journal_failing
                    .store(false, Ordering::Relaxed);
                if wrote_something {
                    self.effects.outbox.send_modify(|n| *n += 1);
                }
                if self.journal_trouble && backlog > 0 {
                    self.journal_trouble = false;
                    tracing::info!(backlog, "journal writable again; backlog written");
                    let restored = self.journal_event(false, &mut changed.events);
                    self.unwritten.push_back(restored);
                }
                for ((reply, refused), outcome) in replies.into_iter().zip(fresh.iter()) {
                    let events = if worth_writing(outcome) {
                        committed.next().unwrap_or_default()
                    } else {
                        Vec::new()
                    };
                    let published: Vec<Published> = events
                        .into_iter()
                        .map(|c| Published {
                            seq: Some(c.seq),
                            event: c.event,
                        })
                        .collect();
                    for p in &published {
                        let p = Arc::new(p.clone());
                        let _ = self.effects.events.send(p.clone());
                        changed.events.push(p);
                    }
                    if let Some(reply) = reply {
                        let _ = reply.send(match refused {
                            Some(r) => Err(SubmitError::Refused(r)),
                            None => Ok(Receipt { events: published }),
                        });
                    }
                }
            }
            Err(err) => {
                self.effects
                    .stats
                    .commit_failures
                    .fetch_add(1, Ordering::Relaxed);
                self.effects
                    .stats
                    .journal_failing
                    .store(true, Ordering::Relaxed);
                tracing::error!(error = %err, "journal commit failed; effects go out regardless");
                for outcome in &fresh {
                    for event in &outcome.events {
                        let p = Arc::new(Published {
                            seq: None,
                            event: event.clone(),
                        });
                        let _ = self.effects.events.send(p.clone());
                        changed.events.push(p);
                    }
                }
                for (reply, refused) in replies {
                    if let Some(reply) = reply {
                        let _ = reply.send(Err(match refused {
                            Some(r) => SubmitError::Refused(r),
                            None => SubmitError::NotCommitted(err.to_string()),
                        }));
                    }
                }
                let mut newly: Vec<Outcome> =
                    fresh.into_iter().filter(|o| worth_writing(o)).collect();
                if !self.journal_trouble {
                    self.journal_trouble = true;
                    newly.push(self.journal_event(true, &mut changed.events));
                }
                // Deliveries go out regardless, planned in memory in the order the backlog
                // will be written.
                let refs: Vec<&Outcome> = newly.iter().collect();
                match self.writer.commit_to_shadow(&refs).await {
                    Ok(()) => self.effects.outbox.send_modify(|n| *n += 1),
                    Err(e) => {
                        tracing::error!(error = %e, "deliveries cannot be planned in memory either")
                    }
                }
                self.unwritten.extend(newly);
                while self.unwritten.len() > MAX_UNWRITTEN {
                    self.unwritten.pop_front();
                }
            }
        }
        self.effects.changes.publish(changed, &seen);
        let _ = self.effects.outputs.send_if_modified(|current| {
            let next = self.engine.outputs();
            if current != next {
                *current = next.clone();
                true
            } else {
                false
            }
        });
    }

    /// Publishes a system trouble about the journal itself (into `told` as well), and
    /// returns it to be written.
    fn journal_event(&mut self, begins: bool, told: &mut Vec<Arc<Published>>) -> Outcome {
        let event = Event {
            at: self.engine.now(),
            kind: if begins {
                EventKind::Trouble
            } else {
                EventKind::TroubleRestored
            },
            category: Category::Trouble,
            code: Some(ContactId::SYSTEM_TROUBLE),
            qualifier: if begins {
                Qualifier::New
            } else {
                Qualifier::Restore
            },
            area: None,
            zone: None,
            zone_number: None,
            area_number: None,
            sensor: None,
            alarm: None,
            user: None,
            message_vi: if begins {
                "Sự cố hệ thống: không ghi được nhật ký".into()
            } else {
                "Nhật ký ghi được trở lại".into()
            },
            message_en: if begins {
                "System trouble: the journal cannot be written".into()
            } else {
                "The journal can be written again".into()
            },
            source_ref: Some(format!("{}journal", crate::engine::SYSTEM_TROUBLE_REF)),
        };
        let published = Arc::new(Published {
            seq: None,
            event: event.clone(),
        });
        let _ = self.effects.events.send(published.clone());
        told.push(published);
        Outcome {
            events: vec![event],
            ..Outcome::default()
        }
    }
}
