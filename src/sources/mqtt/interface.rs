//! picket's own MQTT interface under `<base>/<site>/`, on the same connection as the
//! sensors:
//!
//! - `availability` — `online`, or `offline` as the last will (retained);
//! - `state` — areas and open alarms (retained); `area/<id>/ha_state` — the area in Home
//!   Assistant's words (retained);
//! - `sensor/<id>`, `zone/<id>`, `alarm/<id>` — retained, published when they change;
//! - `event` — every event as it is journaled (not retained);
//! - `command` — arm, disarm, acknowledge with a user's code; answered on
//!   `command/reply`. Wrong codes are refused, counted, audited, and after
//!   [`crate::keypad::MAX_FAILURES`] within [`crate::keypad::FAILURE_WINDOW`] the topic is
//!   locked for [`crate::keypad::LOCKOUT`].
//! - `camera/<id>`, `camera/<id>/thumbnail` — see [`super::camera_topics`];
//! - Home Assistant MQTT discovery: an `alarm_control_panel` per area, a
//!   `binary_sensor` (plus a `problem` one) per sensor, and per camera a `camera` and a
//!   `connectivity` sensor, tied to `availability`.

use rumqttc::{AsyncClient, QoS};

use super::camera_topics::{self, CameraTopics};
use crate::mqtt_connection::MAX_OUTGOING;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::time::Instant;

use crate::config::{Config, SensorKind};
use crate::engine::state::{AreaState, SensorState};
use crate::engine::{Alarm, AlarmId, AlarmState, Mode, Origin, Site};
use crate::journal::Journal;
use crate::keypad::{Answer, Keypad, Request};
use crate::shared::changes::Change;
use crate::shared::changes::{ChangeSet, PanelView, Published};
use crate::shared::effects::Effects;
use crate::shared::engine_handle::EngineHandle;
pub use crate::shared::health::InterfaceStats;

/// Commits whose changes are published together at most, when they have piled up.
const BURST: usize = 256;

/// Open alarms carried in full on the `state` topic (the newest); each open alarm also has
/// its own retained `alarm/<id>` topic, so a long list of unresolved alarms never makes
/// `state` too large to publish.
pub const STATE_ALARMS_MAX: usize = 50;

/// picket's client for its own topics, which never sends a packet over the limit.
struct Sender {
    client: AsyncClient,
    stats: Arc<InterfaceStats>,
}

impl Sender {
    /// Publishes unless the packet would exceed [`MAX_OUTGOING`]: rumqttc would drop the
    /// connection on it and, since state is republished on every connection, never get
    /// back. An oversized message is logged with its topic and size, counted, and skipped.
    async fn send(&self, topic: String, retain: bool, payload: impl Into<Vec<u8>>) {
        let payload = payload.into();
        // Fixed header, topic length and packet id take at most 9 bytes beyond these.
        let size = topic.len() + payload.len() + 9;
        if size > MAX_OUTGOING {
            self.stats.oversized.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                topic,
                size,
                limit = MAX_OUTGOING,
                "not published: larger than the MQTT packet limit"
            );
            return;
        }
        let _ = self
            .client
            .publish(topic, QoS::AtLeastOnce, retain, payload)
            .await;
    }
}

/// Everything the interface needs from the rest of picket.
#[derive(Clone)]
pub struct InterfaceDeps {
    /// The configured site.
    pub site: Arc<Site>,
    /// Where state and events come from.
    pub effects: Effects,
    /// Where codes are checked.
    pub journal: Journal,
}

/// Topic names.
#[derive(Debug, Clone)]
pub struct Topics {
    /// `<base>/<site>`.
    pub base: String,
    /// Home Assistant's discovery prefix.
    pub discovery_prefix: String,
    /// Node id for discovery topics.
    pub node: String,
}

impl Topics {
    /// From the configuration.
    pub fn new(config: &Config) -> Topics {
        let site = crate::mqtt_connection::site_topic(config);
        let mqtt = config.mqtt.as_ref();
        Topics {
            base: format!(
                "{}/{site}",
                mqtt.map(|m| m.base_topic.as_str()).unwrap_or("picket")
            ),
            discovery_prefix: mqtt
                .map(|m| m.discovery_prefix.clone())
                .unwrap_or_else(|| "homeassistant".into()),
            node: format!("picket_{site}"),
        }
    }
    /// The last-will topic.
    pub fn availability(&self) -> String {
        format!("{}/availability", self.base)
    }
    /// Where commands arrive.
    pub fn command(&self) -> String {
        format!("{}/command", self.base)
    }
    /// Where commands are answered.
    pub fn reply(&self) -> String {
        format!("{}/command/reply", self.base)
    }
}

