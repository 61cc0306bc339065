//! Delivery channels: how alarms and events leave the gateway.
//!
//! Each channel is one file implementing [`Deliver`]: DC-09 to a receiving centre
//! ([`sia`]), signed JSON over HTTPS ([`webhook`]), SMTP ([`email`], its sessions in
//! [`smtp`]), an upstream MQTT broker ([`upstream_mqtt`]) and SMS through gammu-smsd and
//! the site's modem ([`sms`]). A [`worker`] per channel drains that channel's outbox rows
//! in order, retries with capped backoff and jitter, records every result in the journal,
//! and reports the channel's health; trouble about a channel (a path down, a delivery
//! stuck) goes back into the engine, so it reaches the other channels like any trouble.

pub mod email;
pub mod places;
pub mod sia;
pub mod sms;
pub mod smtp;
pub mod tls;
pub mod upstream_mqtt;
pub mod webhook;
pub mod worker;

use std::future::Future;
use std::time::Duration;

use crate::engine::SystemTrouble;
use crate::escalation::Notice;
use crate::journal::{Delivery, DeliveryState};

pub use crate::shared::health::{ChannelHealth, LinkState, ModemStatus, PathStatus};

/// Why a delivery did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    /// The recipient refused this message for good (retrying cannot help); the queue moves
    /// on and the row is marked failed.
    pub for_good: bool,
    /// A refusal that may still be the recipient's passing mistake (an SMTP 5xx, an HTTP
    /// 4xx): an alarm is retried anyway until it is stuck, rather than dropped at once.
    /// False for what only a change of configuration can fix (a wrong signature, a message
    /// the receiver's format cannot carry).
    pub retry_alarms: bool,
    /// What happened, naming the recipient.
    pub message: String,
}

impl DeliveryError {
    /// A failure worth retrying (no connection, timeout, server busy).
    pub fn retry(message: impl Into<String>) -> Self {
        DeliveryError {
            for_good: false,
            retry_alarms: true,
            message: message.into(),
        }
    }

    /// The recipient refused this message (an SMTP 5xx, an HTTP 4xx): the queue moves on,
    /// except for an alarm, which is retried until it is stuck.
    pub fn refused(message: impl Into<String>) -> Self {
        DeliveryError {
            for_good: true,
            retry_alarms: true,
            message: message.into(),
        }
    }

    /// A refusal only a change of configuration can fix (a signature the receiver rejects,
    /// a message its format cannot carry): the row fails at once, with trouble.
    pub fn misconfigured(message: impl Into<String>) -> Self {
        DeliveryError {
            for_good: true,
            retry_alarms: false,
            message: message.into(),
        }
    }
}

/// One way of reaching a recipient.
pub trait Deliver: Send + 'static {
    /// Delivers one notice; on success says whether the recipient confirmed it
    /// ([`DeliveryState::Acknowledged`]) or it was only handed over
    /// ([`DeliveryState::Sent`]).
    fn deliver(
        &mut self,
        delivery: &Delivery,
        notice: &Notice,
    ) -> impl Future<Output = Result<DeliveryState, DeliveryError>> + Send;

    /// How often the channel wants [`Deliver::supervise`] called when idle; `None` when it
    /// has no supervision of its own.
    fn supervision_interval(&self) -> Option<Duration> {
        None
    }

    /// Checks the paths (DC-09 NULL polls).
    fn supervise(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Troubles that began or ended since the last call (a path down or back).
    fn trouble_changes(&mut self) -> Vec<SystemTrouble> {
        Vec::new()
    }

    /// The state of each path, for health.
    fn paths(&self) -> Vec<PathStatus> {
        Vec::new()
    }

    /// Messages handed over earlier ([`DeliveryState::Sent`]) that the recipient has since
    /// confirmed (an SMS delivery report), by message id, with when; taken once.
    fn confirmations(&mut self) -> Vec<(String, i64)> {
        Vec::new()
    }

    /// The modem, for channels that send through one (SMS).
    fn modem(&self) -> Option<ModemStatus> {
        None
    }
}
