//! The control socket: how the command line (`picket alarm ack|resolve`) and an
//! installer's scripts reach the running daemon with a person's code. One JSON request per
//! line, answered once its outcome is committed:
//!
//! ```text
//! → {"action":"ack","alarm":3,"code":"2468","note":"đã kiểm tra"}
//! ← {"ok":true,"user":"an","reason_vi":"","reason_en":""}
//! ```
//!
//! Requests go through the same keypad as every other way in ([`crate::keypad`]): the code
//! is checked, wrong codes count towards a lockout of the socket, everything is audited
//! with origin `cli` and the connecting process's user id. The socket is readable and
//! writable by its owner and group only.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Mutex;

use super::{Source, SourceContext, SourceError, SourceFuture};
use crate::engine::Origin;
use crate::journal::Journal;
use crate::keypad::{Answer, Keypad, Request};

/// Longest request accepted.
pub const MAX_REQUEST: usize = 16 * 1024;

/// The control socket source.
pub struct ControlSource {
    /// Socket path.
    path: PathBuf,
    /// Bound listener, taken by the first run.
    listener: Option<UnixListener>,
    /// The users, for code checks.
    journal: Journal,
}

impl ControlSource {
    /// Binds the socket now, so it exists before systemd is told we are ready.
    pub fn bind(path: &Path, journal: Journal) -> Result<ControlSource, SourceError> {
        Ok(ControlSource {
            path: path.to_path_buf(),
            listener: Some(super::bind_socket("control", path)?),
            journal,
        })
    }
}

impl Source for ControlSource {
    fn name(&self) -> String {
        format!("control:{}", self.path.display())
    }

    fn run<'a>(&'a mut self, ctx: &'a SourceContext) -> SourceFuture<'a> {
        Box::pin(async move {
            let listener = match self.listener.take() {
                Some(l) => l,
                None => super::bind_socket("control", &self.path)?,
            };
            // One keypad for the socket: wrong codes from any connection lock it.
            let keypad = Arc::new(Mutex::new(Keypad::new(
                Origin::Cli,
                self.journal.clone(),
                ctx.engine.clone(),
            )));
            let shutdown = ctx.shutdown.clone();
            super::accept_until_shutdown(
                "control",
                listener,
                &self.path,
                shutdown.clone(),
                |stream| serve(stream, keypad.clone(), shutdown.clone()),
            )
            .await
        })
    }
}

/// Answers one connection's requests, in order.
async fn serve(
    stream: UnixStream,
    keypad: Arc<Mutex<Keypad>>,
    mut shutdown: crate::shared::shutdown::Shutdown,
) {
    let from = match stream.peer_cred() {
        Ok(cred) => format!("control socket, uid {}", cred.uid()),
        Err(_) => "control socket".to_string(),
    };
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read = tokio::select! {
            _ = shutdown.wait() => break,
            r = super::read_line(&mut reader, &mut buf, MAX_REQUEST) => r,
        };
        let answer = match read {
            Ok(None) | Err(_) => break,
            Ok(Some(false)) => Answer::refused(
                "yêu cầu quá dài",
                format!("request longer than {MAX_REQUEST} bytes"),
            ),
            Ok(Some(true)) => match serde_json::from_slice::<serde_json::Value>(&buf) {
                Ok(v) => {
                    keypad
                        .lock()
                        .await
                        .enter(&Request::from_json(&v), &from)
                        .await
                }
                Err(e) => Answer::refused(
                    "yêu cầu không phải JSON",
                    format!("request is not JSON: {e}"),
                ),
            },
        };
        let mut line = serde_json::json!({
            "ok": answer.ok,
            "user": answer.user,
            "reason_vi": answer.reason_vi,
            "reason_en": answer.reason_en,
        })
        .to_string();
        line.push('\n');
        if write.write_all(line.as_bytes()).await.is_err() {
            break;
        }
    }
}
