//! Engine rules, each on tokio's paused clock.

use super::*;
use crate::config;
use std::time::Duration;
use tokio::time::advance;

const SITE: &str = r#"
[site]
name = "Nhà máy thử"

[panel]
siren_limit_s = 180
confirmation_window_s = 600
swinger_limit = 2
abort_window_s = 30
walk_test_timeout_s = 600

[[areas]]
id = "wh"
name = "Kho"
name_en = "Warehouse"
exit_delay_s = 30
entry_delay_s = 20

[[areas]]
id = "yard"
name = "Sân"
exit_delay_s = 0

[[zones]]
id = "door"
name = "Cửa kho"
name_en = "Warehouse door"
area = "wh"
type = "entry_exit"

[[zones]]
id = "hall"
name = "Hành lang"
area = "wh"
type = "interior_follower"

[[zones]]
id = "store"
name = "Phòng hàng"
area = "wh"
type = "interior"

[[zones]]
id = "fence"
name = "Hàng rào"
name_en = "Fence"
area = "wh"
type = "perimeter"

[[zones]]
id = "window"
name = "Cửa sổ"
area = "wh"
type = "perimeter"
auto_bypass = true

[[zones]]
id = "night_pir"
name = "PIR ca đêm"
area = "wh"
type = "interior"
armed_modes = ["away", "night"]

[[zones]]
id = "smoke"
name = "Khói kho"
area = "wh"
type = "fire"

[[zones]]
id = "panic"
name = "Nút khẩn"
area = "wh"
type = "panic"

[[zones]]
id = "box"
name = "Tủ điều khiển"
area = "wh"
type = "tamper"

[[zones]]
id = "cage"
name = "Lồng két"
area = "wh"
type = "burglary_24h"

[[zones]]
id = "cage2"
name = "Lồng két 2"
area = "wh"
type = "burglary_24h"

[[zones]]
id = "leak"
name = "Rò nước"
area = "wh"
type = "technical"

[[zones]]
id = "yard_fence"
name = "Rào sân"
area = "yard"
type = "perimeter"

[[zones]]
id = "yard_smoke"
name = "Khói nhà xe"
area = "yard"
type = "fire"

[[sensors]]
id = "door_c"
zone = "door"
kind = "contact"
source = { kind = "simulated" }

[[sensors]]
id = "hall_pir"
zone = "hall"
kind = "motion"
source = { kind = "simulated" }

[[sensors]]
id = "store_pir"
zone = "store"
kind = "motion"
source = { kind = "simulated" }

[[sensors]]
id = "fence_a"
zone = "fence"
kind = "fence"
source = { kind = "simulated" }
supervision_s = 600

[[sensors]]
id = "fence_b"
zone = "fence"
kind = "fence"
source = { kind = "simulated" }

[[sensors]]
id = "window_c"
zone = "window"
kind = "contact"
source = { kind = "simulated" }

[[sensors]]
id = "night_pir"
zone = "night_pir"
kind = "motion"
source = { kind = "simulated" }

[[sensors]]
id = "smoke_1"
zone = "smoke"
kind = "smoke"
source = { kind = "simulated" }

[[sensors]]
id = "panic_1"
zone = "panic"
kind = "panic_button"
source = { kind = "simulated" }

[[sensors]]
id = "box_t"
zone = "box"
kind = "tamper"
source = { kind = "simulated" }

[[sensors]]
id = "cage_c"
zone = "cage"
kind = "contact"
source = { kind = "simulated" }

[[sensors]]
id = "cage2_c"
zone = "cage2"
kind = "contact"
source = { kind = "simulated" }

[[sensors]]
id = "leak_1"
zone = "leak"
kind = "water"
source = { kind = "simulated" }

[[sensors]]
id = "smoke_yard"
zone = "yard_smoke"
kind = "smoke"
source = { kind = "simulated" }

[[sensors]]
id = "yard_f"
zone = "yard_fence"
kind = "fence"
source = { kind = "simulated" }

[[outputs]]
id = "siren"
kind = "siren"

[[outputs]]
id = "strobe"
kind = "strobe"
areas = ["wh"]

[[outputs]]
id = "fault"
kind = "fault_led"
"#;

const T0: Timestamp = Timestamp(1_763_700_000_000);

fn engine() -> Engine<TokioClock> {
    let config = config::parse_str(SITE).expect("test site is valid");
    Engine::new(
        Arc::new(Site::from_config(&config)),
        TokioClock::starting_at(T0),
    )
}

fn actor(user: &str, role: Role, duress: bool) -> Actor {
    Actor {
        user: user.to_string(),
        role,
        duress,
        origin: Origin::Keypad,
        number: Some(7),
        address: None,
    }
}

fn guard() -> Actor {
    actor("an", Role::Guard, false)
}

fn supervisor() -> Actor {
    actor("binh", Role::Supervisor, false)
}

fn cmd(e: &mut Engine<TokioClock>, kind: CommandKind, by: Actor) -> Outcome {
    e.handle(Input::Command(Command { kind, actor: by }))
}

fn arm(e: &mut Engine<TokioClock>, area: &str, mode: Mode) -> Outcome {
    cmd(
        e,
        CommandKind::Arm {
            area: area.into(),
            mode,
            force: false,
        },
        guard(),
    )
}

fn disarm(e: &mut Engine<TokioClock>, area: &str, by: Actor) -> Outcome {
    cmd(e, CommandKind::Disarm { area: area.into() }, by)
}

fn ack(e: &mut Engine<TokioClock>, alarm: AlarmId) -> Outcome {
    cmd(
        e,
        CommandKind::Acknowledge {
            alarm,
            note: String::new(),
        },
        guard(),
    )
}

