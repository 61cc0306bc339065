//! Starts the delivery side: the escalation planner in the journal writer, one outbox
//! worker per channel, the periodic test report schedule, and the scheduled reports.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;

use super::supervisor::{Supervised, Supervisor};
use super::{Effects, EngineHandle, RunError, Shutdown};
use crate::backoff::Backoff;
use crate::channels::worker::{self, WorkerContext};
use crate::channels::{ChannelHealth, Deliver};
use crate::config::{Channel, Config};
use crate::engine::{Clock, Input, SystemClock};
use crate::escalation::{EvidenceLinks, EvidencePlan, Planner, Policy, SiteInfo};
use crate::fault::FaultHooks;
use crate::journal::{Journal, ShadowOutbox, Writer};
use crate::shared::health::TaskKind;

/// First retry delay of a failed delivery.
const RETRY_BASE: Duration = Duration::from_secs(1);
/// Longest wait between retries.
const RETRY_CAP: Duration = Duration::from_secs(30);

/// Makes every commit of `writer` plan deliveries by the configured policy.
/// Alarm notices list the evidence of the cameras covering their zone, with signed links
/// when `links` is given.
pub fn install_planner(
    config: &Config,
    links: Option<&EvidenceLinks>,
    writer: &mut Writer,
) -> Policy {
    let policy = Policy::from_config(config);
    if !config.channels.is_empty() {
        let mut planner = Planner::new(policy.clone(), SiteInfo::from_config(config));
        if !config.cameras.is_empty() {
            planner = planner.with_evidence(EvidencePlan::new(config, links.cloned()));
        }
        writer.set_planner(Arc::new(planner));
    }
    policy
}

/// What starting the delivery side needs from the daemon.
pub struct DeliveryDeps<'a> {
    /// The configuration.
    pub config: &'a Config,
    /// The escalation policy.
    pub policy: &'a Policy,
    /// The journal.
    pub journal: &'a Journal,
    /// The shadow outbox, for journal outages.
    pub shadow: &'a ShadowOutbox,
    /// The daemon's effects (outbox bumps, health).
    pub effects: &'a Effects,
    /// Where channel troubles go.
    pub engine: &'a EngineHandle,
    /// Stop signal.
    pub shutdown: &'a Shutdown,
    /// Restarts a worker that panics.
    pub supervisor: &'a Supervisor,
    /// Test hooks.
    pub faults: &'a FaultHooks,
}

/// Spawns one supervised worker per configured channel, and the test report schedule.
pub fn spawn(deps: DeliveryDeps<'_>) -> Result<JoinSet<()>, RunError> {
    let DeliveryDeps {
        config,
        policy,
        journal,
        shadow,
        effects,
        engine,
        shutdown,
        supervisor,
        faults,
    } = deps;
    let mut tasks = JoinSet::new();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let mut healths = Vec::new();
    for channel in &config.channels {
        let health = Arc::new(Mutex::new(ChannelHealth {
            channel: channel.id().to_string(),
            kind: channel.kind().to_string(),
            ..ChannelHealth::default()
        }));
        healths.push(health.clone());
        let ctx = WorkerContext {
            journal: journal.clone(),
            shadow: shadow.clone(),
            clock: clock.clone(),
            outbox_changed: effects.outbox.subscribe(),
            engine: Some(engine.clone()),
            health: health.clone(),
            shutdown: shutdown.clone(),
            stuck_after: policy.stuck_after,
            retention: policy.retention,
            backoff: Backoff::new(RETRY_BASE, RETRY_CAP),
            faults: faults.clone(),
        };
        let sms_counters = Arc::new(crate::channels::sms::InboxCounters::default());
        if let Channel::Sms(c) = channel
            && c.commands
        {
            spawn_sms_inbox(
                SmsInboxDeps {
                    channel: c,
                    config,
                    journal,
                    effects,
                    engine,
                    shutdown,
                    counters: sms_counters.clone(),
                },
                supervisor,
                &mut tasks,
            );
        }
        let worker = Worker {
            supervisor,
            tasks: &mut tasks,
            id: channel.id().to_string(),
            health,
            ctx,
        };
        match channel {
            Channel::Sia(c) => {
                let (c, clock) = (c.clone(), clock.clone());
                worker.start(move || crate::channels::sia::SiaDelivery::new(&c, clock.clone()))?;
            }
            Channel::Webhook(c) => {
                let (c, policy) = (c.clone(), policy.clone());
                worker
                    .start(move || crate::channels::webhook::WebhookDelivery::new(&c, &policy))?;
            }
            Channel::Email(c) => {
                let (c, config, journal) = (c.clone(), config.clone(), journal.clone());
                worker.start(move || {
                    crate::channels::email::EmailDelivery::new(&c, &config)
                        .map(|d| d.with_journal(journal.clone()))
                })?;
            }
            Channel::Mqtt(c) => {
                let (c, config) = (c.clone(), config.clone());
                worker.start(move || {
                    crate::channels::upstream_mqtt::UpstreamMqtt::new(&c, &config)
                })?;
            }
            Channel::Sms(c) => {
                let (c, config, policy) = (c.clone(), config.clone(), policy.clone());
                let (counters, journal) = (sms_counters.clone(), journal.clone());
                worker.start(move || {
                    crate::channels::sms::SmsDelivery::new(&c, &config, &policy, counters.clone())
                        .map(|d| d.with_journal(journal.clone()))
                })?;
            }
        }
    }
    let _ = effects.health.channels.set(healths);
    if let Some(every) = policy.test_every {
        let (journal, engine, shutdown) = (journal.clone(), engine.downgrade(), shutdown.clone());
        let clock = clock.clone();
        supervisor.spawn(
            &mut tasks,
            Supervised {
                name: "service:test-report".into(),
                kind: TaskKind::Service,
                channel: None,
            },
            move || {
                let (journal, engine, shutdown) =
                    (journal.clone(), engine.clone(), shutdown.clone());
                let clock = clock.clone();
                async move {
                    if let Some(engine) = engine.upgrade() {
                        test_reports(every, journal, engine, clock, shutdown).await;
                    }
                }
            },
        );
    }
    if let Some(schedule) = super::scheduled_reports::ReportSchedule::new(
        config,
        journal.clone(),
        effects.outbox.clone(),
    ) {
        let shutdown = shutdown.clone();
        supervisor.spawn(
            &mut tasks,
            Supervised {
                name: "service:reports".into(),
                kind: TaskKind::Service,
                channel: None,
            },
            move || {
                let (schedule, shutdown, clock) =
                    (schedule.clone(), shutdown.clone(), clock.clone());
                async move { schedule.run(clock, shutdown).await }
            },
        );
    }
    Ok(tasks)
}

