//! `picket report` on a month built through the engine (not hand-written rows): two
//! areas, alarms one second either side of the month's edges, guards' acknowledgements
//! and resolutions, a mail server that refused one alarm's notice, a broker outage, a
//! handover note. Every figure is worked out by hand below and looked for in the HTML and
//! the CSV files the command writes; the same journal gives byte-identical files; a
//! tampered event makes the report say the chain is broken.

use picket::engine::{
    Actor, Command, CommandKind, ContactId, Engine, Input, ManualClock, Mode, Observation, Origin,
    Reading, Resolution, Role, Site, SystemTrouble, Timestamp,
};
use picket::escalation::{Planner, Policy, SiteInfo};
use picket::journal::{DeliveryState, Journal, Writer};
use std::sync::Arc;
use std::time::Duration;

/// 2026-11-01 00:00 in Hanoi (UTC+7).
const NOV_1: i64 = 1_793_466_000_000;
const DAY: i64 = 86_400_000;

const CONFIG: &str = r#"
[site]
name = "Cty TNHH Ví Dụ"
timezone = "Asia/Ho_Chi_Minh"
[panel]
abort_window_s = 0
[[areas]]
id = "wh"
name = "Kho thành phẩm"
name_en = "Warehouse"
exit_delay_s = 0
[[areas]]
id = "office"
name = "Văn phòng"
name_en = "Office"
[[zones]]
id = "fence"
name = "Hàng rào kho"
area = "wh"
type = "perimeter"
[[zones]]
id = "cage"
name = "Lồng két"
area = "wh"
type = "burglary_24h"
[[zones]]
id = "smoke"
name = "Đầu báo khói văn phòng"
area = "office"
type = "fire"
[[sensors]]
id = "fence_c"
zone = "fence"
kind = "fence"
source = { kind = "simulated" }
[[sensors]]
id = "cage_c"
zone = "cage"
kind = "contact"
source = { kind = "simulated" }
[[sensors]]
id = "smoke_d"
zone = "smoke"
kind = "smoke"
source = { kind = "simulated" }
[[channels]]
id = "security"
type = "email"
host = "mail.example.vn"
from = "picket@example.vn"
to = ["security@example.vn"]
[escalation]
tiers = [{ name = "security", delay_s = 0, channels = ["security"] }]
"#;

struct Month {
    engine: Engine<ManualClock>,
    clock: ManualClock,
    writer: Writer,
    journal: Journal,
    config: picket::config::Config,
    dir: tempfile::TempDir,
}

