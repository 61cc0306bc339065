//! `/metrics` (Prometheus/OpenMetrics text, through `prometheus-client`) and the same
//! figures as JSON for the page. Read at scrape time from the counters and health records
//! the daemon keeps anyway, so serving them costs nothing between scrapes.
//!
//! Channel and path states are one series per possible state, valued 1 for the current
//! one (`picket_channel_state{channel="arc",kind="sia",state="down"} 1`), so an alert rule
//! is a plain equality.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::channels::{ChannelHealth, LinkState};
use crate::shared::effects::Effects;
use crate::shared::health::TaskStatus;
use crate::sources::camera::CameraHealth;

/// Label pairs of one series.
type Labels = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn count(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The channels' health records, copied out of their locks.
pub fn channels(effects: &Effects) -> Vec<ChannelHealth> {
    crate::shared::lock::copies(&effects.health.channels)
}

/// The cameras' health records, copied out of their locks.
pub fn cameras(effects: &Effects) -> Vec<CameraHealth> {
    crate::shared::lock::copies(&effects.health.cameras)
}

/// Everything, in OpenMetrics text.
pub fn render(effects: &Effects) -> Result<String, std::fmt::Error> {
    let stats = &effects.stats;
    // (name, help, value); counters get `_total` from the encoder.
    let mut counters = vec![
        (
            "journal_commits",
            "Inputs committed to the journal",
            count(&stats.committed),
        ),
        (
            "journal_commit_failures",
            "Journal commits that failed",
            count(&stats.commit_failures),
        ),
        (
            "observations_refused",
            "Sensor observations refused (unknown sensor)",
            count(&stats.observations_refused),
        ),
    ];
    let mut gauges = vec![
        (
            "journal_failing",
            "1 while the last journal commit failed",
            i64::from(stats.journal_failing()),
        ),
        (
            "open_alarms",
            "Alarms raised or acknowledged and not yet resolved",
            to_i64(effects.changes.panel().alarms.len() as u64),
        ),
    ];
    if let Some(mqtt) = effects.health.mqtt.get() {
        gauges.push((
            "mqtt_connected",
            "1 while connected to the local broker",
            i64::from(mqtt.connected.load(Ordering::Relaxed)),
        ));
        counters.extend([
            (
                "mqtt_received",
                "Messages received on sensor topics",
                count(&mqtt.received),
            ),
            (
                "mqtt_rejected",
                "Sensor messages rejected (unknown topic, bad payload)",
                count(&mqtt.rejected),
            ),
        ]);
    }
    if let Some(commands) = effects.health.mqtt_commands.get() {
        counters.extend([
            (
                "mqtt_commands_refused",
                "Commands refused on the MQTT command topic",
                count(&commands.commands_refused),
            ),
            (
                "mqtt_wrong_codes",
                "Wrong codes entered on the MQTT command topic",
                count(&commands.wrong_codes),
            ),
            (
                "mqtt_state_resyncs",
                "Times picket's MQTT topics fell behind the change stream and were brought up \
                 to date from the panel as it stood",
                count(&commands.resyncs),
            ),
        ]);
    }
    if let Some(feed) = effects.health.feed.get() {
        counters.push((
            "feed_rejected",
            "Feed lines rejected",
            count(&feed.rejected),
        ));
    }
    let mut registry = Registry::with_prefix("picket");
    for (name, help, value) in counters {
        let c: Counter = Counter::default();
        c.inc_by(value);
        registry.register(name, help, c);
    }
    for (name, help, value) in gauges {
        let g: Gauge = Gauge::default();
        g.set(value);
        registry.register(name, help, g);
    }
    register_channels(&mut registry, &channels(effects));
    register_modems(&mut registry, &channels(effects));
    register_cameras(&mut registry, &cameras(effects));
    register_tasks(&mut registry, &effects.health.tasks.snapshot());
    register_oversized(&mut registry, effects);
    let mut text = String::new();
    encode(&mut text, &registry)?;
    Ok(text)
}

fn register_channels(registry: &mut Registry, channels: &[ChannelHealth]) {
    let state = Family::<Labels, Gauge>::default();
    let path_state = Family::<Labels, Gauge>::default();
    let last_success = Family::<Labels, Gauge>::default();
    let path_last_success = Family::<Labels, Gauge>::default();
    let failures = Family::<Labels, Gauge>::default();
    let queue_due = Family::<Labels, Gauge>::default();
    let queue_pending = Family::<Labels, Gauge>::default();
    let oldest = Family::<Labels, Gauge>::default();
    let delivered = Family::<Labels, Counter>::default();
    let failed = Family::<Labels, Counter>::default();
    for h in channels {
        let ch = labels(&[("channel", &h.channel)]);
        for s in LinkState::ALL {
            state
                .get_or_create(&labels(&[
                    ("channel", &h.channel),
                    ("kind", &h.kind),
                    ("state", s.as_str()),
                ]))
                .set(i64::from(h.state == s));
        }
        if let Some(ms) = h.last_success_ms {
            last_success.get_or_create(&ch).set(ms / 1000);
        }
        failures
            .get_or_create(&ch)
            .set(i64::from(h.consecutive_failures));
        queue_due.get_or_create(&ch).set(to_i64(h.queue_due));
        queue_pending
            .get_or_create(&ch)
            .set(to_i64(h.queue_pending));
        oldest.get_or_create(&ch).set(to_i64(h.oldest_due_age_s));
        delivered.get_or_create(&ch).inc_by(h.delivered);
        failed.get_or_create(&ch).inc_by(h.failed_attempts);
        for p in &h.paths {
            for s in LinkState::ALL {
                path_state
                    .get_or_create(&labels(&[
                        ("channel", &h.channel),
                        ("path", &p.name),
                        ("state", s.as_str()),
                    ]))
                    .set(i64::from(p.state == s));
            }
            if let Some(ms) = p.last_success_ms {
                path_last_success
                    .get_or_create(&labels(&[("channel", &h.channel), ("path", &p.name)]))
                    .set(ms / 1000);
            }
        }
    }
    registry.register(
        "channel_state",
        "Delivery channel state: 1 for the current one of unknown, up, degraded, down",
        state,
    );
    registry.register(
        "channel_last_success_timestamp_seconds",
        "When the channel last delivered, Unix seconds",
        last_success,
    );
    registry.register(
        "channel_consecutive_failures",
        "Failed tries since the channel's last success",
        failures,
    );
    registry.register(
        "channel_queue_due",
        "Deliveries due and not yet made",
        queue_due,
    );
    registry.register(
        "channel_queue_pending",
        "Deliveries waiting, due or not (later escalation tiers)",
        queue_pending,
    );
    registry.register(
        "channel_oldest_due_age_seconds",
        "How long the oldest due delivery has waited",
        oldest,
    );
    registry.register(
        "channel_delivered",
        "Deliveries made since start",
        delivered,
    );
    registry.register(
        "channel_failed_attempts",
        "Failed delivery tries since start",
        failed,
    );
    registry.register(
        "channel_path_state",
        "Receiver path state: 1 for the current one of unknown, up, degraded, down",
        path_state,
    );
    registry.register(
        "channel_path_last_success_timestamp_seconds",
        "When the path last answered, Unix seconds",
        path_last_success,
    );
}

/// SMS channels' modems: gammu-smsd alive, network registration, signal, and the
/// commands received from people's phones (and from unlisted numbers).
fn register_modems(registry: &mut Registry, channels: &[ChannelHealth]) {
    let modems: Vec<_> = channels
        .iter()
        .filter_map(|h| Some((h.channel.as_str(), h.modem.as_ref()?)))
        .collect();
    if modems.is_empty() {
        return;
    }
    let alive = Family::<Labels, Gauge>::default();
    let registered = Family::<Labels, Gauge>::default();
    let signal = Family::<Labels, Gauge>::default();
    let received = Family::<Labels, Counter>::default();
    let unlisted = Family::<Labels, Counter>::default();
    let wrong = Family::<Labels, Counter>::default();
    for (channel, m) in modems {
        let ch = labels(&[("channel", channel)]);
        alive.get_or_create(&ch).set(i64::from(m.daemon_alive));
        registered.get_or_create(&ch).set(i64::from(m.registered));
        signal.get_or_create(&ch).set(m.signal_percent);
        received.get_or_create(&ch).inc_by(m.commands_received);
        unlisted.get_or_create(&ch).inc_by(m.from_unlisted);
        wrong.get_or_create(&ch).inc_by(m.wrong_codes);
    }
    registry.register(
        "sms_daemon_alive",
        "gammu-smsd refreshed its status within the channel's lost_after_s: 1 or 0",
        alive,
    );
    registry.register(
        "sms_modem_registered",
        "The SMS modem is registered on a mobile network: 1 or 0",
        registered,
    );
    registry.register(
        "sms_modem_signal_percent",
        "The SMS modem's signal strength, percent (-1 unknown)",
        signal,
    );
    registry.register(
        "sms_commands_received",
        "SMS read from people's phones and unlisted numbers since start",
        received,
    );
    registry.register(
        "sms_from_unlisted",
        "SMS from numbers no person has, ignored, since start",
        unlisted,
    );
    registry.register(
        "sms_wrong_codes",
        "SMS commands refused for a wrong code since start",
        wrong,
    );
}

/// Messages over the size limits, by direction: `in`, sensor payloads rejected as larger
/// than the decoder takes; `out`, picket's own messages not published because they would
/// exceed the packet limit.
fn register_oversized(registry: &mut Registry, effects: &Effects) {
    let incoming = effects.health.mqtt.get().map(|m| count(&m.oversized));
    let outgoing = effects
        .health
        .mqtt_commands
        .get()
        .map(|c| count(&c.oversized));
    if incoming.is_none() && outgoing.is_none() {
        return;
    }
    let family = Family::<Labels, Counter>::default();
    for (direction, n) in [("in", incoming), ("out", outgoing)] {
        if let Some(n) = n {
            family
                .get_or_create(&labels(&[("direction", direction)]))
                .inc_by(n);
        }
    }
    registry.register(
        "mqtt_oversized",
        "MQTT messages over the size limits: sensor payloads rejected (in), picket's own not published (out)",
        family,
    );
}

fn register_tasks(registry: &mut Registry, tasks: &[TaskStatus]) {
    let up = Family::<Labels, Gauge>::default();
    let panics = Family::<Labels, Counter>::default();
    for t in tasks {
        let l = labels(&[("task", &t.name), ("kind", t.kind.as_str())]);
        up.get_or_create(&l).set(i64::from(t.running));
        panics.get_or_create(&l).inc_by(t.panics);
    }
    registry.register(
        "task_up",
        "1 while the supervised task runs; 0 from a panic until it is restarted",
        up,
    );
    registry.register(
        "task_panics",
        "Panics of the supervised task since start (each one restarted)",
        panics,
    );
}

/// What one camera series reads from a camera's health.
type CameraSeries<T> = (&'static str, &'static str, fn(&CameraHealth) -> Option<T>);

fn register_cameras(registry: &mut Registry, cameras: &[CameraHealth]) {
    let gauges: [CameraSeries<i64>; 5] = [
        (
            "camera_online",
            "1 while frames arrive from the camera",
            |h| Some(i64::from(h.online)),
        ),
        (
            "camera_last_keyframe_timestamp_seconds",
            "When the camera's last keyframe arrived, Unix seconds",
            |h| h.last_keyframe_ms.map(|ms| ms / 1000),
        ),
        (
            "camera_motion",
            "1 while the camera's analysis sees motion (analysed cameras only)",
            |h| h.analysing.then_some(i64::from(h.motion)),
        ),
        (
            "camera_tamper",
            "1 while the camera's analysis sees it covered, defocused or turned away",
            |h| h.analysing.then_some(i64::from(h.tamper.is_some())),
        ),
        (
            "camera_thumbnail_timestamp_seconds",
            "When the page's thumbnail was last taken, Unix seconds",
            |h| h.thumbnail_ms.map(|ms| ms / 1000),
        ),
    ];
    let rates: [CameraSeries<f64>; 2] = [
        (
            "camera_fps",
            "Frames per second over the last seconds",
            |h| Some(h.fps),
        ),
        (
            "camera_kbit_s",
            "Kilobits per second over the last seconds",
            |h| Some(h.kbit_s),
        ),
    ];
    let counters: [CameraSeries<u64>; 5] = [
        ("camera_frames", "Frames received since start", |h| {
            Some(h.frames)
        }),
        (
            "camera_reconnects",
            "Connections made after the first",
            |h| Some(h.reconnects),
        ),
        (
            "camera_video_losses",
            "Times the picture was declared lost",
            |h| Some(h.losses),
        ),
        (
            "camera_analysed_frames",
            "Pictures decoded by the camera's analysis",
            |h| h.analysing.then_some(h.analysed_frames),
        ),
        (
            "camera_analysis_skipped_frames",
            "Frames the analysis skipped to catch up (to the next keyframe)",
            |h| h.analysing.then_some(h.analysis_skipped),
        ),
    ];
    let label = |h: &CameraHealth| labels(&[("camera", &h.camera)]);
    for (name, help, read) in gauges {
        let family = Family::<Labels, Gauge>::default();
        for h in cameras {
            if let Some(v) = read(h) {
                family.get_or_create(&label(h)).set(v);
            }
        }
        registry.register(name, help, family);
    }
    for (name, help, read) in rates {
        let family = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        for h in cameras {
            if let Some(v) = read(h) {
                family.get_or_create(&label(h)).set(v);
            }
        }
        registry.register(name, help, family);
    }
    for (name, help, read) in counters {
        let family = Family::<Labels, Counter>::default();
        for h in cameras {
            if let Some(v) = read(h) {
                family.get_or_create(&label(h)).inc_by(v);
            }
        }
        registry.register(name, help, family);
    }
}

/// The same figures as JSON, for the page.
pub fn health_json(effects: &Effects) -> Value {
    let stats = &effects.stats;
    let mqtt = effects.health.mqtt.get().map(|m| {
        json!({
            "connected": m.connected.load(Ordering::Relaxed),
            "received": count(&m.received),
            "rejected": count(&m.rejected),
            "last_error": m.last_error.lock().map(|e| e.clone()).unwrap_or_default(),
        })
    });
    json!({
        "journal": {
            "failing": stats.journal_failing(),
            "commits": count(&stats.committed),
            "commit_failures": count(&stats.commit_failures),
        },
        "open_alarms": effects.changes.panel().alarms.len(),
        "mqtt": mqtt,
        "channels": channels(effects),
        "cameras": cameras(effects),
        "tasks": effects.health.tasks.snapshot(),
    })
}
