//! The MQTT source: sensors behind Zigbee2MQTT, Tasmota, ESPHome or anything else on the
//! local broker.
//!
//! A persistent session (`clean_session = false`, stable client id) and QoS 1 mean the
//! broker keeps messages for picket while it restarts. Each message is acknowledged only
//! after every observation it carried is committed to the journal, so a crash before the
//! commit makes the broker redeliver it. rumqttc reconnects when polled again after an
//! error; this loop adds capped exponential backoff with jitter, subscribes again on every
//! CONNACK (the broker may not have kept the session), and raises a trouble (330) when the
//! broker stays unreachable beyond the configured grace.

pub mod camera_topics;
pub mod interface;
pub mod profiles;

use rumqttc::{AsyncClient, Event, Packet, Publish, QoS};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::mqtt_connection as connect;
use crate::mqtt_connection::Endpoint;
use profiles::TopicRole;

use super::{Source, SourceContext, SourceError, SourceFuture};
use crate::backoff::Backoff;
use crate::config::{Config, Mqtt, SensorKind, SourceBinding};
use crate::engine::{ContactId, Input, Observation, SystemTrouble};
use crate::log_limit::RateLimit;
use crate::shared::engine_handle::{Receipt, SubmitError};
pub use crate::shared::health::MqttHealth;
use crate::shared::lock::lock;

/// One sensor reading from a topic.
#[derive(Debug, Clone)]
struct Route {
    sensor: String,
    kind: SensorKind,
    binding: SourceBinding,
    role: TopicRole,
}

/// The MQTT source.
pub struct MqttSource {
    /// Broker settings.
    settings: Mqtt,
    /// Stable client id.
    client_id: String,
    /// Topic → sensors it feeds.
    routes: Arc<HashMap<String, Vec<Route>>>,
    /// Health counters.
    pub health: Arc<MqttHealth>,
    /// picket's own topics, when the rest of picket is there to serve them.
    interface: Option<(interface::Topics, interface::InterfaceDeps, Config)>,
    /// Command counters.
    pub commands: Arc<interface::InterfaceStats>,
    /// Rate limits of the warnings bad input causes.
    log_limits: LogLimits,
}

/// The rate limits of the MQTT source's warnings, one per kind.
#[derive(Default)]
struct LogLimits {
    /// Messages on topics no sensor uses.
    unknown_topic: std::sync::Mutex<RateLimit>,
    /// Payloads a sensor's profile cannot read.
    rejected: std::sync::Mutex<RateLimit>,
}

/// A message waiting for its commits before it is acknowledged.
struct PendingAck {
    /// The connection it arrived on. Packet ids are per connection: an ack owed from an
    /// earlier connection could acknowledge a different message that reuses the id, so
    /// such acks are dropped (the broker redelivers those messages anyway).
    generation: u64,
    publish: Publish,
    receipts: Vec<oneshot::Receiver<Result<Receipt, SubmitError>>>,
}

impl MqttSource {
    /// The MQTT connection when `[mqtt]` is configured: sensors bound to MQTT, and with
    /// `deps`, picket's own interface.
    pub fn from_config(
        config: &Config,
        deps: Option<interface::InterfaceDeps>,
    ) -> Option<MqttSource> {
        let settings = config.mqtt.clone()?;
        let mut routes: HashMap<String, Vec<Route>> = HashMap::new();
        for sensor in &config.sensors {
            for (topic, role) in profiles::subscriptions(&sensor.source) {
                routes.entry(topic).or_default().push(Route {
                    sensor: sensor.id.clone(),
                    kind: sensor.kind,
                    binding: sensor.source.clone(),
                    role,
                });
            }
        }
        if routes.is_empty() && deps.is_none() {
            return None;
        }
        Some(MqttSource {
            client_id: connect::client_id(config, &settings),
            settings,
            routes: Arc::new(routes),
            health: Arc::new(MqttHealth::default()),
            interface: deps.map(|d| (interface::Topics::new(config), d, config.clone())),
            commands: Arc::new(interface::InterfaceStats::default()),
            log_limits: LogLimits::default(),
        })
    }