impl Month {
    async fn new() -> Month {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{CONFIG}\n[journal]\npath = \"{}\"\n",
            dir.path().join("journal.db").display()
        );
        std::fs::write(dir.path().join("picket.toml"), &text).unwrap();
        let config = picket::config::parse_str(&text).unwrap();
        let journal = Journal::open(&config.journal.path).await.unwrap();
        let mut writer = Writer::new(journal.clone()).await.unwrap();
        writer.set_planner(Arc::new(Planner::new(
            Policy::from_config(&config),
            SiteInfo::from_config(&config),
        )));
        let clock = ManualClock::new(Timestamp(NOV_1 - 2 * DAY));
        let engine = Engine::new(Arc::new(Site::from_config(&config)), clock.clone());
        Month {
            engine,
            clock,
            writer,
            journal,
            config,
            dir,
        }
    }

    /// Moves the clock to `at` (ms) and lets due timers fire.
    async fn at(&mut self, at: i64) {
        let now = picket::engine::Clock::now(&self.clock).0;
        assert!(at >= now, "time runs forwards");
        self.clock
            .advance(Duration::from_millis(u64::try_from(at - now).unwrap()));
        self.input(Input::Tick).await;
    }

    async fn input(&mut self, input: Input) {
        let outcome = self.engine.handle(input);
        assert!(outcome.refused.is_none(), "{:?}", outcome.refused);
        self.writer.commit(&[&outcome]).await.unwrap();
    }

    async fn sense(&mut self, at: i64, sensor: &str, active: bool) {
        self.at(at).await;
        let reading = match sensor {
            "smoke_d" => Reading::Smoke { active },
            _ => Reading::Contact { active },
        };
        self.input(Input::Observation(Observation {
            sensor: sensor.into(),
            reading,
            source_ref: None,
        }))
        .await;
    }

    async fn by(&mut self, at: i64, user: &str, kind: CommandKind) {
        self.at(at).await;
        self.input(Input::Command(Command {
            kind,
            actor: Actor {
                user: user.into(),
                role: Role::Supervisor,
                duress: false,
                origin: Origin::Page,
                number: Some(if user == "an" { 1 } else { 2 }),
                address: None,
            },
        }))
        .await;
    }

    /// An alarm on `sensor` at `at`, acknowledged by `who` `ack_s` later and resolved
    /// `resolve_s` after it was raised (when given); the sensor back to normal after.
    async fn alarm(
        &mut self,
        at: i64,
        sensor: &str,
        id: u64,
        handled: Option<(&str, i64, i64, Resolution, &str)>,
    ) {
        self.sense(at, sensor, true).await;
        self.sense(at + 1000, sensor, false).await;
        if let Some((who, ack_s, resolve_s, resolution, note)) = handled {
            let note = note.to_string();
            self.by(
                at + ack_s * 1000,
                who,
                CommandKind::Acknowledge {
                    alarm: id,
                    note: String::new(),
                },
            )
            .await;
            self.by(
                at + resolve_s * 1000,
                who,
                CommandKind::Resolve {
                    alarm: id,
                    resolution,
                    note,
                },
            )
            .await;
        }
    }
}

