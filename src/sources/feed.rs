//! The feed: line-delimited JSON observations on a Unix socket, for scripts, bridges and
//! tests. Each line is answered, in order, once its outcome is committed:
//!
//! ```text
//! → {"ref": "17", "sensor": "gate_door", "kind": "contact", "active": true}
//! ← {"ack": "17"}
//! → {"sensor": "nope", "kind": "heartbeat"}
//! ← {"error": "refused: … unknown sensor `nope`", "line": 2}
//! ```
//!
//! Lines are pipelined: many lines may be in one journal transaction, but no line is
//! acknowledged before its commit.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::{Source, SourceContext, SourceError, SourceFuture};
use crate::engine::{Input, Observation, Reading};
use crate::log_limit::RateLimit;
use crate::shared::engine_handle::{Receipt, SubmitError};
pub use crate::shared::health::FeedStats;

/// Longest accepted line.
pub const MAX_LINE: usize = 64 * 1024;

/// The feed source.
pub struct FeedSource {
    /// Socket path.
    path: PathBuf,
    /// Bound listener, taken by the first run.
    listener: Option<UnixListener>,
    /// Sensors configured with `source = { kind = "feed" }`.
    sensors: Arc<BTreeSet<String>>,
    /// Counters.
    pub stats: Arc<FeedStats>,
    /// Rejected lines are logged at most a few a minute, from all connections together.
    log_limit: Arc<std::sync::Mutex<RateLimit>>,
}

impl FeedSource {
    /// Binds the socket now, so it exists before systemd is told we are ready.
    pub fn bind(path: &Path, sensors: BTreeSet<String>) -> Result<FeedSource, SourceError> {
        let listener = super::bind_socket("feed", path)?;
        Ok(FeedSource {
            path: path.to_path_buf(),
            listener: Some(listener),
            sensors: Arc::new(sensors),
            stats: Arc::new(FeedStats::default()),
            log_limit: Arc::default(),
        })
    }
}

impl Source for FeedSource {
    fn name(&self) -> String {
        format!("feed:{}", self.path.display())
    }

    fn run<'a>(&'a mut self, ctx: &'a SourceContext) -> SourceFuture<'a> {
        Box::pin(async move {
            let listener = match self.listener.take() {
                Some(l) => l,
                None => super::bind_socket("feed", &self.path)?,
            };
            let (sensors, stats, log_limit) = (
                self.sensors.clone(),
                self.stats.clone(),
                self.log_limit.clone(),
            );
            super::accept_until_shutdown(
                "feed",
                listener,
                &self.path,
                ctx.shutdown.clone(),
                |stream| {
                    let conn = Connection {
                        sensors: sensors.clone(),
                        stats: stats.clone(),
                        log_limit: log_limit.clone(),
                        ctx: ctx.clone(),
                    };
                    conn.serve(stream)
                },
            )
            .await
        })
    }
}

struct Connection {
    sensors: Arc<BTreeSet<String>>,
    stats: Arc<FeedStats>,
    log_limit: Arc<std::sync::Mutex<RateLimit>>,
    ctx: SourceContext,
}

/// A reply owed for one line, in line order.
enum Pending {
    Now(serde_json::Value),
    Later {
        reference: Option<String>,
        line: u64,
        receipt: oneshot::Receiver<Result<Receipt, SubmitError>>,
    },
}

impl Connection {
    async fn serve(self, stream: UnixStream) {
        let (read, mut write) = stream.into_split();
        let (tx, mut rx) = mpsc::channel::<Pending>(1024);
        let stats = self.stats.clone();
        let writer = tokio::spawn(async move {
            while let Some(pending) = rx.recv().await {
                let reply = match pending {
                    Pending::Now(v) => v,
                    Pending::Later {
                        reference,
                        line,
                        receipt,
                    } => match receipt.await.unwrap_or(Err(SubmitError::Stopped)) {
                        Ok(_) => {
                            stats.accepted.fetch_add(1, Ordering::Relaxed);
                            serde_json::json!({ "ack": reference, "line": line })
                        }
                        Err(e) => {
                            stats.rejected.fetch_add(1, Ordering::Relaxed);
                            serde_json::json!({ "error": e.to_string(), "ref": reference, "line": line })
                        }
                    },
                };
                let mut text = reply.to_string();
                text.push('\n');
                if write.write_all(text.as_bytes()).await.is_err() {
                    break;
                }
            }
        });
        let mut reader = BufReader::new(read);
        let mut shutdown = self.ctx.shutdown.clone();
        let mut buf = Vec::new();
        let mut line_no = 0u64;
        loop {
            buf.clear();
            let read = tokio::select! {
                _ = shutdown.wait() => break,
                r = super::read_line(&mut reader, &mut buf, MAX_LINE) => r,
            };
            line_no += 1;
            let pending = match read {
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "feed connection failed");
                    break;
                }
                Ok(Some(false)) => {
                    self.reject(line_no, format!("line longer than {MAX_LINE} bytes"))
                }
                Ok(Some(true)) => match self.parse(&buf) {
                    Err(reason) => self.reject(line_no, reason),
                    Ok(obs) => Pending::Later {
                        reference: obs.source_ref.clone(),
                        line: line_no,
                        receipt: self.ctx.engine.submit_nowait(Input::Observation(obs)).await,
                    },
                },
            };
            if tx.send(pending).await.is_err() {
                break;
            }
        }
        drop(tx);
        super::propagate_panic(writer.await);
    }

    fn reject(&self, line: u64, reason: String) -> Pending {
        self.stats.rejected.fetch_add(1, Ordering::Relaxed);
        crate::warn_limited!(
            &mut *crate::shared::lock::lock(&self.log_limit),
            line,
            reason = %crate::text::for_log(&reason),
            "feed line rejected"
        );
        Pending::Now(serde_json::json!({ "error": reason, "line": line }))
    }

    fn parse(&self, line: &[u8]) -> Result<Observation, String> {
        parse_line(&self.sensors, line)
    }
}

/// One feed line as an observation of one of `sensors` (those bound to the feed), or what
/// is wrong with it, in words naming the sensor where there is one. Any bytes are
/// answered; nothing panics.
pub fn parse_line(sensors: &BTreeSet<String>, line: &[u8]) -> Result<Observation, String> {
    let text = std::str::from_utf8(line).map_err(|_| "line is not UTF-8".to_string())?;
    let mut value: serde_json::Value =
        serde_json::from_str(text.trim()).map_err(|e| format!("invalid JSON: {e}"))?;
    let object = value
        .as_object_mut()
        .ok_or_else(|| "expected a JSON object".to_string())?;
    let reference = match object.remove("ref") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    };
    let sensor = match object.remove("sensor") {
        Some(serde_json::Value::String(s)) => s,
        _ => return Err("missing \"sensor\" (a string)".to_string()),
    };
    if !sensors.contains(&sensor) {
        return Err(format!(
            "sensor `{}` is not configured with source = {{ kind = \"feed\" }}",
            crate::text::for_log(&sensor)
        ));
    }
    let reading: Reading =
        serde_json::from_value(value).map_err(|e| format!("bad reading for `{sensor}`: {e}"))?;
    Ok(Observation {
        sensor,
        reading,
        source_ref: reference,
    })
}