/// What an SMS channel's reader of replies needs.
struct SmsInboxDeps<'a> {
    /// Its channel.
    channel: &'a crate::config::SmsChannel,
    /// Area names and numbers.
    config: &'a Config,
    /// People's phones.
    journal: &'a Journal,
    /// The panel, for `TT`.
    effects: &'a Effects,
    /// Where commands and audit entries go.
    engine: &'a EngineHandle,
    /// Stop signal.
    shutdown: &'a Shutdown,
    /// Shared with the channel's health.
    counters: Arc<crate::channels::sms::InboxCounters>,
}

/// Starts the supervised reader of an SMS channel's replies (`service:sms-inbox:<id>`).
fn spawn_sms_inbox(deps: SmsInboxDeps<'_>, supervisor: &Supervisor, tasks: &mut JoinSet<()>) {
    let (channel, config, journal) = (
        deps.channel.clone(),
        deps.config.clone(),
        deps.journal.clone(),
    );
    let (engine, shutdown, counters) = (
        deps.engine.downgrade(),
        deps.shutdown.clone(),
        deps.counters,
    );
    let changes = deps.effects.changes.clone();
    supervisor.spawn(
        tasks,
        Supervised {
            name: format!("service:sms-inbox:{}", channel.id),
            kind: TaskKind::Service,
            channel: None,
        },
        move || {
            let (channel, config, journal) = (channel.clone(), config.clone(), journal.clone());
            let (engine, shutdown, counters) = (engine.clone(), shutdown.clone(), counters.clone());
            let changes = changes.clone();
            async move {
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                crate::channels::sms::inbox::SmsInbox::new(
                    &channel, &config, journal, engine, changes, counters,
                )
                .run(shutdown)
                .await;
            }
        },
    );
}

/// One channel's worker, about to be started under supervision.
struct Worker<'a> {
    /// Restarts it after a panic.
    supervisor: &'a Supervisor,
    /// Where it runs.
    tasks: &'a mut JoinSet<()>,
    /// The channel id.
    id: String,
    /// Its health, marked down while the worker is dead.
    health: Arc<Mutex<ChannelHealth>>,
    /// What every run of the worker gets.
    ctx: WorkerContext,
}

impl Worker<'_> {
    /// Builds the channel now (a configuration error stops start-up) and again for every
    /// restart after a panic, so a restarted worker starts from a clean channel.
    fn start<D: Deliver>(
        self,
        build: impl Fn() -> Result<D, String> + Send + 'static,
    ) -> Result<(), RunError> {
        let mut first = Some(build().map_err(RunError::Config)?);
        let (id, ctx) = (self.id, self.ctx);
        self.supervisor.spawn(
            self.tasks,
            Supervised {
                name: format!("channel:{id}"),
                kind: TaskKind::Channel,
                channel: Some(self.health),
            },
            move || {
                let deliver = first.take().map_or_else(&build, Ok);
                let (id, ctx) = (id.clone(), ctx.clone());
                async move {
                    match deliver {
                        Ok(d) => worker::run(id, d, ctx).await,
                        Err(e) => panic!("channel {id} cannot be built again: {e}"),
                    }
                }
            },
        );
        Ok(())
    }
}

/// Sends a periodic test report every `every`, counted from the last one in the journal so
/// restarts neither skip nor repeat one.
async fn test_reports(
    every: Duration,
    journal: Journal,
    engine: EngineHandle,
    clock: Arc<dyn Clock>,
    mut shutdown: Shutdown,
) {
    let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
    loop {
        let last = journal.last_test_report_ms().await.ok().flatten();
        let now = clock.now().0;
        let due = last.map_or(now, |t| t.saturating_add(every_ms));
        let wait = Duration::from_millis(u64::try_from(due - now).unwrap_or(0));
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        if let Err(e) = engine.submit(Input::TestReport).await {
            tracing::warn!(error = %e, "periodic test report not committed");
            tokio::select! {
                _ = shutdown.wait() => return,
                _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
        }
    }
}
