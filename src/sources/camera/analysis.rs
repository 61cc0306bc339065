//! Picture analysis: the camera as a detector. Motion (someone in the yard) and tamper
//! (lens covered or blacked out, heavily defocused, or the camera turned away) become
//! observations on the camera's sensors, so the engine treats them like a PIR or a tamper
//! switch (a fence contact plus camera motion is a confirmed intrusion).
//!
//! Every frame of the analysis stream is decoded (a P-frame needs the one before), but
//! pictures are compared only at the configured rate, on a small grid of luma averages:
//! cheap enough for a substream on a Raspberry Pi.
//!
//! - **Motion**: a grid cell inside the mask changed when its luma moved by more than a
//!   threshold set by the sensitivity since the last compared picture; motion is when
//!   the changed cells cover at least the minimum area in two compared pictures running,
//!   and ends after [`MOTION_HOLD`] without.
//! - **Tamper**, held for [`TAMPER_HOLD`] before it is reported and after it ends:
//!   *covered* (dark and featureless), *defocused* (sharpness under a third of the learned
//!   reference), *turned away* (most of the grid unlike the learned reference). The
//!   reference is learned slowly from pictures without motion or tamper.

use std::time::Duration;

use super::picture::{PictureDecoder, PictureError, luma_grid};
use super::stream::Frame;
use openh264::formats::YUVSource;

/// Columns of the comparison grid (rows follow the picture's aspect).
const GRID_COLS: usize = 64;
/// Motion ends this long after the last compared picture that showed it.
pub const MOTION_HOLD: Duration = Duration::from_secs(3);
/// A tamper condition must hold this long to be reported, and be gone this long to end.
pub const TAMPER_HOLD: Duration = Duration::from_secs(3);
/// Mean luma (0–255) under which a featureless picture counts as covered.
const COVERED_LUMA: f64 = 40.0;
/// Spread of the grid's luma under which a picture counts as featureless.
const FEATURELESS_SPREAD: f64 = 6.0;
/// Sharpness under this share of the reference's counts as defocused.
const DEFOCUS_SHARE: f64 = 1.0 / 3.0;
/// A cell this far from the reference counts as unlike it.
const SCENE_CELL_DIFF: u8 = 40;
/// Unlike cells over this share of the grid count as a changed scene.
const SCENE_CHANGED_SHARE: f64 = 0.7;
/// How fast the reference follows the picture (per compared picture).
const REFERENCE_RATE: f64 = 0.05;
/// Compared pictures before the reference is trusted.
const REFERENCE_WARMUP: u32 = 5;

/// A rectangle of the picture, in percent of its width and height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    /// Left edge, percent.
    pub x: f64,
    /// Top edge, percent.
    pub y: f64,
    /// Width, percent.
    pub w: f64,
    /// Height, percent.
    pub h: f64,
}

/// How a camera's picture is analysed.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisSettings {
    /// Pictures compared per second.
    pub fps: f64,
    /// 1 (only large, strong changes) to 100 (the faintest).
    pub sensitivity: u8,
    /// Share of the masked picture (0–1) that must change to be motion.
    pub min_area: f64,
    /// Where motion counts; empty = the whole picture.
    pub regions: Vec<Region>,
    /// Whether tamper is looked for.
    pub tamper: bool,
}

/// What kind of tamper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TamperKind {
    /// Lens covered or picture black.
    Covered,
    /// Heavily out of focus.
    Defocused,
    /// Pointed somewhere else.
    TurnedAway,
}

impl TamperKind {
    /// Stable name, for health and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            TamperKind::Covered => "covered",
            TamperKind::Defocused => "defocused",
            TamperKind::TurnedAway => "turned_away",
        }
    }
}

/// A change the analysis found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// Motion began (`true`) or ended.
    Motion(bool),
    /// Tamper began (with its kind) or ended (`None`).
    Tamper(Option<TamperKind>),
}

/// One compared picture, reduced.
struct Sample {
    /// Luma averages, `cols` × `rows`.
    grid: Vec<u8>,
    /// Mean absolute horizontal luma gradient over sampled rows.
    sharpness: f64,
}

/// A condition that must hold (or be absent) for a while before it counts.
#[derive(Debug)]
struct Held<T: Copy + PartialEq> {
    /// What is reported now.
    reported: Option<T>,
    /// What was seen last and since when.
    seen: Option<(Option<T>, Duration)>,
}

