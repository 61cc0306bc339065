//! The configured site as the engine sees it: areas, zones, sensors and outputs with
//! every default applied and cross-references resolved, so rules never look at raw config.

use std::collections::{BTreeMap, BTreeSet};

use super::model::Mode;
use crate::config::{ArmedMode, Config, OutputKind, Panel, SensorKind, ZoneType};

/// A thing with a Vietnamese and an English name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// Vietnamese (or the site's own language).
    pub vi: String,
    /// English.
    pub en: String,
}

impl Names {
    fn new(vi: &str, en: Option<&str>) -> Self {
        Names {
            vi: vi.to_string(),
            en: en.unwrap_or(vi).to_string(),
        }
    }
}

/// An area with its delays and zones.
#[derive(Debug, Clone)]
pub struct AreaDef {
    /// Id.
    pub id: String,
    /// Names.
    pub names: Names,
    /// Exit delay, seconds.
    pub exit_delay_s: u32,
    /// Default entry delay, seconds.
    pub entry_delay_s: u32,
    /// Zones in configuration order.
    pub zones: Vec<String>,
    /// Area (partition) number at the receiving centre: Contact ID group.
    pub number: u8,
}

/// A zone with every default applied.
#[derive(Debug, Clone)]
pub struct ZoneDef {
    /// Id.
    pub id: String,
    /// Names.
    pub names: Names,
    /// Area id.
    pub area: String,
    /// Type.
    pub zone_type: ZoneType,
    /// Entry delay, seconds (entry/exit zones).
    pub entry_delay_s: u32,
    /// Armed modes in which a burglary zone is active.
    pub modes: BTreeSet<Mode>,
    /// May be bypassed automatically at arming.
    pub auto_bypass: bool,
    /// No sirens.
    pub silent: bool,
    /// Contact ID zone number.
    pub number: u16,
    /// Sensors in this zone.
    pub sensors: Vec<String>,
}

/// A sensor.
#[derive(Debug, Clone)]
pub struct SensorDef {
    /// Id.
    pub id: String,
    /// Display names.
    pub names: Names,
    /// Zone id.
    pub zone: String,
    /// What it is.
    pub kind: SensorKind,
    /// Supervision interval, seconds.
    pub supervision_s: Option<u32>,
    /// Point number at the receiving centre.
    pub number: u16,
}

/// An output.
#[derive(Debug, Clone)]
pub struct OutputDef {
    /// Id.
    pub id: String,
    /// What it drives.
    pub kind: OutputKind,
    /// Areas that drive it; empty = all.
    pub areas: Vec<String>,
}

impl OutputDef {
    /// Does an alarm in this area drive this output?
    pub fn serves(&self, area: &str) -> bool {
        self.areas.is_empty() || self.areas.iter().any(|a| a == area)
    }
}

/// The whole site.
#[derive(Debug, Clone)]
pub struct Site {
    /// Site name.
    pub name: String,
    /// Panel timers and limits.
    pub panel: Panel,
    /// Areas by id.
    pub areas: BTreeMap<String, AreaDef>,
    /// Zones by id.
    pub zones: BTreeMap<String, ZoneDef>,
    /// Sensors by id.
    pub sensors: BTreeMap<String, SensorDef>,
    /// Outputs in configuration order.
    pub outputs: Vec<OutputDef>,
}

impl Site {
    /// Builds the engine's view of a validated configuration.
    pub fn from_config(config: &Config) -> Site {
        let numbers = config.point_numbers();
        let mut areas: BTreeMap<String, AreaDef> = config
            .areas
            .iter()
            .map(|a| {
                (
                    a.id.clone(),
                    AreaDef {
                        id: a.id.clone(),
                        names: Names::new(&a.name, a.name_en.as_deref()),
                        exit_delay_s: a.exit_delay_s,
                        entry_delay_s: a.entry_delay_s,
                        zones: Vec::new(),
                        number: numbers.areas.get(&a.id).copied().unwrap_or(0),
                    },
                )
            })
            .collect();
        let mut zones = BTreeMap::new();
        for z in &config.zones {
            let area_entry_delay = areas.get(&z.area).map(|a| a.entry_delay_s).unwrap_or(30);
            if let Some(area) = areas.get_mut(&z.area) {
                area.zones.push(z.id.clone());
            }
            let modes = match &z.armed_modes {
                Some(modes) => modes.iter().map(|m| mode_of(*m)).collect(),
                None => match z.zone_type {
                    ZoneType::Interior | ZoneType::InteriorFollower => {
                        BTreeSet::from([Mode::ArmedAway])
                    }
                    _ => BTreeSet::from([Mode::ArmedAway, Mode::ArmedHome, Mode::ArmedNight]),
                },
            };
            zones.insert(
                z.id.clone(),
                ZoneDef {
                    id: z.id.clone(),
                    names: Names::new(&z.name, z.name_en.as_deref()),
                    area: z.area.clone(),
                    zone_type: z.zone_type,
                    entry_delay_s: z.entry_delay_s.unwrap_or(area_entry_delay),
                    modes,
                    auto_bypass: z.auto_bypass,
                    silent: z.silent.unwrap_or(z.zone_type == ZoneType::Panic),
                    number: numbers.zones.get(&z.id).copied().unwrap_or(0),
                    sensors: Vec::new(),
                },
            );
        }
        let mut sensors = BTreeMap::new();
        for s in &config.sensors {
            if let Some(zone) = zones.get_mut(&s.zone) {
                zone.sensors.push(s.id.clone());
            }
            sensors.insert(
                s.id.clone(),
                SensorDef {
                    id: s.id.clone(),
                    names: Names::new(s.name.as_deref().unwrap_or(&s.id), s.name_en.as_deref()),
                    zone: s.zone.clone(),
                    kind: s.kind,
                    supervision_s: s.supervision_s,
                    number: numbers.sensors.get(&s.id).copied().unwrap_or(0),
                },
            );
        }
        let outputs = config
            .outputs
            .iter()
            .map(|o| OutputDef {
                id: o.id.clone(),
                kind: o.kind,
                areas: o.areas.clone(),
            })
            .collect();
        Site {
            name: config.site.name.clone(),
            panel: config.panel.clone(),
            areas,
            zones,
            sensors,
            outputs,
        }
    }
}

fn mode_of(m: ArmedMode) -> Mode {
    match m {
        ArmedMode::Away => Mode::ArmedAway,
        ArmedMode::Home => Mode::ArmedHome,
        ArmedMode::Night => Mode::ArmedNight,
    }
}
