//! Nothing accepted is lost: 10,000 observations through the real daemon, SIGKILL at a
//! random moment, restart. Every state-changing observation acknowledged before the kill
//! is in the journal, the hash chain verifies, and after replaying the unacknowledged
//! rest every state change of the whole run is journaled.

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
