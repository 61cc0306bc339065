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
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::engine::{
    Category, Clock, Command, ContactId, Engine, Event, EventKind, Input, Observation, Outcome,
    OutputPattern, Qualifier, Refusal,
};
use crate::journal::Writer;
pub use crate::shared::changes::{ChangeSet, Changes, PanelView, Published};

/// Inputs committed together at most.
pub const MAX_BATCH: usize = 256;

/// Outcomes kept in memory while the journal cannot be written. Past this the oldest are
/// dropped; the later ones then get other sequence numbers than the shadow outbox gave
/// them, so what the shadow delivered is not matched and goes again, with new ids.
const MAX_UNWRITTEN: usize = 50_000;

/// Why an input was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The engine refused it (unknown sensor, wrong state for a command).
    #[error("refused: {0}")]
    Refused(Refusal),
    /// It took effect but could not be committed; the sender should redeliver later.
    #[error("not committed to the journal: {0}")]
    NotCommitted(String),
    /// The engine has stopped.
    #[error("the engine has stopped")]
    Stopped,
}

/// What an accepted input produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Receipt {
    /// The events it produced, with their journal sequence numbers.
    pub events: Vec<Published>,
}

type Reply = oneshot::Sender<Result<Receipt, SubmitError>>;

struct Request {
    input: Input,
    reply: Option<Reply>,
}

/// What travels to the engine task: one input, or the inputs of one message (a sensor
/// payload's readings), which arrive together and so are committed in one transaction.
enum Envelope {
    /// One input.
    One(Request),
    /// Several, kept together.
    Many(Vec<Request>),
}

impl Envelope {
    fn into_requests(self, into: &mut Vec<Request>) {
        match self {
            Envelope::One(r) => into.push(r),
            Envelope::Many(rs) => into.extend(rs),
        }
    }
}

/// A cloneable way in to the engine. The engine task ends once every handle is dropped.
#[derive(Clone)]
pub struct EngineHandle {
    tx: mpsc::Sender<Envelope>,
}

/// A way in to the engine that does not keep it running: for supervisors, which must not
/// hold the engine open at shutdown.
#[derive(Clone)]
pub struct WeakEngineHandle {
    tx: mpsc::WeakSender<Envelope>,
}

impl WeakEngineHandle {
    /// A handle, while the engine still runs.
    pub fn upgrade(&self) -> Option<EngineHandle> {
        self.tx.upgrade().map(|tx| EngineHandle { tx })
    }
}

/// A handle whose inputs arrive on the returned receiver, each answered with an empty
/// receipt: for unit tests of tasks that submit.
#[cfg(test)]
pub(crate) fn handle_for_tests() -> (EngineHandle, mpsc::Receiver<Input>) {
    let (tx, mut rx) = mpsc::channel::<Envelope>(64);
    let (inputs_tx, inputs) = mpsc::channel(64);
    tokio::spawn(async move {
        while let Some(envelope) = rx.recv().await {
            let mut requests = Vec::new();
            envelope.into_requests(&mut requests);
            for req in requests {
                if let Some(reply) = req.reply {
                    let _ = reply.send(Ok(Receipt::default()));
                }
                if inputs_tx.send(req.input).await.is_err() {
                    return;
                }
            }
        }
    });
    (EngineHandle { tx }, inputs)
}

impl EngineHandle {
    /// A handle that does not keep the engine running.
    pub fn downgrade(&self) -> WeakEngineHandle {
        WeakEngineHandle {
            tx: self.tx.downgrade(),
        }
    }

    /// Submits an observation; resolves once its outcome is committed.
    pub async fn observe(&self, obs: Observation) -> Result<Receipt, SubmitError> {
        self.submit(Input::Observation(obs)).await
    }

    /// Submits a verified command; resolves once its outcome is committed.
    pub async fn command(&self, cmd: Command) -> Result<Receipt, SubmitError> {
        self.submit(Input::Command(cmd)).await
    }

    /// Submits without waiting for the commit; the returned receiver resolves then.
    /// Lets a source pipeline many inputs into one transaction.
    pub async fn submit_nowait(
        &self,
        input: Input,
    ) -> oneshot::Receiver<Result<Receipt, SubmitError>> {
        let (reply, rx) = oneshot::channel();
        let _ = self
            .tx
            .send(Envelope::One(Request {
                input,
                reply: Some(reply),
            }))
            .await;
        rx
    }

