//! The feed socket against bad input: each bad line gets an error naming the line and
//! what was wrong, is counted, and neither crashes the daemon nor disturbs other sensors.

mod common;

use common::{Daemon, Feed, write_config};

const BODY: &str = r#"
[[areas]]
id = "gate"
name = "Cổng"

[[zones]]
id = "fire"
name = "Cháy"
area = "gate"
type = "fire"

[[zones]]
id = "door"
name = "Cửa"
area = "gate"
type = "perimeter"

[[sensors]]
id = "smoke"
zone = "fire"
kind = "smoke"
source = { kind = "feed" }

[[sensors]]
id = "door_c"
zone = "door"
kind = "contact"
source = { kind = "simulated" }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_lines_are_answered_with_the_reason_and_good_ones_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), BODY);
    let daemon = Daemon::start(dir.path(), &config, None).await;
    let mut feed = Feed::connect(dir.path()).await;

    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"{not json".to_vec(), "invalid JSON"),
        (br#"["an", "array"]"#.to_vec(), "expected a JSON object"),
        (
            br#"{"kind":"smoke","active":true}"#.to_vec(),
            "missing \"sensor\"",
        ),
        (
            br#"{"sensor":"smoke","kind":"smoke","active":"yes"}"#.to_vec(),
            "bad reading for `smoke`",
        ),
        (
            br#"{"sensor":"smoke","kind":"explosion"}"#.to_vec(),
            "bad reading for `smoke`",
        ),
        (
            br#"{"sensor":"ghost","kind":"heartbeat"}"#.to_vec(),
            "sensor `ghost` is not configured",
        ),
        (
            br#"{"sensor":"door_c","kind":"contact","active":true}"#.to_vec(),
            "sensor `door_c` is not configured with source",
        ),
        (vec![b'{', 0xff, 0xfe, b'}'], "not UTF-8"),
        (vec![b'x'; 1024 * 1024], "longer than"),
    ];
    for (i, (line, _)) in cases.iter().enumerate() {
        use tokio::io::AsyncWriteExt;
        feed.writer.write_all(line).await.unwrap();
        feed.writer.write_all(b"\n").await.unwrap();
        let reply = feed.reply().await.expect("reply");
        let (_, expected) = &cases[i];
        let error = reply["error"]
            .as_str()
            .unwrap_or_else(|| panic!("case {i} accepted: {reply}"));
        assert!(error.contains(expected), "case {i}: {error}");
        assert_eq!(
            reply["line"],
            (i + 1) as u64,
            "case {i} names the wrong line"
        );
    }

    // The same connection and the daemon still work.
    feed.send(r#"{"ref":"ok-1","sensor":"smoke","kind":"smoke","active":true}"#)
        .await;
    let reply = feed.reply().await.expect("reply");
    assert_eq!(reply["ack"], "ok-1", "{reply}");
    drop(feed);
    daemon.signal(libc::SIGINT);
    assert_eq!(daemon.wait().await, Some(0));

    let journal = picket::journal::Journal::open_existing(&dir.path().join("journal.db"))
        .await
        .unwrap();
    let alarms = journal.open_alarms().await.unwrap();
    assert_eq!(alarms.len(), 1);
    assert_eq!(alarms[0].code.0, 111);
}

/// Runs `picket alarm ARGS --config CONFIG` with `stdin`: (success, stdout, stderr).
fn alarm_command(config: &std::path::Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut all = vec!["alarm"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--config", config.to_str().unwrap()]);
    common::said(&common::picket_with_stdin(&all, stdin))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_lists_acknowledges_and_resolves_alarms_with_a_code() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), BODY);
    common::add_guard(&dir.path().join("journal.db"), "an", "2468").await;
    let daemon = Daemon::start(dir.path(), &config, None).await;
    let mut feed = Feed::connect(dir.path()).await;
    feed.send(r#"{"sensor":"smoke","kind":"smoke","active":true}"#)
        .await;
    assert!(feed.reply().await.unwrap().get("ack").is_some());

    let (ok, out, err) = alarm_command(&config, &["list"], "");
    assert!(ok, "{err}");
    let row = out
        .lines()
        .find(|l| l.starts_with("1\t"))
        .unwrap_or_else(|| panic!("no alarm 1 in:\n{out}"));
    assert!(row.contains("raised\t111\tfire\tgate\tfire"), "{row}");

    // A wrong code is refused and said so; resolving before acknowledging is refused too.
    let (ok, _, err) = alarm_command(&config, &["ack", "1"], "1111\n");
    assert!(!ok && err.contains("wrong code"), "{err}");
    let (ok, _, err) = alarm_command(
        &config,
        &["resolve", "1", "--resolution", "false"],
        "2468\n",
    );
    assert!(
        !ok && err.contains("acknowledge alarm #1 before resolving"),
        "{err}"
    );

    let (ok, out, err) = alarm_command(&config, &["ack", "1", "--note", "đang kiểm tra"], "2468\n");
    assert!(ok && out.contains("by an"), "{out}{err}");
    let (_, out, _) = alarm_command(&config, &["list"], "");
    assert!(
        out.lines()
            .any(|l| l.starts_with("1\tacknowledged") && l.contains("\tan")),
        "{out}"
    );
    let (ok, _, err) = alarm_command(
        &config,
        &[
            "resolve",
            "1",
            "--resolution",
            "false",
            "--note",
            "khói bếp",
        ],
        "2468\n",
    );
    assert!(ok, "{err}");
    let (_, out, _) = alarm_command(&config, &["list"], "");
    assert!(out.contains("No open alarms"), "{out}");

    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait().await, Some(0));
    let journal = picket::journal::Journal::open_existing(&dir.path().join("journal.db"))
        .await
        .unwrap();
    let audit: Vec<(String, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT user_name, origin, action, result, address FROM audit \
         WHERE action <> 'user_add' ORDER BY id",
    )
    .fetch_all(journal.pool())
    .await
    .unwrap();
    let uid = unsafe { libc::getuid() };
    let from = format!("control socket, uid {uid}");
    assert_eq!(
        audit
            .iter()
            .map(|a| (
                a.0.as_str(),
                a.1.as_str(),
                a.2.as_str(),
                a.3.as_str(),
                a.4.as_deref()
            ))
            .collect::<Vec<_>>(),
        [
            (
                "unknown",
                "cli",
                "acknowledge",
                "refused: wrong code",
                Some(from.as_str())
            ),
            (
                "an",
                "cli",
                "resolve",
                "refused: acknowledge alarm #1 before resolving it",
                Some(from.as_str())
            ),
            ("an", "cli", "acknowledge", "ok", Some(from.as_str())),
            ("an", "cli", "resolve", "ok", Some(from.as_str())),
        ]
    );
    let (note,): (String,) = sqlx::query_as("SELECT note FROM alarms WHERE id = 1")
        .fetch_one(journal.pool())
        .await
        .unwrap();
    assert_eq!(note, "đang kiểm tra\nkhói bếp");
}
