//! Alarm clips and snapshots: when an alarm is raised in a zone a camera covers, the
//! newest buffered keyframe becomes a JPEG and the camera's pre-event buffer plus the next
//! seconds of picture an MP4, both in the evidence directory with their SHA-256 in the
//! journal. Retention deletes clips by age and by total size, and records every deletion.
//! Each file written or deleted also goes to the engine as an [`EvidenceNote`], so its
//! SHA-256 is in the hash-chained history.
//!
//! The camera's task hands each frame to its [`Recorder`] (a lock held for a push); a
//! listener on the engine's alarms starts recordings; finished recordings are muxed and
//! written on a blocking thread, so a slow SD card never delays the camera's reads.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

use sha2::{Digest, Sha256};

use super::ring::PreEventRing;
use super::stream::Frame;
use super::{clip, picture};
use crate::engine::{Alarm, AlarmId, AlarmState, EvidenceKind, EvidenceNote, Input, Timestamp};
use crate::journal::{EvidenceFile, Journal};
use crate::shared::changes::{Change, ChangeReader};
use crate::shared::engine_handle::EngineHandle;
use crate::shared::lock::lock;
use crate::shared::shutdown::Shutdown;

/// A clip being gathered for one alarm.
#[derive(Debug)]
pub struct Recording {
    /// The alarm.
    pub alarm: AlarmId,
    /// When it was raised (names the file).
    pub raised_at: Timestamp,
    /// Frames so far: the pre-event buffer, then live ones.
    pub frames: Vec<Frame>,
    /// The clip ends with the first frame at or after this timestamp.
    until: Option<Duration>,
}

/// One camera's pre-event buffer and the recordings in progress.
pub struct Recorder {
    /// Recent picture.
    ring: PreEventRing,
    /// Seconds after the alarm.
    post: Duration,
    /// Recordings gathering frames.
    recording: Vec<Recording>,
    /// Where finished recordings go to be written.
    finished: mpsc::UnboundedSender<Recording>,
}

impl Recorder {
    /// A recorder keeping `pre` of picture in at most `max_bytes`, recording `post` after
    /// each alarm; finished recordings are sent to `finished`.
    pub fn new(
        pre: Duration,
        post: Duration,
        max_bytes: usize,
        finished: mpsc::UnboundedSender<Recording>,
    ) -> Recorder {
        Recorder {
            ring: PreEventRing::new(pre, max_bytes),
            post,
            recording: Vec::new(),
            finished,
        }
    }

    /// Takes a frame into the buffer and every recording.
    pub fn frame(&mut self, frame: &Frame) {
        if self.ring.push(frame.clone()) {
            // A new stream's timestamps start again: clips end with the old one.
            self.finish_all();
            return;
        }
        let mut i = 0;
        while i < self.recording.len() {
            let r = &mut self.recording[i];
            let until = *r.until.get_or_insert(frame.pts + self.post);
            r.frames.push(frame.clone());
            if frame.pts >= until {
                let done = self.recording.swap_remove(i);
                let _ = self.finished.send(done);
            } else {
                i += 1;
            }
        }
    }

    /// Starts a clip for `alarm` with what the buffer holds.
    pub fn start(&mut self, alarm: AlarmId, raised_at: Timestamp) {
        let frames = self.ring.frames();
        let until = self.ring.newest_pts().map(|t| t + self.post);
        self.recording.push(Recording {
            alarm,
            raised_at,
            frames,
            until,
        });
    }

    /// The newest keyframe buffered, for a snapshot.
    pub fn newest_keyframe(&self) -> Option<Frame> {
        self.ring.newest_keyframe().cloned()
    }

    /// Ends `alarm`'s clip with what it has (the camera stopped sending).
    pub fn finish(&mut self, alarm: AlarmId) {
        if let Some(i) = self.recording.iter().position(|r| r.alarm == alarm) {
            let done = self.recording.swap_remove(i);
            let _ = self.finished.send(done);
        }
    }

    /// Ends every clip (shutdown).
    pub fn finish_all(&mut self) {
        for done in self.recording.drain(..) {
            let _ = self.finished.send(done);
        }
    }
}

