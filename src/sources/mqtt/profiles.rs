//! Payload profiles: how a bridge's MQTT messages map to readings, chosen per sensor in the
//! configuration so an installer writes no code.
//!
//! - `zigbee2mqtt`: JSON state on `zigbee2mqtt/<name>` (`contact` — true means *closed* —,
//!   `occupancy`, `smoke`, `water_leak`, `tamper`, `battery_low`, `battery`, `action`) and
//!   `zigbee2mqtt/<name>/availability` (`{"state":"online"}` or legacy `online`).
//! - `tasmota`: `tele/<t>/SENSOR` (`{"Switch1":"ON"}`), `stat/<t>/POWER` (`ON`/`OFF`),
//!   `tele/<t>/LWT` (`Online`/`Offline`).
//! - `esphome`: `<node>/binary_sensor/<name>/state` (`ON`/`OFF`), `<node>/status`.
//! - `generic`: a JSON pointer and on/off values, or a raw payload match.

use serde_json::Value;

use crate::config::{MqttProfile, SensorKind, SourceBinding};
use crate::engine::Reading;

/// Largest payload decoded; larger ones are rejected (and acknowledged, so a broker does
/// not redeliver them forever).
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// What a subscribed topic carries for a sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicRole {
    /// The device's state.
    State,
    /// Reachability (online/offline).
    Availability,
}

/// The topics to subscribe for one sensor binding, with what each carries.
pub fn subscriptions(binding: &SourceBinding) -> Vec<(String, TopicRole)> {
    let SourceBinding::Mqtt {
        topic,
        profile,
        availability_topic,
        ..
    } = binding
    else {
        return Vec::new();
    };
    match profile {
        MqttProfile::Zigbee2mqtt => vec![
            (topic.clone(), TopicRole::State),
            (format!("{topic}/availability"), TopicRole::Availability),
        ],
        MqttProfile::Tasmota => vec![
            (format!("tele/{topic}/SENSOR"), TopicRole::State),
            (format!("stat/{topic}/POWER"), TopicRole::State),
            (format!("tele/{topic}/LWT"), TopicRole::Availability),
        ],
        MqttProfile::Esphome => {
            let node = topic.split('/').next().unwrap_or(topic);
            vec![
                (format!("{topic}/state"), TopicRole::State),
                (format!("{node}/status"), TopicRole::Availability),
            ]
        }
        MqttProfile::Generic => {
            let mut subs = vec![(topic.clone(), TopicRole::State)];
            if let Some(a) = availability_topic {
                subs.push((a.clone(), TopicRole::Availability));
            }
            subs
        }
    }
}

/// Turns a payload into readings for a sensor of `kind`. `Err` says what was wrong.
pub fn decode(
    binding: &SourceBinding,
    kind: SensorKind,
    role: TopicRole,
    payload: &[u8],
) -> Result<Vec<Reading>, String> {
    if payload.len() > MAX_PAYLOAD {
        return Err(format!(
            "payload of {} bytes is larger than {MAX_PAYLOAD}",
            payload.len()
        ));
    }
    let text = std::str::from_utf8(payload).map_err(|_| "payload is not UTF-8".to_string())?;
    let SourceBinding::Mqtt { profile, .. } = binding else {
        return Err("not an MQTT sensor".into());
    };
    if role == TopicRole::Availability {
        return availability(text).map(|online| vec![Reading::Availability { online }]);
    }
    match profile {
        MqttProfile::Zigbee2mqtt => zigbee2mqtt(kind, text),
        MqttProfile::Tasmota => tasmota(kind, text),
        MqttProfile::Esphome => on_off(text.trim()).map(|active| vec![detection(kind, active)]),
        MqttProfile::Generic => generic(binding, kind, text),
    }
}

/// The detection reading a sensor of this kind gives.
pub fn detection(kind: SensorKind, active: bool) -> Reading {
    match kind {
        SensorKind::Contact => Reading::Contact { active },
        SensorKind::Motion | SensorKind::Fence | SensorKind::Camera => Reading::Motion { active },
        SensorKind::Smoke => Reading::Smoke { active },
        SensorKind::Heat | SensorKind::CallPoint => Reading::Heat { active },
        SensorKind::PanicButton => Reading::Panic { active },
        SensorKind::Water => Reading::Water { active },
        SensorKind::Tamper => Reading::Tamper { active },
    }
}