impl<T: Copy + PartialEq> Default for Held<T> {
    fn default() -> Self {
        Held {
            reported: None,
            seen: None,
        }
    }
}

impl<T: Copy + PartialEq> Held<T> {
    /// Takes what is seen at `at`; the new report when it changes after `hold`.
    fn update(&mut self, now: Option<T>, at: Duration, hold: Duration) -> Option<Option<T>> {
        match self.seen {
            Some((seen, _)) if seen == now => {}
            _ => self.seen = Some((now, at)),
        }
        let since = self.seen.map_or(at, |(_, since)| since);
        if now != self.reported && at.saturating_sub(since) >= hold {
            self.reported = now;
            return Some(now);
        }
        None
    }
}

/// One camera's analysis.
pub struct Analyser {
    settings: AnalysisSettings,
    decoder: PictureDecoder,
    /// Grid size, once the picture's size is known.
    cols: usize,
    rows: usize,
    /// Which grid cells count for motion.
    mask: Vec<bool>,
    /// The last compared picture's grid, and when it was.
    previous: Option<(Vec<u8>, Duration)>,
    /// Compared pictures in a row showing motion.
    moving_run: u32,
    /// When motion was last seen.
    last_motion: Option<Duration>,
    /// Whether motion is reported.
    motion: bool,
    /// The learned picture: grid and sharpness.
    reference: Option<(Vec<f64>, f64)>,
    /// Compared pictures learned into the reference.
    learned: u32,
    /// Tamper, held.
    tamper: Held<TamperKind>,
}

impl Analyser {
    /// An analyser with `settings`.
    pub fn new(settings: AnalysisSettings) -> Result<Analyser, PictureError> {
        Ok(Analyser {
            settings,
            decoder: PictureDecoder::new()?,
            cols: 0,
            rows: 0,
            mask: Vec::new(),
            previous: None,
            moving_run: 0,
            last_motion: None,
            motion: false,
            reference: None,
            learned: 0,
            tamper: Held::default(),
        })
    }

    /// Takes the next frame of the analysis stream; what changed.
    pub fn frame(&mut self, frame: &Frame) -> Result<Vec<Finding>, PictureError> {
        let due = self.previous.as_ref().is_none_or(|(_, at)| {
            frame.pts < *at || (frame.pts - *at).as_secs_f64() >= 1.0 / self.settings.fps
        });
        let picture = match self.decoder.decode(frame)? {
            Some(picture) if due => picture,
            _ => return Ok(Vec::new()),
        };
        let (width, height) = picture.dimensions();
        let rows = (GRID_COLS * height / width.max(1)).max(1);
        let sample = Sample {
            grid: luma_grid(&picture, GRID_COLS, rows),
            sharpness: sharpness(&picture),
        };
        if (self.cols, self.rows) != (GRID_COLS, rows) {
            self.resize(GRID_COLS, rows);
        }
        Ok(self.compare(sample, frame.pts))
    }

    fn resize(&mut self, cols: usize, rows: usize) {
        self.cols = cols;
        self.rows = rows;
        self.mask = (0..rows)
            .flat_map(|r| (0..cols).map(move |c| (r, c)))
            .map(|(r, c)| {
                let (x, y) = (
                    (c as f64 + 0.5) * 100.0 / cols as f64,
                    (r as f64 + 0.5) * 100.0 / rows as f64,
                );
                self.settings.regions.is_empty()
                    || self
                        .settings
                        .regions
                        .iter()
                        .any(|g| x >= g.x && x < g.x + g.w && y >= g.y && y < g.y + g.h)
            })
            .collect();
        self.previous = None;
        self.reference = None;
        self.learned = 0;
    }

