//! Escalation timing with time moved by the test: the engine and the planner decide, a real
//! journal file holds the outbox. Tiers: guards at once, the security team after 60 s,
//! police after 180 s.
//!
//! Time is a [`ManualClock`] rather than tokio's paused clock: the journal's sqlx pool keeps
//! timers of its own, which a paused runtime auto-advances to whenever it waits for SQLite,
//! so a paused clock would move by itself in the middle of the test.

use picket::engine::{
    Actor, Command, CommandKind, Engine, Input, ManualClock, Mode, Observation, Origin, Reading,
    Role, Site, Timestamp,
};
use picket::escalation::{Planner, Policy, SiteInfo};
use picket::journal::{Delivery, DeliveryState, Journal, Writer};
use std::sync::Arc;
use std::time::Duration;

const T0: i64 = 1_790_000_000_000;

const CONFIG: &str = r#"
[site]
name = "Kho Bình Dương"

[panel]
abort_window_s = 120

[[areas]]
id = "wh"
name = "Kho"
exit_delay_s = 0

[[zones]]
id = "fence_a"
name = "Hàng rào A"
area = "wh"
type = "perimeter"

[[zones]]
id = "fence_b"
name = "Hàng rào B"
area = "wh"
type = "perimeter"

[[sensors]]
id = "a"
zone = "fence_a"
kind = "motion"
source = { kind = "simulated" }

[[sensors]]
id = "b"
zone = "fence_b"
kind = "motion"
source = { kind = "simulated" }

[[channels]]
id = "guards"
type = "webhook"
url = "https://guards.example.vn/hook"
secret = "x"

[[channels]]
id = "security"
type = "email"
host = "mail.example.vn"
from = "picket@example.vn"
to = ["security@example.vn"]

[[channels]]
id = "arc"
type = "sia"
primary = "arc.example.vn:12000"
account = "1234"

[escalation]
tiers = [
  { name = "guards", delay_s = 0, channels = ["guards"] },
  { name = "security", delay_s = 60, channels = ["security"] },
  { name = "police", delay_s = 180, channels = ["arc"] },
]
"#;

/// The guards' webhook is in the police tier too, with the police's own URL.
fn guards_also_tell_the_police() -> String {
    CONFIG
        .replace(
            "url = \"https://guards.example.vn/hook\"\n",
            "url = \"https://guards.example.vn/hook\"\n\
             tier_urls = { police = \"https://police.example.vn/hook\" }\n",
        )
        .replace(
            "delay_s = 180, channels = [\"arc\"]",
            "delay_s = 180, channels = [\"arc\", \"guards\"]",
        )
}

struct Rig {
    engine: Engine<ManualClock>,
    clock: ManualClock,
    writer: Writer,
    journal: Journal,
    _dir: tempfile::TempDir,
}

impl Rig {
    async fn new() -> Rig {
        Rig::with(CONFIG).await
    }

    async fn with(config: &str) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "{config}\n[journal]\npath = \"{}\"\n",
            dir.path().join("j.db").display()
        );
        let config = picket::config::parse_str(&text).unwrap();
        let journal = Journal::open(&config.journal.path).await.unwrap();
        let mut writer = Writer::new(journal.clone()).await.unwrap();
        writer.set_planner(Arc::new(Planner::new(
            Policy::from_config(&config),
            SiteInfo::from_config(&config),
        )));
        let clock = ManualClock::new(Timestamp(T0));
        let engine = Engine::new(Arc::new(Site::from_config(&config)), clock.clone());
        let mut rig = Rig {
            engine,
            clock,
            writer,
            journal,
            _dir: dir,
        };
        rig.command(CommandKind::Arm {
            area: "wh".into(),
            mode: Mode::ArmedAway,
            force: false,
        })
        .await;
        rig
    }

    async fn input(&mut self, input: Input) {
        let outcome = self.engine.handle(input);
        assert!(outcome.refused.is_none(), "{:?}", outcome.refused);
        self.writer.commit(&[&outcome]).await.unwrap();
    }

    async fn command(&mut self, kind: CommandKind) {
        self.input(Input::Command(Command {
            kind,
            actor: Actor {
                user: "lan".into(),
                role: Role::Supervisor,
                duress: false,
                origin: Origin::Page,
                number: Some(7),
                address: None,
            },
        }))
        .await;
    }

    async fn motion(&mut self, sensor: &str) {
        self.input(Input::Observation(Observation {
            sensor: sensor.into(),
            reading: Reading::Motion { active: true },
            source_ref: None,
        }))
        .await;
    }

    /// (channel, code carried, due seconds after T0, state) of every delivery.
    async fn rows(&self) -> Vec<(String, Option<u64>, i64, DeliveryState)> {
        let rows: Vec<Delivery> = self.journal.deliveries(None).await.unwrap();
        rows.into_iter()
            .map(|r| {
                let notice: serde_json::Value = serde_json::from_str(&r.payload_json).unwrap();
                (
                    r.channel,
                    notice["event"]["code"].as_u64(),
                    (r.due_at_ms - T0) / 1000,
                    r.state,
                )
            })
            .collect()
    }
}

