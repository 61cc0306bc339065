//! Supervision of the daemon's long-lived tasks: a channel worker, a source or a service
//! that panics must not vanish while the process and `/healthz` carry on as if all were
//! well. Each task runs in a tokio task of its own, watched through its `JoinHandle`; a
//! panic ([`tokio::task::JoinError::is_panic`]) is logged (escaped), counted and shown on
//! `/metrics`, `/healthz` (503 while the task is dead) and `/api/health`, raised as a
//! trouble that reaches the other channels (354 for a channel, 380 for a source, 300 for a
//! service), and the task is started again after a capped, jittered backoff. The trouble
//! is restored once the new run has lasted [`RestartTiming::stable_after`] without a
//! panic, so a task that keeps failing stays in trouble.
//!
//! The engine task is not restarted here: a panic there ends the daemon (see
//! [`crate::runtime::run`]) so systemd restarts it, which the journal makes safe.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::backoff::Backoff;
use crate::engine::{Clock, Input, SystemTrouble};
use crate::fault::FaultHooks;
use crate::shared::engine_handle::WeakEngineHandle;
use crate::shared::health::{ChannelHealth, LinkState, TaskBoard, TaskKind};
use crate::shared::lock::lock;
use crate::shared::shutdown::Shutdown;

/// How quickly a panicked task comes back, and when it counts as healthy again.
#[derive(Debug, Clone, Copy)]
pub struct RestartTiming {
    /// First restart delay.
    pub first: Duration,
    /// Longest restart delay.
    pub cap: Duration,
    /// A run lasting this long without a panic restores the trouble and resets the
    /// backoff.
    pub stable_after: Duration,
}

impl Default for RestartTiming {
    fn default() -> Self {
        RestartTiming {
            first: Duration::from_millis(500),
            cap: Duration::from_secs(60),
            stable_after: Duration::from_secs(10),
        }
    }
}

/// Starts tasks under supervision.
#[derive(Clone)]
pub struct Supervisor {
    /// Where task status is shown.
    pub board: Arc<TaskBoard>,
    /// Where troubles go; weak, so supervision never keeps the engine running.
    engine: WeakEngineHandle,
    /// Wall time for the status.
    clock: Arc<dyn Clock>,
    /// Stops restarting at shutdown.
    shutdown: Shutdown,
    /// Restart pacing.
    timing: RestartTiming,
    /// Test hooks: every task checks `<name>` when it starts.
    faults: FaultHooks,
}

/// One task to supervise.
pub struct Supervised {
    /// `channel:<id>`, `source:<name>`, `service:<name>`.
    pub name: String,
    /// Its kind.
    pub kind: TaskKind,
    /// A channel's health, marked down while its worker is dead.
    pub channel: Option<Arc<Mutex<ChannelHealth>>>,
}

impl Supervisor {
    /// A supervisor reporting into `board` and, through `engine`, the journal.
    pub fn new(
        board: Arc<TaskBoard>,
        engine: WeakEngineHandle,
        clock: Arc<dyn Clock>,
        shutdown: Shutdown,
        faults: FaultHooks,
    ) -> Self {
        Supervisor {
            board,
            engine,
            clock,
            shutdown,
            timing: RestartTiming::default(),
            faults,
        }
    }

    /// The same supervisor with other restart pacing.
    pub fn with_timing(mut self, timing: RestartTiming) -> Self {
        self.timing = timing;
        self
    }

    /// Runs `make()`'s future in `set`, and again after each panic until shutdown. The
    /// task ends for good when a run returns normally (its shutdown).
    pub fn spawn<F, Fut>(&self, set: &mut JoinSet<()>, task: Supervised, make: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.board.update(&task.name, task.kind, |_| {});
        set.spawn(self.clone().watch(task, make));
    }