    /// Submits the inputs of one message together, so they are committed in one
    /// transaction; a receiver per input, as [`EngineHandle::submit_nowait`].
    pub async fn submit_all_nowait(
        &self,
        inputs: Vec<Input>,
    ) -> Vec<oneshot::Receiver<Result<Receipt, SubmitError>>> {
        let mut receivers = Vec::with_capacity(inputs.len());
        let requests = inputs
            .into_iter()
            .map(|input| {
                let (reply, rx) = oneshot::channel();
                receivers.push(rx);
                Request {
                    input,
                    reply: Some(reply),
                }
            })
            .collect();
        let _ = self.tx.send(Envelope::Many(requests)).await;
        receivers
    }

    /// Submits any input; resolves once its outcome is committed.
    pub async fn submit(&self, input: Input) -> Result<Receipt, SubmitError> {
        self.submit_nowait(input)
            .await
            .await
            .unwrap_or(Err(SubmitError::Stopped))
    }
}

/// Counters for health and `/metrics`.
#[derive(Debug, Default)]
pub struct EngineStats {
    /// Inputs committed.
    pub committed: AtomicU64,
    /// Observations refused (unknown sensor).
    pub observations_refused: AtomicU64,
    /// Commands refused.
    pub commands_refused: AtomicU64,
    /// Failed journal commits.
    pub commit_failures: AtomicU64,
    /// Transactions.
    pub transactions: AtomicU64,
    /// The last commit failed (the journal is unwritable now).
    pub journal_failing: std::sync::atomic::AtomicBool,
}

impl EngineStats {
    /// Whether the last commit failed.
    pub fn journal_failing(&self) -> bool {
        self.journal_failing.load(Ordering::Relaxed)
    }
}

/// Health of sources and channels, filled in as they start.
#[derive(Debug, Default)]
pub struct Health {
    /// The MQTT source, when configured.
    pub mqtt: std::sync::OnceLock<Arc<crate::sources::mqtt::MqttHealth>>,
    /// The MQTT command topic, when configured.
    pub mqtt_commands: std::sync::OnceLock<Arc<crate::sources::mqtt::interface::InterfaceStats>>,
    /// The feed socket, when configured.
    pub feed: std::sync::OnceLock<Arc<crate::sources::feed::FeedStats>>,
    /// Cameras, in configuration order.
    pub cameras:
        std::sync::OnceLock<Vec<Arc<std::sync::Mutex<crate::sources::camera::CameraHealth>>>>,
    /// Delivery channels, in configuration order.
    pub channels: std::sync::OnceLock<Vec<Arc<std::sync::Mutex<crate::channels::ChannelHealth>>>>,
    /// Supervised tasks: running, or dead after a panic.
    pub tasks: Arc<super::supervisor::TaskBoard>,
}

/// What the engine publishes after a commit.
#[derive(Clone)]
pub struct Effects {
    /// What each commit changed, and the panel after it: what the page, the API and
    /// picket's MQTT topics show.
    pub changes: Changes,
    /// Health of sources and channels.
    pub health: Arc<Health>,
    /// Every event as it happens, one by one, for the service log and the demo (the same
    /// events are in [`Effects::changes`], with the records they changed).
    pub events: broadcast::Sender<Arc<Published>>,
    /// Current output patterns.
    pub outputs: watch::Sender<BTreeMap<String, OutputPattern>>,
    /// Counters.
    pub stats: Arc<EngineStats>,
    /// Bumped after every commit with events, so outbox workers look for new rows.
    pub outbox: watch::Sender<u64>,
}

impl Effects {
    /// New channels, starting from the engine's current state.
    pub fn new<C: Clock>(engine: &Engine<C>) -> Self {
        let initial_outputs = engine.outputs().clone();
        Effects {
            changes: Changes::new(PanelView::of(engine)),
            events: broadcast::channel(4096).0,
            outputs: watch::channel(initial_outputs).0,
            stats: Arc::new(EngineStats::default()),
            health: Arc::new(Health::default()),
            outbox: watch::channel(0).0,
        }
    }
}

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
    /// How often to tell systemd we are alive.
    watchdog: Option<Duration>,
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
    watchdog: Option<Duration>,
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
        let mut watchdog = self.watchdog.map(tokio::time::interval);
        let mut retry = tokio::time::interval(Duration::from_secs(5));
        let mut write_seen = tokio::time::interval(SEEN_WRITE_EVERY);
        write_seen.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let sleep_ms = self
                .engine
                .next_deadline()
                .map(|d| d.millis_since(self.engine.now()).max(0) as u64);
            tokio::select! {
                biased;
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
                _ = async { match watchdog.as_mut() { Some(w) => { w.tick().await; } None => std::future::pending().await } } => {
                    super::notify::watchdog();
                }
            }
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
