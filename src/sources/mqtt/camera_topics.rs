//! Cameras on picket's MQTT interface, so a dashboard shows them as the page does:
//!
//! - `camera/<id>` — retained JSON: online, motion, tamper, the last error, rates and
//!   counters;
//! - `camera/<id>/thumbnail` — retained JPEG, the page's small picture (at most 320 wide),
//!   published each time a new one is taken;
//! - Home Assistant discovery: a `camera` entity showing the thumbnail and a
//!   `connectivity` binary sensor per camera.
//!
//! Camera health lives in the camera tasks. The interface looks at it every
//! [`LOOK_EVERY`] and publishes a camera's topic at once when its state (online, motion,
//! tamper, error) changed, otherwise at most every [`REFRESH_EVERY`] for the rates: work
//! in proportion to what changed, and a camera going dark is heard within a second.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

use super::interface::Topics;
use crate::config::Config;
use crate::engine::Timestamp;
use crate::sources::camera::CameraHealth;

/// How often the cameras' health is looked at.
pub const LOOK_EVERY: Duration = Duration::from_secs(1);
/// How often a camera whose state did not change is republished with fresh rates.
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);

/// One retained message to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraMessage {
    /// Full topic.
    pub topic: String,
    /// JSON text or JPEG bytes.
    pub payload: Vec<u8>,
}

/// What was last published for one camera.
struct Sent {
    /// The state part of the last `camera/<id>` payload.
    state: Value,
    /// When it was published.
    at: Instant,
    /// The thumbnail last published, by the time it was taken.
    thumbnail_ms: Option<i64>,
}

/// Remembers what was published per camera, to publish only changes.
#[derive(Default)]
pub struct CameraTopics {
    /// By camera id.
    sent: BTreeMap<String, Sent>,
}

impl CameraTopics {
    /// Forgets everything sent, so the next look republishes it all (after a reconnection,
    /// when the broker may not have kept it).
    pub fn forget(&mut self) {
        self.sent.clear();
    }

    /// The messages the cameras' health calls for now.
    pub fn changes(
        &mut self,
        topics: &Topics,
        cameras: &[CameraHealth],
        now: Instant,
    ) -> Vec<CameraMessage> {
        let mut out = Vec::new();
        for health in cameras {
            let state = state_of(health);
            let topic = format!("{}/camera/{}", topics.base, health.camera);
            let sent = self.sent.get(&health.camera);
            let due =
                sent.is_none_or(|s| s.state != state || now.duration_since(s.at) >= REFRESH_EVERY);
            let thumbnail_new = health.thumbnail_ms != sent.and_then(|s| s.thumbnail_ms);
            let at = match sent {
                Some(s) if !due => s.at,
                _ => now,
            };
            if due {
                out.push(CameraMessage {
                    topic: topic.clone(),
                    payload: payload_of(health, &state).to_string().into_bytes(),
                });
            }
            if let (true, Some(jpeg)) = (thumbnail_new, &health.thumbnail) {
                out.push(CameraMessage {
                    topic: format!("{topic}/thumbnail"),
                    payload: jpeg.bytes.clone(),
                });
            }
            let thumbnail_ms = health.thumbnail_ms;
            self.sent.insert(
                health.camera.clone(),
                Sent {
                    state,
                    at,
                    thumbnail_ms,
                },
            );
        }
        out
    }
}

/// The part of a camera's health that is published the moment it changes.
fn state_of(h: &CameraHealth) -> Value {
    json!({
        "online": h.online,
        "analysing": h.analysing,
        "motion": h.analysing.then_some(h.motion),
        "tamper": h.tamper,
        "error": h.last_error_kind,
        "width": h.width,
        "height": h.height,
    })
}

/// The whole `camera/<id>` payload: the state plus rates, counters and times.
fn payload_of(h: &CameraHealth, state: &Value) -> Value {
    let time = |ms: Option<i64>| ms.map(|ms| Timestamp(ms).to_rfc3339());
    let mut payload = state.clone();
    let extra = json!({
        "camera": h.camera,
        "last_error": h.last_error,
        "fps": (h.fps * 10.0).round() / 10.0,
        "kbit_s": h.kbit_s.round(),
        "frames": h.frames,
        "reconnects": h.reconnects,
        "video_losses": h.losses,
        "last_keyframe_at": time(h.last_keyframe_ms),
        "thumbnail_at": time(h.thumbnail_ms),
        "analysed_frames": h.analysing.then_some(h.analysed_frames),
        "analysis_skipped": h.analysing.then_some(h.analysis_skipped),
    });
    if let (Value::Object(all), Value::Object(more)) = (&mut payload, extra) {
        all.extend(more);
    }
    payload
}

