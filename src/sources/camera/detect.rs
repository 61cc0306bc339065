//! Running a camera's analysis beside its stream: frames are handed to an analyser on a
//! blocking thread through a short queue (the camera's task never waits for decoding),
//! and what it finds goes to the engine as motion and tamper on the camera's sensors.
//!
//! When the analyser falls behind and the queue is full, frames are skipped up to the next
//! keyframe (the decoder can only resume there), and counted.
//!
//! Also here: the page's thumbnail, a small JPEG of a recent keyframe every
//! [`THUMBNAIL_EVERY`].

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

use super::analysis::{Analyser, Finding};
use super::evidence::Recorder;
use super::health::CameraHealth;
use super::picture;
use super::stream::Frame;
use super::watch::Findings;
use crate::engine::{ContactId, Input, Reading, SystemTrouble};
use crate::shared::engine_handle::EngineHandle;
use crate::shared::lock::lock;
use crate::shared::shutdown::Shutdown;

/// Frames queued for the analyser at most.
pub const ANALYSIS_QUEUE: usize = 30;
/// How often the page's thumbnail is renewed.
pub const THUMBNAIL_EVERY: Duration = Duration::from_secs(10);
/// How soon to look again when there was no new keyframe to make a thumbnail of.
const THUMBNAIL_RETRY: Duration = Duration::from_secs(1);

/// One thumbnail is decoded at a time, whatever the number of cameras: each decode holds
/// an H.264 decoder and a full-size picture (about 10 MiB at 1280×720), and eight cameras
/// decoding together lifted picket's peak memory by some 50 MiB that the allocator then
/// kept (seen in `picket bench --mqtt` with 8 RTSP cameras).
static THUMBNAIL_DECODER: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
/// Widest thumbnail.
const THUMBNAIL_WIDTH: u32 = 320;

/// The camera task's end of the analysis queue.
pub struct AnalysisFeed {
    /// To the analyser.
    frames: mpsc::Sender<Frame>,
    /// Skipping to the next keyframe after a full queue.
    resync: bool,
    /// Counts skipped frames.
    health: Arc<Mutex<CameraHealth>>,
}

impl AnalysisFeed {
    /// Offers a frame without waiting.
    pub fn offer(&mut self, frame: &Frame) {
        if self.resync && !frame.keyframe {
            lock(&self.health).analysis_skipped += 1;
            return;
        }
        match self.frames.try_send(frame.clone()) {
            Ok(()) => self.resync = false,
            Err(_) => {
                self.resync = true;
                lock(&self.health).analysis_skipped += 1;
            }
        }
    }
}

/// Findings of a separate analysis stream (a substream): frames to the analyser. Losing it
/// blinds the camera's motion and tamper detection while the main stream (and the
/// camera's video-loss reporting) carries on, so its loss is a gateway trouble of its own
/// (380, `camera:<id>:analysis`), restored when it returns: never silent.
pub struct SubstreamFindings {
    /// To the analyser.
    pub feed: AnalysisFeed,
    /// Configured camera id.
    pub camera: String,
    /// Where the trouble goes.
    pub engine: EngineHandle,
}

/// The trouble of a camera's lost (or returned) analysis stream.
fn analysis_stream_trouble(camera: &str, lost: bool, reason: &str) -> SystemTrouble {
    SystemTrouble {
        number: None,
        id: format!("camera:{camera}:analysis"),
        code: ContactId::SENSOR_TROUBLE,
        active: lost,
        what_vi: format!(
            "mất luồng phân tích của camera {camera}, không phát hiện chuyển động và phá hoại ({reason})"
        ),
        what_en: format!(
            "camera {camera}'s analysis stream lost, no motion or tamper detection ({reason})"
        ),
    }
}

impl Findings for SubstreamFindings {
    async fn video_loss(&mut self, lost: bool, reason: &str) {
        let trouble = analysis_stream_trouble(&self.camera, lost, reason);
        if let Err(e) = self.engine.submit(Input::Trouble(trouble)).await {
            tracing::error!(camera = self.camera, lost, reason, error = %e, "analysis stream trouble not committed");
        }
    }

