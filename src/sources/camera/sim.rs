//! A simulated camera behind the same [`Opener`] as an RTSP one: pictures drawn here and
//! encoded with openh264's encoder, paced by tokio's clock. It lets `picket demo` show
//! cameras, thumbnails, clips and motion without hardware, and lets tests exercise the
//! whole picture path without a network (and on a paused clock).
//!
//! Configured as `url = "sim://yard"` (a fenced yard that someone crosses for 4 s every
//! 20 s), `sim://night` (the same yard at night: dark, faint and grainy, the person lit
//! by a torch), `sim://still` (the yard with nobody) or `sim://black` (a covered lens).

use openh264::OpenH264API;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, RateControlMode,
};
use openh264::formats::YUVSlices;
use std::sync::Arc;
use std::time::Duration;

use super::stream::{CameraError, CameraErrorKind, Frame, FrameStream, Opener, VideoParams};

/// Every this many seconds someone crosses the yard…
const CROSSING_EVERY_S: f64 = 20.0;
/// …taking this long.
const CROSSING_S: f64 = 4.0;

/// Bits per second the encoder aims at: enough for a sharp 640×360 picture.
const BITRATE: u32 = 1_000_000;

pub use crate::config::sim_scene::Scene;

/// Opens simulated streams.
#[derive(Debug, Clone)]
pub struct SimulatedCamera {
    /// Configured camera id.
    pub camera: String,
    /// What it shows.
    pub scene: Scene,
    /// Picture width (even).
    pub width: usize,
    /// Picture height (even).
    pub height: usize,
    /// Frames per second.
    pub fps: u32,
    /// Frames from one keyframe to the next.
    pub gop: u32,
}

impl SimulatedCamera {
    /// A 640×360 camera at 5 fps with a keyframe every 2 s.
    pub fn new(camera: &str, scene: Scene) -> SimulatedCamera {
        SimulatedCamera {
            camera: camera.to_string(),
            scene,
            width: 640,
            height: 360,
            fps: 5,
            gop: 10,
        }
    }
}

impl Opener for SimulatedCamera {
    type Stream = SimulatedStream;

    async fn open(&self) -> Result<SimulatedStream, CameraError> {
        let config = EncoderConfig::new()
            .max_frame_rate(FrameRate::from_hz(self.fps as f32))
            .bitrate(BitRate::from_bps(BITRATE))
            .skip_frames(false)
            .rate_control_mode(RateControlMode::Off)
            .intra_frame_period(IntraFramePeriod::from_num_frames(self.gop));
        let encoder =
            Encoder::with_api_config(OpenH264API::from_source(), config).map_err(|e| {
                CameraError {
                    camera: self.camera.clone(),
                    kind: CameraErrorKind::Unusable,
                    message: format!("the simulated camera's encoder would not start: {e}"),
                }
            })?;
        let period = Duration::from_secs(1) / self.fps.max(1);
        Ok(SimulatedStream {
            camera: self.clone(),
            encoder,
            picture: vec![0; self.width * self.height * 3 / 2],
            ticker: tokio::time::interval(period),
            period,
            count: 0,
            params: None,
        })
    }
}

/// A simulated camera's open stream.
pub struct SimulatedStream {
    /// What it is.
    camera: SimulatedCamera,
    /// openh264's encoder.
    encoder: Encoder,
    /// The picture being drawn: Y, then U, then V (4:2:0).
    picture: Vec<u8>,
    /// Paces frames.
    ticker: tokio::time::Interval,
    /// Time between frames.
    period: Duration,
    /// Frames made.
    count: u64,
    /// Parameters from the last keyframe.
    params: Option<Arc<VideoParams>>,
}

impl SimulatedStream {
    /// Draws the scene at `t` seconds into the picture.
    fn draw(&mut self, t: f64) {
        let (w, h) = (self.camera.width, self.camera.height);
        let scene = self.camera.scene;
        let (luma, chroma) = self.picture.split_at_mut(w * h);
        if scene == Scene::Black {
            luma.fill(16);
            chroma.fill(128);
            return;
        }
        let horizon = h / 3;
        for (row, line) in luma.chunks_exact_mut(w).enumerate() {
            for (col, p) in line.iter_mut().enumerate() {
                *p = if row < horizon {
                    // Sky, lighter towards the top.
                    (200 - row * 40 / horizon) as u8
                } else if col % 48 < 4 && row < horizon + h / 6 {
                    // Fence posts.
                    50
                } else {
                    // Gravel: a fixed fine texture.
                    (100 + ((col * 7 + row * 13) % 17) * 3) as u8
                };
            }
        }
        let (u, v) = chroma.split_at_mut(w * h / 4);
        u.fill(120);
        v.fill(132);
        if scene == Scene::Night {
            // A fifth of the light, and the sensor's grain (the same for a given frame).
            let frame = (t * f64::from(self.camera.fps)).round() as usize;
            for (i, p) in luma.iter_mut().enumerate() {
                let grain = (i.wrapping_mul(2_654_435_761) ^ frame.wrapping_mul(40_503)) % 9;
                *p = (16 + (usize::from(*p) - 16) / 5 + grain) as u8;
            }
        }
        if matches!(scene, Scene::Yard | Scene::Night) {
            let into = t % CROSSING_EVERY_S;
            if into < CROSSING_S {
                // A person walking left to right: a dark upright block by day, lit by a
                // torch at night.
                let (pw, ph) = (w / 12, h / 3);
                let left = ((into / CROSSING_S) * (w - pw) as f64) as usize;
                let top = h - ph - h / 12;
                let shade = if scene == Scene::Night { 180 } else { 30 };
                for line in luma.chunks_exact_mut(w).skip(top).take(ph) {
                    line[left..left + pw].fill(shade);
                }
            }
        }
    }