/// Home Assistant's state word for an area.
pub fn ha_state(area: &AreaState, view: &PanelView) -> &'static str {
    let alarmed = view
        .alarms
        .values()
        .any(|a| a.area == area.area && a.state == AlarmState::Raised && !a.silent);
    if alarmed {
        "triggered"
    } else if area.entry.is_some() {
        "pending"
    } else if area.exit_until.is_some() {
        "arming"
    } else {
        match area.mode {
            Mode::Disarmed => "disarmed",
            Mode::ArmedAway => "armed_away",
            Mode::ArmedHome => "armed_home",
            Mode::ArmedNight => "armed_night",
        }
    }
}

/// Home Assistant device class for a sensor kind.
pub fn device_class(kind: SensorKind) -> &'static str {
    match kind {
        SensorKind::Contact => "door",
        SensorKind::Motion | SensorKind::Camera => "motion",
        SensorKind::Fence => "vibration",
        SensorKind::Smoke => "smoke",
        SensorKind::Heat => "heat",
        SensorKind::CallPoint | SensorKind::PanicButton => "safety",
        SensorKind::Water => "moisture",
        SensorKind::Tamper => "tamper",
    }
}

/// Every discovery message: (topic, retained JSON payload; `null` removes an entity an
/// earlier version announced). The gateway is one device, each area a device of its own
/// through it (`via_device`), so entity names stay short (`has_entity_name`): the area's
/// panel, and each sensor and camera under the area of its zone. Everything is QoS 1, so
/// Home Assistant's commands are not lost.
pub fn discovery(topics: &Topics, site: &Site, config: &Config) -> Vec<(String, Value)> {
    let gateway = json!({
        "identifiers": [topics.node],
        "name": format!("picket {}", site.name),
        "manufacturer": "picket",
        "model": "security gateway",
        "sw_version": env!("CARGO_PKG_VERSION"),
    });
    let device = |area: Option<&str>| match area.and_then(|a| site.areas.get(a)) {
        Some(a) => json!({
            "identifiers": [format!("{}_area_{}", topics.node, a.id)],
            "name": both(&a.names.vi, &a.names.en),
            "manufacturer": "picket",
            "model": "area",
            "via_device": topics.node,
        }),
        None => gateway.clone(),
    };
    let common = |v: &mut Value, area: Option<&str>| {
        v["availability_topic"] = json!(topics.availability());
        v["payload_available"] = json!("online");
        v["payload_not_available"] = json!("offline");
        v["device"] = device(area);
        v["has_entity_name"] = json!(true);
        v["qos"] = json!(1);
    };
    let mut out = Vec::new();
    for area in site.areas.values() {
        // `id` makes every reply on command/reply carry the request's id.
        let template = format!(
            "{{\"id\":\"ha-{{{{ now().timestamp() }}}}\",\"action\":\"{{{{ action }}}}\",\
             \"code\":\"{{{{ code }}}}\",\"area\":\"{}\"}}",
            area.id
        );
        let mut v = json!({
            // The area's own device is the panel: no name of its own.
            "name": null,
            "unique_id": format!("{}_{}_panel", topics.node, area.id),
            "state_topic": format!("{}/area/{}/ha_state", topics.base, area.id),
            "command_topic": topics.command(),
            "command_template": template,
            "code": "REMOTE_CODE",
            "code_arm_required": true,
            "code_disarm_required": true,
            "code_trigger_required": true,
            "supported_features": ["arm_home", "arm_away", "arm_night"],
        });
        common(&mut v, Some(&area.id));
        out.push((
            format!(
                "{}/alarm_control_panel/{}/{}/config",
                topics.discovery_prefix, topics.node, area.id
            ),
            v,
        ));
    }
    let analysed: std::collections::BTreeSet<&str> = config
        .cameras
        .iter()
        .filter(|c| c.analysis.is_some())
        .map(|c| c.id.as_str())
        .collect();
    for sensor in &config.sensors {
        let name = both(
            sensor.name.as_deref().unwrap_or(&sensor.id),
            sensor
                .name_en
                .as_deref()
                .unwrap_or(sensor.name.as_deref().unwrap_or(&sensor.id)),
        );
        let area = site.zones.get(&sensor.zone).map(|z| z.area.as_str());
        let state_topic = format!("{}/sensor/{}", topics.base, sensor.id);
        let main_topic = format!(
            "{}/binary_sensor/{}/{}/config",
            topics.discovery_prefix, topics.node, sensor.id
        );
        // A camera's sensor detects only where the camera's picture is analysed; without
        // analysis it could never turn on, so it is not announced (and an earlier
        // announcement is taken back). Its trouble (video loss) is.
        let detects = match &sensor.source {
            crate::config::SourceBinding::Camera { camera } => analysed.contains(camera.as_str()),
            _ => true,
        };
        if detects {
            let mut main = json!({
                "name": name,
                "unique_id": format!("{}_{}", topics.node, sensor.id),
                "state_topic": state_topic,
                "value_template": "{{ 'ON' if value_json.active else 'OFF' }}",
                "payload_on": "ON",
                "payload_off": "OFF",
                "device_class": device_class(sensor.kind),
            });
            common(&mut main, area);
            out.push((main_topic, main));
        } else {
            out.push((main_topic, Value::Null));
        }
        let mut problem = json!({
            "name": format!("{name} — sự cố / trouble"),
            "unique_id": format!("{}_{}_problem", topics.node, sensor.id),
            "state_topic": format!("{}/sensor/{}", topics.base, sensor.id),
            "value_template": "{{ 'ON' if value_json.trouble else 'OFF' }}",
            "payload_on": "ON",
            "payload_off": "OFF",
            "device_class": "problem",
            "entity_category": "diagnostic",
        });
        common(&mut problem, area);
        out.push((
            format!(
                "{}/binary_sensor/{}/{}_problem/config",
                topics.discovery_prefix, topics.node, sensor.id
            ),
            problem,
        ));
    }
    for output in &config.outputs {
        let (vi, en, class) = match output.kind {
            crate::config::OutputKind::Siren => ("Còi", "Siren", "sound"),
            crate::config::OutputKind::Strobe => ("Đèn chớp", "Strobe", "light"),
            crate::config::OutputKind::FaultLed => ("Đèn báo lỗi", "Fault light", "problem"),
        };
        let area = match output.areas.as_slice() {
            [one] => Some(one.as_str()),
            _ => None,
        };
        let mut v = json!({
            "name": format!("{vi} / {en} ({})", output.id),
            "unique_id": format!("{}_output_{}", topics.node, output.id),
            "state_topic": format!("{}/output/{}", topics.base, output.id),
            "value_template": "{{ 'ON' if value_json.on else 'OFF' }}",
            "payload_on": "ON",
            "payload_off": "OFF",
            "device_class": class,
        });
        common(&mut v, area);
        out.push((
            format!(
                "{}/binary_sensor/{}/output_{}/config",
                topics.discovery_prefix, topics.node, output.id
            ),
            v,
        ));
    }
    out.extend(super::camera_topics::discovery(
        topics, site, config, &common,
    ));
    out
}

