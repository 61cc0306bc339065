//! RTSP cameras through retina: DESCRIBE, SETUP of the first H.264 video stream (TCP
//! interleaved by default), PLAY, then frames in MP4 framing. One [`SessionGroup`] per
//! camera tracks sessions being torn down, so a reconnect waits for the old session to go
//! (cameras often allow only a few) and shutdown can await its TEARDOWN.

use futures_util::StreamExt;
use retina::client::{
    Credentials, Demuxed, PlayOptions, Session, SessionGroup, SessionOptions, SetupOptions,
    TeardownPolicy, Transport,
};
use retina::codec::{CodecItem, FrameFormat, ParametersRef};
use std::sync::Arc;
use std::time::Duration;

use super::stream::{CameraError, CameraErrorKind, Frame, FrameStream, Opener, VideoParams};

/// How the RTP packets travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtspTransport {
    /// Interleaved on the RTSP TCP connection: through firewalls and NAT, no loss.
    Tcp,
    /// Separate UDP ports: less latency on a clean LAN.
    Udp,
}

/// Opens one RTSP camera.
pub struct RtspOpener {
    /// Configured camera id, for messages.
    camera: String,
    /// The stream's URL, without credentials.
    url: url::Url,
    /// User name and password, when the camera wants them.
    credentials: Option<Credentials>,
    /// TCP or UDP.
    transport: RtspTransport,
    /// Sessions of this camera being torn down.
    group: Arc<SessionGroup>,
}

impl RtspOpener {
    /// An opener for `url`; `credentials` as (user name, password).
    pub fn new(
        camera: &str,
        url: &str,
        credentials: Option<(String, String)>,
        transport: RtspTransport,
    ) -> Result<RtspOpener, CameraError> {
        let url = url::Url::parse(url).map_err(|e| CameraError {
            camera: camera.to_string(),
            kind: CameraErrorKind::Unusable,
            message: format!("url `{url}` is not a URL: {e}"),
        })?;
        Ok(RtspOpener {
            camera: camera.to_string(),
            url,
            credentials: credentials.map(|(username, password)| Credentials { username, password }),
            transport,
            group: Arc::new(SessionGroup::default().named(camera.to_string())),
        })
    }

    /// An error whose words may quote the camera's server: escaped and cut, like all
    /// outside text that reaches a log.
    fn error(&self, kind: CameraErrorKind, message: String) -> CameraError {
        CameraError {
            camera: self.camera.clone(),
            kind,
            message: crate::text::for_log(&message),
        }
    }

    /// Names what a retina error means for the installer.
    fn retina_error(&self, doing: &str, e: &retina::Error) -> CameraError {
        match e.status_code() {
            Some(401) => self.error(
                CameraErrorKind::Unauthorized,
                format!(
                    "{} refused the user name or password ({doing}: 401 Unauthorized); \
                     check the camera's username and password",
                    self.url
                ),
            ),
            Some(status) => self.error(
                CameraErrorKind::Unusable,
                format!(
                    "{} answered {status} to {doing}: {}",
                    self.url,
                    first_line(e)
                ),
            ),
            None => self.error(
                CameraErrorKind::Unreachable,
                format!("{doing} {}: {}", self.url, first_line(e)),
            ),
        }
    }
}

/// retina's errors carry a multi-line context dump; the first line says what happened.
fn first_line(e: &retina::Error) -> String {
    crate::text::for_log(e.to_string().lines().next().unwrap_or_default())
}

impl Opener for RtspOpener {
    type Stream = RtspStream;

