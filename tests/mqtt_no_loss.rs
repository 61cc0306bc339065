//! No loss over MQTT: a flood of QoS 1 sensor messages while the broker is restarted and
//! picket is SIGKILLed, restarted, and stopped gracefully under load. Every transition the test published appears in the
//! journal, in order, every sensor ends in the state last published, and the chain
//! verifies. A duplicate of a message changes no state.

mod common;

use common::broker::{Broker, BrokerOptions};
use common::{Daemon, PATIENCE};
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use std::collections::BTreeMap;
use std::time::Duration;

const SENSORS: usize = 50;
const MESSAGES: usize = 3000;

fn write_config(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    let mut s = format!(
        "[site]\nname = \"Flood\"\n[journal]\npath = \"{}\"\n[mqtt]\nport = {port}\nclient_id = \"picket-flood\"\n\
         [[areas]]\nid = \"a\"\nname = \"A\"\n[[zones]]\nid = \"z\"\nname = \"Z\"\narea = \"a\"\ntype = \"perimeter\"\n",
        dir.join("journal.db").display()
    );
    for i in 0..=SENSORS {
        s.push_str(&format!(
            "[[sensors]]\nid = \"c{i}\"\nzone = \"z\"\nkind = \"contact\"\nsource = {{ kind = \"mqtt\", topic = \"zigbee2mqtt/c{i}\" }}\n"
        ));
    }
    let path = dir.join("picket.toml");
    std::fs::write(&path, s).unwrap();
    path
}

/// The k-th message: sensors take turns; each message flips its sensor.
fn message(k: usize) -> (String, bool) {
    let sensor = k % SENSORS;
    let open = (k / SENSORS).is_multiple_of(2);
    (format!("c{sensor}"), open)
}

