//! Nothing accepted is lost: 10,000 observations through the real daemon, SIGKILL at a
//! random moment, restart. Every state-changing observation acknowledged before the kill
//! is in the journal, the hash chain verifies, and after replaying the unacknowledged
//! rest every state change of the whole run is journaled. And a hung engine is not left
//! hanging: its watchdog pings stop and picket aborts, to be started again; a reload
//! (SIGHUP) with a broken configuration keeps the running one.

mod common;

use common::{Daemon, Feed, write_config};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};

const SENSORS: usize = 40;
const OBSERVATIONS: usize = 10_000;

fn body() -> String {
    let mut s = String::from(
        "[[areas]]\nid = \"plant\"\nname = \"Xưởng\"\n\n\
         [[zones]]\nid = \"doors\"\nname = \"Cửa\"\narea = \"plant\"\ntype = \"perimeter\"\n\n\
         [[zones]]\nid = \"fire\"\nname = \"Cháy\"\narea = \"plant\"\ntype = \"fire\"\n\n",
    );
    for i in 0..SENSORS {
        let (zone, kind) = if i % 10 == 9 {
            ("fire", "smoke")
        } else {
            ("doors", "contact")
        };
        s.push_str(&format!("[[sensors]]\nid = \"s{i}\"\nzone = \"{zone}\"\nkind = \"{kind}\"\nsource = {{ kind = \"feed\" }}\n\n"));
    }
    s
}

/// One generated observation: its JSON line and whether it changes the sensor's state.
struct Line {
    json: String,
    reference: String,
    changes_state: bool,
}

fn generate(seed: u64) -> (Vec<Line>, BTreeMap<String, bool>) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut state: BTreeMap<String, bool> = BTreeMap::new();
    let lines = (0..OBSERVATIONS)
        .map(|i| {
            let sensor = format!("s{}", rng.random_range(0..SENSORS));
            let reference = format!("o{i}");
            if rng.random_range(0..3) == 0 {
                let json =
                    format!(r#"{{"ref":"{reference}","sensor":"{sensor}","kind":"heartbeat"}}"#);
                return Line {
                    json,
                    reference,
                    changes_state: false,
                };
            }
            let active = rng.random_range(0..2) == 1;
            let kind = if sensor.ends_with('9') {
                "smoke"
            } else {
                "contact"
            };
            let before = state.insert(sensor.clone(), active).unwrap_or(false);
            let json = format!(
                r#"{{"ref":"{reference}","sensor":"{sensor}","kind":"{kind}","active":{active}}}"#
            );
            Line {
                json,
                reference,
                changes_state: before != active,
            }
        })
        .collect();
    (lines, state)
}

/// Streams the lines on one connection and returns the refs acknowledged, in order. With
/// `kill_after`, SIGKILLs the daemon as soon as that many acks have arrived.
async fn stream(
    dir: &std::path::Path,
    daemon: &mut Daemon,
    lines: &[Line],
    kill_after: Option<usize>,
) -> Vec<String> {
    let Feed { reader, mut writer } = Feed::connect(dir).await;
    let payload: String = lines.iter().map(|l| format!("{}\n", l.json)).collect();
    let sender = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        // Fails once the daemon is killed mid-stream; that is the point.
        let _ = writer.write_all(payload.as_bytes()).await;
        writer
    });
    let mut replies = Feed::replies(reader);
    let mut acked = Vec::new();
    while acked.len() < lines.len() {
        if kill_after == Some(acked.len()) {
            daemon.child.start_kill().unwrap();
            break;
        }
        let reply = replies.next().await.expect("feed closed early");
        let reference = reply["ack"]
            .as_str()
            .unwrap_or_else(|| panic!("not an ack: {reply}"))
            .to_string();
        acked.push(reference);
    }
    drop(sender);
    acked
}

async fn journal_refs(path: &std::path::Path) -> BTreeSet<String> {
    let journal = picket::journal::Journal::open_existing(path).await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT source_ref FROM events WHERE kind = 'sensor_changed' AND source_ref IS NOT NULL",
    )
    .fetch_all(journal.pool())
    .await
    .unwrap();
    journal.close().await;
    rows.into_iter().map(|(r,)| r).collect()
}

