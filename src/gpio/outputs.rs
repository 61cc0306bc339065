//! Drives output pins from the engine's output state: steady for intrusion, ISO 8201
//! temporal-3 for fire (three 0.5 s pulses with 0.5 s gaps, then 1.5 s off, repeated).
//! The engine already stops sirens at the siren limit; this driver also cuts a siren
//! that has sounded longer than the limit plus a margin, in case the engine is stuck.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

use super::{GpioBackend, GpioError, OutputPin};
use crate::config::{Config, OutputKind};
use crate::engine::OutputPattern;
use crate::shared::shutdown::Shutdown;

/// ISO 8201 temporal-3: (on, off) pairs in milliseconds.
pub const TEMPORAL_3: [(u64, u64); 3] = [(500, 500), (500, 500), (500, 1500)];

/// How long past the siren limit a siren may sound before the driver cuts it.
const SIREN_MARGIN: Duration = Duration::from_secs(10);

/// One driven output.
struct Driven {
    id: String,
    kind: OutputKind,
    pin: Box<dyn OutputPin>,
    active_low: bool,
}

impl Driven {
    fn set(&mut self, on: bool) {
        self.pin.set(on != self.active_low);
    }
}

/// One output's driver, ready to run; running it again after a panic takes up the same
/// pin (a supervisor restarts it, see [`crate::runtime`]).
pub struct OutputDriver {
    /// The output's id.
    pub id: String,
    /// The pin, held by the run in progress.
    driven: Arc<tokio::sync::Mutex<Driven>>,
    /// The engine's output patterns.
    patterns: watch::Receiver<BTreeMap<String, OutputPattern>>,
    /// Longest a siren may sound.
    siren_cap: Duration,
    /// Stop signal.
    shutdown: Shutdown,
}

impl OutputDriver {
    /// Drives the pin until shutdown, leaving it off.
    pub fn run(&self) -> impl std::future::Future<Output = ()> + Send + use<> {
        let driven = self.driven.clone();
        let patterns = self.patterns.clone();
        let (cap, shutdown) = (self.siren_cap, self.shutdown.clone());
        async move {
            let mut out = driven.lock_owned().await;
            drive(&mut out, patterns, cap, shutdown).await;
        }
    }
}

/// A driver per output that has a pin, each pin taken now so a missing one stops start-up.
pub fn drivers(
    backend: &dyn GpioBackend,
    config: &Config,
    patterns: watch::Receiver<BTreeMap<String, OutputPattern>>,
    shutdown: Shutdown,
) -> Result<Vec<OutputDriver>, GpioError> {
    let siren_cap = Duration::from_secs(u64::from(config.panel.siren_limit_s)) + SIREN_MARGIN;
    let mut drivers = Vec::new();
    for output in config.outputs.iter().filter(|o| o.pin.is_some()) {
        let pin = backend.output(output.pin.unwrap_or_default())?;
        let driven = Driven {
            id: output.id.clone(),
            kind: output.kind,
            pin,
            active_low: output.active_low,
        };
        drivers.push(OutputDriver {
            id: output.id.clone(),
            driven: Arc::new(tokio::sync::Mutex::new(driven)),
            patterns: patterns.clone(),
            siren_cap,
            shutdown: shutdown.clone(),
        });
    }
    Ok(drivers)
}

/// Starts one unsupervised task per output that has a pin; they end at shutdown, leaving
/// pins off. For tests of the driver itself; the daemon supervises [`drivers`].
pub fn spawn(
    backend: &dyn GpioBackend,
    config: &Config,
    patterns: watch::Receiver<BTreeMap<String, OutputPattern>>,
    shutdown: Shutdown,
) -> Result<Vec<tokio::task::JoinHandle<()>>, GpioError> {
    Ok(drivers(backend, config, patterns, shutdown)?
        .iter()
        .map(|d| tokio::spawn(d.run()))
        .collect())
}

async fn drive(
    out: &mut Driven,
    mut patterns: watch::Receiver<BTreeMap<String, OutputPattern>>,
    siren_cap: Duration,
    mut shutdown: Shutdown,
) {
    loop {
        let pattern = patterns
            .borrow_and_update()
            .get(&out.id)
            .copied()
            .unwrap_or(OutputPattern::Off);
        let started = Instant::now();
        let cap = (out.kind == OutputKind::Siren).then(|| started + siren_cap);
        let finished = tokio::select! {
            _ = shutdown.wait() => true,
            changed = patterns.changed() => changed.is_err(),
            _ = play(out, pattern, cap) => {
                tracing::error!(output = %out.id, "siren sounded past its limit; cut by the output driver");
                tokio::select! {
                    _ = shutdown.wait() => true,
                    changed = patterns.changed() => changed.is_err(),
                }
            }
        };
        if finished {
            out.set(false);
            return;
        }
    }
}

/// Plays a pattern until `cap` (if any), then turns the output off and returns.
/// Without a cap it never returns on its own.
async fn play(out: &mut Driven, pattern: OutputPattern, cap: Option<Instant>) {
    let until_cap = async {
        match cap {
            Some(t) => tokio::time::sleep_until(t).await,
            None => std::future::pending().await,
        }
    };
    let run = async {
        match pattern {
            OutputPattern::Off => {
                out.set(false);
                std::future::pending::<()>().await;
            }
            OutputPattern::Steady => {
                out.set(true);
                std::future::pending::<()>().await;
            }
            OutputPattern::Temporal3 => loop {
                for (on, off) in TEMPORAL_3 {
                    out.set(true);
                    tokio::time::sleep(Duration::from_millis(on)).await;
                    out.set(false);
                    tokio::time::sleep(Duration::from_millis(off)).await;
                }
            },
        }
    };
    if pattern == OutputPattern::Off {
        run.await;
        return;
    }
    tokio::select! {
        _ = run => {}
        _ = until_cap => {}
    }
    out.set(false);
}