/// The month of November 2026 at the site, with what happened either side of it.
async fn november() -> Month {
    let mut m = Month::new().await;
    let h = 3_600_000;
    // #1: a second before the month: not in it (its handling, in the month, is).
    m.alarm(
        NOV_1 - 1000,
        "smoke_d",
        1,
        Some(("an", 60, 600, Resolution::Test, "")),
    )
    .await;
    // #2: a real intrusion at the cage, 3 Nov 02:14.
    m.alarm(
        NOV_1 + 2 * DAY + 2 * h + 14 * 60_000,
        "cage_c",
        2,
        Some((
            "an",
            90,
            600,
            Resolution::Real,
            "Bắt được người lạ, đã báo 113",
        )),
    )
    .await;
    // The gate camera's snapshot of #2, recorded and chained as the camera does.
    let snapshot = m.dir.path().join("gate_cam-2.jpg");
    std::fs::write(&snapshot, b"\xff\xd8 a picture of the cage \xff\xd9").unwrap();
    let sha256 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(std::fs::read(&snapshot).unwrap()))
    };
    let file = picket::journal::EvidenceFile {
        id: 0,
        alarm_id: 2,
        camera: "gate_cam".into(),
        kind: "snapshot".into(),
        path: snapshot.display().to_string(),
        sha256: sha256.clone(),
        bytes: 30,
        duration_ms: None,
        created_at_ms: picket::engine::Clock::now(&m.clock).0,
        deleted_at_ms: None,
    };
    m.journal.record_evidence(&file).await.unwrap();
    m.input(Input::Evidence(picket::engine::EvidenceNote {
        alarm: 2,
        camera: "gate_cam".into(),
        kind: picket::engine::EvidenceKind::Snapshot,
        file: "gate_cam-2.jpg".into(),
        sha256,
        bytes: 30,
        deleted: None,
    }))
    .await;
    // A broker outage of ten minutes on 5 Nov.
    let outage = NOV_1 + 4 * DAY + 8 * h;
    for (at, active) in [(outage, true), (outage + 600_000, false)] {
        m.at(at).await;
        m.input(Input::Trouble(SystemTrouble {
            id: "mqtt".into(),
            code: ContactId(330),
            active,
            what_vi: "Mất kết nối MQTT".into(),
            what_en: "MQTT broker lost".into(),
            number: None,
        }))
        .await;
    }
    // #3: the fence while armed, 10 Nov 23:00: a cat.
    m.by(
        NOV_1 + 9 * DAY + 22 * h,
        "an",
        CommandKind::Arm {
            area: "wh".into(),
            mode: Mode::ArmedAway,
            force: false,
        },
    )
    .await;
    m.alarm(
        NOV_1 + 9 * DAY + 23 * h,
        "fence_c",
        3,
        Some(("binh", 30, 300, Resolution::False, "Mèo")),
    )
    .await;
    m.by(
        NOV_1 + 10 * DAY + 6 * h,
        "binh",
        CommandKind::Disarm { area: "wh".into() },
    )
    .await;
    // The handover note, 15 Nov 06:00.
    m.by(
        NOV_1 + 14 * DAY + 6 * h,
        "an",
        CommandKind::HandoverNote {
            text: "Cửa kho B kẹt khóa".into(),
        },
    )
    .await;
    // #4: a fire drill, 20 Nov 10:00.
    m.alarm(
        NOV_1 + 19 * DAY + 10 * h,
        "smoke_d",
        4,
        Some(("an", 60, 120, Resolution::Test, "Diễn tập PCCC")),
    )
    .await;
    // #5: the last second of the month, still open; #6, a smoke detector, the first
    // second of December.
    let dec_1 = NOV_1 + 30 * DAY;
    m.sense(dec_1 - 1000, "cage_c", true).await;
    m.sense(dec_1 - 500, "cage_c", false).await;
    m.sense(dec_1, "smoke_d", true).await;

    // The mail server took every notice two seconds after it was queued, but refused
    // alarm 3's for good.
    for d in m.journal.deliveries(None).await.unwrap() {
        if d.alarm_id == Some(3) {
            m.journal
                .mark_attempt_failed(d.id, "550 mailbox unavailable", true, d.due_at_ms + 2000)
                .await
                .unwrap();
        } else {
            m.journal
                .mark_delivered(d.id, DeliveryState::Sent, d.due_at_ms + 2000)
                .await
                .unwrap();
        }
    }
    m
}

