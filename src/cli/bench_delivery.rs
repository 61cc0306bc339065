//! `picket bench --delivery`: how long an alarm takes from a sensor's MQTT publish to the
//! receiving centre's DC-09 ACK, p50/p99 over 1,000 alarms, against a baseline measured in
//! the same run on the same machine and disk: a bare broker round trip plus one fsync of
//! the same journal file (the least any design that journals before it reports must pay).
//!
//! picket runs as a child process (`picket run`) with its own Mosquitto and a DC-09
//! receiver inside this process, built on picket's codec, which acknowledges every message
//! and notes when. Alarms go one at a time, so each figure is a latency, not a queue: a
//! contact opens (alarm, measured to its ACK); it closes again (the restore also goes to
//! the centre) and the alarm is acknowledged over the MQTT command topic with a user's
//! code, so the zone raises a fresh alarm in its next round.
//!
//! Then the flood figure: in the last rounds, 200 other sensors (in a disarmed area, so
//! each message is a state change journaled, not an alarm) publish 10,000 messages as fast
//! as the broker takes them, and the round's alarm is published when half of them are
//! out: publish → ACK for an alarm that arrives behind 5,000 queued messages, as after a
//! broker reconnect.

use rumqttc::{Event, Packet, QoS};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::bench::percentile;
use super::bench_mqtt::{connect, contact_payload, free_port, memory, run_picket, start_broker};
use crate::channels::sia::codec::{self, Message, Token};
use crate::engine::{Role, Timestamp};
use crate::journal::Journal;

/// Zones (each in its own area, so no alarm confirms another); alarms take turns.
const ZONES: usize = 100;
/// The bench user's code, for acknowledging over MQTT.
const CODE: &str = "246810";
/// Longest wait for any single step before the bench gives up.
const PATIENCE: Duration = Duration::from_secs(60);
/// Sensors of the flood.
const FLOOD_SENSORS: usize = 200;
/// Messages in each flood.
const FLOOD: usize = 10_000;
/// Rounds with a flood (the last ones).
const FLOOD_ROUNDS: usize = 5;

/// A message the receiver acknowledged: its data, and when the ACK was written.
struct Received {
    acked_at: Instant,
    data: String,
}

/// Listens for DC-09 over TCP on a free port; every decoded message is acknowledged and
/// reported.
async fn start_receiver() -> Result<(u16, mpsc::UnboundedReceiver<Received>), String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("receiver: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, tx.clone()));
        }
    });
    Ok((port, rx))
}

async fn serve(stream: TcpStream, tx: mpsc::UnboundedSender<Received>) {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut frame = Vec::new();
    loop {
        frame.clear();
        match read.read_until(b'\r', &mut frame).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let Ok(msg) = codec::decode(&frame, None) else {
            continue;
        };
        let ack = Message {
            token: Token::Ack,
            sequence: msg.sequence,
            receiver: msg.receiver.clone(),
            line: msg.line.clone(),
            account: msg.account.clone(),
            data: String::new(),
            extended: Vec::new(),
            timestamp: None,
        };
        if write.write_all(&codec::encode(&ack, None)).await.is_err() {
            return;
        }
        let _ = tx.send(Received {
            acked_at: Instant::now(),
            data: msg.data,
        });
    }
}

/// The next acknowledged message whose data contains `needle`.
async fn next_with(
    arc: &mut mpsc::UnboundedReceiver<Received>,
    needle: &str,
) -> Result<Received, String> {
    loop {
        let got = tokio::time::timeout(PATIENCE, arc.recv())
            .await
            .map_err(|_| format!("the receiver got no `{needle}` in time"))?
            .ok_or("the receiver stopped")?;
        if got.data.contains(needle) {
            return Ok(got);
        }
    }
}

/// A message a watching client received, and when.
type Arrival = (Instant, String, Vec<u8>);

/// Publishes received by a watching client, forwarded as they arrive (until it
/// disconnects: the broker stops at the end of the run).
fn forward(mut events: rumqttc::EventLoop) -> mpsc::UnboundedReceiver<Arrival> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if tx
                        .send((Instant::now(), p.topic.clone(), p.payload.to_vec()))
                        .is_err()
                    {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    rx
}

