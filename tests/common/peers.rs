//! Python test peers (pysiaalarm, aiosmtpd, an HTTPS webhook receiver): each is a script in
//! `tests/peers/` run with the venv's python. It prints `{"port": N}` once listening, then
//! one JSON line per thing it received.

use serde_json::Value;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// A running peer.
pub struct Peer {
    child: tokio::process::Child,
    /// The port it listens on.
    pub port: u16,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

/// The venv's python, installed by `tests/run.sh`.
pub fn python() -> String {
    std::env::var("PICKET_TEST_PYTHON")
        .unwrap_or_else(|_| format!("{}/target/test-venv/bin/python", env!("CARGO_MANIFEST_DIR")))
}

impl Peer {
    /// Runs `tests/peers/<script>` with `args`.
    pub async fn start(script: &str, args: &[&str]) -> Peer {
        Peer::start_with(&python(), script, args).await
    }

    /// Runs `tests/peers/<script>` with Debian's python, which has GStreamer's bindings.
    pub async fn start_system(script: &str, args: &[&str]) -> Peer {
        Peer::start_with("/usr/bin/python3", script, args).await
    }

    async fn start_with(python: &str, script: &str, args: &[&str]) -> Peer {
        let path = format!("{}/tests/peers/{script}", env!("CARGO_MANIFEST_DIR"));
        let mut child = tokio::process::Command::new(python)
            .arg(&path)
            .args(args)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{script}: {e} (bash tests/run.sh installs the peers)"));
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("{script} did not start"))
            .unwrap()
            .unwrap_or_else(|| panic!("{script} exited before listening"));
        let port = serde_json::from_str::<Value>(&first).unwrap()["port"]
            .as_u64()
            .unwrap() as u16;
        Peer { child, port, lines }
    }

    /// The next thing it received.
    pub async fn next(&mut self, patience: Duration) -> Value {
        let line = tokio::time::timeout(patience, self.lines.next_line())
            .await
            .expect("the peer reported nothing in time")
            .unwrap()
            .expect("the peer exited");
        serde_json::from_str(&line).unwrap()
    }

    /// The next thing it received before `deadline`, if any.
    pub async fn next_before(&mut self, deadline: tokio::time::Instant) -> Option<Value> {
        let line = tokio::time::timeout_at(deadline, self.lines.next_line())
            .await
            .ok()?
            .ok()??;
        serde_json::from_str(&line).ok()
    }

    /// Sends it a signal (SIGSTOP freezes it as a hung server would be, SIGCONT thaws it).
    pub fn signal(&self, signal: i32) {
        let pid = self.child.id().expect("peer running") as i32;
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill {signal}");
    }

    /// Stops it (SIGKILL) and returns what it reported that was not read yet.
    pub async fn stop_and_collect(mut self) -> Vec<Value> {
        let _ = self.child.kill().await;
        let mut rest = Vec::new();
        while let Ok(Some(line)) = self.lines.next_line().await {
            if let Ok(v) = serde_json::from_str(&line) {
                rest.push(v);
            }
        }
        rest
    }

    /// Stops it (SIGKILL) and waits.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
