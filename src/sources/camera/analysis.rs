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
//!   threshold set by the sensitivity since the last compared picture; motion begins when
//!   the changed cells cover at least the minimum area in two compared pictures running,
//!   goes on while at least half that area keeps changing (a small object slowing down
//!   is still moving), and ends after [`MOTION_HOLD`] without. It is judged before, and
//!   apart from, tamper: nothing about tamper holds it up.
//! - **Tamper**, held for [`TAMPER_HOLD`] before it is reported and after it ends, judged
//!   so that night does not look like sabotage (a fence under IR is mostly dark, with
//!   grain, a lamp, a moving torch):
//!   - *covered*: dark, no large structure, and no fine texture either: a lens taped
//!     over, not a dark scene (which keeps its grain, noise and faint edges);
//!   - *defocused*: focus (fine texture over coarser detail, which light and contrast do
//!     not change) under half the learned scene's, judged only in good light on a scene
//!     with enough detail to tell;
//!   - *turned away*: most of the grid unlike the learned scene, compared after taking
//!     out the overall brightness and contrast (dusk, a camera switching to IR).
//!
//!   The reference is learned slowly from pictures without motion or tamper, so a scene
//!   that darkens gradually is followed.

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
/// Mean luma (0–255) under which a picture is dark: covered, or a scene at night.
const DARK_LUMA: f64 = 40.0;
/// Spread of the grid's luma under which a picture has no large structure.
const FEATURELESS_SPREAD: f64 = 6.0;
/// Fine texture (luma) under which a picture has none: a covered lens, flattened further
/// by the encoder. A dark scene keeps more, from its grain, noise and faint edges.
const TEXTURELESS: f64 = 1.0;
/// Pixels apart for the coarser measure of detail that focus is judged against.
const DETAIL_SPAN: usize = 8;
/// Detail under which focus is not judged: too little in the picture to tell sharp from
/// blurred.
const MIN_DETAIL: f64 = 4.0;
/// Focus under this share of the learned scene's counts as defocused.
const DEFOCUS_SHARE: f64 = 0.5;
/// A cell this far from the reference counts as unlike it (luma, when either picture has
/// no structure to normalise by).
const SCENE_CELL_DIFF: f64 = 40.0;
/// Spread of both grids from which they are compared normalised (brightness and contrast
/// taken out); below it, as they are.
const NORMALISED_SPREAD: f64 = 3.0;
/// A cell this many spreads from the reference, both normalised, counts as unlike it.
const SCENE_CELL_SPREADS: f64 = 1.0;
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
    /// The picture's texture and detail.
    measures: Measures,
}

/// What tamper is judged on, besides the grid.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Measures {
    /// Root mean square luma step between horizontal neighbours: the finest texture
    /// (edges, grain, noise). Blur and covering take it away.
    texture: f64,
    /// Root mean square luma difference between pixels [`DETAIL_SPAN`] apart: structure
    /// at a coarser scale, which blur takes away much less.
    detail: f64,
}

impl Measures {
    /// Fine texture over coarser detail: how sharp the picture is, whatever its light
    /// and contrast (both scale alike); `None` when there is too little detail to tell.
    fn focus(&self) -> Option<f64> {
        (self.detail >= MIN_DETAIL).then(|| self.texture / self.detail)
    }
}