/// When the next message `wanted` arrived.
async fn next_publish(
    rx: &mut mpsc::UnboundedReceiver<Arrival>,
    mut wanted: impl FnMut(&str, &[u8]) -> bool,
) -> Result<Instant, String> {
    loop {
        let (at, topic, payload) = tokio::time::timeout(PATIENCE, rx.recv())
            .await
            .map_err(|_| "no expected MQTT message in time".to_string())?
            .ok_or("the MQTT watcher stopped")?;
        if wanted(&topic, &payload) {
            return Ok(at);
        }
    }
}

fn site_config(journal: &Path, broker: u16, receiver: u16) -> String {
    let mut config = format!(
        "[site]\nname = \"bench\"\n[journal]\npath = \"{}\"\n\
         [mqtt]\nport = {broker}\ndiscovery = false\n[panel]\nswinger_limit = 100\n",
        journal.display()
    );
    for i in 0..ZONES {
        config.push_str(&format!(
            "[[areas]]\nid = \"a{i}\"\nname = \"A{i}\"\n\
             [[zones]]\nid = \"z{i}\"\nname = \"Z{i}\"\narea = \"a{i}\"\ntype = \"burglary_24h\"\nnumber = {}\n\
             [[sensors]]\nid = \"s{i}\"\nzone = \"z{i}\"\nkind = \"contact\"\nsupervision_s = 3600\n\
             source = {{ kind = \"mqtt\", topic = \"zigbee2mqtt/s{i}\" }}\n",
            i + 1
        ));
    }
    config.push_str(
        "[[areas]]\nid = \"flood\"\nname = \"Flood\"\n\
         [[zones]]\nid = \"hall\"\nname = \"Hall\"\narea = \"flood\"\ntype = \"interior\"\n",
    );
    for i in 0..FLOOD_SENSORS {
        config.push_str(&format!(
            "[[sensors]]\nid = \"f{i}\"\nzone = \"hall\"\nkind = \"contact\"\nsupervision_s = 3600\n\
             source = {{ kind = \"mqtt\", topic = \"zigbee2mqtt/f{i}\" }}\n"
        ));
    }
    config.push_str(&format!(
        "[[channels]]\nid = \"arc\"\ntype = \"sia\"\nprimary = \"127.0.0.1:{receiver}\"\n\
         account = \"1234\"\nsupervision_s = 0\n\
         [escalation]\ntiers = [{{ name = \"police\", delay_s = 0, channels = [\"arc\"] }}]\n"
    ));
    config
}

/// What picket's run measured.
struct PicketFigures {
    /// Publish → the alarm's event out on MQTT (published only after the commit).
    committed: Vec<Duration>,
    /// Publish → the receiving centre's ACK.
    acked: Vec<Duration>,
    /// The same for an alarm published in the middle of a flood.
    acked_in_flood: Vec<Duration>,
    /// Memory at the end.
    memory: String,
}

/// Starts flood `round` (each message a state change of one of the flood's sensors) and
/// returns once half of it is handed to the broker connection; the task finishes it.
async fn half_a_flood(
    flooder: &rumqttc::AsyncClient,
    round: usize,
) -> Result<tokio::task::JoinHandle<Result<(), String>>, String> {
    let (half, halfway) = tokio::sync::oneshot::channel();
    let flooder = flooder.clone();
    let task = tokio::spawn(async move {
        let mut half = Some(half);
        for j in 0..FLOOD {
            let closed = !((round * FLOOD + j) / FLOOD_SENSORS).is_multiple_of(2);
            flooder
                .publish(
                    format!("zigbee2mqtt/f{}", j % FLOOD_SENSORS),
                    QoS::AtLeastOnce,
                    false,
                    contact_payload(closed),
                )
                .await
                .map_err(|e| e.to_string())?;
            if j == FLOOD / 2
                && let Some(half) = half.take()
            {
                let _ = half.send(());
            }
        }
        Ok(())
    });
    halfway
        .await
        .map_err(|_| "the flood stopped before its half".to_string())?;
    Ok(task)
}