use DeliveryState::{Pending, Skipped};

fn row(
    c: &str,
    code: Option<u64>,
    due: i64,
    state: DeliveryState,
) -> (String, Option<u64>, i64, DeliveryState) {
    (c.to_string(), code, due, state)
}

#[tokio::test]
async fn acknowledging_before_the_second_tier_stops_the_later_tiers() {
    let mut rig = Rig::new().await;
    rig.motion("a").await;
    assert_eq!(
        rig.rows().await,
        [
            row("guards", Some(131), 0, Pending),
            row("security", Some(131), 60, Pending),
            row("arc", Some(131), 180, Pending),
        ]
    );
    rig.clock.advance(Duration::from_secs(30));
    rig.command(CommandKind::Acknowledge {
        alarm: 1,
        note: "kiểm tra rồi".into(),
    })
    .await;
    assert_eq!(
        rig.rows().await,
        [
            row("guards", Some(131), 0, Pending),
            row("security", Some(131), 60, Skipped),
            row("arc", Some(131), 180, Skipped),
            // The guards, already told, hear it was acknowledged; nobody else does.
            row("guards", None, 30, Pending),
        ]
    );
}

#[tokio::test]
async fn a_confirmed_intrusion_reaches_the_police_at_once() {
    let mut rig = Rig::new().await;
    rig.motion("a").await;
    rig.clock.advance(Duration::from_secs(10));
    rig.motion("b").await;
    let rows = rig.rows().await;
    // Alarm 1's later tiers are due now, at confirmation ...
    assert_eq!(rows[1], row("security", Some(131), 10, Pending));
    assert_eq!(rows[2], row("arc", Some(131), 10, Pending));
    // ... and everyone told hears the confirmation (139) after the alarm.
    let confirmations: Vec<_> = rows.iter().filter(|r| r.1 == Some(139)).cloned().collect();
    assert!(
        ["guards", "security", "arc"]
            .iter()
            .all(|c| confirmations.iter().any(|r| r.0 == *c && r.2 == 10)),
        "{rows:?}"
    );
}

#[tokio::test]
async fn a_cancel_reaches_everyone_already_told_and_nobody_else() {
    let mut rig = Rig::new().await;
    rig.motion("a").await;
    rig.clock.advance(Duration::from_secs(70));
    rig.command(CommandKind::Disarm { area: "wh".into() }).await;
    assert_eq!(
        rig.rows().await,
        [
            row("guards", Some(131), 0, Pending),
            row("security", Some(131), 60, Pending),
            row("arc", Some(131), 180, Skipped),
            row("guards", Some(406), 70, Pending),
            row("security", Some(406), 70, Pending),
            // The disarm also acknowledged the alarm, as that person: the guards' channel
            // carries status updates and hears it.
            row("guards", None, 70, Pending),
        ]
    );
}

#[tokio::test]
async fn a_tier_with_recipients_of_its_own_is_told_again_and_hears_the_updates() {
    let mut rig = Rig::with(&guards_also_tell_the_police()).await;
    rig.motion("a").await;
    // (the message id after the site and event, tier, event code) of each of its rows
    let told = |rows: &[Delivery]| -> Vec<(String, u32, Option<u64>)> {
        rows.iter()
            .map(|r| {
                let notice: serde_json::Value = serde_json::from_str(&r.payload_json).unwrap();
                let id = r.message_id.rsplit(':').next().unwrap().to_string();
                (id, r.tier, notice["event"]["code"].as_u64())
            })
            .collect()
    };
    let row = |id: &str, tier: u32, code: Option<u64>| (id.to_string(), tier, code);
    assert_eq!(
        told(&rig.journal.deliveries(Some("guards")).await.unwrap()),
        [row("guards", 1, Some(131)), row("guards#3", 3, Some(131))],
        "the police tier's own URL is a recipient of its own"
    );
    rig.clock.advance(Duration::from_secs(200));
    rig.command(CommandKind::Disarm { area: "wh".into() }).await;
    assert_eq!(
        told(&rig.journal.deliveries(Some("guards")).await.unwrap()),
        [
            row("guards", 1, Some(131)),
            row("guards#3", 3, Some(131)),
            // Past the abort window the disarm cancels nothing; both recipients told hear
            // that it acknowledged the alarm.
            row("guards", 1, None),
            row("guards#3", 3, None),
        ]
    );
}

#[tokio::test]
async fn a_tier_with_recipients_of_its_own_not_yet_due_hears_nothing() {
    let mut rig = Rig::with(&guards_also_tell_the_police()).await;
    rig.motion("a").await;
    rig.clock.advance(Duration::from_secs(30));
    rig.command(CommandKind::Disarm { area: "wh".into() }).await;
    let rows = rig.journal.deliveries(Some("guards")).await.unwrap();
    assert_eq!(
        rows[1].state, Skipped,
        "the police tier was not due: {rows:?}"
    );
    assert!(
        rows[2..].iter().all(|r| r.tier == 1),
        "only the guards' URL hears the cancel: {rows:?}"
    );
}