fn verify(path: &std::path::Path) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["verify-journal", path.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "verify-journal failed: {text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_a_random_moment_loses_nothing_acknowledged() {
    let seed: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let kill_after = 1 + (seed % (OBSERVATIONS as u64 - 2)) as usize;
    println!("seed {seed}, SIGKILL after {kill_after} acknowledgements");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &body());
    let journal = dir.path().join("journal.db");
    let (lines, final_state) = generate(seed);

    let mut daemon = Daemon::start(dir.path(), &config, None).await;
    let acked = stream(dir.path(), &mut daemon, &lines, Some(kill_after)).await;
    let status = daemon.child.wait().await.unwrap();
    assert_eq!(status.code(), None, "picket was not killed by the signal");
    assert_eq!(acked.len(), kill_after);

    // Every acknowledged state change is in the journal, and the chain is intact.
    assert!(verify(&journal).starts_with("OK"));
    let in_journal = journal_refs(&journal).await;
    let by_ref: BTreeMap<&str, &Line> = lines.iter().map(|l| (l.reference.as_str(), l)).collect();
    let missing: Vec<&String> = acked
        .iter()
        .filter(|r| by_ref[r.as_str()].changes_state && !in_journal.contains(*r))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not journaled: {missing:?}"
    );

    // Restart and send everything not acknowledged; duplicates of committed lines change nothing.
    let mut daemon = Daemon::start(dir.path(), &config, Some(400_000)).await;
    daemon.expect_notify("WATCHDOG=1").await;
    let rest = &lines[acked.len()..];
    let acked_rest = stream(dir.path(), &mut daemon, rest, None).await;
    assert_eq!(acked_rest.len(), rest.len());
    daemon.signal(libc::SIGTERM);
    daemon.expect_notify("STOPPING=1").await;
    assert_eq!(daemon.wait().await, Some(0), "graceful shutdown failed");

    assert!(verify(&journal).starts_with("OK"));
    let in_journal = journal_refs(&journal).await;
    let lost: Vec<&str> = lines
        .iter()
        .filter(|l| l.changes_state && !in_journal.contains(&l.reference))
        .map(|l| l.reference.as_str())
        .collect();
    assert!(
        lost.is_empty(),
        "{} state changes never journaled, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );

    let j = picket::journal::Journal::open_existing(&journal)
        .await
        .unwrap();
    let snapshot = j.load_snapshot().await.unwrap();
    for (sensor, active) in &final_state {
        let s = snapshot
            .sensors
            .iter()
            .find(|s| &s.sensor == sensor)
            .expect("sensor state stored");
        assert_eq!(s.active, *active, "final state of {sensor}");
    }
}

/// `picket run` on `config` with its log (stderr) kept for the test to read.
fn run_with_its_log(config: &std::path::Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_picket"));
    cmd.args(["run", "--config", config.to_str().unwrap()])
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped());
    cmd
}

