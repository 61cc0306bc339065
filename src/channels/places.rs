//! The names of a site's areas and zones and its local time, as channels write them for
//! people: a place is called what the people on site call it, never its configuration id,
//! and a time is the site's own.

use std::collections::BTreeMap;

use crate::config::Config;

/// Names of areas and zones in both languages, so a message names the place as the
/// people on site call it, not by its configuration id.
#[derive(Debug, Clone, Default)]
pub struct Places {
    /// Area id → (Vietnamese name, English name).
    pub(crate) areas: BTreeMap<String, (String, String)>,
    /// Zone id → (Vietnamese name, English name).
    pub(crate) zones: BTreeMap<String, (String, String)>,
    /// The site's time zone, for the time a message shows.
    pub(crate) timezone: Option<jiff::tz::TimeZone>,
}

impl Places {
    /// The names of a validated configuration.
    pub fn from_config(config: &Config) -> Places {
        let both = |vi: &String, en: &Option<String>| {
            (vi.clone(), en.clone().unwrap_or_else(|| vi.clone()))
        };
        Places {
            areas: config
                .areas
                .iter()
                .map(|a| (a.id.clone(), both(&a.name, &a.name_en)))
                .collect(),
            zones: config
                .zones
                .iter()
                .map(|z| (z.id.clone(), both(&z.name, &z.name_en)))
                .collect(),
            timezone: jiff::tz::TimeZone::get(&config.site.timezone).ok(),
        }
    }

    /// Every area's id.
    pub fn area_ids(&self) -> impl Iterator<Item = &str> {
        self.areas.keys().map(String::as_str)
    }

    /// An area's name in Vietnamese or English (its id when it has none).
    pub fn area(&self, id: &str, english: bool) -> String {
        Self::name(&self.areas, id, english)
    }

    /// A zone's name in Vietnamese or English (its id when it has none).
    pub fn zone(&self, id: &str, english: bool) -> String {
        Self::name(&self.zones, id, english)
    }

    fn name(map: &BTreeMap<String, (String, String)>, id: &str, english: bool) -> String {
        match map.get(id) {
            Some((vi, en)) => if english { en } else { vi }.clone(),
            None => id.to_string(),
        }
    }

    /// `02:14 01/12` in the site's time.
    pub fn time(&self, at_ms: i64) -> String {
        self.format(at_ms, "%H:%M %d/%m")
    }

    /// `2026-12-01 18:52:45 +07:00` in the site's time, for a mail or a report.
    pub fn local_time(&self, at_ms: i64) -> String {
        self.format(at_ms, "%Y-%m-%d %H:%M:%S %:z")
    }

    /// `at_ms` in the site's time zone (UTC when it has none) as `pattern` writes it.
    fn format(&self, at_ms: i64, pattern: &str) -> String {
        let Ok(t) = jiff::Timestamp::from_millisecond(at_ms) else {
            return String::new();
        };
        let tz = self.timezone.clone().unwrap_or(jiff::tz::TimeZone::UTC);
        t.to_zoned(tz).strftime(pattern).to_string()
    }
}