const TAMPER_SITE: &str = r#"
[site]
name = "Kho Bình Dương"

[[areas]]
id = "wh"
name = "Kho"

[[zones]]
id = "box"
name = "Tủ điều khiển"
area = "wh"
type = "tamper"

[[sensors]]
id = "box_t"
zone = "box"
kind = "tamper"
source = { kind = "simulated" }

[[channels]]
id = "arc"
type = "sia"
primary = "arc.example.vn:12000"
account = "1234"

[escalation]
categories.tamper = { at_once = ["arc"] }
"#;

/// What a guard or the lid of the box does next.
#[derive(Debug, Clone)]
enum Step {
    Lid(bool),
    AckNewest,
    ResolveOldest,
    Wait(u64),
}

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        4 => any::<bool>().prop_map(Step::Lid),
        2 => Just(Step::AckNewest),
        1 => Just(Step::ResolveOldest),
        1 => (1..120u64).prop_map(Step::Wait),
    ]
}

/// Runs `steps` on the tamper site with a real journal: (times the zone came back to
/// normal with alarms open, zone restores journaled, restore reports owed to the centre).
async fn restores_journaled_and_owed(steps: &[Step]) -> (usize, usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{TAMPER_SITE}\n[journal]\npath = \"{}\"\n",
        dir.path().join("j.db").display()
    );
    let config = picket::config::parse_str(&text).unwrap();
    let journal = Journal::open(&config.journal.path).await.unwrap();
    let mut writer = Writer::new(journal.clone()).await.unwrap();
    writer.set_planner(Arc::new(Planner::new(
        Policy::from_config(&config),
        SiteInfo::from_config(&config),
    )));
    let clock = ManualClock::new(Timestamp(T0));
    let mut engine = Engine::new(Arc::new(Site::from_config(&config)), clock.clone());
    let guard = Actor {
        user: "lan".into(),
        role: Role::Guard,
        duress: false,
        origin: Origin::Page,
        number: Some(7),
        address: None,
    };
    let (mut lid_open, mut came_back) = (false, 0);
    for step in steps {
        let input = match step {
            Step::Lid(open) => {
                if lid_open && !*open && engine.open_alarms().next().is_some() {
                    came_back += 1;
                }
                lid_open = *open;
                Input::Observation(Observation {
                    sensor: "box_t".into(),
                    reading: Reading::Tamper { active: *open },
                    source_ref: None,
                })
            }
            Step::AckNewest | Step::ResolveOldest => {
                let pick = |a: &&picket::engine::Alarm| match step {
                    Step::AckNewest => a.state == picket::engine::AlarmState::Raised,
                    _ => a.state == picket::engine::AlarmState::Acknowledged,
                };
                let found: Vec<u64> = engine.open_alarms().filter(pick).map(|a| a.id).collect();
                let kind = match (step, found.iter().max(), found.iter().min()) {
                    (Step::AckNewest, Some(&alarm), _) => CommandKind::Acknowledge {
                        alarm,
                        note: String::new(),
                    },
                    (Step::ResolveOldest, _, Some(&alarm)) => CommandKind::Resolve {
                        alarm,
                        resolution: picket::engine::Resolution::False,
                        note: String::new(),
                    },
                    _ => continue,
                };
                Input::Command(Command {
                    kind,
                    actor: guard.clone(),
                })
            }
            Step::Wait(s) => {
                clock.advance(Duration::from_secs(*s));
                Input::Tick
            }
        };
        let outcome = engine.handle(input);
        writer.commit(&[&outcome]).await.unwrap();
    }
    let restores: Vec<(i64,)> =
        sqlx::query_as("SELECT seq FROM events WHERE kind = 'alarm_zone_restored'")
            .fetch_all(journal.pool())
            .await
            .unwrap();
    let owed = journal
        .deliveries(Some("arc"))
        .await
        .unwrap()
        .into_iter()
        .filter(|d| restores.iter().any(|(seq,)| d.event_seq == Some(*seq)))
        .count();
    journal.close().await;
    (came_back, restores.len(), owed)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// However many alarms of a zone are open (raised, acknowledged, some resolved), the
    /// centre is owed exactly one restore report per zone restore the journal holds.
    #[test]
    fn one_restore_report_per_zone_restore_whatever_the_open_alarms(
        steps in proptest::collection::vec(step(), 1..60),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (came_back, journaled, owed) = runtime.block_on(restores_journaled_and_owed(&steps));
        proptest::prop_assert_eq!(journaled, came_back, "steps: {:?}", steps);
        proptest::prop_assert_eq!(owed, came_back, "steps: {:?}", steps);
    }
}