    fn frame(&mut self, frame: &Frame) {
        self.feed.offer(frame);
    }
}

/// Starts the analyser on a blocking thread. Returns the feed for the stream analysed and
/// the findings, which end when every feed is dropped.
pub fn start_analyser(
    camera: &str,
    mut analyser: Analyser,
    health: Arc<Mutex<CameraHealth>>,
) -> (AnalysisFeed, mpsc::UnboundedReceiver<Finding>) {
    let (frames_tx, mut frames) = mpsc::channel::<Frame>(ANALYSIS_QUEUE);
    let (findings_tx, findings) = mpsc::unbounded_channel();
    let camera = camera.to_string();
    let counter = health.clone();
    tokio::task::spawn_blocking(move || {
        let mut failing = false;
        while let Some(frame) = frames.blocking_recv() {
            // A decoder fed a broken picture must not end the analysis for good: a
            // panic is one unreadable picture, named in the log.
            let analysed =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| analyser.frame(&frame)));
            let analysed = match analysed {
                Ok(result) => result,
                Err(panic) => {
                    tracing::error!(camera, panic = %crate::text::panic_message(panic), "the analysis failed on a picture; it goes on with the next");
                    continue;
                }
            };
            match analysed {
                Ok(found) => {
                    failing = false;
                    lock(&counter).analysed_frames += 1;
                    for f in found {
                        if findings_tx.send(f).is_err() {
                            return;
                        }
                    }
                }
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(camera, error = %e, "the analysis cannot decode the picture");
                }
                Err(_) => {}
            }
        }
    });
    (
        AnalysisFeed {
            frames: frames_tx,
            resync: false,
            health,
        },
        findings,
    )
}

/// Sends the analysis's findings to the engine on every sensor bound to the camera.
pub async fn report_findings(
    camera: &str,
    sensors: &[String],
    engine: &EngineHandle,
    health: &Mutex<CameraHealth>,
    mut findings: mpsc::UnboundedReceiver<Finding>,
) {
    let mut reports = 0u64;
    while let Some(finding) = findings.recv().await {
        let reading = match finding {
            Finding::Motion(active) => {
                lock(health).motion = active;
                tracing::info!(camera, active, "camera motion");
                Reading::Motion { active }
            }
            Finding::Tamper(kind) => {
                lock(health).tamper = kind.map(|k| k.as_str());
                tracing::warn!(camera, kind = kind.map(|k| k.as_str()), "camera tamper");
                Reading::Tamper {
                    active: kind.is_some(),
                }
            }
        };
        reports += 1;
        let source_ref = format!("camera:{camera}:analysis:{reports}");
        super::tell_sensors(engine, sensors, &reading, &source_ref).await;
    }
}

/// Renews the camera's thumbnail from the newest buffered keyframe until shutdown.
pub async fn keep_thumbnail(
    recorder: Arc<Mutex<Recorder>>,
    health: Arc<Mutex<CameraHealth>>,
    mut shutdown: Shutdown,
) {
    let mut last: Option<Duration> = None;
    let mut wait = Duration::ZERO;
    loop {
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        // Until a thumbnail is made, look again each second.
        wait = THUMBNAIL_RETRY;
        let Some(keyframe) = lock(&recorder).newest_keyframe() else {
            continue;
        };
        if last == Some(keyframe.pts) {
            continue;
        }
        last = Some(keyframe.pts);
        let Ok(_turn) = THUMBNAIL_DECODER.acquire().await else {
            return;
        };
        let made = tokio::task::spawn_blocking(move || {
            picture::snapshot(&keyframe, Some(THUMBNAIL_WIDTH))
        })
        .await;
        match made {
            Ok(Ok(jpeg)) => {
                let mut h = lock(&health);
                h.thumbnail = Some(Arc::new(jpeg));
                h.thumbnail_ms = Some(jiff::Timestamp::now().as_millisecond());
                wait = THUMBNAIL_EVERY;
            }
            Ok(Err(e)) => tracing::debug!(error = %e, "no thumbnail"),
            Err(e) => tracing::warn!(error = %e, "thumbnail task failed"),
        }
    }
}
