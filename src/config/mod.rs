//! Configuration: the TOML file an installer writes, checked before anything runs.
//!
//! [`load`] reads and validates; on failure [`ConfigError`] lists every problem with the
//! key path and `line:col`, which `picket check-config` prints. Secrets are resolved from
//! inline keys, `*_file` or `*_env` and never printed.

mod check_delivery;
pub mod daily;
mod delivery;
mod load;
pub mod model;
pub mod secret;
pub mod sia_key;
pub mod sim_scene;
mod spans;
mod validate;

use std::fmt;
use std::path::Path;

pub use model::*;
pub use spans::Location;

/// One problem in the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Key path, e.g. `zones[2].area`; empty for a syntax error.
    pub path: String,
    /// Where in the file, when known.
    pub location: Option<Location>,
    /// What is wrong and, where possible, what to write instead.
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.location, self.path.is_empty()) {
            (Some(loc), false) => write!(
                f,
                "{}:{}: {}: {}",
                loc.line, loc.col, self.path, self.message
            ),
            (Some(loc), true) => write!(f, "{}:{}: {}", loc.line, loc.col, self.message),
            (None, false) => write!(f, "{}: {}", self.path, self.message),
            (None, true) => f.write_str(&self.message),
        }
    }
}

/// The configuration layer's error: every problem found, or why the file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("cannot read configuration {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file was read and has problems.
    #[error("{}", render(.0))]
    Invalid(Vec<ConfigIssue>),
}

impl ConfigError {
    fn new(issues: Vec<ConfigIssue>) -> Self {
        ConfigError::Invalid(issues)
    }

    /// The individual problems (empty for a read error).
    pub fn issues(&self) -> &[ConfigIssue] {
        match self {
            ConfigError::Invalid(issues) => issues,
            ConfigError::Read { .. } => &[],
        }
    }
}

fn render(issues: &[ConfigIssue]) -> String {
    let mut out = format!("{} problem(s) in the configuration:", issues.len());
    for issue in issues {
        out.push_str("\n  ");
        out.push_str(&issue.to_string());
    }
    out
}

/// Reads and validates a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse_bytes(&bytes)
}

/// Parses and validates configuration bytes; text that is not UTF-8 is an error naming
/// the line, column and byte offset of the first byte that is not.
pub fn parse_bytes(bytes: &[u8]) -> Result<Config, ConfigError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_str(text),
        Err(e) => Err(ConfigError::new(vec![not_utf8(bytes, e.valid_up_to())])),
    }
}

/// The problem of a file whose bytes from `offset` on are not UTF-8.
fn not_utf8(bytes: &[u8], offset: usize) -> ConfigIssue {
    let before = bytes.get(..offset).unwrap_or_default();
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    // Everything before `offset` is valid UTF-8, so characters can be counted.
    let col = std::str::from_utf8(before.get(line_start..).unwrap_or_default())
        .map_or(0, |t| t.chars().count())
        + 1;
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let byte = bytes.get(offset).copied().unwrap_or_default();
    ConfigIssue {
        path: String::new(),
        location: Some(spans::Location { line, col }),
        message: format!(
            "the file is not UTF-8: byte 0x{byte:02X} at byte offset {offset} cannot be read; \
             save the file as UTF-8 (Vietnamese names must be written in UTF-8)"
        ),
    }
}

/// Parses and validates configuration text.
pub fn parse_str(text: &str) -> Result<Config, ConfigError> {
    let (mut config, index) = load::parse(text)?;
    let problems = validate::validate(&mut config);
    if problems.is_empty() {
        return Ok(config);
    }
    Err(ConfigError::new(
        problems
            .into_iter()
            .map(|(path, message)| ConfigIssue {
                location: index.locate(&path),
                path,
                message,
            })
            .collect(),
    ))
}
