//! Whether the equipment worked: for each camera, supervised sensor, receiver path, the
//! broker and the journal, the share of the period it was up, from the trouble events
//! that begin and end its outages (a camera's 380 "video lost" and 381, a sensor's 381, a
//! gateway trouble's subject in its `source_ref`); the longest outages; low batteries.
//! An outage that began before the period counts from the period's start, one still open
//! counts to its end (or to the journal's last event, for a period still running).

use std::collections::BTreeMap;

use sqlx::Row;

use super::ReportError;
use super::setup::{Device, DeviceKind, Setup, system_device};
use crate::journal::Journal;

/// One device's availability over the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceLine {
    /// The device.
    pub device: Device,
    /// Time up, ms.
    pub up_ms: i64,
    /// Time counted, ms.
    pub of_ms: i64,
    /// Outages that overlap the period.
    pub outages: usize,
    /// The longest of them within the period, ms.
    pub longest_ms: i64,
}

impl DeviceLine {
    /// The share of the period up, 0–1.
    pub fn share(&self) -> f64 {
        if self.of_ms <= 0 {
            1.0
        } else {
            self.up_ms as f64 / self.of_ms as f64
        }
    }
}

/// One outage, as long as it lasted within the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    /// The device's name, Vietnamese and English.
    pub names: (String, String),
    /// Contact ID code of the trouble.
    pub code: i64,
    /// The sequence number of the event that began it.
    pub seq: i64,
    /// When it began (perhaps before the period), ms.
    pub from_ms: i64,
    /// When it ended, if it did before the period's end.
    pub until_ms: Option<i64>,
    /// How much of the period it took, ms.
    pub within_ms: i64,
}

/// A low battery reported in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatteryLine {
    /// Sensor id.
    pub sensor: String,
    /// Its event's sequence number.
    pub seq: i64,
    /// When, ms.
    pub at_ms: i64,
    /// When the battery was changed (its restore), if it was.
    pub replaced_at_ms: Option<i64>,
}

/// The equipment figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Equipment {
    /// Every device, in the setup's order then as first seen.
    pub devices: Vec<DeviceLine>,
    /// The ten longest outages, longest first.
    pub longest: Vec<Outage>,
    /// Low batteries.
    pub batteries: Vec<BatteryLine>,
}

/// How many outages the report lists.
const LONGEST: usize = 10;

/// Which device a trouble event is about and whether its code takes that device down.
fn device_of(
    sensor: Option<&str>,
    source_ref: Option<&str>,
    code: i64,
    known: &BTreeMap<String, usize>,
    devices: &[Device],
) -> Option<Device> {
    if let Some(sensor) = sensor {
        let key = format!("sensor:{sensor}");
        let kind = known
            .get(&key)
            .and_then(|&i| devices.get(i))
            .map(|d| d.kind);
        let downs = match kind {
            Some(DeviceKind::Camera) => code == 380 || code == 381,
            _ => code == 381,
        };
        return downs.then(|| Device {
            key,
            kind: kind.unwrap_or(DeviceKind::Sensor),
            names: (sensor.to_string(), sensor.to_string()),
        });
    }
    let id = source_ref?.strip_prefix(crate::engine::SYSTEM_TROUBLE_REF)?;
    Some(system_device(id))
}

