//! IP cameras as sources: each camera is watched by its own task ([`watch`]), which turns
//! a picture that stops into a video-loss observation (and its return into a restore) on
//! every sensor bound to the camera (`source = { kind = "camera", camera = "…" }`).
//!
//! - [`stream`]: the [`Opener`]/[`FrameStream`] traits every camera implements.
//! - [`rtsp`]: RTSP cameras through retina.
//! - [`watch`]: supervision, stall timeout, reconnect with backoff, video loss.
//! - [`health`]: online, frame and bit rate, last keyframe, reconnects, last error.
//!
//! A camera never delays another camera or the engine: each runs on its own task, and
//! the only thing it waits for outside itself is the engine's commit of a video-loss change.

pub mod health;
pub mod rtsp;
pub mod stream;
pub mod watch;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::backoff::Backoff;
use crate::config::{CameraTransport, Config, SourceBinding};
use crate::engine::{Observation, Reading};
use crate::runtime::EngineHandle;

pub use health::CameraHealth;
pub use stream::{CameraError, CameraErrorKind, Frame, FrameStream, Opener, VideoParams};
pub use watch::{Findings, WatchSettings, Watcher};

use super::{Source, SourceContext, SourceFuture};
use rtsp::{RtspOpener, RtspTransport};

/// First reconnect delay after a camera fails.
const RECONNECT_BASE: Duration = Duration::from_millis(500);
/// Longest wait between reconnects.
const RECONNECT_CAP: Duration = Duration::from_secs(15);
/// How long shutdown waits for a camera to answer TEARDOWN.
const CLOSE_PATIENCE: Duration = Duration::from_secs(2);

/// Sends a camera's video loss and restore to the engine, on every sensor bound to it.
pub struct EngineFindings {
    /// Configured camera id.
    camera: String,
    /// Sensors bound to the camera.
    sensors: Vec<String>,
    /// Where observations go.
    engine: EngineHandle,
    /// Reports so far, to name each observation in the journal.
    reports: u64,
}

impl Findings for EngineFindings {
    async fn video_loss(&mut self, lost: bool, reason: &str) {
        self.reports += 1;
        for sensor in &self.sensors {
            let observation = Observation {
                sensor: sensor.clone(),
                reading: Reading::VideoLoss { active: lost },
                source_ref: Some(format!("camera:{}:{}", self.camera, self.reports)),
            };
            if let Err(e) = self.engine.observe(observation).await {
                tracing::error!(camera = self.camera, sensor, lost, reason, error = %e, "video loss not committed");
            }
        }
    }

    fn frame(&mut self, _frame: &Frame) {}
}

/// One configured camera, run as a source.
pub struct CameraSource {
    /// Configured camera id.
    camera: String,
    /// Connects to it.
    opener: Option<RtspOpener>,
    /// Sensors bound to it.
    sensors: Vec<String>,
    /// Shared with the page and `/metrics`.
    pub health: Arc<Mutex<CameraHealth>>,
    /// Timeouts and pacing.
    settings: WatchSettings,
}

impl CameraSource {
    /// One source per `[[cameras]]` entry.
    pub fn from_config(config: &Config) -> Result<Vec<CameraSource>, CameraError> {
        config
            .cameras
            .iter()
            .map(|camera| {
                let credentials = camera.username.clone().map(|user| {
                    let password = camera
                        .password
                        .as_ref()
                        .map(|p| p.expose().to_string())
                        .unwrap_or_default();
                    (user, password)
                });
                let transport = match camera.transport {
                    CameraTransport::Tcp => RtspTransport::Tcp,
                    CameraTransport::Udp => RtspTransport::Udp,
                };
                let opener = RtspOpener::new(&camera.id, &camera.url, credentials, transport)?;
                let sensors = config
                    .sensors
                    .iter()
                    .filter(|s| {
                        matches!(&s.source, SourceBinding::Camera { camera: c } if *c == camera.id)
                    })
                    .map(|s| s.id.clone())
                    .collect();
                Ok(CameraSource {
                    camera: camera.id.clone(),
                    opener: Some(opener),
                    sensors,
                    health: Arc::new(Mutex::new(CameraHealth::new(&camera.id))),
                    settings: WatchSettings {
                        stall_timeout: Duration::from_secs(u64::from(camera.stall_timeout_s)),
                        backoff: Backoff::new(RECONNECT_BASE, RECONNECT_CAP),
                        close_patience: CLOSE_PATIENCE,
                    },
                })
            })
            .collect()
    }
}

impl Source for CameraSource {
    fn name(&self) -> String {
        format!("camera {}", self.camera)
    }

    fn run<'a>(&'a mut self, ctx: &'a SourceContext) -> SourceFuture<'a> {
        Box::pin(async move {
            // The watcher reconnects by itself and returns only at shutdown.
            if let Some(opener) = self.opener.take() {
                let watcher = Watcher {
                    camera: self.camera.clone(),
                    opener,
                    findings: EngineFindings {
                        camera: self.camera.clone(),
                        sensors: self.sensors.clone(),
                        engine: ctx.engine.clone(),
                        reports: 0,
                    },
                    health: self.health.clone(),
                    settings: self.settings.clone(),
                };
                watcher.run(ctx.shutdown.clone()).await;
            }
            Ok(())
        })
    }
}
