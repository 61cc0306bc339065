//! Faults that must not end delivery: a receiver that answers garbage or another
//! account's ACK (then is replaced by a real pysiaalarm, which must get every alarm in
//! order), and tasks that panic — a channel worker, a source, the engine — each caught,
//! reported, shown on `/healthz` and `/metrics`, and restarted (or, for the engine, the
//! daemon ended so that systemd restarts it).

mod common;

use common::Feed;
use common::broker::free_port;
use common::delivery::{
    get, get_as, journal, next_report, sample, sia_channel, site, trip, wait_for,
};
use common::inproc::Picket;
use common::peers::Peer;
use picket::channels::sia::codec::{self, Message, Token};
use picket::fault::FaultHooks;
use picket::journal::DeliveryState;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A receiver that lies: to each connection it answers one of `answers` in turn (built
/// from the message it was sent), then closes it.
async fn lying_receiver(listener: tokio::net::TcpListener, answers: Vec<fn(&Message) -> Vec<u8>>) {
    for (i, answer) in answers.iter().cycle().enumerate() {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let mut frame = Vec::new();
        let mut buf = [0u8; 1024];
        while !frame.ends_with(b"\r") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => frame.extend_from_slice(&buf[..n]),
            }
        }
        let sent = codec::decode(&frame, None)
            .unwrap_or_else(|e| panic!("picket sent an unreadable frame ({e}) on connection {i}"));
        let _ = stream.write_all(&answer(&sent)).await;
    }
}

/// The answer that killed the sender: a LF more than one byte after the first CR.
fn cr_noise_lf(_: &Message) -> Vec<u8> {
    b"\rX\n".to_vec()
}

/// A well-formed ACK with the right sequence number, for another account.
fn ack_for_another_account(sent: &Message) -> Vec<u8> {
    let ack = Message {
        token: Token::Ack,
        account: Some("9999".into()),
        data: String::new(),
        extended: Vec::new(),
        timestamp: None,
        ..sent.clone()
    };
    codec::encode(&ack, None)
}