fn set(e: &mut Engine<TokioClock>, sensor: &str, active: bool) -> Outcome {
    let reading = match sensor {
        s if s.contains("pir") => Reading::Motion { active },
        s if s.starts_with("smoke") => Reading::Smoke { active },
        s if s.starts_with("panic") => Reading::Panic { active },
        s if s.starts_with("leak") => Reading::Water { active },
        s if s.starts_with("fence") || s.starts_with("yard") => Reading::Motion { active },
        _ => Reading::Contact { active },
    };
    e.handle(Input::Observation(Observation {
        sensor: sensor.into(),
        reading,
        source_ref: None,
    }))
}

fn tick(e: &mut Engine<TokioClock>) -> Outcome {
    e.handle(Input::Tick)
}

async fn wait(e: &mut Engine<TokioClock>, secs: u64) -> Outcome {
    advance(Duration::from_secs(secs)).await;
    tick(e)
}

/// Arms the warehouse away and lets the exit delay run out.
async fn armed_away(e: &mut Engine<TokioClock>) {
    arm(e, "wh", Mode::ArmedAway);
    let out = wait(e, 30).await;
    assert!(has(&out, EventKind::Armed), "{:?}", kinds(&out));
}

fn kinds(out: &Outcome) -> Vec<EventKind> {
    out.events.iter().map(|e| e.kind).collect()
}

fn has(out: &Outcome, kind: EventKind) -> bool {
    out.events.iter().any(|e| e.kind == kind)
}

fn raised(out: &Outcome) -> Vec<(ContactId, Option<String>)> {
    out.events
        .iter()
        .filter(|e| e.kind == EventKind::AlarmRaised)
        .map(|e| (e.code.unwrap_or(ContactId(0)), e.zone.clone()))
        .collect()
}

fn output(out: &Outcome, id: &str) -> Option<OutputPattern> {
    out.outputs
        .iter()
        .find(|o| o.output == id)
        .map(|o| o.pattern)
}

// ----- arming ---------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn arming_runs_the_exit_delay_then_reports_closing_401() {
    let mut e = engine();
    let out = arm(&mut e, "wh", Mode::ArmedAway);
    assert!(has(&out, EventKind::ArmingStarted));
    assert!(!has(&out, EventKind::Armed));
    assert_eq!(e.next_deadline(), Some(T0.plus_secs(30)));
    let out = wait(&mut e, 29).await;
    assert!(
        !has(&out, EventKind::Armed),
        "armed before the exit delay ended"
    );
    let out = wait(&mut e, 1).await;
    let armed = out
        .events
        .iter()
        .find(|e| e.kind == EventKind::Armed)
        .expect("armed");
    assert_eq!(armed.code, Some(ContactId(401)));
    assert_eq!(armed.qualifier, Qualifier::Restore);
    assert_eq!(armed.user.as_deref(), Some("an"));
    assert_eq!(armed.area.as_deref(), Some("wh"));
    // The centre hears the area's number as the group and the user's as the zone.
    assert_eq!((armed.area_number, armed.zone_number), (Some(1), Some(7)));
}

#[tokio::test(start_paused = true)]
async fn openings_and_closings_carry_the_code_of_how_and_the_user_number() {
    // (origin, mode armed) → (closing code, opening code)
    for (origin, mode, closing, opening) in [
        (Origin::Keypad, Mode::ArmedAway, 401, 401),
        (Origin::Keypad, Mode::ArmedNight, 441, 401),
        (Origin::Page, Mode::ArmedAway, 407, 407),
        (Origin::Mqtt, Mode::ArmedHome, 441, 407),
        (Origin::Sms, Mode::ArmedAway, 407, 407),
        (Origin::Keyswitch, Mode::ArmedAway, 409, 409),
        (Origin::Keyswitch, Mode::ArmedHome, 409, 409),
    ] {
        let mut e = engine();
        let by = Actor {
            origin,
            number: Some(12),
            address: None,
            ..guard()
        };
        let kind = CommandKind::Arm {
            area: "yard".into(),
            mode,
            force: false,
        };
        let out = cmd(&mut e, kind, by.clone());
        let armed = out.events.iter().find(|e| e.kind == EventKind::Armed);
        let armed = armed.unwrap_or_else(|| panic!("{origin:?}: {:?}", kinds(&out)));
        assert_eq!(armed.code, Some(ContactId(closing)), "{origin:?} {mode:?}");
        assert_eq!((armed.area_number, armed.zone_number), (Some(2), Some(12)));
        let out = disarm(&mut e, "yard", by);
        let disarmed = out.events.iter().find(|e| e.kind == EventKind::Disarmed);
        let disarmed = disarmed.expect("disarmed");
        assert_eq!(disarmed.code, Some(ContactId(opening)), "{origin:?}");
        assert_eq!(disarmed.qualifier, Qualifier::New);
        assert_eq!(disarmed.zone_number, Some(12));
    }
}

#[tokio::test(start_paused = true)]
async fn armed_home_and_night_report_441_without_exit_delay_when_zero() {
    let mut e = engine();
    let out = arm(&mut e, "yard", Mode::ArmedNight);
    let armed = out
        .events
        .iter()
        .find(|e| e.kind == EventKind::Armed)
        .expect("armed at once");
    assert_eq!(armed.code, Some(ContactId(441)));
}

#[tokio::test(start_paused = true)]
async fn arming_with_an_open_zone_is_refused_and_names_the_zone() {
    let mut e = engine();
    set(&mut e, "store_pir", true);
    let out = arm(&mut e, "wh", Mode::ArmedAway);
    let refusal = out.refused.expect("refused");
    assert!(
        refusal.reason_en.contains("store") || refusal.reason_en.contains("Phòng hàng"),
        "{refusal}"
    );
    assert!(refusal.reason_vi.contains("Phòng hàng"));
    assert_eq!(
        e.areas().find(|a| a.area == "wh").map(|a| a.mode),
        Some(Mode::Disarmed)
    );
    assert!(out.audit[0].result.starts_with("refused"));
}

