//! Cross-checks a parsed [`Config`]: references that point nowhere, duplicate ids,
//! values out of range, and secrets that cannot be read. Every problem is reported,
//! not just the first.

use std::collections::{BTreeMap, BTreeSet};

use std::path::Path;

use super::model::{Config, MqttTls, SourceBinding, ZoneType};
use super::secret::{self, Secret, SecretKeys};

/// One problem found: the key path and what is wrong with it.
pub(super) type Problem = (String, String);

/// Checks everything and resolves secrets in place.
pub(super) fn validate(config: &mut Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_site(config, &mut problems);
    check_panel(config, &mut problems);
    check_web(config, &mut problems);
    check_reports(config, &mut problems);
    let areas = unique_ids(
        "areas",
        config.areas.iter().map(|a| a.id.as_str()),
        &mut problems,
    );
    let zones = unique_ids(
        "zones",
        config.zones.iter().map(|z| z.id.as_str()),
        &mut problems,
    );
    unique_ids(
        "sensors",
        config.sensors.iter().map(|s| s.id.as_str()),
        &mut problems,
    );
    unique_ids(
        "outputs",
        config.outputs.iter().map(|o| o.id.as_str()),
        &mut problems,
    );
    let cameras = unique_ids(
        "cameras",
        config.cameras.iter().map(|c| c.id.as_str()),
        &mut problems,
    );
    let mut area_numbers = std::collections::BTreeMap::new();
    for (i, area) in config.areas.iter().enumerate() {
        if let Some(number) = area.number {
            if !(1..=99).contains(&number) {
                problems.push((format!("areas[{i}].number"), "must be within 1..99".into()));
            } else if let Some(first) = area_numbers.insert(number, i) {
                problems.push((
                    format!("areas[{i}].number"),
                    format!("area number {number} is already used by areas[{first}]"),
                ));
            }
        }
        in_range(
            &format!("areas[{i}].exit_delay_s"),
            area.exit_delay_s,
            0,
            600,
            &mut problems,
        );
        in_range(
            &format!("areas[{i}].entry_delay_s"),
            area.entry_delay_s,
            0,
            600,
            &mut problems,
        );
        if let Some(schedule) = &area.arm_schedule
            && let Err(e) = super::daily::DailyWindow::parse(schedule)
        {
            problems.push((format!("areas[{i}].arm_schedule"), e));
        }
        in_range(
            &format!("areas[{i}].arm_grace_min"),
            area.arm_grace_min,
            0,
            240,
            &mut problems,
        );
    }
    check_zones(config, &areas, &mut problems);
    check_sensors(config, &zones, &cameras, &mut problems);
    for (i, output) in config.outputs.iter().enumerate() {
        for (j, area) in output.areas.iter().enumerate() {
            if !areas.contains(area.as_str()) {
                problems.push((
                    format!("outputs[{i}].areas[{j}]"),
                    format!("unknown area `{area}`{}", known(&areas)),
                ));
            }
        }
    }
    for (i, camera) in config.cameras.iter().enumerate() {
        for (j, zone) in camera.zones.iter().enumerate() {
            if !zones.contains(zone.as_str()) {
                problems.push((
                    format!("cameras[{i}].zones[{j}]"),
                    format!("unknown zone `{zone}`{}", known(&zones)),
                ));
            }
        }
        check_camera_url(&format!("cameras[{i}].url"), &camera.url, &mut problems);
        if let Some(analysis) = &camera.analysis {
            check_analysis(&format!("cameras[{i}].analysis"), analysis, &mut problems);
        }
        in_range(
            &format!("cameras[{i}].stall_timeout_s"),
            camera.stall_timeout_s,
            1,
            60,
            &mut problems,
        );
        let watched = config
            .sensors
            .iter()
            .any(|s| matches!(&s.source, SourceBinding::Camera { camera: c } if *c == camera.id));
        if !watched {
            problems.push((
                format!("cameras[{i}]"),
                format!(
                    "no sensor is bound to camera `{0}`, so its video loss would reach no one; \
                     add a [[sensors]] entry with kind = \"camera\" and \
                     source = {{ kind = \"camera\", camera = \"{0}\" }}",
                    camera.id
                ),
            ));
        }
    }
    in_range(
        "evidence.retention_days",
        config.evidence.retention_days,
        1,
        3650,
        &mut problems,
    );
    in_range(
        "evidence.max_total_mb",
        config.evidence.max_total_mb,
        16,
        1_048_576,
        &mut problems,
    );
    if let Some(mqtt) = &config.mqtt {
        in_range(
            "mqtt.keep_alive_s",
            mqtt.keep_alive_s,
            5,
            600,
            &mut problems,
        );
        in_range(
            "mqtt.broker_loss_grace_s",
            mqtt.broker_loss_grace_s,
            5,
            3600,
            &mut problems,
        );
        if mqtt.port == 0 {
            problems.push(("mqtt.port".into(), "must be within 1..65535".into()));
        }
        if let Some(tls) = &mqtt.tls {
            check_tls("mqtt.tls", tls, &mut problems);
        }
    }
    for (i, sensor) in config.sensors.iter().enumerate() {
        if let SourceBinding::Mqtt {
            topic,
            profile,
            pointer,
            ..
        } = &sensor.source
        {
            if topic.is_empty() || topic.contains(['+', '#']) {
                problems.push((
                    format!("sensors[{i}].source.topic"),
                    "must be a concrete topic without wildcards".into(),
                ));
            }
            if pointer.is_some() && *profile != super::model::MqttProfile::Generic {
                problems.push((
                    format!("sensors[{i}].source.pointer"),
                    "only the generic profile takes a JSON pointer".into(),
                ));
            }
            if let Some(p) = pointer.as_deref().filter(|p| !p.starts_with('/')) {
                problems.push((
                    format!("sensors[{i}].source.pointer"),
                    format!("`{p}` is not a JSON pointer; it must start with /"),
                ));
            }
        }
    }
    check_pins(config, &areas, &mut problems);
    resolve_secrets(config, &mut problems);
    super::check_delivery::check_delivery(config, &mut problems);
    problems
}

