//! A camera's health, for the page and `/metrics`: online or not, frame rate, bit rate,
//! age of the last keyframe, reconnects and the last error, and what the analysis sees.

use tokio::time::Instant;

use super::stream::{CameraError, Frame};
pub use crate::shared::health::CameraHealth;

/// Frame and bit rates are averaged over windows this long.
const RATE_WINDOW_S: f64 = 2.0;

impl CameraHealth {
    /// A camera not yet heard from, with its picture analysed or not.
    pub fn analysed(camera: &str, analysing: bool) -> CameraHealth {
        CameraHealth {
            analysing,
            ..CameraHealth::new(camera)
        }
    }

    /// A camera not yet heard from.
    pub fn new(camera: &str) -> CameraHealth {
        CameraHealth {
            camera: camera.to_string(),
            online: false,
            fps: 0.0,
            kbit_s: 0.0,
            width: 0,
            height: 0,
            last_keyframe_ms: None,
            frames: 0,
            reconnects: 0,
            losses: 0,
            last_error: None,
            last_error_kind: None,
            analysing: false,
            motion: false,
            tamper: None,
            analysed_frames: 0,
            analysis_skipped: 0,
            thumbnail: None,
            thumbnail_ms: None,
            connections: 0,
            window: None,
        }
    }

    pub(super) fn connected(&mut self) {
        if self.connections > 0 {
            self.reconnects += 1;
        }
        self.connections += 1;
    }

    pub(super) fn frame(&mut self, frame: &Frame) {
        let now = Instant::now();
        self.online = true;
        self.frames += 1;
        self.width = frame.params.width;
        self.height = frame.params.height;
        if frame.keyframe {
            self.last_keyframe_ms = Some(jiff::Timestamp::now().as_millisecond());
        }
        let bytes = frame.data.len() as u64;
        let (start, frames, total) = self.window.get_or_insert((now, 0, 0));
        *frames += 1;
        *total += bytes;
        let elapsed = now.duration_since(*start).as_secs_f64();
        if elapsed >= RATE_WINDOW_S {
            self.fps = *frames as f64 / elapsed;
            self.kbit_s = *total as f64 * 8.0 / elapsed / 1000.0;
            self.window = Some((now, 0, 0));
        }
    }

    pub(super) fn failed(&mut self, error: &CameraError) {
        self.online = false;
        self.last_error = Some(error.message.clone());
        self.last_error_kind = Some(error.kind.as_str());
        self.window = None;
    }

    pub(super) fn lost(&mut self) {
        self.online = false;
        self.losses += 1;
        self.fps = 0.0;
        self.kbit_s = 0.0;
        self.window = None;
    }
}
