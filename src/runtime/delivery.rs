//! Starts the delivery side: the escalation planner in the journal writer, one outbox
//! worker per channel, and the periodic test report schedule.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;

use super::{Effects, EngineHandle, RunError, Shutdown};
use crate::backoff::Backoff;
use crate::channels::worker::{self, WorkerContext};
use crate::channels::{ChannelHealth, Deliver};
use crate::config::{Channel, Config};
use crate::engine::{Clock, Input, SystemClock};
use crate::escalation::{EvidenceLinks, EvidencePlan, Planner, Policy, SiteInfo};
use crate::journal::{Journal, ShadowOutbox, Writer};

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

/// Spawns one worker per configured channel, and the test report schedule.
pub fn spawn(
    config: &Config,
    policy: &Policy,
    journal: &Journal,
    shadow: &ShadowOutbox,
    effects: &Effects,
    engine: &EngineHandle,
    shutdown: &Shutdown,
) -> Result<JoinSet<()>, RunError> {
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
            health,
            shutdown: shutdown.clone(),
            stuck_after: policy.stuck_after,
            retention: policy.retention,
            backoff: Backoff::new(RETRY_BASE, RETRY_CAP),
        };
        let id = channel.id().to_string();
        match channel {
            Channel::Sia(c) => {
                let d = crate::channels::sia::SiaDelivery::new(c, clock.clone())
                    .map_err(RunError::Config)?;
                start(&mut tasks, id, d, ctx);
            }
            Channel::Webhook(c) => {
                let d = crate::channels::webhook::WebhookDelivery::new(c, policy)
                    .map_err(RunError::Config)?;
                start(&mut tasks, id, d, ctx);
            }
            Channel::Email(c) => {
                let d = crate::channels::email::EmailDelivery::new(c)
                    .map_err(RunError::Config)?
                    .with_journal(journal.clone());
                start(&mut tasks, id, d, ctx);
            }
            Channel::Mqtt(c) => {
                let d = crate::channels::upstream_mqtt::UpstreamMqtt::new(c, config)
                    .map_err(RunError::Config)?;
                start(&mut tasks, id, d, ctx);
            }
        }
    }
    let _ = effects.health.channels.set(healths);
    if let Some(every) = policy.test_every {
        tasks.spawn(test_reports(
            every,
            journal.clone(),
            engine.clone(),
            clock,
            shutdown.clone(),
        ));
    }
    Ok(tasks)
}

fn start<D: Deliver>(tasks: &mut JoinSet<()>, id: String, deliver: D, ctx: WorkerContext) {
    tasks.spawn(worker::run(id, deliver, ctx));
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