/// BCM pins 0–27, each used once, and a `[gpio]` section when any is used.
fn check_pins(config: &Config, areas: &BTreeSet<&str>, problems: &mut Vec<Problem>) {
    let mut used: BTreeMap<u8, String> = BTreeMap::new();
    let mut claim = |pin: u8, path: String, problems: &mut Vec<Problem>| {
        if pin > 27 {
            problems.push((path, format!("BCM pin {pin} does not exist; use 0..27")));
        } else if let Some(first) = used.insert(pin, path.clone()) {
            problems.push((path, format!("pin {pin} is already used by {first}")));
        }
    };
    for (i, sensor) in config.sensors.iter().enumerate() {
        if let SourceBinding::Gpio {
            pin,
            tamper_pin,
            debounce_ms,
            ..
        } = &sensor.source
        {
            claim(*pin, format!("sensors[{i}].source.pin"), problems);
            if let Some(t) = tamper_pin {
                claim(*t, format!("sensors[{i}].source.tamper_pin"), problems);
            }
            in_range(
                &format!("sensors[{i}].source.debounce_ms"),
                *debounce_ms,
                1,
                1000,
                problems,
            );
        }
    }
    for (i, output) in config.outputs.iter().enumerate() {
        if let Some(pin) = output.pin {
            claim(pin, format!("outputs[{i}].pin"), problems);
            if config.gpio.is_none() {
                problems.push((
                    format!("outputs[{i}].pin"),
                    "an output on a pin needs a [gpio] section".into(),
                ));
            }
        }
    }
    if let Some(gpio) = &config.gpio {
        for (i, k) in gpio.keyswitches.iter().enumerate() {
            claim(k.pin, format!("gpio.keyswitches[{i}].pin"), problems);
            if let Some(n) = k.number {
                in_range(
                    &format!("gpio.keyswitches[{i}].number"),
                    n,
                    1,
                    999,
                    problems,
                );
            }
            if !areas.contains(k.area.as_str()) {
                problems.push((
                    format!("gpio.keyswitches[{i}].area"),
                    format!("unknown area `{}`{}", k.area, known(areas)),
                ));
            }
        }
    }
}

fn check_site(config: &Config, problems: &mut Vec<Problem>) {
    let site = &config.site;
    if site.name.trim().is_empty() {
        problems.push(("site.name".into(), "must not be empty".into()));
    }
    if jiff::tz::TimeZone::get(&site.timezone).is_err() {
        problems.push((
            "site.timezone".into(),
            format!(
                "unknown time zone `{}`; use an IANA name such as Asia/Ho_Chi_Minh",
                site.timezone
            ),
        ));
    }
    if let Some(c) = site.coordinates {
        if !(-90.0..=90.0).contains(&c.lat) {
            problems.push((
                "site.coordinates.lat".into(),
                "must be within −90..90".into(),
            ));
        }
        if !(-180.0..=180.0).contains(&c.lon) {
            problems.push((
                "site.coordinates.lon".into(),
                "must be within −180..180".into(),
            ));
        }
    }
}