    fn trouble(&self, active: bool) -> Input {
        Input::Trouble(SystemTrouble {
            number: None,
            id: "mqtt".into(),
            code: ContactId::PERIPHERAL_TROUBLE,
            active,
            what_vi: format!(
                "mất kết nối MQTT broker {}:{}",
                self.settings.host, self.settings.port
            ),
            what_en: format!(
                "MQTT broker {}:{} unreachable",
                self.settings.host, self.settings.port
            ),
        })
    }

    /// Decodes a message and submits its observations; queues its acknowledgement.
    async fn handle(
        &self,
        ctx: &SourceContext,
        publish: Publish,
        generation: u64,
        acks: &mpsc::Sender<PendingAck>,
        commands: &mpsc::Sender<Vec<u8>>,
    ) {
        let mut receipts = Vec::new();
        let is_command = self
            .interface
            .as_ref()
            .is_some_and(|(topics, ..)| publish.topic == topics.command());
        if is_command {
            if commands.try_send(publish.payload.to_vec()).is_err() {
                tracing::warn!("MQTT command dropped: too many commands queued");
            }
        } else {
            self.decode_and_submit(ctx, &publish, &mut receipts).await;
        }
        let _ = acks
            .send(PendingAck {
                generation,
                publish,
                receipts,
            })
            .await;
    }

    /// Turns a sensor message into observations submitted to the engine.
    async fn decode_and_submit(
        &self,
        ctx: &SourceContext,
        publish: &Publish,
        receipts: &mut Vec<oneshot::Receiver<Result<Receipt, SubmitError>>>,
    ) {
        self.health.received.fetch_add(1, Ordering::Relaxed);
        if publish.payload.len() > profiles::MAX_PAYLOAD {
            self.health.oversized.fetch_add(1, Ordering::Relaxed);
        }
        match self.routes.get(&publish.topic) {
            None => {
                self.health.rejected.fetch_add(1, Ordering::Relaxed);
                crate::warn_limited!(
                    &mut *lock(&self.log_limits.unknown_topic),
                    topic = %crate::text::for_log(&publish.topic),
                    payload = %crate::text::for_log_bytes(&publish.payload),
                    "MQTT message on a topic no sensor uses"
                );
            }
            Some(routes) => {
                // Every reading of the message goes in together: one transaction.
                let mut inputs = Vec::new();
                for route in routes {
                    match profiles::decode(&route.binding, route.kind, route.role, &publish.payload)
                    {
                        Ok(readings) => {
                            for reading in readings {
                                inputs.push(Input::Observation(Observation {
                                    sensor: route.sensor.clone(),
                                    reading,
                                    source_ref: Some(format!(
                                        "mqtt:{}#{}",
                                        publish.topic, publish.pkid
                                    )),
                                }));
                            }
                        }
                        Err(reason) => {
                            self.health.rejected.fetch_add(1, Ordering::Relaxed);
                            crate::warn_limited!(
                                &mut *lock(&self.log_limits.rejected),
                                topic = %crate::text::for_log(&publish.topic),
                                sensor = %route.sensor,
                                reason = %crate::text::for_log(&reason),
                                payload = %crate::text::for_log_bytes(&publish.payload),
                                "MQTT payload rejected"
                            );
                        }
                    }
                }
                if !inputs.is_empty() {
                    receipts.extend(ctx.engine.submit_all_nowait(inputs).await);
                }
            }
        }
    }
}

/// A connection failure explained: what happened and which setting to check.
fn explain(err: &rumqttc::ConnectionError, settings: &Mqtt) -> String {
    use rumqttc::{ConnectReturnCode as Code, ConnectionError as E};
    let at = format!("{}:{}", settings.host, settings.port);
    match err {
        E::ConnectionRefused(Code::BadUserNamePassword)
        | E::ConnectionRefused(Code::NotAuthorized) => format!(
            "broker {at} refused the credentials (bad user name or password, or not authorised): check mqtt.username and mqtt.password"
        ),
        E::ConnectionRefused(code) => format!("broker {at} refused the connection: {code:?}"),
        E::Tls(e) => format!(
            "TLS with broker {at} failed: {e}; check mqtt.tls.ca_file and that the broker's certificate names {}",
            settings.host
        ),
        E::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            format!("nothing listens on {at}: is the broker running? check mqtt.host and mqtt.port")
        }
        other => format!("connection to broker {at} failed: {other}"),
    }
}