    /// Compares a picture with the last one and the reference.
    fn compare(&mut self, sample: Sample, at: Duration) -> Vec<Finding> {
        let mut findings = Vec::new();
        let threshold = 5 + u32::from(100 - self.settings.sensitivity.clamp(1, 100)) * 40 / 100;
        let moving = match &self.previous {
            Some((previous, _)) => {
                let counted = self.mask.iter().filter(|m| **m).count().max(1);
                let changed = previous
                    .iter()
                    .zip(&sample.grid)
                    .zip(&self.mask)
                    .filter(|((a, b), m)| **m && u32::from(a.abs_diff(**b)) > threshold)
                    .count();
                changed as f64 / counted as f64 >= self.settings.min_area
            }
            None => false,
        };
        self.moving_run = if moving { self.moving_run + 1 } else { 0 };
        if self.moving_run >= 2 {
            self.last_motion = Some(at);
            if !self.motion {
                self.motion = true;
                findings.push(Finding::Motion(true));
            }
        } else if self.motion
            && self
                .last_motion
                .is_none_or(|last| at.saturating_sub(last) >= MOTION_HOLD)
        {
            self.motion = false;
            findings.push(Finding::Motion(false));
        }
        if self.settings.tamper {
            let seen = self.tamper_seen(&sample);
            if let Some(report) = self.tamper.update(seen, at, TAMPER_HOLD) {
                findings.push(Finding::Tamper(report));
            }
            if seen.is_none() && !moving {
                self.learn(&sample);
            }
        }
        self.previous = Some((sample.grid, at));
        findings
    }

