//! The upstream MQTT channel: publishes notices to an enterprise or fleet broker, where a
//! company with many sites aggregates them. Persistent session, stable client id, QoS 1;
//! a row counts as delivered only when the broker's PUBACK for it arrives.
//!
//! Topics: `<prefix>/<site>/alarm/<alarm id>` for alarm notices, `<prefix>/<site>/event`
//! for everything else. The payload is the notice JSON with `message_id` (the same on
//! every retry, so a subscriber drops duplicates).

use rumqttc::{AsyncClient, Event, EventLoop, Outgoing, Packet, QoS};
use std::time::Duration;
use tokio::sync::mpsc;

use super::{Deliver, DeliveryError};
use crate::backoff::Backoff;
use crate::config::{Config, UpstreamMqttChannel};
use crate::escalation::Notice;
use crate::journal::{Delivery, DeliveryState};
use crate::mqtt_connection::Endpoint;

/// What the event loop tells the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Signal {
    /// Our publish went out with this packet id.
    Sent(u16),
    /// The broker acknowledged this packet id.
    Acked(u16),
    /// The connection was (re)established.
    Connected,
    /// The connection was lost, and why.
    Disconnected(String),
}

/// A connection to the upstream broker.
pub struct UpstreamMqtt {
    /// Channel id, for messages.
    id: String,
    /// Publishing side.
    client: AsyncClient,
    /// From the event loop task.
    signals: mpsc::UnboundedReceiver<Signal>,
    /// `<prefix>/<site>`.
    base: String,
    /// How long to wait for PUBACK.
    timeout: Duration,
    /// The event loop task, stopped when the channel is dropped.
    poller: tokio::task::JoinHandle<()>,
    /// Why the last connection was lost, for delivery messages.
    last_error: Option<String>,
    /// Connected now, as far as the signals tell.
    connected: bool,
}

impl Drop for UpstreamMqtt {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

impl UpstreamMqtt {
    /// A channel from its configuration (already validated); connects in the background.
    pub fn new(c: &UpstreamMqttChannel, config: &Config) -> Result<UpstreamMqtt, String> {
        let site = crate::mqtt_connection::site_topic(config);
        let client_id = c
            .client_id
            .clone()
            .unwrap_or_else(|| format!("picket-{site}-{}", c.id));
        let key = format!("channel {}", c.id);
        let broker = Endpoint {
            key: &key,
            host: &c.host,
            port: c.port.unwrap_or(if c.tls.is_some() { 8883 } else { 1883 }),
            username: c.username.as_deref(),
            password: c.password.as_ref(),
            tls: c.tls.as_ref(),
            keep_alive_s: c.keep_alive_s,
        };
        let mut options = crate::mqtt_connection::options(&client_id, broker)?;
        options.set_manual_acks(false).set_inflight(10);
        let (client, eventloop) = crate::mqtt_connection::client(options, 16);
        let (tx, signals) = mpsc::unbounded_channel();
        let poller = tokio::spawn(poll(eventloop, tx, c.id.clone()));
        Ok(UpstreamMqtt {
            id: c.id.clone(),
            client,
            signals,
            base: format!("{}/{site}", c.topic_prefix),
            timeout: Duration::from_secs(u64::from(c.timeout_s)),
            poller,
            last_error: None,
            connected: false,
        })
    }

    fn note(&mut self, signal: Signal) {
        match signal {
            Signal::Connected => {
                self.connected = true;
                self.last_error = None;
            }
            Signal::Disconnected(why) => {
                self.connected = false;
                self.last_error = Some(why);
            }
            _ => {}
        }
    }

    fn topic(&self, notice: &Notice) -> String {
        match &notice.alarm {
            Some(a) => format!("{}/alarm/{}", self.base, a.id),
            None => format!("{}/event", self.base),
        }
    }
}

/// Drives the connection: reconnects with capped backoff and forwards publish ids and
/// acknowledgements.
async fn poll(mut eventloop: EventLoop, tx: mpsc::UnboundedSender<Signal>, id: String) {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(30));
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff.reset();
                tracing::info!(channel = id, "upstream broker connected");
                let _ = tx.send(Signal::Connected);
            }
            Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                let _ = tx.send(Signal::Sent(pkid));
            }
            Ok(Event::Incoming(Packet::PubAck(ack))) => {
                let _ = tx.send(Signal::Acked(ack.pkid));
            }
            Ok(_) => {}
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::warn!(channel = id, error = %e, retry_in = ?delay, "upstream broker unreachable");
                if tx.send(Signal::Disconnected(e.to_string())).is_err() {
                    return;
                }
                tokio::time::sleep(delay).await;
            }
        }
    }
}

impl Deliver for UpstreamMqtt {
    async fn deliver(
        &mut self,
        d: &Delivery,
        notice: &Notice,
    ) -> Result<DeliveryState, DeliveryError> {
        let timeout = self.timeout;
        if self.poller.is_finished() {
            // The event loop task only ends by panicking: make it this worker's panic, so
            // the supervisor builds the channel (and its connection) again.
            crate::shared::panics::propagate_panic((&mut self.poller).await);
            panic!("upstream mqtt {}: the MQTT event loop ended", self.id);
        }
        while let Ok(signal) = self.signals.try_recv() {
            self.note(signal);
        }
        if !self.connected {
            // Publishing now would only pile copies into the client's queue: wait for the
            // connection instead, then let the worker retry.
            let wait = async {
                while let Some(signal) = self.signals.recv().await {
                    self.note(signal);
                    if self.connected {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(timeout, wait).await;
        }
        if !self.connected {
            let cause = self.last_error.as_deref().unwrap_or("not connected yet");
            return Err(DeliveryError::retry(format!(
                "upstream mqtt {}: broker unreachable ({cause})",
                self.id
            )));
        }
        let body = super::webhook::body(d, notice);
        let topic = self.topic(notice);
        self.client
            .publish(&topic, QoS::AtLeastOnce, false, body)
            .await
            .map_err(|e| DeliveryError::retry(format!("upstream mqtt {}: {e}", self.id)))?;
        let wait = async {
            let mut pkid = None;
            while let Some(signal) = self.signals.recv().await {
                match signal {
                    Signal::Sent(id) if pkid.is_none() => pkid = Some(id),
                    Signal::Acked(id) if Some(id) == pkid => return true,
                    other => self.note(other),
                }
            }
            false
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(true) => Ok(DeliveryState::Acknowledged),
            _ => Err(DeliveryError::retry(format!(
                "upstream mqtt {}: no PUBACK within {timeout:?}",
                self.id
            ))),
        }
    }
}