fn check_reports(config: &Config, problems: &mut Vec<Problem>) {
    let reports = &config.reports;
    in_range(
        "reports.late_delivery_s",
        reports.late_delivery_s,
        1,
        3600,
        problems,
    );
    let scheduled = reports.monthly.is_some() || reports.quarterly.is_some();
    for (key, font) in [("font", &reports.font), ("bold_font", &reports.bold_font)] {
        if scheduled && !font.is_file() {
            problems.push((
                format!("reports.{key}"),
                format!(
                    "{} is not a font file; scheduled reports are PDFs set in it \
                     (install fonts-dejavu-core, or name another TrueType font)",
                    font.display()
                ),
            ));
        }
    }
    for (key, scheduled) in [
        ("monthly", &reports.monthly),
        ("quarterly", &reports.quarterly),
    ] {
        let Some(scheduled) = scheduled else { continue };
        if let Err(e) = super::daily::time_of_day(&scheduled.at) {
            problems.push((format!("reports.{key}.at"), e));
        }
        if scheduled.channels.is_empty() {
            problems.push((
                format!("reports.{key}.channels"),
                "name at least one email channel to send the report through".into(),
            ));
        }
        for (j, id) in scheduled.channels.iter().enumerate() {
            match config.channels.iter().find(|c| c.id() == id) {
                Some(super::Channel::Email(_)) => {}
                Some(other) => problems.push((
                    format!("reports.{key}.channels[{j}]"),
                    format!(
                        "channel `{id}` is of type {}; a report (a PDF) goes only by email",
                        other.kind()
                    ),
                )),
                None => problems.push((
                    format!("reports.{key}.channels[{j}]"),
                    format!("unknown channel `{id}`"),
                )),
            }
        }
    }
}

fn check_web(config: &Config, problems: &mut Vec<Problem>) {
    if let Some(web) = &config.web {
        if web.listen.parse::<std::net::SocketAddr>().is_err() {
            problems.push((
                "web.listen".into(),
                format!(
                    "`{}` is not an address and port; use e.g. 127.0.0.1:8080",
                    web.listen
                ),
            ));
        }
        in_range(
            "web.session_idle_min",
            web.session_idle_min,
            1,
            1440,
            problems,
        );
        if let Some(tls) = &web.tls {
            file_exists("web.tls.cert_file", Some(&tls.cert_file), problems);
            file_exists("web.tls.key_file", Some(&tls.key_file), problems);
        }
        if let Some(public) = &web.public_url {
            let scheme = url::Url::parse(public).map(|u| u.scheme().to_string());
            if !matches!(scheme.as_deref(), Ok("http" | "https")) {
                problems.push((
                    "web.public_url".into(),
                    format!("`{public}` is not an http(s) URL; use e.g. https://gate1.example.vn"),
                ));
            }
        }
    }
}

fn check_panel(config: &Config, problems: &mut Vec<Problem>) {
    let p = &config.panel;
    in_range("panel.siren_limit_s", p.siren_limit_s, 30, 900, problems);
    in_range(
        "panel.confirmation_window_s",
        p.confirmation_window_s,
        60,
        7200,
        problems,
    );
    in_range("panel.swinger_limit", p.swinger_limit, 1, 100, problems);
    in_range("panel.abort_window_s", p.abort_window_s, 0, 600, problems);
    in_range(
        "panel.walk_test_timeout_s",
        p.walk_test_timeout_s,
        60,
        14400,
        problems,
    );
}

