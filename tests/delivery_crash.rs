//! At-least-once delivery across crashes: picket is killed with SIGKILL again and again
//! while alarms are being delivered to a DC-09 receiver (pysiaalarm) that is up only half
//! the time. In the end every alarm reached the receiver at least once, and every repeat
//! of an alarm carried the same DC-09 sequence number (its stable message id).

mod common;

use common::broker::free_port;
use common::peers::Peer;
use common::{Daemon, Feed, write_config};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

const ALARMS: u32 = 20;
const ROUNDS: u32 = 5;

fn body(port: u16) -> String {
    let mut s = String::new();
    for i in 1..=ALARMS {
        s.push_str(&format!(
            "[[areas]]\nid = \"a{i}\"\nname = \"Khu {i}\"\n\n\
             [[zones]]\nid = \"z{i}\"\nname = \"Hàng rào {i}\"\narea = \"a{i}\"\n\
             type = \"burglary_24h\"\nnumber = {i}\n\n\
             [[sensors]]\nid = \"s{i}\"\nzone = \"z{i}\"\nkind = \"contact\"\n\
             source = {{ kind = \"feed\" }}\n\n"
        ));
    }
    s.push_str(&format!(
        "[[channels]]\nid = \"arc\"\ntype = \"sia\"\nprimary = \"127.0.0.1:{port}\"\n\
         account = \"1234\"\ntimeout_s = 1\nsupervision_s = 0\n\n\
         [escalation]\ntiers = [{{ name = \"police\", delay_s = 0, channels = [\"arc\"] }}]\n"
    ));
    s
}

/// Runs the receiver on `port`, up for 400 ms then down for 400 ms, until `steady` turns
/// true; then up for good. Everything it accepted goes to `out`.
async fn half_up_receiver(
    port: u16,
    mut steady: watch::Receiver<bool>,
    out: mpsc::UnboundedSender<Value>,
) {
    loop {
        let mut peer = Peer::start("sia_receiver.py", &["tcp", &port.to_string()]).await;
        let up_until = tokio::time::Instant::now() + Duration::from_millis(400);
        let steady_now = *steady.borrow();
        loop {
            let deadline = if steady_now {
                tokio::time::Instant::now() + Duration::from_secs(3600)
            } else {
                up_until
            };
            match peer.next_before(deadline).await {
                Some(event) => {
                    let _ = out.send(event);
                }
                None => break,
            }
        }
        // What it reported just before being killed counts too: it may have answered ACK.
        for event in peer.stop_and_collect().await {
            let _ = out.send(event);
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(400)) => {}
            _ = steady.wait_for(|s| *s) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_alarm_reaches_a_half_up_receiver_through_repeated_sigkills() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_config(dir.path(), &body(port));
    let (steady_tx, steady) = watch::channel(false);
    let (tx, mut received) = mpsc::unbounded_channel();
    let receiver = tokio::spawn(half_up_receiver(port, steady, tx));
    let mut rng = SmallRng::seed_from_u64(u64::from(std::process::id()));
    let per_round = ALARMS / ROUNDS;
    for round in 0..ROUNDS {
        let daemon = Daemon::start(dir.path(), &config, None).await;
        let mut feed = Feed::connect(dir.path()).await;
        for k in 1..=per_round {
            let i = round * per_round + k;
            feed.send(&format!(
                r#"{{"ref":"{i}","sensor":"s{i}","kind":"contact","active":true}}"#
            ))
            .await;
            let reply = feed.reply().await.expect("feed reply");
            assert!(reply.get("ack").is_some(), "{reply}");
        }
        // Kill at a random moment while deliveries are under way.
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..600))).await;
        daemon.signal(libc::SIGKILL);
        assert_eq!(daemon.wait().await, None, "killed by a signal");
    }
    let _daemon = Daemon::start(dir.path(), &config, None).await;
    steady_tx.send(true).unwrap();
    let mut sequences: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    tokio::time::timeout(Duration::from_secs(120), async {
        while sequences.len() < ALARMS as usize {
            let event = received.recv().await.expect("receiver task");
            if event["message_type"] == "NULL" {
                continue;
            }
            assert_eq!(event["event_type"], "133", "{event}");
            let zone: u32 = event["ri"].as_str().unwrap().parse().unwrap();
            sequences
                .entry(zone)
                .or_default()
                .insert(event["sequence"].as_str().unwrap().to_string());
        }
    })
    .await
    .unwrap_or_else(|_| panic!("alarms never delivered; got zones {:?}", sequences.keys()));
    assert_eq!(
        sequences.keys().copied().collect::<Vec<_>>(),
        (1..=ALARMS).collect::<Vec<_>>()
    );
    // Drain repeats still in flight: each carries its alarm's one sequence number.
    while let Ok(event) = received.try_recv() {
        if event["message_type"] != "NULL" {
            let zone: u32 = event["ri"].as_str().unwrap().parse().unwrap();
            sequences
                .entry(zone)
                .or_default()
                .insert(event["sequence"].as_str().unwrap().to_string());
        }
    }
    for (zone, seqs) in &sequences {
        assert_eq!(seqs.len(), 1, "zone {zone} arrived with sequences {seqs:?}");
    }
    receiver.abort();
}