#[tokio::test(start_paused = true)]
async fn arming_auto_bypasses_zones_that_allow_it_with_570() {
    let mut e = engine();
    set(&mut e, "window_c", true);
    let out = arm(&mut e, "wh", Mode::ArmedAway);
    assert!(out.refused.is_none());
    let bypass = out
        .events
        .iter()
        .find(|e| e.kind == EventKind::Bypassed)
        .expect("bypass");
    assert_eq!(bypass.code, Some(ContactId(570)));
    assert_eq!(bypass.zone.as_deref(), Some("window"));
    wait(&mut e, 30).await;
    set(&mut e, "window_c", false);
    let out = set(&mut e, "window_c", true);
    assert!(raised(&out).is_empty(), "a bypassed zone alarmed");
}

#[tokio::test(start_paused = true)]
async fn supervisor_force_arms_over_open_zones_and_a_guard_cannot() {
    let mut e = engine();
    set(&mut e, "store_pir", true);
    let by_guard = cmd(
        &mut e,
        CommandKind::Arm {
            area: "wh".into(),
            mode: Mode::ArmedAway,
            force: true,
        },
        guard(),
    );
    assert!(by_guard.refused.is_some());
    let out = cmd(
        &mut e,
        CommandKind::Arm {
            area: "wh".into(),
            mode: Mode::ArmedAway,
            force: true,
        },
        supervisor(),
    );
    assert!(out.refused.is_none());
    assert!(
        out.events
            .iter()
            .any(|e| e.kind == EventKind::Bypassed && e.zone.as_deref() == Some("store"))
    );
    assert_eq!(out.audit[0].action, "force_arm");
}

// ----- entry/exit, followers, perimeter, modes --------------------------------------------

#[tokio::test(start_paused = true)]
async fn entry_zone_starts_entry_delay_and_disarm_in_time_prevents_the_alarm() {
    let mut e = engine();
    armed_away(&mut e).await;
    let out = set(&mut e, "door_c", true);
    assert!(has(&out, EventKind::EntryDelayStarted));
    assert!(raised(&out).is_empty());
    let out = wait(&mut e, 19).await;
    assert!(raised(&out).is_empty());
    let out = disarm(&mut e, "wh", guard());
    assert!(has(&out, EventKind::Disarmed));
    let out = wait(&mut e, 60).await;
    assert!(raised(&out).is_empty());
    assert_eq!(e.open_alarms().count(), 0);
}

#[tokio::test(start_paused = true)]
async fn entry_delay_running_out_raises_134() {
    let mut e = engine();
    armed_away(&mut e).await;
    set(&mut e, "door_c", true);
    let out = wait(&mut e, 20).await;
    assert_eq!(raised(&out), vec![(ContactId(134), Some("door".into()))]);
}

#[tokio::test(start_paused = true)]
async fn follower_is_delayed_during_entry_and_instant_otherwise() {
    let mut e = engine();
    armed_away(&mut e).await;
    set(&mut e, "door_c", true);
    let out = set(&mut e, "hall_pir", true);
    assert!(
        raised(&out).is_empty(),
        "follower alarmed during entry delay"
    );
    let out = wait(&mut e, 20).await;
    let codes = raised(&out);
    assert!(codes.contains(&(ContactId(134), Some("door".into()))));
    assert!(codes.contains(&(ContactId(132), Some("hall".into()))));

    let mut e = engine();
    armed_away(&mut e).await;
    let out = set(&mut e, "hall_pir", true);
    assert_eq!(raised(&out), vec![(ContactId(132), Some("hall".into()))]);
}

#[tokio::test(start_paused = true)]
async fn interior_is_instant_even_during_entry_delay() {
    let mut e = engine();
    armed_away(&mut e).await;
    set(&mut e, "door_c", true);
    let out = set(&mut e, "store_pir", true);
    assert_eq!(raised(&out), vec![(ContactId(132), Some("store".into()))]);
}

#[tokio::test(start_paused = true)]
async fn perimeter_is_instant_131() {
    let mut e = engine();
    armed_away(&mut e).await;
    let out = set(&mut e, "fence_a", true);
    assert_eq!(raised(&out), vec![(ContactId(131), Some("fence".into()))]);
    let alarm = &out.alarms[0];
    assert_eq!(alarm.category, Category::Burglary);
    assert!(!alarm.confirmed);
}

#[tokio::test(start_paused = true)]
async fn perimeter_is_live_during_exit_delay_and_the_route_out_is_not() {
    let mut e = engine();
    arm(&mut e, "wh", Mode::ArmedAway);
    let out = set(&mut e, "door_c", true);
    assert!(raised(&out).is_empty() && !has(&out, EventKind::EntryDelayStarted));
    set(&mut e, "door_c", false);
    assert!(raised(&set(&mut e, "store_pir", true)).is_empty());
    set(&mut e, "store_pir", false);
    assert_eq!(
        raised(&set(&mut e, "fence_a", true)),
        vec![(ContactId(131), Some("fence".into()))]
    );
}

#[tokio::test(start_paused = true)]
async fn door_left_open_at_end_of_exit_delay_gives_exit_error_then_entry_alarm() {
    let mut e = engine();
    arm(&mut e, "wh", Mode::ArmedAway);
    set(&mut e, "door_c", true);
    let out = wait(&mut e, 30).await;
    let exit_error = out
        .events
        .iter()
        .find(|e| e.kind == EventKind::ExitError)
        .expect("374");
    assert_eq!(exit_error.code, Some(ContactId(374)));
    assert!(has(&out, EventKind::EntryDelayStarted));
    let out = wait(&mut e, 20).await;
    assert_eq!(raised(&out), vec![(ContactId(134), Some("door".into()))]);
}

