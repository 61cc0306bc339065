//! Life safety outranks bookkeeping: while the journal cannot be written, an alarm still
//! drives the sirens and is published, a system trouble (300) is raised, the sender is told
//! its input was not committed, every channel still hears of it (from the shadow outbox),
//! and everything is written once the journal recovers, without sending it again.

mod common;

use common::Feed;
use common::delivery::{
    journal, next_notice, next_report, sia_channel, site, trip, wait_for, webhook,
};
use common::inproc::Picket;
use common::peers::Peer;
use picket::config;
use picket::engine::*;
use picket::journal::DeliveryState;
use picket::journal::{self, Journal, Writer};
use picket::runtime::{self, Effects, SubmitError};
use sqlx::Connection;
use std::sync::Arc;

const SITE: &str = r#"
[site]
name = "Kho"
[[areas]]
id = "wh"
name = "Kho"
[[zones]]
id = "fire"
name = "Cháy"
area = "wh"
type = "fire"
[[sensors]]
id = "smoke"
zone = "fire"
kind = "smoke"
source = { kind = "simulated" }
[[outputs]]
id = "siren"
kind = "siren"
"#;

/// A connection of another process holding the journal's write lock until rolled back.
async fn hold_write_lock(path: &std::path::Path) -> sqlx::SqliteConnection {
    let mut blocker = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut blocker)
        .await
        .unwrap();
    blocker
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarms_go_out_while_the_journal_is_locked_and_are_written_afterwards() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.db");
    let journal = Journal::open(&path).await.unwrap();
    let site = Arc::new(Site::from_config(&config::parse_str(SITE).unwrap()));
    let engine = Engine::new(site, SystemClock::new());
    let writer = Writer::new(journal.clone()).await.unwrap();
    let effects = Effects::new(&engine);
    let mut events = effects.events.subscribe();
    let mut outputs = effects.outputs.subscribe();
    let (task, handle) = runtime::spawn_engine(engine, writer, effects);

    // Another process holds the write lock (a stuck backup, a full disk…).
    let mut blocker = hold_write_lock(&path).await;

    let smoke = |active| Observation {
        sensor: "smoke".into(),
        reading: Reading::Smoke { active },
        source_ref: Some(format!("smoke-{active}")),
    };
    let result = handle.observe(smoke(true)).await;
    assert!(
        matches!(result, Err(SubmitError::NotCommitted(_))),
        "{result:?}"
    );

    // The effects went out regardless.
    outputs
        .wait_for(|o| o.get("siren") == Some(&OutputPattern::Temporal3))
        .await
        .unwrap();
    let mut published = Vec::new();
    while let Ok(p) = events.try_recv() {
        published.push(p);
    }
    assert!(
        published
            .iter()
            .any(|p| p.event.kind == EventKind::AlarmRaised
                && p.event.code == Some(ContactId::SMOKE)
                && p.seq.is_none())
    );
    assert!(
        published
            .iter()
            .any(|p| p.event.code == Some(ContactId::SYSTEM_TROUBLE)
                && p.event.qualifier == Qualifier::New)
    );

    // The lock goes away; the next input commits the backlog first.
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    blocker.close().await.unwrap();
    let receipt = handle
        .observe(smoke(false))
        .await
        .expect("committed after recovery");
    assert!(receipt.events.iter().all(|p| p.seq.is_some()));
    drop(handle);
    task.await.unwrap();

    let kinds: Vec<(String, Option<i64>, i64)> =
        sqlx::query_as("SELECT kind, code, qualifier FROM events ORDER BY seq")
            .fetch_all(journal.pool())
            .await
            .unwrap();
    let has = |kind: &str, code: i64, q: i64| {
        kinds
            .iter()
            .any(|(k, c, qq)| k == kind && *c == Some(code) && *qq == q)
    };
    assert!(has("alarm_raised", 111, 1), "{kinds:?}");
    assert!(has("trouble", 300, 1), "{kinds:?}");
    assert!(has("trouble_restored", 300, 3), "{kinds:?}");
    assert!(has("alarm_zone_restored", 111, 3), "{kinds:?}");
    let alarms = journal.open_alarms().await.unwrap();
    assert_eq!(alarms.len(), 1);
    assert!(journal::verify(&journal).await.unwrap().broken.is_none());
}

