//! Escalation end to end, with real peers started by the tests: alarms committed by picket
//! reach a pysiaalarm receiver over DC-09 (queued while it is down, in order once it is
//! back; over the backup path with trouble 350 when the primary is dead), an HTTPS webhook
//! receiver that checks the HMAC signature, an aiosmtpd server over STARTTLS with AUTH,
//! and an upstream Mosquitto across its restart.

mod common;

use common::Feed;
use common::broker::{Broker, BrokerOptions, free_port};
use common::delivery::{
    PATIENCE, certs, http_client, journal, next_report, sia_channel, site, trip, wait_for,
};
use common::inproc::Picket;
use common::peers::Peer;
use picket::journal::DeliveryState;
use serde_json::Value;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarms_queue_while_the_receiver_is_down_and_all_arrive_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = site(
        dir.path(),
        &format!(
            "{}[escalation]\ntiers = [{{ name = \"police\", delay_s = 0, channels = [\"arc\"] }}]\n",
            sia_channel(port, None, "supervision_s = 0")
        ),
    );
    let picket = Picket::start(config).await;
    let mut feed = Feed::connect(dir.path()).await;
    let journal = journal(dir.path()).await;
    for i in 1..=5 {
        trip(&mut feed, i).await;
    }
    // Every alarm has its row before the receiver exists, and the head has been tried.
    wait_for("a failed attempt at the first alarm", async || {
        let rows = journal.deliveries(Some("arc")).await.unwrap();
        rows.len() == 5 && rows[0].attempts > 0
    })
    .await;
    let rows = journal.deliveries(Some("arc")).await.unwrap();
    assert!(
        rows.iter().all(|r| r.state == DeliveryState::Pending),
        "{rows:?}"
    );
    assert!(
        rows[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("primary"),
        "{rows:?}"
    );

    let mut receiver = Peer::start("sia_receiver.py", &["tcp", &port.to_string()]).await;
    let mut zones = Vec::new();
    for _ in 1..=5 {
        let got = receiver.next(PATIENCE).await;
        assert_eq!(got["account"], "1234", "{got}");
        assert_eq!(got["event_type"], "133", "{got}");
        assert_eq!(got["event_qualifier"], "1", "{got}");
        assert_eq!(
            got["x_data"],
            serde_json::json!(["SNha may Song Hong"]),
            "{got}"
        );
        zones.push(got["ri"].as_str().unwrap().to_string());
    }
    assert_eq!(zones, ["011", "012", "013", "014", "015"]);
    wait_for("every row acknowledged", async || {
        let rows = journal.deliveries(Some("arc")).await.unwrap();
        rows.iter().all(|r| r.state == DeliveryState::Acknowledged)
    })
    .await;
    picket.stop().await;
    receiver.stop().await;
}

/// The feed site reporting every alarm at once to a DC-09 receiver on `port`.
fn reporting_to(dir: &std::path::Path, port: u16) -> picket::config::Config {
    site(
        dir,
        &format!(
            "{}[escalation]\ntiers = [{{ name = \"police\", delay_s = 0, channels = [\"arc\"] }}]\n",
            sia_channel(port, None, "")
        ),
    )
}

/// What was seen (a camera's motion on a 24-hour fence, configured from the README alone):
/// pysiaalarm decoded the alarm once, then a restore after every later crossing, the new
/// crossings themselves never. Each trip after a restore is a report again: alarm and
/// restore pair up, as a panel sends them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_centre_hears_each_trip_after_a_restore_and_its_restore_in_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Peer::start("sia_receiver.py", &["tcp"]).await;
    let picket = Picket::start(reporting_to(dir.path(), receiver.port)).await;
    let mut feed = Feed::connect(dir.path()).await;
    let mut heard = Vec::new();
    for round in 0..2 {
        trip(&mut feed, 1).await;
        feed.send(&format!(
            r#"{{"ref":"close{round}","sensor":"s1","kind":"contact","active":false}}"#
        ))
        .await;
        assert!(feed.reply().await.expect("feed reply").get("ack").is_some());
        for _ in 0..2 {
            let got = next_report(&mut receiver).await;
            heard.push(format!(
                "{}{} {}",
                got["event_qualifier"].as_str().unwrap(),
                got["event_type"].as_str().unwrap(),
                got["ri"].as_str().unwrap()
            ));
        }
    }
    assert_eq!(heard, ["1133 011", "3133 011", "1133 011", "3133 011"]);
    picket.stop().await;
    receiver.stop().await;
}