/// The engine loop pings systemd's watchdog. When it hangs (a test fault hook blocks its
/// thread, as a deadlock or a commit that never returns would), the pings stop and picket
/// aborts within the watchdog timeout, so that systemd (`Restart=always`) starts it again;
/// the observation the hung engine never acknowledged is sent again and committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_engine_stops_the_watchdog_pings_and_picket_aborts_to_be_restarted() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &body());
    let mut cmd = run_with_its_log(&config);
    cmd.env("PICKET_TEST_FAULTS", "engine=hang");
    // A 1 s timeout: picket pings every 0.5 s.
    let mut daemon = Daemon::start_command(dir.path(), cmd, Some(1_000_000)).await;
    for _ in 0..3 {
        daemon.expect_notify("WATCHDOG=1").await;
    }
    let line = r#"{"ref":"after-hang","sensor":"s0","kind":"contact","active":true}"#;
    let mut feed = Feed::connect(dir.path()).await;
    feed.send(line).await;

    let mut pings_after = 0;
    let mut buf = vec![0u8; 4096];
    let status = loop {
        tokio::select! {
            exited = daemon.child.wait() => break exited.unwrap(),
            got = daemon.notify.recv(&mut buf) => {
                let n = got.unwrap();
                if String::from_utf8_lossy(&buf[..n]).contains("WATCHDOG=1") {
                    pings_after += 1;
                }
            }
            _ = tokio::time::sleep(common::PATIENCE) => panic!("picket hung and was not ended"),
        }
    };
    assert!(
        pings_after <= 1,
        "{pings_after} pings after the engine hung (one may have been on its way)"
    );
    assert_eq!(
        status.signal(),
        Some(libc::SIGABRT),
        "picket aborted so that systemd restarts it: {status:?}"
    );
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(daemon.child.stderr.as_mut().unwrap(), &mut stderr)
        .await
        .unwrap();
    assert!(
        stderr.contains("aborting so that picket is restarted"),
        "the log says why: {stderr}"
    );

    // What systemd does next: start it again. The unacknowledged line goes again.
    let mut daemon = Daemon::start(dir.path(), &config, Some(1_000_000)).await;
    daemon.expect_notify("WATCHDOG=1").await;
    let mut feed = Feed::connect(dir.path()).await;
    feed.send(line).await;
    let reply = feed.reply().await.expect("a reply");
    assert_eq!(reply["ack"], "after-hang", "committed this time: {reply}");
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait().await, Some(0));
    let journal = dir.path().join("journal.db");
    assert!(journal_refs(&journal).await.contains("after-hang"));
}

/// Lines of picket's log (stderr) until one contains `what`.
async fn log_until(
    log: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>,
    what: &str,
) -> String {
    loop {
        let line = tokio::time::timeout(common::PATIENCE, log.next_line())
            .await
            .unwrap_or_else(|_| panic!("picket never logged {what:?}"))
            .unwrap()
            .unwrap_or_else(|| panic!("picket's log ended before {what:?}"));
        if line.contains(what) {
            return line;
        }
    }
}

/// Opens contact `sensor` over the feed as `reference`; the reply (`{"ack": reference}`
/// once committed).
async fn open_contact(feed: &mut Feed, reference: &str, sensor: &str) -> serde_json::Value {
    feed.send(&format!(
        r#"{{"ref":"{reference}","sensor":"{sensor}","kind":"contact","active":true}}"#
    ))
    .await;
    feed.reply().await.expect("a reply")["ack"].clone()
}

/// `systemctl reload picket` (SIGHUP): a configuration that does not load is named in the
/// log with its key and line, and the running one goes on; a valid one is taken up (the
/// sensor it adds is accepted), and nothing accepted before is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_with_a_broken_config_keeps_the_running_one_and_a_valid_one_is_taken_up() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &body());
    let mut daemon = Daemon::start_command(dir.path(), run_with_its_log(&config), None).await;
    let mut log = tokio::io::BufReader::new(daemon.child.stderr.take().unwrap()).lines();
    let started = log_until(&mut log, "picket running").await;
    assert!(
        started.contains("page=off"),
        "no page configured: {started}"
    );
    let mut feed = Feed::connect(dir.path()).await;
    assert_eq!(open_contact(&mut feed, "before", "s0").await, "before");

    let good = std::fs::read_to_string(&config).unwrap();
    let new_sensor = "[[sensors]]\nid = \"gate2\"\nzone = \"doors\"\nkind = \"contact\"\nsource = { kind = \"feed\" }\n\n\
                      [web]\nlisten = \"127.0.0.1:0\"\n";
    let broken = format!("{good}\n{}", new_sensor.replace("\"doors\"", "\"nowhere\""));
    std::fs::write(&config, &broken).unwrap();
    let zone_line = broken.lines().position(|l| l.contains("nowhere")).unwrap() + 1;
    daemon.signal(libc::SIGHUP);
    let said = log_until(&mut log, "does not load").await;
    assert!(
        said.contains(&format!("picket.toml:{zone_line}:")) && said.contains(".zone"),
        "the error names the file, line and key: {said}"
    );
    assert_eq!(
        open_contact(&mut feed, "still", "s1").await,
        "still",
        "the running configuration goes on"
    );

    std::fs::write(&config, format!("{good}\n{new_sensor}")).unwrap();
    daemon.signal(libc::SIGHUP);
    daemon.expect_notify("RELOADING=1").await;
    daemon.expect_notify("READY=1").await;
    // The start-up line names where the page is, with the port it really got.
    let restarted = log_until(&mut log, "picket running").await;
    let page = restarted
        .split("page=http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|port| port.parse::<u16>().ok());
    assert!(page.is_some_and(|port| port != 0), "{restarted}");
    let mut feed = Feed::connect(dir.path()).await;
    assert_eq!(
        open_contact(&mut feed, "new", "gate2").await,
        "new",
        "the new sensor is known"
    );
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait().await, Some(0));
    let refs = journal_refs(&dir.path().join("journal.db")).await;
    for r in ["before", "still", "new"] {
        assert!(refs.contains(r), "{r} is in the journal: {refs:?}");
    }
}

