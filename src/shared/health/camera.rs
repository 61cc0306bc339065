//! A camera's health record, as the page, `/metrics` and picket's MQTT topics read it;
//! [`crate::sources::camera`] keeps it up to date.

use serde::Serialize;
use tokio::time::Instant;

/// One camera's health.
#[derive(Debug, Clone, Serialize)]
pub struct CameraHealth {
    /// Configured camera id.
    pub camera: String,
    /// Frames are arriving.
    pub online: bool,
    /// Frames per second, over the last few seconds.
    pub fps: f64,
    /// Kilobits per second, over the last few seconds.
    pub kbit_s: f64,
    /// Picture size, once known.
    pub width: u32,
    /// Picture size, once known.
    pub height: u32,
    /// Wall-clock time of the last keyframe, Unix milliseconds.
    pub last_keyframe_ms: Option<i64>,
    /// Frames received since start.
    pub frames: u64,
    /// Connections made after the first.
    pub reconnects: u64,
    /// Times the picture was declared lost.
    pub losses: u64,
    /// Why the camera last failed, in words.
    pub last_error: Option<String>,
    /// The kind of that failure (`unauthorized`, `stalled`…).
    pub last_error_kind: Option<&'static str>,
    /// The camera's picture is analysed for motion and tamper (`[cameras.analysis]`), so
    /// the analysis figures below mean something.
    pub analysing: bool,
    /// The analysis sees motion now.
    pub motion: bool,
    /// The analysis sees tamper now: `covered`, `defocused` or `turned_away`.
    pub tamper: Option<&'static str>,
    /// Pictures decoded by the analysis.
    pub analysed_frames: u64,
    /// Frames the analysis could not keep up with (skipped to the next keyframe).
    pub analysis_skipped: u64,
    /// The page's small picture: a JPEG of a recent keyframe, at most 320 wide.
    #[serde(skip)]
    pub thumbnail: Option<std::sync::Arc<Jpeg>>,
    /// When the thumbnail was taken, Unix milliseconds.
    pub thumbnail_ms: Option<i64>,
    /// Connections made.
    #[serde(skip)]
    pub(crate) connections: u64,
    /// Start of the current rate window, and what arrived in it.
    #[serde(skip)]
    pub(crate) window: Option<(Instant, u64, u64)>,
}

/// A snapshot as encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jpeg {
    /// The JPEG file.
    pub bytes: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}