/// picket's latencies for `alarms` alarms, and its memory at the end.
async fn picket_run(dir: &Path, port: u16, alarms: usize) -> Result<PicketFigures, String> {
    let (arc_port, mut arc) = start_receiver().await?;
    let journal_path = dir.join("journal.db");
    let journal = Journal::open(&journal_path)
        .await
        .map_err(|e| e.to_string())?;
    journal
        .add_user("bench", Role::Supervisor, CODE, None, "bench", Timestamp(0))
        .await
        .map_err(|e| e.to_string())?;
    journal.close().await;
    let config_path = dir.join("picket.toml");
    std::fs::write(&config_path, site_config(&journal_path, port, arc_port))
        .map_err(|e| e.to_string())?;
    let daemon = run_picket(&config_path)?;

    let (watch, watch_events) = connect(port, "bench-watch").await?;
    let mut watched = forward(watch_events);
    watch
        .subscribe("picket/bench/#", QoS::AtLeastOnce)
        .await
        .map_err(|e| e.to_string())?;
    next_publish(&mut watched, |t, p| {
        t == "picket/bench/availability" && p == b"online"
    })
    .await?;
    let (sensors, mut sensor_events) = connect(port, "bench-sensors").await?;
    tokio::spawn(async move { while sensor_events.poll().await.is_ok() {} });

    eprintln!("bench: picket is online; {alarms} alarms, one at a time…");
    let (flooder, mut flood_events) = connect(port, "bench-flood").await?;
    tokio::spawn(async move { while flood_events.poll().await.is_ok() {} });
    let mut committed = Vec::with_capacity(alarms);
    let mut acked = Vec::with_capacity(alarms);
    let mut acked_in_flood = Vec::new();
    for k in 0..alarms {
        let zone = k % ZONES;
        let topic = format!("zigbee2mqtt/s{zone}");
        let flood_round = (k + FLOOD_ROUNDS).checked_sub(alarms);
        let flood = match flood_round {
            Some(round) => Some(half_a_flood(&flooder, round).await?),
            None => None,
        };
        let sent = Instant::now();
        sensors
            .publish(
                topic.as_str(),
                QoS::AtLeastOnce,
                false,
                contact_payload(true),
            )
            .await
            .map_err(|e| e.to_string())?;
        // Contact ID 133 (24-hour burglary), new, in this zone.
        let zone_field = format!(" {:03}", zone + 1);
        let alarm = next_with(&mut arc, "|1133 ").await?;
        if !alarm.data.ends_with(&zone_field) {
            return Err(format!(
                "alarm {k}: expected zone{zone_field}, got {}",
                alarm.data
            ));
        }
        let latency = alarm.acked_at.saturating_duration_since(sent);
        if let Some(task) = flood {
            acked_in_flood.push(latency);
            task.await.map_err(|e| e.to_string())??;
        } else {
            acked.push(latency);
        }
        let alarm_id = json!(k + 1);
        let event_out = next_publish(&mut watched, |t, p| {
            t == "picket/bench/event"
                && serde_json::from_slice::<Value>(p)
                    .is_ok_and(|e| e["kind"] == "alarm_raised" && e["alarm"] == alarm_id)
        })
        .await?;
        if flood_round.is_none() {
            committed.push(event_out.saturating_duration_since(sent));
        }

        sensors
            .publish(
                topic.as_str(),
                QoS::AtLeastOnce,
                false,
                contact_payload(false),
            )
            .await
            .map_err(|e| e.to_string())?;
        next_with(&mut arc, "|3133 ").await?;
        let command = json!({ "id": k, "action": "ack", "alarm": k + 1, "code": CODE });
        watch
            .publish(
                "picket/bench/command",
                QoS::AtLeastOnce,
                false,
                command.to_string(),
            )
            .await
            .map_err(|e| e.to_string())?;
        let mut refused = None;
        next_publish(&mut watched, |t, p| {
            if t != "picket/bench/command/reply" {
                return false;
            }
            let reply: Value = serde_json::from_slice(p).unwrap_or_default();
            if reply["id"] != json!(k) {
                return false;
            }
            if reply["ok"] != json!(true) {
                refused = Some(reply.to_string());
            }
            true
        })
        .await?;
        if let Some(reply) = refused {
            return Err(format!("acknowledging alarm {}: {reply}", k + 1));
        }
    }
    let memory = memory(daemon.0.id());
    drop(daemon);
    Ok(PicketFigures {
        committed,
        acked,
        acked_in_flood,
        memory,
    })
}

