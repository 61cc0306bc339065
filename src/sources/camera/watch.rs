//! Camera supervision: one task per camera that connects, reads frames, notices when the
//! picture stops, and reconnects with capped exponential backoff.
//!
//! Every await on the camera (connect, each frame) is bounded by the stall timeout, so a
//! camera that hangs (a frozen RTSP server keeps its socket open and says nothing) is
//! noticed as surely as one that drops the connection. The picture is declared lost once
//! no frame has arrived for the stall timeout, counted from the last frame (or from start),
//! whether the camera is connected, reconnecting or waiting to retry; it is restored by the
//! first frame after that.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

use super::health::CameraHealth;
use super::stream::{CameraError, CameraErrorKind, Frame, FrameStream, Opener};
use crate::backoff::Backoff;
use crate::shared::lock::lock;
use crate::shared::shutdown::Shutdown;

/// How a camera is watched.
#[derive(Debug, Clone)]
pub struct WatchSettings {
    /// No frame for this long means the picture is lost. Also bounds connecting.
    pub stall_timeout: Duration,
    /// Reconnect pacing.
    pub backoff: Backoff,
    /// How long shutdown waits for the camera to answer TEARDOWN.
    pub close_patience: Duration,
}

/// Where a watcher's findings go: the engine (video loss), the pre-event buffer and the
/// analysis (frames).
pub trait Findings: Send {
    /// The picture was lost (`true`) or is back (`false`), with the reason in words.
    fn video_loss(
        &mut self,
        lost: bool,
        reason: &str,
    ) -> impl std::future::Future<Output = ()> + Send;

    /// A frame arrived. Must be quick: it runs on the camera's task between reads.
    fn frame(&mut self, frame: &Frame);
}

/// Whether the picture is lost, and since when there was none.
struct Picture {
    /// When the last frame arrived (or the watch began).
    last_frame: Instant,
    /// What was last reported; `None` before the first report.
    lost: Option<bool>,
    /// The stall timeout.
    stall: Duration,
    /// Why there is no picture, for the loss report.
    reason: String,
}

impl Picture {
    fn loss_deadline(&self) -> Option<Instant> {
        (self.lost != Some(true)).then(|| self.last_frame + self.stall)
    }
}

/// One camera's supervision.
pub struct Watcher<O: Opener, F: Findings> {
    /// Configured camera id.
    pub camera: String,
    /// Connects to the camera.
    pub opener: O,
    /// Where findings go.
    pub findings: F,
    /// Shared with the page and `/metrics`.
    pub health: Arc<Mutex<CameraHealth>>,
    /// Timeouts and pacing.
    pub settings: WatchSettings,
}

/// What ended a connection.
enum Ended {
    /// Shutdown: stop watching.
    Shutdown,
    /// The camera failed; reconnect.
    Failed(CameraError),
}

impl<O: Opener, F: Findings> Watcher<O, F> {
    /// Watches until shutdown.
    pub async fn run(mut self, mut shutdown: Shutdown) {
        let mut picture = Picture {
            last_frame: Instant::now(),
            lost: None,
            stall: self.settings.stall_timeout,
            reason: "no picture yet".into(),
        };
        let mut backoff = self.settings.backoff.clone();
        loop {
            let stall = self.settings.stall_timeout;
            let opened = guarded(
                &mut picture,
                &mut self.findings,
                &self.health,
                &mut shutdown,
                tokio::time::timeout(stall, self.opener.open()),
            )
            .await;
            let failure = match opened {
                None => return,
                Some(Err(_)) => self.error(
                    CameraErrorKind::Stalled,
                    format!("no answer to connecting within {stall:?}"),
                ),
                Some(Ok(Err(e))) => e,
                Some(Ok(Ok(stream))) => {
                    lock(&self.health).connected();
                    match self
                        .play(stream, &mut picture, &mut backoff, &mut shutdown)
                        .await
                    {
                        Ended::Shutdown => return,
                        Ended::Failed(e) => e,
                    }
                }
            };
            let delay = backoff.next_delay();
            tracing::warn!(camera = self.camera, error = %failure.message, retry_in = ?delay, "camera failed");
            picture.reason = failure.message.clone();
            lock(&self.health).failed(&failure);
            let waited = guarded(
                &mut picture,
                &mut self.findings,
                &self.health,
                &mut shutdown,
                tokio::time::sleep(delay),
            )
            .await;
            if waited.is_none() {
                return;
            }
        }
    }