#[tokio::test(start_paused = true)]
async fn which_zones_are_live_in_home_and_night_is_per_zone() {
    let mut e = engine();
    arm(&mut e, "wh", Mode::ArmedHome);
    wait(&mut e, 30).await;
    assert!(
        raised(&set(&mut e, "store_pir", true)).is_empty(),
        "interior live in home"
    );
    assert!(
        raised(&set(&mut e, "night_pir", true)).is_empty(),
        "night zone live in home"
    );
    assert_eq!(
        raised(&set(&mut e, "fence_a", true)).len(),
        1,
        "perimeter not live in home"
    );

    let mut e = engine();
    arm(&mut e, "wh", Mode::ArmedNight);
    wait(&mut e, 30).await;
    assert!(raised(&set(&mut e, "store_pir", true)).is_empty());
    assert_eq!(
        raised(&set(&mut e, "night_pir", true)),
        vec![(ContactId(132), Some("night_pir".into()))]
    );
}

// ----- 24-hour zones ----------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn twenty_four_hour_zones_alarm_while_disarmed() {
    let mut e = engine();
    assert_eq!(
        raised(&set(&mut e, "smoke_1", true)),
        vec![(ContactId(111), Some("smoke".into()))]
    );
    assert_eq!(
        raised(&set(&mut e, "panic_1", true)),
        vec![(ContactId(120), Some("panic".into()))]
    );
    assert_eq!(
        raised(&set(&mut e, "box_t", true)),
        vec![(ContactId(137), Some("box".into()))]
    );
    assert_eq!(
        raised(&set(&mut e, "cage_c", true)),
        vec![(ContactId(133), Some("cage".into()))]
    );
    assert_eq!(
        raised(&set(&mut e, "leak_1", true)),
        vec![(ContactId(154), Some("leak".into()))]
    );
    let categories: BTreeSet<Category> = e.open_alarms().map(|a| a.category).collect();
    assert_eq!(
        categories,
        BTreeSet::from([
            Category::Fire,
            Category::Panic,
            Category::Tamper,
            Category::Burglary,
            Category::Technical
        ])
    );
}

#[tokio::test(start_paused = true)]
async fn sensor_tamper_alarms_144_in_any_mode() {
    let mut e = engine();
    let out = e.handle(Input::Observation(Observation {
        sensor: "store_pir".into(),
        reading: Reading::Tamper { active: true },
        source_ref: None,
    }));
    assert_eq!(raised(&out), vec![(ContactId(144), Some("store".into()))]);
}

/// Seen in the field: a camera turned away (144) in a zone with an open intrusion alarm
/// was folded into that alarm as "tamper (again)", and the centre never heard 1144. A
/// different code is a different report; only the same code in the same zone retriggers.
#[tokio::test(start_paused = true)]
async fn a_tamper_in_a_zone_with_an_open_intrusion_alarm_is_an_alarm_of_its_own() {
    let mut e = engine();
    armed_away(&mut e).await;
    let intrusion = set(&mut e, "store_pir", true);
    let (code, _) = raised(&intrusion)[0].clone();
    assert_eq!(code.category(), Category::Burglary);
    let tamper = e.handle(Input::Observation(Observation {
        sensor: "store_pir".into(),
        reading: Reading::Tamper { active: true },
        source_ref: None,
    }));
    assert_eq!(
        raised(&tamper),
        vec![(ContactId(144), Some("store".into()))]
    );
    assert!(
        !has(&tamper, EventKind::AlarmRetriggered),
        "{:?}",
        kinds(&tamper)
    );
    assert_eq!(e.open_alarms().count(), 2);
    assert!(
        tamper
            .escalations
            .iter()
            .any(|esc| esc.trigger == EscalationTrigger::Raised),
        "the tamper is escalated on its own"
    );
    // The same code in the same zone again retriggers its own alarm.
    set(&mut e, "store_pir", false);
    let again = set(&mut e, "store_pir", true);
    assert!(
        has(&again, EventKind::AlarmRetriggered),
        "{:?}",
        kinds(&again)
    );
    assert_eq!(
        again
            .events
            .iter()
            .find(|e| e.kind == EventKind::AlarmRetriggered)
            .and_then(|e| e.code),
        Some(code)
    );
    assert_eq!(e.open_alarms().count(), 2);
}

#[tokio::test(start_paused = true)]
async fn panic_is_silent_and_fire_sounds_temporal_three() {
    let mut e = engine();
    let out = set(&mut e, "panic_1", true);
    assert!(out.alarms[0].silent);
    assert_eq!(
        output(&out, "siren"),
        None,
        "a silent panic changed the siren"
    );
    let out = set(&mut e, "smoke_1", true);
    assert_eq!(output(&out, "siren"), Some(OutputPattern::Temporal3));
}

#[tokio::test(start_paused = true)]
async fn a_fire_anywhere_sounds_every_siren_and_lights_every_strobe_for_evacuation() {
    let mut e = engine();
    // The strobe serves the warehouse only; an intrusion in the yard leaves it dark ...
    arm(&mut e, "yard", Mode::ArmedAway);
    let out = set(&mut e, "yard_f", true);
    assert_eq!(output(&out, "strobe"), None, "{:?}", out.outputs);
    // ... but a fire in the yard is everyone's: evacuate.
    let out = set(&mut e, "smoke_yard", true);
    assert_eq!(output(&out, "siren"), Some(OutputPattern::Temporal3));
    assert_eq!(output(&out, "strobe"), Some(OutputPattern::Steady));
}

