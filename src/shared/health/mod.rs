//! The health records that sources, channels and the supervisor fill in and the page,
//! `/healthz`, `/metrics` and picket's MQTT topics read: defined here, below all of them,
//! so that neither side imports the other. Their behaviour stays with their owners (a
//! camera's record is updated by [`crate::sources::camera`], a channel's by its worker).

mod camera;
mod channel;
mod tasks;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64};

pub use camera::{CameraHealth, Jpeg};
pub use channel::{ChannelHealth, LinkState, ModemStatus, PathStatus};
pub use tasks::{TaskBoard, TaskKind, TaskStatus};

/// Health of sources and channels, filled in as they start.
#[derive(Debug, Default)]
pub struct Health {
    /// The MQTT source, when configured.
    pub mqtt: std::sync::OnceLock<Arc<MqttHealth>>,
    /// The MQTT command topic, when configured.
    pub mqtt_commands: std::sync::OnceLock<Arc<InterfaceStats>>,
    /// The feed socket, when configured.
    pub feed: std::sync::OnceLock<Arc<FeedStats>>,
    /// Cameras, in configuration order.
    pub cameras: std::sync::OnceLock<Vec<Arc<std::sync::Mutex<CameraHealth>>>>,
    /// Delivery channels, in configuration order.
    pub channels: std::sync::OnceLock<Vec<Arc<std::sync::Mutex<ChannelHealth>>>>,
    /// Supervised tasks: running, or dead after a panic.
    pub tasks: Arc<TaskBoard>,
}

/// Counters and state for health and `/metrics`.
#[derive(Debug)]
pub struct MqttHealth {
    /// Connected to the broker now.
    pub connected: AtomicBool,
    /// Messages received on sensor topics.
    pub received: AtomicU64,
    /// Messages acknowledged after commit.
    pub acknowledged: AtomicU64,
    /// Messages (or parts) rejected: unknown topic, bad payload.
    pub rejected: AtomicU64,
    /// Sensor payloads rejected for being larger than the decoder takes.
    pub oversized: AtomicU64,
    /// Why the last connection attempt failed, in words an installer can act on.
    pub last_error: std::sync::Mutex<Option<String>>,
    /// Connections whose subscriptions the broker confirmed (SUBACK), awaitable.
    pub subscribed: tokio::sync::watch::Sender<u64>,
}

impl Default for MqttHealth {
    fn default() -> Self {
        MqttHealth {
            connected: AtomicBool::new(false),
            received: AtomicU64::new(0),
            acknowledged: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            oversized: AtomicU64::new(0),
            last_error: std::sync::Mutex::new(None),
            subscribed: tokio::sync::watch::channel(0).0,
        }
    }
}

impl MqttHealth {
    /// Waits until the broker has confirmed picket's subscriptions `n` times.
    pub async fn subscribed_times(&self, n: u64) {
        let _ = self.subscribed.subscribe().wait_for(|c| *c >= n).await;
    }
}

/// Counters for health and `/metrics`.
#[derive(Debug, Default)]
pub struct InterfaceStats {
    /// Commands carried out.
    pub commands_accepted: AtomicU64,
    /// Commands refused (wrong code, locked out, malformed, refused by the panel).
    pub commands_refused: AtomicU64,
    /// Wrong codes entered.
    pub wrong_codes: AtomicU64,
    /// Messages not published because they exceeded the packet limit.
    pub oversized: AtomicU64,
    /// Times the topics fell more than the change stream's buffer behind (the broker slow
    /// or unreachable) and were brought up to date from the panel as it stood.
    pub resyncs: AtomicU64,
}

/// Counters for health.
#[derive(Debug, Default)]
pub struct FeedStats {
    /// Lines acknowledged.
    pub accepted: AtomicU64,
    /// Lines rejected (bad JSON, unknown or unbound sensor, too long).
    pub rejected: AtomicU64,
}