/// Home Assistant discovery for every configured camera: (topic, payload), each made
/// complete (availability, device) by `common`.
pub fn discovery(
    topics: &Topics,
    site: &crate::engine::Site,
    config: &Config,
    common: &dyn Fn(&mut Value, Option<&str>),
) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for camera in &config.cameras {
        let id = &camera.id;
        // Named after the sensor bound to it (the name people gave it), under the area of
        // the first zone it watches.
        let sensor = config.sensors.iter().find(
            |s| matches!(&s.source, crate::config::SourceBinding::Camera { camera: c } if c == id),
        );
        let name = sensor
            .and_then(|s| {
                let vi = s.name.as_deref()?;
                Some(match s.name_en.as_deref() {
                    Some(en) if en != vi => format!("{vi} / {en}"),
                    _ => vi.to_string(),
                })
            })
            .unwrap_or_else(|| format!("Camera {id}"));
        let area = camera
            .zones
            .first()
            .or(sensor.map(|s| &s.zone))
            .and_then(|z| site.zones.get(z))
            .map(|z| z.area.as_str());
        let state_topic = format!("{}/camera/{id}", topics.base);
        let mut picture = json!({
            "name": name,
            "unique_id": format!("{}_camera_{id}", topics.node),
            "topic": format!("{state_topic}/thumbnail"),
        });
        common(&mut picture, area);
        out.push((
            format!(
                "{}/camera/{}/{id}/config",
                topics.discovery_prefix, topics.node
            ),
            picture,
        ));
        let mut connected = json!({
            "name": format!("{name} — tín hiệu hình / picture"),
            "unique_id": format!("{}_camera_{id}_online", topics.node),
            "state_topic": state_topic,
            "value_template": "{{ 'ON' if value_json.online else 'OFF' }}",
            "payload_on": "ON",
            "payload_off": "OFF",
            "device_class": "connectivity",
            "entity_category": "diagnostic",
        });
        common(&mut connected, area);
        out.push((
            format!(
                "{}/binary_sensor/{}/camera_{id}_online/config",
                topics.discovery_prefix, topics.node
            ),
            connected,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::camera::picture::Jpeg;
    use std::sync::Arc;

    fn topics() -> Topics {
        Topics {
            base: "picket/kho".into(),
            discovery_prefix: "homeassistant".into(),
            node: "picket_kho".into(),
        }
    }

    fn online(camera: &str) -> CameraHealth {
        let mut health = CameraHealth::analysed(camera, true);
        health.online = true;
        health.fps = 5.0;
        health
    }

    fn names(messages: &[CameraMessage]) -> Vec<&str> {
        messages.iter().map(|m| m.topic.as_str()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_state_change_is_published_at_once_and_rates_only_every_refresh() {
        let mut sent = CameraTopics::default();
        let mut gate = online("gate");
        let first = sent.changes(&topics(), std::slice::from_ref(&gate), Instant::now());
        assert_eq!(names(&first), ["picket/kho/camera/gate"]);
        let body: Value = serde_json::from_slice(&first[0].payload).expect("JSON");
        assert_eq!(body["online"], true);
        assert_eq!(body["motion"], false);
        assert_eq!(body["fps"], 5.0);

        // Rates alone move: nothing until the refresh is due.
        gate.fps = 4.0;
        tokio::time::advance(Duration::from_secs(30)).await;
        assert!(
            sent.changes(&topics(), std::slice::from_ref(&gate), Instant::now())
                .is_empty()
        );
        tokio::time::advance(REFRESH_EVERY).await;
        let refreshed = sent.changes(&topics(), std::slice::from_ref(&gate), Instant::now());
        assert_eq!(names(&refreshed), ["picket/kho/camera/gate"]);

        // Motion: at once.
        tokio::time::advance(Duration::from_secs(1)).await;
        gate.motion = true;
        let moved = sent.changes(&topics(), std::slice::from_ref(&gate), Instant::now());
        let body: Value = serde_json::from_slice(&moved[0].payload).expect("JSON");
        assert_eq!(body["motion"], true);

        // After a reconnection everything goes again.
        sent.forget();
        assert_eq!(
            sent.changes(&topics(), std::slice::from_ref(&gate), Instant::now())
                .len(),
            1
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_thumbnail_is_published_once() {
        let mut sent = CameraTopics::default();
        let mut gate = online("gate");
        sent.changes(&topics(), std::slice::from_ref(&gate), Instant::now());
        gate.thumbnail = Some(Arc::new(Jpeg {
            bytes: vec![0xFF, 0xD8, 0xFF, 0xD9],
            width: 320,
            height: 180,
        }));
        gate.thumbnail_ms = Some(1_000);
        let out = sent.changes(&topics(), std::slice::from_ref(&gate), Instant::now());
        assert_eq!(names(&out), ["picket/kho/camera/gate/thumbnail"]);
        assert_eq!(out[0].payload, [0xFF, 0xD8, 0xFF, 0xD9]);
        assert!(
            sent.changes(&topics(), std::slice::from_ref(&gate), Instant::now())
                .is_empty()
        );
    }

    #[test]
    fn a_camera_without_analysis_claims_no_motion() {
        let state = state_of(&CameraHealth::analysed("gate", false));
        assert_eq!(state["motion"], Value::Null);
        assert_eq!(state["analysing"], false);
    }
}
