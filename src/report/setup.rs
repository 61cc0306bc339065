//! What a report needs to know beyond the journal, from the configuration: each area's
//! arming schedule, the equipment that should be up (so that a device that never failed
//! is listed at 100 % rather than left out), whom each channel reaches, the escalation
//! tiers' names, and the thresholds. A report from a journal alone uses [`Setup::default`].

use std::collections::BTreeMap;

use crate::config::daily::DailyWindow;
use crate::config::{Channel, Config, SensorKind};

/// What kind of equipment a device is, for the availability table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeviceKind {
    /// A camera: down while its picture is lost (380) or it is missing (381).
    Camera,
    /// A supervised sensor: down while missing (381).
    Sensor,
    /// A path to the receiving centre: down while it fails (350).
    ReceiverPath,
    /// The local MQTT broker: down while unreachable.
    Broker,
    /// The journal: down while it cannot be written.
    Journal,
    /// Anything else that raised a gateway trouble (a task, a stuck channel).
    Other,
}

impl DeviceKind {
    /// The kind's name in the report's language.
    pub fn name(self, vi: bool) -> &'static str {
        let (v, e) = match self {
            DeviceKind::Camera => ("Camera", "Camera"),
            DeviceKind::Sensor => ("Cảm biến", "Sensor"),
            DeviceKind::ReceiverPath => ("Đường truyền tới trung tâm", "Receiver path"),
            DeviceKind::Broker => ("Máy chủ MQTT", "MQTT broker"),
            DeviceKind::Journal => ("Nhật ký", "Journal"),
            DeviceKind::Other => ("Khác", "Other"),
        };
        if vi { v } else { e }
    }
}

/// A device whose availability is reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// `sensor:<id>` for a sensor or camera, `trouble:<id>` for a gateway trouble's
    /// subject (`trouble:mqtt`, `trouble:channel:arc:primary`, `trouble:journal`).
    pub key: String,
    /// What it is.
    pub kind: DeviceKind,
    /// Its name, Vietnamese and English.
    pub names: (String, String),
}

/// Who a channel's deliveries reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Recipient {
    /// The alarm receiving centre, which calls the police (113) and fire police (114).
    Centre,
    /// The enterprise's security team (webhook, email, upstream MQTT).
    SecurityTeam,
}

impl Recipient {
    /// Its name in the report's language.
    pub fn name(self, vi: bool) -> &'static str {
        match (self, vi) {
            (Recipient::Centre, true) => "Trung tâm giám sát / công an, PCCC",
            (Recipient::Centre, false) => "Receiving centre / police, fire police",
            (Recipient::SecurityTeam, true) => "Đội an ninh doanh nghiệp",
            (Recipient::SecurityTeam, false) => "Enterprise security team",
        }
    }
}

/// An area's arming schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// When it should be armed each day.
    pub window: DailyWindow,
    /// Minutes after the start within which arming is on time.
    pub grace_min: u32,
}

/// What a report takes from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    /// Area id → its arming schedule.
    pub schedules: BTreeMap<String, Schedule>,
    /// Devices listed even when they never failed.
    pub devices: Vec<Device>,
    /// Channel id → whom it reaches; channels not listed count as the security team.
    pub recipients: BTreeMap<String, Recipient>,
    /// Escalation tier names, tier 1 first.
    pub tier_names: Vec<String>,
    /// A delivery this long after it was due is late, ms.
    pub late_after_ms: i64,
    /// Days delivered rows are kept (deliveries older than that are gone).
    pub delivery_retention_days: u32,
}

impl Default for Setup {
    fn default() -> Self {
        Setup::from_config(&Config::default())
    }
}

fn names(vi: String, en: String) -> (String, String) {
    (vi, en)
}