fn check_zones(config: &Config, areas: &BTreeSet<&str>, problems: &mut Vec<Problem>) {
    let mut numbers: BTreeMap<u16, usize> = BTreeMap::new();
    for (i, zone) in config.zones.iter().enumerate() {
        if !areas.contains(zone.area.as_str()) {
            problems.push((
                format!("zones[{i}].area"),
                format!("unknown area `{}`{}", zone.area, known(areas)),
            ));
        }
        if let Some(delay) = zone.entry_delay_s {
            if zone.zone_type != ZoneType::EntryExit {
                problems.push((
                    format!("zones[{i}].entry_delay_s"),
                    "only entry_exit zones have an entry delay".into(),
                ));
            }
            in_range(
                &format!("zones[{i}].entry_delay_s"),
                delay,
                0,
                600,
                problems,
            );
        }
        if zone.armed_modes.is_some() && zone.zone_type.is_24h() {
            problems.push((
                format!("zones[{i}].armed_modes"),
                "24-hour zones are always active; armed_modes applies to burglary zones".into(),
            ));
        }
        if zone.auto_bypass && !zone.zone_type.is_burglary() {
            problems.push((
                format!("zones[{i}].auto_bypass"),
                format!(
                    "{} zones can never be bypassed automatically (nor shut down as swingers); \
                     only burglary zones can",
                    zone.zone_type.as_str()
                ),
            ));
        }
        if let Some(number) = zone.number {
            if !(1..=999).contains(&number) {
                problems.push((format!("zones[{i}].number"), "must be within 1..999".into()));
            } else if let Some(first) = numbers.insert(number, i) {
                problems.push((
                    format!("zones[{i}].number"),
                    format!("zone number {number} is already used by zones[{first}]"),
                ));
            }
        }
    }
}

fn check_sensors(
    config: &Config,
    zones: &BTreeSet<&str>,
    cameras: &BTreeSet<&str>,
    problems: &mut Vec<Problem>,
) {
    for (i, sensor) in config.sensors.iter().enumerate() {
        if !zones.contains(sensor.zone.as_str()) {
            problems.push((
                format!("sensors[{i}].zone"),
                format!("unknown zone `{}`{}", sensor.zone, known(zones)),
            ));
        }
        if let Some(n) = sensor.number {
            in_range(&format!("sensors[{i}].number"), n, 1, 999, problems);
        }
        if let Some(s) = sensor.supervision_s {
            in_range(
                &format!("sensors[{i}].supervision_s"),
                s,
                60,
                604_800,
                problems,
            );
        }
        let needs = match &sensor.source {
            SourceBinding::Feed if config.feed.is_none() => Some("[feed]"),
            SourceBinding::Mqtt { .. } if config.mqtt.is_none() => Some("[mqtt]"),
            SourceBinding::Gpio { .. } if config.gpio.is_none() => Some("[gpio]"),
            _ => None,
        };
        if let Some(section) = needs {
            problems.push((
                format!("sensors[{i}].source"),
                format!(
                    "a {} sensor needs a {section} section",
                    sensor.source.kind_name()
                ),
            ));
        }
        if let SourceBinding::Camera { camera } = &sensor.source
            && !cameras.contains(camera.as_str())
        {
            problems.push((
                format!("sensors[{i}].source.camera"),
                format!("unknown camera `{camera}`{}", known(cameras)),
            ));
        }
    }
}

fn resolve_secrets(config: &mut Config, problems: &mut Vec<Problem>) {
    if let Some(mqtt) = config.mqtt.as_mut() {
        mqtt.password = resolve(
            "mqtt.password",
            "password",
            mqtt.password.as_ref(),
            mqtt.password_file.as_deref(),
            mqtt.password_env.as_deref(),
            problems,
        );
    }
    for (i, camera) in config.cameras.iter_mut().enumerate() {
        camera.password = resolve(
            &format!("cameras[{i}].password"),
            "password",
            camera.password.as_ref(),
            camera.password_file.as_deref(),
            camera.password_env.as_deref(),
            problems,
        );
    }
}

/// A secret from its inline value, `*_file` or `*_env`; a problem when it cannot be read,
/// named by the key the installer wrote (`path_file`, `path_env`, or `path` when more than
/// one was given) so its line is the one to fix.
pub(super) fn resolve(
    path: &str,
    name: &str,
    inline: Option<&Secret>,
    file: Option<&Path>,
    env: Option<&str>,
    problems: &mut Vec<Problem>,
) -> Option<Secret> {
    match secret::resolve(name, SecretKeys { inline, file, env }) {
        Ok(value) => value,
        Err(message) => {
            let key = match (inline.is_some(), file.is_some(), env.is_some()) {
                (false, true, false) => format!("{path}_file"),
                (false, false, true) => format!("{path}_env"),
                _ => path.to_string(),
            };
            problems.push((key, message));
            None
        }
    }
}

