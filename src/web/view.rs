//! What the page and the API show, built from the daemon's live state ([`Effects`]) and the
//! journal: areas with their modes, open alarms with who was told, sensors, cameras, and
//! the health of every link. Names are the configured ones in the reader's language;
//! times are in the site's time zone. Templates escape every string (sensor names,
//! notes, messages all come from people or devices).

use serde::Serialize;

use super::i18n::Lang;
use crate::channels::LinkState;
use crate::engine::state::{AreaState, SensorState};
use crate::engine::{Alarm, AlarmState, Mode, Site, Timestamp};
use crate::journal::DeliveryState;
use crate::shared::effects::Effects;

/// Times as people read them: the site's zone.
#[derive(Debug, Clone)]
pub struct Clock {
    /// The site's time zone.
    pub tz: jiff::tz::TimeZone,
}

impl Clock {
    /// `2026-12-01 02:14:05` in the site's zone.
    pub fn full(&self, ms: i64) -> String {
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| {
                t.to_zoned(self.tz.clone())
                    .strftime("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default()
    }

    /// `02:14:05` in the site's zone.
    pub fn time(&self, ms: i64) -> String {
        jiff::Timestamp::from_millisecond(ms)
            .map(|t| t.to_zoned(self.tz.clone()).strftime("%H:%M:%S").to_string())
            .unwrap_or_default()
    }

    /// The zone's offset now, `+07:00`.
    pub fn offset(&self) -> String {
        jiff::Timestamp::now()
            .to_zoned(self.tz.clone())
            .strftime("%:z")
            .to_string()
    }
}

/// How long ago, short: `45 s`, `12 min`, `3 h`, `2 d`.
pub fn ago(now_ms: i64, then_ms: i64) -> String {
    let s = (now_ms - then_ms).max(0) / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min", s / 60),
        3600..=172_799 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

/// An area as shown.
#[derive(Debug, Clone, Serialize)]
pub struct AreaView {
    /// Id.
    pub id: String,
    /// Name in the reader's language.
    pub name: String,
    /// `disarmed`, `armed_away`, …
    pub mode: String,
    /// The mode in words.
    pub mode_text: String,
    /// Armed (or arming).
    pub armed: bool,
    /// An exit delay runs.
    pub arming: bool,
    /// An entry delay runs.
    pub entry: bool,
    /// A walk test runs.
    pub walk_test: bool,
    /// Zones tested in the running walk test.
    pub tested: Vec<String>,
    /// Zones not yet tested in it.
    pub untested: Vec<String>,
}

/// An open alarm as shown.
#[derive(Debug, Clone, Serialize)]
pub struct AlarmView {
    /// Id.
    pub id: u64,
    /// Category (`fire`, `burglary`…), also its CSS class.
    pub category: String,
    /// Contact ID code.
    pub code: u16,
    /// What it is, in the reader's language.
    pub what: String,
    /// Area name.
    pub area: String,
    /// Zone name.
    pub zone: String,
    /// Confirmed by a second detector.
    pub confirmed: bool,
    /// Cancelled in the abort window.
    pub cancelled: bool,
    /// Not yet acknowledged.
    pub raised: bool,
    /// State in words.
    pub state_text: String,
    /// Raised at, site time.
    pub raised_at: String,
    /// How long ago.
    pub age: String,
    /// Who acknowledged.
    pub acknowledged_by: String,
    /// Who was told: `channel (state)`.
    pub told: Vec<String>,
}

/// A sensor as shown.
#[derive(Debug, Clone, Serialize)]
pub struct SensorView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Zone id.
    pub zone_id: String,
    /// Zone name.
    pub zone: String,
    /// Area name.
    pub area: String,
    /// Detecting now.
    pub active: bool,
    /// Its zone is bypassed.
    pub bypassed: bool,
    /// Trouble words (tamper, battery low, not heard, video lost).
    pub troubles: Vec<String>,
    /// Last heard, or "never".
    pub last_heard: String,
}

/// A camera as shown.
#[derive(Debug, Clone, Serialize)]
pub struct CameraView {
    /// Id.
    pub id: String,
    /// Frames arrive.
    pub online: bool,
    /// `12.5 fps, 1280×720`.
    pub detail: String,
    /// Has a thumbnail yet.
    pub has_thumbnail: bool,
    /// The last error, if any.
    pub error: String,
}

/// One link's health, for the strip.
#[derive(Debug, Clone, Serialize)]
pub struct LinkView {
    /// What it is.
    pub name: String,
    /// `ok`, `bad`, `warn`: its CSS class.
    pub class: String,
    /// Its state in words.
    pub state: String,
}

/// Mode in words.
pub fn mode_text(mode: Mode, lang: Lang) -> &'static str {
    let t = lang.t();
    match mode {
        Mode::Disarmed => t.mode_disarmed,
        Mode::ArmedAway => t.mode_armed_away,
        Mode::ArmedHome => t.mode_armed_home,
        Mode::ArmedNight => t.mode_armed_night,
    }
}

/// The areas, in the site's order.
pub fn areas(
    site: &Site,
    states: &[AreaState],
    untested: impl Fn(&str) -> Vec<String>,
    lang: Lang,
) -> Vec<AreaView> {
    states
        .iter()
        .filter_map(|a| {
            let def = site.areas.get(&a.area)?;
            let zone_name = |z: &String| {
                site.zones
                    .get(z)
                    .map(|d| lang.pick(&d.names.vi, &d.names.en).to_string())
                    .unwrap_or_else(|| z.clone())
            };
            Some(AreaView {
                id: a.area.clone(),
                name: lang.pick(&def.names.vi, &def.names.en).to_string(),
                mode: a.mode.as_str().to_string(),
                mode_text: mode_text(a.mode, lang).to_string(),
                armed: a.is_armed(),
                arming: a.exit_until.is_some(),
                entry: a.entry.is_some(),
                walk_test: a.walk_test.is_some(),
                tested: a
                    .walk_test
                    .as_ref()
                    .map(|w| w.tested.iter().map(zone_name).collect())
                    .unwrap_or_default(),
                untested: if a.walk_test.is_some() {
                    untested(&a.area).iter().map(zone_name).collect()
                } else {
                    Vec::new()
                },
            })
        })
        .collect()
}

/// An alarm as shown; `told` from the journal.
pub fn alarm(
    site: &Site,
    a: &Alarm,
    told: &[(String, DeliveryState)],
    now_ms: i64,
    clock: &Clock,
    lang: Lang,
) -> AlarmView {
    let t = lang.t();
    let area = site
        .areas
        .get(&a.area)
        .map(|d| lang.pick(&d.names.vi, &d.names.en).to_string())
        .unwrap_or_else(|| a.area.clone());
    let zone = a
        .zone
        .as_ref()
        .and_then(|z| site.zones.get(z))
        .map(|d| lang.pick(&d.names.vi, &d.names.en).to_string())
        .unwrap_or_default();
    AlarmView {
        id: a.id,
        category: a.category.as_str().to_string(),
        code: a.code.0,
        what: lang.pick(a.code.name_vi(), a.code.name_en()).to_string(),
        area,
        zone,
        confirmed: a.confirmed,
        cancelled: a.cancelled,
        raised: a.state == AlarmState::Raised,
        state_text: match a.state {
            AlarmState::Raised => t.state_raised,
            AlarmState::Acknowledged => t.state_acknowledged,
            AlarmState::Resolved => t.state_resolved,
        }
        .to_string(),
        raised_at: clock.full(a.raised_at.0),
        age: ago(now_ms, a.raised_at.0),
        acknowledged_by: a.acknowledged_by.clone().unwrap_or_default(),
        told: told
            .iter()
            .map(|(channel, state)| format!("{channel} ({})", delivery_word(*state, lang)))
            .collect(),
    }
}

/// Every sensor, in the site's order of zones.
pub fn sensors(
    site: &Site,
    states: &[SensorState],
    areas: &[AreaState],
    now_ms: i64,
    lang: Lang,
) -> Vec<SensorView> {
    let t = lang.t();
    let mut out: Vec<SensorView> = states
        .iter()
        .filter_map(|s| {
            let def = site.sensors.get(&s.sensor)?;
            let zone = site.zones.get(&def.zone)?;
            let area = site.areas.get(&zone.area)?;
            let bypassed = areas
                .iter()
                .any(|a| a.area == zone.area && a.bypassed.contains_key(&zone.id));
            let mut troubles = Vec::new();
            for (on, word) in [
                (s.tamper, t.tamper),
                (s.battery_low, t.battery_low),
                (s.missing, t.missing),
                (s.video_loss, t.video_lost),
            ] {
                if on {
                    troubles.push(word.to_string());
                }
            }
            Some(SensorView {
                id: s.sensor.clone(),
                name: lang.pick(&def.names.vi, &def.names.en).to_string(),
                zone_id: zone.id.clone(),
                zone: lang.pick(&zone.names.vi, &zone.names.en).to_string(),
                area: lang.pick(&area.names.vi, &area.names.en).to_string(),
                active: s.active,
                bypassed,
                troubles,
                last_heard: s
                    .last_seen
                    .map(|at: Timestamp| ago(now_ms, at.0))
                    .unwrap_or_else(|| t.never.to_string()),
            })
        })
        .collect();
    out.sort_by_key(|s| (site.zones.get(&s.zone_id).map(|z| z.number), s.id.clone()));
    out
}

/// Every camera.
pub fn cameras(effects: &Effects) -> Vec<CameraView> {
    crate::shared::lock::copies(&effects.health.cameras)
        .into_iter()
        .map(|c| CameraView {
            id: c.camera.clone(),
            online: c.online,
            detail: if c.online {
                format!("{:.1} fps, {}×{}", c.fps, c.width, c.height)
            } else {
                String::new()
            },
            has_thumbnail: c.thumbnail.is_some(),
            error: c.last_error.unwrap_or_default(),
        })
        .collect()
}

/// A link state's style class and its word in `lang`.
pub fn link_word(state: LinkState, lang: Lang) -> (&'static str, &'static str) {
    let t = lang.t();
    match state {
        LinkState::Up => ("ok", t.up),
        LinkState::Degraded => ("warn", t.degraded),
        LinkState::Down => ("bad", t.down),
        LinkState::Unknown => ("muted", t.unknown),
    }
}

/// A delivery's state in the page's language.
fn delivery_word(state: DeliveryState, lang: Lang) -> &'static str {
    let t = lang.t();
    match state {
        DeliveryState::Pending => t.told_pending,
        DeliveryState::Sent => t.told_sent,
        DeliveryState::Acknowledged => t.told_acknowledged,
        DeliveryState::Failed => t.told_failed,
        DeliveryState::Skipped => t.told_skipped,
    }
}

