//! The pre-event buffer: the last seconds of one camera's frames, kept in memory so an
//! alarm's clip starts before the alarm. Whole GOPs only (a clip must start at a keyframe
//! to be playable), and bounded in bytes as well as in time, so a camera with a huge
//! bit rate or a keyframe interval longer than the buffer cannot exhaust the Pi's memory.

use std::collections::VecDeque;
use std::time::Duration;

use super::stream::Frame;

/// The last `keep` of a camera's frames, in whole GOPs.
#[derive(Debug)]
pub struct PreEventRing {
    /// How far back the buffer reaches (at least, GOPs permitting).
    keep: Duration,
    /// Most bytes held; the oldest GOPs go first, the current one always stays.
    max_bytes: usize,
    /// GOPs, oldest first; each starts with a keyframe.
    gops: VecDeque<Vec<Frame>>,
    /// Bytes of frame data held.
    bytes: usize,
}

impl PreEventRing {
    /// An empty buffer keeping `keep` of picture in at most `max_bytes`.
    pub fn new(keep: Duration, max_bytes: usize) -> PreEventRing {
        PreEventRing {
            keep,
            max_bytes,
            gops: VecDeque::new(),
            bytes: 0,
        }
    }

    /// Adds a frame. Frames before the first keyframe are dropped (nothing could decode
    /// them); a timestamp going backwards means a new stream, and the old one is dropped.
    /// Returns whether that happened.
    pub fn push(&mut self, frame: Frame) -> bool {
        let restarted = self.newest_pts().is_some_and(|last| frame.pts < last);
        if restarted {
            self.clear();
        }
        if frame.keyframe {
            self.gops.push_back(Vec::new());
        }
        if let Some(gop) = self.gops.back_mut() {
            self.bytes += frame.data.len();
            gop.push(frame);
            self.evict();
        }
        restarted
    }

    /// Drops GOPs from the front while the rest still reaches back `keep`, or while over
    /// the byte limit.
    fn evict(&mut self) {
        let Some(newest) = self.newest_pts() else {
            return;
        };
        while self.gops.len() > 1 {
            let next_start = self.gops[1].first().map_or(newest, |f| f.pts);
            let rest_long_enough = newest.saturating_sub(next_start) >= self.keep;
            if !(rest_long_enough || self.bytes > self.max_bytes) {
                break;
            }
            if let Some(gone) = self.gops.pop_front() {
                self.bytes -= gone.iter().map(|f| f.data.len()).sum::<usize>();
            }
        }
    }

    /// Forgets everything (the stream restarted).
    pub fn clear(&mut self) {
        self.gops.clear();
        self.bytes = 0;
    }

    /// Timestamp of the newest frame held.
    pub fn newest_pts(&self) -> Option<Duration> {
        self.gops.back()?.last().map(|f| f.pts)
    }

    /// The newest keyframe held: the latest picture that decodes on its own.
    pub fn newest_keyframe(&self) -> Option<&Frame> {
        self.gops.back()?.first()
    }

    /// Every frame held, oldest first, starting at a keyframe.
    pub fn frames(&self) -> Vec<Frame> {
        self.gops.iter().flatten().cloned().collect()
    }

    /// Bytes of frame data held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::camera::VideoParams;
    use std::sync::Arc;

    /// Frame `i` of a 10 fps stream with a keyframe every `gop` frames, `size` bytes.
    fn frame(i: u64, gop: u64, size: usize) -> Frame {
        Frame {
            data: vec![0; size],
            keyframe: i.is_multiple_of(gop),
            pts: Duration::from_millis(i * 100),
            params: Arc::new(VideoParams {
                width: 640,
                height: 360,
                avc_config: Vec::new(),
            }),
        }
    }

    #[test]
    fn keeps_whole_gops_reaching_back_at_least_the_asked_time() {
        let mut ring = PreEventRing::new(Duration::from_secs(3), usize::MAX);
        for i in 0..100 {
            ring.push(frame(i, 10, 100));
        }
        let frames = ring.frames();
        assert!(frames[0].keyframe);
        let span = frames.last().unwrap().pts - frames[0].pts;
        // Newest frame 9.9 s; the buffer starts at the keyframe at or before 6.9 s: 6.0 s.
        assert_eq!(frames[0].pts, Duration::from_secs(6));
        assert!(
            span >= Duration::from_secs(3) && span < Duration::from_secs(4),
            "{span:?}"
        );
        assert_eq!(ring.bytes(), frames.len() * 100);
    }

    #[test]
    fn frames_before_the_first_keyframe_are_dropped() {
        let mut ring = PreEventRing::new(Duration::from_secs(3), usize::MAX);
        for i in 5..12 {
            ring.push(frame(i, 10, 100));
        }
        let frames = ring.frames();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].pts, Duration::from_secs(1));
    }

    #[test]
    fn the_byte_limit_wins_over_time_but_keeps_the_current_gop() {
        let mut ring = PreEventRing::new(Duration::from_secs(60), 2_500);
        for i in 0..100 {
            ring.push(frame(i, 10, 100));
        }
        // 1,000 bytes per GOP: two whole GOPs fit, and the current one stays.
        assert!(ring.bytes() <= 2_500, "{}", ring.bytes());
        assert!(ring.frames()[0].keyframe);
        let mut huge = PreEventRing::new(Duration::from_secs(60), 10);
        for i in 0..25 {
            huge.push(frame(i, 10, 100));
        }
        assert_eq!(
            huge.frames().len(),
            5,
            "the current GOP is kept whatever its size"
        );
    }

    #[test]
    fn a_restarted_stream_starts_a_new_buffer() {
        let mut ring = PreEventRing::new(Duration::from_secs(3), usize::MAX);
        for i in 0..30 {
            ring.push(frame(i, 10, 100));
        }
        for i in 0..5 {
            ring.push(frame(i, 10, 100));
        }
        assert_eq!(ring.frames().len(), 5);
        assert_eq!(ring.frames()[0].pts, Duration::ZERO);
    }
}