/// Rewrites the journal file's first page with what it already holds, and syncs it: one
/// fsync of the same file on the same disk, leaving its content as it was.
fn fsync_journal(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut page = vec![0u8; 4096];
    let n = file.read_at(&mut page, 0).map_err(|e| e.to_string())?;
    file.write_all_at(&page[..n], 0)
        .and_then(|()| file.sync_data())
        .map_err(|e| e.to_string())
}

/// For `n` messages: a QoS 1 publish until a plain subscriber has it, plus one fsync of
/// the journal file.
async fn baseline(port: u16, journal: &Path, n: usize) -> Result<Vec<Duration>, String> {
    let (sub, sub_events) = connect(port, "bench-rtt-sub").await?;
    let mut received = forward(sub_events);
    sub.subscribe("bench/rtt", QoS::AtLeastOnce)
        .await
        .map_err(|e| e.to_string())?;
    let (publ, mut pub_events) = connect(port, "bench-rtt-pub").await?;
    tokio::spawn(async move { while pub_events.poll().await.is_ok() {} });
    // The subscription is in place once a probe comes back.
    publ.publish("bench/rtt", QoS::AtLeastOnce, false, "probe")
        .await
        .map_err(|e| e.to_string())?;
    next_publish(&mut received, |t, _| t == "bench/rtt").await?;
    let mut latencies = Vec::with_capacity(n);
    for k in 0..n {
        let sent = Instant::now();
        publ.publish(
            "bench/rtt",
            QoS::AtLeastOnce,
            false,
            contact_payload(k % 2 == 0),
        )
        .await
        .map_err(|e| e.to_string())?;
        next_publish(&mut received, |t, _| t == "bench/rtt").await?;
        let path = journal.to_path_buf();
        tokio::task::spawn_blocking(move || fsync_journal(&path))
            .await
            .map_err(|e| e.to_string())??;
        latencies.push(sent.elapsed());
    }
    Ok(latencies)
}

/// Runs the delivery benchmark and prints a Markdown table.
pub async fn run(dir: &Path, alarms: usize) -> Result<(), String> {
    let port = free_port()?;
    let _broker = start_broker(dir, port)?;
    connect(port, "bench-probe").await?;
    let mut picket = picket_run(dir, port, alarms).await?;
    eprintln!("bench: baseline…");
    let mut base = baseline(port, &dir.join("journal.db"), alarms).await?;
    base.sort();
    picket.committed.sort();
    picket.acked.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (b50, b99) = (percentile(&base, 0.50), percentile(&base, 0.99));
    println!(
        "{alarms} alarms, one at a time, each from a Zigbee2MQTT contact over a local Mosquitto \
         (QoS 1) to a DC-09 receiver on localhost (ADM-CID, TCP, unencrypted)\n"
    );
    println!("| run | latency p50 | p99 | ratio p50 | ratio p99 |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| baseline: broker round trip + one fsync of the journal file | {:.2} ms | {:.2} ms | 1.00× | 1.00× |",
        ms(b50),
        ms(b99)
    );
    for (name, sorted) in [
        (
            "picket: publish → journal commit (alarm + outbox row) → event out on MQTT",
            &picket.committed,
        ),
        (
            "picket: publish → journal commit → outbox worker → DC-09 → ACK",
            &picket.acked,
        ),
    ] {
        let (p50, p99) = (percentile(sorted, 0.50), percentile(sorted, 0.99));
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2}× | {:.2}× |",
            ms(p50),
            ms(p99),
            p50.as_secs_f64() / b50.as_secs_f64(),
            p99.as_secs_f64() / b99.as_secs_f64()
        );
    }
    picket.acked_in_flood.sort();
    let flood = &picket.acked_in_flood;
    println!(
        "| picket: the same for an alarm published behind {} of a {FLOOD}-message flood from \
         {FLOOD_SENSORS} sensors (median / slowest of {}) | {:.2} ms | {:.2} ms | {:.2}× | {:.2}× |",
        FLOOD / 2,
        flood.len(),
        ms(percentile(flood, 0.5)),
        ms(percentile(flood, 1.0)),
        percentile(flood, 0.5).as_secs_f64() / b50.as_secs_f64(),
        percentile(flood, 1.0).as_secs_f64() / b99.as_secs_f64()
    );
    println!("\npicket memory after the run: {}", picket.memory);
    Ok(())
}
