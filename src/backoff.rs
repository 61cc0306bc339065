//! Capped exponential backoff with jitter, for every reconnect and retry loop (sources,
//! channels, supervision). The n-th delay is drawn between half its ceiling (base × 2ⁿ,
//! capped) and the ceiling, and never below the base: so a policy of "0.5 s to 15 s" waits
//! at least 0.5 s and at most 15 s, as the README says, and the jitter still keeps a fleet
//! of gateways from reconnecting in lockstep after an outage.

use rand::RngExt;
use std::time::Duration;

/// Delay policy for retries.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// First delay.
    base: Duration,
    /// Largest delay.
    cap: Duration,
    /// Failures so far.
    attempt: u32,
}

impl Backoff {
    /// A policy starting at `base` and never waiting longer than `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Backoff {
            base,
            cap,
            attempt: 0,
        }
    }

    /// The ceiling for the current attempt: base × 2^attempt, capped.
    pub fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(20)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The next delay: uniformly random between half the ceiling and the ceiling, and
    /// never below the base.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let ms = u64::try_from(ceiling.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let base = u64::try_from(self.base.as_millis()).unwrap_or(u64::MAX);
        let low = (ms / 2).max(base).min(ms);
        Duration::from_millis(rand::rng().random_range(low..=ms))
    }

    /// Call after a success: the next failure starts from `base` again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_reset() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let ceilings: Vec<Duration> = (0..10)
            .map(|_| {
                let c = b.ceiling();
                let d = b.next_delay();
                assert!(d <= c && d >= c / 2, "{d:?} outside {c:?}");
                assert!(d >= Duration::from_millis(100), "{d:?} below the base");
                c
            })
            .collect();
        assert_eq!(ceilings[0], Duration::from_millis(100));
        assert_eq!(ceilings[3], Duration::from_millis(800));
        assert_eq!(ceilings[9], Duration::from_secs(5));
        b.reset();
        assert_eq!(b.ceiling(), Duration::from_millis(100));
    }
}