// ----- sirens and the alarm life --------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn siren_stops_at_the_limit_but_the_alarm_stays_open_until_ack_and_resolve() {
    let mut e = engine();
    armed_away(&mut e).await;
    let out = set(&mut e, "fence_a", true);
    assert_eq!(output(&out, "siren"), Some(OutputPattern::Steady));
    assert_eq!(output(&out, "strobe"), Some(OutputPattern::Steady));
    let id = out.alarms[0].id;
    let out = wait(&mut e, 179).await;
    assert_eq!(output(&out, "siren"), None);
    let out = wait(&mut e, 1).await;
    assert_eq!(output(&out, "siren"), Some(OutputPattern::Off));
    assert!(has(&out, EventKind::SirenTimeout));
    assert_eq!(e.open_alarms().count(), 1);

    let early = cmd(
        &mut e,
        CommandKind::Resolve {
            alarm: id,
            resolution: Resolution::False,
            note: String::new(),
        },
        guard(),
    );
    assert!(early.refused.is_some(), "resolved before acknowledgement");
    let out = cmd(
        &mut e,
        CommandKind::Acknowledge {
            alarm: id,
            note: "kiểm tra".into(),
        },
        guard(),
    );
    assert_eq!(out.alarms[0].state, AlarmState::Acknowledged);
    assert_eq!(out.alarms[0].acknowledged_by.as_deref(), Some("an"));
    assert_eq!(output(&out, "strobe"), Some(OutputPattern::Off));
    assert!(
        cmd(
            &mut e,
            CommandKind::Acknowledge {
                alarm: id,
                note: String::new()
            },
            guard()
        )
        .refused
        .is_some()
    );
    let out = cmd(
        &mut e,
        CommandKind::Resolve {
            alarm: id,
            resolution: Resolution::Real,
            note: "cắt rào".into(),
        },
        guard(),
    );
    assert_eq!(out.alarms[0].state, AlarmState::Resolved);
    assert_eq!(out.alarms[0].resolution, Some(Resolution::Real));
    assert_eq!(e.open_alarms().count(), 0);
}

#[tokio::test(start_paused = true)]
async fn acknowledging_silences_the_siren() {
    let mut e = engine();
    let out = set(&mut e, "smoke_1", true);
    let id = out.alarms[0].id;
    let out = cmd(
        &mut e,
        CommandKind::Acknowledge {
            alarm: id,
            note: String::new(),
        },
        guard(),
    );
    assert_eq!(output(&out, "siren"), Some(OutputPattern::Off));
}

// ----- confirmation -----------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn second_detector_in_the_area_within_the_window_confirms() {
    let mut e = engine();
    armed_away(&mut e).await;
    let first = set(&mut e, "fence_a", true);
    assert!(!first.alarms[0].confirmed);
    advance(Duration::from_secs(300)).await;
    let out = set(&mut e, "store_pir", true);
    let confirmations: Vec<&Event> = out
        .events
        .iter()
        .filter(|e| e.kind == EventKind::AlarmConfirmed)
        .collect();
    assert_eq!(confirmations.len(), 2, "{:?}", kinds(&out));
    assert!(confirmations.iter().all(|c| c.code == Some(ContactId(139))));
    assert!(e.open_alarms().all(|a| a.confirmed));
    assert!(
        out.escalations
            .iter()
            .any(|x| x.trigger == EscalationTrigger::Confirmed && x.alarm == first.alarms[0].id)
    );
}

#[tokio::test(start_paused = true)]
async fn the_same_detector_twice_does_not_confirm() {
    let mut e = engine();
    armed_away(&mut e).await;
    set(&mut e, "fence_a", true);
    set(&mut e, "fence_a", false);
    let out = set(&mut e, "fence_a", true);
    assert!(!has(&out, EventKind::AlarmConfirmed));
    assert!(e.open_alarms().all(|a| !a.confirmed));
}

#[tokio::test(start_paused = true)]
async fn a_second_detector_outside_the_window_does_not_confirm() {
    let mut e = engine();
    armed_away(&mut e).await;
    set(&mut e, "fence_a", true);
    advance(Duration::from_secs(601)).await;
    let out = set(&mut e, "store_pir", true);
    assert!(!has(&out, EventKind::AlarmConfirmed));
    assert!(e.open_alarms().all(|a| !a.confirmed));
}

#[tokio::test(start_paused = true)]
async fn two_24_hour_zones_of_a_disarmed_area_do_not_confirm_each_other() {
    let mut e = engine();
    set(&mut e, "cage_c", true);
    let out = set(&mut e, "cage2_c", true);
    assert_eq!(raised(&out), vec![(ContactId(133), Some("cage2".into()))]);
    assert!(!has(&out, EventKind::AlarmConfirmed), "{:?}", kinds(&out));
    assert!(e.open_alarms().all(|a| !a.confirmed));
}

#[tokio::test(start_paused = true)]
async fn acknowledged_24_hour_alarms_are_not_confirmed_by_an_armed_intrusion() {
    let mut e = engine();
    armed_away(&mut e).await;
    for _ in 0..3 {
        set(&mut e, "cage_c", true);
        set(&mut e, "cage_c", false);
        let id = e.open_alarms().map(|a| a.id).max().unwrap();
        ack(&mut e, id);
    }
    set(&mut e, "fence_a", true);
    let out = set(&mut e, "store_pir", true);
    // The two armed detectors confirm each other, and nothing else.
    let confirmed: Vec<Option<String>> = out
        .events
        .iter()
        .filter(|e| e.kind == EventKind::AlarmConfirmed)
        .map(|e| e.zone.clone())
        .collect();
    assert_eq!(
        confirmed,
        vec![Some("fence".into()), Some("store".into())],
        "{:?}",
        kinds(&out)
    );
    assert!(
        e.open_alarms()
            .filter(|a| a.zone.as_deref() == Some("cage"))
            .all(|a| !a.confirmed)
    );
}

