//! Rate limits for repeated warnings. A broken device or a hostile host can send thousands
//! of bad messages a second; one log line each would fill a Raspberry Pi's SD card and
//! bury the lines that matter. Each kind of warning of each source keeps a [`RateLimit`]:
//! the first few in an interval are logged, the rest are only counted, and the next line
//! logged after the interval says how many were left out. The counters on `/metrics` stay
//! exact; only the log is thinned.

use std::time::Duration;
use tokio::time::Instant;

/// Warnings logged per interval before the rest are only counted.
pub const BURST: u32 = 5;
/// The interval.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// What to do with one warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Log it; `left_out` like it were not logged since the last one that was.
    Log {
        /// Warnings counted but not logged before this one.
        left_out: u64,
    },
    /// Count it only.
    Quiet,
}

/// The rate limit of one kind of warning.
#[derive(Debug, Clone)]
pub struct RateLimit {
    /// Warnings logged per interval.
    burst: u32,
    /// The interval.
    interval: Duration,
    /// When the current interval started.
    since: Option<Instant>,
    /// Logged in the current interval.
    logged: u32,
    /// Not logged since the last one that was.
    left_out: u64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit::new(BURST, INTERVAL)
    }
}

impl RateLimit {
    /// At most `burst` lines every `interval`.
    pub fn new(burst: u32, interval: Duration) -> Self {
        RateLimit {
            burst,
            interval,
            since: None,
            logged: 0,
            left_out: 0,
        }
    }

    /// Whether the warning happening now is logged.
    pub fn check(&mut self, now: Instant) -> Verdict {
        let fresh = self
            .since
            .is_none_or(|since| now.saturating_duration_since(since) >= self.interval);
        if fresh {
            self.since = Some(now);
            self.logged = 0;
        }
        if self.logged < self.burst {
            self.logged += 1;
            let left_out = std::mem::take(&mut self.left_out);
            Verdict::Log { left_out }
        } else {
            self.left_out += 1;
            Verdict::Quiet
        }
    }
}

/// Logs a warning through `limit`: `$limit` is a `&mut RateLimit`, the rest is as for
/// `tracing::warn!`. When earlier ones were left out, the line says how many.
#[macro_export]
macro_rules! warn_limited {
    ($limit:expr, $($rest:tt)+) => {
        match $limit.check(::tokio::time::Instant::now()) {
            $crate::log_limit::Verdict::Log { left_out: 0 } => ::tracing::warn!($($rest)+),
            $crate::log_limit::Verdict::Log { left_out } => {
                ::tracing::warn!(left_out, "{left_out} more warnings like the next were counted, not logged");
                ::tracing::warn!($($rest)+)
            }
            $crate::log_limit::Verdict::Quiet => {}
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_flood_logs_a_burst_per_interval_and_says_how_many_were_left_out() {
        let mut limit = RateLimit::new(3, Duration::from_secs(60));
        let start = Instant::now();
        let verdicts: Vec<Verdict> = (0..1000).map(|_| limit.check(start)).collect();
        assert_eq!(
            verdicts
                .iter()
                .filter(|v| matches!(v, Verdict::Log { .. }))
                .count(),
            3
        );
        assert_eq!(limit.check(start + Duration::from_secs(59)), Verdict::Quiet);
        assert_eq!(
            limit.check(start + Duration::from_secs(60)),
            Verdict::Log { left_out: 998 }
        );
        assert_eq!(
            limit.check(start + Duration::from_secs(61)),
            Verdict::Log { left_out: 0 }
        );
    }
}
