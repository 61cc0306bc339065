//! `picket report` on a month built through the engine (not hand-written rows): two
//! areas, alarms one second either side of the month's edges, guards' acknowledgements
//! and resolutions, a mail server that refused one alarm's notice, a receiving centre
//! reached late once and whose primary path was down for half an hour, a camera's
//! picture lost for two hours, a broker outage, a low battery, arming against a nightly
//! schedule (on time, late, missed), a handover note. Every figure is worked out by hand
//! below and looked for in the HTML, the CSV files and the PDF (through poppler's
//! `pdftotext`, every page rendered by `pdftoppm`) the command writes; the same journal
//! gives byte-identical HTML and CSV; a tampered event makes the report say the chain is
//! broken.

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
arm_schedule = "22:00-06:00"
arm_grace_min = 15
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
[[sensors]]
id = "gate_cam_s"
name = "Camera cổng kho"
name_en = "Warehouse gate camera"
zone = "fence"
kind = "camera"
source = { kind = "camera", camera = "gate_cam" }
[[cameras]]
id = "gate_cam"
url = "rtsp://127.0.0.1:8554/gate"
zones = ["fence"]
[[channels]]
id = "security"
type = "email"
host = "mail.example.vn"
from = "picket@example.vn"
to = ["security@example.vn"]
[[channels]]
id = "arc"
type = "sia"
primary = "127.0.0.1:9"
backup = "127.0.0.1:10"
account = "1234"
[escalation]
tiers = [
  { name = "security", delay_s = 0, channels = ["security"] },
  { name = "police", delay_s = 75, channels = ["arc"] },
]
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
    // The gate camera's picture lost for two hours, 7 Nov 01:00–03:00.
    for (at, active) in [
        (NOV_1 + 6 * DAY + h, true),
        (NOV_1 + 6 * DAY + 3 * h, false),
    ] {
        m.at(at).await;
        m.input(Input::Observation(Observation {
            sensor: "gate_cam_s".into(),
            reading: Reading::VideoLoss { active },
            source_ref: None,
        }))
        .await;
    }
    // The fence contact's battery low on 8 Nov 09:00, never replaced.
    m.at(NOV_1 + 7 * DAY + 9 * h).await;
    m.input(Input::Observation(Observation {
        sensor: "fence_c".into(),
        reading: Reading::Battery {
            low: true,
            percent: Some(9),
        },
        source_ref: None,
    }))
    .await;
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
    // The centre's primary path down for half an hour, 12 Nov 14:00–14:30, as the DC-09
    // channel reports it.
    let path_down = NOV_1 + 11 * DAY + 14 * h;
    for (at, active) in [(path_down, true), (path_down + 1_800_000, false)] {
        m.at(at).await;
        m.input(Input::Trouble(SystemTrouble {
            id: "channel:arc:primary".into(),
            code: ContactId(350),
            active,
            what_vi: "đường truyền chính tới trung tâm (127.0.0.1:9) của kênh arc".into(),
            what_en: "primary path to the receiving centre (127.0.0.1:9) of channel arc".into(),
            number: Some(1),
        }))
        .await;
    }
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
    // The warehouse armed 45 minutes late that night (23:00, due by 22:15), until 06:00.
    m.by(
        NOV_1 + 19 * DAY + 23 * h,
        "binh",
        CommandKind::Arm {
            area: "wh".into(),
            mode: Mode::ArmedAway,
            force: false,
        },
    )
    .await;
    m.by(
        NOV_1 + 20 * DAY + 6 * h,
        "binh",
        CommandKind::Disarm { area: "wh".into() },
    )
    .await;
    // #5: the last second of the month, still open; #6, a smoke detector, the first
    // second of December.
    let dec_1 = NOV_1 + 30 * DAY;
    m.sense(dec_1 - 1000, "cage_c", true).await;
    m.sense(dec_1 - 500, "cage_c", false).await;
    m.sense(dec_1, "smoke_d", true).await;

    // The mail server took every notice two seconds after it was due, but refused alarm
    // 3's for good; the centre took #2's police notice 95 s after it was due (late: more
    // than 60 s) and #5's is still owed.
    let mut late_one = true;
    for d in m.journal.deliveries(None).await.unwrap() {
        if d.state != DeliveryState::Pending {
            continue;
        }
        if d.channel == "arc" {
            // The first of #2's rows at the centre is its alarm notice.
            if d.alarm_id == Some(2) && std::mem::take(&mut late_one) {
                m.journal
                    .mark_delivered(d.id, DeliveryState::Acknowledged, d.due_at_ms + 95_000)
                    .await
                    .unwrap();
            } else if d.alarm_id != Some(5) {
                m.journal
                    .mark_delivered(d.id, DeliveryState::Acknowledged, d.due_at_ms + 500)
                    .await
                    .unwrap();
            }
            continue;
        }
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

/// The PDF's text, by poppler's `pdftotext` (layout order, UTF-8).
fn pdf_text(pdf: &std::path::Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A cell's text may wrap onto several lines: one space for any run of white space.
    let text = String::from_utf8(out.stdout).unwrap();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Renders every page with poppler's `pdftoppm`; returns how many pages it drew.
fn render_pdf(pdf: &std::path::Path, dir: &std::path::Path) -> usize {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let out = std::process::Command::new("pdftoppm")
        .args(["-r", "60", "-png"])
        .arg(pdf)
        .arg(dir.join("page"))
        .output()
        .expect("pdftoppm (poppler-utils) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let e = e.as_ref().unwrap();
            e.file_name().to_string_lossy().ends_with(".png") && e.metadata().unwrap().len() > 0
        })
        .count()
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
    // #3's mail (and its update), and #5's police notice, still owed at the journal's end.
    assert_eq!(failed_rows.len(), 3, "{failed}");
    assert!(
        failed_rows[..2]
            .iter()
            .all(|l| l.starts_with("3,security,1,failed,") && l.contains("550 mailbox unavailable")),
        "{failed}"
    );
    assert_eq!(failed_rows[2], "5,arc,2,pending,0,");
    // The centre took #2's alarm 95 s after it was due: late (more than 60 s).
    let late = csv("late-deliveries");
    assert_eq!(
        late.lines().skip(1).collect::<Vec<_>>(),
        ["2,arc,police,2026-11-03 02:15:15,95.0"],
        "{late}"
    );

    // By the highest tier each alarm reached: #3 and #4 were acknowledged (30, 60 s) before
    // the police tier was due at 75 s; #2 (90 s) and #5 (never) reached it.
    for line in [
        "Cấp security: xác nhận,2,30.0,60.0,60.0",
        "Cấp security: xử lý xong,2,120.0,300.0,300.0",
        "Cấp police: xác nhận,1,90.0,90.0,90.0",
        "Cấp police: xử lý xong,1,600.0,600.0,600.0",
    ] {
        assert!(times.contains(line), "{line:?} not in\n{times}");
    }
    let deliveries = csv("deliveries");
    assert!(
        deliveries.contains("arc,Trung tâm giám sát / công an, PCCC,")
            || deliveries.contains("arc,\"Trung tâm giám sát / công an, PCCC\","),
        "{deliveries}"
    );

    // Equipment: the camera lost 2 h of 720 (99.72 %), the centre's primary path 30 min
    // (99.93 %), the broker 10 min (99.98 %); the backup path and the journal never.
    let availability = csv("availability");
    for line in [
        "Camera cổng kho,Camera,99.72,1,7200.0",
        "Đường truyền chính của kênh arc,Đường truyền tới trung tâm,99.93,1,1800.0",
        "Đường truyền dự phòng của kênh arc,Đường truyền tới trung tâm,100.00,0,0.0",
        "Nhật ký (ghi được),Nhật ký,100.00,0,0.0",
        "Máy chủ MQTT cục bộ,Máy chủ MQTT,99.98,1,600.0",
    ] {
        assert!(
            availability.contains(line),
            "{line:?} not in\n{availability}"
        );
    }
    let outages: Vec<String> = csv("longest-outages")
        .lines()
        .skip(1)
        .map(|l| l.split(',').skip(1).collect::<Vec<_>>().join(","))
        .collect();
    assert_eq!(
        outages,
        [
            "Camera cổng kho,380,2026-11-07 01:00:00,2026-11-07 03:00:00,7200.0",
            "Đường truyền chính của kênh arc,350,2026-11-12 14:00:00,2026-11-12 14:30:00,1800.0",
            "Máy chủ MQTT cục bộ,330,2026-11-05 08:00:00,2026-11-05 08:10:00,600.0",
        ]
    );
    let batteries = csv("low-batteries");
    assert_eq!(batteries.lines().count(), 2, "{batteries}");
    assert!(
        batteries.contains(",2026-11-08 09:00:00,\r\n"),
        "{batteries}"
    );

    // The warehouse's 22:00–06:00 schedule over the month's 30 nights: on time on
    // 10 Nov, 45 min late on 20 Nov (by binh), missed on the other 28.
    let schedule = csv("arming-schedule");
    let rows: Vec<&str> = schedule.lines().skip(1).collect();
    assert_eq!(rows.len(), 29, "{schedule}");
    assert!(
        rows.contains(&"Kho thành phẩm,22:00-06:00,2026-11-20,2026-11-20 22:15:00,2026-11-20 23:00:00,binh,trễ"),
        "{schedule}"
    );
    assert_eq!(rows.iter().filter(|r| r.ends_with(",bỏ sót")).count(), 28);
    assert!(!rows.iter().any(|r| r.contains(",2026-11-10,")));

    let troubles = csv("troubles");
    assert!(
        troubles
            .lines()
            .any(|l| l.starts_with("330,") && l.contains(",1,1,")),
        "{troubles}"
    );
    // The warehouse was armed from 10 Nov 22:00 to 11 Nov 06:00 and from 20 Nov 23:00 to
    // 21 Nov 06:00: 15 of 720 hours.
    let arming = csv("arming");
    assert!(
        arming.contains("Kho thành phẩm,15.00,2.1%,2,2\r\n"),
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
        "binh,armed,1",
        "binh,disarmed,2",
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

    // The PDF, read back by poppler: every figure a reviewer looks for, in Vietnamese,
    // and every page renders.
    let pdf = out.join(format!("{stem}.pdf"));
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF-"));
    let text = pdf_text(&pdf);
    for figure in [
        "Báo cáo an ninh — Cty TNHH Ví Dụ",
        "Tháng 11/2026",
        "Sự cố thật",
        "Bắt được người lạ, đã báo 113",
        "33.3%",
        "nguyên vẹn",
        "550 mailbox unavailable",
        "Cửa kho B kẹt khóa",
        "Camera cổng kho",
        "99.72%",
        "99.93%",
        "Trung tâm giám sát / công an, PCCC",
        "KHÔNG BẬT",
        "Báo động mỗi ngày, theo loại",
        "Tỉ lệ thời gian hoạt động của thiết bị",
        "trang 1/",
    ] {
        assert!(
            text.contains(figure),
            "{figure:?} not in the PDF's text:\n{text}"
        );
    }
    // Kept under target/screenshots/ for people to look at.
    let pages = render_pdf(
        &pdf,
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/report"),
    );
    assert!(pages >= 2, "{pages} pages");

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
        "Camera cổng kho",
        "99.72%",
        "KHÔNG BẬT",
        // The charts, inline.
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\"",
        "aria-label=\"Báo động mỗi ngày, theo loại\"",
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
        if name.to_string_lossy().ends_with(".pdf") {
            continue;
        }
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