/// What a camera's evidence tasks need.
pub struct EvidenceSetup {
    /// Configured camera id.
    pub camera: String,
    /// Zones the camera covers.
    pub zones: BTreeSet<String>,
    /// Seconds after the alarm (the clip's end is forced this plus `stall` after it).
    pub post: Duration,
    /// The camera's stall timeout.
    pub stall: Duration,
    /// Where clips go (a directory per camera inside).
    pub dir: PathBuf,
    /// Where their fingerprints go.
    pub journal: Journal,
}

/// Starts a clip (and writes its snapshot) for each new alarm in a zone the camera
/// covers, as the change stream tells of it; ends each clip after its post-event time.
/// Alarms already open when the camera starts are not recorded again (their picture is
/// long gone); alarms raised while this reader was behind are, once it catches up.
pub async fn record_alarms(
    setup: &EvidenceSetup,
    engine: &EngineHandle,
    recorder: Arc<Mutex<Recorder>>,
    mut changes: ChangeReader,
    mut shutdown: Shutdown,
) {
    let mut started: HashSet<AlarmId> = HashSet::new();
    let mut first = true;
    let mut deadlines = tokio::task::JoinSet::new();
    loop {
        let news: Vec<Arc<Alarm>> = tokio::select! {
            _ = shutdown.wait() => break,
            Some(Ok(alarm)) = deadlines.join_next(), if !deadlines.is_empty() => {
                lock(&recorder).finish(alarm);
                continue;
            }
            change = changes.next() => match change {
                None => break,
                Some(Change::Snapshot(panel)) if first => {
                    first = false;
                    started.extend(panel.alarms.keys().copied());
                    continue;
                }
                Some(Change::Snapshot(panel)) => {
                    started.retain(|id| panel.alarms.contains_key(id));
                    panel.alarms.values().cloned().collect()
                }
                Some(Change::Set(set)) => set.alarms.clone(),
            },
        };
        for alarm in news {
            if alarm.state == AlarmState::Resolved {
                started.remove(&alarm.id);
                continue;
            }
            let covered = alarm.zone.as_ref().is_some_and(|z| setup.zones.contains(z));
            if !covered || !started.insert(alarm.id) {
                continue;
            }
            tracing::info!(
                camera = setup.camera,
                alarm = alarm.id,
                "recording the alarm's clip"
            );
            let keyframe = {
                let mut recorder = lock(&recorder);
                recorder.start(alarm.id, alarm.raised_at);
                recorder.newest_keyframe()
            };
            match keyframe {
                Some(frame) => {
                    write_snapshot(setup, engine, alarm.id, alarm.raised_at, frame).await
                }
                None => tracing::warn!(
                    camera = setup.camera,
                    alarm = alarm.id,
                    "no picture buffered for the alarm's snapshot"
                ),
            }
            let id = alarm.id;
            let limit = setup.post + setup.stall;
            deadlines.spawn(async move {
                tokio::time::sleep(limit).await;
                id
            });
        }
    }
    lock(&recorder).finish_all();
}

/// Writes finished recordings until shutdown. What is still queued then is written by
/// [`write_queued`] once the recordings have been ended.
pub async fn write_clips(
    setup: &EvidenceSetup,
    engine: &EngineHandle,
    finished: &mut mpsc::UnboundedReceiver<Recording>,
    mut shutdown: Shutdown,
) {
    loop {
        tokio::select! {
            _ = shutdown.wait() => return,
            recording = finished.recv() => match recording {
                Some(recording) => write_one(setup, engine, recording).await,
                None => return,
            },
        }
    }
}

/// Writes every recording already queued.
pub async fn write_queued(
    setup: &EvidenceSetup,
    engine: &EngineHandle,
    finished: &mut mpsc::UnboundedReceiver<Recording>,
) {
    while let Ok(recording) = finished.try_recv() {
        write_one(setup, engine, recording).await;
    }
}

/// `<dir>/<camera>/alarm-<id>-<UTC time>.<ext>`.
fn evidence_path(
    setup: &EvidenceSetup,
    alarm: AlarmId,
    raised_at: Timestamp,
    ext: &str,
) -> PathBuf {
    let stamp = jiff::Timestamp::from_millisecond(raised_at.0)
        .map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string())
        .unwrap_or_else(|_| raised_at.0.to_string());
    setup
        .dir
        .join(&setup.camera)
        .join(format!("alarm-{alarm}-{stamp}.{ext}"))
}

