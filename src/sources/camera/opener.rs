//! The opener for a configured URL: an RTSP camera, or a simulated one (`sim://…`), so the
//! rest of the camera code is one type whatever the camera is.

use std::time::Duration;

use super::rtsp::{RtspOpener, RtspStream, RtspTransport};
use super::sim::{Scene, SimulatedCamera, SimulatedStream};
use super::stream::{CameraError, CameraErrorKind, Frame, FrameStream, Opener};

/// Connects to a configured camera.
pub enum CameraOpener {
    /// An RTSP camera.
    Rtsp(RtspOpener),
    /// A simulated one.
    Simulated(SimulatedCamera),
}

impl CameraOpener {
    /// The opener for `url`: `sim://<scene>` or an RTSP URL.
    pub fn for_url(
        camera: &str,
        url: &str,
        credentials: Option<(String, String)>,
        transport: RtspTransport,
    ) -> Result<CameraOpener, CameraError> {
        if url.starts_with("sim://") {
            let scene = Scene::from_url(url).ok_or_else(|| CameraError {
                camera: camera.to_string(),
                kind: CameraErrorKind::Unusable,
                message: format!("`{url}` is no simulated scene"),
            })?;
            return Ok(CameraOpener::Simulated(SimulatedCamera::new(camera, scene)));
        }
        RtspOpener::new(camera, url, credentials, transport).map(CameraOpener::Rtsp)
    }
}

/// The stream a [`CameraOpener`] opened.
pub enum CameraStream {
    /// From an RTSP camera.
    Rtsp(RtspStream),
    /// From a simulated one (boxed: the encoder's state is large).
    Simulated(Box<SimulatedStream>),
}

impl Opener for CameraOpener {
    type Stream = CameraStream;

    async fn open(&self) -> Result<CameraStream, CameraError> {
        match self {
            CameraOpener::Rtsp(o) => o.open().await.map(CameraStream::Rtsp),
            CameraOpener::Simulated(o) => {
                o.open().await.map(|s| CameraStream::Simulated(Box::new(s)))
            }
        }
    }
}

impl FrameStream for CameraStream {
    async fn next_frame(&mut self) -> Option<Result<Frame, CameraError>> {
        match self {
            CameraStream::Rtsp(s) => s.next_frame().await,
            CameraStream::Simulated(s) => s.next_frame().await,
        }
    }

    async fn close(self, patience: Duration) {
        match self {
            CameraStream::Rtsp(s) => s.close(patience).await,
            CameraStream::Simulated(s) => (*s).close(patience).await,
        }
    }
}
