//! A long, realistic history written through the journal's own writer (so the hash chain
//! is real): what `picket bench --web` pages through on a million events, and what the
//! event log's tests filter on a hundred thousand. Sensors take turns opening and closing,
//! every tenth event is an arming or disarming by one of three people, every fiftieth a
//! fire alarm, every fiftieth (offset) a trouble; one event a second from `start`.

use crate::engine::{Category, ContactId, Event, EventKind, Outcome, Qualifier, Site, Timestamp};
use crate::journal::{JournalError, Writer};

/// Events per transaction: large, so filling a million takes seconds, not minutes.
const BATCH: usize = 2000;

/// The people who arm and disarm in the sample.
pub const PEOPLE: [&str; 3] = ["lan", "minh", "quang"];

/// The `i`-th event of the sample, at `start + i` seconds, on the site's sensors in turn.
pub fn sample_event(site: &Site, i: usize, start: Timestamp) -> Event {
    sample_event_every(site, i, start, 1000)
}

/// The `i`-th event of the sample, `step_ms` after the one before.
fn sample_event_every(site: &Site, i: usize, start: Timestamp, step_ms: i64) -> Event {
    let sensors: Vec<_> = site.sensors.values().collect();
    let sensor = sensors.get(i % sensors.len().max(1));
    let zone = sensor.and_then(|s| site.zones.get(&s.zone));
    let at = Timestamp(start.0 + i64::try_from(i).unwrap_or(i64::MAX) * step_ms);
    let mut event = Event {
        at,
        kind: EventKind::SensorChanged,
        category: Category::Status,
        code: None,
        qualifier: Qualifier::Status,
        area: zone.map(|z| z.area.clone()),
        zone: zone.map(|z| z.id.clone()),
        zone_number: sensor.map(|s| s.number),
        area_number: None,
        sensor: sensor.map(|s| s.id.clone()),
        alarm: None,
        user: None,
        message_vi: "Cảm biến đổi trạng thái".into(),
        message_en: "Sensor changed".into(),
        source_ref: None,
    };
    if i.is_multiple_of(10) {
        let arming = (i / 10).is_multiple_of(2);
        event.kind = if arming {
            EventKind::Armed
        } else {
            EventKind::Disarmed
        };
        event.category = Category::Arming;
        event.code = Some(ContactId(401));
        event.qualifier = if arming {
            Qualifier::Restore
        } else {
            Qualifier::New
        };
        event.zone = None;
        event.sensor = None;
        event.user = Some(PEOPLE[(i / 10) % PEOPLE.len()].to_string());
        (event.message_vi, event.message_en) = if arming {
            ("Đã bật báo động".into(), "Armed".into())
        } else {
            ("Đã tắt báo động".into(), "Disarmed".into())
        };
    } else if let Some((kind, category, code, vi, en)) = match i % 50 {
        5 => Some((
            EventKind::AlarmRaised,
            Category::Fire,
            110,
            "Báo cháy",
            "Fire alarm",
        )),
        7 => Some((
            EventKind::Trouble,
            Category::Trouble,
            384,
            "Pin yếu",
            "Low battery",
        )),
        _ => None,
    } {
        event.kind = kind;
        event.category = category;
        event.code = Some(ContactId(code));
        event.qualifier = Qualifier::New;
        event.message_vi = vi.into();
        event.message_en = en.into();
    }
    event
}

/// Appends `count` sample events, one a second, `BATCH` to a transaction.
pub async fn write_sample_history(
    writer: &mut Writer,
    site: &Site,
    count: usize,
    start: Timestamp,
) -> Result<(), JournalError> {
    write_sample_history_every(writer, site, count, start, 1000).await
}

/// Appends `count` sample events, `step_ms` apart (a year's worth, for reports).
pub async fn write_sample_history_every(
    writer: &mut Writer,
    site: &Site,
    count: usize,
    start: Timestamp,
    step_ms: i64,
) -> Result<(), JournalError> {
    let mut i = 0;
    while i < count {
        let end = (i + BATCH).min(count);
        let outcome = Outcome {
            events: (i..end)
                .map(|n| sample_event_every(site, n, start, step_ms))
                .collect(),
            ..Outcome::default()
        };
        writer.commit(&[&outcome]).await?;
        i = end;
    }
    Ok(())
}
