//! picket's own MQTT interface against a real Mosquitto: Home Assistant discovery payloads
//! that Home Assistant's MQTT schemas accept, availability as a last will, retained state,
//! events, the command topic with codes, refusals, audit and lockout, and cameras (state,
//! thumbnail, discovery).

mod common;

use common::broker::{Broker, BrokerOptions};
use common::inproc::Picket;
use common::{Daemon, PATIENCE};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use std::collections::BTreeMap;
use tokio::sync::mpsc;

const BODY: &str = r#"
[[areas]]
id = "gate"
name = "Cổng"
name_en = "Gate"
exit_delay_s = 0
[[zones]]
id = "door"
name = "Cửa"
area = "gate"
type = "perimeter"
[[zones]]
id = "fire"
name = "Cháy"
area = "gate"
type = "fire"
[[sensors]]
id = "door_c"
name = "Cửa cổng"
name_en = "Gate door"
zone = "door"
kind = "contact"
source = { kind = "mqtt", topic = "zigbee2mqtt/gate_door" }
[[sensors]]
id = "smoke_1"
zone = "fire"
kind = "smoke"
source = { kind = "mqtt", topic = "zigbee2mqtt/smoke" }
[[outputs]]
id = "siren"
kind = "siren"
"#;

fn config_text(dir: &std::path::Path, port: u16) -> String {
    format!(
        "[site]\nname = \"Nhà máy Sông Hồng\"\n[journal]\npath = \"{}\"\n[mqtt]\nport = {port}\n{BODY}",
        dir.join("journal.db").display()
    )
}

/// A test client that records every message on `filter`, retained ones included.
async fn listen(
    port: u16,
    id: &str,
    filter: &str,
) -> (
    AsyncClient,
    mpsc::UnboundedReceiver<(String, Vec<u8>, bool)>,
) {
    let (client, mut ev) = AsyncClient::new(MqttOptions::new(id, "127.0.0.1", port), 100);
    client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let mut ready_tx = Some(ready_tx);
    tokio::spawn(async move {
        while let Ok(event) = ev.poll().await {
            match event {
                Event::Incoming(Packet::SubAck(_)) => {
                    if let Some(r) = ready_tx.take() {
                        let _ = r.send(());
                    }
                }
                Event::Incoming(Packet::Publish(p)) => {
                    let _ = tx.send((p.topic.clone(), p.payload.to_vec(), p.retain));
                }
                _ => {}
            }
        }
    });
    ready_rx.await.unwrap();
    (client, rx)
}

