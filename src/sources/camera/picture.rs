//! Turning a camera's H.264 into pictures (openh264): a snapshot JPEG of a keyframe for
//! an alarm's evidence and the page's thumbnail, and decoded luma for motion and tamper
//! analysis.
//!
//! Frames arrive as MP4 stores them (each NAL unit behind its 4-byte length) with the SPS
//! and PPS in the stream's decoder configuration; the decoder wants Annex B (start codes)
//! with the parameter sets in band, so they are rewritten here.

use openh264::decoder::{DecodedYUV, Decoder};
use openh264::formats::YUVSource;
use std::sync::Arc;

use super::clip::parameter_sets;
use super::stream::{Frame, VideoParams};

/// JPEG quality of snapshots and thumbnails (1–100).
const JPEG_QUALITY: u8 = 85;
/// Annex B start code.
const START: [u8; 4] = [0, 0, 0, 1];

/// Why a picture could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    /// The decoder could not start or refused the stream.
    #[error("decoding H.264: {0}")]
    Decode(String),
    /// The frame held no complete picture.
    #[error("the frame held no complete picture")]
    NoPicture,
    /// The JPEG encoder refused.
    #[error("encoding JPEG: {0}")]
    Jpeg(String),
}

pub use crate::shared::health::Jpeg;

/// The SPS and PPS of `params` in Annex B.
fn parameter_sets_annex_b(params: &VideoParams) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some((sps, pps)) = parameter_sets(&params.avc_config) {
        for set in [sps, pps] {
            out.extend_from_slice(&START);
            out.extend_from_slice(&set);
        }
    }
    out
}

/// `data` (length-prefixed NAL units) in Annex B, appended to `out`.
fn append_annex_b(data: &[u8], out: &mut Vec<u8>) {
    let mut rest = data;
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let Some(unit) = rest.get(4..4 + len) else {
            break;
        };
        out.extend_from_slice(&START);
        out.extend_from_slice(unit);
        rest = &rest[4 + len..];
    }
}

/// A decoder for one camera's stream, fed every frame in order from a keyframe on.
pub struct PictureDecoder {
    /// openh264's decoder.
    inner: Decoder,
    /// The parameters last given to the decoder.
    params: Option<Arc<VideoParams>>,
    /// The Annex B packet being built (kept to reuse its allocation).
    packet: Vec<u8>,
}

impl PictureDecoder {
    /// A decoder waiting for a keyframe.
    pub fn new() -> Result<PictureDecoder, PictureError> {
        Ok(PictureDecoder {
            inner: Decoder::new().map_err(|e| PictureError::Decode(e.to_string()))?,
            params: None,
            packet: Vec::new(),
        })
    }

    /// Decodes `frame`; the picture, when it completes one. Frames before the first
    /// keyframe (and after a change of parameters, before the next) are skipped.
    pub fn decode(&mut self, frame: &Frame) -> Result<Option<DecodedYUV<'_>>, PictureError> {
        self.packet.clear();
        let same = self
            .params
            .as_ref()
            .is_some_and(|p| Arc::ptr_eq(p, &frame.params) || **p == *frame.params);
        if frame.keyframe {
            self.packet
                .extend_from_slice(&parameter_sets_annex_b(&frame.params));
            self.params = Some(frame.params.clone());
        } else if !same {
            return Ok(None);
        }
        append_annex_b(&frame.data, &mut self.packet);
        self.inner
            .decode(&self.packet)
            .map_err(|e| PictureError::Decode(e.to_string()))
    }
}

/// Decodes one keyframe alone into a JPEG, at most `max_width` wide (scaled down by a
/// whole factor, keeping the aspect).
pub fn snapshot(frame: &Frame, max_width: Option<u32>) -> Result<Jpeg, PictureError> {
    let mut decoder = PictureDecoder::new()?;
    let picture = decoder.decode(frame)?.ok_or(PictureError::NoPicture)?;
    jpeg(&picture, max_width)
}

/// The picture as a JPEG, at most `max_width` wide.
pub fn jpeg(picture: &DecodedYUV<'_>, max_width: Option<u32>) -> Result<Jpeg, PictureError> {
    let (width, height) = picture.dimensions();
    let mut rgb = vec![0u8; width * height * 3];
    picture.write_rgb8(&mut rgb);
    let factor = max_width
        .map(|m| width.div_ceil(m.max(1) as usize).max(1))
        .unwrap_or(1);
    let (rgb, width, height) = if factor > 1 {
        let (w, h) = (width / factor, height / factor);
        (shrink_rgb(&rgb, width, factor, w, h), w, h)
    } else {
        (rgb, width, height)
    };
    let too_large = |_| PictureError::Jpeg(format!("{width}×{height} is too large"));
    let (w16, h16) = (
        u16::try_from(width).map_err(too_large)?,
        u16::try_from(height).map_err(too_large)?,
    );
    let mut bytes = Vec::new();
    jpeg_encoder::Encoder::new(&mut bytes, JPEG_QUALITY)
        .encode(&rgb, w16, h16, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| PictureError::Jpeg(e.to_string()))?;
    Ok(Jpeg {
        bytes,
        width: u32::try_from(width).unwrap_or(u32::MAX),
        height: u32::try_from(height).unwrap_or(u32::MAX),
    })
}

/// Averages `factor`×`factor` blocks of an RGB picture `width` wide into `w`×`h`.
fn shrink_rgb(rgb: &[u8], width: usize, factor: usize, w: usize, h: usize) -> Vec<u8> {
    let mut out = vec![0u8; w * h * 3];
    let area = (factor * factor) as u32;
    for row in 0..h {
        for col in 0..w {
            for c in 0..3 {
                let mut sum = 0u32;
                for dy in 0..factor {
                    let line = (row * factor + dy) * width;
                    for dx in 0..factor {
                        sum += u32::from(rgb[(line + col * factor + dx) * 3 + c]);
                    }
                }
                out[(row * w + col) * 3 + c] = (sum / area) as u8;
            }
        }
    }
    out
}

/// The luma of `picture` averaged over a grid of `cols`×`rows` cells: the small picture
/// motion and tamper analysis compare.
pub fn luma_grid(picture: &impl YUVSource, cols: usize, rows: usize) -> Vec<u8> {
    let (width, height) = picture.dimensions();
    let (stride, _, _) = picture.strides();
    let y = picture.y();
    let mut out = Vec::with_capacity(cols * rows);
    for r in 0..rows {
        let (top, bottom) = (
            r * height / rows,
            ((r + 1) * height / rows).max(r * height / rows + 1),
        );
        for c in 0..cols {
            let (left, right) = (
                c * width / cols,
                ((c + 1) * width / cols).max(c * width / cols + 1),
            );
            let mut sum = 0u64;
            for line in top..bottom.min(height) {
                let base = line * stride;
                sum += y[base + left..base + right.min(width)]
                    .iter()
                    .map(|&p| u64::from(p))
                    .sum::<u64>();
            }
            let count = ((bottom.min(height) - top) * (right.min(width) - left)).max(1) as u64;
            out.push((sum / count) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixed_units_become_start_coded() {
        let mut out = Vec::new();
        append_annex_b(&[0, 0, 0, 2, 0x65, 0xaa, 0, 0, 0, 1, 0x06], &mut out);
        assert_eq!(out, [0, 0, 0, 1, 0x65, 0xaa, 0, 0, 0, 1, 0x06]);
        let mut out = Vec::new();
        append_annex_b(&[0, 0, 0, 9, 0x65], &mut out);
        assert!(out.is_empty(), "a truncated unit is dropped");
    }
}