    /// Reads frames until the stream fails or shutdown.
    async fn play(
        &mut self,
        mut stream: O::Stream,
        picture: &mut Picture,
        backoff: &mut Backoff,
        shutdown: &mut Shutdown,
    ) -> Ended {
        let stall = self.settings.stall_timeout;
        loop {
            let next = guarded(
                picture,
                &mut self.findings,
                &self.health,
                shutdown,
                tokio::time::timeout(stall, stream.next_frame()),
            )
            .await;
            let frame = match next {
                None => {
                    stream.close(self.settings.close_patience).await;
                    return Ended::Shutdown;
                }
                Some(Err(_)) => {
                    return Ended::Failed(self.error(
                        CameraErrorKind::Stalled,
                        format!("no frame for {stall:?}; the camera stopped sending"),
                    ));
                }
                Some(Ok(None)) => {
                    return Ended::Failed(self.error(
                        CameraErrorKind::EndOfStream,
                        "the camera ended the stream".into(),
                    ));
                }
                Some(Ok(Some(Err(e)))) => return Ended::Failed(e),
                Some(Ok(Some(Ok(frame)))) => frame,
            };
            picture.last_frame = Instant::now();
            picture.reason = format!("no frame for {stall:?}; the camera stopped sending");
            backoff.reset();
            lock(&self.health).frame(&frame);
            if picture.lost != Some(false) {
                picture.lost = Some(false);
                self.findings.video_loss(false, "picture received").await;
            }
            self.findings.frame(&frame);
        }
    }

    fn error(&self, kind: CameraErrorKind, message: String) -> CameraError {
        CameraError {
            camera: self.camera.clone(),
            kind,
            message,
        }
    }
}