/// Waits for a message on `topic` satisfying `pred`.
async fn expect(
    rx: &mut mpsc::UnboundedReceiver<(String, Vec<u8>, bool)>,
    topic: &str,
    pred: impl Fn(&[u8]) -> bool,
) -> Vec<u8> {
    tokio::time::timeout(PATIENCE, async {
        loop {
            let (t, payload, _) = rx.recv().await.expect("listener gone");
            if t == topic && pred(&payload) {
                return payload;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("nothing on {topic}"))
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

/// Home Assistant's binary_sensor device classes.
const HA_BINARY_CLASSES: &[&str] = &[
    "battery",
    "battery_charging",
    "carbon_monoxide",
    "cold",
    "connectivity",
    "door",
    "garage_door",
    "gas",
    "heat",
    "light",
    "lock",
    "moisture",
    "motion",
    "moving",
    "occupancy",
    "opening",
    "plug",
    "power",
    "presence",
    "problem",
    "running",
    "safety",
    "smoke",
    "sound",
    "tamper",
    "update",
    "vibration",
    "window",
];
/// Home Assistant's alarm_control_panel supported features and states.
const HA_PANEL_FEATURES: &[&str] = &[
    "arm_home",
    "arm_away",
    "arm_night",
    "arm_vacation",
    "arm_custom_bypass",
    "trigger",
];
const HA_PANEL_STATES: &[&str] = &[
    "disarmed",
    "armed_home",
    "armed_away",
    "armed_night",
    "armed_vacation",
    "armed_custom_bypass",
    "pending",
    "triggered",
    "arming",
    "disarming",
];

fn string(v: &Value, key: &str, what: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{what}: `{key}` must be a string: {v}"))
        .to_string()
}

fn check_common(v: &Value, what: &str, availability: &str) {
    // A name, or null for the device's main entity (Home Assistant's has_entity_name).
    assert!(
        v["name"].is_string() || (v["name"].is_null() && v["has_entity_name"] == true),
        "{what}: name must be a string, or null with has_entity_name"
    );
    assert_eq!(v["qos"], 1, "{what}: commands and state at QoS 1");
    string(v, "unique_id", what);
    assert_eq!(
        string(v, "availability_topic", what),
        availability,
        "{what}"
    );
    assert_eq!(string(v, "payload_available", what), "online");
    assert_eq!(string(v, "payload_not_available", what), "offline");
    let ids = v["device"]["identifiers"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: device.identifiers must be a list"));
    assert!(!ids.is_empty() && ids.iter().all(Value::is_string));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_is_valid_for_home_assistant_and_state_is_retained() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), BrokerOptions::default()).await;
    let config = picket::config::parse_str(&config_text(dir.path(), broker.port)).unwrap();
    let picket = Picket::start(config).await;
    picket.mqtt().subscribed_times(1).await;
    let base = "picket/nha_may_song_hong";
    let availability = format!("{base}/availability");
    let (_c, mut rx) = listen(broker.port, "ha", "#").await;
    let mut seen: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    // Retained messages arrive first; wait until every expected config is in.
    let wanted = [
        "homeassistant/alarm_control_panel/picket_nha_may_song_hong/gate/config".to_string(),
        "homeassistant/binary_sensor/picket_nha_may_song_hong/door_c/config".to_string(),
        "homeassistant/binary_sensor/picket_nha_may_song_hong/door_c_problem/config".to_string(),
        "homeassistant/binary_sensor/picket_nha_may_song_hong/smoke_1/config".to_string(),
        "homeassistant/binary_sensor/picket_nha_may_song_hong/output_siren/config".to_string(),
        format!("{base}/output/siren"),
        format!("{base}/area/gate/ha_state"),
        format!("{base}/sensor/door_c"),
        availability.clone(),
        format!("{base}/state"),
    ];
    tokio::time::timeout(PATIENCE, async {
        while !wanted.iter().all(|w| seen.contains_key(w)) {
            let (t, p, _) = rx.recv().await.unwrap();
            seen.insert(t, p);
        }
    })
    .await
    .expect("discovery and state");
    // A late subscriber (Home Assistant restarting) gets all of it from the broker's
    // retained store.
    let (_late, mut late) = listen(broker.port, "ha-late", "#").await;
    let mut retained = std::collections::BTreeSet::new();
    tokio::time::timeout(PATIENCE, async {
        while !wanted.iter().all(|w| retained.contains(w)) {
            let (t, _, is_retained) = late.recv().await.unwrap();
            if is_retained {
                retained.insert(t);
            }
        }
    })
    .await
    .expect("everything retained");

    let panel = json(&seen[&wanted[0]]);
    check_common(&panel, "alarm_control_panel", &availability);
    let state_topic = string(&panel, "state_topic", "panel");
    string(&panel, "command_topic", "panel");
    assert_eq!(string(&panel, "code", "panel"), "REMOTE_CODE");
    for key in ["code_arm_required", "code_disarm_required"] {
        assert!(panel[key].is_boolean(), "{key} must be a boolean");
    }
    let features = panel["supported_features"]
        .as_array()
        .expect("supported_features list");
    assert!(
        features
            .iter()
            .all(|f| HA_PANEL_FEATURES.contains(&f.as_str().unwrap_or(""))),
        "{features:?}"
    );
    let template = string(&panel, "command_template", "panel");
    assert!(
        template.contains("{{ action }}")
            && template.contains("{{ code }}")
            && template.contains("\"id\":"),
        "{template}"
    );
    // Short names: the area is a device of its own through the gateway, the panel is that
    // device's main entity; commands at QoS 1.
    assert_eq!(panel["has_entity_name"], true);
    assert!(panel["name"].is_null(), "{panel}");
    assert_eq!(panel["qos"], 1);
    assert_eq!(panel["device"]["name"], "Cổng / Gate");
    assert_eq!(panel["device"]["via_device"], "picket_nha_may_song_hong");
    let ha_state = String::from_utf8(seen[&state_topic].clone()).unwrap();
    assert!(HA_PANEL_STATES.contains(&ha_state.as_str()), "{ha_state}");

    let door = json(&seen[&wanted[1]]);
    check_common(&door, "binary_sensor", &availability);
    assert_eq!(
        (door["name"].as_str(), door["has_entity_name"].as_bool()),
        (Some("Cửa cổng / Gate door"), Some(true))
    );
    assert_eq!(
        door["device"], panel["device"],
        "the door is under its area"
    );
    assert_eq!(string(&door, "device_class", "door"), "door");
    let problem = json(&seen[&wanted[2]]);
    assert_eq!(string(&problem, "device_class", "problem"), "problem");
    assert_eq!(string(&problem, "entity_category", "problem"), "diagnostic");
    let smoke = json(&seen[&wanted[3]]);
    assert_eq!(string(&smoke, "device_class", "smoke"), "smoke");
    for v in [&door, &problem, &smoke] {
        assert!(HA_BINARY_CLASSES.contains(&string(v, "device_class", "binary_sensor").as_str()));
        let st = string(v, "state_topic", "binary_sensor");
        assert!(
            seen.contains_key(&st) || st.ends_with("smoke_1"),
            "state topic {st} has no state"
        );
    }
    let siren = json(&seen[&wanted[4]]);
    check_common(&siren, "binary_sensor", &availability);
    assert_eq!(string(&siren, "device_class", "siren"), "sound");
    assert_eq!(
        json(&seen[&wanted[5]]),
        serde_json::json!({"kind": "siren", "pattern": "off", "on": false})
    );
    let sensor = json(&seen[&wanted[7]]);
    assert!(
        sensor["active"].is_boolean() && sensor["trouble"].is_boolean(),
        "{sensor}"
    );
    assert_eq!(seen[&availability], b"online");
    picket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn availability_goes_offline_when_picket_dies_or_stops() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), BrokerOptions::default()).await;
    let config = dir.path().join("picket.toml");
    std::fs::write(&config, config_text(dir.path(), broker.port)).unwrap();
    let topic = "picket/nha_may_song_hong/availability";
    let (_c, mut rx) = listen(broker.port, "watcher", topic).await;
    let mut daemon = Daemon::start(dir.path(), &config, None).await;
    expect(&mut rx, topic, |p| p == b"online").await;
    daemon.child.start_kill().unwrap();
    daemon.child.wait().await.unwrap();
    expect(&mut rx, topic, |p| p == b"offline").await;

    let daemon = Daemon::start(dir.path(), &config, None).await;
    expect(&mut rx, topic, |p| p == b"online").await;
    daemon.signal(libc::SIGTERM);
    expect(&mut rx, topic, |p| p == b"offline").await;
    assert_eq!(daemon.wait().await, Some(0));
}

/// The reply to command `id`.
async fn reply(
    rx: &mut mpsc::UnboundedReceiver<(String, Vec<u8>, bool)>,
    base: &str,
    id: &str,
) -> Value {
    json(
        &expect(rx, &format!("{base}/command/reply"), |p| {
            json(p)["id"] == id
        })
        .await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_need_the_right_code_are_audited_and_lock_out_after_repeated_failures() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), BrokerOptions::default()).await;
    common::add_guard(&dir.path().join("journal.db"), "an", "2468").await;
    let config = picket::config::parse_str(&config_text(dir.path(), broker.port)).unwrap();
    let mut picket = Picket::start(config).await;
    picket.mqtt().subscribed_times(1).await;
    let base = "picket/nha_may_song_hong";
    let (client, mut rx) = listen(broker.port, "operator", &format!("{base}/#")).await;
    let (_e, mut events) = listen(broker.port, "event-watcher", &format!("{base}/event")).await;
    // Its own listener: the state may change before the reply arrives, and `expect` skips
    // what it is not waiting for.
    let (_s, mut ha_state) = listen(
        broker.port,
        "state-watcher",
        &format!("{base}/area/gate/ha_state"),
    )
    .await;
    let command = |body: &str| {
        let c = client.clone();
        let body = body.to_string();
        async move {
            c.publish(format!("{base}/command"), QoS::AtLeastOnce, false, body)
                .await
                .unwrap()
        }
    };

    // Home Assistant's shape, right code: armed.
    command(r#"{"id":"1","action":"ARM_AWAY","code":"2468","area":"gate"}"#).await;
    let r = reply(&mut rx, base, "1").await;
    assert_eq!(r["ok"], true, "{r}");
    expect(&mut ha_state, &format!("{base}/area/gate/ha_state"), |p| {
        p == b"armed_away"
    })
    .await;
    picket
        .expect("armed by an", |p| {
            p.event.kind == picket::engine::EventKind::Armed
                && p.event.user.as_deref() == Some("an")
        })
        .await;

    // The gate door opens: Home Assistant's panel shows `triggered`. Home Assistant has no
    // acknowledge action; a disarm with the right code acknowledges the area's alarm as
    // that person, as a keypad's disarm does, so the panel comes back to `disarmed`.
    client
        .publish(
            "zigbee2mqtt/gate_door",
            QoS::AtLeastOnce,
            false,
            r#"{"contact":false}"#,
        )
        .await
        .unwrap();
    expect(&mut ha_state, &format!("{base}/area/gate/ha_state"), |p| {
        p == b"triggered"
    })
    .await;
    // The siren's state is published too (retained), for Home Assistant and dashboards.
    expect(&mut rx, &format!("{base}/output/siren"), |p| {
        json(p)["pattern"] == "steady"
    })
    .await;
    command(r#"{"id":"d1","action":"DISARM","code":"2468","area":"gate"}"#).await;
    assert_eq!(reply(&mut rx, base, "d1").await["ok"], true);
    expect(&mut ha_state, &format!("{base}/area/gate/ha_state"), |p| {
        p == b"disarmed"
    })
    .await;
    // Resolving goes through the command topic too, with a resolution and the code.
    command(r#"{"id":"r0","action":"resolve","alarm":1,"code":"2468"}"#).await;
    let r = reply(&mut rx, base, "r0").await;
    assert!(
        r["ok"] == false && r["reason_en"].as_str().unwrap().contains("resolution"),
        "{r}"
    );
    command(
        r#"{"id":"r1","action":"resolve","alarm":1,"resolution":"false","note":"gió mở cửa","code":"2468"}"#,
    )
    .await;
    assert_eq!(reply(&mut rx, base, "r1").await["ok"], true);
    let resolved = picket
        .expect("alarm 1 resolved", |p| {
            p.event.kind == picket::engine::EventKind::AlarmResolved
        })
        .await;
    assert_eq!(resolved.event.user.as_deref(), Some("an"));
    client
        .publish(
            "zigbee2mqtt/gate_door",
            QoS::AtLeastOnce,
            false,
            r#"{"contact":true}"#,
        )
        .await
        .unwrap();
    picket
        .expect("the door closed", |p| {
            p.event.kind == picket::engine::EventKind::SensorChanged
                && p.event.message_en.contains("closed")
        })
        .await;
    command(r#"{"id":"a2","action":"ARM_AWAY","code":"2468","area":"gate"}"#).await;
    assert_eq!(reply(&mut rx, base, "a2").await["ok"], true);

    // Wrong code: refused, said so in both languages.
    command(r#"{"id":"2","action":"DISARM","code":"1111","area":"gate"}"#).await;
    let r = reply(&mut rx, base, "2").await;
    assert_eq!(
        (
            r["ok"].clone(),
            r["reason_en"].clone(),
            r["reason_vi"].clone()
        ),
        (
            Value::Bool(false),
            Value::from("wrong code"),
            Value::from("sai mã")
        )
    );

    // Four more wrong codes lock the topic: then even the right code is refused.
    for id in ["3", "4", "5", "6"] {
        command(&format!(
            r#"{{"id":"{id}","action":"DISARM","code":"9999","area":"gate"}}"#
        ))
        .await;
        reply(&mut rx, base, id).await;
    }
    command(r#"{"id":"7","action":"DISARM","code":"2468","area":"gate"}"#).await;
    let r = reply(&mut rx, base, "7").await;
    assert_eq!(r["ok"], false);
    assert!(
        r["reason_en"].as_str().unwrap().contains("locked out"),
        "{r}"
    );
    assert_eq!(
        picket
            .mqtt_commands()
            .wrong_codes
            .load(std::sync::atomic::Ordering::Relaxed),
        5
    );

    // Events went out on the event topic.
    let event = json(
        &expect(&mut events, &format!("{base}/event"), |p| {
            json(p)["kind"] == "armed"
        })
        .await,
    );
    // Armed from MQTT: a remote closing, by the user's number.
    assert_eq!(event["code"], 407);
    picket.stop().await;

    let journal = picket::journal::Journal::open_existing(&dir.path().join("journal.db"))
        .await
        .unwrap();
    let audit: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT user_name, origin, result FROM audit WHERE action <> 'user_add' ORDER BY id",
    )
    .fetch_all(journal.pool())
    .await
    .unwrap();
    assert_eq!(audit[0], ("an".into(), "mqtt".into(), "ok".into()));
    // A disarm acknowledged the alarm, audited as such; wrong codes are audited as
    // nobody's, under the action's own name.
    let rows: Vec<(String, Option<String>, String, String, String)> = sqlx::query_as(
        "SELECT user_name, role, action, target, result FROM audit WHERE action <> 'user_add' \
         ORDER BY id",
    )
    .fetch_all(journal.pool())
    .await
    .unwrap();
    assert!(
        rows.iter().any(|r| r.0 == "an"
            && r.2 == "acknowledge"
            && r.3 == "alarm:1"
            && r.4 == "ok (by disarming)"),
        "{rows:?}"
    );
    assert!(
        rows.iter().any(|r| r.2 == "resolve" && r.4 == "ok"),
        "{rows:?}"
    );
    for wrong in rows
        .iter()
        .filter(|r| r.4.starts_with("refused: wrong code"))
    {
        assert_eq!(
            (wrong.0.as_str(), wrong.1.as_deref(), wrong.2.as_str()),
            ("unknown", Some("none"), "disarm"),
            "{rows:?}"
        );
    }
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.2.starts_with("refused: wrong code"))
            .count(),
        5,
        "{audit:?}"
    );
    assert!(audit.last().unwrap().2.contains("locked out"), "{audit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_has_its_state_and_thumbnail_retained_and_is_discovered() {
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), BrokerOptions::default()).await;
    // A simulated camera whose lens is covered: online, and tampered with.
    let text = format!(
        "{}\n[[zones]]\nid = \"yard\"\nname = \"Sân\"\narea = \"gate\"\ntype = \"perimeter\"\n\
         [[cameras]]\nid = \"yard_cam\"\nurl = \"sim://black\"\nzones = [\"yard\"]\n\
         analysis = {{ fps = 5.0 }}\n\
         [[sensors]]\nid = \"yard_cam_video\"\nname = \"Camera sân\"\nname_en = \"Yard camera\"\n\
         zone = \"yard\"\nkind = \"camera\"\n\
         source = {{ kind = \"camera\", camera = \"yard_cam\" }}\n",
        config_text(dir.path(), broker.port)
    );
    let config = picket::config::parse_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let (_c, mut rx) = listen(broker.port, "ha", "#").await;
    let picket = Picket::start(config).await;
    let base = "picket/nha_may_song_hong";
    let state_topic = format!("{base}/camera/yard_cam");
    let thumbnail_topic = format!("{state_topic}/thumbnail");

    let online = json(&expect(&mut rx, &state_topic, |p| json(p)["online"] == true).await);
    assert_eq!(online["analysing"], true, "{online}");
    assert_eq!(online["width"], 640, "{online}");
    let covered = json(&expect(&mut rx, &state_topic, |p| json(p)["tamper"] == "covered").await);
    assert_eq!(covered["motion"], false, "{covered}");
    let thumbnail = expect(&mut rx, &thumbnail_topic, |_| true).await;
    let file = dir.path().join("thumbnail.jpg");
    std::fs::write(&file, &thumbnail).unwrap();
    assert_eq!(
        common::ffprobe(file.to_str().unwrap(), "stream=codec_name,width,height"),
        ["mjpeg", "320", "180"]
    );

    // Home Assistant, arriving late, finds the camera, its picture and its state retained.
    let availability = format!("{base}/availability");
    let picture_config = "homeassistant/camera/picket_nha_may_song_hong/yard_cam/config";
    let online_config =
        "homeassistant/binary_sensor/picket_nha_may_song_hong/camera_yard_cam_online/config";
    let (_late, mut late) = listen(broker.port, "ha-late", "#").await;
    let mut retained: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let wanted = [
        picture_config.to_string(),
        online_config.to_string(),
        state_topic.clone(),
        thumbnail_topic.clone(),
    ];
    tokio::time::timeout(PATIENCE, async {
        while !wanted.iter().all(|w| retained.contains_key(w)) {
            let (t, p, is_retained) = late.recv().await.unwrap();
            if is_retained {
                retained.insert(t, p);
            }
        }
    })
    .await
    .expect("the camera's discovery, state and picture retained");
    let picture = json(&retained[picture_config]);
    check_common(&picture, "camera", &availability);
    assert_eq!(string(&picture, "topic", "camera"), thumbnail_topic);
    // Named after its sensor, under the area of the zone it watches.
    assert_eq!(
        string(&picture, "name", "camera"),
        "Camera sân / Yard camera"
    );
    assert_eq!(picture["device"]["name"], "Cổng / Gate");
    let connected = json(&retained[online_config]);
    check_common(&connected, "binary_sensor", &availability);
    assert_eq!(
        string(&connected, "device_class", "connectivity"),
        "connectivity"
    );
    assert_eq!(
        string(&connected, "state_topic", "connectivity"),
        state_topic
    );
    assert_eq!(json(&retained[&state_topic])["online"], true);
    assert_eq!(&retained[&thumbnail_topic][..2], [0xFF, 0xD8]);
    picket.stop().await;
}

/// The change stream's slow reader (issue 17), on picket's own topics. While the broker
/// is frozen (SIGSTOP) the interface cannot publish and falls more than the stream's
/// buffer behind; the engine does not wait for it, and holds no more for it than that
/// buffer. When the broker thaws, the interface takes the panel as it stands and goes on:
/// the retained topics show a fire alarm raised while it was behind, and the changes after
/// it come in commit order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_frozen_behind_the_change_stream_catch_up_from_the_panel_and_go_on_in_order() {
    use picket::engine::{Observation, Reading};
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let broker = Broker::start(dir.path(), BrokerOptions::default()).await;
    let config = picket::config::parse_str(&config_text(dir.path(), broker.port)).unwrap();
    let base = "picket/nha_may_song_hong";
    let (_c, mut rx) = listen(broker.port, "watcher", &format!("{base}/#")).await;
    let (picket, console) = Picket::start_with_console(config).await;
    expect(&mut rx, &format!("{base}/availability"), |p| p == b"online").await;
    let door = |open: bool| Observation {
        sensor: "door_c".into(),
        reading: Reading::Contact { active: open },
        source_ref: None,
    };

    broker.freeze();
    let changes = 2 * picket::shared::changes::BUFFERED;
    for n in 0..changes {
        console.observe(door(n % 2 == 0)).await.expect("committed");
    }
    let fire = console
        .observe(Observation {
            sensor: "smoke_1".into(),
            reading: Reading::Smoke { active: true },
            source_ref: None,
        })
        .await
        .expect("committed");
    let alarm = fire
        .events
        .iter()
        .find_map(|p| p.event.alarm)
        .expect("a fire alarm");
    broker.thaw();

    let stats = picket.mqtt_commands();
    common::delivery::wait_for("the topics resynchronised", async || {
        stats.resyncs.load(Ordering::Relaxed) >= 1
    })
    .await;
    // Before the freeze the watcher heard the smoke detector idle and no alarm: what it
    // hears now was raised while the topics were behind.
    let raised = json(&expect(&mut rx, &format!("{base}/alarm/{alarm}"), |_| true).await);
    assert_eq!(raised["state"], "raised", "{raised}");
    assert_eq!(raised["category"], "fire", "{raised}");
    // (State topics go out in the order of their names.)
    expect(&mut rx, &format!("{base}/area/gate/ha_state"), |p| {
        p == b"triggered"
    })
    .await;
    expect(&mut rx, &format!("{base}/sensor/smoke_1"), |p| {
        json(p)["active"] == true
    })
    .await;
    expect(&mut rx, &format!("{base}/state"), |p| {
        let state = json(p);
        state["open_alarm_count"] == 1 && state["open_alarms"][0]["id"] == alarm
    })
    .await;

    // And goes on: each change after it, in commit order.
    let mut seqs = Vec::new();
    for open in [true, false, true] {
        let receipt = console.observe(door(open)).await.expect("committed");
        seqs.push(receipt.events[0].seq.expect("journaled"));
    }
    let mut heard = Vec::new();
    while heard.len() < seqs.len() {
        let event = json(&expect(&mut rx, &format!("{base}/event"), |_| true).await);
        let seq = event["seq"].as_i64().expect("seq");
        if seqs.contains(&seq) {
            heard.push(seq);
        }
    }
    assert_eq!(heard, seqs, "in commit order");
    // A newcomer is given the state as it stands, retained.
    let (_n, mut newcomer) = listen(broker.port, "newcomer", &format!("{base}/#")).await;
    let wanted = [
        format!("{base}/sensor/door_c"),
        format!("{base}/alarm/{alarm}"),
        format!("{base}/area/gate/ha_state"),
    ];
    let mut now = BTreeMap::new();
    while !wanted.iter().all(|t| now.contains_key(t)) {
        let (topic, payload, retained) = tokio::time::timeout(PATIENCE, newcomer.recv())
            .await
            .expect("retained topics")
            .expect("listener gone");
        assert!(retained, "{topic}: the newcomer hears retained state first");
        now.insert(topic, payload);
    }
    let door_now = json(&now[&format!("{base}/sensor/door_c")]);
    assert_eq!(door_now["active"], true, "{door_now}");
    assert_eq!(
        json(&now[&format!("{base}/alarm/{alarm}")])["state"],
        "raised"
    );
    assert_eq!(now[&format!("{base}/area/gate/ha_state")], b"triggered");
    drop(console);
    picket.stop().await;
}
