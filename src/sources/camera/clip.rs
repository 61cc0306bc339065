//! Writes an alarm's frames as an MP4 file (through the `mp4` crate) and fingerprints it
//! with SHA-256, so the evidence handed to the police can be shown to be unaltered.
//!
//! The file is written beside its final name, synced, then renamed into place
//! ([`write_whole`], also used for snapshots): a crash or power cut leaves either the
//! whole clip or none of it.

use mp4::{AvcConfig, MediaConfig, Mp4Config, Mp4Sample, Mp4Writer, TrackConfig, TrackType};
use sha2::{Digest, Sha256};
use std::io::{Cursor, Write};
use std::path::Path;
use std::time::Duration;

use super::stream::Frame;

/// Timescale of the video track: RTP's H.264 clock.
const TIMESCALE: u32 = 90_000;
/// Duration given to the last frame when there is no next one to measure it by.
const LAST_FRAME: u32 = TIMESCALE / 10;

/// A clip as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipInfo {
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// File size.
    pub bytes: u64,
    /// Playing time.
    pub duration: Duration,
    /// Frames in it.
    pub frames: usize,
}

/// Why a clip could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    /// No frames, or none starting at a keyframe.
    #[error("no playable frames (a clip must start at a keyframe)")]
    Empty,
    /// The stream's parameters cannot describe an MP4 track.
    #[error("the stream's H.264 parameters are unusable: {0}")]
    Parameters(String),
    /// The muxer refused.
    #[error("muxing: {0}")]
    Mux(#[from] mp4::Error),
    /// The disk refused.
    #[error("writing {path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// What the disk said.
        error: std::io::Error,
    },
}

/// The SPS and PPS inside an `AVCDecoderConfigurationRecord`.
pub(super) fn parameter_sets(avcc: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    // version, profile, compatibility, level, length size; then SPS count and SPSs,
    // PPS count and PPSs, each with a 16-bit length.
    let mut rest = avcc.get(5..)?;
    let mut take_first = |count_mask: u8| -> Option<Vec<u8>> {
        let count = rest.first()? & count_mask;
        rest = &rest[1..];
        let mut first = None;
        for _ in 0..count {
            let len = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
            let set = rest.get(2..2 + len)?;
            first.get_or_insert_with(|| set.to_vec());
            rest = &rest[2 + len..];
        }
        first
    };
    let sps = take_first(0x1f)?;
    let pps = take_first(0xff)?;
    Some((sps, pps))
}

fn ticks(d: Duration) -> u64 {
    u64::try_from(d.as_nanos() * u128::from(TIMESCALE) / 1_000_000_000).unwrap_or(u64::MAX)
}

/// Muxes `frames` (starting at a keyframe) into MP4 bytes.
pub fn mux(frames: &[Frame]) -> Result<(Vec<u8>, Duration), ClipError> {
    let start = frames
        .iter()
        .position(|f| f.keyframe)
        .ok_or(ClipError::Empty)?;
    let frames = &frames[start..];
    let params = &frames[0].params;
    let (sps, pps) = parameter_sets(&params.avc_config)
        .ok_or_else(|| ClipError::Parameters("no SPS/PPS in the decoder configuration".into()))?;
    let size = |v: u32, what: &str| {
        u16::try_from(v).map_err(|_| ClipError::Parameters(format!("{what} {v} is too large")))
    };
    let config = Mp4Config {
        major_brand: str::parse("isom")?,
        minor_version: 512,
        compatible_brands: vec![
            str::parse("isom")?,
            str::parse("iso2")?,
            str::parse("avc1")?,
            str::parse("mp41")?,
        ],
        timescale: 1000,
    };
    let mut writer = Mp4Writer::write_start(Cursor::new(Vec::new()), &config)?;
    writer.add_track(&TrackConfig {
        track_type: TrackType::Video,
        timescale: TIMESCALE,
        language: "und".into(),
        media_conf: MediaConfig::AvcConfig(AvcConfig {
            width: size(params.width, "width")?,
            height: size(params.height, "height")?,
            seq_param_set: sps,
            pic_param_set: pps,
        }),
    })?;
    let origin = ticks(frames[0].pts);
    let mut last_duration = LAST_FRAME;
    for (i, frame) in frames.iter().enumerate() {
        let at = ticks(frame.pts).saturating_sub(origin);
        let duration = frames
            .get(i + 1)
            .map(|next| ticks(next.pts).saturating_sub(ticks(frame.pts)))
            .and_then(|d| u32::try_from(d).ok())
            .filter(|d| *d > 0)
            .unwrap_or(last_duration);
        last_duration = duration;
        writer.write_sample(
            1,
            &Mp4Sample {
                start_time: at,
                duration,
                rendering_offset: 0,
                is_sync: frame.keyframe,
                bytes: frame.data.clone().into(),
            },
        )?;
    }
    writer.write_end()?;
    let played = frames
        .last()
        .map_or(Duration::ZERO, |f| f.pts - frames[0].pts)
        + Duration::from_secs_f64(f64::from(last_duration) / f64::from(TIMESCALE));
    Ok((writer.into_writer().into_inner(), played))
}

/// Writes `bytes` to `path` so that a crash leaves all of it or none: beside its name,
/// synced, renamed into place. Makes the directory when missing.
pub fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let mut file = std::fs::File::create(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&partial, path)
}

/// Writes `frames` to `path` as MP4 and returns its fingerprint.
pub fn write(path: &Path, frames: &[Frame]) -> Result<ClipInfo, ClipError> {
    let (bytes, duration) = mux(frames)?;
    write_whole(path, &bytes).map_err(|error| ClipError::Io {
        path: path.display().to_string(),
        error,
    })?;
    Ok(ClipInfo {
        sha256: hex::encode(Sha256::digest(&bytes)),
        bytes: bytes.len() as u64,
        duration,
        frames: frames.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sps_and_pps_in_a_decoder_configuration() {
        let avcc = [
            1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 3, 0x67, 0x42, 0xc0, 1, 0, 2, 0x68, 0xce,
        ];
        assert_eq!(
            parameter_sets(&avcc),
            Some((vec![0x67, 0x42, 0xc0], vec![0x68, 0xce]))
        );
        assert_eq!(parameter_sets(&avcc[..9]), None, "truncated");
    }
}
