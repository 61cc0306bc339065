//! Troubles about delivery itself, and the outbox's upkeep, with real peers: a delivery
//! stuck past its threshold raises 354 on the other channels (and restores it once through),
//! a receiving centre answering DUH fails the row and raises 354, the periodic test report
//! (602) goes out on its schedule counted from the journal across a restart, and finished
//! rows past retention are deleted while pending ones stay; an alarm mail a server refuses
//! (an SMTP 5xx) is retried, not dropped, and when it fails for good a 354 naming the
//! channel reaches the other channels.

mod common;

use common::Feed;
use common::broker::free_port;
use common::delivery::{
    PATIENCE, certs, journal, next_notice, next_notice_with_code, next_report, sia_channel, site,
    trip, wait_for, webhook,
};
use common::inproc::Picket;
use common::peers::Peer;
use picket::journal::DeliveryState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_stuck_past_its_threshold_raises_354_elsewhere_until_it_goes_through() {
    let dir = tempfile::tempdir().unwrap();
    let arc_port = free_port();
    let (mut hook, hq) = webhook(dir.path()).await;
    let config = site(
        dir.path(),
        &format!(
            "{}{hq}[escalation]\nevents = [\"hq\"]\nstuck_after_s = 10\n\
             tiers = [{{ name = \"police\", delay_s = 0, channels = [\"arc\"] }}]\n",
            sia_channel(arc_port, None, "supervision_s = 0")
        ),
    );
    let mut picket = Picket::start(config).await;
    let mut feed = Feed::connect(dir.path()).await;
    trip(&mut feed, 1).await;
    let alarm = picket
        .expect("the alarm", |p| p.event.code.map(|c| c.0) == Some(133))
        .await;

    // Nobody answers at the centre's address: after 10 s the security team hears of it.
    let trouble = next_notice_with_code(&mut hook, 354).await;
    assert_eq!(trouble["kind"], "event", "{trouble}");
    assert_eq!(trouble["event"]["qualifier"], 1, "{trouble}");
    assert!(
        trouble["event"]["message_en"]
            .as_str()
            .unwrap()
            .contains("channel arc"),
        "{trouble}"
    );
    assert!(
        trouble["event"]["message_vi"]
            .as_str()
            .unwrap()
            .contains("kênh arc"),
        "{trouble}"
    );
    let waited = trouble["event"]["at_ms"].as_i64().unwrap() - alarm.event.at.0;
    assert!(
        waited >= 10_000,
        "raised {waited} ms after the alarm, before the threshold"
    );

    // The centre comes up: the alarm goes through, and the trouble is restored.
    let mut receiver = Peer::start("sia_receiver.py", &["tcp", &arc_port.to_string()]).await;
    let got = next_report(&mut receiver).await;
    assert_eq!(got["event_type"], "133", "{got}");
    let restore = next_notice_with_code(&mut hook, 354).await;
    assert_eq!(restore["event"]["qualifier"], 3, "{restore}");
    picket.stop().await;
    receiver.stop().await;
    hook.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_centre_answering_duh_fails_the_row_and_raises_354() {
    let dir = tempfile::tempdir().unwrap();
    // This centre's code table lacks burglary (BA): it answers DUH to it.
    let mut receiver = Peer::start("sia_receiver.py", &["tcp", "0", "BA"]).await;
    let config = site(
        dir.path(),
        &format!(
            "{}[escalation]\nevents = [\"arc\"]\n\
             tiers = [{{ name = \"police\", delay_s = 0, channels = [\"arc\"] }}]\n",
            sia_channel(
                receiver.port,
                None,
                "format = \"sia_dcs\"\nsupervision_s = 0"
            )
        ),
    );
    let mut picket = Picket::start(config).await;
    let mut feed = Feed::connect(dir.path()).await;
    trip(&mut feed, 1).await;
    let trouble = picket
        .expect("trouble 354 raised", |p| {
            p.event.code.map(|c| c.0) == Some(354) && p.event.qualifier.digit() == 1
        })
        .await;
    assert!(trouble.seq.is_some(), "the trouble is journaled");
    let journal = journal(dir.path()).await;
    let rows = journal.deliveries(Some("arc")).await.unwrap();
    assert_eq!(rows[0].state, DeliveryState::Failed, "{rows:?}");
    assert!(
        rows[0].last_error.as_deref().unwrap_or("").contains("DUH"),
        "{rows:?}"
    );
    // The queue moved on: the trouble itself, which the centre knows, is taken, and that
    // success closes the trouble again.
    let got = next_report(&mut receiver).await;
    assert_eq!(got["code"], "YC", "{got}");
    let got = next_report(&mut receiver).await;
    assert_eq!(got["code"], "YK", "{got}");
    picket
        .expect("trouble 354 restored", |p| {
            p.event.code.map(|c| c.0) == Some(354) && p.event.qualifier.digit() == 3
        })
        .await;
    picket.stop().await;
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_report_goes_on_schedule_counted_from_the_journal_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Peer::start("sia_receiver.py", &["tcp"]).await;
    let delivery = format!(
        "{}[escalation]\ntest_report = {{ every_h = 24, channels = [\"arc\"] }}\n\
         tiers = [{{ name = \"police\", delay_s = 0, channels = [\"arc\"] }}]\n",
        sia_channel(receiver.port, None, "supervision_s = 0")
    );
    // A journal with no test report yet: one goes at once.
    let picket = Picket::start(site(dir.path(), &delivery)).await;
    let got = next_report(&mut receiver).await;
    assert_eq!(
        (
            got["account"].as_str(),
            got["event_type"].as_str(),
            got["event_qualifier"].as_str()
        ),
        (Some("1234"), Some("602"), Some("1")),
        "{got}"
    );
    // The receiver reports before it answers: stop only once picket has its ACK, or the
    // report rightly goes again after the restart (at least once).
    let journal = journal(dir.path()).await;
    wait_for("the test report acknowledged", async || {
        let rows = journal.deliveries(Some("arc")).await.unwrap();
        rows.len() == 1 && rows[0].state == picket::journal::DeliveryState::Acknowledged
    })
    .await;
    picket.stop().await;

    // Restarted within the day: the last report is in the journal, so none goes now; the
    // next thing the centre hears is the alarm.
    let picket = Picket::start(site(dir.path(), &delivery)).await;
    let mut feed = Feed::connect(dir.path()).await;
    trip(&mut feed, 2).await;
    let got = next_report(&mut receiver).await;
    assert_eq!(got["event_type"], "133", "{got}");
    let reports: Vec<_> = journal
        .deliveries(Some("arc"))
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.payload_json.contains("\"kind\":\"test\""))
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    picket.stop().await;
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_deliveries_past_retention_are_deleted_and_pending_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (mut hook, hq) = webhook(dir.path()).await;
    let dead_arc = free_port();
    let delivery = format!(
        "{}{hq}[escalation]\nretention_days = 1\n\
         tiers = [{{ name = \"all\", delay_s = 0, channels = [\"hq\", \"arc\"] }}]\n",
        sia_channel(dead_arc, None, "supervision_s = 0")
    );
    let picket = Picket::start(site(dir.path(), &delivery)).await;
    let mut feed = Feed::connect(dir.path()).await;
    trip(&mut feed, 1).await;
    next_notice_with_code(&mut hook, 133).await;
    let journal = journal(dir.path()).await;
    wait_for("the webhook row acknowledged", async || {
        let rows = journal.deliveries(Some("hq")).await.unwrap();
        rows.len() == 1 && rows[0].state == DeliveryState::Acknowledged
    })
    .await;
    picket.stop().await;

    // Two days pass with picket off.
    let two_days_ms = 2 * 86_400_000_i64;
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("journal.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("UPDATE outbox SET updated_at_ms = updated_at_ms - ?, due_at_ms = due_at_ms - ?")
        .bind(two_days_ms)
        .bind(two_days_ms)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let picket = Picket::start(site(dir.path(), &delivery)).await;
    wait_for("the acknowledged row purged", async || {
        journal.deliveries(Some("hq")).await.unwrap().is_empty()
    })
    .await;
    let arc = journal.deliveries(Some("arc")).await.unwrap();
    assert_eq!(arc.len(), 1, "the undelivered alarm is kept: {arc:?}");
    assert_eq!(arc[0].state, DeliveryState::Pending);
    picket.stop().await;
    hook.stop().await;
}

/// An SMTP server on TLS refusing the first `refuse` MAIL commands with a 5xx, and the
/// `[[channels]]` entry `mail` that reaches it.
async fn refusing_mail_server(dir: &std::path::Path, refuse: u32) -> (Peer, String) {
    // Its own CA, apart from the webhook's.
    let dir = dir.join("smtp");
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key, ca) = certs(&dir);
    let smtp = Peer::start(
        "smtp_receiver.py",
        &[
            "--refuse-first",
            &refuse.to_string(),
            cert.to_str().unwrap(),
            key.to_str().unwrap(),
        ],
    )
    .await;
    let channel = format!(
        "[[channels]]\nid = \"mail\"\ntype = \"email\"\nhost = \"127.0.0.1\"\nport = {}\n\
         security = \"starttls\"\nca_file = \"{}\"\nusername = \"picket\"\n\
         password = \"s3cret\"\nfrom = \"Picket <picket@songhong.vn>\"\n\
         to = [\"baove@songhong.vn\"]\n\n",
        smtp.port,
        ca.display()
    );
    (smtp, channel)
}