    /// The tamper condition this picture shows, if any.
    fn tamper_seen(&self, sample: &Sample) -> Option<TamperKind> {
        let n = sample.grid.len().max(1) as f64;
        let mean = sample.grid.iter().map(|v| f64::from(*v)).sum::<f64>() / n;
        let spread = (sample
            .grid
            .iter()
            .map(|v| (f64::from(*v) - mean).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        if mean < COVERED_LUMA && spread < FEATURELESS_SPREAD {
            return Some(TamperKind::Covered);
        }
        let (reference, sharpness) = self.reference.as_ref()?;
        if self.learned < REFERENCE_WARMUP {
            return None;
        }
        if sample.sharpness < sharpness * DEFOCUS_SHARE {
            return Some(TamperKind::Defocused);
        }
        let unlike = reference
            .iter()
            .zip(&sample.grid)
            .filter(|(r, s)| (**r - f64::from(**s)).abs() > f64::from(SCENE_CELL_DIFF))
            .count();
        (unlike as f64 / n > SCENE_CHANGED_SHARE).then_some(TamperKind::TurnedAway)
    }

    /// Moves the reference towards this picture.
    fn learn(&mut self, sample: &Sample) {
        match &mut self.reference {
            Some((grid, sharpness)) => {
                for (r, s) in grid.iter_mut().zip(&sample.grid) {
                    *r += (f64::from(*s) - *r) * REFERENCE_RATE;
                }
                *sharpness += (sample.sharpness - *sharpness) * REFERENCE_RATE;
            }
            None => {
                self.reference = Some((
                    sample.grid.iter().map(|v| f64::from(*v)).collect(),
                    sample.sharpness,
                ));
            }
        }
        self.learned = self.learned.saturating_add(1);
    }
}

/// Mean absolute difference between horizontal neighbours, over every 4th row.
fn sharpness(picture: &impl YUVSource) -> f64 {
    let (width, height) = picture.dimensions();
    let (stride, _, _) = picture.strides();
    let y = picture.y();
    let mut sum = 0u64;
    let mut count = 0u64;
    for row in (0..height).step_by(4) {
        let line = &y[row * stride..row * stride + width];
        sum += line
            .windows(2)
            .map(|p| u64::from(p[0].abs_diff(p[1])))
            .sum::<u64>();
        count += width.saturating_sub(1) as u64;
    }
    sum as f64 / count.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::super::sim::{Scene, SimulatedCamera};
    use super::super::stream::{FrameStream, Opener};
    use super::*;

    fn settings() -> AnalysisSettings {
        AnalysisSettings {
            fps: 5.0,
            sensitivity: 50,
            min_area: 0.01,
            regions: Vec::new(),
            tamper: true,
        }
    }

    /// Runs `seconds` of a simulated scene through an analyser; findings with their time.
    async fn analyse(
        scene: Scene,
        seconds: u64,
        settings: AnalysisSettings,
    ) -> Vec<(Finding, Duration)> {
        let camera = SimulatedCamera::new("yard", scene);
        let mut stream = camera.open().await.expect("opens");
        let mut analyser = Analyser::new(settings).expect("decoder");
        let mut out = Vec::new();
        for _ in 0..seconds * u64::from(camera.fps) {
            let frame = stream.next_frame().await.expect("frame").expect("encoded");
            for f in analyser.frame(&frame).expect("decodes") {
                out.push((f, frame.pts));
            }
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn someone_crossing_the_yard_is_motion_and_nobody_is_none() {
        let found = analyse(Scene::Yard, 10, settings()).await;
        let motion: Vec<_> = found
            .iter()
            .filter(|(f, _)| matches!(f, Finding::Motion(_)))
            .collect();
        // The crossing takes the first 4 s: motion begins within it and ends after it.
        assert!(
            matches!(motion.first(), Some((Finding::Motion(true), at)) if *at < Duration::from_secs(2)),
            "{found:?}"
        );
        assert!(
            matches!(motion.get(1), Some((Finding::Motion(false), at)) if *at >= Duration::from_secs(4)),
            "{found:?}"
        );
        assert_eq!(motion.len(), 2, "{found:?}");
        assert!(
            !found.iter().any(|(f, _)| matches!(f, Finding::Tamper(_))),
            "{found:?}"
        );
        assert_eq!(analyse(Scene::Still, 10, settings()).await, []);
    }

    #[tokio::test(start_paused = true)]
    async fn motion_outside_the_mask_does_not_count() {
        // The crossing happens in the lower part of the picture; watch only the sky.
        let mut sky = settings();
        sky.regions = vec![Region {
            x: 0.0,
            y: 0.0,
            w: 100.0,
            h: 30.0,
        }];
        assert_eq!(analyse(Scene::Yard, 6, sky).await, []);
    }

    #[tokio::test(start_paused = true)]
    async fn a_covered_lens_is_tamper_after_the_hold() {
        let found = analyse(Scene::Black, 6, settings()).await;
        assert_eq!(
            found,
            [(Finding::Tamper(Some(TamperKind::Covered)), TAMPER_HOLD)]
        );
    }

    /// An analyser that has learned a picture of vertical stripes (sharp, half bright).
    fn learned() -> (Analyser, Vec<u8>) {
        let mut a = Analyser::new(settings()).expect("decoder");
        a.resize(GRID_COLS, 36);
        let stripes: Vec<u8> = (0..GRID_COLS * 36)
            .map(|i| if i % 2 == 0 { 60 } else { 180 })
            .collect();
        for i in 0..REFERENCE_WARMUP as u64 + 1 {
            let sample = Sample {
                grid: stripes.clone(),
                sharpness: 20.0,
            };
            assert_eq!(a.compare(sample, Duration::from_millis(200 * i)), []);
        }
        (a, stripes)
    }

    /// Feeds `grid` with `sharpness` for 4 s after the learning; what was found.
    fn feed(a: &mut Analyser, grid: &[u8], sharpness: f64) -> Vec<Finding> {
        (10..30)
            .flat_map(|i| {
                let sample = Sample {
                    grid: grid.to_vec(),
                    sharpness,
                };
                a.compare(sample, Duration::from_millis(200 * i))
            })
            .collect()
    }

    #[test]
    fn a_blurred_picture_is_defocus_and_another_scene_is_turned_away() {
        let (mut a, stripes) = learned();
        assert_eq!(
            feed(&mut a, &stripes, 3.0),
            [Finding::Tamper(Some(TamperKind::Defocused))]
        );
        let (mut a, stripes) = learned();
        let elsewhere: Vec<u8> = stripes.iter().map(|v| 240 - v).collect();
        let found = feed(&mut a, &elsewhere, 20.0);
        assert_eq!(
            found.last(),
            Some(&Finding::Tamper(Some(TamperKind::TurnedAway))),
            "{found:?}"
        );
        let (mut a, stripes) = learned();
        assert_eq!(
            feed(&mut a, &stripes, 19.0),
            [],
            "the learned scene is fine"
        );
    }

    #[test]
    fn a_held_condition_reports_only_after_it_lasted() {
        let mut held = Held::default();
        let s = Duration::from_secs;
        assert_eq!(held.update(Some(1), s(0), s(3)), None);
        assert_eq!(held.update(None, s(1), s(3)), None, "gone before the hold");
        assert_eq!(held.update(Some(1), s(2), s(3)), None);
        assert_eq!(held.update(Some(1), s(5), s(3)), Some(Some(1)));
        assert_eq!(held.update(Some(1), s(6), s(3)), None, "reported once");
        assert_eq!(held.update(None, s(7), s(3)), None);
        assert_eq!(held.update(None, s(10), s(3)), Some(None));
    }
}
