//! SMS through a real gammu-smsd (Gammu's `dummy` phone, its SQL backend on SQLite): what
//! the guards' and the police's phones receive, in Unicode and folded to GSM, in
//! concatenated parts; replies from people's phones acknowledging alarms, refused with a
//! wrong code, ignored from strangers; the SMS path lost and back; and `kill -9` in the
//! middle of a burst of SMS alarms.

mod common;

use common::delivery::{journal, site, trip, wait_for, zones_and};
use common::inproc::Picket;
use common::smsd::{Smsd, messages};
use common::{Daemon, Feed};
use picket::journal::DeliveryState;
use std::collections::BTreeMap;
use std::path::Path;

/// An SMS channel on `smsd` with `extra` keys, told at once of every alarm.
/// The SMS path is lost after 3 s unless `extra` says otherwise.
fn channel(smsd: &Smsd, id: &str, extra: &str) -> String {
    let lost_after = if extra.contains("lost_after_s") {
        ""
    } else {
        "lost_after_s = 3\n"
    };
    format!(
        "[[channels]]\nid = \"{id}\"\ntype = \"sms\"\ndatabase = \"{}\"\n\
         phone_id = \"picket-test\"\n{lost_after}{extra}\n\n",
        smsd.db.display()
    )
}

fn tiers(channels: &[&str]) -> String {
    let list: Vec<String> = channels.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        "[escalation]\ntiers = [{{ name = \"guards\", delay_s = 0, channels = [{}] }}]\n",
        list.join(", ")
    )
}

/// `02:14 01/12` of `at_ms` in Vietnam.
fn local_time(at_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(at_ms)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap())
        .strftime("%H:%M %d/%m")
        .to_string()
}

/// Some message was sent, and every part of every message: a concatenated message's
/// header says how many parts it has.
fn complete(parts: &[common::smsd::SentPart]) -> bool {
    let total = |p: &common::smsd::SentPart| {
        u8::from_str_radix(p.udh.get(8..10).unwrap_or("01"), 16).unwrap_or(1) as usize
    };
    !parts.is_empty()
        && parts
            .iter()
            .all(|p| parts.iter().filter(|q| q.id == p.id).count() == total(p))
}