fn link(name: String, state: LinkState, lang: Lang) -> LinkView {
    let (class, word) = link_word(state, lang);
    LinkView {
        name,
        class: class.into(),
        state: word.into(),
    }
}

/// The health of every link: the journal, the local broker, each channel and each of its
/// paths, each camera, and the clock.
pub fn links(effects: &Effects, clock: &Clock, lang: Lang) -> Vec<LinkView> {
    use std::sync::atomic::Ordering;
    let t = lang.t();
    let mut out = vec![link(
        t.journal.into(),
        if effects.stats.journal_failing() {
            LinkState::Down
        } else {
            LinkState::Up
        },
        lang,
    )];
    if let Some(mqtt) = effects.health.mqtt.get() {
        let up = mqtt.connected.load(Ordering::Relaxed);
        out.push(link(
            t.local_broker.into(),
            if up { LinkState::Up } else { LinkState::Down },
            lang,
        ));
    }
    for c in crate::shared::lock::copies(&effects.health.channels) {
        if c.paths.is_empty() {
            out.push(link(c.channel.clone(), c.state, lang));
        }
        for p in &c.paths {
            out.push(link(format!("{} {}", c.channel, p.name), p.state, lang));
        }
    }
    for cam in crate::shared::lock::copies(&effects.health.cameras) {
        out.push(link(
            format!("camera {}", cam.camera),
            if cam.online {
                LinkState::Up
            } else {
                LinkState::Down
            },
            lang,
        ));
    }
    for task in effects.health.tasks.down() {
        out.push(link(task, LinkState::Down, lang));
    }
    out.push(LinkView {
        name: t.clock.into(),
        class: "muted".into(),
        state: format!(
            "{} (UTC{})",
            clock.time(jiff::Timestamp::now().as_millisecond()),
            clock.offset()
        ),
    });
    out
}