/// PEM files of a TLS block exist, and a client certificate comes with its key.
pub(super) fn check_tls(path: &str, tls: &MqttTls, problems: &mut Vec<Problem>) {
    file_exists(&format!("{path}.ca_file"), Some(&tls.ca_file), problems);
    file_exists(
        &format!("{path}.client_cert_file"),
        tls.client_cert_file.as_deref(),
        problems,
    );
    file_exists(
        &format!("{path}.client_key_file"),
        tls.client_key_file.as_deref(),
        problems,
    );
    if tls.client_cert_file.is_some() != tls.client_key_file.is_some() {
        problems.push((
            path.to_string(),
            "give both client_cert_file and client_key_file, or neither".into(),
        ));
    }
}

/// A problem at `path` when the named file does not exist.
pub(super) fn file_exists(path: &str, file: Option<&Path>, problems: &mut Vec<Problem>) {
    if let Some(file) = file.filter(|f| !f.exists()) {
        problems.push((
            path.to_string(),
            format!("{} does not exist", file.display()),
        ));
    }
}

/// Ids must be unique within their section and safe in MQTT topics and URLs.
pub(super) fn unique_ids<'a>(
    section: &str,
    ids: impl Iterator<Item = &'a str>,
    problems: &mut Vec<Problem>,
) -> BTreeSet<&'a str> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, id) in ids.enumerate() {
        let path = format!("{section}[{i}].id");
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            problems.push((
                path.clone(),
                format!("id `{id}` must be non-empty lowercase ASCII letters, digits, _ or -"),
            ));
        }
        if let Some(first) = seen.insert(id, i) {
            problems.push((
                path,
                format!("duplicate id `{id}`, first used at {section}[{first}]"),
            ));
        }
    }
    seen.into_keys().collect()
}

/// An RTSP URL without credentials, or a simulated camera's `sim://<scene>`.
fn check_camera_url(path: &str, url: &str, problems: &mut Vec<Problem>) {
    if url.contains('@') {
        problems.push((
            path.to_string(),
            "put credentials in username/password_file, not in the URL".to_string(),
        ));
    } else if url.starts_with("sim://") {
        if super::sim_scene::Scene::from_url(url).is_none() {
            problems.push((
                path.to_string(),
                format!(
                    "`{url}` is no simulated scene; use sim://yard, sim://night, sim://still or sim://black"
                ),
            ));
        }
    } else if !(url.starts_with("rtsp://") || url.starts_with("rtsps://")) {
        problems.push((path.to_string(), format!("`{url}` is not an rtsp:// URL")));
    }
}

/// `[cameras.analysis]`: its stream and ranges.
fn check_analysis(path: &str, a: &super::CameraAnalysis, problems: &mut Vec<Problem>) {
    if let Some(url) = &a.url {
        check_camera_url(&format!("{path}.url"), url, problems);
    }
    in_range(&format!("{path}.fps"), a.fps, 0.5, 15.0, problems);
    in_range(
        &format!("{path}.sensitivity"),
        a.sensitivity,
        1,
        100,
        problems,
    );
    in_range(
        &format!("{path}.min_area_percent"),
        a.min_area_percent,
        0.1,
        100.0,
        problems,
    );
    for (j, [x, y, w, h]) in a.regions.iter().enumerate() {
        let inside = [*x, *y].iter().all(|v| (0.0..100.0).contains(v))
            && *w > 0.0
            && *h > 0.0
            && x + w <= 100.0
            && y + h <= 100.0;
        if !inside {
            problems.push((
                format!("{path}.regions[{j}]"),
                format!(
                    "[{x}, {y}, {w}, {h}] is not a rectangle inside the picture; give \
                     [x, y, width, height] in percent, with x + width and y + height at most 100"
                ),
            ));
        }
    }
}

pub(super) fn in_range<T: PartialOrd + std::fmt::Display>(
    path: &str,
    value: T,
    min: T,
    max: T,
    problems: &mut Vec<Problem>,
) {
    if value < min || value > max {
        problems.push((
            path.to_string(),
            format!("{value} is out of range; allowed {min}..={max}"),
        ));
    }
}

pub(super) fn known(ids: &BTreeSet<&str>) -> String {
    if ids.is_empty() {
        " (none are defined)".to_string()
    } else {
        format!(
            " (known: {})",
            ids.iter().copied().collect::<Vec<_>>().join(", ")
        )
    }
}