    async fn open(&self) -> Result<RtspStream, CameraError> {
        // A session of ours still being torn down may hold the camera's only slot.
        let stale = self.group.stale_sessions();
        if stale.num_sessions > 0 {
            self.group.await_stale_sessions(&stale).await;
        }
        let options = SessionOptions::default()
            .creds(self.credentials.clone())
            .session_group(self.group.clone())
            .teardown(TeardownPolicy::Auto)
            .user_agent(format!("picket/{}", env!("CARGO_PKG_VERSION")));
        let mut session = Session::describe(self.url.clone(), options)
            .await
            .map_err(|e| self.retina_error("DESCRIBE", &e))?;
        let video = session
            .streams()
            .iter()
            .position(|s| s.media() == "video" && s.encoding_name() == "h264")
            .ok_or_else(|| {
                let offered: Vec<String> = session
                    .streams()
                    .iter()
                    .map(|s| format!("{}/{}", s.media(), s.encoding_name()))
                    .collect();
                self.error(
                    CameraErrorKind::Unusable,
                    format!(
                        "{} offers no H.264 video (offered: {}); set the camera's stream \
                         to H.264",
                        self.url,
                        offered.join(", ")
                    ),
                )
            })?;
        let transport = match self.transport {
            RtspTransport::Tcp => Transport::Tcp(Default::default()),
            RtspTransport::Udp => Transport::Udp(Default::default()),
        };
        session
            .setup(
                video,
                SetupOptions::default()
                    .transport(transport)
                    .frame_format(FrameFormat::MP4),
            )
            .await
            .map_err(|e| self.retina_error("SETUP", &e))?;
        let playing = session
            .play(PlayOptions::default())
            .await
            .map_err(|e| self.retina_error("PLAY", &e))?;
        let demuxed = playing
            .demuxed()
            .map_err(|e| self.retina_error("PLAY", &e))?;
        Ok(RtspStream {
            camera: self.camera.clone(),
            url: self.url.to_string(),
            demuxed,
            video,
            params: None,
            group: self.group.clone(),
        })
    }
}

/// A playing RTSP session.
pub struct RtspStream {
    camera: String,
    url: String,
    demuxed: Demuxed,
    /// Index of the video stream taken.
    video: usize,
    /// Parameters as of the last frame.
    params: Option<Arc<VideoParams>>,
    group: Arc<SessionGroup>,
}

impl RtspStream {
    fn current_params(&self) -> Option<Arc<VideoParams>> {
        match self.demuxed.streams().get(self.video)?.parameters()? {
            ParametersRef::Video(v) => {
                let (width, height) = v.pixel_dimensions();
                Some(Arc::new(VideoParams {
                    width,
                    height,
                    avc_config: v.extra_data().to_vec(),
                }))
            }
            _ => None,
        }
    }
}

impl FrameStream for RtspStream {
    async fn next_frame(&mut self) -> Option<Result<Frame, CameraError>> {
        loop {
            let item = match self.demuxed.next().await? {
                Ok(item) => item,
                Err(e) => {
                    return Some(Err(CameraError {
                        camera: self.camera.clone(),
                        kind: CameraErrorKind::Unreachable,
                        message: format!("{}: {}", self.url, first_line(&e)),
                    }));
                }
            };
            let CodecItem::VideoFrame(frame) = item else {
                continue;
            };
            if frame.stream_id() != self.video {
                continue;
            }
            if frame.has_new_parameters() || self.params.is_none() {
                self.params = self.current_params();
            }
            let Some(params) = self.params.clone() else {
                // No SPS/PPS yet: nothing can use this frame.
                continue;
            };
            let pts = frame.timestamp().elapsed_secs().max(0.0);
            return Some(Ok(Frame {
                keyframe: frame.is_random_access_point(),
                pts: Duration::from_secs_f64(pts),
                data: frame.into_data(),
                params,
            }));
        }
    }

    async fn close(self, patience: Duration) {
        let RtspStream { demuxed, group, .. } = self;
        // Dropping the session starts its TEARDOWN; the group says when it was tried.
        drop(demuxed);
        if tokio::time::timeout(patience, group.await_teardown())
            .await
            .is_err()
        {
            tracing::debug!("camera TEARDOWN not answered in time");
        }
    }
}