#[tokio::test(start_paused = true)]
async fn a_resolved_alarm_is_never_confirmed_and_does_not_confirm() {
    let mut e = engine();
    armed_away(&mut e).await;
    let first = set(&mut e, "fence_a", true).alarms[0].id;
    ack(&mut e, first);
    cmd(
        &mut e,
        CommandKind::Resolve {
            alarm: first,
            resolution: Resolution::False,
            note: String::new(),
        },
        guard(),
    );
    let out = set(&mut e, "store_pir", true);
    assert!(!has(&out, EventKind::AlarmConfirmed), "{:?}", kinds(&out));
    assert!(e.open_alarms().all(|a| !a.confirmed));
}

// ----- restores ---------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_zone_restore_is_one_event_whatever_the_number_of_open_alarms() {
    // A tamper zone, which swinger shutdown never takes, so every trip is an alarm.
    let mut e = engine();
    let mut restores = 0;
    for round in 1..=20 {
        set(&mut e, "box_t", true);
        let out = set(&mut e, "box_t", false);
        let these: Vec<&Event> = out
            .events
            .iter()
            .filter(|e| e.kind == EventKind::AlarmZoneRestored)
            .collect();
        assert_eq!(these.len(), 1, "round {round}: {:?}", kinds(&out));
        assert_eq!(these[0].code, Some(ContactId(137)));
        restores += these.len();
        // Acknowledged but not resolved: the next trip is a new alarm.
        let id = e.open_alarms().map(|a| a.id).max().unwrap();
        ack(&mut e, id);
    }
    assert_eq!(restores, 20);
    assert_eq!(e.open_alarms().count(), 20);
}

// ----- swinger --------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn swinger_shutdown_never_takes_panic_tamper_or_technical_zones() {
    let mut e = engine();
    // Past the limit of 2, disarmed all along.
    for press in 1..=5 {
        let out = set(&mut e, "panic_1", true);
        assert!(
            has(&out, EventKind::AlarmRaised) || has(&out, EventKind::AlarmRetriggered),
            "press {press}: {:?}",
            kinds(&out)
        );
        assert!(!has(&out, EventKind::Bypassed), "press {press}");
        set(&mut e, "panic_1", false);
        for sensor in ["box_t", "leak_1"] {
            let out = set(&mut e, sensor, true);
            assert!(!has(&out, EventKind::Bypassed), "{sensor} {press}");
            set(&mut e, sensor, false);
        }
    }
    assert!(!e.areas().any(|a| a.bypassed.contains_key("panic")));
}

/// What was seen (a camera's motion on a 24-hour fence, from the README alone): the centre
/// heard the alarm once and then a restore for every later crossing, each new crossing
/// untold. A zone tripped again after it was back to normal is a report again; tripped by
/// a second sensor while the first still holds it, it stays one.
#[tokio::test(start_paused = true)]
async fn a_zone_tripped_again_after_its_restore_is_reported_again_while_held_it_is_not() {
    let config = config::parse_str(&SITE.replace("swinger_limit = 2", "swinger_limit = 10"))
        .expect("test site is valid");
    let mut e = Engine::new(
        Arc::new(Site::from_config(&config)),
        TokioClock::starting_at(T0),
    );
    armed_away(&mut e).await;
    let first = set(&mut e, "fence_a", true);
    assert!(has(&first, EventKind::AlarmRaised), "{:?}", kinds(&first));
    let id = first.alarms[0].id;
    let held = set(&mut e, "fence_b", true);
    assert!(
        has(&held, EventKind::AlarmRetriggered),
        "{:?}",
        kinds(&held)
    );
    assert!(
        held.retriggered_after_restore.is_empty(),
        "the zone was still held"
    );
    assert!(!has(
        &set(&mut e, "fence_a", false),
        EventKind::AlarmZoneRestored
    ));
    assert!(has(
        &set(&mut e, "fence_b", false),
        EventKind::AlarmZoneRestored
    ));
    let again = set(&mut e, "fence_a", true);
    assert!(
        has(&again, EventKind::AlarmRetriggered),
        "{:?}",
        kinds(&again)
    );
    assert_eq!(again.retriggered_after_restore, [id]);
    assert_eq!(
        e.open_alarms().count(),
        1,
        "still one alarm, reported again"
    );
}

#[tokio::test(start_paused = true)]
async fn swinger_zone_is_bypassed_after_the_limit() {
    let mut e = engine();
    armed_away(&mut e).await;
    let mut alarm_events = 0;
    for _ in 0..2 {
        let out = set(&mut e, "fence_b", true);
        alarm_events += out
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::AlarmRaised | EventKind::AlarmRetriggered))
            .count();
        set(&mut e, "fence_b", false);
    }
    assert_eq!(alarm_events, 2);
    let out = set(&mut e, "fence_b", true);
    let bypass = out
        .events
        .iter()
        .find(|e| e.kind == EventKind::Bypassed)
        .expect("swinger bypass");
    assert_eq!(bypass.code, Some(ContactId(570)));
    assert!(bypass.message_en.contains("swinger"));
    assert!(!has(&out, EventKind::AlarmRetriggered));
    set(&mut e, "fence_b", false);
    assert!(
        set(&mut e, "fence_b", true)
            .events
            .iter()
            .all(|e| e.kind == EventKind::SensorChanged)
    );
    // A new arming period starts clean.
    disarm(&mut e, "wh", guard());
    set(&mut e, "fence_b", false);
    armed_away(&mut e).await;
    let out = set(&mut e, "fence_b", true);
    assert!(has(&out, EventKind::AlarmRetriggered) || has(&out, EventKind::AlarmRaised));
}