fn report(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_picket"))
        .arg("report")
        .arg("--config")
        .arg(dir.join("picket.toml"))
        .args(args)
        .env("USER", "giam-sat")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_november_report_carries_every_figure_worked_out_by_hand() {
    let m = november().await;
    let dir = m.dir.path();
    let out = dir.join("out");
    let (ok, stdout, stderr) = report(dir, &["--month", "2026-11", "--out", out.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let stem = "picket-report-2026-11-01-2026-11-30";
    assert!(stdout.contains(&format!("{stem}.html")), "{stdout}");

    let csv = |name: &str| read(&out.join(format!("{stem}-{name}.csv")));
    // Excel needs the byte-order mark to show the diacritics.
    assert!(csv("summary").starts_with('\u{feff}'));
    let summary = csv("summary");
    for line in [
        "Cơ sở,Cty TNHH Ví Dụ",
        "Kỳ báo cáo,Tháng 11/2026",
        "Từ,2026-11-01 00:00:00",
        "Đến trước,2026-12-01 00:00:00",
        "Người lập,giam-sat",
        // #2, #3, #4 and #5; not #1 (a second before) nor #6 (the first second after).
        "Báo động,4",
        "Đã xác minh,0",
        "Chưa xác minh,4",
        // Resolved: #2 real, #3 false, #4 test: one false of three.
        "Tỉ lệ báo nhầm,33.3%",
    ] {
        assert!(summary.contains(line), "{line:?} not in\n{summary}");
    }
    assert!(summary.contains("Chuỗi băm,nguyên vẹn"), "{summary}");
    assert!(
        summary.contains("Tệp bằng chứng,\"1 tệp ghi trong kỳ, tất cả khớp chuỗi băm\""),
        "{summary}"
    );

    let alarms = csv("alarms");
    let ids: Vec<&str> = alarms
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(ids, ["2", "3", "4", "5"]);
    assert!(
        alarms.contains("2026-11-03 02:14:00,burglary,133,Kho thành phẩm,Lồng két,không,không,an,90.0,an,600.0,real,"),
        "{alarms}"
    );
    assert!(
        alarms.contains("2026-11-30 23:59:59,burglary,133"),
        "{alarms}"
    );

    assert!(csv("by-category").contains("burglary,3\r\nfire,1\r\n"));
    assert!(csv("by-area").contains("Kho thành phẩm,3\r\nVăn phòng,1\r\n"));
    assert!(csv("by-zone").contains("Lồng két,2\r\n"));
    let resolutions = csv("by-resolution");
    for line in [",1\r\n", "false,1\r\n", "real,1\r\n", "test,1\r\n"] {
        assert!(resolutions.contains(line), "{resolutions}");
    }

    // Acknowledged after 90, 30 and 60 s: median 60, p90 90, max 90.
    // Resolved after 600, 300 and 120 s: median 300, p90 600, max 600.
    let times = csv("response-times");
    assert!(
        times.contains("Từ báo động đến xác nhận,3,60.0,90.0,90.0"),
        "{times}"
    );
    assert!(
        times.contains("Từ báo động đến xử lý xong,3,300.0,600.0,600.0"),
        "{times}"
    );
    assert!(times.contains("Gửi tới: security,"), "{times}");

    let failed = csv("failed-deliveries");
    let failed_rows: Vec<&str> = failed.lines().skip(1).collect();
    assert!(!failed_rows.is_empty());
    assert!(
        failed_rows
            .iter()
            .all(|l| l.starts_with("3,security,") && l.contains("550 mailbox unavailable")),
        "{failed}"
    );

    let troubles = csv("troubles");
    assert!(
        troubles
            .lines()
            .any(|l| l.starts_with("330,") && l.contains(",1,1,")),
        "{troubles}"
    );
    // The warehouse was armed from 10 Nov 22:00 to 11 Nov 06:00: 8 of 720 hours.
    let arming = csv("arming");
    assert!(
        arming.contains("Kho thành phẩm,8.00,1.1%,1,1\r\n"),
        "{arming}"
    );
    assert!(arming.contains("Văn phòng,0.00,0.0%,0,0\r\n"), "{arming}");
    let people = csv("people");
    for line in [
        "an,alarm_acknowledged,3",
        "an,alarm_resolved,3",
        "an,armed,1",
        "an,handover_note,1",
        "binh,alarm_acknowledged,1",
        "binh,disarmed,1",
    ] {
        assert!(people.contains(line), "{line:?} not in\n{people}");
    }
    let notes = csv("handover-notes");
    assert!(
        notes.contains("2026-11-15 06:00:00,an,Bàn giao ca (an): Cửa kho B kẹt khóa"),
        "{notes}"
    );
    let incidents = csv("incidents");
    assert_eq!(incidents.lines().count(), 2, "{incidents}");
    assert!(
        incidents.contains("2,2026-11-03 02:14:00,Lồng két,Kho thành phẩm,burglary,an,10 min 00 s,\"Bắt được người lạ, đã báo 113\""),
        "{incidents}"
    );

    let html = read(&out.join(format!("{stem}.html")));
    for text in [
        "<html lang=\"vi\">",
        "Báo cáo an ninh — Cty TNHH Ví Dụ",
        "Tháng 11/2026",
        "Sự cố thật",
        "Bắt được người lạ, đã báo 113",
        "33.3%",
        "nguyên vẹn",
        "550 mailbox unavailable",
        "Cửa kho B kẹt khóa",
        "Bật / tắt báo động",
    ] {
        assert!(html.contains(text), "{text:?} not in the HTML");
    }

    // The same journal and period: the same bytes, whoever asks again.
    let again = dir.join("again");
    assert!(
        report(
            dir,
            &["--month", "2026-11", "--out", again.to_str().unwrap()]
        )
        .0
    );
    for entry in std::fs::read_dir(&out).unwrap() {
        let name = entry.unwrap().file_name();
        assert_eq!(
            std::fs::read(out.join(&name)).unwrap(),
            std::fs::read(again.join(&name)).unwrap(),
            "{name:?} differs"
        );
    }

    // In English, only the HTML.
    let en = dir.join("en");
    let (ok, stdout, stderr) = report(
        dir,
        &[
            "--month",
            "2026-11",
            "--lang",
            "en",
            "--format",
            "html",
            "--out",
            en.to_str().unwrap(),
        ],
    );
    assert!(ok, "{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let html = read(&en.join(format!("{stem}.html")));
    assert!(html.contains("Security report — Cty TNHH Ví Dụ") && html.contains("November 2026"));
    m.journal.close().await;
    drop(m.writer);
    let _ = m.config;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarters_and_the_assessment_year_take_their_edges_in_site_time_and_a_tampered_row_breaks_the_chain()
 {
    let m = november().await;
    let dir = m.dir.path();
    let summary_of = |args: &[&str], out: &str| {
        let out = dir.join(out);
        let mut all = vec!["--format", "csv", "--out", out.to_str().unwrap()];
        all.extend_from_slice(args);
        let (ok, stdout, stderr) = report(dir, &all);
        assert!(ok, "{stderr}");
        let summary = stdout
            .lines()
            .find(|l| l.ends_with("-summary.csv"))
            .unwrap()
            .to_string();
        read(std::path::Path::new(&summary))
    };
    // Q4 (October to December) holds all six.
    assert!(summary_of(&["--quarter", "2026-Q4"], "q4").contains("Báo động,6\r\n"));
    // The assessment year 2026 ends on 15 Nov: #1, #2, #3; the 2027 one starts 16 Nov.
    let year = summary_of(&["--assessment-year", "2026"], "y2026");
    assert!(year.contains("Báo động,3\r\n"), "{year}");
    assert!(year.contains("Từ,2025-11-16 00:00:00"), "{year}");
    assert!(summary_of(&["--assessment-year", "2027"], "y2027").contains("Báo động,3\r\n"));
    // Two days: 3 Nov only.
    assert!(
        summary_of(&["--from", "2026-11-02", "--to", "2026-11-03"], "days")
            .contains("Báo động,1\r\n")
    );
    // Mistakes are named.
    let (ok, _, stderr) = report(dir, &["--month", "11/2026"]);
    assert!(
        !ok && stderr.contains("--month \"11/2026\": expected YYYY-MM"),
        "{stderr}"
    );

    // Someone edits the snapshot: the report names it.
    std::fs::write(dir.join("gate_cam-2.jpg"), b"another picture").unwrap();
    let altered = summary_of(&["--month", "2026-11"], "altered");
    assert!(
        altered.contains("Tệp bằng chứng,\"1 tệp KHÔNG KHỚP chuỗi băm: #2 ")
            && altered.contains("gate_cam-2.jpg: altered: its SHA-256 is now"),
        "{altered}"
    );
    // Someone edits an event: the report says where the chain breaks.
    sqlx::query("DROP TRIGGER events_append_only_update")
        .execute(m.journal.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE events SET message_vi = 'không có gì' WHERE seq = 5")
        .execute(m.journal.pool())
        .await
        .unwrap();
    let broken = summary_of(&["--month", "2026-11"], "broken");
    assert!(
        broken.contains("Chuỗi băm,BỊ PHÁ VỠ tại sự kiện #5"),
        "{broken}"
    );
    m.journal.close().await;
}