/// Seen in the field: a server's passing "503 send EHLO first" marked an alarm mail
/// refused for good, and it was never sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_mail_a_server_refuses_with_a_5xx_is_tried_again_and_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let (mut smtp, mail) = refusing_mail_server(dir.path(), 2).await;
    let config = site(
        dir.path(),
        &format!(
            "{mail}[escalation]\n\
             tiers = [{{ name = \"security\", delay_s = 0, channels = [\"mail\"] }}]\n"
        ),
    );
    let mut picket = Picket::start(config).await;
    let mut feed = Feed::connect(dir.path()).await;
    trip(&mut feed, 2).await;
    assert_eq!(smtp.next(PATIENCE).await["refused"], 1);
    assert_eq!(smtp.next(PATIENCE).await["refused"], 2);
    let got = smtp.next(PATIENCE).await;
    assert!(
        got["text"]
            .as_str()
            .unwrap_or_default()
            .contains("Hàng rào 2"),
        "{got}"
    );
    let journal = journal(dir.path()).await;
    wait_for("the row sent", async || {
        journal.deliveries(Some("mail")).await.unwrap()[0].state == DeliveryState::Sent
    })
    .await;
    let row = journal.deliveries(Some("mail")).await.unwrap().remove(0);
    assert_eq!(row.attempts, 3, "{row:?}");
    assert!(
        picket
            .drain()
            .iter()
            .all(|p| p.event.code.map(|c| c.0) != Some(354)),
        "nothing failed, so no trouble"
    );
    picket.stop().await;
    smtp.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_mail_refused_until_it_is_stuck_fails_with_a_354_the_other_channels_hear() {
    let dir = tempfile::tempdir().unwrap();
    let (smtp, mail) = refusing_mail_server(dir.path(), 1_000).await;
    let (mut hook, hq) = webhook(dir.path()).await;
    let config = site(
        dir.path(),
        &format!(
            "{mail}{hq}[escalation]\nevents = [\"hq\"]\nstuck_after_s = 10\n\
             tiers = [{{ name = \"security\", delay_s = 0, channels = [\"mail\", \"hq\"] }}]\n"
        ),
    );
    let picket = Picket::start(config).await;
    let mut feed = Feed::connect(dir.path()).await;
    trip(&mut feed, 4).await;
    let alarm = next_notice(&mut hook).await;
    assert_eq!(alarm["kind"], "alarm", "{alarm}");
    let journal = journal(dir.path()).await;
    // Retried while it is young: still owed, with the server's words.
    wait_for("a refusal recorded on the row", async || {
        journal.deliveries(Some("mail")).await.unwrap()[0].attempts >= 2
    })
    .await;
    let row = journal.deliveries(Some("mail")).await.unwrap().remove(0);
    assert_eq!(row.state, DeliveryState::Pending, "{row:?}");
    assert!(
        row.last_error
            .as_deref()
            .unwrap_or_default()
            .contains("503"),
        "{row:?}"
    );
    // Past stuck_after_s it fails, and the security team hears which channel dropped it.
    let refused = loop {
        let t = next_notice_with_code(&mut hook, 354).await;
        if t["event"]["message_en"]
            .as_str()
            .unwrap_or_default()
            .contains("refused for good")
        {
            break t;
        }
    };
    assert_eq!(refused["event"]["qualifier"], 1, "{refused}");
    let text = refused["event"]["message_en"].as_str().unwrap();
    assert!(
        text.contains("channel mail") && text.contains("503"),
        "{text}"
    );
    assert!(
        refused["event"]["message_vi"]
            .as_str()
            .unwrap()
            .contains("kênh mail"),
        "{refused}"
    );
    let row = journal.deliveries(Some("mail")).await.unwrap().remove(0);
    assert_eq!(row.state, DeliveryState::Failed, "{row:?}");
    picket.stop().await;
    hook.stop().await;
    drop(smtp);
}