async fn alarm_time(dir: &Path, id: i64) -> i64 {
    journal(dir)
        .await
        .alarm(id)
        .await
        .unwrap()
        .unwrap()
        .raised_at
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_reaches_phones_in_unicode_and_in_folded_gsm_in_concatenated_parts() {
    let dir = tempfile::tempdir().unwrap();
    let smsd = Smsd::start(&dir.path().join("smsd")).await;
    let delivery = format!(
        "{}{}{}",
        channel(
            &smsd,
            "sms",
            "to = [\"+84900000000\"]\n\
             tier_to = { guards = [\"0901 111 111\"], police = [\"0903 333 333\"] }\n\
             delivery_reports = false\ncommands = false"
        ),
        channel(
            &smsd,
            "sms_gsm",
            "to = [\"+84902222222\"]\nencoding = \"ascii\"\nmax_parts = 2\ncommands = false"
        ),
        // The SMS channel is in two tiers, each with numbers of its own.
        "[escalation]\ntiers = [{ name = \"guards\", delay_s = 0, channels = [\"sms\", \"sms_gsm\"] }, \
         { name = \"police\", delay_s = 0, channels = [\"sms\"] }]\n"
    );
    let picket = Picket::start(site(dir.path(), &delivery)).await;
    let mut feed = Feed::connect(dir.path()).await;
    trip(&mut feed, 1).await;

    let unicode = smsd
        .wait_sent_to("+84901111111", "the Unicode SMS", complete)
        .await;
    let time = local_time(alarm_time(dir.path(), 1).await);
    assert_eq!(
        messages(&unicode),
        vec![format!(
            "[ĐỘT NHẬP 133] Bãi 1 – Hàng rào 1 – {time} – Nhà máy Sông Hồng, KCN Tân Bình. \
             Chưa xác minh. Báo động 1. Gọi 113. Trả lời: OK 1 <mã>"
        )],
        "both languages do not fit in 3 parts of 67, so the Vietnamese goes alone: {unicode:?}"
    );
    assert_eq!(unicode.len(), 3, "{unicode:?}");
    for (i, part) in unicode.iter().enumerate() {
        assert_eq!(part.coding, "Unicode_No_Compression");
        assert!(part.udh.starts_with("050003"), "{part:?}");
        assert!(part.udh.ends_with(&format!("03{:02X}", i + 1)), "{part:?}");
        assert_eq!(part.status, "SendingOKNoReport", "{part:?}");
        assert!(part.text.chars().count() <= 67, "{part:?}");
    }
    assert!(
        unicode[0].text.ends_with(' '),
        "cut between words: {unicode:?}"
    );

    let gsm = smsd
        .wait_sent_to("+84902222222", "the GSM SMS", complete)
        .await;
    assert_eq!(
        messages(&gsm),
        vec![format!(
            "[DOT NHAP 133] Bai 1 - Hang rao 1 - {time} - Nha may Song Hong, KCN Tan Binh. \
             Chua xac minh. Bao dong 1. Goi 113. Tra loi: OK 1 <ma> / \
             [INTRUSION 133] Bai 1 - Hang rao 1 - {time} - Nha may Song Hong. \
             Not confirmed. Alarm 1. Call 113. Reply: OK 1 <code>"
        )],
        "{gsm:?}"
    );
    assert!(gsm.iter().all(|p| p.coding == "Default_No_Compression"));
    assert_eq!(
        gsm[0].status, "SendingOK",
        "a delivery report was asked for"
    );

    let journal = journal(dir.path()).await;
    let police = smsd
        .wait_sent_to("+84903333333", "the police tier's SMS", complete)
        .await;
    assert_eq!(messages(&police), messages(&unicode), "{police:?}");
    wait_for("the three rows marked sent", async || {
        let rows = journal.deliveries(None).await.unwrap();
        rows.len() == 3 && rows.iter().all(|r| r.state == DeliveryState::Sent)
    })
    .await;
    assert!(
        smsd.sent().await.iter().all(|p| p.number != "+84900000000"),
        "both tiers have numbers of their own"
    );

    // The network's delivery report for the GSM message: its row is acknowledged.
    smsd.report_delivered("+84902222222").await;
    wait_for(
        "the GSM row acknowledged by its delivery report",
        async || {
            journal.deliveries(Some("sms_gsm")).await.unwrap()[0].state
                == DeliveryState::Acknowledged
        },
    )
    .await;
    assert!(
        journal
            .deliveries(Some("sms"))
            .await
            .unwrap()
            .iter()
            .all(|r| r.state == DeliveryState::Sent),
        "no report was asked for the other"
    );

    // The fence is whole again: the restore goes to the phone that was told.
    feed.send(r#"{"ref":"r1","sensor":"s1","kind":"contact","active":false}"#)
        .await;
    assert!(feed.reply().await.unwrap().get("ack").is_some());
    let told = smsd
        .wait_sent_to("+84901111111", "the restore", |p| {
            complete(p) && messages(p).len() >= 2
        })
        .await;
    let restore = &messages(&told)[1];
    assert!(
        restore.starts_with("[VÙNG BÌNH THƯỜNG LẠI 133] ") && restore.contains("Báo động 1."),
        "{restore}"
    );
    // The police tier's phone was told too, so it hears the restore as well.
    let told = smsd
        .wait_sent_to("+84903333333", "the restore to the police tier", |p| {
            complete(p) && messages(p).len() >= 2
        })
        .await;
    assert_eq!(&messages(&told)[1], restore);
    assert!(
        smsd.sent().await.iter().all(|p| p.number != "+84900000000"),
        "the channel's usual number was never told, so it hears no restore"
    );
    picket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_from_a_guards_phone_acknowledges_and_strangers_and_wrong_codes_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let smsd = Smsd::start(&dir.path().join("smsd")).await;
    common::add_guard(&dir.path().join("journal.db"), "lan", "1234").await;
    let people = journal(dir.path()).await;
    people
        .set_phone(
            "lan",
            Some("0903 333 333"),
            picket::journal::users::By::cli("test"),
            picket::engine::Timestamp(2),
        )
        .await
        .unwrap();
    // A second guard with a duress code, on the list too.
    people
        .add_user(
            "minh",
            picket::engine::Role::Guard,
            "5678",
            Some("9111"),
            "test",
            picket::engine::Timestamp(3),
        )
        .await
        .unwrap();
    people
        .set_phone(
            "minh",
            Some("0904 444 444"),
            picket::journal::users::By::cli("test"),
            picket::engine::Timestamp(4),
        )
        .await
        .unwrap();
    people.close().await;
    let delivery = format!(
        "{}{}",
        channel(
            &smsd,
            "sms",
            "to = [\"+84903333333\", \"+84904444444\"]\ndelivery_reports = false"
        ),
        tiers(&["sms"])
    );
    let picket = Picket::start(site(dir.path(), &delivery)).await;
    let mut feed = Feed::connect(dir.path()).await;
    trip(&mut feed, 1).await;
    smsd.wait_sent_to("+84903333333", "the alarm SMS", |p| !p.is_empty())
        .await;
    let journal = journal(dir.path()).await;
    let audit = async |result: &str| -> Vec<(String, String, Option<String>, String)> {
        sqlx::query_as(
            "SELECT user_name, origin, address, action FROM audit WHERE result = ? ORDER BY id",
        )
        .bind(result)
        .fetch_all(journal.pool())
        .await
        .unwrap()
    };

    // A wrong code: refused, audited with the number, answered.
    smsd.receive("+84903333333", "OK 1 9999").await;
    let replies = smsd
        .wait_sent_to("+84903333333", "the refusal", |p| messages(p).len() >= 2)
        .await;
    assert_eq!(
        messages(&replies)[1],
        "Không thực hiện: sai mã / Not done: wrong code"
    );
    assert_eq!(
        audit("refused: wrong code").await,
        vec![(
            "unknown".into(),
            "sms".into(),
            Some("+84903333333".into()),
            "acknowledge".into()
        )]
    );

    // A stranger with the right code: ignored, audited, no answer.
    smsd.receive("+84909999999", "OK 1 1234").await;
    wait_for("the stranger's message audited", async || {
        !audit("ignored: number not listed").await.is_empty()
    })
    .await;
    assert_eq!(
        audit("ignored: number not listed").await[0].2.as_deref(),
        Some("+84909999999")
    );

    // The guard with her code: acknowledged as her, from her phone, and confirmed.
    smsd.receive("+84903333333", "ok 1 1234").await;
    let replies = smsd
        .wait_sent_to("+84903333333", "the confirmation", |p| {
            messages(p).len() >= 3
        })
        .await;
    assert_eq!(
        messages(&replies)[2],
        "Đã tiếp nhận báo động 1 (lan). / Alarm 1 acknowledged (lan)."
    );
    let alarm = journal.alarm(1).await.unwrap().unwrap();
    assert_eq!(alarm.acknowledged_by.as_deref(), Some("lan"), "{alarm:?}");
    let acked: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT user_name, origin, address FROM audit \
         WHERE action = 'acknowledge' AND result = 'ok'",
    )
    .fetch_all(journal.pool())
    .await
    .unwrap();
    assert_eq!(
        acked,
        vec![("lan".into(), "sms".into(), Some("+84903333333".into()))]
    );
    assert!(
        smsd.sent().await.iter().all(|p| p.number != "+84909999999"),
        "a stranger gets no answer"
    );
    assert_eq!(smsd.unread().await, 0, "every message read");
    // Health is refreshed at each supervision round (every second here).
    let mut modem = None;
    wait_for("the commands counted in the channel's health", async || {
        modem = picket::web::metrics::channels(&picket.effects)[0]
            .modem
            .clone();
        modem
            .as_ref()
            .is_some_and(|m| (m.commands_received, m.from_unlisted, m.wrong_codes) == (3, 1, 1))
    })
    .await;
    let modem = modem.expect("modem health");
    assert!(modem.daemon_alive && modem.registered, "{modem:?}");
    assert_eq!(modem.network, "GammuT3l");

    // Arming, status and disarming by reply, the area by its id in any case.
    let reply_to = async |text: &str, nth: usize| -> String {
        smsd.receive("+84903333333", text).await;
        let replies = smsd
            .wait_sent_to("+84903333333", text, |p| {
                complete(p) && messages(p).len() > nth
            })
            .await;
        messages(&replies)[nth].clone()
    };
    assert_eq!(
        reply_to("BẬT A2 1234", 3).await,
        "Đã bật báo động Bãi 2. / Bãi 2 armed (away)."
    );
    let status = reply_to("TT", 4).await;
    assert!(
        status.contains("Bãi 2: bật báo động (vắng người)")
            && status.contains("báo động: 1 133 Bãi 1"),
        "{status}"
    );
    assert_eq!(
        reply_to("tat a2 1234", 5).await,
        "Đã tắt báo động Bãi 2. / Bãi 2 disarmed."
    );

    // Minh is forced to arm with his duress code: it does what was asked and answers as
    // usual; the silent duress alarm (121) reaches Lan's phone and never Minh's, which
    // whoever forces him may be holding.
    smsd.receive("+84904444444", "BAT A2 9111").await;
    let minh = smsd
        .wait_sent_to("+84904444444", "the answer under duress", |p| {
            complete(p) && messages(p).len() >= 2
        })
        .await;
    assert_eq!(
        messages(&minh)[1],
        "Đã bật báo động Bãi 2. / Bãi 2 armed (away)."
    );
    let lan = smsd
        .wait_sent_to("+84903333333", "the duress alarm", |p| {
            complete(p) && messages(p).iter().any(|m| m.contains(" 121]"))
        })
        .await;
    let duress = messages(&lan)
        .into_iter()
        .find(|m| m.contains(" 121]"))
        .unwrap();
    assert!(
        duress.contains("Bãi 2"),
        "the duress alarm names its area: {duress}"
    );
    wait_for("the duress row delivered", async || {
        journal
            .deliveries(Some("sms"))
            .await
            .unwrap()
            .iter()
            .all(|r| r.state != DeliveryState::Pending)
    })
    .await;
    assert!(
        messages(
            &smsd
                .sent()
                .await
                .into_iter()
                .filter(|p| p.number == "+84904444444")
                .collect::<Vec<_>>()
        )
        .iter()
        .all(|m| !m.contains("121")),
        "the duress alarm is never texted to the phone under duress"
    );
    let alarms = journal.open_alarms().await.unwrap();
    assert!(
        alarms
            .iter()
            .any(|a| a.code == picket::engine::ContactId(121)),
        "the duress alarm is open: {alarms:?}"
    );
    picket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gammu_smsd_stopped_raises_trouble_and_queued_alarms_go_in_order_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut smsd = Smsd::start(&dir.path().join("smsd")).await;
    let delivery = format!(
        "{}{}",
        channel(
            &smsd,
            "sms",
            "to = [\"+84904444444\"]\ndelivery_reports = false\ncommands = false\nmax_parts = 1"
        ),
        tiers(&["sms"])
    );
    let mut picket = Picket::start(site(dir.path(), &delivery)).await;
    smsd.stop().await;
    let mut feed = Feed::connect(dir.path()).await;
    for i in 1..=3 {
        trip(&mut feed, i).await;
    }
    let trouble = picket
        .expect("trouble 350 naming the SMS path", |p| {
            p.event.code.map(|c| c.0) == Some(350) && p.event.qualifier.digit() == 1
        })
        .await;
    assert!(
        trouble.event.message_en.contains("SMS path of channel sms"),
        "{}",
        trouble.event.message_en
    );
    let journal = journal(dir.path()).await;
    let rows = journal.deliveries(Some("sms")).await.unwrap();
    assert!(
        rows.iter().all(|r| r.state == DeliveryState::Pending),
        "{rows:?}"
    );
    assert!(smsd.sent().await.is_empty());

    smsd.resume().await;
    picket
        .expect("trouble 350 restored", |p| {
            p.event.code.map(|c| c.0) == Some(350) && p.event.qualifier.digit() == 3
        })
        .await;
    let sent = smsd
        .wait_sent_to("+84904444444", "the three alarms", |p| p.len() >= 3)
        .await;
    let order: Vec<String> = messages(&sent)
        .iter()
        .map(|m| m.split(" – ").nth(1).unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        order[..3],
        ["Hàng rào 1", "Hàng rào 2", "Hàng rào 3"],
        "{sent:?}"
    );
    picket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_gammu_smsd_failed_is_retried_with_its_error_and_sent_once_it_can() {
    let dir = tempfile::tempdir().unwrap();
    let mut smsd = Smsd::start(&dir.path().join("smsd")).await;
    smsd.stop().await;
    let delivery = format!(
        "{}{}",
        channel(
            &smsd,
            "sms",
            "to = [\"+84907777777\"]\ndelivery_reports = false\ncommands = false\n\
             max_parts = 1\nlost_after_s = 3600"
        ),
        tiers(&["sms"])
    );
    let picket = Picket::start(site(dir.path(), &delivery)).await;
    let mut feed = Feed::connect(dir.path()).await;
    trip(&mut feed, 1).await;
    wait_for("the alarm queued with gammu-smsd", async || {
        smsd.queued().await == 1
    })
    .await;
    assert_eq!(smsd.fail_queued(500).await, 1);
    let journal = journal(dir.path()).await;
    wait_for("the failure recorded on the row", async || {
        journal.deliveries(Some("sms")).await.unwrap()[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("SendingError (error 500)"))
    })
    .await;
    let row = journal.deliveries(Some("sms")).await.unwrap().remove(0);
    assert_eq!(
        row.state,
        DeliveryState::Pending,
        "retried, not dropped: {row:?}"
    );
    wait_for("the alarm queued again", async || smsd.queued().await == 1).await;
    smsd.resume().await;
    let sent = smsd
        .wait_sent_to("+84907777777", "the alarm sent", |p| {
            p.iter().any(|p| p.status == "SendingOKNoReport")
        })
        .await;
    assert_eq!(
        sent.len(),
        2,
        "the failed try set aside, then one transmission: {sent:?}"
    );
    assert!(sent[0].creator.ends_with(" failed 1"), "{sent:?}");
    wait_for("the row sent", async || {
        journal.deliveries(Some("sms")).await.unwrap()[0].state == DeliveryState::Sent
    })
    .await;
    picket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_burst_of_sms_alarms_sends_each_once_under_its_own_id() {
    const ALARMS: u32 = 5;
    let dir = tempfile::tempdir().unwrap();
    let smsd = Smsd::start(&dir.path().join("smsd")).await;
    let mut delivery = channel(
        &smsd,
        "sms",
        "to = [\"+84905555555\", \"+84906666666\"]\ndelivery_reports = false\n\
         commands = false\nmax_parts = 1",
    );
    delivery.push_str(&tiers(&["sms"]));
    let config = common::write_config(dir.path(), &zones_and(&delivery));
    let daemon = Daemon::start(dir.path(), &config, None).await;
    let mut feed = Feed::connect(dir.path()).await;
    for i in 1..=ALARMS {
        trip(&mut feed, i).await;
    }
    // Killed once gammu-smsd has sent some of them, with the rest still owed.
    smsd.wait_sent_to("+84905555555", "the first alarms", |p| p.len() >= 2)
        .await;
    daemon.signal(libc::SIGKILL);
    assert_eq!(daemon.wait().await, None, "killed by a signal");
    let _daemon = Daemon::start(dir.path(), &config, None).await;
    for number in ["+84905555555", "+84906666666"] {
        let sent = smsd
            .wait_sent_to(number, "every alarm", |p| p.len() >= ALARMS as usize)
            .await;
        let mut by_creator: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        for p in &sent {
            by_creator.entry(p.creator.clone()).or_default().push(p.id);
        }
        assert_eq!(by_creator.len(), ALARMS as usize, "{sent:?}");
        for (creator, ids) in &by_creator {
            assert_eq!(ids.len(), 1, "{creator} was sent more than once: {sent:?}");
        }
    }
    let journal = journal(dir.path()).await;
    wait_for("every row marked sent", async || {
        let rows = journal.deliveries(Some("sms")).await.unwrap();
        rows.len() == ALARMS as usize && rows.iter().all(|r| r.state == DeliveryState::Sent)
    })
    .await;
}

/// The modem as the installer and the guards see it: on the Health page, in `/api/health`
/// and `/metrics`, through the real web server; and a person's phone set on the users page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_modem_shows_on_the_health_page_the_api_and_metrics_and_phones_are_set_on_the_users_page()
 {
    let dir = tempfile::tempdir().unwrap();
    let mut smsd = Smsd::start(&dir.path().join("smsd")).await;
    common::page::add_person(
        &dir.path().join("journal.db"),
        "dung",
        picket::engine::Role::Admin,
        "8642",
        None,
        "dung-password-1",
    )
    .await;
    let web = common::broker::free_port();
    let delivery = format!(
        "{}{}\n[web]\nlisten = \"127.0.0.1:{web}\"\n",
        channel(&smsd, "sms", "to = [\"+84903333333\"]"),
        tiers(&["sms"])
    );
    let picket = Picket::start(site(dir.path(), &delivery)).await;
    let mut page = common::page::PageClient::new(web);
    assert_eq!(page.login("dung", "dung-password-1").await.status, 303);

    let set = page
        .post("/users/dung/phone", &[("phone", "0903 333 333")])
        .await;
    assert_eq!(set.status, 303, "{}", set.body);
    let users = page.get("/users").await;
    assert!(users.body.contains("+84903333333"), "{}", users.body);

    let mut health = String::new();
    wait_for("the modem on the Health page", async || {
        health = page.get("/health").await.body;
        health.contains("GammuT3l")
    })
    .await;
    assert!(health.contains("GammuT3l sóng 42%"), "{health}");
    let api: serde_json::Value = serde_json::from_str(&page.get("/api/health").await.body).unwrap();
    let modem = &api["channels"][0]["modem"];
    assert_eq!(
        (
            modem["daemon_alive"].as_bool(),
            modem["registered"].as_bool(),
            modem["signal_percent"].as_i64()
        ),
        (Some(true), Some(true), Some(42)),
        "{api}"
    );
    let metrics = page.get("/metrics").await.body;
    for line in [
        "picket_sms_daemon_alive{channel=\"sms\"} 1",
        "picket_sms_modem_registered{channel=\"sms\"} 1",
        "picket_sms_modem_signal_percent{channel=\"sms\"} 42",
    ] {
        assert!(metrics.contains(line), "{line} not in {metrics}");
    }

    // gammu-smsd stops: the page says so, and so does /metrics.
    smsd.stop().await;
    wait_for("gammu-smsd missed on the Health page", async || {
        page.get("/health")
            .await
            .body
            .contains("gammu-smsd không phản hồi")
    })
    .await;
    assert!(
        page.get("/metrics")
            .await
            .body
            .contains("picket_sms_daemon_alive{channel=\"sms\"} 0")
    );
    picket.stop().await;
}
