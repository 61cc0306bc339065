//! Sources turn the outside world into [`Observation`](crate::engine::Observation)s. They
//! never decide what is an alarm. Each runs in its own task behind the [`Source`] trait,
//! restarted by [`supervise`] with capped exponential backoff when it fails.

pub mod camera;
pub mod control;
pub mod feed;
pub mod mqtt;
pub mod simulated;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::backoff::Backoff;
use crate::shared::engine_handle::EngineHandle;
use crate::shared::shutdown::Shutdown;
use tokio::io::AsyncBufReadExt;

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

pub use crate::shared::panics::propagate_panic;

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

/// Reads one line of at most `max` bytes from a local socket into `buf`. `Ok(None)` at end of stream, `Ok(Some(false))` if the line
/// was too long (the rest of it is skipped), `Ok(Some(true))` otherwise.
pub async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<bool>> {
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if buf.is_empty() && !too_long {
                None
            } else {
                Some(!too_long)
            });
        }
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..i], i + 1),
            None => (available, available.len()),
        };
        let found_newline = done > chunk.len();
        if !too_long {
            if buf.len() + chunk.len() > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        reader.consume(done);
        if found_newline {
            return Ok(Some(!too_long));
        }
    }
}

/// Binds a local Unix socket for source `name` at `path`: its directory is made, a socket
/// left by a previous run removed, and the file made readable and writable by its owner
/// and group only.
pub fn bind_socket(
    name: &str,
    path: &std::path::Path,
) -> Result<tokio::net::UnixListener, SourceError> {
    use std::os::unix::fs::PermissionsExt;
    let fail = |message: String| SourceError {
        source_name: name.to_string(),
        message,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    }
    // A socket file left by a previous run would make bind fail.
    if path.exists() {
        std::fs::remove_file(path)
            .map_err(|e| fail(format!("cannot remove stale {}: {e}", path.display())))?;
    }
    let listener = tokio::net::UnixListener::bind(path)
        .map_err(|e| fail(format!("cannot listen on {}: {e}", path.display())))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| fail(format!("cannot restrict {}: {e}", path.display())))?;
    Ok(listener)
}

/// Accepts connections on `listener` until shutdown, serving each with `serve` in a task
/// of its own; a connection's panic becomes the source's (see [`propagate_panic`]). At
/// shutdown it lets the connections finish what they took, then removes the socket file.
pub async fn accept_until_shutdown<F, Fut>(
    name: &str,
    listener: tokio::net::UnixListener,
    path: &std::path::Path,
    mut shutdown: Shutdown,
    mut serve: F,
) -> Result<(), SourceError>
where
    F: FnMut(tokio::net::UnixStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve(stream));
                }
                Err(e) => return Err(SourceError {
                    source_name: name.to_string(),
                    message: format!("accept failed: {e}"),
                }),
            },
            Some(joined) = connections.join_next(), if !connections.is_empty() => {
                propagate_panic(joined);
            }
        }
    }
    while let Some(joined) = connections.join_next().await {
        propagate_panic(joined);
    }
    let _ = std::fs::remove_file(path);
    Ok(())
}