/// Reads the equipment figures for `[from, until)`.
pub async fn compute(
    journal: &Journal,
    setup: &Setup,
    from: i64,
    until: i64,
) -> Result<Equipment, ReportError> {
    let db = |e: sqlx::Error| ReportError::Journal(e.to_string());
    let mut devices: Vec<Device> = setup.devices.clone();
    let mut index: BTreeMap<String, usize> = devices
        .iter()
        .enumerate()
        .map(|(i, d)| (d.key.clone(), i))
        .collect();
    // Per device: when its current outage began, its code and event.
    let mut open: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    let mut reasons: BTreeMap<String, std::collections::BTreeSet<i64>> = BTreeMap::new();
    let mut lines: BTreeMap<String, (i64, usize, i64)> = BTreeMap::new();
    let mut outages = Vec::new();
    let mut batteries: Vec<BatteryLine> = Vec::new();
    let close = |key: &str,
                 (began, code, seq): (i64, i64, i64),
                 ended: Option<i64>,
                 lines: &mut BTreeMap<String, (i64, usize, i64)>,
                 outages: &mut Vec<(String, Outage)>| {
        let end = ended.unwrap_or(until).min(until);
        let within = end - began.max(from);
        if within <= 0 && ended.is_some_and(|e| e < from) {
            return;
        }
        let line = lines.entry(key.to_string()).or_default();
        line.0 += within.max(0);
        line.1 += 1;
        line.2 = line.2.max(within.max(0));
        outages.push((
            key.to_string(),
            Outage {
                names: (String::new(), String::new()),
                code,
                seq,
                from_ms: began,
                until_ms: ended.filter(|e| *e < until),
                within_ms: within.max(0),
            },
        ));
    };
    let rows = sqlx::query(
        "SELECT seq, at_ms, kind, code, sensor, source_ref FROM events \
         WHERE kind IN ('trouble', 'trouble_restored') AND code IS NOT NULL AND at_ms < ? \
         ORDER BY seq",
    )
    .bind(until)
    .fetch_all(journal.pool())
    .await
    .map_err(db)?;
    for r in rows {
        let seq: i64 = r.try_get("seq").map_err(db)?;
        let at: i64 = r.try_get("at_ms").map_err(db)?;
        let begins = r.try_get::<String, _>("kind").map_err(db)? == "trouble";
        let code: i64 = r.try_get("code").map_err(db)?;
        let sensor: Option<String> = r.try_get("sensor").map_err(db)?;
        let source_ref: Option<String> = r.try_get("source_ref").map_err(db)?;
        if code == 302 {
            if let Some(sensor) = &sensor {
                if begins && at >= from {
                    batteries.push(BatteryLine {
                        sensor: sensor.clone(),
                        seq,
                        at_ms: at,
                        replaced_at_ms: None,
                    });
                } else if !begins
                    && let Some(b) = batteries
                        .iter_mut()
                        .rev()
                        .find(|b| &b.sensor == sensor && b.replaced_at_ms.is_none())
                {
                    b.replaced_at_ms = Some(at);
                }
            }
            continue;
        }
        let Some(device) = device_of(
            sensor.as_deref(),
            source_ref.as_deref(),
            code,
            &index,
            &devices,
        ) else {
            continue;
        };
        if !index.contains_key(&device.key) {
            index.insert(device.key.clone(), devices.len());
            devices.push(device.clone());
        }
        // A device down for two reasons at once (a camera lost and missing) has one
        // outage, from the first beginning to the last end.
        let codes = reasons.entry(device.key.clone()).or_default();
        if begins {
            codes.insert(code);
            open.entry(device.key.clone()).or_insert((at, code, seq));
        } else {
            codes.remove(&code);
            if codes.is_empty()
                && let Some(began) = open.remove(&device.key)
            {
                close(&device.key, began, Some(at), &mut lines, &mut outages);
            }
        }
    }
    for (key, began) in std::mem::take(&mut open) {
        close(&key, began, None, &mut lines, &mut outages);
    }
    let of_ms = (until - from).max(0);
    let lines: Vec<DeviceLine> = devices
        .iter()
        .map(|d| {
            let (down, count, longest) = lines.get(&d.key).copied().unwrap_or_default();
            DeviceLine {
                device: d.clone(),
                up_ms: (of_ms - down).max(0),
                of_ms,
                outages: count,
                longest_ms: longest,
            }
        })
        .collect();
    let mut longest: Vec<Outage> = outages
        .into_iter()
        .map(|(key, mut o)| {
            if let Some(d) = index.get(&key).and_then(|&i| devices.get(i)) {
                o.names = d.names.clone();
            }
            o
        })
        .collect();
    longest.sort_by(|a, b| b.within_ms.cmp(&a.within_ms).then(a.seq.cmp(&b.seq)));
    longest.truncate(LONGEST);
    Ok(Equipment {
        devices: lines,
        longest,
        batteries,
    })
}
