//! Reads the TOML text into a [`Config`], section by section, so one mistake does not hide
//! the next: every syntax, type and unknown-key error is collected with its key path.

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::model::{CHANNEL_TYPES, Channel, Config};
use super::spans::SpanIndex;
use super::{ConfigError, ConfigIssue};

/// The top-level sections picket knows.
const SECTIONS: &[&str] = &[
    "site",
    "panel",
    "areas",
    "zones",
    "sensors",
    "outputs",
    "journal",
    "feed",
    "control",
    "mqtt",
    "gpio",
    "cameras",
    "evidence",
    "escalation",
    "channels",
    "web",
    "reports",
];

/// Parses configuration text; validation is a separate step.
pub(super) fn parse(text: &str) -> Result<(Config, SpanIndex), ConfigError> {
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(err) => {
            let index = SpanIndex::build(text, &DeTable::new());
            let location = err.span().map(|s| index.location_of(s.start));
            return Err(ConfigError::new(vec![ConfigIssue {
                path: String::new(),
                location,
                message: format!("TOML syntax: {}", err.message().trim()),
            }]));
        }
    };
    let index = SpanIndex::build(text, root.get_ref());
    let mut reader = SectionReader {
        index: &index,
        issues: Vec::new(),
    };
    let mut config = Config::default();
    let mut saw_site = false;
    for (key, value) in root.get_ref().iter() {
        let name = key.get_ref().as_ref();
        match name {
            "site" => {
                saw_site = true;
                if let Some(site) = reader.one(name, value) {
                    config.site = site;
                }
            }
            "panel" => config.panel = reader.one(name, value).unwrap_or_default(),
            "journal" => config.journal = reader.one(name, value).unwrap_or_default(),
            "feed" => config.feed = reader.one(name, value),
            "control" => config.control = reader.one(name, value),
            "mqtt" => config.mqtt = reader.one(name, value),
            "gpio" => config.gpio = reader.one(name, value),
            "escalation" => config.escalation = reader.one(name, value),
            "channels" => config.channels = reader.channels(value),
            "web" => config.web = reader.one(name, value),
            "reports" => config.reports = reader.one(name, value).unwrap_or_default(),
            "areas" => config.areas = reader.list(name, value),
            "zones" => config.zones = reader.list(name, value),
            "sensors" => config.sensors = reader.list(name, value),
            "outputs" => config.outputs = reader.list(name, value),
            "cameras" => config.cameras = reader.list(name, value),
            "evidence" => config.evidence = reader.one(name, value).unwrap_or_default(),
            other => reader.issues.push(ConfigIssue {
                path: other.to_string(),
                location: index.locate(other),
                message: format!(
                    "unknown section `{other}`; expected one of: {}",
                    SECTIONS.join(", ")
                ),
            }),
        }
    }
    if !saw_site {
        reader.issues.push(ConfigIssue {
            path: "site".to_string(),
            location: None,
            message: "missing [site] section (name is required)".to_string(),
        });
    }
    if reader.issues.is_empty() {
        Ok((config, index))
    } else {
        Err(ConfigError::new(reader.issues))
    }
}

/// Deserializes sections one at a time, collecting errors instead of stopping.
struct SectionReader<'a> {
    /// Where keys are written.
    index: &'a SpanIndex,
    /// Errors so far.
    issues: Vec<ConfigIssue>,
}

impl SectionReader<'_> {
    /// A `[table]` section.
    fn one<T: DeserializeOwned>(&mut self, path: &str, value: &Spanned<DeValue<'_>>) -> Option<T> {
        if !matches!(value.get_ref(), DeValue::Table(_)) {
            self.issues.push(ConfigIssue {
                path: path.to_string(),
                location: self.index.locate(path),
                message: format!("`{path}` must be a table, written [{path}]"),
            });
            return None;
        }
        self.item(path, value)
    }

    /// An `[[array]]` section; each element is read on its own.
    fn list<T: DeserializeOwned>(&mut self, path: &str, value: &Spanned<DeValue<'_>>) -> Vec<T> {
        let DeValue::Array(items) = value.get_ref() else {
            self.issues.push(ConfigIssue {
                path: path.to_string(),
                location: self.index.locate(path),
                message: format!("`{path}` must be an array of tables, written [[{path}]]"),
            });
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| self.item(&format!("{path}[{i}]"), item))
            .collect()
    }

    /// The `[[channels]]` array: each element's `type` picks the struct it is read into.
    fn channels(&mut self, value: &Spanned<DeValue<'_>>) -> Vec<Channel> {
        let DeValue::Array(items) = value.get_ref() else {
            self.issues.push(ConfigIssue {
                path: "channels".to_string(),
                location: self.index.locate("channels"),
                message: "`channels` must be an array of tables, written [[channels]]".into(),
            });
            return Vec::new();
        };
        let mut channels = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("channels[{i}]");
            let kind = match item.get_ref() {
                DeValue::Table(t) => t.get("type").map(|v| match v.get_ref() {
                    DeValue::String(s) => s.to_string(),
                    _ => String::new(),
                }),
                _ => None,
            };
            let channel = match kind.as_deref() {
                Some("sia") => self.item(&path, item).map(Channel::Sia),
                Some("webhook") => self.item(&path, item).map(Channel::Webhook),
                Some("email") => self.item(&path, item).map(Channel::Email),
                Some("mqtt") => self.item(&path, item).map(Channel::Mqtt),
                Some("sms") => self.item(&path, item).map(Channel::Sms),
                other => {
                    let key = format!("{path}.type");
                    self.issues.push(ConfigIssue {
                        location: self.index.locate(&key).or_else(|| self.index.locate(&path)),
                        path: key,
                        message: match other {
                            None => format!(
                                "missing `type`; expected one of: {}",
                                CHANNEL_TYPES.join(", ")
                            ),
                            Some(t) => format!(
                                "unknown channel type `{t}`; expected one of: {}",
                                CHANNEL_TYPES.join(", ")
                            ),
                        },
                    });
                    None
                }
            };
            channels.extend(channel);
        }
        channels
    }

    fn item<T: DeserializeOwned>(&mut self, path: &str, value: &Spanned<DeValue<'_>>) -> Option<T> {
        match T::deserialize(ValueDeserializer::from(value.clone())) {
            Ok(parsed) => Some(parsed),
            Err(err) => {
                let start = err.span().map(|s| s.start).unwrap_or(value.span().start);
                let path = self
                    .index
                    .path_at(start)
                    .filter(|p| p.starts_with(path))
                    .unwrap_or_else(|| path.to_string());
                self.issues.push(ConfigIssue {
                    path,
                    location: Some(self.index.location_of(start)),
                    message: err.message().trim().to_string(),
                });
                None
            }
        }
    }
}
