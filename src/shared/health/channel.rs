//! How each channel and each of its paths is doing, for the page and `/metrics`.

use serde::Serialize;

/// A link's state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Nothing tried yet.
    #[default]
    Unknown,
    /// The last try worked.
    Up,
    /// Delivering, but only over a backup path.
    Degraded,
    /// The last try failed.
    Down,
}

impl LinkState {
    /// Every state, for exporters that list them all.
    pub const ALL: [LinkState; 4] = [
        LinkState::Unknown,
        LinkState::Up,
        LinkState::Degraded,
        LinkState::Down,
    ];

    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Unknown => "unknown",
            LinkState::Up => "up",
            LinkState::Degraded => "degraded",
            LinkState::Down => "down",
        }
    }
}

/// One path of a channel (a DC-09 receiver).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PathStatus {
    /// `primary` or `backup`.
    pub name: String,
    /// Its state.
    pub state: LinkState,
    /// Last success, ms since the epoch.
    pub last_success_ms: Option<i64>,
    /// Last error.
    pub last_error: Option<String>,
}

/// A channel's health.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChannelHealth {
    /// Channel id.
    pub channel: String,
    /// Channel kind (`sia`, `webhook`, `email`, `mqtt`).
    pub kind: String,
    /// Its state.
    pub state: LinkState,
    /// Last delivery, ms since the epoch.
    pub last_success_ms: Option<i64>,
    /// Last error.
    pub last_error: Option<String>,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// Deliveries made since start.
    pub delivered: u64,
    /// Failed tries since start.
    pub failed_attempts: u64,
    /// Rows waiting and due.
    pub queue_due: u64,
    /// Rows waiting, due or not.
    pub queue_pending: u64,
    /// Seconds the oldest due row has waited.
    pub oldest_due_age_s: u64,
    /// Paths, for channels with more than one.
    pub paths: Vec<PathStatus>,
    /// The modem and its daemon, for SMS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modem: Option<ModemStatus>,
}

/// An SMS channel's modem as gammu-smsd reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ModemStatus {
    /// gammu-smsd refreshed its status within the channel's `lost_after_s`.
    pub daemon_alive: bool,
    /// Seconds since gammu-smsd last refreshed its status; `None` when it never did.
    pub status_age_s: Option<i64>,
    /// Registered on a mobile network.
    pub registered: bool,
    /// Network name (`Viettel`), empty when unknown.
    pub network: String,
    /// Signal strength, percent; -1 when unknown.
    pub signal_percent: i64,
    /// Messages received from people's phones since picket started.
    pub commands_received: u64,
    /// Of those, from numbers no person has (ignored, audited).
    pub from_unlisted: u64,
    /// Commands refused for a wrong code.
    pub wrong_codes: u64,
}

impl ChannelHealth {
    /// The state of a channel that delivers: up, or degraded while one of its paths is
    /// down (the backup carries on).
    pub fn working_state(&self) -> LinkState {
        if self.paths.iter().any(|p| p.state == LinkState::Down) {
            LinkState::Degraded
        } else {
            LinkState::Up
        }
    }
}
