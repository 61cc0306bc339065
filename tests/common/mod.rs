//! Helpers for tests that run the real `picket` binary: a notify socket standing in for
//! systemd, and a feed client.

#![allow(dead_code)]

pub mod broker;
pub mod delivery;
pub mod inproc;
pub mod page;
pub mod peers;
pub mod smsd;

use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixDatagram, UnixStream};
use tokio::process::{Child, Command};

/// How long any single awaited event may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A running `picket run` with its systemd notify socket.
pub struct Daemon {
    pub child: Child,
    pub notify: UnixDatagram,
}

impl Daemon {
    /// Starts `picket run --config CONFIG` and waits for READY=1.
    pub async fn start(dir: &Path, config: &Path, watchdog_usec: Option<u64>) -> Daemon {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_picket"));
        cmd.args(["run", "--config", config.to_str().unwrap()]);
        Daemon::start_command(dir, cmd, watchdog_usec).await
    }

    /// Starts `cmd` (a `picket run`, perhaps behind a wrapper) and waits for READY=1.
    pub async fn start_command(dir: &Path, mut cmd: Command, watchdog_usec: Option<u64>) -> Daemon {
        let notify_path = dir.join(format!("notify-{}.sock", rand_suffix()));
        let notify = UnixDatagram::bind(&notify_path).expect("notify socket");
        // A test that reads the log at another level has set RUST_LOG itself.
        let level_given = cmd.as_std().get_envs().any(|(k, _)| k == "RUST_LOG");
        if !level_given {
            cmd.env(
                "RUST_LOG",
                std::env::var("PICKET_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            );
        }
        cmd.env("NOTIFY_SOCKET", &notify_path).kill_on_drop(true);
        if let Some(usec) = watchdog_usec {
            cmd.env("WATCHDOG_USEC", usec.to_string());
        }
        let child = cmd.spawn().expect("spawn picket");
        let mut daemon = Daemon { child, notify };
        daemon.expect_notify("READY=1").await;
        daemon
    }

    /// Waits for a notification containing `what`.
    pub async fn expect_notify(&mut self, what: &str) -> String {
        let mut buf = vec![0u8; 4096];
        loop {
            let n = tokio::time::timeout(PATIENCE, self.notify.recv(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("no {what} from picket"))
                .expect("notify recv");
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            if text.contains(what) {
                return text;
            }
        }
    }

    /// Sends a signal (`libc::SIGTERM`, `libc::SIGINT`…).
    pub fn signal(&self, signal: i32) {
        send_signal(self.child.id().expect("running"), signal);
    }

    /// Waits for exit and returns the code.
    pub async fn wait(mut self) -> Option<i32> {
        tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("picket did not exit")
            .ok()?
            .code()
    }
}

/// Sends a signal to a process.
pub fn send_signal(pid: u32, signal: i32) {
    // SAFETY: kill(2) with a pid this test spawned and a valid signal number.
    let rc = unsafe { libc::kill(pid as i32, signal) };
    assert_eq!(rc, 0, "kill failed");
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        % 1_000_000_007
}

/// Writes a config with a feed socket and journal in `dir`; `body` adds areas, zones, sensors.
pub fn write_config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("picket.toml");
    let text = format!(
        "[site]\nname = \"Test site\"\n\n[journal]\npath = \"{}\"\n\n[feed]\nsocket = \"{}\"\n\n{body}",
        dir.join("journal.db").display(),
        dir.join("feed.sock").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// A feed connection: send JSON lines, read replies.
pub struct Feed {
    pub reader: BufReader<tokio::net::unix::OwnedReadHalf>,
    pub writer: tokio::net::unix::OwnedWriteHalf,
}

impl Feed {
    pub async fn connect(dir: &Path) -> Feed {
        let stream = UnixStream::connect(dir.join("feed.sock"))
            .await
            .expect("feed socket");
        let (r, w) = stream.into_split();
        Feed {
            reader: BufReader::new(r),
            writer: w,
        }
    }

    /// Reads replies from a reader half, for tests that write from another task.
    pub fn replies(reader: BufReader<tokio::net::unix::OwnedReadHalf>) -> Replies {
        Replies { reader }
    }

    pub async fn send(&mut self, line: &str) {
        self.writer.write_all(line.as_bytes()).await.unwrap();
        self.writer.write_all(b"\n").await.unwrap();
    }

    /// The next reply, or None at end of stream.
    pub async fn reply(&mut self) -> Option<serde_json::Value> {
        read_reply(&mut self.reader).await
    }
}

/// Replies read on their own.
pub struct Replies {
    reader: BufReader<tokio::net::unix::OwnedReadHalf>,
}

impl Replies {
    /// The next reply, or None at end of stream.
    pub async fn next(&mut self) -> Option<serde_json::Value> {
        read_reply(&mut self.reader).await
    }
}

async fn read_reply(
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
) -> Option<serde_json::Value> {
    let mut line = String::new();
    let n = tokio::time::timeout(PATIENCE, reader.read_line(&mut line))
        .await
        .expect("no reply from feed")
        .ok()?;
    if n == 0 {
        return None;
    }
    Some(serde_json::from_str(&line).expect("reply is JSON"))
}

/// A rustls client configuration trusting one CA, for test clients.
pub fn tls_client(ca: &Path) -> rumqttc::TlsConfiguration {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    rumqttc::TlsConfiguration::Rustls(std::sync::Arc::new(config))
}

/// Runs ffprobe on `path`: one value per requested entry (`stream=width,height`…).
pub fn ffprobe(path: &str, entries: &str) -> Vec<String> {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            entries,
            "-of",
            "default=nw=1:nk=1",
            path,
        ])
        .output()
        .expect("ffprobe (bash tests/run.sh installs ffmpeg)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Adds guard `name` with arming code `code` to the journal at `path` (made if missing),
/// before picket starts.
pub async fn add_guard(path: &Path, name: &str, code: &str) {
    let journal = picket::journal::Journal::open(path).await.unwrap();
    journal
        .add_user(
            name,
            picket::engine::Role::Guard,
            code,
            None,
            "test",
            picket::engine::Timestamp(1),
        )
        .await
        .unwrap();
    journal.close().await;
}

/// What a finished command said: (success, stdout, stderr).
pub fn said(out: &std::process::Output) -> (bool, String, String) {
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the picket binary with `args`, writing `stdin` to it (the codes a person types).
pub fn picket_with_stdin(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}