fn availability(text: &str) -> Result<bool, String> {
    let word = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(o)) => o
            .get("state")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| "availability JSON has no \"state\" string".to_string())?,
        _ => text.trim().to_string(),
    };
    match word.to_ascii_lowercase().as_str() {
        "online" => Ok(true),
        "offline" => Ok(false),
        other => Err(format!(
            "availability `{other}` is neither online nor offline"
        )),
    }
}

fn on_off(text: &str) -> Result<bool, String> {
    match text.to_ascii_uppercase().as_str() {
        "ON" | "OPEN" | "TRUE" | "1" => Ok(true),
        "OFF" | "CLOSED" | "FALSE" | "0" => Ok(false),
        other => Err(format!("`{other}` is neither ON nor OFF")),
    }
}

fn object(text: &str) -> Result<serde_json::Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err("expected a JSON object".into()),
        Err(e) => Err(format!("invalid JSON: {e}")),
    }
}

/// A true/false field: absent is `None`; anything else (null included) is a wrong type.
fn boolean(o: &serde_json::Map<String, Value>, key: &str) -> Result<Option<bool>, String> {
    match o.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(format!("`{key}` should be true or false, got {other}")),
    }
}

fn zigbee2mqtt(kind: SensorKind, text: &str) -> Result<Vec<Reading>, String> {
    let o = object(text)?;
    let mut readings = Vec::new();
    // Zigbee2MQTT: contact = true means the contact is closed.
    if let Some(closed) = boolean(&o, "contact")? {
        readings.push(detection(kind, !closed));
    }
    for key in ["occupancy", "smoke", "water_leak", "vibration"] {
        if let Some(active) = boolean(&o, key)? {
            readings.push(detection(kind, active));
        }
    }
    if let Some(action) = o.get("action") {
        match action {
            Value::String(a) if !a.is_empty() && kind == SensorKind::PanicButton => {
                readings.push(Reading::Panic { active: true });
                readings.push(Reading::Panic { active: false });
            }
            Value::String(_) | Value::Null => {}
            other => return Err(format!("`action` should be a string, got {other}")),
        }
    }
    if let Some(active) = boolean(&o, "tamper")? {
        readings.push(Reading::Tamper { active });
    }
    let percent = match o.get("battery") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64().map(|p| p.clamp(0.0, 100.0) as u8),
        Some(other) => return Err(format!("`battery` should be a number, got {other}")),
    };
    match (boolean(&o, "battery_low")?, percent) {
        (Some(low), percent) => readings.push(Reading::Battery { low, percent }),
        (None, Some(p)) => readings.push(Reading::Battery {
            low: p <= 10,
            percent: Some(p),
        }),
        (None, None) => {}
    }
    if readings.is_empty() {
        readings.push(Reading::Heartbeat);
    }
    Ok(readings)
}

fn tasmota(kind: SensorKind, text: &str) -> Result<Vec<Reading>, String> {
    let trimmed = text.trim();
    if !trimmed.starts_with('{') {
        return on_off(trimmed).map(|active| vec![detection(kind, active)]);
    }
    let o = object(trimmed)?;
    let switch = o
        .iter()
        .find(|(k, _)| k.starts_with("Switch") || k.starts_with("POWER"))
        .map(|(_, v)| v);
    match switch {
        Some(Value::String(s)) => on_off(s).map(|active| vec![detection(kind, active)]),
        Some(other) => Err(format!("switch value should be ON or OFF, got {other}")),
        None => Ok(vec![Reading::Heartbeat]),
    }
}

