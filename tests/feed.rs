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