/// picket keeps its TCP connection to the centre open between messages; a receiver that
/// closes it after each ACK gets every message all the same, in order, each on a
/// connection opened again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_closing_after_each_ack_gets_every_alarm_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Peer::start("sia_receiver.py", &["tcp", "--close-after-ack"]).await;
    let picket = Picket::start(reporting_to(dir.path(), receiver.port)).await;
    let mut feed = Feed::connect(dir.path()).await;
    let journal = journal(dir.path()).await;
    let mut zones = Vec::new();
    let mut closed = 0;
    for i in 1..=5 {
        // One alarm at a time, so each goes out on the connection the last one left.
        trip(&mut feed, i).await;
        loop {
            let got = receiver.next(PATIENCE).await;
            if let Some(n) = got["closed"].as_u64() {
                closed = n;
                if zones.len() == i as usize {
                    break;
                }
            } else if got["message_type"] != "NULL" {
                assert_eq!(
                    (got["event_type"].as_str(), got["event_qualifier"].as_str()),
                    (Some("133"), Some("1")),
                    "{got}"
                );
                let zone = got["ri"].as_str().unwrap().to_string();
                // At least once: a repeat of the last is allowed, nothing else.
                if zones.last() != Some(&zone) {
                    zones.push(zone);
                }
            }
        }
    }
    assert_eq!(zones, ["011", "012", "013", "014", "015"]);
    assert!(closed >= 5, "the receiver closed {closed} connections");
    wait_for("every row acknowledged", async || {
        let rows = journal.deliveries(Some("arc")).await.unwrap();
        rows.len() == 5 && rows.iter().all(|r| r.state == DeliveryState::Acknowledged)
    })
    .await;
    picket.stop().await;
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_primary_fails_over_to_the_backup_and_its_trouble_reaches_the_centre() {
    let dir = tempfile::tempdir().unwrap();
    let dead = free_port();
    let mut receiver = Peer::start("sia_receiver.py", &["tcp"]).await;
    let config = site(
        dir.path(),
        &format!(
            "{}[escalation]\nevents = [\"arc\"]\n\
             tiers = [{{ name = \"police\", delay_s = 0, channels = [\"arc\"] }}]\n",
            sia_channel(
                dead,
                Some(receiver.port),
                "supervision_s = 1\npath_down_after_s = 2"
            )
        ),
    );
    let mut picket = Picket::start(config).await;
    let mut feed = Feed::connect(dir.path()).await;
    trip(&mut feed, 1).await;
    let got = next_report(&mut receiver).await;
    assert_eq!(
        (got["event_type"].as_str(), got["ri"].as_str()),
        (Some("133"), Some("011")),
        "{got}"
    );
    // The primary has not answered for its window: trouble 350 names it ...
    let trouble = picket
        .expect("trouble 350 for the primary path", |p| {
            p.event.code.map(|c| c.0) == Some(350)
                && p.event.qualifier.digit() == 1
                && p.event.message_en.contains("primary path")
        })
        .await;
    assert!(trouble.seq.is_some(), "the trouble is journaled");
    // ... and, being a reportable event, reaches the centre over the backup.
    let got = next_report(&mut receiver).await;
    assert_eq!(
        (got["event_type"].as_str(), got["event_qualifier"].as_str()),
        (Some("350"), Some("1")),
        "{got}"
    );
    let health = picket.effects.health.channels.get().unwrap()[0]
        .lock()
        .unwrap()
        .clone();
    assert_eq!(health.paths.len(), 2, "{health:?}");
    assert_eq!(
        health.paths[0].state,
        picket::channels::LinkState::Down,
        "{health:?}"
    );
    assert_eq!(
        health.paths[1].state,
        picket::channels::LinkState::Up,
        "{health:?}"
    );
    picket.stop().await;
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_per_tier_and_a_tampered_body_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = certs(dir.path());
    let mut hook = Peer::start(
        "webhook_receiver.py",
        &[cert.to_str().unwrap(), key.to_str().unwrap(), "hook-secret"],
    )
    .await;
    let base = format!("https://127.0.0.1:{}", hook.port);
    let config = site(
        dir.path(),
        &format!(
            "[[channels]]\nid = \"hq\"\ntype = \"webhook\"\nurl = \"{base}/all\"\n\
             tier_urls = {{ security = \"{base}/security\" }}\nsecret = \"hook-secret\"\n\
             ca_file = \"{}\"\n\n\
             [escalation]\ntiers = [{{ name = \"security\", delay_s = 0, channels = [\"hq\"] }}]\n",
            ca.display()
        ),
    );
    let picket = Picket::start(config).await;
    let mut feed = Feed::connect(dir.path()).await;
    trip(&mut feed, 2).await;
    let got = hook.next(PATIENCE).await;
    assert_eq!(got["verified"], true, "{got}");
    assert_eq!(got["path"], "/security", "{got}");
    let body: Value = serde_json::from_str(got["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["kind"], "alarm");
    assert_eq!(body["tier"], "security");
    assert_eq!(body["site"]["name"], "Nhà máy Sông Hồng");
    assert_eq!(body["alarm"]["zone"], "z2");
    assert_eq!(body["event"]["code"], 133);
    assert_eq!(body["event"]["zone_number"], 12);
    assert!(
        body["event"]["message_vi"]
            .as_str()
            .unwrap()
            .contains("Hàng rào 2"),
        "{body}"
    );
    assert_eq!(
        got["headers"]["x-picket-message-id"], body["message_id"],
        "{got}"
    );

    // The same signature on an altered body is refused by a receiver that checks it.
    let tampered = got["body"]
        .as_str()
        .unwrap()
        .replace("\"code\":133", "\"code\":130");
    assert_ne!(tampered, got["body"].as_str().unwrap());
    let response = http_client(Some(&ca))
        .post(format!("{base}/security"))
        .header(
            "X-Picket-Timestamp",
            got["headers"]["x-picket-timestamp"].as_str().unwrap(),
        )
        .header(
            "X-Picket-Signature",
            got["headers"]["x-picket-signature"].as_str().unwrap(),
        )
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert_eq!(hook.next(PATIENCE).await["verified"], false);

    let journal = journal(dir.path()).await;
    wait_for("the webhook row acknowledged", async || {
        let rows = journal.deliveries(Some("hq")).await.unwrap();
        rows.len() == 1 && rows[0].state == DeliveryState::Acknowledged
    })
    .await;
    picket.stop().await;
    hook.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_goes_bilingual_over_starttls_with_auth_and_carries_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = certs(dir.path());
    let mut smtp = Peer::start(
        "smtp_receiver.py",
        &[cert.to_str().unwrap(), key.to_str().unwrap()],
    )
    .await;
    let config = site(
        dir.path(),
        &format!(
            "[[channels]]\nid = \"mail\"\ntype = \"email\"\nhost = \"127.0.0.1\"\nport = {}\n\
             security = \"starttls\"\nca_file = \"{}\"\nusername = \"picket\"\n\
             password = \"s3cret\"\nfrom = \"Picket <picket@songhong.vn>\"\n\
             to = [\"baove@songhong.vn\"]\n\n\
             [escalation]\ntiers = [{{ name = \"security\", delay_s = 0, channels = [\"mail\"] }}]\n",
            smtp.port,
            ca.display()
        ),
    );
    let picket::config::Channel::Email(channel) = config.channels[0].clone() else {
        panic!("email channel");
    };
    let picket = Picket::start(config.clone()).await;
    let mut feed = Feed::connect(dir.path()).await;
    trip(&mut feed, 3).await;
    let mail = smtp.next(PATIENCE).await;
    assert_eq!(
        (mail["tls"].as_bool(), mail["authenticated"].as_bool()),
        (Some(true), Some(true)),
        "{mail}"
    );
    assert_eq!(mail["rcpt_tos"], serde_json::json!(["baove@songhong.vn"]));
    let subject = mail["subject"].as_str().unwrap();
    assert!(
        subject.contains("BÁO ĐỘNG") && subject.contains("ALARM"),
        "{subject}"
    );
    assert!(subject.contains("Nhà máy Sông Hồng"), "{subject}");
    let text = mail["text"].as_str().unwrap();
    // The time as the site reads it (Vietnam, +07:00), UTC beside it; places by name.
    let journal = journal(dir.path()).await;
    let raised = journal.alarm(1).await.unwrap().unwrap().raised_at.0;
    let at = jiff::Timestamp::from_millisecond(raised).unwrap();
    let local = at
        .to_zoned(jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap())
        .strftime("%Y-%m-%d %H:%M:%S +07:00")
        .to_string();
    let utc = at.to_string();
    for expected in [
        "Địa điểm: Nhà máy Sông Hồng".to_string(),
        "Site: Nhà máy Sông Hồng".to_string(),
        "Khu vực / vùng: Bãi 3 / Hàng rào 3".to_string(),
        "Area / zone: Bãi 3 / Hàng rào 3".to_string(),
        format!("Thời gian: {local} (UTC {utc})"),
        format!("Time: {local} (UTC {utc})"),
        "1133".to_string(),
    ] {
        assert!(
            text.contains(&expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert!(
        !text.contains("a3 / z3"),
        "config ids shown to people:\n{text}"
    );
    assert_eq!(mail["attachments"], serde_json::json!([]));
    wait_for("the mail row marked sent", async || {
        let rows = journal.deliveries(Some("mail")).await.unwrap();
        rows.len() == 1 && rows[0].state == DeliveryState::Sent
    })
    .await;
    picket.stop().await;

    // With a camera's snapshot of the alarm in the journal, the JPEG is attached.
    let row = journal.deliveries(Some("mail")).await.unwrap().remove(0);
    let mut notice: picket::escalation::Notice = serde_json::from_str(&row.payload_json).unwrap();
    let alarm = notice.alarm.as_ref().expect("an alarm notice").id;
    let jpeg = dir.path().join("z3-snapshot.jpg");
    std::fs::write(
        &jpeg,
        [
            0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 0xFF, 0xD9,
        ],
    )
    .unwrap();
    journal
        .record_evidence(&picket::journal::EvidenceFile {
            id: 0,
            alarm_id: alarm as i64,
            camera: "fence".into(),
            kind: "snapshot".into(),
            path: jpeg.display().to_string(),
            sha256: String::new(),
            bytes: 13,
            duration_ms: None,
            created_at_ms: 0,
            deleted_at_ms: None,
        })
        .await
        .unwrap();
    notice.evidence.push(picket::escalation::notice::Evidence {
        kind: "snapshot".into(),
        camera: "fence".into(),
        url: None,
    });
    let mut email = picket::channels::email::EmailDelivery::new(&channel, &config)
        .unwrap()
        .with_journal(journal.clone());
    use picket::channels::Deliver;
    email.deliver(&row, &notice).await.expect("sent");
    let mail = smtp.next(PATIENCE).await;
    assert_eq!(
        mail["attachments"],
        serde_json::json!([{"filename": format!("fence-alarm-{alarm}.jpg"), "content_type": "image/jpeg", "size": 13}])
    );
    smtp.stop().await;

    // The same mail to a server speaking TLS from the first byte (port 465's way), with
    // AUTH after it.
    let mut smtps = Peer::start(
        "smtp_receiver.py",
        &[
            "--tls-from-start",
            cert.to_str().unwrap(),
            key.to_str().unwrap(),
        ],
    )
    .await;
    let mut implicit = channel.clone();
    implicit.port = smtps.port;
    implicit.security = picket::config::SmtpSecurity::Tls;
    let mut email = picket::channels::email::EmailDelivery::new(&implicit, &config).unwrap();
    email.deliver(&row, &notice).await.expect("sent");
    let mail = smtps.next(PATIENCE).await;
    assert_eq!(
        (mail["tls"].as_bool(), mail["authenticated"].as_bool()),
        (Some(true), Some(true)),
        "{mail}"
    );
    assert!(
        mail["subject"].as_str().unwrap().contains("ALARM"),
        "{mail}"
    );
    smtps.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_months_report_arrives_by_mail_as_a_pdf_once() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = certs(dir.path());
    let saved = dir.path().join("received");
    std::fs::create_dir_all(&saved).unwrap();
    let mut smtp = Peer::start(
        "smtp_receiver.py",
        &[
            cert.to_str().unwrap(),
            key.to_str().unwrap(),
            saved.to_str().unwrap(),
        ],
    )
    .await;
    // Due at midnight on the first: last month's report is owed as soon as picket starts.
    let config = site(
        dir.path(),
        &format!(
            "[[channels]]\nid = \"mail\"\ntype = \"email\"\nhost = \"127.0.0.1\"\nport = {}\n\
             security = \"starttls\"\nca_file = \"{}\"\nusername = \"picket\"\n\
             password = \"s3cret\"\nfrom = \"Picket <picket@songhong.vn>\"\n\
             to = [\"giamdoc@songhong.vn\"]\n\n\
             [escalation]\ntiers = [{{ name = \"security\", delay_s = 0, channels = [\"mail\"] }}]\n\n\
             [reports]\nmonthly = {{ channels = [\"mail\"], at = \"00:00\" }}\n",
            smtp.port,
            ca.display()
        ),
    );
    let tz = jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap();
    let today = jiff::Timestamp::now().to_zoned(tz.clone()).date();
    let last_month = today.first_of_month().yesterday().unwrap();
    let (first, last) = (last_month.first_of_month(), last_month);
    // The gateway was running last month: an event of its 15th in the journal.
    {
        let journal = picket::journal::Journal::open(&config.journal.path)
            .await
            .unwrap();
        let mut writer = picket::journal::Writer::new(journal.clone()).await.unwrap();
        let mid_month = last_month
            .first_of_month()
            .checked_add(jiff::Span::new().days(14))
            .unwrap();
        let at = mid_month
            .to_zoned(tz.clone())
            .unwrap()
            .timestamp()
            .as_millisecond();
        picket::cli::sample_history::write_sample_history(
            &mut writer,
            &picket::engine::Site::from_config(&config),
            1,
            picket::engine::Timestamp(at),
        )
        .await
        .unwrap();
        drop(writer);
        journal.close().await;
    }
    let picket = Picket::start(config.clone()).await;
    let mail = smtp.next(PATIENCE).await;
    let subject = mail["subject"].as_str().unwrap();
    let label = format!("Tháng {}/{}", last_month.month(), last_month.year());
    assert!(
        subject.contains("Báo cáo") && subject.contains(&format!("Báo cáo an ninh {label}")),
        "{subject}"
    );
    let name = format!("picket-report-{first}-{last}.pdf");
    assert_eq!(mail["attachments"][0]["filename"], name.as_str(), "{mail}");
    assert_eq!(mail["attachments"][0]["content_type"], "application/pdf");
    assert!(mail["text"].as_str().unwrap().contains(&name), "{mail}");
    // The PDF is the report: poppler reads the site and the month in it.
    let text = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(saved.join(&name))
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Báo cáo an ninh — Nhà máy Sông Hồng") && text.contains(&label),
        "{text}"
    );
    let journal = journal(dir.path()).await;
    wait_for("the report's row marked sent", async || {
        let rows = journal.deliveries(Some("mail")).await.unwrap();
        rows.len() == 1 && rows[0].state == DeliveryState::Sent
    })
    .await;
    picket.stop().await;

    // Once: the schedule the daemon runs finds nothing more owed, at any later hour.
    let (tx, _rx) = tokio::sync::watch::channel(0);
    let schedule =
        picket::runtime::scheduled_reports::ReportSchedule::new(&config, journal.clone(), tx)
            .unwrap();
    let (queued, next) = schedule
        .queue_due(jiff::Timestamp::now().as_millisecond())
        .await
        .unwrap();
    assert!(queued.is_empty(), "{queued:?}");
    // A gateway installed this month sends no empty report for last month.
    let fresh = tempfile::tempdir().unwrap();
    let mut fresh_config = config.clone();
    fresh_config.journal.path = fresh.path().join("journal.db");
    let fresh_journal = picket::journal::Journal::open(&fresh_config.journal.path)
        .await
        .unwrap();
    let (tx, _rx) = tokio::sync::watch::channel(0);
    let (queued, _) =
        picket::runtime::scheduled_reports::ReportSchedule::new(&fresh_config, fresh_journal, tx)
            .unwrap()
            .queue_due(jiff::Timestamp::now().as_millisecond())
            .await
            .unwrap();
    assert!(queued.is_empty(), "{queued:?}");
    let next_first = today
        .first_of_month()
        .checked_add(jiff::Span::new().months(1))
        .unwrap();
    assert_eq!(
        next,
        next_first
            .to_zoned(tz)
            .unwrap()
            .timestamp()
            .as_millisecond()
    );
    smtp.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_broker_gets_every_alarm_with_qos1_across_its_restart() {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let dir = tempfile::tempdir().unwrap();
    let mut broker = Broker::start(dir.path(), BrokerOptions::default()).await;
    // The enterprise's subscriber: persistent session, QoS 1, polling through the restart.
    let mut o = MqttOptions::new("hq-subscriber", "127.0.0.1", broker.port);
    o.set_clean_session(false);
    let (client, mut events) = AsyncClient::new(o, 100);
    client
        .subscribe("fleet/+/alarm/+", QoS::AtLeastOnce)
        .await
        .unwrap();
    let (tx, mut received) = tokio::sync::mpsc::unbounded_channel();
    let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut subscribed_tx = Some(subscribed_tx);
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(s) = subscribed_tx.take() {
                        let _ = s.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let body: Value = serde_json::from_slice(&p.payload).unwrap();
                    let _ = tx.send((p.topic.clone(), body));
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    subscribed.await.unwrap();
    let config = site(
        dir.path(),
        &format!(
            "[[channels]]\nid = \"fleet\"\ntype = \"mqtt\"\nhost = \"127.0.0.1\"\nport = {}\n\
             topic_prefix = \"fleet\"\ntimeout_s = 2\n\n\
             [escalation]\ntiers = [{{ name = \"security\", delay_s = 0, channels = [\"fleet\"] }}]\n",
            broker.port
        ),
    );
    let picket = Picket::start(config).await;
    let mut feed = Feed::connect(dir.path()).await;
    let next = async |received: &mut tokio::sync::mpsc::UnboundedReceiver<(String, Value)>| {
        tokio::time::timeout(PATIENCE, received.recv())
            .await
            .expect("nothing reached the upstream broker")
            .unwrap()
    };
    trip(&mut feed, 1).await;
    let (topic, body) = next(&mut received).await;
    assert_eq!(topic, "fleet/nha_may_song_hong/alarm/1");
    assert_eq!(body["alarm"]["zone"], "z1");

    broker.stop();
    trip(&mut feed, 2).await;
    trip(&mut feed, 3).await;
    let journal = journal(dir.path()).await;
    wait_for("a failed attempt while the broker is down", async || {
        let rows = journal.deliveries(Some("fleet")).await.unwrap();
        rows.len() == 3 && rows[1].attempts > 0
    })
    .await;
    broker.restart().await;
    let mut zones = Vec::new();
    while zones.len() < 2 {
        let (_, body) = next(&mut received).await;
        let zone = body["alarm"]["zone"].as_str().unwrap().to_string();
        // QoS 1 may repeat a message (z1's too, after the restart); a repeat carries the
        // same message id.
        if zone != "z1" && !zones.contains(&zone) {
            zones.push(zone);
        }
    }
    assert_eq!(zones, ["z2", "z3"]);
    wait_for("every row acknowledged on PUBACK", async || {
        let rows = journal.deliveries(Some("fleet")).await.unwrap();
        rows.iter().all(|r| r.state == DeliveryState::Acknowledged)
    })
    .await;
    picket.stop().await;
}
