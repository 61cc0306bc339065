//! GPIO inputs: wired contacts and their tamper loops become observations, keyswitches
//! become arm/disarm commands.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

use super::{Edge, GpioBackend, GpioError, InputPin};
use crate::config::{ArmedMode, Config, SensorKind, SourceBinding};
use crate::engine::{Actor, Command, CommandKind, Input, Mode, Observation, Origin, Reading, Role};
use crate::sources::mqtt::profiles::detection;
use crate::sources::{Source, SourceContext, SourceError, SourceFuture};

/// What a pin means.
#[derive(Debug, Clone)]
enum PinRole {
    /// A detector's contact.
    Detector {
        sensor: String,
        kind: SensorKind,
        invert: bool,
    },
    /// A detector's tamper loop.
    Tamper { sensor: String, invert: bool },
    /// A keyswitch: active arms, inactive disarms.
    Keyswitch {
        area: String,
        mode: Mode,
        invert: bool,
        user: String,
        /// Its number at the receiving centre (Contact ID 409 ZZZ).
        number: u16,
    },
}

/// Configured inputs and the edges they report, turned into engine inputs.
pub struct GpioInputs {
    roles: HashMap<u8, PinRole>,
    /// Keeps the pins (and their interrupts) alive.
    pins: Vec<(u8, Box<dyn InputPin>)>,
    edges: mpsc::Receiver<Edge>,
}

impl GpioInputs {
    /// Configures every GPIO input the configuration names.
    pub fn open(backend: &dyn GpioBackend, config: &Config) -> Result<GpioInputs, GpioError> {
        let (tx, edges) = mpsc::channel(1024);
        let mut roles = HashMap::new();
        let mut pins = Vec::new();
        for sensor in &config.sensors {
            if let SourceBinding::Gpio {
                pin,
                pull,
                invert,
                debounce_ms,
                tamper_pin,
                tamper_invert,
            } = &sensor.source
            {
                let debounce = Duration::from_millis(u64::from(*debounce_ms));
                pins.push((*pin, backend.input(*pin, *pull, debounce, tx.clone())?));
                roles.insert(
                    *pin,
                    PinRole::Detector {
                        sensor: sensor.id.clone(),
                        kind: sensor.kind,
                        invert: *invert,
                    },
                );
                if let Some(t) = tamper_pin {
                    pins.push((*t, backend.input(*t, *pull, debounce, tx.clone())?));
                    roles.insert(
                        *t,
                        PinRole::Tamper {
                            sensor: sensor.id.clone(),
                            invert: *tamper_invert,
                        },
                    );
                }
            }
        }
        if let Some(gpio) = &config.gpio {
            let numbers = config.point_numbers().keyswitches;
            for (i, k) in gpio.keyswitches.iter().enumerate() {
                pins.push((
                    k.pin,
                    backend.input(
                        k.pin,
                        crate::config::Pull::Up,
                        Duration::from_millis(50),
                        tx.clone(),
                    )?,
                ));
                let mode = match k.mode {
                    ArmedMode::Away => Mode::ArmedAway,
                    ArmedMode::Home => Mode::ArmedHome,
                    ArmedMode::Night => Mode::ArmedNight,
                };
                roles.insert(
                    k.pin,
                    PinRole::Keyswitch {
                        area: k.area.clone(),
                        mode,
                        invert: k.invert,
                        user: k.user.clone(),
                        number: numbers.get(i).copied().unwrap_or(0),
                    },
                );
            }
        }
        Ok(GpioInputs { roles, pins, edges })
    }

    /// The observations for every detector and tamper loop as they are now, so the engine
    /// knows the state of wired zones at start. Keyswitches are not replayed: their
    /// position at start must not arm or disarm anything by itself.
    pub fn current(&self) -> Vec<Input> {
        self.pins
            .iter()
            .filter(|(pin, _)| !matches!(self.roles.get(pin), Some(PinRole::Keyswitch { .. })))
            .filter_map(|(pin, input)| {
                self.translate(Edge {
                    pin: *pin,
                    high: input.is_high(),
                })
            })
            .collect()
    }

    /// The next engine input, or None when the pins are gone.
    pub async fn next(&mut self) -> Option<Input> {
        loop {
            let edge = self.edges.recv().await?;
            if let Some(input) = self.translate(edge) {
                return Some(input);
            }
        }
    }

    fn translate(&self, edge: Edge) -> Option<Input> {
        let source_ref = Some(format!("gpio:{}", edge.pin));
        match self.roles.get(&edge.pin)? {
            PinRole::Detector {
                sensor,
                kind,
                invert,
            } => Some(Input::Observation(Observation {
                sensor: sensor.clone(),
                reading: detection(*kind, edge.high != *invert),
                source_ref,
            })),
            PinRole::Tamper { sensor, invert } => Some(Input::Observation(Observation {
                sensor: sensor.clone(),
                reading: Reading::Tamper {
                    active: edge.high != *invert,
                },
                source_ref,
            })),
            PinRole::Keyswitch {
                area,
                mode,
                invert,
                user,
                number,
            } => {
                let actor = Actor {
                    user: user.clone(),
                    role: Role::Guard,
                    duress: false,
                    origin: Origin::Keyswitch,
                    number: Some(*number),
                    address: None,
                };
                let kind = if edge.high != *invert {
                    CommandKind::Arm {
                        area: area.clone(),
                        mode: *mode,
                        force: false,
                    }
                } else {
                    CommandKind::Disarm { area: area.clone() }
                };
                Some(Input::Command(Command { kind, actor }))
            }
        }
    }
}

/// The GPIO input source.
pub struct GpioSource {
    backend: Arc<dyn GpioBackend>,
    config: Config,
}

impl GpioSource {
    /// A source for the configured inputs, if there are any.
    pub fn new(backend: Arc<dyn GpioBackend>, config: &Config) -> Option<GpioSource> {
        let any_sensor = config
            .sensors
            .iter()
            .any(|s| matches!(s.source, SourceBinding::Gpio { .. }));
        let any_key = config
            .gpio
            .as_ref()
            .is_some_and(|g| !g.keyswitches.is_empty());
        (any_sensor || any_key).then(|| GpioSource {
            backend,
            config: config.clone(),
        })
    }
}

impl Source for GpioSource {
    fn name(&self) -> String {
        "gpio".into()
    }

    fn run<'a>(&'a mut self, ctx: &'a SourceContext) -> SourceFuture<'a> {
        Box::pin(async move {
            let mut inputs =
                GpioInputs::open(self.backend.as_ref(), &self.config).map_err(|e| SourceError {
                    source_name: "gpio".into(),
                    message: e.to_string(),
                })?;
            for input in inputs.current() {
                drop(ctx.engine.submit_nowait(input).await);
            }
            let mut shutdown = ctx.shutdown.clone();
            loop {
                tokio::select! {
                    _ = shutdown.wait() => return Ok(()),
                    input = inputs.next() => match input {
                        Some(input) => drop(ctx.engine.submit_nowait(input).await),
                        None => return Err(SourceError { source_name: "gpio".into(), message: "input pins closed".into() }),
                    },
                }
            }
        })
    }
}