// ----- supervision and troubles ------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn unheard_sensor_raises_381_at_its_interval_and_restores_when_heard() {
    let mut e = engine();
    set(&mut e, "fence_a", false);
    assert_eq!(e.next_deadline(), Some(T0.plus_secs(600)));
    let out = wait(&mut e, 599).await;
    assert!(!has(&out, EventKind::Trouble));
    let out = wait(&mut e, 1).await;
    let trouble = out
        .events
        .iter()
        .find(|e| e.kind == EventKind::Trouble)
        .expect("381");
    assert_eq!(trouble.code, Some(ContactId(381)));
    assert_eq!(trouble.sensor.as_deref(), Some("fence_a"));
    assert_eq!(output(&out, "fault"), Some(OutputPattern::Steady));
    let out = e.handle(Input::Observation(Observation {
        sensor: "fence_a".into(),
        reading: Reading::Heartbeat,
        source_ref: None,
    }));
    let restore = out
        .events
        .iter()
        .find(|e| e.kind == EventKind::TroubleRestored)
        .expect("restore");
    assert_eq!(
        (restore.code, restore.qualifier),
        (Some(ContactId(381)), Qualifier::Restore)
    );
}

#[tokio::test(start_paused = true)]
async fn heartbeat_only_updates_last_seen() {
    let mut e = engine();
    advance(Duration::from_secs(5)).await;
    let out = e.handle(Input::Observation(Observation {
        sensor: "fence_a".into(),
        reading: Reading::Heartbeat,
        source_ref: None,
    }));
    assert!(!out.changes_state());
    assert_eq!(out.seen, vec![("fence_a".to_string(), T0.plus_secs(5))]);
    assert_eq!(e.next_deadline(), Some(T0.plus_secs(605)));
    let repeat = set(&mut e, "fence_a", false);
    assert!(
        !repeat.changes_state(),
        "a repeated reading was journaled as a change"
    );
}

#[tokio::test(start_paused = true)]
async fn low_battery_is_302_and_offline_is_381() {
    let mut e = engine();
    let out = e.handle(Input::Observation(Observation {
        sensor: "door_c".into(),
        reading: Reading::Battery {
            low: true,
            percent: Some(8),
        },
        source_ref: None,
    }));
    assert_eq!(out.events[0].code, Some(ContactId(302)));
    assert_eq!(out.events[0].kind, EventKind::Trouble);
    let out = e.handle(Input::Observation(Observation {
        sensor: "door_c".into(),
        reading: Reading::Battery {
            low: false,
            percent: Some(90),
        },
        source_ref: None,
    }));
    assert_eq!(
        (out.events[0].code, out.events[0].qualifier),
        (Some(ContactId(302)), Qualifier::Restore)
    );
    let out = e.handle(Input::Observation(Observation {
        sensor: "door_c".into(),
        reading: Reading::Availability { online: false },
        source_ref: None,
    }));
    assert_eq!(out.events[0].code, Some(ContactId(381)));
}

// ----- duress and cancel --------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn duress_code_disarms_and_raises_a_silent_121_without_cancel() {
    let mut e = engine();
    armed_away(&mut e).await;
    set(&mut e, "fence_a", true);
    let out = disarm(&mut e, "wh", actor("an", Role::Guard, true));
    assert!(out.refused.is_none());
    assert!(has(&out, EventKind::Disarmed));
    let duress = out
        .alarms
        .iter()
        .find(|a| a.code == ContactId(121))
        .expect("duress alarm");
    assert!(duress.silent);
    assert_eq!(duress.category, Category::Duress);
    assert!(
        !has(&out, EventKind::AlarmCancelled),
        "duress must not cancel"
    );
    assert!(
        out.escalations
            .iter()
            .all(|x| x.trigger != EscalationTrigger::Cancelled)
    );
}

#[tokio::test(start_paused = true)]
async fn disarm_inside_the_abort_window_cancels_406_and_after_it_does_not() {
    let mut e = engine();
    armed_away(&mut e).await;
    set(&mut e, "fence_a", true);
    advance(Duration::from_secs(10)).await;
    let out = disarm(&mut e, "wh", guard());
    let cancel = out
        .events
        .iter()
        .find(|e| e.kind == EventKind::AlarmCancelled)
        .expect("406");
    assert_eq!(cancel.code, Some(ContactId(406)));
    assert!(out.alarms.iter().any(|a| a.cancelled));
    assert!(
        out.escalations
            .iter()
            .any(|x| x.trigger == EscalationTrigger::Cancelled)
    );

    let mut e = engine();
    armed_away(&mut e).await;
    set(&mut e, "fence_a", true);
    advance(Duration::from_secs(31)).await;
    let out = disarm(&mut e, "wh", guard());
    assert!(!has(&out, EventKind::AlarmCancelled));
}

// ----- walk test ------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn walk_test_records_triggers_without_alarms_and_lists_untested_zones() {
    let mut e = engine();
    let out = cmd(
        &mut e,
        CommandKind::WalkTest {
            area: "wh".into(),
            on: true,
        },
        guard(),
    );
    assert_eq!(out.events[0].code, Some(ContactId(607)));
    let before = e.untested_zones("wh");
    assert!(before.contains(&"door".to_string()) && !before.contains(&"smoke".to_string()));
    let out = set(&mut e, "door_c", true);
    assert!(has(&out, EventKind::WalkTestTrigger));
    assert!(raised(&out).is_empty());
    let out = set(&mut e, "panic_1", true);
    assert!(raised(&out).is_empty(), "panic alarmed during walk test");
    let untested = e.untested_zones("wh");
    assert!(!untested.contains(&"door".to_string()) && !untested.contains(&"panic".to_string()));
    assert!(untested.contains(&"fence".to_string()));
    let out = set(&mut e, "smoke_1", true);
    assert_eq!(raised(&out).len(), 1, "fire must alarm during a walk test");
    let out = cmd(
        &mut e,
        CommandKind::WalkTest {
            area: "wh".into(),
            on: false,
        },
        guard(),
    );
    let end = out
        .events
        .iter()
        .find(|e| e.kind == EventKind::WalkTestEnded)
        .expect("end");
    assert!(
        end.message_en.contains("not tested") && end.message_en.contains("Fence"),
        "{}",
        end.message_en
    );
}