/// Awaits `fut`, unless shutdown comes first (`None`); meanwhile declares the picture lost
/// when its deadline passes.
async fn guarded<T, F: Findings>(
    picture: &mut Picture,
    findings: &mut F,
    health: &Mutex<CameraHealth>,
    shutdown: &mut Shutdown,
    fut: impl std::future::Future<Output = T>,
) -> Option<T> {
    tokio::pin!(fut);
    loop {
        let deadline = picture.loss_deadline();
        tokio::select! {
            out = &mut fut => return Some(out),
            _ = shutdown.wait() => return None,
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                picture.lost = Some(true);
                lock(health).lost();
                tracing::warn!(camera = %lock(health).camera, reason = %picture.reason, "video lost");
                let reason = picture.reason.clone();
                findings.video_loss(true, &reason).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::stream::VideoParams;
    use super::*;
    use crate::shared::shutdown::channel as shutdown_channel;
    use tokio::sync::mpsc;

    /// A camera driven by the test: each connection takes the next frame channel the test
    /// offers (none offered: the camera hangs while connecting).
    struct TestCamera {
        connections: Mutex<mpsc::UnboundedReceiver<mpsc::Receiver<Frame>>>,
        closed: mpsc::UnboundedSender<()>,
    }

    struct TestStream {
        frames: mpsc::Receiver<Frame>,
        closed: mpsc::UnboundedSender<()>,
    }

    impl FrameStream for TestStream {
        async fn next_frame(&mut self) -> Option<Result<Frame, CameraError>> {
            self.frames.recv().await.map(Ok)
        }
        async fn close(self, _patience: Duration) {
            let _ = self.closed.send(());
        }
    }

    impl Opener for TestCamera {
        type Stream = TestStream;
        async fn open(&self) -> Result<TestStream, CameraError> {
            let next = self.connections.lock().unwrap().try_recv();
            match next {
                Ok(frames) => Ok(TestStream {
                    frames,
                    closed: self.closed.clone(),
                }),
                Err(_) => std::future::pending().await,
            }
        }
    }

    /// Every video-loss report, with when it came, and every frame's arrival.
    struct Recorder(
        mpsc::UnboundedSender<(bool, Instant)>,
        mpsc::UnboundedSender<Instant>,
    );

    impl Findings for Recorder {
        async fn video_loss(&mut self, lost: bool, _reason: &str) {
            let _ = self.0.send((lost, Instant::now()));
        }
        fn frame(&mut self, _frame: &Frame) {
            let _ = self.1.send(Instant::now());
        }
    }

    fn frame() -> Frame {
        Frame {
            data: vec![0, 0, 0, 1, 0x65],
            keyframe: true,
            pts: Duration::ZERO,
            params: Arc::new(VideoParams {
                width: 640,
                height: 360,
                avc_config: Vec::new(),
            }),
        }
    }

    struct Rig {
        connections: mpsc::UnboundedSender<mpsc::Receiver<Frame>>,
        reports: mpsc::UnboundedReceiver<(bool, Instant)>,
        frames: mpsc::UnboundedReceiver<Instant>,
        closed: mpsc::UnboundedReceiver<()>,
        stop: crate::shared::shutdown::ShutdownTrigger,
        task: tokio::task::JoinHandle<()>,
        health: Arc<Mutex<CameraHealth>>,
    }

    const STALL: Duration = Duration::from_secs(5);

    fn start() -> Rig {
        let (connections, offered) = mpsc::unbounded_channel();
        let (reports_tx, reports) = mpsc::unbounded_channel();
        let (frames_tx, frames) = mpsc::unbounded_channel();
        let (closed_tx, closed) = mpsc::unbounded_channel();
        let (stop, shutdown) = shutdown_channel();
        let health = Arc::new(Mutex::new(CameraHealth::new("gate")));
        let watcher = Watcher {
            camera: "gate".into(),
            opener: TestCamera {
                connections: Mutex::new(offered),
                closed: closed_tx,
            },
            findings: Recorder(reports_tx, frames_tx),
            health: health.clone(),
            settings: WatchSettings {
                stall_timeout: STALL,
                backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(15)),
                close_patience: Duration::from_secs(1),
            },
        };
        let task = tokio::spawn(watcher.run(shutdown));
        Rig {
            connections,
            reports,
            frames,
            closed,
            stop,
            task,
            health,
        }
    }

    impl Rig {
        /// Offers the next connection; returns its frame sender.
        fn offer(&self) -> mpsc::Sender<Frame> {
            let (tx, rx) = mpsc::channel(16);
            self.connections.send(rx).unwrap();
            tx
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_picture_that_stops_is_lost_at_the_stall_timeout_and_restored_by_the_next_frame() {
        let mut rig = start();
        let frames = rig.offer();
        frames.send(frame()).await.unwrap();
        let (lost, _) = rig.reports.recv().await.unwrap();
        assert!(!lost, "the first frame reports the picture present");
        let last_frame = Instant::now();

        // The camera keeps its connection open and sends nothing (a hung server).
        let (lost, at) = rig.reports.recv().await.unwrap();
        assert!(lost);
        assert_eq!(at - last_frame, STALL);
        assert!(!rig.health.lock().unwrap().online);

        // It comes back on a new connection: the first frame restores the picture.
        let again = rig.offer();
        again.send(frame()).await.unwrap();
        let (lost, _) = rig.reports.recv().await.unwrap();
        assert!(!lost);
        let health = rig.health.lock().unwrap().clone();
        assert_eq!((health.reconnects, health.losses), (1, 1));
        assert_eq!(health.last_error_kind, Some("stalled"));
        drop(frames);
        rig.stop.trigger();
        rig.task.await.unwrap();
        assert!(
            rig.closed.recv().await.is_some(),
            "the stream is closed at shutdown"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_camera_that_never_answers_is_lost_a_stall_timeout_after_start() {
        let started = Instant::now();
        let mut rig = start();
        let (lost, at) = rig.reports.recv().await.unwrap();
        assert!(lost);
        assert_eq!(at - started, STALL);
        // And it is not reported again while it stays away.
        tokio::time::advance(Duration::from_secs(120)).await;
        assert!(rig.reports.try_recv().is_err());
        rig.stop.trigger();
        rig.task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_that_ends_is_a_disconnect_and_reconnects() {
        let mut rig = start();
        let frames = rig.offer();
        frames.send(frame()).await.unwrap();
        assert!(!rig.reports.recv().await.unwrap().0);
        let ended = Instant::now();
        drop(frames);
        // Reconnected within the stall timeout: the picture was never lost.
        let again = rig.offer();
        again.send(frame()).await.unwrap();
        again.send(frame()).await.unwrap();
        rig.frames.recv().await.unwrap();
        rig.frames.recv().await.unwrap();
        let last = rig.frames.recv().await.unwrap();
        assert!(last - ended < STALL);
        assert!(rig.reports.try_recv().is_err(), "no loss reported");
        let health = rig.health.lock().unwrap().clone();
        assert_eq!(health.last_error_kind, Some("end_of_stream"));
        assert_eq!(health.reconnects, 1);
        assert_eq!(health.frames, 3);
        rig.stop.trigger();
        rig.task.await.unwrap();
    }
}
