//! In-memory pins for the demo and tests. Inputs are set by hand and report edges the way
//! the kernel's debounce does: only once the level has been stable for the debounce
//! period. Outputs keep a timeline of levels. Time is tokio's, so tests can pause it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Edge, GpioBackend, GpioError, InputPin, OutputPin};
use crate::config::Pull;

#[derive(Default)]
struct State {
    inputs: HashMap<u8, SimInput>,
    outputs: HashMap<u8, Vec<(Instant, bool)>>,
}

struct SimInput {
    /// Level on the wire now.
    level: bool,
    /// Level last reported.
    reported: bool,
    /// Bumped on every change, so a pending report knows it is stale.
    generation: u64,
    debounce: Duration,
    edges: mpsc::Sender<Edge>,
}

/// Simulated pins; clones share state.
#[derive(Clone, Default)]
pub struct SimulatedGpio {
    state: Arc<Mutex<State>>,
}

impl SimulatedGpio {
    /// Puts a level on an input's wire. The edge is reported after the debounce period if
    /// the level is still the same then.
    pub fn set_input(&self, pin: u8, high: bool) {
        let (generation, debounce) = {
            let Ok(mut state) = self.state.lock() else {
                return;
            };
            let Some(input) = state.inputs.get_mut(&pin) else {
                return;
            };
            if input.level == high {
                return;
            }
            input.level = high;
            input.generation += 1;
            (input.generation, input.debounce)
        };
        let state = self.state.clone();
        tokio::spawn(async move {
            tokio::time::sleep(debounce).await;
            let Ok(mut state) = state.lock() else { return };
            let Some(input) = state.inputs.get_mut(&pin) else {
                return;
            };
            if input.generation == generation && input.reported != input.level {
                input.reported = input.level;
                let _ = input.edges.try_send(Edge {
                    pin,
                    high: input.level,
                });
            }
        });
    }

    /// Every level an output has had, with when.
    pub fn output_history(&self, pin: u8) -> Vec<(Instant, bool)> {
        self.state
            .lock()
            .map(|s| s.outputs.get(&pin).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    /// An output's level now.
    pub fn output_level(&self, pin: u8) -> bool {
        self.output_history(pin)
            .last()
            .is_some_and(|(_, high)| *high)
    }
}

struct SimInputPin {
    pin: u8,
    state: Arc<Mutex<State>>,
}

impl InputPin for SimInputPin {
    fn is_high(&self) -> bool {
        self.state
            .lock()
            .map(|s| s.inputs.get(&self.pin).is_some_and(|i| i.reported))
            .unwrap_or(false)
    }
}

struct SimOutputPin {
    pin: u8,
    state: Arc<Mutex<State>>,
}

impl OutputPin for SimOutputPin {
    fn set(&mut self, high: bool) {
        if let Ok(mut s) = self.state.lock() {
            let history = s.outputs.entry(self.pin).or_default();
            if history.last().map(|(_, h)| *h) != Some(high) {
                history.push((Instant::now(), high));
            }
        }
    }
}

impl GpioBackend for SimulatedGpio {
    fn input(
        &self,
        pin: u8,
        pull: Pull,
        debounce: Duration,
        edges: mpsc::Sender<Edge>,
    ) -> Result<Box<dyn InputPin>, GpioError> {
        let idle = pull == Pull::Up;
        let mut state = self
            .state
            .lock()
            .map_err(|_| GpioError("state poisoned".into()))?;
        state.inputs.insert(
            pin,
            SimInput {
                level: idle,
                reported: idle,
                generation: 0,
                debounce,
                edges,
            },
        );
        Ok(Box::new(SimInputPin {
            pin,
            state: self.state.clone(),
        }))
    }

    fn output(&self, pin: u8) -> Result<Box<dyn OutputPin>, GpioError> {
        let mut out = SimOutputPin {
            pin,
            state: self.state.clone(),
        };
        out.set(false);
        Ok(Box::new(out))
    }
}
