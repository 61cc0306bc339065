//! What a camera gives picket, whatever it is: an [`Opener`] that connects and a
//! [`FrameStream`] of encoded H.264 frames. RTSP cameras ([`super::rtsp`]) and the
//! simulated camera implement it, so the supervision, the pre-event buffer and the analysis
//! are tested without a network and with tokio's paused clock.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Why a camera gave no picture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("camera {camera}: {message}")]
pub struct CameraError {
    /// Configured camera id.
    pub camera: String,
    /// What kind of failure, for health and counting.
    pub kind: CameraErrorKind,
    /// What happened and what to do, in words.
    pub message: String,
}

/// The kinds of [`CameraError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraErrorKind {
    /// The camera refused the user name or password.
    Unauthorized,
    /// No connection, or the connection broke.
    Unreachable,
    /// Connected, but nothing arrived within the stall timeout.
    Stalled,
    /// The stream ended.
    EndOfStream,
    /// The camera answered with something picket cannot use (no H.264 stream, bad RTP).
    Unusable,
}

impl CameraErrorKind {
    /// Stable name, for health and `/metrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            CameraErrorKind::Unauthorized => "unauthorized",
            CameraErrorKind::Unreachable => "unreachable",
            CameraErrorKind::Stalled => "stalled",
            CameraErrorKind::EndOfStream => "end_of_stream",
            CameraErrorKind::Unusable => "unusable",
        }
    }
}

/// How to mux and decode a stream: its H.264 parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoParams {
    /// Picture width in pixels.
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// The `AVCDecoderConfigurationRecord` (SPS and PPS), as MP4 stores it.
    pub avc_config: Vec<u8>,
}

/// One encoded picture.
#[derive(Debug, Clone)]
pub struct Frame {
    /// H.264 NAL units, each preceded by its 4-byte big-endian length (as MP4 stores them).
    pub data: Vec<u8>,
    /// A keyframe: decoding can start here.
    pub keyframe: bool,
    /// Presentation time since the stream started.
    pub pts: Duration,
    /// The stream's parameters, current for this frame.
    pub params: Arc<VideoParams>,
}

/// An open stream of frames.
pub trait FrameStream: Send {
    /// The next frame; `None` when the stream ended. Picket bounds every call with the
    /// stall timeout.
    fn next_frame(&mut self) -> impl Future<Output = Option<Result<Frame, CameraError>>> + Send;

    /// Closes the stream politely (RTSP TEARDOWN), waiting at most `patience`.
    fn close(self, patience: Duration) -> impl Future<Output = ()> + Send;
}

/// Connects to a camera.
pub trait Opener: Send + Sync + 'static {
    /// The stream it opens.
    type Stream: FrameStream;

    /// Connects and starts the picture. Picket bounds the call with the stall timeout.
    fn open(&self) -> impl Future<Output = Result<Self::Stream, CameraError>> + Send;
}
