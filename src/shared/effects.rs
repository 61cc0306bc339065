//! What the engine task makes known to every other task: the change stream, each event as
//! it happens, the outputs' patterns, its counters, the outbox's bump, and the health
//! records sources and channels fill in.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{broadcast, watch};

use crate::engine::{Clock, Engine, OutputPattern};
use crate::shared::changes::{Changes, PanelView, Published};
use crate::shared::health::Health;

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