/// Publishes messages `range` and waits until the broker acknowledged every one. A fresh
/// client per batch: rumqttc's own publisher can wedge across a broker restart
/// (bytebeamio/rumqtt#1056), and the publisher is not what this test is about.
async fn publish_batch(port: u16, range: std::ops::Range<usize>) {
    let mut o = MqttOptions::new(
        format!("flood-publisher-{}", range.start),
        "127.0.0.1",
        port,
    );
    o.set_inflight(100);
    let (client, mut ev) = AsyncClient::new(o, 10_000);
    let n = range.len();
    let sender = tokio::spawn(async move {
        for k in range {
            let (sensor, open) = message(k);
            let payload = format!(r#"{{"contact":{},"battery":90,"linkquality":100}}"#, !open);
            client
                .publish(
                    format!("zigbee2mqtt/{sensor}"),
                    QoS::AtLeastOnce,
                    false,
                    payload,
                )
                .await
                .unwrap();
        }
        client
    });
    let mut acked = 0;
    tokio::time::timeout(PATIENCE, async {
        while acked < n {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
                Ok(_) => {}
                Err(e) => panic!("publisher: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("publisher stalled at {acked} of {n}"));
    let client = sender.await.unwrap();
    client.disconnect().await.unwrap();
    while !matches!(
        ev.poll().await,
        Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_)
    ) {}
}

/// Waits until picket says it is online, which it does once the broker has confirmed its
/// subscriptions. (READY to systemd does not wait for the broker, rightly; but on a first
/// connection there is no session yet, and messages published before the subscription
/// would have no subscriber.)
async fn wait_online(port: u16) {
    let (client, mut ev) =
        AsyncClient::new(MqttOptions::new("online-watch", "127.0.0.1", port), 10);
    client
        .subscribe("picket/flood/availability", QoS::AtLeastOnce)
        .await
        .unwrap();
    tokio::time::timeout(PATIENCE, async {
        loop {
            if let Event::Incoming(Packet::Publish(p)) = ev.poll().await.unwrap()
                && &p.payload[..] == b"online"
            {
                return;
            }
        }
    })
    .await
    .expect("picket never came online");
    client.disconnect().await.unwrap();
    while !matches!(
        ev.poll().await,
        Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_)
    ) {}
}

/// Publishes one message and waits for its acknowledgement.
async fn publish_one(port: u16, topic: &str, payload: &str) {
    let (client, mut ev) = AsyncClient::new(MqttOptions::new("marker", "127.0.0.1", port), 10);
    client
        .publish(topic, QoS::AtLeastOnce, false, payload.to_string())
        .await
        .unwrap();
    tokio::time::timeout(PATIENCE, async {
        while !matches!(ev.poll().await.unwrap(), Event::Incoming(Packet::PubAck(_))) {}
    })
    .await
    .expect("marker not acknowledged");
    client.disconnect().await.unwrap();
    while !matches!(
        ev.poll().await,
        Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_)
    ) {}
}

/// Each sensor's journaled states, in journal order.
async fn journaled(path: &std::path::Path) -> BTreeMap<String, Vec<bool>> {
    let j = picket::journal::Journal::open_existing(path).await.unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT sensor, message_en FROM events WHERE kind = 'sensor_changed' ORDER BY seq",
    )
    .fetch_all(j.pool())
    .await
    .unwrap();
    j.close().await;
    let mut out: BTreeMap<String, Vec<bool>> = BTreeMap::new();
    for (sensor, message) in rows {
        out.entry(sensor)
            .or_default()
            .push(message.ends_with("opened"));
    }
    out
}

fn is_subsequence(needle: &[bool], hay: &[bool]) -> bool {
    let mut it = hay.iter();
    needle.iter().all(|n| it.any(|h| h == n))
}

/// Each sensor's published transitions for messages `range`, in order.
fn published(range: std::ops::Range<usize>) -> BTreeMap<String, Vec<bool>> {
    let mut out: BTreeMap<String, Vec<bool>> = BTreeMap::new();
    for k in range {
        let (sensor, open) = message(k);
        out.entry(sensor).or_default().push(open);
    }
    out
}

/// Waits until the marker sensor has `changes` journaled changes: picket handles a
/// session's messages in order, so everything published before the marker is in too.
async fn wait_for_marker(journal: &std::path::Path, changes: usize, what: &str) {
    let marker = format!("c{SENSORS}");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while journaled(journal).await.get(&marker).map_or(0, Vec::len) < changes {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart_and_picket_sigkill_during_a_flood_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), BrokerOptions::default()).await;
    let config = write_config(dir.path(), broker.port);
    let journal = dir.path().join("journal.db");
    let mut daemon = Daemon::start(dir.path(), &config, None).await;
    wait_online(broker.port).await;
    // A third; the broker restarts while picket works through it.
    publish_batch(broker.port, 0..MESSAGES / 3).await;
    broker.restart().await;
    // Another third; picket is SIGKILLed while it works through that.
    publish_batch(broker.port, MESSAGES / 3..2 * MESSAGES / 3).await;
    daemon.child.start_kill().unwrap();
    daemon.child.wait().await.unwrap();
    // The rest arrives while picket is down; the broker keeps it for picket's session.
    publish_batch(broker.port, 2 * MESSAGES / 3..MESSAGES).await;
    // Restarted, it is asked to stop while working through that backlog: it must drain
    // and exit promptly.
    let daemon = Daemon::start(dir.path(), &config, None).await;
    daemon.signal(libc::SIGTERM);
    assert_eq!(
        daemon.wait().await,
        Some(0),
        "graceful stop under load failed"
    );
    let daemon = Daemon::start(dir.path(), &config, None).await;

    // A marker published after the flood: once it is journaled, everything before it is.
    publish_one(
        broker.port,
        &format!("zigbee2mqtt/c{SENSORS}"),
        r#"{"contact":false}"#,
    )
    .await;
    wait_for_marker(&journal, 1, "marker never journaled").await;

    // A duplicate of the last message changes nothing.
    let before = journaled(&journal).await;
    let (sensor, open) = message(MESSAGES - 1);
    publish_one(
        broker.port,
        &format!("zigbee2mqtt/{sensor}"),
        &format!(r#"{{"contact":{}}}"#, !open),
    )
    .await;
    publish_one(
        broker.port,
        &format!("zigbee2mqtt/c{SENSORS}"),
        r#"{"contact":true}"#,
    )
    .await;
    wait_for_marker(&journal, 2, "second marker never journaled").await;
    let after = journaled(&journal).await;
    assert_eq!(before[&sensor], after[&sensor], "a duplicate changed state");

    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait().await, Some(0));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_picket"))
        .args(["verify-journal", journal.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    for (sensor, states) in &published(0..MESSAGES) {
        let seen = after.get(sensor).cloned().unwrap_or_default();
        assert!(
            is_subsequence(states, &seen),
            "{sensor}: published {} transitions, journal has {}: some were lost",
            states.len(),
            seen.len()
        );
        assert_eq!(
            seen.last(),
            states.last(),
            "{sensor} ends in the wrong state"
        );
    }
}

/// A sustained flood while picket also publishes every event on its own topics: the
/// path that once deadlocked (the event loop waiting on acks that waited on the event
/// loop) must keep flowing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sustained_flood_with_every_event_published_does_not_stall() {
    const FLOOD: usize = 8000;
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), BrokerOptions::default()).await;
    let config = write_config(dir.path(), broker.port);
    let daemon = Daemon::start(dir.path(), &config, None).await;
    wait_online(broker.port).await;
    publish_batch(broker.port, 0..FLOOD).await;
    publish_one(
        broker.port,
        &format!("zigbee2mqtt/c{SENSORS}"),
        r#"{"contact":false}"#,
    )
    .await;
    let journal = dir.path().join("journal.db");
    wait_for_marker(&journal, 1, "picket stalled under the flood").await;
    let seen = journaled(&journal).await;
    for (sensor, states) in &published(0..FLOOD) {
        let got = seen.get(sensor).cloned().unwrap_or_default();
        assert!(
            is_subsequence(states, &got),
            "{sensor}: {} published, {} journaled",
            states.len(),
            got.len()
        );
    }
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.wait().await, Some(0));
}