impl Setup {
    /// The setup of `config`.
    pub fn from_config(config: &Config) -> Setup {
        let schedules = config
            .areas
            .iter()
            .filter_map(|a| {
                let window = DailyWindow::parse(a.arm_schedule.as_deref()?).ok()?;
                Some((
                    a.id.clone(),
                    Schedule {
                        window,
                        grace_min: a.arm_grace_min,
                    },
                ))
            })
            .collect();
        let mut devices = Vec::new();
        for s in &config.sensors {
            let kind = match s.kind {
                SensorKind::Camera => DeviceKind::Camera,
                _ if s.supervision_s.is_some() => DeviceKind::Sensor,
                _ => continue,
            };
            let name = s.name.clone().unwrap_or_else(|| s.id.clone());
            devices.push(Device {
                key: format!("sensor:{}", s.id),
                kind,
                names: names(name.clone(), s.name_en.clone().unwrap_or(name)),
            });
        }
        let mut recipients = BTreeMap::new();
        for c in &config.channels {
            if let Channel::Sia(sia) = c {
                recipients.insert(sia.id.clone(), Recipient::Centre);
                let mut paths = vec![("primary", "chính")];
                if sia.backup.is_some() {
                    paths.push(("backup", "dự phòng"));
                }
                for (path, path_vi) in paths {
                    devices.push(Device {
                        key: format!("trouble:channel:{}:{path}", sia.id),
                        kind: DeviceKind::ReceiverPath,
                        names: names(
                            format!("Đường truyền {path_vi} của kênh {}", sia.id),
                            format!("{} {path} path", sia.id),
                        ),
                    });
                }
            } else {
                recipients.insert(c.id().to_string(), Recipient::SecurityTeam);
            }
        }
        if config.mqtt.is_some() {
            devices.push(system_device("mqtt"));
        }
        devices.push(system_device("journal"));
        Setup {
            schedules,
            devices,
            recipients,
            tier_names: config
                .escalation
                .as_ref()
                .map(|e| e.tiers.iter().map(|t| t.name.clone()).collect())
                .unwrap_or_default(),
            late_after_ms: i64::from(config.reports.late_delivery_s) * 1000,
            delivery_retention_days: config.escalation.as_ref().map_or(400, |e| e.retention_days),
        }
    }

    /// Whom `channel` reaches.
    pub fn recipient(&self, channel: &str) -> Recipient {
        self.recipients
            .get(channel)
            .copied()
            .unwrap_or(Recipient::SecurityTeam)
    }

    /// Tier `n`'s name: `at once` for 0, the configured name for 1…, `tier n` when gone.
    pub fn tier_name(&self, n: i64, vi: bool) -> String {
        if n <= 0 {
            return if vi { "báo ngay" } else { "at once" }.to_string();
        }
        usize::try_from(n - 1)
            .ok()
            .and_then(|i| self.tier_names.get(i))
            .cloned()
            .unwrap_or_else(|| format!("{} {n}", if vi { "cấp" } else { "tier" }))
    }
}

/// A gateway trouble's subject as a device, from its trouble id (`mqtt`, `journal`,
/// `channel:arc:primary`, `task:mqtt`, `camera:gate:analysis`).
pub fn system_device(id: &str) -> Device {
    let key = format!("{}{id}", crate::engine::SYSTEM_TROUBLE_REF);
    let (kind, vi, en) = match id.split(':').collect::<Vec<_>>().as_slice() {
        ["mqtt"] => (
            DeviceKind::Broker,
            "Máy chủ MQTT cục bộ".to_string(),
            "Local MQTT broker".to_string(),
        ),
        ["journal"] => (
            DeviceKind::Journal,
            "Nhật ký (ghi được)".to_string(),
            "Journal (writable)".to_string(),
        ),
        ["channel", channel, path @ ("primary" | "backup")] => (
            DeviceKind::ReceiverPath,
            format!(
                "Đường truyền {} của kênh {channel}",
                if *path == "primary" {
                    "chính"
                } else {
                    "dự phòng"
                }
            ),
            format!("{channel} {path} path"),
        ),
        _ => (DeviceKind::Other, id.to_string(), id.to_string()),
    };
    Device {
        key,
        kind,
        names: (vi, en),
    }
}
