//! IP cameras as sources: each camera is watched by its own task ([`watch`]), which turns
//! a picture that stops into a video-loss observation (and its return into a restore) on
//! every sensor bound to the camera (`source = { kind = "camera", camera = "…" }`).
//!
//! - [`stream`]: the [`Opener`]/[`FrameStream`] traits every camera implements.
//! - [`rtsp`]: RTSP cameras through retina.
//! - [`watch`]: supervision, stall timeout, reconnect with backoff, video loss.
//! - [`health`]: online, frame and bit rate, last keyframe, reconnects, last error.
//! - [`sim`]: a simulated camera (`sim://yard`) for the demo and tests; [`opener`] picks
//!   RTSP or simulated by URL.
//! - [`ring`], [`clip`], [`evidence`]: the pre-event buffer, MP4 clips and JPEG snapshots
//!   of alarms with their SHA-256 in the journal, and their retention.
//! - [`picture`], [`analysis`], [`detect`]: decoding (openh264), motion and tamper
//!   analysis on a blocking thread, findings to the engine, the page's thumbnail.
//!
//! A camera never delays another camera or the engine: each runs on its own task, and
//! the only thing it waits for outside itself is the engine's commit of a video-loss change.

pub mod analysis;
pub mod clip;
pub mod detect;
pub mod evidence;
pub mod health;
pub mod opener;
pub mod picture;
pub mod ring;
pub mod rtsp;
pub mod sim;
pub mod stream;
pub mod watch;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::backoff::Backoff;
use crate::config::{CameraTransport, Config, SourceBinding};
use crate::engine::{Observation, Reading};
use crate::journal::Journal;
use crate::shared::changes::{ChangeReader, Changes};
use crate::shared::engine_handle::EngineHandle;
use evidence::{EvidenceSetup, Recorder, Recording};
use tokio::sync::mpsc;

pub use health::CameraHealth;
pub use stream::{CameraError, CameraErrorKind, Frame, FrameStream, Opener, VideoParams};
pub use watch::{Findings, WatchSettings, Watcher};

use super::{Source, SourceContext, SourceFuture};
use analysis::{Analyser, AnalysisSettings, Region};
use detect::{AnalysisFeed, SubstreamFindings};
use opener::CameraOpener;
use rtsp::RtspTransport;

/// The analysis settings of `[cameras.analysis]`.
fn analysis_settings(a: &crate::config::CameraAnalysis) -> AnalysisSettings {
    AnalysisSettings {
        fps: a.fps,
        sensitivity: a.sensitivity,
        min_area: a.min_area_percent / 100.0,
        regions: a
            .regions
            .iter()
            .map(|[x, y, w, h]| Region {
                x: *x,
                y: *y,
                w: *w,
                h: *h,
            })
            .collect(),
        tamper: a.tamper,
    }
}

/// First reconnect delay after a camera fails.
const RECONNECT_BASE: Duration = Duration::from_millis(500);
/// Longest wait between reconnects: short, so a camera that comes back (power restored,
/// cable plugged in) is seen back within a few seconds; a connection attempt on the site
/// network costs next to nothing.
const RECONNECT_CAP: Duration = Duration::from_secs(5);
/// How long shutdown waits for a camera to answer TEARDOWN.
const CLOSE_PATIENCE: Duration = Duration::from_secs(2);

/// Where a camera's findings go: video loss and restore to the engine, on every sensor
/// bound to it; frames to the pre-event buffer and the clips being recorded.
pub struct CameraFindings {
    /// Configured camera id.
    camera: String,
    /// Sensors bound to the camera.
    sensors: Vec<String>,
    /// Where observations go.
    engine: EngineHandle,
    /// Reports so far, to name each observation in the journal.
    reports: u64,
    /// The pre-event buffer and clips being recorded.
    recorder: Arc<Mutex<Recorder>>,
    /// The analysis, when it looks at this stream.
    analysis: Option<AnalysisFeed>,
}

impl Findings for CameraFindings {
    async fn video_loss(&mut self, lost: bool, _reason: &str) {
        self.reports += 1;
        tell_sensors(
            &self.engine,
            &self.sensors,
            &Reading::VideoLoss { active: lost },
            &format!("camera:{}:{}", self.camera, self.reports),
        )
        .await;
    }

    fn frame(&mut self, frame: &Frame) {
        crate::shared::lock::lock(&self.recorder).frame(frame);
        if let Some(feed) = &mut self.analysis {
            feed.offer(frame);
        }
    }
}

/// Tells the engine `reading` on every sensor bound to a camera, each observation named
/// `source_ref` in the journal; a failure is logged.
async fn tell_sensors(
    engine: &EngineHandle,
    sensors: &[String],
    reading: &Reading,
    source_ref: &str,
) {
    for sensor in sensors {
        let observation = Observation {
            sensor: sensor.clone(),
            reading: reading.clone(),
            source_ref: Some(source_ref.to_string()),
        };
        if let Err(e) = engine.observe(observation).await {
            tracing::error!(sensor, ?reading, source_ref, error = %e, "camera observation not committed");
        }
    }
}

/// One configured camera, run as a source.
pub struct CameraSource {
    /// Configured camera id.
    camera: String,
    /// Connects to it.
    opener: Option<CameraOpener>,
    /// The analysis's settings, and its own stream when it has one (a substream).
    analysis: Option<(AnalysisSettings, Option<CameraOpener>)>,
    /// Sensors bound to it.
    sensors: Vec<String>,
    /// Shared with the page and `/metrics`.
    pub health: Arc<Mutex<CameraHealth>>,
    /// Timeouts and pacing.
    settings: WatchSettings,
    /// The pre-event buffer and clips being recorded.
    recorder: Arc<Mutex<Recorder>>,
    /// Finished recordings, to be written.
    finished: Option<mpsc::UnboundedReceiver<Recording>>,
    /// The engine's alarms, to start recordings.
    alarms: Option<ChangeReader>,
    /// Where clips go.
    evidence: EvidenceSetup,
}