/// Acknowledges messages in arrival order, each once all its observations are committed
/// (or refused: redelivering a refused message would not help).
async fn acknowledge_in_order(
    client: AsyncClient,
    mut rx: mpsc::Receiver<PendingAck>,
    health: Arc<MqttHealth>,
    generation: Arc<AtomicU64>,
) {
    while let Some(pending) = rx.recv().await {
        let mut committed = true;
        for receipt in pending.receipts {
            match receipt.await {
                Ok(Ok(_)) | Ok(Err(SubmitError::Refused(_))) => {}
                _ => committed = false,
            }
        }
        if pending.generation != generation.load(Ordering::Acquire) {
            tracing::debug!(topic = %pending.publish.topic, "ack from an earlier connection dropped; the broker redelivers");
        } else if committed {
            if client.ack(&pending.publish).await.is_err() {
                break;
            }
            health.acknowledged.fetch_add(1, Ordering::Relaxed);
        } else {
            tracing::warn!(topic = %pending.publish.topic, "not committed; leaving it unacknowledged for the broker to redeliver");
        }
    }
}

impl Source for MqttSource {
    fn name(&self) -> String {
        format!("mqtt:{}:{}", self.settings.host, self.settings.port)
    }

    fn run<'a>(&'a mut self, ctx: &'a SourceContext) -> SourceFuture<'a> {
        Box::pin(async move {
            let fail = |message: String| SourceError {
                source_name: "mqtt".into(),
                message,
            };
            let mut options =
                connect::options(&self.client_id, Endpoint::local(&self.settings)).map_err(fail)?;
            if let Some((topics, ..)) = &self.interface {
                options.set_last_will(rumqttc::LastWill::new(
                    topics.availability(),
                    "offline",
                    QoS::AtLeastOnce,
                    true,
                ));
            }
            let (client, eventloop) = connect::client(options, 1024);
            // The event loop turns in its own task and never waits on picket: it is what
            // drains rumqttc's request queue (acks, state publishes), so blocking it on
            // downstream work would deadlock under a flood. Incoming QoS 1 messages are
            // bounded by the broker's in-flight window, because picket acknowledges only
            // after the commit.
            let (incoming_tx, mut incoming) = mpsc::unbounded_channel();
            let poller = tokio::spawn(poll_forever(eventloop, incoming_tx));
            let (connected_tx, connected_rx) = tokio::sync::watch::channel(0u64);
            let (command_tx, mut command_rx) = mpsc::channel::<Vec<u8>>(64);
            let mut helpers = tokio::task::JoinSet::new();
            if let Some((topics, deps, config)) = &self.interface {
                helpers.spawn(interface::publish(
                    client.clone(),
                    topics.clone(),
                    deps.clone(),
                    config.clone(),
                    self.commands.clone(),
                    connected_rx,
                ));
                let mut handler = interface::CommandHandler::new(
                    topics.clone(),
                    deps.clone(),
                    ctx.engine.clone(),
                    self.commands.clone(),
                );
                let client = client.clone();
                helpers.spawn(async move {
                    while let Some(payload) = command_rx.recv().await {
                        handler.handle(&client, &payload).await;
                    }
                });
            }
            let (ack_tx, ack_rx) = mpsc::channel(4096);
            let generation = Arc::new(AtomicU64::new(0));
            let mut acker = tokio::spawn(acknowledge_in_order(
                client.clone(),
                ack_rx,
                self.health.clone(),
                generation.clone(),
            ));
            let mut topics: Vec<String> = self.routes.keys().cloned().collect();
            if let Some((t, ..)) = &self.interface {
                topics.push(t.command());
            }
            let grace = Duration::from_secs(u64::from(self.settings.broker_loss_grace_s));
            let mut down_since = Some(Instant::now());
            let mut trouble_open = false;
            let mut shutdown = ctx.shutdown.clone();
            loop {
                let trouble_at = down_since.filter(|_| !trouble_open).map(|t| t + grace);
                tokio::select! {
                    _ = shutdown.wait() => break,
                    Some(joined) = helpers.join_next(), if !helpers.is_empty() => {
                        super::propagate_panic(joined);
                    }
                    joined = &mut acker => {
                        super::propagate_panic(joined);
                        return Err(fail("the MQTT acknowledger stopped".into()));
                    }
                    _ = tokio::time::sleep_until(trouble_at.unwrap_or_else(Instant::now)), if trouble_at.is_some() => {
                        trouble_open = true;
                        tracing::error!(host = %self.settings.host, "MQTT broker unreachable beyond the grace period");
                        drop(ctx.engine.submit_nowait(self.trouble(true)).await);
                    }
                    event = incoming.recv() => match event {
                        None => return Err(fail("the MQTT event loop stopped".into())),
                        Some(Ok(Event::Incoming(Packet::ConnAck(ack)))) => {
                            generation.fetch_add(1, Ordering::AcqRel);
                            self.health.connected.store(true, Ordering::Relaxed);
                            down_since = None;
                            if let Ok(mut last) = self.health.last_error.lock() {
                                *last = None;
                            }
                            tracing::info!(session_present = ack.session_present, "connected to the MQTT broker");
                            if trouble_open {
                                trouble_open = false;
                                drop(ctx.engine.submit_nowait(self.trouble(false)).await);
                            }
                            // Subscribing again is harmless when the session was kept and
                            // essential when it was not.
                            let filters = topics.iter().map(|t| rumqttc::SubscribeFilter::new(t.clone(), QoS::AtLeastOnce));
                            if let Err(e) = client.subscribe_many(filters).await {
                                tracing::warn!(error = %e, "subscribe failed");
                            }
                        }
                        Some(Ok(Event::Incoming(Packet::Publish(publish)))) => {
                            let current = generation.load(Ordering::Acquire);
                            self.handle(ctx, publish, current, &ack_tx, &command_tx).await
                        }
                        Some(Ok(Event::Incoming(Packet::SubAck(_)))) => {
                            connected_tx.send_modify(|c| *c += 1);
                            self.health.subscribed.send_modify(|c| *c += 1);
                        }
                        Some(Ok(_)) => {}
                        Some(Err(err)) => {
                            self.health.connected.store(false, Ordering::Relaxed);
                            down_since.get_or_insert_with(Instant::now);
                            let explained = explain(&err, &self.settings);
                            tracing::warn!(error = %explained, "MQTT connection failed; retrying with backoff");
                            if let Ok(mut last) = self.health.last_error.lock() {
                                *last = Some(explained);
                            }
                        }
                    },
                }
            }
            // Stop taking messages (those not acknowledged will be redelivered); the
            // poller keeps turning, so the acknowledgements already owed go out.
            drop(ack_tx);
            let _ = tokio::time::timeout(Duration::from_secs(5), acker).await;
            helpers.abort_all();
            if let Some((topics, ..)) = &self.interface {
                // A clean disconnect does not fire the last will: say it ourselves.
                let _ =
                    client.try_publish(topics.availability(), QoS::AtLeastOnce, true, "offline");
            }
            let _ = client.try_disconnect();
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                while let Some(event) = incoming.recv().await {
                    if matches!(
                        event,
                        Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_)
                    ) {
                        break;
                    }
                }
            })
            .await;
            poller.abort();
            Ok(())
        })
    }
}

/// Turns rumqttc's event loop for as long as anyone listens, forwarding every event and
/// error. After an error it waits (capped exponential backoff with jitter) before
/// polling again, which is when rumqttc reconnects.
async fn poll_forever(
    mut eventloop: rumqttc::EventLoop,
    events: mpsc::UnboundedSender<Result<Event, rumqttc::ConnectionError>>,
) {
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));
    loop {
        let event = eventloop.poll().await;
        let failed = event.is_err();
        if matches!(event, Ok(Event::Incoming(Packet::ConnAck(_)))) {
            backoff.reset();
        }
        if events.send(event).is_err() {
            return;
        }
        if failed {
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }
}
