//! A short fuzz run of every parser that reads what comes from outside — DC-09 answers
//! from a receiver, MQTT payloads for every profile, feed lines, configuration files and
//! HTTP requests to the local server — with arbitrary and mutated input. Each must answer
//! every input (a value or an error saying what is wrong) and never panic; HTTP must
//! never answer 500. The number of cases per property is bounded for CI and can be raised
//! for a longer run: `PICKET_FUZZ_CASES=100000 cargo test --test fuzz_inputs`.

use picket::channels::sia::codec::{self, Key};
use picket::channels::sia::transmitter::answer_frame;
use picket::config::{MqttProfile, SensorKind, SourceBinding};
use picket::sources::mqtt::profiles::{self, TopicRole};
use proptest::prelude::*;
use std::collections::BTreeSet;

/// Cases per property: `PICKET_FUZZ_CASES`, or 1,500.
fn cases() -> u32 {
    std::env::var("PICKET_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_500)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Bytes biased towards what parsers look for: JSON and DC-09 punctuation, digits, CR
/// and LF, multi-byte UTF-8 and bytes that are not UTF-8.
fn tricky_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        any::<u8>().prop_map(|b| vec![b]),
        prop::sample::select(vec![
            "\r",
            "\n",
            "\"",
            "[",
            "]",
            "#",
            "|",
            "{",
            "}",
            ":",
            ",",
            "*",
            "ACK",
            "NAK",
            "DUH",
            "ADM-CID",
            "0000",
            "L0",
            "R1",
            "None",
            "true",
            "false",
            "null",
            "ON",
            "OFF",
            "online",
            "ổ",
            "\u{202e}",
            "\\u0000",
            "-1e999",
            "1e400",
            "\"contact\"",
            "\"state\"",
            "\"battery\"",
            "\"action\"",
            "\"Switch1\"",
            "/",
            "%",
            "..",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        Just(vec![0xFF]),
        Just(vec![0xC3]),
    ];
    prop::collection::vec(piece, 0..max).prop_map(|pieces| pieces.concat())
}

/// A valid frame changed at one byte and cut short.
fn mutated_frame() -> impl Strategy<Value = Vec<u8>> {
    let frames = vec![
        "\n96ED0016\"SIA-DCS\"0001L0#1234[]\r".as_bytes().to_vec(),
        "\nE4410025\"NAK\"0000R0L0A0[]_16:20:01,09-24-2025\r"
            .as_bytes()
            .to_vec(),
        {
            let body = "\"ACK\"0002NoneL0#1234[]";
            format!(
                "\n{:04X}{:04X}{body}\r",
                codec::crc16(body.as_bytes()),
                body.len()
            )
            .into_bytes()
        },
    ];
    (
        prop::sample::select(frames),
        any::<usize>(),
        any::<u8>(),
        0usize..40,
    )
        .prop_map(|(mut frame, at, with, cut)| {
            let i = at % frame.len();
            frame[i] = with;
            frame.truncate(frame.len().saturating_sub(cut));
            frame
        })
}

fn mqtt_binding(profile: MqttProfile, pointer: Option<&str>) -> SourceBinding {
    SourceBinding::Mqtt {
        topic: "zigbee2mqtt/door".into(),
        profile,
        pointer: pointer.map(str::to_string),
        payload_on: Some("OPEN".into()),
        payload_off: None,
        availability_topic: Some("door/availability".into()),
    }
}

const KINDS: [SensorKind; 10] = [
    SensorKind::Contact,
    SensorKind::Motion,
    SensorKind::Fence,
    SensorKind::Smoke,
    SensorKind::Heat,
    SensorKind::CallPoint,
    SensorKind::PanicButton,
    SensorKind::Water,
    SensorKind::Tamper,
    SensorKind::Camera,
];

fn demo_config() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/demo.toml"))
        .expect("config/demo.toml")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn dc09_answers_are_read_or_refused_never_a_panic(
        bytes in prop_oneof![tricky_bytes(80), mutated_frame()],
    ) {
        let key = Key::from_text("PicketTestKey128").unwrap();
        for answer in [Some(bytes.as_slice()), answer_frame(&bytes)].into_iter().flatten() {
            let _ = codec::decode(answer, None);
            let _ = codec::decode(answer, Some(&key));
        }
    }

    #[test]
    fn mqtt_payloads_of_every_profile_decode_or_say_why(
        payload in tricky_bytes(60),
        kind in prop::sample::select(KINDS.to_vec()),
        availability in any::<bool>(),
    ) {
        let role = if availability { TopicRole::Availability } else { TopicRole::State };
        for binding in [
            mqtt_binding(MqttProfile::Zigbee2mqtt, None),
            mqtt_binding(MqttProfile::Tasmota, None),
            mqtt_binding(MqttProfile::Esphome, None),
            mqtt_binding(MqttProfile::Generic, None),
            mqtt_binding(MqttProfile::Generic, Some("/state/open")),
            mqtt_binding(MqttProfile::Generic, Some("/~1/0/x")),
        ] {
            if let Err(why) = profiles::decode(&binding, kind, role, &payload) {
                prop_assert!(!why.is_empty());
            }
        }
    }

    #[test]
    fn feed_lines_become_observations_or_errors(
        line in prop_oneof![
            tricky_bytes(60),
            (any::<bool>(), prop::sample::select(vec!["contact", "motion", "battery", "availability", "heartbeat", "video_loss", "nope"]), tricky_bytes(8))
                .prop_map(|(known, kind, junk)| {
                    let sensor = if known { "gate" } else { "ghost" };
                    let mut line = format!(r#"{{"ref":1,"sensor":"{sensor}","kind":"{kind}","active":"#).into_bytes();
                    line.extend(junk);
                    line.push(b'}');
                    line
                }),
        ],
    ) {
        let sensors: BTreeSet<String> = ["gate".to_string()].into();
        match picket::sources::feed::parse_line(&sensors, &line) {
            Ok(obs) => prop_assert_eq!(obs.sensor, "gate"),
            Err(why) => prop_assert!(!why.is_empty()),
        }
    }

    #[test]
    fn configs_mutated_or_arbitrary_are_accepted_or_named_never_a_panic(
        at in any::<usize>(),
        with in tricky_bytes(4),
        drop_lines in prop::collection::vec(any::<usize>(), 0..3),
        junk in tricky_bytes(40),
    ) {
        let text = demo_config();
        let mut lines: Vec<&str> = text.lines().collect();
        for d in drop_lines {
            if !lines.is_empty() {
                let i = d % lines.len();
                lines.remove(i);
            }
        }
        let mut bytes = lines.join("\n").into_bytes();
        let i = at % bytes.len().max(1);
        bytes.splice(i..(i + 1).min(bytes.len()), with);
        for input in [bytes, junk] {
            if let Err(e) = picket::config::parse_bytes(&input) {
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }
}

/// The session id of the fuzzing admin.
static SESSION: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// The HTTP server's router over the demo site, with evidence links on and the page's
/// engine running in `runtime` (the returned handle keeps it running).
fn router(
    dir: &std::path::Path,
    runtime: &tokio::runtime::Runtime,
) -> (axum::Router, picket::runtime::EngineHandle) {
    let config = picket::config::parse_str(&demo_config()).unwrap();
    let site = std::sync::Arc::new(picket::engine::Site::from_config(&config));
    runtime.block_on(async {
        let journal = picket::journal::Journal::open(&dir.join("journal.db"))
            .await
            .unwrap();
        let engine = picket::engine::Engine::new(site.clone(), picket::engine::SystemClock::new());
        let effects = picket::runtime::Effects::new(&engine);
        let writer = picket::journal::Writer::new(journal.clone()).await.unwrap();
        let (_task, handle) = picket::runtime::spawn_engine(engine, writer, effects.clone());
        let page = picket::web::PageState::new(&config, site, journal.clone(), handle.downgrade());
        // Half the requests come from a logged-in admin, so the page's own handlers (and
        // not only the login redirect) meet the odd paths.
        *SESSION.lock().unwrap() = page.sessions.start("fuzz", picket::engine::Role::Admin, 1);
        let router = picket::web::router(picket::web::WebState {
            effects,
            evidence: Some(picket::web::EvidenceServer {
                journal,
                links: picket::escalation::EvidenceLinks::new(
                    "https://gate.example.vn",
                    vec![7; 32],
                ),
            }),
            page: Some(std::sync::Arc::new(page)),
            stopping: picket::runtime::shutdown_channel().1,
        });
        (router, handle)
    })
}

/// A path from tricky pieces, percent-encoding whatever a URI cannot hold as it is.
fn http_path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "/",
            "healthz",
            "metrics",
            "api",
            "health",
            "evidence",
            "cameras",
            "thumbnail.jpg",
            "1",
            "-1",
            "99999999999999999999",
            "gate.mp4",
            "yard.jpg",
            "..",
            "%2e%2e",
            "%00",
            "%ff",
            "?sig=",
            "?sig=00",
            "&",
            "#",
            "//",
            "ổ",
            ";",
        ])
        .prop_map(str::to_string),
        any::<u8>().prop_map(|b| format!("%{b:02X}")),
        "[a-z0-9._~-]{1,12}",
    ];
    prop::collection::vec(piece, 0..8).prop_map(|pieces| {
        let mut path = String::from("/");
        for p in pieces {
            path.push_str(&p);
        }
        path.bytes()
            .map(|b| {
                if b.is_ascii_graphic() && b != b'#' {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    })
}

#[test]
fn http_requests_of_any_path_and_method_are_answered_never_500() {
    use tower::ServiceExt;
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (app, _engine) = router(dir.path(), &runtime);
    let mut runner = proptest::test_runner::TestRunner::new(config());
    let methods = prop::sample::select(vec![
        "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH",
    ]);
    runner
        .run(
            &(http_path(), methods, tricky_bytes(20)),
            |(path, method, body)| {
                let Ok(request) = axum::http::Request::builder()
                    .method(method)
                    .uri(&path)
                    .header("range", "bytes=5-1")
                    .body(axum::body::Body::from(body))
                else {
                    // Not a request hyper would hand to the router at all.
                    return Ok(());
                };
                let response = runtime
                    .block_on(app.clone().oneshot(request))
                    .expect("the router always answers");
                prop_assert!(
                    response.status() != axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "{method} {path} answered {}",
                    response.status()
                );
                Ok(())
            },
        )
        .unwrap();
}
