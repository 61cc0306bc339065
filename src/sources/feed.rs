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
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use super::{Source, SourceContext, SourceError, SourceFuture};
use crate::engine::{Input, Observation, Reading};
use crate::runtime::{Receipt, SubmitError};

/// Longest accepted line.
pub const MAX_LINE: usize = 64 * 1024;

/// Counters for health.
#[derive(Debug, Default)]
pub struct FeedStats {
    /// Lines acknowledged.
    pub accepted: AtomicU64,
    /// Lines rejected (bad JSON, unknown or unbound sensor, too long).
    pub rejected: AtomicU64,
}

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
}

impl FeedSource {
    /// Binds the socket now, so it exists before systemd is told we are ready.
    pub fn bind(path: &Path, sensors: BTreeSet<String>) -> Result<FeedSource, SourceError> {
        let listener = bind(path)?;
        Ok(FeedSource {
            path: path.to_path_buf(),
            listener: Some(listener),
            sensors: Arc::new(sensors),
            stats: Arc::new(FeedStats::default()),
        })
    }
}

fn bind(path: &Path) -> Result<UnixListener, SourceError> {
    let fail = |message: String| SourceError {
        source_name: "feed".into(),
        message,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    }
    // A socket file left by a previous run would make bind fail.
    if path.exists() {
        std::fs::remove_file(path)
            .map_err(|e| fail(format!("cannot remove stale {}: {e}", path.display())))?;
    }
    UnixListener::bind(path).map_err(|e| fail(format!("cannot listen on {}: {e}", path.display())))
}

impl Source for FeedSource {
    fn name(&self) -> String {
        format!("feed:{}", self.path.display())
    }

    fn run<'a>(&'a mut self, ctx: &'a SourceContext) -> SourceFuture<'a> {
        Box::pin(async move {
            let listener = match self.listener.take() {
                Some(l) => l,
                None => bind(&self.path)?,
            };
            let mut shutdown = ctx.shutdown.clone();
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    _ = shutdown.wait() => break,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            let conn = Connection {
                                sensors: self.sensors.clone(),
                                stats: self.stats.clone(),
                                ctx: ctx.clone(),
                            };
                            connections.spawn(conn.serve(stream));
                        }
                        Err(e) => return Err(SourceError {
                            source_name: "feed".into(),
                            message: format!("accept failed: {e}"),
                        }),
                    },
                    Some(joined) = connections.join_next(), if !connections.is_empty() => {
                        super::propagate_panic(joined);
                    }
                }
            }
            // Let connections answer what they already submitted.
            while let Some(joined) = connections.join_next().await {
                super::propagate_panic(joined);
            }
            let _ = std::fs::remove_file(&self.path);
            Ok(())
        })
    }
}

struct Connection {
    sensors: Arc<BTreeSet<String>>,
    stats: Arc<FeedStats>,
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
                r = read_line(&mut reader, &mut buf) => r,
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
        tracing::warn!(line, %reason, "feed line rejected");
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

/// Reads one line into `buf`. `Ok(None)` at end of stream, `Ok(Some(false))` if the line
/// was too long (the rest of it is skipped), `Ok(Some(true))` otherwise.
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
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
            if buf.len() + chunk.len() > MAX_LINE {
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