/// The note telling the engine of `file`, written (`deleted: None`) or deleted. The file
/// is named relative to the evidence directory `dir`.
pub fn note_of(
    file: &EvidenceFile,
    dir: &std::path::Path,
    deleted: Option<(String, String)>,
) -> EvidenceNote {
    let path = std::path::Path::new(&file.path);
    EvidenceNote {
        alarm: AlarmId::try_from(file.alarm_id).unwrap_or_default(),
        camera: file.camera.clone(),
        kind: EvidenceKind::from_name(&file.kind).unwrap_or(EvidenceKind::Clip),
        file: path.strip_prefix(dir).unwrap_or(path).display().to_string(),
        sha256: file.sha256.clone(),
        bytes: u64::try_from(file.bytes).unwrap_or(0),
        deleted,
    }
}

/// Chains a note in the engine's history, logging a failure.
pub async fn chain(engine: &EngineHandle, note: EvidenceNote) {
    let (file, sha256) = (note.file.clone(), note.sha256.clone());
    if let Err(e) = engine.submit(Input::Evidence(note)).await {
        tracing::error!(file, sha256, error = %e, "evidence fingerprint not chained in the journal");
    }
}

/// What the journal records of a file just written.
struct Written {
    /// SHA-256 of the file, hex.
    sha256: String,
    /// File size.
    bytes: u64,
    /// Playing time, for a clip.
    duration: Option<Duration>,
}

/// Runs a file writer on a blocking thread (a slow SD card never delays the camera); a
/// failure is logged naming the alarm and `what` was not written.
async fn write_blocking(
    setup: &EvidenceSetup,
    alarm: AlarmId,
    what: &str,
    job: impl FnOnce() -> Result<Written, String> + Send + 'static,
) -> Option<Written> {
    match tokio::task::spawn_blocking(job).await {
        Ok(Ok(written)) => Some(written),
        Ok(Err(e)) => {
            tracing::error!(camera = setup.camera, alarm, error = %e, "{what} not written");
            None
        }
        Err(e) => {
            tracing::error!(camera = setup.camera, alarm, error = %e, "{what} writer failed");
            None
        }
    }
}

/// Records a written file in the journal's evidence list and its fingerprint in the hash
/// chain, logging the outcome.
async fn record(
    setup: &EvidenceSetup,
    engine: &EngineHandle,
    alarm: AlarmId,
    kind: EvidenceKind,
    path: &std::path::Path,
    written: Written,
) {
    let file = EvidenceFile {
        id: 0,
        alarm_id: i64::try_from(alarm).unwrap_or(i64::MAX),
        camera: setup.camera.clone(),
        kind: kind.as_str().into(),
        path: path.display().to_string(),
        sha256: written.sha256,
        bytes: i64::try_from(written.bytes).unwrap_or(i64::MAX),
        duration_ms: written
            .duration
            .and_then(|d| i64::try_from(d.as_millis()).ok()),
        created_at_ms: jiff::Timestamp::now().as_millisecond(),
        deleted_at_ms: None,
    };
    let note = note_of(&file, &setup.dir, None);
    match setup.journal.record_evidence(&file).await {
        Ok(_) => tracing::info!(
            camera = setup.camera,
            alarm = file.alarm_id,
            kind = file.kind,
            path = file.path,
            sha256 = file.sha256,
            "alarm evidence written"
        ),
        Err(e) => {
            tracing::error!(camera = setup.camera, kind = file.kind, path = file.path, sha256 = file.sha256, error = %e, "evidence written but not recorded in the journal")
        }
    }
    chain(engine, note).await;
}

/// Decodes `keyframe` to a JPEG beside the alarm's clip and records its fingerprint.
async fn write_snapshot(
    setup: &EvidenceSetup,
    engine: &EngineHandle,
    alarm: AlarmId,
    raised_at: Timestamp,
    keyframe: Frame,
) {
    let path = evidence_path(setup, alarm, raised_at, "jpg");
    let target = path.clone();
    let written = write_blocking(setup, alarm, "snapshot", move || {
        let jpeg = picture::snapshot(&keyframe, None).map_err(|e| e.to_string())?;
        clip::write_whole(&target, &jpeg.bytes)
            .map_err(|e| format!("writing {}: {e}", target.display()))?;
        Ok(Written {
            sha256: hex::encode(Sha256::digest(&jpeg.bytes)),
            bytes: jpeg.bytes.len() as u64,
            duration: None,
        })
    })
    .await;
    if let Some(written) = written {
        record(setup, engine, alarm, EvidenceKind::Snapshot, &path, written).await;
    }
}