impl CameraSource {
    /// One source per `[[cameras]]` entry; clips of alarms from `changes` go to the
    /// evidence directory and their fingerprints to `journal`.
    pub fn from_config(
        config: &Config,
        changes: &Changes,
        journal: &Journal,
    ) -> Result<Vec<CameraSource>, CameraError> {
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
                let opener =
                    CameraOpener::for_url(&camera.id, &camera.url, credentials.clone(), transport)?;
                let analysis = match &camera.analysis {
                    Some(a) => {
                        let substream = a
                            .url
                            .as_deref()
                            .map(|url| {
                                CameraOpener::for_url(&camera.id, url, credentials, transport)
                            })
                            .transpose()?;
                        Some((analysis_settings(a), substream))
                    }
                    None => None,
                };
                let sensors = config
                    .sensors
                    .iter()
                    .filter(|s| {
                        matches!(&s.source, SourceBinding::Camera { camera: c } if *c == camera.id)
                    })
                    .map(|s| s.id.clone())
                    .collect();
                let stall = Duration::from_secs(u64::from(camera.stall_timeout_s));
                let post = Duration::from_secs(u64::from(camera.post_s));
                let (finished_tx, finished) = mpsc::unbounded_channel();
                let recorder = Recorder::new(
                    Duration::from_secs(u64::from(camera.pre_s)),
                    post,
                    usize::try_from(camera.buffer_mb).unwrap_or(16) * 1024 * 1024,
                    finished_tx,
                );
                let health = CameraHealth::analysed(&camera.id, analysis.is_some());
                Ok(CameraSource {
                    camera: camera.id.clone(),
                    opener: Some(opener),
                    analysis,
                    sensors,
                    health: Arc::new(Mutex::new(health)),
                    settings: WatchSettings {
                        stall_timeout: stall,
                        backoff: Backoff::new(RECONNECT_BASE, RECONNECT_CAP),
                        close_patience: CLOSE_PATIENCE,
                    },
                    recorder: Arc::new(Mutex::new(recorder)),
                    finished: Some(finished),
                    alarms: Some(changes.reader()),
                    evidence: EvidenceSetup {
                        camera: camera.id.clone(),
                        zones: camera.zones.iter().cloned().collect(),
                        post,
                        stall,
                        dir: config.evidence_dir(),
                        journal: journal.clone(),
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
            // The watcher reconnects by itself and returns only at shutdown; the clip
            // tasks then finish what they hold.
            let (Some(opener), Some(mut finished), Some(alarms)) =
                (self.opener.take(), self.finished.take(), self.alarms.take())
            else {
                return Ok(());
            };
            let (mut main_feed, mut substream, mut found) = (None, None, None);
            if let Some((settings, sub_opener)) = self.analysis.take() {
                match Analyser::new(settings) {
                    Ok(analyser) => {
                        let (feed, findings) =
                            detect::start_analyser(&self.camera, analyser, self.health.clone());
                        found = Some(findings);
                        match sub_opener {
                            Some(opener) => {
                                substream = Some(Watcher {
                                    camera: format!("{} (analysis)", self.camera),
                                    opener,
                                    findings: SubstreamFindings {
                                        feed,
                                        camera: self.camera.clone(),
                                        engine: ctx.engine.clone(),
                                    },
                                    health: Arc::new(Mutex::new(CameraHealth::new(&self.camera))),
                                    settings: self.settings.clone(),
                                })
                            }
                            None => main_feed = Some(feed),
                        }
                    }
                    Err(e) => {
                        tracing::error!(camera = self.camera, error = %e, "the analysis cannot start")
                    }
                }
            }
            let watcher = Watcher {
                camera: self.camera.clone(),
                opener,
                findings: CameraFindings {
                    camera: self.camera.clone(),
                    sensors: self.sensors.clone(),
                    engine: ctx.engine.clone(),
                    reports: 0,
                    recorder: self.recorder.clone(),
                    analysis: main_feed,
                },
                health: self.health.clone(),
                settings: self.settings.clone(),
            };
            let recorder = self.recorder.clone();
            tokio::join!(
                watcher.run(ctx.shutdown.clone()),
                async {
                    if let Some(w) = substream {
                        w.run(ctx.shutdown.clone()).await;
                    }
                },
                async {
                    if let Some(findings) = found {
                        let (camera, sensors) = (&self.camera, &self.sensors);
                        detect::report_findings(
                            camera,
                            sensors,
                            &ctx.engine,
                            &self.health,
                            findings,
                        )
                        .await;
                    }
                },
                evidence::record_alarms(
                    &self.evidence,
                    &ctx.engine,
                    recorder,
                    alarms,
                    ctx.shutdown.clone()
                ),
                evidence::write_clips(
                    &self.evidence,
                    &ctx.engine,
                    &mut finished,
                    ctx.shutdown.clone()
                ),
                detect::keep_thumbnail(
                    self.recorder.clone(),
                    self.health.clone(),
                    ctx.shutdown.clone()
                ),
            );
            // Every recording has been ended by now: write what they hold.
            evidence::write_queued(&self.evidence, &ctx.engine, &mut finished).await;
            Ok(())
        })
    }
}
