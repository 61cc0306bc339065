//! Sources turn the outside world into [`Observation`](crate::engine::Observation)s. They
//! never decide what is an alarm. Each runs in its own task behind the [`Source`] trait,
//! restarted by [`supervise`] with capped exponential backoff when it fails.

pub mod camera;
pub mod feed;
pub mod mqtt;
pub mod simulated;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::backoff::Backoff;
use crate::runtime::{EngineHandle, Shutdown};

/// A source's failure.
#[derive(Debug, thiserror::Error)]
#[error("source {source_name}: {message}")]
pub struct SourceError {
    /// Which source.
    pub source_name: String,
    /// What happened and what to do.
    pub message: String,
}

/// What a running source gets.
#[derive(Clone)]
pub struct SourceContext {
    /// Where observations go.
    pub engine: EngineHandle,
    /// The stop signal.
    pub shutdown: Shutdown,
}

/// The future a source's `run` returns.
pub type SourceFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SourceError>> + Send + 'a>>;

/// Something that produces observations.
pub trait Source: Send {
    /// Name for logs and health.
    fn name(&self) -> String;

    /// Runs until shutdown (`Ok`) or failure (`Err`, after which it is run again).
    fn run<'a>(&'a mut self, ctx: &'a SourceContext) -> SourceFuture<'a>;
}

/// Makes a helper task's panic the source's own, so the daemon's supervisor sees it and
/// restarts the whole source, instead of the helper vanishing while the source carries on
/// half-working.
pub fn propagate_panic<T>(joined: Result<T, tokio::task::JoinError>) -> Option<T> {
    match joined {
        Ok(value) => Some(value),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => None,
    }
}

/// Runs a source until shutdown, restarting it with backoff after each failure (an
/// `Err`; a panic is the daemon's supervisor's to catch).
pub async fn supervise(source: &mut dyn Source, ctx: SourceContext) {
    let name = source.name();
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
    let mut shutdown = ctx.shutdown.clone();
    loop {
        let started = tokio::time::Instant::now();
        match source.run(&ctx).await {
            Ok(()) => break,
            Err(err) => {
                if shutdown.is_triggered() {
                    break;
                }
                if started.elapsed() > Duration::from_secs(60) {
                    backoff.reset();
                }
                let delay = backoff.next_delay();
                tracing::warn!(source = %name, error = %err, retry_in = ?delay, "source failed");
                tokio::select! {
                    _ = shutdown.wait() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    tracing::debug!(source = %name, "source stopped");
}