fn both(vi: &str, en: &str) -> String {
    if vi == en {
        vi.to_string()
    } else {
        format!("{vi} / {en}")
    }
}

/// What a commit touched among the retained state topics: work per change is what the
/// change touched, not the size of the site.
#[derive(Debug, Default)]
pub struct Touched {
    /// Areas whose `ha_state` may have changed.
    areas: BTreeSet<String>,
    /// Sensors whose topic may have changed.
    sensors: BTreeSet<String>,
    /// Zones whose topic may have changed.
    zones: BTreeSet<String>,
    /// The `state` topic (areas and open alarms) may have changed.
    state: bool,
}

impl Touched {
    /// The topics `sets` can have changed.
    pub fn by(sets: &[Arc<ChangeSet>], site: &Site) -> Touched {
        let mut t = Touched::default();
        for set in sets {
            t.add(set, site);
        }
        t
    }

    fn add(&mut self, set: &ChangeSet, site: &Site) {
        for s in &set.sensors {
            self.sensors.insert(s.sensor.clone());
            if let Some(def) = site.sensors.get(&s.sensor) {
                self.zones.insert(def.zone.clone());
            }
        }
        for a in &set.areas {
            self.areas.insert(a.area.clone());
            self.zones.extend(
                site.zones
                    .values()
                    .filter(|z| z.area == a.area)
                    .map(|z| z.id.clone()),
            );
            self.state = true;
        }
        for alarm in &set.alarms {
            self.areas.insert(alarm.area.clone());
            self.state = true;
        }
    }
}

