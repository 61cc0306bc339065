//! GPIO on the simulated backend with tokio's paused clock: debounce, inversion, tamper
//! loops, keyswitches, temporal-3 and steady output patterns, and the siren cap. Off a
//! Raspberry Pi, asking for real GPIO fails with a clear message.

use picket::config;
use picket::engine::{CommandKind, Input, Mode, OutputPattern, Reading};
use picket::gpio::inputs::GpioInputs;
use picket::gpio::simulated::SimulatedGpio;
use picket::gpio::{self, GpioBackend};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{Instant, advance};

const SITE: &str = r#"
[site]
name = "Kho"
[panel]
siren_limit_s = 60
[gpio]
backend = "simulated"
[[gpio.keyswitches]]
pin = 22
area = "wh"
mode = "night"
[[areas]]
id = "wh"
name = "Kho"
[[zones]]
id = "door"
name = "Cửa"
area = "wh"
type = "perimeter"
[[zones]]
id = "panic"
name = "Khẩn"
area = "wh"
type = "panic"
[[sensors]]
id = "door_nc"
zone = "door"
kind = "contact"
source = { kind = "gpio", pin = 17, debounce_ms = 50, tamper_pin = 27 }
[[sensors]]
id = "panic_no"
zone = "panic"
kind = "panic_button"
source = { kind = "gpio", pin = 23, invert = true, debounce_ms = 20 }
[[outputs]]
id = "siren"
kind = "siren"
pin = 18
[[outputs]]
id = "strobe"
kind = "strobe"
pin = 24
active_low = true
"#;

fn setup() -> (SimulatedGpio, GpioInputs, config::Config) {
    let config = config::parse_str(SITE).expect("valid");
    let sim = SimulatedGpio::default();
    let inputs = GpioInputs::open(&sim, &config).expect("inputs");
    (sim, inputs, config)
}

/// The next input, if one arrives by the time the clock has moved `within`.
async fn next(inputs: &mut GpioInputs, within: Duration) -> Option<Input> {
    tokio::time::timeout(within, inputs.next())
        .await
        .ok()
        .flatten()
}