#[tokio::test(start_paused = true)]
async fn walk_test_ends_by_itself() {
    let mut e = engine();
    cmd(
        &mut e,
        CommandKind::WalkTest {
            area: "wh".into(),
            on: true,
        },
        guard(),
    );
    let out = wait(&mut e, 600).await;
    assert!(has(&out, EventKind::WalkTestEnded));
    assert_eq!(raised(&set(&mut e, "cage_c", true)).len(), 1);
}

// ----- bypass command, events ------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn manual_bypass_needs_a_supervisor_and_ends_at_disarm() {
    let mut e = engine();
    assert!(
        cmd(
            &mut e,
            CommandKind::Bypass {
                zone: "fence".into(),
                on: true
            },
            guard()
        )
        .refused
        .is_some()
    );
    let out = cmd(
        &mut e,
        CommandKind::Bypass {
            zone: "fence".into(),
            on: true,
        },
        supervisor(),
    );
    assert_eq!(out.events[0].code, Some(ContactId(570)));
    armed_away(&mut e).await;
    assert!(raised(&set(&mut e, "fence_a", true)).is_empty());
    let out = disarm(&mut e, "wh", guard());
    assert!(
        out.events
            .iter()
            .any(|e| e.kind == EventKind::BypassRemoved && e.qualifier == Qualifier::Restore)
    );
}

#[tokio::test(start_paused = true)]
async fn every_event_carries_category_code_place_time_and_both_languages() {
    let mut e = engine();
    armed_away(&mut e).await;
    advance(Duration::from_secs(7)).await;
    let out = set(&mut e, "fence_a", true);
    let alarm = out
        .events
        .iter()
        .find(|e| e.kind == EventKind::AlarmRaised)
        .expect("alarm");
    assert_eq!(alarm.category, Category::Burglary);
    assert_eq!(alarm.code, Some(ContactId(131)));
    assert_eq!(alarm.area.as_deref(), Some("wh"));
    assert_eq!(alarm.zone.as_deref(), Some("fence"));
    assert_eq!(alarm.zone_number, Some(4));
    assert_eq!(alarm.sensor.as_deref(), Some("fence_a"));
    assert_eq!(alarm.at, T0.plus_secs(37));
    assert!(
        alarm.message_vi.contains("Hàng rào") && alarm.message_vi.contains("Đột nhập vành đai")
    );
    assert!(alarm.message_en.contains("Fence") && alarm.message_en.contains("Perimeter burglary"));
    for event in &out.events {
        assert!(!event.message_vi.is_empty() && !event.message_en.is_empty());
    }
}

#[tokio::test(start_paused = true)]
async fn unknown_sensor_is_refused_without_state_change() {
    let mut e = engine();
    let out = set(&mut e, "ghost", true);
    assert!(out.refused.is_some());
    assert!(!out.changes_state());
}

#[tokio::test(start_paused = true)]
async fn a_restored_engine_continues_where_it_stopped() {
    let mut e = engine();
    arm(&mut e, "wh", Mode::ArmedAway);
    let out = set(&mut e, "smoke_1", true);
    let snapshot = Snapshot {
        areas: e.areas().cloned().collect(),
        sensors: e.sensors().cloned().collect(),
        open_alarms: e.open_alarms().cloned().collect(),
        next_alarm: e.next_alarm_id(),
    };
    let site = e.site().clone();
    let mut e2 = Engine::restore(site, TokioClock::starting_at(T0), snapshot);
    assert_eq!(
        e2.open_alarms().next().map(|a| a.id),
        Some(out.alarms[0].id)
    );
    let out = wait(&mut e2, 30).await;
    assert!(
        has(&out, EventKind::Armed),
        "exit delay did not survive the restart"
    );
    let next = set(&mut e2, "fence_a", true);
    assert_eq!(
        next.alarms[0].id,
        out.alarms.first().map(|a| a.id).unwrap_or(2).max(2)
    );
}

// ----- evidence ---------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn evidence_written_and_deleted_is_history_with_its_fingerprint() {
    let mut e = engine();
    armed_away(&mut e).await;
    let alarm = set(&mut e, "fence_a", true).alarms[0].id;
    let sha = "ab".repeat(32);
    let note = EvidenceNote {
        alarm,
        camera: "gate".into(),
        kind: EvidenceKind::Clip,
        file: "alarm-1.mp4".into(),
        sha256: sha.clone(),
        bytes: 1234,
        deleted: None,
    };
    let out = e.handle(Input::Evidence(note.clone()));
    assert_eq!(kinds(&out), [EventKind::EvidenceRecorded]);
    let saved = &out.events[0];
    assert_eq!(saved.alarm, Some(alarm));
    assert_eq!((saved.code, saved.qualifier), (None, Qualifier::Status));
    assert_eq!(
        saved.source_ref.as_deref(),
        Some(format!("sha256:{sha}").as_str())
    );
    assert!(
        saved.message_en.contains(&format!("SHA-256 {sha}")) && saved.message_en.contains("clip"),
        "{}",
        saved.message_en
    );
    assert!(
        saved.message_vi.contains("đoạn phim"),
        "{}",
        saved.message_vi
    );
    // Recording evidence changes nothing about the alarm.
    assert!(out.alarms.is_empty() && out.escalations.is_empty());

    let out = e.handle(Input::Evidence(EvidenceNote {
        deleted: Some(("quá 30 ngày".into(), "older than 30 days".into())),
        ..note
    }));
    assert_eq!(kinds(&out), [EventKind::EvidenceDeleted]);
    assert!(out.events[0].message_en.ends_with("older than 30 days"));
    assert!(out.events[0].message_vi.ends_with("quá 30 ngày"));
}