/// Retained state topics for a panel view: topic → payload.
pub fn state_topics(topics: &Topics, site: &Site, view: &PanelView) -> BTreeMap<String, String> {
    state_topics_of(topics, site, view, None)
}

/// The retained state topics `touched` names (all of them for `None`): topic → payload.
pub fn state_topics_of(
    topics: &Topics,
    site: &Site,
    view: &PanelView,
    touched: Option<&Touched>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let areas: Box<dyn Iterator<Item = &Arc<AreaState>>> = match touched {
        None => Box::new(view.areas.values()),
        Some(t) => Box::new(t.areas.iter().filter_map(|id| view.areas.get(id))),
    };
    for area in areas {
        out.insert(
            format!("{}/area/{}/ha_state", topics.base, area.area),
            ha_state(area, view).to_string(),
        );
    }
    let sensors: Box<dyn Iterator<Item = &Arc<SensorState>>> = match touched {
        None => Box::new(view.sensors.values()),
        Some(t) => Box::new(t.sensors.iter().filter_map(|id| view.sensors.get(id))),
    };
    for s in sensors {
        let payload = json!({
            "active": s.active,
            "tamper": s.tamper,
            "battery_low": s.battery_low,
            "missing": s.missing,
            "video_loss": s.video_loss,
            "trouble": s.has_trouble(),
        });
        out.insert(
            format!("{}/sensor/{}", topics.base, s.sensor),
            payload.to_string(),
        );
    }
    let zones: Box<dyn Iterator<Item = &crate::engine::site::ZoneDef>> = match touched {
        None => Box::new(site.zones.values()),
        Some(t) => Box::new(t.zones.iter().filter_map(|id| site.zones.get(id))),
    };
    for zone in zones {
        let active = zone
            .sensors
            .iter()
            .any(|s| view.sensors.get(s).is_some_and(|st| st.active));
        let bypassed = view
            .areas
            .get(&zone.area)
            .is_some_and(|a| a.bypassed.contains_key(&zone.id));
        let payload = json!({ "active": active, "bypassed": bypassed, "area": zone.area, "type": zone.zone_type });
        out.insert(
            format!("{}/zone/{}", topics.base, zone.id),
            payload.to_string(),
        );
    }
    if touched.is_some_and(|t| !t.state) {
        return out;
    }
    let state = json!({
        "areas": view.areas.values().map(|a| json!({
            "id": a.area, "mode": a.mode.as_str(), "ha_state": ha_state(a, view),
            "exit_delay": a.exit_until.is_some(), "entry_delay": a.entry.is_some(),
            "bypassed": a.bypassed.keys().collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "open_alarm_count": view.alarms.len(),
        "open_alarms": view.alarms.values().rev().take(STATE_ALARMS_MAX).rev().map(|a| alarm_json(a)).collect::<Vec<_>>(),
    });
    out.insert(format!("{}/state", topics.base), state.to_string());
    out
}

/// An alarm as published.
pub fn alarm_json(a: &Alarm) -> Value {
    json!({
        "id": a.id, "category": a.category, "code": a.code.0, "area": a.area, "zone": a.zone,
        "sensor": a.sensor, "raised_at": a.raised_at.to_rfc3339(), "confirmed": a.confirmed,
        "silent": a.silent, "cancelled": a.cancelled, "state": a.state.as_str(),
        "acknowledged_by": a.acknowledged_by, "resolved_by": a.resolved_by,
        "resolution": a.resolution.map(|r| r.as_str()), "note": a.note,
    })
}

/// An event as published.
pub fn event_json(p: &Published) -> Value {
    let e = &p.event;
    json!({
        "seq": p.seq, "at": e.at.to_rfc3339(), "kind": e.kind.as_str(), "category": e.category,
        "code": e.code.map(|c| c.0), "qualifier": e.qualifier.digit(), "area": e.area, "zone": e.zone,
        "zone_number": e.zone_number, "sensor": e.sensor, "alarm": e.alarm, "user": e.user,
        "message_vi": e.message_vi, "message_en": e.message_en,
    })
}

/// Publishes state, events and alarms; republishes everything after each (re)connection.
pub async fn publish(
    client: AsyncClient,
    topics: Topics,
    deps: InterfaceDeps,
    config: Config,
    stats: Arc<InterfaceStats>,
    mut connected: tokio::sync::watch::Receiver<u64>,
) {
    // The connection publishes the panel whenever it comes up, so the stream starts after
    // the panel as it stands now.
    let mut changes = deps.effects.changes.reader_after_now();
    let mut outputs = deps.effects.outputs.subscribe();
    let mut published: BTreeMap<String, String> = BTreeMap::new();
    // Open alarms whose retained `alarm/<id>` is on the broker.
    let mut retained_alarms: BTreeSet<AlarmId> = BTreeSet::new();
    let discovery_on = config.mqtt.as_ref().is_some_and(|m| m.discovery);
    let out = Sender { client, stats };
    let mut cameras = CameraTopics::default();
    let mut look = tokio::time::interval(camera_topics::LOOK_EVERY);
    look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = look.tick(), if !config.cameras.is_empty() => {
                let health = crate::shared::lock::copies(&deps.effects.health.cameras);
                for m in cameras.changes(&topics, &health, Instant::now()) {
                    out.send(m.topic, true, m.payload).await;
                }
            }
            changed = connected.changed() => {
                if changed.is_err() { return; }
                cameras.forget();
                out.send(topics.availability(), true, "online").await;
                if discovery_on {
                    for (topic, payload) in discovery(&topics, &deps.site, &config) {
                        let text = if payload.is_null() { String::new() } else { payload.to_string() };
                        out.send(topic, true, text).await;
                    }
                }
                published.clear();
                let view = deps.effects.changes.panel();
                publish_alarms(&out, &topics, &view, &mut retained_alarms).await;
                publish_changes(&out, &topics, &deps.site, &view, None, &mut published).await;
                let now = outputs.borrow_and_update().clone();
                publish_outputs(&out, &topics, &config, &now, &mut published).await;
            }
            changed = outputs.changed() => {
                if changed.is_err() { return; }
                let now = outputs.borrow_and_update().clone();
                publish_outputs(&out, &topics, &config, &now, &mut published).await;
            }
            change = changes.next() => match change {
                None => return,
                Some(Change::Snapshot(view)) => {
                    catch_up(&out, &topics, &deps.site, &view, &mut retained_alarms, &mut published).await;
                }
                Some(Change::Set(set)) => {
                    // Whatever else has piled up (a flood) goes out with it: every event
                    // and alarm record in order, each retained topic once, as it stands.
                    let mut burst = vec![set];
                    let mut behind = None;
                    while burst.len() < BURST {
                        match changes.try_next() {
                            Some(Change::Set(next)) => burst.push(next),
                            Some(Change::Snapshot(view)) => {
                                behind = Some(view);
                                break;
                            }
                            None => break,
                        }
                    }
                    for p in burst.iter().flat_map(|s| &s.events) {
                        out.send(format!("{}/event", topics.base), false, event_json(p).to_string()).await;
                    }
                    for a in burst.iter().flat_map(|s| &s.alarms) {
                        let topic = format!("{}/alarm/{}", topics.base, a.id);
                        let resolved = a.state == AlarmState::Resolved;
                        out.send(topic.clone(), !resolved, alarm_json(a).to_string()).await;
                        if resolved {
                            // Clear the retained copy: a resolved alarm is history, kept in
                            // the journal.
                            out.send(topic, true, String::new()).await;
                            retained_alarms.remove(&a.id);
                        } else {
                            retained_alarms.insert(a.id);
                        }
                    }
                    let view = deps.effects.changes.panel();
                    let touched = Touched::by(&burst, &deps.site);
                    publish_changes(&out, &topics, &deps.site, &view, Some(&touched), &mut published).await;
                    if let Some(view) = behind {
                        catch_up(&out, &topics, &deps.site, &view, &mut retained_alarms, &mut published).await;
                    }
                }
            },
        }
    }
}

/// After falling behind the change stream: the state as it stands now. Events missed
/// meanwhile are in the journal and on the page.
async fn catch_up(
    out: &Sender,
    topics: &Topics,
    site: &Site,
    view: &PanelView,
    retained_alarms: &mut BTreeSet<AlarmId>,
    published: &mut BTreeMap<String, String>,
) {
    out.stats.resyncs.fetch_add(1, Ordering::Relaxed);
    publish_alarms(out, topics, view, retained_alarms).await;
    publish_changes(out, topics, site, view, None, published).await;
}

/// Publishes every open alarm's retained `alarm/<id>`, and clears those of alarms no
/// longer open (resolved while the topics were not being kept up).
async fn publish_alarms(
    out: &Sender,
    topics: &Topics,
    view: &PanelView,
    retained: &mut BTreeSet<AlarmId>,
) {
    for gone in retained.iter().filter(|id| !view.alarms.contains_key(*id)) {
        out.send(format!("{}/alarm/{gone}", topics.base), true, String::new())
            .await;
    }
    retained.clear();
    for alarm in view.alarms.values() {
        out.send(
            format!("{}/alarm/{}", topics.base, alarm.id),
            true,
            alarm_json(alarm).to_string(),
        )
        .await;
        retained.insert(alarm.id);
    }
}

/// Publishes the outputs whose state changed, as retained `output/<id>`:
/// `{"kind","pattern","on"}` (`pattern`: `off`, `steady`, `temporal3`).
async fn publish_outputs(
    out: &Sender,
    topics: &Topics,
    config: &Config,
    patterns: &BTreeMap<String, crate::engine::OutputPattern>,
    published: &mut BTreeMap<String, String>,
) {
    for output in &config.outputs {
        let pattern = patterns
            .get(&output.id)
            .copied()
            .unwrap_or(crate::engine::OutputPattern::Off);
        let payload = json!({
            "kind": output.kind,
            "pattern": pattern,
            "on": pattern != crate::engine::OutputPattern::Off,
        })
        .to_string();
        let topic = format!("{}/output/{}", topics.base, output.id);
        if published.get(&topic) != Some(&payload) {
            out.send(topic.clone(), true, payload.clone()).await;
            published.insert(topic, payload);
        }
    }
}

/// Publishes the state topics `touched` names (all for `None`) whose payload changed.
async fn publish_changes(
    out: &Sender,
    topics: &Topics,
    site: &Site,
    view: &PanelView,
    touched: Option<&Touched>,
    published: &mut BTreeMap<String, String>,
) {
    for (topic, payload) in state_topics_of(topics, site, view, touched) {
        if published.get(&topic) != Some(&payload) {
            out.send(topic.clone(), true, payload.clone()).await;
            published.insert(topic, payload);
        }
    }
}

/// Carries out commands from the command topic, one at a time, through the MQTT keypad
/// (code check, lockout, audit: see [`crate::keypad`]).
pub struct CommandHandler {
    /// Where replies go.
    topics: Topics,
    /// The command topic's way in.
    keypad: Keypad,
    /// Counters.
    pub stats: Arc<InterfaceStats>,
}

/// A reply on `command/reply`.
fn reply(id: &Value, answer: &Answer) -> Value {
    json!({
        "id": id,
        "ok": answer.ok,
        "reason_vi": answer.reason_vi,
        "reason_en": answer.reason_en,
    })
}

impl CommandHandler {
    /// A handler submitting to `engine`.
    pub fn new(
        topics: Topics,
        deps: InterfaceDeps,
        engine: EngineHandle,
        stats: Arc<InterfaceStats>,
    ) -> Self {
        CommandHandler {
            topics,
            keypad: Keypad::new(Origin::Mqtt, deps.journal.clone(), engine),
            stats,
        }
    }

    /// Handles one command payload and publishes the reply.
    pub async fn handle(&mut self, client: &AsyncClient, payload: &[u8]) {
        let (id, answer) = match serde_json::from_slice::<Value>(payload) {
            Ok(request) => {
                let id = request.get("id").cloned().unwrap_or(Value::Null);
                let answer = self
                    .keypad
                    .enter(&Request::from_json(&request), &self.topics.command())
                    .await;
                (id, answer)
            }
            Err(_) => (
                Value::Null,
                Answer::refused("lệnh không phải JSON", "command is not JSON"),
            ),
        };
        let counter = if answer.ok {
            &self.stats.commands_accepted
        } else {
            &self.stats.commands_refused
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if answer.wrong_code {
            self.stats.wrong_codes.fetch_add(1, Ordering::Relaxed);
        }
        let _ = client
            .publish(
                self.topics.reply(),
                QoS::AtLeastOnce,
                false,
                reply(&id, &answer).to_string(),
            )
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Alarm, ContactId, Timestamp};

    fn alarm(id: u64) -> Alarm {
        Alarm {
            id,
            category: ContactId(133).category(),
            code: ContactId(133),
            area: "a".into(),
            zone: Some("z".into()),
            sensor: Some("s".into()),
            raised_at: Timestamp(1_790_000_000_000),
            confirmed: false,
            silent: false,
            cancelled: false,
            state: AlarmState::Acknowledged,
            siren_until: None,
            acknowledged_by: Some("lan".into()),
            acknowledged_at: Some(Timestamp(1_790_000_001_000)),
            resolved_by: None,
            resolved_at: None,
            resolution: None,
            note: "đã kiểm tra, cổng đóng lại / checked, gate closed again".into(),
        }
    }

    #[test]
    fn a_camera_sensor_is_a_motion_sensor_only_where_the_picture_is_analysed() {
        let text = |analysis: &str| {
            format!(
                "[site]\nname = \"Kho\"\n[mqtt]\nsite_topic = \"kho\"\n\
                 [[areas]]\nid = \"a\"\nname = \"A\"\n\
                 [[zones]]\nid = \"z\"\nname = \"Z\"\narea = \"a\"\ntype = \"perimeter\"\n\
                 [[cameras]]\nid = \"cam\"\nurl = \"sim://still\"\nzones = [\"z\"]\n{analysis}\n\
                 [[sensors]]\nid = \"cam_s\"\nzone = \"z\"\nkind = \"camera\"\n\
                 source = {{ kind = \"camera\", camera = \"cam\" }}\n"
            )
        };
        let main = "homeassistant/binary_sensor/picket_kho/cam_s/config";
        for (analysis, announced) in [("", false), ("analysis = { fps = 5.0 }", true)] {
            let config = crate::config::parse_str(&text(analysis)).unwrap();
            let site = Site::from_config(&config);
            let all = discovery(&Topics::new(&config), &site, &config);
            let (_, payload) = all.iter().find(|(t, _)| t == main).expect("listed");
            assert_eq!(!payload.is_null(), announced, "{analysis}: {payload}");
            if announced {
                assert_eq!(payload["device_class"], "motion");
            }
            // Its trouble (video loss) is always there.
            assert!(
                all.iter()
                    .any(|(t, p)| t.ends_with("cam_s_problem/config") && !p.is_null())
            );
        }
    }

    #[test]
    fn state_stays_publishable_with_a_thousand_unresolved_alarms() {
        let config = crate::config::parse_str(
            "[site]\nname = \"Kho\"\n[mqtt]\nsite_topic = \"kho\"\n[[areas]]\nid = \"a\"\nname = \"A\"\n\
             [[zones]]\nid = \"z\"\nname = \"Z\"\narea = \"a\"\ntype = \"burglary_24h\"\n",
        )
        .unwrap();
        let site = Site::from_config(&config);
        let view = PanelView {
            alarms: (1..=1000).map(|id| (id, Arc::new(alarm(id)))).collect(),
            ..PanelView::default()
        };
        let topics = Topics::new(&config);
        let state = state_topics(&topics, &site, &view)
            .remove("picket/kho/state")
            .unwrap();
        assert!(state.len() < MAX_OUTGOING / 4, "{} bytes", state.len());
        let state: Value = serde_json::from_str(&state).unwrap();
        assert_eq!(state["open_alarm_count"], 1000);
        let ids: Vec<u64> = state["open_alarms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_u64().unwrap())
            .collect();
        assert_eq!(
            ids,
            (951..=1000).collect::<Vec<_>>(),
            "the newest, in order"
        );
    }

    #[tokio::test]
    async fn an_oversized_message_is_counted_and_not_sent() {
        let (client, _events) =
            AsyncClient::new(rumqttc::MqttOptions::new("t", "127.0.0.1", 1), 10);
        let out = Sender {
            client,
            stats: Arc::new(InterfaceStats::default()),
        };
        out.send("picket/kho/state".into(), true, "x".repeat(MAX_OUTGOING))
            .await;
        assert_eq!(out.stats.oversized.load(Ordering::Relaxed), 1);
        out.send("picket/kho/state".into(), true, "{}").await;
        assert_eq!(out.stats.oversized.load(Ordering::Relaxed), 1);
    }
}
