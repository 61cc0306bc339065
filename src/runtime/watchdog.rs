//! The watchdog: the engine loop proves it is alive, to systemd (`WATCHDOG=1`, every half
//! of `WatchdogSec=`) and to a thread of picket's own, which aborts the process once the
//! loop has been silent for the whole timeout. systemd would kill a silent picket too;
//! picket's own watch means a hung engine (a deadlock, a commit that never returns) ends
//! the process just the same under a supervisor that has no watchdog, and that the
//! restart can be proven in a test with a notify socket standing in for systemd.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::notify;

/// What the engine loop holds: how often to ping, and the record it beats on.
#[derive(Debug, Clone)]
pub struct Watchdog {
    /// How often the engine loop pings (half the timeout).
    pub interval: Duration,
    liveness: Arc<Liveness>,
}

/// When the engine loop last said it was alive, for the watching thread.
#[derive(Debug)]
struct Liveness {
    since: Instant,
    /// Milliseconds after `since` of the last beat.
    last_beat_ms: AtomicU64,
    /// The engine loop has ended (shutdown): nothing more to watch.
    finished: AtomicBool,
}

impl Watchdog {
    /// The watchdog systemd asked for (`WATCHDOG_USEC`), with picket's own watching thread
    /// started; `None` when systemd asked for none.
    pub fn from_systemd() -> Option<Watchdog> {
        let timeout = notify::watchdog_timeout()?;
        let watchdog = Watchdog {
            interval: timeout / 2,
            liveness: Arc::new(Liveness {
                since: Instant::now(),
                last_beat_ms: AtomicU64::new(0),
                finished: AtomicBool::new(false),
            }),
        };
        watch(watchdog.liveness.clone(), timeout);
        Some(watchdog)
    }

    /// The engine loop is alive: tells systemd and the watching thread.
    pub fn beat(&self) {
        let ms = self.liveness.since.elapsed().as_millis() as u64;
        self.liveness.last_beat_ms.store(ms, Ordering::Relaxed);
        notify::watchdog();
    }

    /// The engine loop has ended: its silence from now on is not a hang.
    pub fn finish(&self) {
        self.liveness.finished.store(true, Ordering::Relaxed);
    }
}

/// Starts the thread that aborts picket when the engine loop is silent for `timeout`. A
/// plain thread, not a task: a hang may hold the runtime's threads too.
fn watch(liveness: Arc<Liveness>, timeout: Duration) {
    let spawned = std::thread::Builder::new()
        .name("picket-watchdog".into())
        .spawn(move || {
            loop {
                std::thread::sleep(timeout / 4);
                if liveness.finished.load(Ordering::Relaxed) {
                    return;
                }
                let last = Duration::from_millis(liveness.last_beat_ms.load(Ordering::Relaxed));
                let silent = liveness.since.elapsed().saturating_sub(last);
                if silent >= timeout {
                    tracing::error!(
                        silent_ms = silent.as_millis() as u64,
                        timeout_ms = timeout.as_millis() as u64,
                        "the engine loop has not run for the whole watchdog timeout; \
                         aborting so that picket is restarted"
                    );
                    std::process::abort();
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the watchdog thread; systemd still watches");
    }
}
