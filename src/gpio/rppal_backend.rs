//! The Raspberry Pi's pins through rppal (the kernel's GPIO character device). Edge
//! interrupts run rppal's callback on its own thread; it forwards with `try_send`, never
//! blocking, and the kernel does the debouncing.

use std::time::Duration;
use tokio::sync::mpsc;

use super::{Edge, GpioBackend, GpioError, InputPin, OutputPin};
use crate::config::Pull;

/// The Pi's GPIO.
pub struct RppalGpio {
    gpio: rppal::gpio::Gpio,
}

impl RppalGpio {
    /// Opens the GPIO character device, or explains that this machine has none.
    pub fn open() -> Result<RppalGpio, GpioError> {
        rppal::gpio::Gpio::new().map(|gpio| RppalGpio { gpio }).map_err(|e| {
            GpioError(format!(
                "no GPIO on this machine ({e}); use gpio.backend = \"simulated\" off a Raspberry Pi"
            ))
        })
    }
}

struct RppalInput(rppal::gpio::InputPin);

impl InputPin for RppalInput {
    fn is_high(&self) -> bool {
        self.0.is_high()
    }
}

struct RppalOutput(rppal::gpio::OutputPin);

impl OutputPin for RppalOutput {
    fn set(&mut self, high: bool) {
        if high {
            self.0.set_high();
        } else {
            self.0.set_low();
        }
    }
}

impl GpioBackend for RppalGpio {
    fn input(
        &self,
        pin: u8,
        pull: Pull,
        debounce: Duration,
        edges: mpsc::Sender<Edge>,
    ) -> Result<Box<dyn InputPin>, GpioError> {
        let raw = self
            .gpio
            .get(pin)
            .map_err(|e| GpioError(format!("pin {pin}: {e}")))?;
        let mut input = match pull {
            Pull::Up => raw.into_input_pullup(),
            Pull::Down => raw.into_input_pulldown(),
            Pull::None => raw.into_input(),
        };
        input
            .set_async_interrupt(rppal::gpio::Trigger::Both, Some(debounce), move |event| {
                let high = event.trigger == rppal::gpio::Trigger::RisingEdge;
                if edges.try_send(Edge { pin, high }).is_err() {
                    tracing::warn!(pin, "GPIO edge dropped: the queue is full");
                }
            })
            .map_err(|e| GpioError(format!("pin {pin} interrupt: {e}")))?;
        Ok(Box::new(RppalInput(input)))
    }

    fn output(&self, pin: u8) -> Result<Box<dyn OutputPin>, GpioError> {
        let raw = self
            .gpio
            .get(pin)
            .map_err(|e| GpioError(format!("pin {pin}: {e}")))?;
        Ok(Box::new(RppalOutput(raw.into_output_low())))
    }
}