/// The centre's next report as (event type, qualifier, zone).
async fn next_cid(receiver: &mut Peer) -> (String, String, String) {
    let got = next_report(receiver).await;
    let field = |k: &str| got[k].as_str().unwrap_or_default().to_string();
    (field("event_type"), field("event_qualifier"), field("ri"))
}

/// The webhook's next notice as (code, qualifier, zone number, message id).
async fn next_hook(hook: &mut Peer) -> (u64, u64, u64, String) {
    let body = next_notice(hook).await;
    (
        body["event"]["code"].as_u64().unwrap_or_default(),
        body["event"]["qualifier"].as_u64().unwrap_or_default(),
        body["event"]["zone_number"].as_u64().unwrap_or_default(),
        body["message_id"].as_str().unwrap_or_default().to_string(),
    )
}

fn cid(code: &str, qualifier: &str, zone: &str) -> (String, String, String) {
    (code.into(), qualifier.into(), zone.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_journal_is_locked_alarms_still_reach_every_channel_and_are_not_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Peer::start("sia_receiver.py", &["tcp", "0"]).await;
    let (mut hook, hq) = webhook(dir.path()).await;
    let config = site(
        dir.path(),
        &format!(
            "{}{hq}[escalation]\nevents = [\"arc\", \"hq\"]\ntiers = [\
             {{ name = \"guards\", delay_s = 0, channels = [\"hq\"] }}, \
             {{ name = \"police\", delay_s = 0, channels = [\"arc\"] }}]\n",
            sia_channel(receiver.port, None, "supervision_s = 0")
        ),
    );
    let picket = Picket::start(config).await;
    let mut feed = Feed::connect(dir.path()).await;

    // Before the outage: alarm 1 reaches both.
    trip(&mut feed, 1).await;
    assert_eq!(next_cid(&mut receiver).await, cid("133", "1", "011"));
    assert_eq!(next_hook(&mut hook).await.0, 133);
    let journal = journal(dir.path()).await;
    let all_delivered = async |count: usize| {
        let rows = journal.deliveries(None).await.unwrap();
        rows.len() == count && rows.iter().all(|r| r.state == DeliveryState::Acknowledged)
    };
    wait_for("alarm 1's deliveries recorded", async || {
        all_delivered(2).await
    })
    .await;

    // Another process holds the journal's write lock.
    let path = dir.path().join("journal.db");
    let mut blocker = hold_write_lock(&path).await;

    // Alarm 2 cannot be committed, and still reaches the centre and the security team,
    // followed by the journal's own trouble.
    feed.send(r#"{"ref":"2","sensor":"s2","kind":"contact","active":true}"#)
        .await;
    let reply = feed.reply().await.expect("feed reply");
    assert!(
        reply["error"]
            .as_str()
            .is_some_and(|e| e.contains("not committed")),
        "{reply}"
    );
    assert_eq!(next_cid(&mut receiver).await, cid("133", "1", "012"));
    assert_eq!(next_cid(&mut receiver).await.0, "300");
    let alarm2 = next_hook(&mut hook).await;
    assert_eq!((alarm2.0, alarm2.2), (133, 12), "{alarm2:?}");
    assert_eq!(next_hook(&mut hook).await.0, 300);

    // Alarm 1's zone closes during the outage: whoever was told before hears it.
    feed.send(r#"{"ref":"3","sensor":"s1","kind":"contact","active":false}"#)
        .await;
    assert!(
        feed.reply()
            .await
            .expect("feed reply")
            .get("error")
            .is_some()
    );
    assert_eq!(next_cid(&mut receiver).await, cid("133", "3", "011"));
    let restore1 = next_hook(&mut hook).await;
    assert_eq!((restore1.0, restore1.1, restore1.2), (133, 3, 11));

    // The lock goes. The backlog is written with the ids the deliveries already carried,
    // recorded as delivered, and not sent again: the next thing either recipient hears is
    // that the journal is writable again.
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    blocker.close().await.unwrap();
    assert_eq!(next_cid(&mut receiver).await, cid("300", "3", "000"));
    let restored = next_hook(&mut hook).await;
    assert_eq!((restored.0, restored.1), (300, 3), "{restored:?}");
    wait_for("every delivery recorded", async || all_delivered(10).await).await;
    let rows = journal.deliveries(None).await.unwrap();
    for id in [&alarm2.3, &restore1.3] {
        let row = rows.iter().find(|r| &r.message_id == id);
        assert!(
            row.is_some(),
            "no journal row with message id {id}: {rows:?}"
        );
    }

    // Delivery carries on from the journal.
    trip(&mut feed, 3).await;
    assert_eq!(next_cid(&mut receiver).await, cid("133", "1", "013"));
    picket.stop().await;
    receiver.stop().await;
    hook.stop().await;
}

/// Five 24-hour zones on the feed and a DC-09 channel that hears every event, as text
/// for a `picket run` child; the journal is at `journal`.
fn full_disk_site(dir: &std::path::Path, journal: &std::path::Path, port: u16) -> String {
    let mut text = format!(
        "[site]\nname = \"Kho\"\n\n[journal]\npath = \"{}\"\n\n[feed]\nsocket = \"{}\"\n\n",
        journal.display(),
        dir.join("feed.sock").display()
    );
    for i in 1..=5 {
        text.push_str(&format!(
            "[[areas]]\nid = \"a{i}\"\nname = \"Bãi {i}\"\n\n\
             [[zones]]\nid = \"z{i}\"\nname = \"Hàng rào {i}\"\narea = \"a{i}\"\n\
             type = \"burglary_24h\"\nnumber = {}\n\n\
             [[sensors]]\nid = \"s{i}\"\nzone = \"z{i}\"\nkind = \"contact\"\n\
             source = {{ kind = \"feed\" }}\n\n",
            10 + i
        ));
    }
    text.push_str(&format!(
        "{}[escalation]\nevents = [\"arc\"]\n\
         tiers = [{{ name = \"police\", delay_s = 0, channels = [\"arc\"] }}]\n",
        sia_channel(port, None, "supervision_s = 0")
    ));
    text
}

/// Sends one contact reading on the feed; true when it was committed.
async fn contact(feed: &mut Feed, i: u32, active: bool) -> bool {
    feed.send(&format!(
        r#"{{"sensor":"s{i}","kind":"contact","active":{active}}}"#
    ))
    .await;
    feed.reply().await.expect("feed reply").get("ack").is_some()
}

/// Fills the filesystem at `path` (seen through the daemon's mount namespace) until it
/// is full.
fn fill(path: &std::path::Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).expect("filler file");
    let block = vec![0u8; 16 * 1024];
    while file.write_all(&block).is_ok() {}
    let _ = file.sync_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_heals_once_space_is_freed_and_the_centre_hears_one_trouble_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let mut receiver = Peer::start("sia_receiver.py", &["tcp", "0"]).await;
    let journal_path = small.join("journal.db");
    let config = dir.path().join("picket.toml");
    std::fs::write(
        &config,
        full_disk_site(dir.path(), &journal_path, receiver.port),
    )
    .unwrap();
    // picket runs with its journal on a 2 MiB tmpfs of its own (a mount namespace made by
    // unshare, so no root is needed), which the test fills through /proc/<pid>/root.
    let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
    let mut cmd = tokio::process::Command::new("unshare");
    cmd.args(["-rm", "sh", "-c"])
        .arg("mount -t tmpfs -o size=2m tmpfs \"$0\" && exec \"$1\" run --config \"$2\"")
        .arg(&small)
        .arg(env!("CARGO_BIN_EXE_picket"))
        .arg(&config)
        .stderr(stderr);
    let daemon = common::Daemon::start_command(dir.path(), cmd, None).await;
    let pid = daemon.child.id().expect("running");
    let inside = std::path::PathBuf::from(format!("/proc/{pid}/root"))
        .join(small.strip_prefix("/").unwrap());
    assert!(
        inside.join("journal.db").exists(),
        "the journal is on the small filesystem"
    );
    let mut feed = Feed::connect(dir.path()).await;

    assert!(contact(&mut feed, 1, true).await);
    assert_eq!(next_cid(&mut receiver).await, cid("133", "1", "011"));

    // The disk fills up. Steady traffic goes on: zone 2 opens and closes, each change
    // reaching the centre although the journal cannot take it.
    fill(&inside.join("filler"));
    let mut refused_during = 0;
    for k in 0..8 {
        if !contact(&mut feed, 2, k % 2 == 0).await {
            refused_during += 1;
        }
    }
    assert!(refused_during > 0, "the full disk refused nothing");

    // Space is freed: from now on nothing is refused, and the backlog is written.
    std::fs::remove_file(inside.join("filler")).unwrap();
    let mut refused_after = 0;
    for k in 0..12 {
        if !contact(&mut feed, 3, k % 2 == 0).await {
            refused_after += 1;
        }
    }
    // The first input after the space came back may still meet the full disk's last
    // failed commit; none after it.
    let log = || std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
    assert!(
        refused_after <= 1,
        "{refused_after} of 12 inputs refused after space was freed; picket said:\n{}",
        log()
    );
    for k in 0..4 {
        assert!(
            contact(&mut feed, 4, k % 2 == 0).await,
            "an input refused long after space was freed; picket said:\n{}",
            log()
        );
    }

    // A last alarm marks the end: per channel nothing overtakes, so everything the centre
    // hears before it is what the outage and its recovery made it hear.
    assert!(contact(&mut feed, 5, true).await);
    let mut heard: Vec<(u32, String)> = Vec::new();
    loop {
        let got = next_report(&mut receiver).await;
        let field = |k: &str| got[k].as_str().unwrap_or_default().to_string();
        let what = format!(
            "{}{} {}",
            field("event_qualifier"),
            field("event_type"),
            field("ri")
        );
        heard.push((field("sequence").parse().unwrap(), what.clone()));
        if what == "1133 015" {
            break;
        }
    }
    // Every message once: no sequence number for two messages, nothing the shadow
    // delivered sent again, and as many messages as the journal has deliveries.
    let mut by_sequence: std::collections::BTreeMap<u32, Vec<&str>> = Default::default();
    for (sequence, what) in &heard {
        by_sequence.entry(*sequence).or_default().push(what);
    }
    for (sequence, messages) in &by_sequence {
        assert_eq!(
            messages.len(),
            1,
            "sequence {sequence} carried {messages:?}: {heard:?}"
        );
    }
    // In the order they happened, and with one trouble 300 and one restore, the restore
    // after the trouble: the centre's last word is that the journal works.
    assert!(
        heard.windows(2).all(|w| w[0].0 < w[1].0),
        "not in journal order: {heard:?}"
    );
    let troubles: Vec<&str> = heard
        .iter()
        .filter(|(_, what)| what.ends_with("300 000"))
        .map(|(_, what)| what.as_str())
        .collect();
    assert_eq!(troubles, ["1300 000", "3300 000"], "{heard:?}");
    // The journal as it is now (SQLite will not open a file through /proc/<pid>/root, so
    // a copy), once the last ACK is recorded.
    let copies = dir.path().join("copies");
    let mut copy = 0;
    let (journal, rows) = loop {
        copy += 1;
        let to = copies.join(copy.to_string());
        std::fs::create_dir_all(&to).unwrap();
        for file in ["journal.db", "journal.db-wal"] {
            let _ = std::fs::copy(inside.join(file), to.join(file));
        }
        let journal = Journal::open_existing(&to.join("journal.db"))
            .await
            .unwrap();
        let rows = journal.deliveries(Some("arc")).await.unwrap();
        if rows.iter().all(|r| r.state == DeliveryState::Acknowledged) {
            break (journal, rows);
        }
        assert!(copy < 100, "deliveries never all acknowledged: {rows:?}");
        journal.close().await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(
        rows.len(),
        heard.len() + 1,
        "rows {rows:?}\nheard {heard:?}"
    );
    let events = journal.recent_events(10_000).await.unwrap();
    let journaled_troubles = events.iter().filter(|e| e.code == Some(300)).count();
    assert_eq!(
        journaled_troubles, 2,
        "one trouble 300 and its restore in the journal"
    );
    assert!(journal::verify(&journal).await.unwrap().broken.is_none());
    journal.close().await;

    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait().await, Some(0));
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert!(
        !log.contains("could not be written") && !log.contains("transaction depth"),
        "{log}"
    );
    receiver.stop().await;
}