/// Mean and standard deviation of a grid.
fn mean_spread(grid: impl ExactSizeIterator<Item = f64> + Clone) -> (f64, f64) {
    let n = grid.len().max(1) as f64;
    let mean = grid.clone().sum::<f64>() / n;
    let spread = (grid.map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    (mean, spread)
}

/// The scene learned from pictures without motion or tamper.
struct Reference {
    /// Luma averages, learned.
    grid: Vec<f64>,
    /// Texture and detail, learned.
    measures: Measures,
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
    /// The learned picture.
    reference: Option<Reference>,
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
            measures: measures(&picture),
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
        let changed_share = match &self.previous {
            Some((previous, _)) => {
                let counted = self.mask.iter().filter(|m| **m).count().max(1);
                let changed = previous
                    .iter()
                    .zip(&sample.grid)
                    .zip(&self.mask)
                    .filter(|((a, b), m)| **m && u32::from(a.abs_diff(**b)) > threshold)
                    .count();
                changed as f64 / counted as f64
            }
            None => 0.0,
        };
        let starting = changed_share >= self.settings.min_area;
        let moving = changed_share >= self.settings.min_area / 2.0;
        self.moving_run = if starting { self.moving_run + 1 } else { 0 };
        if self.moving_run >= 2 || (self.motion && moving) {
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
        let (mean, spread) = mean_spread(sample.grid.iter().map(|v| f64::from(*v)));
        if mean < DARK_LUMA && spread < FEATURELESS_SPREAD && sample.measures.texture < TEXTURELESS
        {
            return Some(TamperKind::Covered);
        }
        let reference = self
            .reference
            .as_ref()
            .filter(|_| self.learned >= REFERENCE_WARMUP)?;
        let (ref_mean, ref_spread) = mean_spread(reference.grid.iter().copied());
        let in_good_light = mean >= DARK_LUMA && ref_mean >= DARK_LUMA;
        if let (true, Some(focus), Some(ref_focus)) = (
            in_good_light,
            sample.measures.focus(),
            reference.measures.focus(),
        ) && focus < ref_focus * DEFOCUS_SHARE
        {
            return Some(TamperKind::Defocused);
        }
        let normalised = spread >= NORMALISED_SPREAD && ref_spread >= NORMALISED_SPREAD;
        if !normalised && mean < DARK_LUMA {
            // Dark and flat: covered (judged above) or night, not another view.
            return None;
        }
        let unlike = reference
            .grid
            .iter()
            .zip(&sample.grid)
            .filter(|(r, s)| {
                let s = f64::from(**s);
                if normalised {
                    ((**r - ref_mean) / ref_spread - (s - mean) / spread).abs() > SCENE_CELL_SPREADS
                } else {
                    (**r - s).abs() > SCENE_CELL_DIFF
                }
            })
            .count();
        let n = sample.grid.len().max(1) as f64;
        (unlike as f64 / n > SCENE_CHANGED_SHARE).then_some(TamperKind::TurnedAway)
    }

    /// Moves the reference towards this picture.
    fn learn(&mut self, sample: &Sample) {
        let follow = |r: &mut f64, s: f64| *r += (s - *r) * REFERENCE_RATE;
        match &mut self.reference {
            Some(reference) => {
                for (r, s) in reference.grid.iter_mut().zip(&sample.grid) {
                    follow(r, f64::from(*s));
                }
                follow(&mut reference.measures.texture, sample.measures.texture);
                follow(&mut reference.measures.detail, sample.measures.detail);
            }
            None => {
                self.reference = Some(Reference {
                    grid: sample.grid.iter().map(|v| f64::from(*v)).collect(),
                    measures: sample.measures,
                });
            }
        }
        self.learned = self.learned.saturating_add(1);
    }
}

/// Texture and detail of a picture's luma, over every 4th row.
fn measures(picture: &impl YUVSource) -> Measures {
    let (width, height) = picture.dimensions();
    let (stride, _, _) = picture.strides();
    let y = picture.y();
    let (mut fine, mut fine_n, mut coarse, mut coarse_n) = (0u64, 0u64, 0u64, 0u64);
    for row in (0..height).step_by(4) {
        let Some(line) = y.get(row * stride..row * stride + width) else {
            break;
        };
        let squares = |span: usize| {
            line.iter()
                .zip(line.iter().skip(span))
                .map(|(a, b)| u64::from(a.abs_diff(*b)).pow(2))
                .sum::<u64>()
        };
        fine += squares(1);
        fine_n += width.saturating_sub(1) as u64;
        coarse += squares(DETAIL_SPAN);
        coarse_n += width.saturating_sub(DETAIL_SPAN) as u64;
    }
    let rms = |sum: u64, n: u64| (sum as f64 / n.max(1) as f64).sqrt();
    Measures {
        texture: rms(fine, fine_n),
        detail: rms(coarse, coarse_n),
    }
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

    /// A night at the fence (sim://night, 60 s on the paused clock): someone crossing with
    /// a torch is motion within a second of stepping in, every time, and the dark, faint,
    /// grainy picture is never tamper.
    #[tokio::test(start_paused = true)]
    async fn the_yard_at_night_is_motion_at_once_and_never_tamper() {
        let found = analyse(Scene::Night, 60, settings()).await;
        assert!(
            !found.iter().any(|(f, _)| matches!(f, Finding::Tamper(_))),
            "{found:?}"
        );
        let began: Vec<Duration> = found
            .iter()
            .filter(|(f, _)| *f == Finding::Motion(true))
            .map(|(_, at)| *at)
            .collect();
        assert_eq!(began.len(), 3, "one motion per crossing: {found:?}");
        for (crossing, at) in began.iter().enumerate() {
            let start = Duration::from_secs(20 * crossing as u64);
            assert!(
                *at >= start && *at <= start + Duration::from_secs(1),
                "crossing {crossing} at {start:?}, motion at {at:?}: {found:?}"
            );
        }
    }

    const W: usize = 640;
    const H: usize = 360;

    /// A picture drawn by `luma(col, row)`, reduced as the analyser reduces one.
    fn sample(luma: impl Fn(usize, usize) -> f64) -> Sample {
        let y: Vec<u8> = (0..W * H)
            .map(|i| luma(i % W, i / W).round().clamp(0.0, 255.0) as u8)
            .collect();
        let chroma = vec![128u8; W * H / 4];
        let picture =
            openh264::formats::YUVSlices::new((&y, &chroma, &chroma), (W, H), (W, W / 2, W / 2));
        Sample {
            grid: luma_grid(&picture, GRID_COLS, 36),
            measures: measures(&picture),
        }
    }

    /// A sharp scene: bright and dark blocks with a fine texture on them.
    fn scene(col: usize, row: usize) -> f64 {
        let block = if (col / 80 + row / 60).is_multiple_of(2) {
            170.0
        } else {
            60.0
        };
        block + ((col * 7 + row * 13) % 17) as f64 * 2.0
    }

    /// `f` averaged over a `radius` box around each pixel: the picture out of focus.
    fn blurred(f: fn(usize, usize) -> f64, radius: usize) -> impl Fn(usize, usize) -> f64 {
        move |col, row| {
            let (mut sum, mut n) = (0.0, 0.0);
            for r in row.saturating_sub(radius)..(row + radius + 1).min(H) {
                for c in col.saturating_sub(radius)..(col + radius + 1).min(W) {
                    sum += f(c, r);
                    n += 1.0;
                }
            }
            sum / n
        }
    }

    /// `f` with the light above black scaled by `light`.
    fn lit(f: impl Fn(usize, usize) -> f64, light: f64) -> impl Fn(usize, usize) -> f64 {
        move |col, row| 16.0 + (f(col, row) - 16.0) * light
    }

    /// An analyser that has learned `scene` (the warm-up, and a little more).
    fn learned(scene: &Sample) -> Analyser {
        let mut a = Analyser::new(settings()).expect("decoder");
        a.resize(GRID_COLS, 36);
        for i in 0..REFERENCE_WARMUP as u64 + 1 {
            let copy = Sample {
                grid: scene.grid.clone(),
                measures: scene.measures,
            };
            assert_eq!(a.compare(copy, Duration::from_millis(200 * i)), []);
        }
        a
    }

    /// Feeds the pictures `pictures(i)` for 4 s after the learning; what was found.
    fn feed(a: &mut Analyser, pictures: impl Fn(u64) -> Sample) -> Vec<Finding> {
        (10..30)
            .flat_map(|i| a.compare(pictures(i), Duration::from_millis(200 * i)))
            .collect()
    }

    #[test]
    fn a_blurred_picture_is_defocus_but_less_light_is_not() {
        let sharp = sample(scene);
        let blur = sample(blurred(scene, 4));
        let mut a = learned(&sharp);
        let found = feed(&mut a, |_| Sample {
            grid: blur.grid.clone(),
            measures: blur.measures,
        });
        assert_eq!(
            found,
            [Finding::Tamper(Some(TamperKind::Defocused))],
            "{:?} then {:?}",
            sharp.measures,
            blur.measures
        );
        // Half the light at once (dusk, a lamp going off), or a tenth of it: sharpness
        // is judged against the scene's own detail, which scales alike, so no defocus.
        for light in [0.5, 0.1] {
            let dim = sample(lit(scene, light));
            let mut a = learned(&sharp);
            assert_eq!(
                feed(&mut a, |_| Sample {
                    grid: dim.grid.clone(),
                    measures: dim.measures
                }),
                [],
                "{light}: {:?}",
                dim.measures
            );
        }
        // The learned scene itself is fine.
        let mut a = learned(&sharp);
        assert_eq!(feed(&mut a, |_| sample(scene)), []);
    }

    #[test]
    fn another_scene_is_turned_away_but_the_same_one_in_other_light_is_not() {
        let learned_scene = sample(scene);
        let elsewhere = sample(|c, r| scene(c + 80, r));
        let mut a = learned(&learned_scene);
        let found = feed(&mut a, |_| Sample {
            grid: elsewhere.grid.clone(),
            measures: elsewhere.measures,
        });
        assert_eq!(
            found.last(),
            Some(&Finding::Tamper(Some(TamperKind::TurnedAway))),
            "{found:?}"
        );
        // Brighter and flatter at once (a camera switching to its IR picture).
        let ir = sample(|c, r| 90.0 + (scene(c, r) - 16.0) * 0.4);
        let mut a = learned(&learned_scene);
        assert_eq!(
            feed(&mut a, |_| Sample {
                grid: ir.grid.clone(),
                measures: ir.measures
            }),
            []
        );
    }

    #[test]
    fn a_dark_scene_with_grain_is_not_covered_but_covering_it_is() {
        // A night scene: little light, no large structure, the sensor's grain.
        let grainy =
            |i: u64| sample(move |c, r| 24.0 + ((c * 31 + r * 17 + i as usize * 7) % 11) as f64);
        let mut a = learned(&grainy(0));
        assert_eq!(feed(&mut a, grainy), [], "{:?}", grainy(0).measures);
        let black = sample(|_, _| 16.0);
        let found = feed(&mut a, |_| Sample {
            grid: black.grid.clone(),
            measures: black.measures,
        });
        assert_eq!(found, [Finding::Tamper(Some(TamperKind::Covered))]);
        // Grain alone, from the start (nothing learned yet), is no cover either.
        let mut fresh = Analyser::new(settings()).expect("decoder");
        fresh.resize(GRID_COLS, 36);
        assert_eq!(feed(&mut fresh, grainy), []);
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