/// The same for a webhook answering 4xx (not a signature problem): an alarm is tried again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_a_webhook_refuses_with_a_4xx_is_tried_again_and_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, ca) = certs(dir.path());
    let mut hook = Peer::start(
        "webhook_receiver.py",
        &[
            "--refuse-first",
            "2",
            cert.to_str().unwrap(),
            key.to_str().unwrap(),
            "hook-secret",
        ],
    )
    .await;
    let config = site(
        dir.path(),
        &format!(
            "[[channels]]\nid = \"hq\"\ntype = \"webhook\"\n\
             url = \"https://127.0.0.1:{}/hook\"\nsecret = \"hook-secret\"\nca_file = \"{}\"\n\n\
             [escalation]\ntiers = [{{ name = \"security\", delay_s = 0, channels = [\"hq\"] }}]\n",
            hook.port,
            ca.display()
        ),
    );
    let picket = Picket::start(config).await;
    let mut feed = Feed::connect(dir.path()).await;
    trip(&mut feed, 5).await;
    let mut answers = Vec::new();
    while answers.len() < 3 {
        let got = hook.next(PATIENCE).await;
        assert_eq!(got["verified"], true, "{got}");
        answers.push(got["refused"].as_bool().unwrap());
    }
    assert_eq!(answers, [true, true, false], "refused twice, then taken");
    let journal = journal(dir.path()).await;
    wait_for("the row acknowledged", async || {
        journal.deliveries(Some("hq")).await.unwrap()[0].state == DeliveryState::Acknowledged
    })
    .await;
    picket.stop().await;
    hook.stop().await;
}