/// Random-looking bytes with CRs and LFs in every order.
fn noise(sent: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    let mut x = u32::from(sent.sequence).wrapping_mul(2_654_435_761) | 1;
    for _ in 0..300 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.push(match x % 7 {
            0 => b'\r',
            1 => b'\n',
            _ => (x >> 8) as u8,
        });
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_answers_garbage_then_is_replaced_by_pysiaalarm_gets_every_alarm_in_order()
{
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let liar = tokio::spawn(lying_receiver(
        listener,
        vec![cr_noise_lf, ack_for_another_account, noise],
    ));
    let config = site(
        dir.path(),
        &format!(
            "{}[escalation]\ntiers = [{{ name = \"police\", delay_s = 0, channels = [\"arc\"] }}]\n",
            sia_channel(port, None, "supervision_s = 0")
        ),
    );
    let picket = Picket::start(config).await;
    let mut feed = Feed::connect(dir.path()).await;
    for i in 1..=3 {
        trip(&mut feed, i).await;
    }
    let journal = journal(dir.path()).await;
    // Each kind of lie is tried on the head row and none counts as delivery: a
    // half-answer, then an ACK for account 9999, which the row's last error names.
    wait_for(
        "the ACK for another account refused and named",
        async || {
            let rows = journal.deliveries(Some("arc")).await.unwrap();
            rows[0].attempts >= 2
                && rows[0].last_error.as_deref().is_some_and(|e| {
                    e.contains(
                        "answered for another message: ACK for account 9999 while 1234 was sent",
                    )
                })
        },
    )
    .await;
    wait_for("the noise answer tried", async || {
        journal.deliveries(Some("arc")).await.unwrap()[0].attempts >= 3
    })
    .await;
    let rows = journal.deliveries(Some("arc")).await.unwrap();
    assert!(
        rows.iter().all(|r| r.state == DeliveryState::Pending),
        "{rows:?}"
    );
    let tasks = picket.effects.health.tasks.snapshot();
    assert!(
        tasks.iter().all(|t| t.panics == 0 && t.running),
        "{tasks:?}"
    );

    liar.abort();
    let _ = liar.await;
    let mut receiver = Peer::start("sia_receiver.py", &["tcp", &port.to_string()]).await;
    let mut zones = Vec::new();
    for _ in 1..=3 {
        let got = next_report(&mut receiver).await;
        assert_eq!(
            (got["account"].as_str(), got["event_type"].as_str()),
            (Some("1234"), Some("133")),
            "{got}"
        );
        zones.push(got["ri"].as_str().unwrap().to_string());
    }
    assert_eq!(zones, ["011", "012", "013"]);
    wait_for("every row acknowledged", async || {
        let rows = journal.deliveries(Some("arc")).await.unwrap();
        rows.iter().all(|r| r.state == DeliveryState::Acknowledged)
    })
    .await;
    picket.stop().await;
    receiver.stop().await;
}

/// Two DC-09 channels to one pysiaalarm: `arc` (account 1234, in clear) hears every
/// event; `arc2` (account AAA1, AES-128) only the alarms, and is the one made to fail.
fn two_channels(arc_port: u16, web_port: u16) -> String {
    format!(
        "{}[[channels]]\nid = \"arc2\"\ntype = \"sia\"\nprimary = \"127.0.0.1:{arc_port}\"\n\
         account = \"AAA1\"\nkey = \"PicketTestKey128\"\ntimeout_s = 2\nsupervision_s = 0\n\n\
         [web]\nlisten = \"127.0.0.1:{web_port}\"\n\n\
         [escalation]\nevents = [\"arc\"]\n\
         tiers = [{{ name = \"police\", delay_s = 0, channels = [\"arc\", \"arc2\"] }}]\n",
        sia_channel(arc_port, None, "supervision_s = 0")
    )
}

/// The receiver's next `n` reports, each as `<account> <qualifier><code> <zone>`, sorted:
/// for reports whose order between channels is not fixed.
async fn next_reports(receiver: &mut Peer, n: usize) -> Vec<String> {
    let mut heard = Vec::new();
    while heard.len() < n {
        let got = next_report(receiver).await;
        let field = |k: &str| got[k].as_str().unwrap_or_default().to_string();
        heard.push(format!(
            "{} {}{} {}",
            field("account"),
            field("event_qualifier"),
            field("event_type"),
            field("ri")
        ));
    }
    heard.sort();
    heard
}

/// The receiver's next report on account `account`.
async fn next_on(receiver: &mut Peer, account: &str) -> Value {
    loop {
        let got = next_report(receiver).await;
        if got["account"] == account {
            return got;
        }
    }
}

/// `(event_type, qualifier)` of the receiver's next report on account 1234 that is not
/// an alarm of the test's zones.
async fn next_trouble(receiver: &mut Peer) -> (String, String) {
    loop {
        let got = next_on(receiver, "1234").await;
        let code = got["event_type"].as_str().unwrap_or_default().to_string();
        if code != "133" {
            return (
                code,
                got["event_qualifier"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_channel_worker_is_reported_to_the_other_channel_shown_down_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Peer::start("sia_receiver.py", &["tcp"]).await;
    let web = free_port();
    let faults = FaultHooks::armable();
    let config = site(dir.path(), &two_channels(receiver.port, web));
    let picket = Picket::start_with_faults(config, faults.clone()).await;
    let token = common::delivery::api_token(dir.path()).await;
    let mut feed = Feed::connect(dir.path()).await;
    trip(&mut feed, 1).await;
    // Both channels deliver it, in whichever order.
    assert_eq!(
        next_reports(&mut receiver, 2).await,
        ["1234 1133 011", "AAA1 1133 011"]
    );

    // From now on arc2's worker panics at every delivery attempt and every restart.
    faults.panic_at("channel:arc2", u32::MAX);
    trip(&mut feed, 2).await;
    let got = next_on(&mut receiver, "1234").await;
    assert_eq!(got["ri"], "012", "{got}");
    // The centre hears of it on the other channel: trouble 354, naming the task.
    assert_eq!(
        next_trouble(&mut receiver).await,
        ("354".to_string(), "1".to_string())
    );
    // Between a panic and its restart (most of the time, as it panics again at once)
    // the task is dead: healthz says so, and /metrics shows it and the channel down.
    wait_for("healthz 503 naming the dead worker", async || {
        let (status, body) = get(web, "/healthz").await;
        let body: Value = serde_json::from_str(&body).unwrap();
        status == 503 && body["tasks_down"] == serde_json::json!(["channel:arc2"])
    })
    .await;
    wait_for("the dead worker on /metrics", async || {
        let (_, metrics) = get_as(web, &token, "/metrics").await;
        let task = "{task=\"channel:arc2\",kind=\"channel\"}";
        sample(&metrics, &format!("picket_task_up{task}")) == Some(0.0)
            && sample(&metrics, &format!("picket_task_panics_total{task}"))
                .is_some_and(|n| n >= 1.0)
            && sample(
                &metrics,
                "picket_channel_state{channel=\"arc2\",kind=\"sia\",state=\"down\"}",
            ) == Some(1.0)
    })
    .await;
    let journal = journal(dir.path()).await;
    let trouble = journal
        .recent_events(1000)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.code == Some(354))
        .expect("the trouble is journaled");
    assert!(
        trouble
            .message_en
            .contains("task channel:arc2 stopped on a fault"),
        "{trouble:?}"
    );

    // The fault goes away: the restarted worker delivers what was owed, healthz is 200
    // again, and once it has run without a fault the centre hears the restore.
    faults.clear("channel:arc2");
    assert_eq!(
        next_reports(&mut receiver, 2).await,
        ["1234 3354 000", "AAA1 1133 012"]
    );
    let (status, body) = get(web, "/healthz").await;
    assert_eq!(status, 200, "{body}");
    picket.stop().await;
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_source_raises_380_and_is_restarted_and_an_engine_panic_ends_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Peer::start("sia_receiver.py", &["tcp"]).await;
    let web = free_port();
    let faults = FaultHooks::armable();
    let config = site(dir.path(), &two_channels(receiver.port, web));
    let feed_source = format!("source:feed:{}", dir.path().join("feed.sock").display());
    // The feed source panics as it starts; its socket is already bound, so a sensor
    // connecting meanwhile is answered once the restarted source takes it.
    faults.panic_at(&feed_source, 1);
    let picket = Picket::start_with_faults(config.clone(), faults.clone()).await;
    assert_eq!(
        next_trouble(&mut receiver).await,
        ("380".to_string(), "1".to_string())
    );
    let mut feed = Feed::connect(dir.path()).await;
    trip(&mut feed, 1).await;
    // The alarm, and once the source has run without a fault, the trouble's restore.
    assert_eq!(
        next_reports(&mut receiver, 3).await,
        ["1234 1133 011", "1234 3380 000", "AAA1 1133 011"]
    );
    let source = picket
        .effects
        .health
        .tasks
        .snapshot()
        .into_iter()
        .find(|t| t.name == feed_source)
        .expect("the feed source is supervised");
    assert_eq!((source.panics, source.running), (1, true), "{source:?}");
    assert!(
        source
            .last_panic
            .as_deref()
            .is_some_and(|p| p.contains("fault hook fired")),
        "{source:?}"
    );

    // The receiver prints a report before it ACKs it: wait for picket to record every ACK,
    // or a report acknowledged in the instant before the crash is (rightly, with its
    // sequence number) sent again after the restart (seen under load in CI).
    let journal = journal(dir.path()).await;
    wait_for(
        "every row acknowledged before the engine's fault",
        async || {
            let rows = journal.deliveries(None).await.unwrap();
            rows.iter().all(|r| r.state == DeliveryState::Acknowledged)
        },
    )
    .await;
    // The engine itself panics on the next input: the daemon ends with an error (so
    // systemd restarts it) instead of carrying on without its only writer.
    faults.panic_at("engine", 1);
    feed.send(r#"{"ref":"2","sensor":"s2","kind":"contact","active":true}"#)
        .await;
    let err = picket.ended().await.expect_err("the daemon ends");
    assert!(
        err.to_string()
            .contains("the engine task stopped on a fault"),
        "{err}"
    );
    // Started again on the same journal, it takes the input the sensor sends again.
    let picket = Picket::start(config).await;
    let mut feed = Feed::connect(dir.path()).await;
    trip(&mut feed, 2).await;
    let got = next_on(&mut receiver, "1234").await;
    assert_eq!(got["ri"], "012", "{got}");
    picket.stop().await;
    receiver.stop().await;
}