    async fn watch<F, Fut>(mut self, task: Supervised, mut make: F)
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut backoff = Backoff::new(self.timing.first, self.timing.cap);
        let mut trouble_open = false;
        loop {
            let faults = self.faults.clone();
            let point = task.name.clone();
            let run = make();
            let mut handle = tokio::spawn(async move {
                faults.check(&point);
                run.await
            });
            let result = if trouble_open {
                tokio::select! {
                    r = &mut handle => r,
                    _ = tokio::time::sleep(self.timing.stable_after) => {
                        trouble_open = false;
                        backoff.reset();
                        tracing::info!(task = task.name, "restarted task has run without a fault; trouble restored");
                        self.raise(&task, false).await;
                        handle.await
                    }
                }
            } else {
                handle.await
            };
            let panic = match result {
                Ok(()) => break,
                Err(e) if e.is_panic() => crate::text::panic_message(e.into_panic()),
                // Cancelled: the runtime is going away.
                Err(_) => break,
            };
            let now = self.clock.now().0;
            tracing::error!(task = task.name, panic = %panic, "task panicked; it will be restarted");
            self.board.update(&task.name, task.kind, |s| {
                s.running = false;
                s.panics += 1;
                s.last_panic = Some(panic.clone());
                s.last_panic_ms = Some(now);
            });
            if let Some(health) = &task.channel {
                let mut h = lock(health);
                h.state = LinkState::Down;
                h.last_error = Some(format!(
                    "the channel's worker stopped on a fault and is being restarted: {panic}"
                ));
            }
            if !trouble_open {
                trouble_open = true;
                self.raise(&task, true).await;
            }
            let delay = backoff.next_delay();
            tokio::select! {
                _ = self.shutdown.wait() => break,
                _ = tokio::time::sleep(delay) => {}
            }
            tracing::warn!(task = task.name, "restarting task after a panic");
            self.board
                .update(&task.name, task.kind, |s| s.running = true);
            if let Some(health) = &task.channel {
                lock(health).state = LinkState::Unknown;
            }
        }
        tracing::debug!(task = task.name, "supervised task ended");
    }

    async fn raise(&self, task: &Supervised, active: bool) {
        let Some(engine) = self.engine.upgrade() else {
            return;
        };
        let trouble = SystemTrouble {
            number: None,
            id: format!("task:{}", task.name),
            code: task.kind.trouble_code(),
            active,
            what_vi: format!("tác vụ {} dừng do lỗi, đang khởi động lại", task.name),
            what_en: format!(
                "task {} stopped on a fault and is being restarted",
                task.name
            ),
        };
        // Queued for the engine; its commit is not awaited here.
        drop(engine.submit_nowait(Input::Trouble(trouble)).await);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{ContactId, Timestamp};
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A clock at a fixed time.
    struct Fixed;
    impl Clock for Fixed {
        fn now(&self) -> Timestamp {
            Timestamp(1_000)
        }
    }

    struct Rig {
        supervisor: Supervisor,
        troubles: tokio::sync::mpsc::Receiver<Input>,
        _engine: super::super::EngineHandle,
        _stop: super::super::ShutdownTrigger,
        faults: FaultHooks,
    }

    fn rig() -> Rig {
        let (engine, troubles) = crate::shared::engine_handle::handle_for_tests();
        let (stop, shutdown) = super::super::shutdown_channel();
        let faults = FaultHooks::armable();
        let supervisor = Supervisor::new(
            Arc::default(),
            engine.downgrade(),
            Arc::new(Fixed),
            shutdown,
            faults.clone(),
        );
        Rig {
            supervisor,
            troubles,
            _engine: engine,
            _stop: stop,
            faults,
        }
    }

    async fn next_trouble(rx: &mut tokio::sync::mpsc::Receiver<Input>) -> SystemTrouble {
        match rx.recv().await {
            Some(Input::Trouble(t)) => t,
            other => panic!("expected a trouble, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_channel_worker_is_reported_marked_down_and_restarted() {
        let mut rig = rig();
        let runs = Arc::new(AtomicU32::new(0));
        let health = Arc::new(Mutex::new(ChannelHealth {
            channel: "arc".into(),
            state: LinkState::Up,
            ..ChannelHealth::default()
        }));
        let mut set = JoinSet::new();
        let counted = runs.clone();
        rig.faults.panic_at("channel:arc", 1);
        rig.supervisor.spawn(
            &mut set,
            Supervised {
                name: "channel:arc".into(),
                kind: TaskKind::Channel,
                channel: Some(health.clone()),
            },
            move || {
                let runs = counted.clone();
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    std::future::pending::<()>().await;
                }
            },
        );
        let trouble = next_trouble(&mut rig.troubles).await;
        assert_eq!(
            (trouble.id.as_str(), trouble.code, trouble.active),
            ("task:channel:arc", ContactId(354), true)
        );
        assert_eq!(rig.supervisor.board.down(), ["channel:arc"]);
        assert_eq!(lock(&health).state, LinkState::Down);
        assert!(
            lock(&health)
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("fault hook fired at channel:arc")),
            "{:?}",
            lock(&health).last_error
        );
        // Restarted within the first backoff, then healthy after the stable period.
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1, "the second run started");
        assert!(rig.supervisor.board.down().is_empty());
        let restored = next_trouble(&mut rig.troubles).await;
        assert_eq!(
            (restored.id.as_str(), restored.active),
            ("task:channel:arc", false)
        );
        let status = rig.supervisor.board.snapshot();
        assert_eq!((status[0].panics, status[0].running), (1, true));
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_keeps_panicking_stays_in_trouble_with_growing_delays() {
        let mut rig = rig();
        let mut set = JoinSet::new();
        let starts = Arc::new(Mutex::new(Vec::new()));
        let seen = starts.clone();
        rig.supervisor.spawn(
            &mut set,
            Supervised {
                name: "source:feed".into(),
                kind: TaskKind::Source,
                channel: None,
            },
            move || {
                let seen = seen.clone();
                async move {
                    lock(&seen).push(tokio::time::Instant::now());
                    panic!("broken\nINFO forged line");
                }
            },
        );
        let trouble = next_trouble(&mut rig.troubles).await;
        assert_eq!((trouble.code, trouble.active), (ContactId(380), true));
        tokio::time::sleep(Duration::from_secs(120)).await;
        // No restore while it keeps failing, and the restarts slow down to the cap.
        assert!(rig.troubles.try_recv().is_err());
        let starts = lock(&starts).clone();
        assert!(starts.len() >= 5, "{}", starts.len());
        let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            gaps.iter().all(|g| *g <= Duration::from_secs(60)),
            "{gaps:?}"
        );
        assert!(gaps.last() > gaps.first(), "{gaps:?}");
        let status = &rig.supervisor.board.snapshot()[0];
        assert_eq!(status.panics, starts.len() as u64);
        assert_eq!(
            status.last_panic.as_deref(),
            Some("broken\\nINFO forged line")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_ends_normally_is_not_restarted() {
        let mut rig = rig();
        let mut set = JoinSet::new();
        rig.supervisor.spawn(
            &mut set,
            Supervised {
                name: "service:web".into(),
                kind: TaskKind::Service,
                channel: None,
            },
            || async {},
        );
        assert!(set.join_next().await.is_some());
        assert!(rig.troubles.try_recv().is_err());
        assert!(rig.supervisor.board.down().is_empty());
    }
}