/// Muxes one recording to its file and records its fingerprint.
async fn write_one(setup: &EvidenceSetup, engine: &EngineHandle, recording: Recording) {
    let path = evidence_path(setup, recording.alarm, recording.raised_at, "mp4");
    let frames = recording.frames;
    let target = path.clone();
    let written = write_blocking(setup, recording.alarm, "clip", move || {
        let info = clip::write(&target, &frames).map_err(|e| e.to_string())?;
        Ok(Written {
            sha256: info.sha256,
            bytes: info.bytes,
            duration: Some(info.duration),
        })
    })
    .await;
    if let Some(written) = written {
        record(
            setup,
            engine,
            recording.alarm,
            EvidenceKind::Clip,
            &path,
            written,
        )
        .await;
    }
}

/// Deletes clips older than `max_age`, then the oldest while all together exceed
/// `max_bytes`; every deletion is logged and recorded in the evidence list. Returns the
/// notes for the engine (files named relative to `dir`), one per file deleted.
pub async fn apply_retention(
    journal: &Journal,
    dir: &std::path::Path,
    max_age: Duration,
    max_bytes: u64,
    now_ms: i64,
) -> Vec<EvidenceNote> {
    let mut deleted = Vec::new();
    let kept = match journal.evidence(None).await {
        Ok(kept) => kept,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the evidence list for retention");
            return deleted;
        }
    };
    let oldest_allowed =
        now_ms.saturating_sub(i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX));
    let mut total: u64 = kept
        .iter()
        .map(|f| u64::try_from(f.bytes).unwrap_or(0))
        .sum();
    for file in &kept {
        let (why_vi, why) = if file.created_at_ms < oldest_allowed {
            let days = max_age.as_secs() / 86_400;
            (
                format!("quá {days} ngày"),
                format!("older than {days} days"),
            )
        } else if total > max_bytes {
            let limit = if max_bytes >= 1024 * 1024 {
                format!("{} MiB", max_bytes / (1024 * 1024))
            } else {
                format!("{max_bytes} B")
            };
            (
                format!("bằng chứng vượt {limit}"),
                format!("evidence over {limit}"),
            )
        } else {
            continue;
        };
        match std::fs::remove_file(&file.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = file.path, error = %e, "cannot delete old evidence");
                continue;
            }
        }
        total = total.saturating_sub(u64::try_from(file.bytes).unwrap_or(0));
        tracing::info!(
            path = file.path,
            sha256 = file.sha256,
            alarm = file.alarm_id,
            why,
            "evidence deleted"
        );
        if let Err(e) = journal.evidence_deleted(file.id, now_ms, &why).await {
            tracing::warn!(path = file.path, error = %e, "evidence deleted but not recorded");
        }
        deleted.push(note_of(file, dir, Some((why_vi, why))));
    }
    deleted
}

/// How often retention runs.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// Evidence retention, run as a source so it starts and stops with the daemon.
pub struct EvidenceRetention {
    /// Where the list of files is.
    pub journal: Journal,
    /// The evidence directory, to name files relative to it.
    pub dir: PathBuf,
    /// Oldest clip kept.
    pub max_age: Duration,
    /// Most bytes kept.
    pub max_bytes: u64,
}

impl super::super::Source for EvidenceRetention {
    fn name(&self) -> String {
        "evidence retention".into()
    }

    fn run<'a>(
        &'a mut self,
        ctx: &'a super::super::SourceContext,
    ) -> super::super::SourceFuture<'a> {
        Box::pin(async move {
            let mut shutdown = ctx.shutdown.clone();
            loop {
                let now = jiff::Timestamp::now().as_millisecond();
                let deleted =
                    apply_retention(&self.journal, &self.dir, self.max_age, self.max_bytes, now)
                        .await;
                for note in deleted {
                    chain(&ctx.engine, note).await;
                }
                tokio::select! {
                    _ = shutdown.wait() => return Ok(()),
                    _ = tokio::time::sleep(RETENTION_EVERY) => {}
                }
            }
        })
    }
}
