//! Fault hooks: named points in long-lived tasks where a test can make the task panic, to
//! prove that supervision catches it, reports it and restarts the task, or hang, to prove
//! that the watchdog sees it and the process is restarted. A daemon started from the
//! command line has none armed, and a check then costs one branch; code embedding the
//! daemon (the tests) arms them through [`RunOptions::faults`](crate::runtime::RunOptions),
//! and a test running the real binary through [`FAULTS_ENV`].
//!
//! Points: `channel:<id>` (the outbox worker, before each delivery attempt and at start),
//! `source:<name>` (a source, before each run), `service:<name>` (a daemon service at
//! start), `engine` (the engine task, before each batch).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::shared::lock::lock;

/// The environment variable through which a test arms faults in a `picket run` it starts:
/// `point=panic` or `point=hang`, comma-separated, each firing once. picket warns at start
/// when it is set; nothing else reads it.
pub const FAULTS_ENV: &str = "PICKET_TEST_FAULTS";

/// What an armed point does when reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The task panics (supervision restarts it).
    Panic,
    /// The thread running the task blocks for good, as on a deadlock (the watchdog's case).
    Hang,
}

/// Armed points: what each does, and how many more times.
type Armed = BTreeMap<String, (Fault, u32)>;

/// Where tasks look for an armed fault. Cheap to clone; empty unless a test armed one.
#[derive(Debug, Clone, Default)]
pub struct FaultHooks(Option<Arc<Mutex<Armed>>>);

impl FaultHooks {
    /// Hooks a test can arm.
    pub fn armable() -> Self {
        FaultHooks(Some(Arc::default()))
    }

    /// Hooks armed as `spec` says (the value of [`FAULTS_ENV`]), or what is wrong with it.
    pub fn from_spec(spec: &str) -> Result<Self, String> {
        let hooks = FaultHooks::armable();
        for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (point, fault) = item
                .split_once('=')
                .ok_or_else(|| format!("{item:?}: expected point=panic or point=hang"))?;
            let fault = match fault {
                "panic" => Fault::Panic,
                "hang" => Fault::Hang,
                other => return Err(format!("{other:?}: expected panic or hang")),
            };
            hooks.arm(point, fault, 1);
        }
        Ok(hooks)
    }

    /// Makes the next `times` checks at `point` panic.
    pub fn panic_at(&self, point: &str, times: u32) {
        self.arm(point, Fault::Panic, times);
    }

    /// Makes the next check at `point` block its thread for good.
    pub fn hang_at(&self, point: &str) {
        self.arm(point, Fault::Hang, 1);
    }

    fn arm(&self, point: &str, fault: Fault, times: u32) {
        if let Some(armed) = &self.0 {
            lock(armed).insert(point.to_string(), (fault, times));
        }
    }

    /// Disarms `point`.
    pub fn clear(&self, point: &str) {
        if let Some(armed) = &self.0 {
            lock(armed).remove(point);
        }
    }

    /// Panics or hangs if `point` is armed (and counts the shot down).
    pub fn check(&self, point: &str) {
        let Some(armed) = &self.0 else { return };
        let fire = {
            let mut armed = lock(armed);
            match armed.get_mut(point) {
                Some((fault, n)) if *n > 0 => {
                    *n -= 1;
                    Some(*fault)
                }
                _ => None,
            }
        };
        match fire {
            Some(Fault::Panic) => panic!("fault hook fired at {point}"),
            Some(Fault::Hang) => {
                tracing::error!(point, "fault hook: this thread now hangs for good");
                loop {
                    std::thread::park();
                }
            }
            None => {}
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

    #[test]
    fn a_spec_arms_each_point_once_and_a_wrong_one_is_named() {
        let hooks = FaultHooks::from_spec("engine=panic, channel:arc=hang").unwrap();
        let h = hooks.clone();
        assert!(std::panic::catch_unwind(move || h.check("engine")).is_err());
        hooks.check("engine");
        let err = FaultHooks::from_spec("engine=melt").unwrap_err();
        assert!(err.contains("melt"), "{err}");
        assert!(FaultHooks::from_spec("engine").is_err());
    }
}
