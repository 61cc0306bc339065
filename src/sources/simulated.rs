//! The simulator: scripted scenarios plus random background traffic, so `picket demo` and
//! tests exercise the whole daemon with no hardware. Scripted commands come from a
//! trusted simulator user, as a keypad would send them after checking a code.

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use std::time::Duration;

use super::{Source, SourceContext, SourceFuture};
use crate::engine::{
    Actor, AlarmId, Command, CommandKind, EventKind, Observation, Reading, Resolution,
};
use crate::shared::engine_handle::Receipt;

/// One thing the simulator does.
#[derive(Debug, Clone)]
pub enum SimAction {
    /// A sensor reports.
    Reading {
        /// Sensor id.
        sensor: String,
        /// What it reports.
        reading: Reading,
    },
    /// A guard's command.
    Command(CommandKind),
    /// The guard acknowledges every alarm the simulator has seen raised.
    AcknowledgeAll {
        /// What the guard writes.
        note: String,
    },
    /// The guard resolves every alarm it acknowledged.
    ResolveAll {
        /// How they ended.
        resolution: Resolution,
        /// What the guard writes.
        note: String,
    },
}

/// A scripted step: wait, then act.
#[derive(Debug, Clone)]
pub struct ScriptStep {
    /// Wait before this step, at pace 1.
    pub after: Duration,
    /// What to do.
    pub action: SimAction,
}

/// Background traffic: heartbeats from every sensor and flapping doors.
#[derive(Debug, Clone, Default)]
pub struct RandomTraffic {
    /// Sensors that send heartbeats.
    pub heartbeats: Vec<String>,
    /// Contact sensors that open and close now and then (doors in disarmed areas).
    pub flappers: Vec<String>,
    /// Mean time between background messages.
    pub mean_interval: Duration,
    /// Seed, so a run can be repeated.
    pub seed: u64,
}

/// The simulator source.
pub struct SimulatedSource {
    /// Scenario steps.
    pub script: Vec<ScriptStep>,
    /// Start the script again when it ends.
    pub repeat: bool,
    /// Time scale for script waits (0.1 = ten times faster).
    pub pace: f64,
    /// Background traffic.
    pub random: RandomTraffic,
    /// The person scripted commands come from.
    pub actor: Actor,
}

/// Alarms the simulated guard is handling.
#[derive(Default)]
struct Guard {
    raised: Vec<AlarmId>,
    acknowledged: Vec<AlarmId>,
}

impl Guard {
    fn learn(&mut self, receipt: &Receipt) {
        for p in &receipt.events {
            if let (EventKind::AlarmRaised, Some(id)) = (p.event.kind, p.event.alarm) {
                self.raised.push(id);
            }
        }
    }
}

impl SimulatedSource {
    async fn act(&self, ctx: &SourceContext, guard: &mut Guard, action: &SimAction) {
        let command = |kind| Command {
            kind,
            actor: self.actor.clone(),
        };
        let receipts = match action {
            SimAction::Reading { sensor, reading } => vec![
                ctx.engine
                    .observe(Observation {
                        sensor: sensor.clone(),
                        reading: reading.clone(),
                        source_ref: Some("simulator".into()),
                    })
                    .await,
            ],
            SimAction::Command(kind) => vec![ctx.engine.command(command(kind.clone())).await],
            SimAction::AcknowledgeAll { note } => {
                let mut out = Vec::new();
                for alarm in std::mem::take(&mut guard.raised) {
                    let kind = CommandKind::Acknowledge {
                        alarm,
                        note: note.clone(),
                    };
                    let r = ctx.engine.command(command(kind)).await;
                    if r.is_ok() {
                        guard.acknowledged.push(alarm);
                    }
                    out.push(r);
                }
                out
            }
            SimAction::ResolveAll { resolution, note } => {
                let mut out = Vec::new();
                for alarm in std::mem::take(&mut guard.acknowledged) {
                    let kind = CommandKind::Resolve {
                        alarm,
                        resolution: *resolution,
                        note: note.clone(),
                    };
                    out.push(ctx.engine.command(command(kind)).await);
                }
                out
            }
        };
        for r in receipts {
            match r {
                Ok(receipt) => guard.learn(&receipt),
                Err(e) => tracing::debug!(error = %e, "simulator step not accepted"),
            }
        }
    }
}

impl Source for SimulatedSource {
    fn name(&self) -> String {
        "simulator".into()
    }

    fn run<'a>(&'a mut self, ctx: &'a SourceContext) -> SourceFuture<'a> {
        Box::pin(async move {
            let mut rng = SmallRng::seed_from_u64(self.random.seed);
            let mut shutdown = ctx.shutdown.clone();
            let mut guard = Guard::default();
            let mut step = 0usize;
            let background = !self.random.heartbeats.is_empty() || !self.random.flappers.is_empty();
            let mut next_step = self
                .script
                .first()
                .map(|s| tokio::time::Instant::now() + s.after.mul_f64(self.pace));
            let mean_ms = self.random.mean_interval.as_millis().max(1) as u64;
            let mut next_background = tokio::time::Instant::now()
                + Duration::from_millis(rng.random_range(0..=2 * mean_ms));
            loop {
                tokio::select! {
                    _ = shutdown.wait() => return Ok(()),
                    _ = tokio::time::sleep_until(next_step.unwrap_or(next_background)), if next_step.is_some() => {
                        let action = self.script[step].action.clone();
                        self.act(ctx, &mut guard, &action).await;
                        step += 1;
                        if step >= self.script.len() && self.repeat {
                            step = 0;
                        }
                        next_step = self.script.get(step).map(|s| tokio::time::Instant::now() + s.after.mul_f64(self.pace));
                    }
                    _ = tokio::time::sleep_until(next_background), if background => {
                        let pick_flap = !self.random.flappers.is_empty() && rng.random_range(0..4) == 0;
                        let actions = if pick_flap {
                            let sensor = self.random.flappers[rng.random_range(0..self.random.flappers.len())].clone();
                            vec![
                                SimAction::Reading { sensor: sensor.clone(), reading: Reading::Contact { active: true } },
                                SimAction::Reading { sensor, reading: Reading::Contact { active: false } },
                            ]
                        } else if !self.random.heartbeats.is_empty() {
                            let sensor = self.random.heartbeats[rng.random_range(0..self.random.heartbeats.len())].clone();
                            vec![SimAction::Reading { sensor, reading: Reading::Heartbeat }]
                        } else {
                            Vec::new()
                        };
                        for action in &actions {
                            self.act(ctx, &mut guard, action).await;
                        }
                        next_background = tokio::time::Instant::now() + Duration::from_millis(rng.random_range(0..=2 * mean_ms));
                    }
                }
            }
        })
    }
}