    /// Encodes the picture into a frame.
    fn encode(&mut self, pts: Duration) -> Result<Frame, CameraError> {
        let (w, h) = (self.camera.width, self.camera.height);
        let (y, chroma) = self.picture.split_at(w * h);
        let (u, v) = chroma.split_at(w * h / 4);
        let source = YUVSlices::new((y, u, v), (w, h), (w, w / 2, w / 2));
        let stream = match self.encoder.encode(&source) {
            Ok(stream) => stream,
            Err(e) => {
                return Err(CameraError {
                    camera: self.camera.camera.clone(),
                    kind: CameraErrorKind::Unusable,
                    message: format!("encoding failed: {e}"),
                });
            }
        };
        let keyframe = matches!(stream.frame_type(), FrameType::IDR | FrameType::I);
        let (mut sps, mut pps, mut data) = (None, None, Vec::new());
        for l in 0..stream.num_layers() {
            let Some(layer) = stream.layer(l) else {
                continue;
            };
            for n in 0..layer.nal_count() {
                let Some(unit) = layer.nal_unit(n).map(strip_start_code) else {
                    continue;
                };
                match unit.first().map(|b| b & 0x1f) {
                    Some(7) => sps = Some(unit.to_vec()),
                    Some(8) => pps = Some(unit.to_vec()),
                    Some(_) => {
                        data.extend_from_slice(&(unit.len() as u32).to_be_bytes());
                        data.extend_from_slice(unit);
                    }
                    None => {}
                }
            }
        }
        if let (Some(sps), Some(pps)) = (sps, pps) {
            self.params = Some(Arc::new(VideoParams {
                width: self.camera.width as u32,
                height: self.camera.height as u32,
                avc_config: avc_config(&sps, &pps),
            }));
        }
        let params = self
            .params
            .clone()
            .ok_or_else(|| self.error("the encoder gave no parameter sets".into()))?;
        Ok(Frame {
            data,
            keyframe,
            pts,
            params,
        })
    }

    fn error(&self, message: String) -> CameraError {
        CameraError {
            camera: self.camera.camera.clone(),
            kind: CameraErrorKind::Unusable,
            message,
        }
    }
}

impl FrameStream for SimulatedStream {
    async fn next_frame(&mut self) -> Option<Result<Frame, CameraError>> {
        self.ticker.tick().await;
        let pts = self.period * u32::try_from(self.count).unwrap_or(u32::MAX);
        if self.count.is_multiple_of(u64::from(self.camera.gop.max(1))) {
            self.encoder.force_intra_frame();
        }
        self.count += 1;
        self.draw(pts.as_secs_f64());
        Some(self.encode(pts))
    }

    async fn close(self, _patience: Duration) {}
}

/// A NAL unit without its Annex B start code.
fn strip_start_code(unit: &[u8]) -> &[u8] {
    unit.strip_prefix(&[0, 0, 0, 1])
        .or_else(|| unit.strip_prefix(&[0, 0, 1]))
        .unwrap_or(unit)
}

/// An `AVCDecoderConfigurationRecord` holding one SPS and one PPS.
fn avc_config(sps: &[u8], pps: &[u8]) -> Vec<u8> {
    let mut out = vec![
        1,
        sps.get(1).copied().unwrap_or(0x42),
        sps.get(2).copied().unwrap_or(0),
        sps.get(3).copied().unwrap_or(0x1e),
        0xff,
        0xe1,
    ];
    out.extend_from_slice(&(sps.len() as u16).to_be_bytes());
    out.extend_from_slice(sps);
    out.push(1);
    out.extend_from_slice(&(pps.len() as u16).to_be_bytes());
    out.extend_from_slice(pps);
    out
}

#[cfg(test)]
mod tests {
    use super::super::picture;
    use super::*;

    async fn frames(scene: Scene, n: usize) -> Vec<Frame> {
        let camera = SimulatedCamera::new("yard", scene);
        let mut stream = camera.open().await.expect("opens");
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(
                stream
                    .next_frame()
                    .await
                    .expect("a frame")
                    .expect("encoded"),
            );
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn frames_come_at_the_rate_with_keyframes_every_gop() {
        let start = tokio::time::Instant::now();
        let frames = frames(Scene::Yard, 21).await;
        assert_eq!(start.elapsed(), Duration::from_millis(4000));
        let keyframes: Vec<usize> = (0..frames.len()).filter(|i| frames[*i].keyframe).collect();
        assert_eq!(keyframes, [0, 10, 20]);
        assert_eq!(frames[20].pts, Duration::from_secs(4));
    }

    #[tokio::test(start_paused = true)]
    async fn a_keyframe_decodes_to_a_snapshot_of_the_picture_size() {
        let frames = frames(Scene::Still, 1).await;
        let jpeg = picture::snapshot(&frames[0], None).expect("decodes");
        assert_eq!((jpeg.width, jpeg.height), (640, 360));
        assert_eq!(&jpeg.bytes[..2], &[0xFF, 0xD8], "a JPEG");
        let thumb = picture::snapshot(&frames[0], Some(320)).expect("decodes");
        assert_eq!((thumb.width, thumb.height), (320, 180));
    }

    #[test]
    fn scenes_are_named_by_url() {
        assert_eq!(Scene::from_url("sim://yard"), Some(Scene::Yard));
        assert_eq!(Scene::from_url("sim://black"), Some(Scene::Black));
        assert_eq!(Scene::from_url("sim://night"), Some(Scene::Night));
        assert_eq!(Scene::from_url("rtsp://cam/1"), None);
        assert_eq!(Scene::from_url("sim://moon"), None);
    }
}