fn reading(input: &Input) -> (&str, &Reading) {
    match input {
        Input::Observation(o) => (o.sensor.as_str(), &o.reading),
        other => panic!("not an observation: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn start_state_is_reported_and_a_bouncing_contact_gives_one_edge_after_debounce() {
    let (sim, mut inputs, _) = setup();
    let start: Vec<_> = inputs.current();
    assert_eq!(start.len(), 3, "door, its tamper loop, panic: {start:?}");
    // Pull-up idle high: a normally-closed loop reads high when open. At rest the loop is
    // closed, i.e. low.
    sim.set_input(17, false);
    sim.set_input(27, false);
    assert_eq!(
        next(&mut inputs, Duration::from_millis(60))
            .await
            .map(|i| reading(&i).1.clone()),
        Some(Reading::Contact { active: false })
    );
    assert_eq!(
        next(&mut inputs, Duration::from_millis(60))
            .await
            .map(|i| reading(&i).1.clone()),
        Some(Reading::Tamper { active: false })
    );

    for (t, level) in [(0, true), (3, false), (7, true), (12, false), (15, true)] {
        let _ = t;
        sim.set_input(17, level);
        advance(Duration::from_millis(3)).await;
    }
    let began = Instant::now();
    let first = next(&mut inputs, Duration::from_millis(100))
        .await
        .expect("an edge");
    assert_eq!(
        reading(&first),
        ("door_nc", &Reading::Contact { active: true })
    );
    assert!(
        Instant::now() - began <= Duration::from_millis(50),
        "reported later than the debounce"
    );
    assert!(
        next(&mut inputs, Duration::from_millis(500))
            .await
            .is_none(),
        "bounces were reported"
    );

    // A glitch shorter than the debounce is not reported at all.
    sim.set_input(17, false);
    advance(Duration::from_millis(10)).await;
    sim.set_input(17, true);
    assert!(
        next(&mut inputs, Duration::from_millis(200))
            .await
            .is_none(),
        "a 10 ms glitch was reported"
    );
}

#[tokio::test(start_paused = true)]
async fn inverted_input_tamper_loop_and_keyswitch() {
    let (sim, mut inputs, _) = setup();
    // Normally-open panic button to ground with a pull-up: pressed pulls low = active.
    sim.set_input(23, false);
    let pressed = next(&mut inputs, Duration::from_millis(30))
        .await
        .expect("press");
    assert_eq!(
        reading(&pressed),
        ("panic_no", &Reading::Panic { active: true })
    );
    sim.set_input(23, true);
    let released = next(&mut inputs, Duration::from_millis(30))
        .await
        .expect("release");
    assert_eq!(
        reading(&released),
        ("panic_no", &Reading::Panic { active: false })
    );

    // The door's tamper loop opens (pull-up → high).
    sim.set_input(27, false);
    next(&mut inputs, Duration::from_millis(60)).await;
    sim.set_input(27, true);
    let tamper = next(&mut inputs, Duration::from_millis(60))
        .await
        .expect("tamper");
    assert_eq!(
        reading(&tamper),
        ("door_nc", &Reading::Tamper { active: true })
    );

    // Keyswitch: turned on arms night, off disarms, as the keyswitch user from a keypad.
    sim.set_input(22, false);
    next(&mut inputs, Duration::from_millis(60)).await;
    sim.set_input(22, true);
    match next(&mut inputs, Duration::from_millis(60))
        .await
        .expect("arm")
    {
        Input::Command(c) => {
            assert_eq!(
                c.kind,
                CommandKind::Arm {
                    area: "wh".into(),
                    mode: Mode::ArmedNight,
                    force: false
                }
            );
            assert_eq!(c.actor.user, "keyswitch");
        }
        other => panic!("{other:?}"),
    }
    sim.set_input(22, false);
    match next(&mut inputs, Duration::from_millis(60))
        .await
        .expect("disarm")
    {
        Input::Command(c) => assert_eq!(c.kind, CommandKind::Disarm { area: "wh".into() }),
        other => panic!("{other:?}"),
    }
}

/// Durations between level changes of an output. (The output tests let the paused clock
/// run with `sleep`, so every timer fires at its own time.)
fn durations(history: &[(Instant, bool)]) -> Vec<(bool, u128)> {
    history
        .windows(2)
        .map(|w| (w[0].1, (w[1].0 - w[0].0).as_millis()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn fire_is_temporal_three_intrusion_is_steady_and_outputs_follow_the_engine() {
    let (sim, _, config) = setup();
    let (tx, rx) = watch::channel(BTreeMap::new());
    let (trigger, shutdown) = picket::runtime::shutdown_channel();
    let tasks = gpio::outputs::spawn(&sim, &config, rx, shutdown).unwrap();
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(!sim.output_level(18));
    assert!(sim.output_level(24), "active-low strobe must idle high");

    tx.send_modify(|m| {
        m.insert("siren".into(), OutputPattern::Temporal3);
        m.insert("strobe".into(), OutputPattern::Steady);
    });
    tokio::time::sleep(Duration::from_millis(8001)).await;
    let pattern = durations(&sim.output_history(18)[1..]);
    assert_eq!(
        &pattern[..6],
        &[
            (true, 500),
            (false, 500),
            (true, 500),
            (false, 500),
            (true, 500),
            (false, 1500)
        ],
        "{pattern:?}"
    );
    assert_eq!(&pattern[6..12], &pattern[..6], "the cycle must repeat");
    assert!(!sim.output_level(24), "active-low strobe on = low");

    tx.send_modify(|m| {
        m.insert("siren".into(), OutputPattern::Steady);
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(sim.output_level(18));
    tx.send_modify(|m| {
        m.insert("siren".into(), OutputPattern::Off);
        m.insert("strobe".into(), OutputPattern::Off);
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(!sim.output_level(18) && sim.output_level(24));
    trigger.trigger();
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_siren_left_on_by_a_stuck_engine_is_cut_after_its_limit() {
    let (sim, _, config) = setup();
    let (tx, rx) = watch::channel(BTreeMap::new());
    let (_trigger, shutdown) = picket::runtime::shutdown_channel();
    let _tasks = gpio::outputs::spawn(&sim, &config, rx, shutdown).unwrap();
    tx.send_modify(|m| {
        m.insert("siren".into(), OutputPattern::Steady);
    });
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(sim.output_level(18), "cut before the limit");
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert!(!sim.output_level(18), "still sounding past the limit");
    // A new alarm sounds again.
    tx.send_modify(|m| {
        m.insert("siren".into(), OutputPattern::Off);
    });
    tokio::time::sleep(Duration::from_millis(1)).await;
    tx.send_modify(|m| {
        m.insert("siren".into(), OutputPattern::Steady);
    });
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(sim.output_level(18));
}

#[test]
fn real_gpio_off_a_pi_is_a_clear_error() {
    if std::path::Path::new("/dev/gpiochip0").exists() {
        return; // On a Pi: nothing to check here.
    }
    let text = SITE.replace("backend = \"simulated\"", "backend = \"rppal\"");
    let config = config::parse_str(&text).unwrap();
    let err = gpio::backend(&config).err().expect("no GPIO here");
    assert!(
        err.to_string().contains("gpio.backend = \"simulated\""),
        "{err}"
    );
}

#[test]
fn pins_are_checked_in_the_configuration() {
    let text = SITE
        .replace("pin = 18", "pin = 17")
        .replace("pin = 24", "pin = 40");
    let err = config::parse_str(&text).unwrap_err().to_string();
    assert!(
        err.contains("outputs[0].pin") && err.contains("already used by sensors[0].source.pin"),
        "{err}"
    );
    assert!(err.contains("BCM pin 40 does not exist"), "{err}");
}

#[allow(dead_code)]
fn backend_is_object_safe(_: &dyn GpioBackend) {}