fn generic(binding: &SourceBinding, kind: SensorKind, text: &str) -> Result<Vec<Reading>, String> {
    let SourceBinding::Mqtt {
        pointer,
        payload_on,
        payload_off,
        ..
    } = binding
    else {
        return Err("not an MQTT sensor".into());
    };
    let value = match pointer {
        Some(ptr) => {
            let json: Value =
                serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
            match json.pointer(ptr) {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => return Err(format!("no value at {ptr}")),
            }
        }
        None => text.trim().to_string(),
    };
    let on = payload_on.as_deref();
    let off = payload_off.as_deref();
    let active = match (on, off) {
        (Some(on), _) if value == on => true,
        (_, Some(off)) if value == off => false,
        (None, None) => on_off(&value)?,
        _ => {
            return Err(format!(
                "`{value}` matches neither payload_on nor payload_off"
            ));
        }
    };
    Ok(vec![detection(kind, active)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(profile: MqttProfile) -> SourceBinding {
        SourceBinding::Mqtt {
            topic: "zigbee2mqtt/gate_door".into(),
            profile,
            pointer: None,
            payload_on: None,
            payload_off: None,
            availability_topic: None,
        }
    }

    fn z2m(kind: SensorKind, payload: &str) -> Result<Vec<Reading>, String> {
        decode(
            &binding(MqttProfile::Zigbee2mqtt),
            kind,
            TopicRole::State,
            payload.as_bytes(),
        )
    }

    #[test]
    fn zigbee2mqtt_contact_true_means_closed() {
        let open = z2m(SensorKind::Contact, r#"{"battery":97,"battery_low":false,"contact":false,"linkquality":123,"tamper":false,"voltage":3000}"#).unwrap();
        assert_eq!(
            open,
            vec![
                Reading::Contact { active: true },
                Reading::Tamper { active: false },
                Reading::Battery {
                    low: false,
                    percent: Some(97)
                },
            ]
        );
        let closed = z2m(SensorKind::Contact, r#"{"contact":true}"#).unwrap();
        assert_eq!(closed, vec![Reading::Contact { active: false }]);
    }

    #[test]
    fn zigbee2mqtt_motion_smoke_water_tamper_battery_and_panic() {
        assert_eq!(
            z2m(SensorKind::Motion, r#"{"occupancy":true,"illuminance":12}"#).unwrap(),
            vec![Reading::Motion { active: true }]
        );
        assert_eq!(
            z2m(SensorKind::Smoke, r#"{"smoke":true,"battery_low":true}"#).unwrap(),
            vec![
                Reading::Smoke { active: true },
                Reading::Battery {
                    low: true,
                    percent: None
                }
            ]
        );
        assert_eq!(
            z2m(SensorKind::Water, r#"{"water_leak":false}"#).unwrap(),
            vec![Reading::Water { active: false }]
        );
        assert_eq!(
            z2m(
                SensorKind::PanicButton,
                r#"{"action":"emergency","battery":80}"#
            )
            .unwrap()[..2],
            [
                Reading::Panic { active: true },
                Reading::Panic { active: false }
            ]
        );
        assert_eq!(
            z2m(SensorKind::Motion, r#"{"linkquality":80}"#).unwrap(),
            vec![Reading::Heartbeat]
        );
        assert_eq!(
            z2m(SensorKind::Motion, r#"{"battery":5}"#).unwrap(),
            vec![Reading::Battery {
                low: true,
                percent: Some(5)
            }]
        );
    }

    #[test]
    fn zigbee2mqtt_availability_new_and_legacy() {
        let b = binding(MqttProfile::Zigbee2mqtt);
        let avail = |p: &str| {
            decode(
                &b,
                SensorKind::Contact,
                TopicRole::Availability,
                p.as_bytes(),
            )
        };
        assert_eq!(
            avail(r#"{"state":"offline"}"#).unwrap(),
            vec![Reading::Availability { online: false }]
        );
        assert_eq!(
            avail("online").unwrap(),
            vec![Reading::Availability { online: true }]
        );
        assert!(
            avail("maybe")
                .unwrap_err()
                .contains("neither online nor offline")
        );
    }

    #[test]
    fn zigbee2mqtt_bad_input_is_named() {
        assert!(
            z2m(SensorKind::Contact, "{not json")
                .unwrap_err()
                .contains("invalid JSON")
        );
        assert!(
            z2m(SensorKind::Contact, r#"{"contact":"open"}"#)
                .unwrap_err()
                .contains("`contact` should be true or false")
        );
        assert!(
            z2m(SensorKind::Contact, r#"[1,2]"#)
                .unwrap_err()
                .contains("JSON object")
        );
        let big = vec![b'{'; MAX_PAYLOAD + 1];
        assert!(
            decode(
                &binding(MqttProfile::Zigbee2mqtt),
                SensorKind::Contact,
                TopicRole::State,
                &big
            )
            .unwrap_err()
            .contains("larger")
        );
        assert!(
            decode(
                &binding(MqttProfile::Zigbee2mqtt),
                SensorKind::Contact,
                TopicRole::State,
                &[0xff, 0xfe]
            )
            .unwrap_err()
            .contains("UTF-8")
        );
    }

    #[test]
    fn tasmota_sensor_power_and_lwt() {
        let b = SourceBinding::Mqtt {
            topic: "gate_relay".into(),
            profile: MqttProfile::Tasmota,
            pointer: None,
            payload_on: None,
            payload_off: None,
            availability_topic: None,
        };
        let subs: Vec<String> = subscriptions(&b).into_iter().map(|(t, _)| t).collect();
        assert_eq!(
            subs,
            [
                "tele/gate_relay/SENSOR",
                "stat/gate_relay/POWER",
                "tele/gate_relay/LWT"
            ]
        );
        let state = |p: &str| decode(&b, SensorKind::Contact, TopicRole::State, p.as_bytes());
        assert_eq!(
            state(r#"{"Time":"2026-11-21T10:00:00","Switch1":"ON"}"#).unwrap(),
            vec![Reading::Contact { active: true }]
        );
        assert_eq!(
            state("OFF").unwrap(),
            vec![Reading::Contact { active: false }]
        );
        assert_eq!(
            decode(&b, SensorKind::Contact, TopicRole::Availability, b"Offline").unwrap(),
            vec![Reading::Availability { online: false }]
        );
    }

    #[test]
    fn esphome_state_and_status() {
        let b = SourceBinding::Mqtt {
            topic: "gatenode/binary_sensor/door".into(),
            profile: MqttProfile::Esphome,
            pointer: None,
            payload_on: None,
            payload_off: None,
            availability_topic: None,
        };
        let subs: Vec<String> = subscriptions(&b).into_iter().map(|(t, _)| t).collect();
        assert_eq!(
            subs,
            ["gatenode/binary_sensor/door/state", "gatenode/status"]
        );
        assert_eq!(
            decode(&b, SensorKind::Motion, TopicRole::State, b"ON").unwrap(),
            vec![Reading::Motion { active: true }]
        );
        assert_eq!(
            decode(&b, SensorKind::Motion, TopicRole::Availability, b"offline").unwrap(),
            vec![Reading::Availability { online: false }]
        );
    }

    #[test]
    fn generic_pointer_and_raw_match() {
        let b = SourceBinding::Mqtt {
            topic: "plant/fence/3".into(),
            profile: MqttProfile::Generic,
            pointer: Some("/alarm/state".into()),
            payload_on: Some("breach".into()),
            payload_off: Some("ok".into()),
            availability_topic: Some("plant/fence/alive".into()),
        };
        let state = |p: &str| decode(&b, SensorKind::Fence, TopicRole::State, p.as_bytes());
        assert_eq!(
            state(r#"{"alarm":{"state":"breach"}}"#).unwrap(),
            vec![Reading::Motion { active: true }]
        );
        assert_eq!(
            state(r#"{"alarm":{"state":"ok"}}"#).unwrap(),
            vec![Reading::Motion { active: false }]
        );
        assert!(
            state(r#"{"alarm":{"state":"weird"}}"#)
                .unwrap_err()
                .contains("matches neither")
        );
        assert!(
            state(r#"{"other":1}"#)
                .unwrap_err()
                .contains("no value at /alarm/state")
        );
        let raw = SourceBinding::Mqtt {
            topic: "x".into(),
            profile: MqttProfile::Generic,
            pointer: None,
            payload_on: Some("1".into()),
            payload_off: Some("0".into()),
            availability_topic: None,
        };
        assert_eq!(
            decode(&raw, SensorKind::Contact, TopicRole::State, b"1").unwrap(),
            vec![Reading::Contact { active: true }]
        );
    }
}