/// `picket …` with `args`, to its end, off the test's threads: (success, stdout, stderr).
async fn picket_cli(args: &[&str]) -> (bool, String, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::said(&common::picket_with_stdin(&args, ""))
    })
    .await
    .unwrap()
}

/// `picket backup` while picket is writing a stream of observations gives a copy that
/// `picket verify-journal` accepts; `picket restore` refuses while picket runs, and with
/// picket stopped puts the copy in place, keeping the journal it replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_picket_writes_verifies_and_restores_with_picket_stopped() {
    let dir = tempfile::tempdir().unwrap();
    // A sensor the stream never touches, so "mine" is always a change of state (on one of
    // the stream's sensors it may already be open, and is then no event at all).
    let probe = "[[sensors]]\nid = \"probe\"\nzone = \"doors\"\nkind = \"contact\"\n\
                 source = { kind = \"feed\" }\n";
    let config = write_config(dir.path(), &format!("{}{probe}", body()));
    let cfg = config.to_str().unwrap();
    let copy = dir.path().join("backup.db");
    let live = dir.path().join("journal.db");
    let mut daemon = Daemon::start(dir.path(), &config, None).await;
    let (lines, _) = generate(11);
    let backup = async {
        // Once one line of our own is committed, the stream is in flight: back up now.
        let mut feed = Feed::connect(dir.path()).await;
        assert_eq!(open_contact(&mut feed, "mine", "probe").await, "mine");
        let done = picket_cli(&["backup", "--to", copy.to_str().unwrap(), "--config", cfg]).await;
        let refused =
            picket_cli(&["restore", "--from", copy.to_str().unwrap(), "--config", cfg]).await;
        (done, refused)
    };
    let (acked, (done, refused)) =
        tokio::join!(stream(dir.path(), &mut daemon, &lines, None), backup);
    assert_eq!(acked.len(), lines.len());
    assert!(done.0 && done.1.contains("verified"), "backup: {done:?}");
    assert!(verify(&copy).starts_with("OK"));
    assert!(
        !refused.0 && refused.2.contains("is running"),
        "restore: {refused:?}"
    );
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait().await, Some(0));

    let in_copy = journal_refs(&copy).await;
    let in_live = journal_refs(&live).await;
    assert!(
        in_copy.contains("mine") && in_copy.is_subset(&in_live),
        "copy {} refs, live {}: {:?}",
        in_copy.len(),
        in_live.len(),
        in_copy.difference(&in_live).take(5).collect::<Vec<_>>()
    );
    assert!(
        in_copy.len() < in_live.len(),
        "picket went on writing after the copy"
    );
    let restored =
        picket_cli(&["restore", "--from", copy.to_str().unwrap(), "--config", cfg]).await;
    assert!(restored.0, "restore: {restored:?}");
    assert!(verify(&live).starts_with("OK"));
    assert_eq!(
        journal_refs(&live).await,
        in_copy,
        "the journal is the copy now"
    );
    let kept = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("journal.db.before-restore-"))
        .expect("the replaced journal is kept");
    assert_eq!(journal_refs(&kept).await, in_live, "kept whole");
    assert!(
        restored.1.contains(&kept.display().to_string()),
        "{restored:?}"
    );
}
