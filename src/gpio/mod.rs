//! GPIO: wired contacts, tamper loops and keyswitches in; sirens, strobes and fault LEDs
//! out. Everything goes through the [`GpioBackend`] trait: [`rppal_backend`] on a
//! Raspberry Pi, [`simulated`] in the demo and in tests (where time is tokio's, so a paused
//! clock drives debounce and siren patterns). rppal is no longer maintained by its author,
//! which is one more reason to keep it behind the trait.

pub mod inputs;
pub mod outputs;
pub mod rppal_backend;
pub mod simulated;

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

use crate::config::{Config, GpioBackend as BackendChoice, Pull};

/// A level change reported by an input pin (after debounce).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// BCM pin.
    pub pin: u8,
    /// The level is now high.
    pub high: bool,
}

/// The GPIO layer's error.
#[derive(Debug, thiserror::Error)]
#[error("GPIO: {0}")]
pub struct GpioError(pub String);

/// A configured input; dropping it stops its edge reports.
pub trait InputPin: Send {
    /// The current level.
    fn is_high(&self) -> bool;
}

/// A configured output.
pub trait OutputPin: Send {
    /// Drives the pin.
    fn set(&mut self, high: bool);
}

/// Access to the pins.
pub trait GpioBackend: Send + Sync {
    /// Configures an input whose debounced edges are sent on `edges` (never blocking:
    /// an interrupt callback must not wait).
    fn input(
        &self,
        pin: u8,
        pull: Pull,
        debounce: Duration,
        edges: mpsc::Sender<Edge>,
    ) -> Result<Box<dyn InputPin>, GpioError>;

    /// Configures an output, initially low.
    fn output(&self, pin: u8) -> Result<Box<dyn OutputPin>, GpioError>;
}

/// The backend the configuration asks for, or a clear error when it cannot be had.
pub fn backend(config: &Config) -> Result<Option<Arc<dyn GpioBackend>>, GpioError> {
    let Some(gpio) = &config.gpio else {
        return Ok(None);
    };
    Ok(Some(match gpio.backend {
        BackendChoice::Simulated => Arc::new(simulated::SimulatedGpio::default()),
        BackendChoice::Rppal => Arc::new(rppal_backend::RppalGpio::open()?),
    }))
}
