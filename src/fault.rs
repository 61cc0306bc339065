//! Fault hooks: named points in long-lived tasks where a test can make the task panic, to
//! prove that supervision catches it, reports it and restarts the task. A daemon started
//! from the command line has none armed, and a check then costs one branch; only code
//! embedding the daemon (the tests) can arm them, through
//! [`RunOptions::faults`](crate::runtime::RunOptions).
//!
//! Points: `channel:<id>` (the outbox worker, before each delivery attempt and at start),
//! `source:<name>` (a source, before each run), `service:<name>` (a daemon service at
//! start), `engine` (the engine task, before each batch).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::shared::lock::lock;

/// Where tasks look for an armed fault. Cheap to clone; empty unless a test armed one.
#[derive(Debug, Clone, Default)]
pub struct FaultHooks(Option<Arc<Mutex<BTreeMap<String, u32>>>>);

impl FaultHooks {
    /// Hooks a test can arm.
    pub fn armable() -> Self {
        FaultHooks(Some(Arc::default()))
    }

    /// Makes the next `times` checks at `point` panic.
    pub fn panic_at(&self, point: &str, times: u32) {
        if let Some(armed) = &self.0 {
            lock(armed).insert(point.to_string(), times);
        }
    }

    /// Disarms `point`.
    pub fn clear(&self, point: &str) {
        if let Some(armed) = &self.0 {
            lock(armed).remove(point);
        }
    }

    /// Panics if `point` is armed (and counts the shot down).
    pub fn check(&self, point: &str) {
        let Some(armed) = &self.0 else { return };
        let fire = {
            let mut armed = lock(armed);
            match armed.get_mut(point) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    true
                }
                _ => false,
            }
        };
        if fire {
            panic!("fault hook fired at {point}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_armed_point_panics_as_often_as_asked_and_others_never() {
        let hooks = FaultHooks::armable();
        hooks.panic_at("channel:arc", 2);
        for _ in 0..2 {
            let h = hooks.clone();
            assert!(std::panic::catch_unwind(move || h.check("channel:arc")).is_err());
        }
        hooks.check("channel:arc");
        hooks.check("engine");
        FaultHooks::default().check("channel:arc");
    }
}
