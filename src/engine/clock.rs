//! Time for the engine, through a trait so tests run on a paused clock.
//!
//! The engine never reads the system clock itself: it asks a [`Clock`]. In production
//! [`SystemClock`] anchors the wall clock once at start and then advances with the
//! monotonic clock, so an NTP step mid-run cannot cut an entry delay short. Tests use
//! [`TokioClock`] under `tokio::time::pause()` or [`ManualClock`].

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, UTC.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// This time plus a number of seconds.
    pub fn plus_secs(self, secs: u32) -> Timestamp {
        Timestamp(self.0 + i64::from(secs) * 1000)
    }

    /// Milliseconds from `earlier` to `self` (negative if `earlier` is later).
    pub fn millis_since(self, earlier: Timestamp) -> i64 {
        self.0 - earlier.0
    }

    /// RFC 3339 in UTC, for people and logs.
    pub fn to_rfc3339(self) -> String {
        jiff::Timestamp::from_millisecond(self.0)
            .map(|t| t.to_string())
            .unwrap_or_else(|_| format!("{}ms", self.0))
    }
}

/// Where the engine gets "now".
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// Production clock: wall time read once at start, advanced by the monotonic clock.
#[derive(Debug, Clone)]
pub struct SystemClock {
    /// Wall time at start.
    anchor_wall: Timestamp,
    /// Monotonic time at start.
    anchor: std::time::Instant,
}

impl SystemClock {
    /// Anchors to the system's wall clock now.
    pub fn new() -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        SystemClock {
            anchor_wall: Timestamp(i64::try_from(wall.as_millis()).unwrap_or(i64::MAX)),
            anchor: std::time::Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let elapsed = i64::try_from(self.anchor.elapsed().as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.anchor_wall.0.saturating_add(elapsed))
    }
}

/// A clock that follows tokio's time, so `tokio::time::pause()` and `advance()` drive it.
#[derive(Debug, Clone)]
pub struct TokioClock {
    /// Wall time at creation.
    anchor_wall: Timestamp,
    /// tokio time at creation.
    anchor: tokio::time::Instant,
}

impl TokioClock {
    /// Starts at the given wall time.
    pub fn starting_at(wall: Timestamp) -> Self {
        TokioClock {
            anchor_wall: wall,
            anchor: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        let elapsed = i64::try_from(self.anchor.elapsed().as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.anchor_wall.0.saturating_add(elapsed))
    }
}

/// A clock set by hand, shared between the test and the engine.
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// Starts at the given time.
    pub fn new(at: Timestamp) -> Self {
        ManualClock(Arc::new(AtomicI64::new(at.0)))
    }

    /// Moves time forward.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}
