//! The outbox worker: one task per channel, draining that channel's rows strictly in
//! order (earliest due, then oldest).
//!
//! The head row is retried with capped exponential backoff and jitter until the recipient
//! takes it, so nothing behind it overtakes it; only a refusal for good (marked `failed`)
//! lets the queue move on. Every result is written to the journal before the next row is
//! read, so a restart resumes exactly where the worker stopped (a row delivered but not
//! yet marked goes again, with the same message id). The worker also runs the channel's
//! own supervision when idle, raises trouble when the head row has been due too long, and
//! deletes finished rows past their retention. While the journal cannot be written the
//! worker drains the shadow outbox instead (see [`crate::journal::ShadowOutbox`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

use super::{Deliver, DeliveryError};
use crate::backoff::Backoff;
use crate::engine::{Clock, ContactId, Input, SystemTrouble};
use crate::escalation::Notice;
use crate::fault::FaultHooks;
use crate::journal::{Delivery, DeliveryState, Journal, ShadowOutbox};
use crate::shared::engine_handle::EngineHandle;
use crate::shared::health::{ChannelHealth, LinkState};
use crate::shared::lock::lock;
use crate::shared::shutdown::Shutdown;

/// How often finished rows are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// While a backlog drains, queue figures for health are refreshed at most this often
/// (they are always refreshed before the worker waits).
const QUEUE_FIGURES_EVERY: Duration = Duration::from_secs(1);

/// What a worker needs besides its channel.
#[derive(Clone)]
pub struct WorkerContext {
    /// Where the rows are.
    pub journal: Journal,
    /// Where the rows are while the journal cannot be written.
    pub shadow: ShadowOutbox,
    /// Time, the engine's way.
    pub clock: Arc<dyn Clock>,
    /// Bumped after every commit that may have added rows.
    pub outbox_changed: watch::Receiver<u64>,
    /// Where channel troubles go (path down, delivery stuck).
    pub engine: Option<EngineHandle>,
    /// Shared with the page and `/metrics`.
    pub health: Arc<Mutex<ChannelHealth>>,
    /// Stop signal.
    pub shutdown: Shutdown,
    /// A head row due this long is stuck.
    pub stuck_after: Duration,
    /// Finished rows older than this are deleted.
    pub retention: Duration,
    /// Retry pacing for the head row.
    pub backoff: Backoff,
    /// Test hooks: `channel:<id>` panics before a delivery attempt when armed.
    pub faults: FaultHooks,
}

impl WorkerContext {
    /// The outbox to drain now: the shadow while it exists, else the journal.
    fn outbox(&self) -> Journal {
        self.shadow
            .current()
            .unwrap_or_else(|| self.journal.clone())
    }
}

/// Deliveries made whose result the outbox did not take (a full disk): by message id,
/// with how they ended. The head row is then recorded, not sent again, whichever outbox
/// (the journal, or the shadow while the journal is unwritable) holds it next.
type Unrecorded = std::collections::BTreeMap<String, (DeliveryState, i64)>;

/// What one attempt at the head row came to.
enum Attempt {
    /// Delivered, or refused for good: the queue moves on.
    Done,
    /// Failed; try the head again after this long.
    RetryIn(Duration),
    /// Shutdown came first.
    Shutdown,
}

/// Drains `channel`'s rows until shutdown.
pub async fn run<D: Deliver>(channel: String, mut deliver: D, mut ctx: WorkerContext) {
    let interval = deliver.supervision_interval();
    let mut supervise_at = interval.map(|i| Instant::now() + i);
    let mut next_purge = Instant::now();
    let mut stuck = false;
    let mut outbox_open = true;
    let mut next_figures = Instant::now();
    // When the head row failed: not before this is it tried again.
    let mut retry_at: Option<Instant> = None;
    let fault_point = format!("channel:{channel}");
    let mut unrecorded = Unrecorded::new();
    // Trouble 354 "refused for good" raised and not yet restored by a delivery.
    let mut refused_open = false;
    loop {
        if ctx.shutdown.is_triggered() {
            break;
        }
        if Instant::now() >= next_purge {
            purge(&ctx).await;
            next_purge = Instant::now() + PURGE_EVERY;
        }
        let now = ctx.clock.now().0;
        let outbox = ctx.outbox();
        let head = match outbox.next_delivery(&channel).await {
            Ok(head) => head,
            Err(e) => {
                tracing::error!(channel, error = %e, "cannot read the outbox");
                let delay = ctx.backoff.ceiling();
                if pause(&mut ctx, delay).await {
                    break;
                }
                continue;
            }
        };
        let overdue = head
            .as_ref()
            .filter(|d| d.due_at_ms <= now)
            .map(|d| Duration::from_millis(u64::try_from(now - d.due_at_ms).unwrap_or(0)));
        if overdue.is_none() || Instant::now() >= next_figures {
            refresh_queue(&channel, &outbox, &ctx, now).await;
            next_figures = Instant::now() + QUEUE_FIGURES_EVERY;
        }
        let is_stuck = overdue.is_some_and(|age| age >= ctx.stuck_after);
        if is_stuck != stuck {
            stuck = is_stuck;
            raise(&ctx, stuck_trouble(&channel, stuck)).await;
        }
        let wait = match (head, overdue) {
            (Some(d), Some(age)) => {
                let retry_in = retry_at.map_or(Duration::ZERO, |t| t - Instant::now());
                if retry_in.is_zero() {
                    if let Some(&(state, at_ms)) = unrecorded.get(&d.message_id) {
                        // Delivered already: only the record is owed.
                        match outbox.mark_delivered(d.id, state, at_ms).await {
                            Ok(()) => {
                                unrecorded.remove(&d.message_id);
                                retry_at = None;
                            }
                            Err(e) => {
                                let delay = ctx.backoff.next_delay();
                                tracing::error!(channel, message_id = d.message_id, error = %e, retry_in = ?delay, "delivered, and still cannot record it; it is not sent again");
                                retry_at = Some(Instant::now() + delay);
                            }
                        }
                        continue;
                    }
                    ctx.faults.check(&fault_point);
                    match attempt(
                        &channel,
                        &mut deliver,
                        &mut ctx,
                        &outbox,
                        d,
                        &mut unrecorded,
                        &mut refused_open,
                    )
                    .await
                    {
                        Attempt::Done => retry_at = None,
                        Attempt::RetryIn(delay) => retry_at = Some(Instant::now() + delay),
                        Attempt::Shutdown => break,
                    }
                    for t in deliver.trouble_changes() {
                        raise(&ctx, t).await;
                    }
                    continue;
                }
                // Waiting to retry; wake on time to report the head stuck.
                let until_stuck = (!stuck).then(|| ctx.stuck_after.saturating_sub(age));
                Some(until_stuck.map_or(retry_in, |s| s.min(retry_in)))
            }
            (Some(d), None) => Some(Duration::from_millis(
                u64::try_from(d.due_at_ms - now).unwrap_or(0),
            )),
            (None, _) => None,
        };
        let supervise_due = supervise_at.unwrap_or_else(Instant::now);
        tokio::select! {
            _ = ctx.shutdown.wait() => break,
            changed = ctx.outbox_changed.changed(), if outbox_open => {
                outbox_open = changed.is_ok();
            }
            _ = tokio::time::sleep(wait.unwrap_or_default()), if wait.is_some() => {}
            _ = tokio::time::sleep_until(supervise_due), if supervise_at.is_some() => {
                deliver.supervise().await;
                supervise_at = interval.map(|i| Instant::now() + i);
                record_paths(&deliver, &ctx);
                record_confirmations(&channel, &mut deliver, &ctx).await;
                for t in deliver.trouble_changes() {
                    raise(&ctx, t).await;
                }
            }
        }
    }
    tracing::debug!(channel, "outbox worker stopped");
}

/// Tries the head row once and records the result. A row failed for good raises trouble
/// 354 naming the channel (`refused_open`), which a later delivery restores.
async fn attempt<D: Deliver>(
    channel: &str,
    deliver: &mut D,
    ctx: &mut WorkerContext,
    outbox: &Journal,
    d: Delivery,
    unrecorded: &mut Unrecorded,
    refused_open: &mut bool,
) -> Attempt {
    let result = match serde_json::from_str::<Notice>(&d.payload_json) {
        Ok(notice) => {
            tokio::select! {
                r = deliver.deliver(&d, &notice) => r,
                _ = ctx.shutdown.wait() => return Attempt::Shutdown,
            }
        }
        Err(e) => Err(DeliveryError::misconfigured(format!(
            "outbox row {} holds an unreadable notice: {e}",
            d.id
        ))),
    };
    let now = ctx.clock.now().0;
    let result = result.map_err(|e| hold_alarm(e, &d, now, ctx.stuck_after));
    // Health first, in one step with the paths, so a reader never sees half an update.
    record_paths(deliver, ctx);
    {
        let mut h = lock(&ctx.health);
        match &result {
            Ok(_) => {
                h.state = h.working_state();
                h.last_success_ms = Some(now);
                h.consecutive_failures = 0;
                h.delivered += 1;
            }
            Err(e) => {
                h.state = LinkState::Down;
                h.last_error = Some(e.message.clone());
                h.consecutive_failures += 1;
                h.failed_attempts += 1;
            }
        }
    }
    match result {
        Ok(state) => {
            if let Err(e) = outbox.mark_delivered(d.id, state, now).await {
                tracing::error!(channel, message_id = d.message_id, error = %e, "delivered but could not record it; the record is retried, the message is not sent again");
                unrecorded.insert(d.message_id.clone(), (state, now));
            }
            ctx.backoff.reset();
            tracing::info!(
                channel,
                message_id = d.message_id,
                state = state.as_str(),
                "delivered"
            );
            if std::mem::take(refused_open) {
                raise(ctx, refused_trouble(channel, false, "")).await;
            }
            Attempt::Done
        }
        Err(e) => {
            if let Err(je) = outbox
                .mark_attempt_failed(d.id, &e.message, e.for_good, now)
                .await
            {
                tracing::error!(channel, error = %je, "could not record a failed delivery");
            }
            if e.for_good {
                tracing::error!(channel, message_id = d.message_id, error = %e, "delivery refused for good");
                if !std::mem::replace(refused_open, true) {
                    raise(ctx, refused_trouble(channel, true, &e.message)).await;
                }
                Attempt::Done
            } else {
                let delay = ctx.backoff.next_delay();
                tracing::warn!(channel, message_id = d.message_id, error = %e, retry_in = ?delay, "delivery failed; will retry");
                Attempt::RetryIn(delay)
            }
        }
    }
}

/// Waits `delay` or until shutdown; true when shutdown came.
async fn pause(ctx: &mut WorkerContext, delay: Duration) -> bool {
    tokio::select! {
        _ = ctx.shutdown.wait() => true,
        _ = tokio::time::sleep(delay) => false,
    }
}

async fn refresh_queue(channel: &str, outbox: &Journal, ctx: &WorkerContext, now: i64) {
    if let Ok(stats) = outbox.queue_stats(channel, now).await {
        let mut h = lock(&ctx.health);
        h.queue_due = stats.due;
        h.queue_pending = stats.pending;
        h.oldest_due_age_s = stats
            .oldest_due_at_ms
            .map_or(0, |t| u64::try_from((now - t) / 1000).unwrap_or(0));
    }
}

/// Copies the channel's path states into its health; a working channel with a path down
/// is degraded (and up again once every path answers).
fn record_paths<D: Deliver>(deliver: &D, ctx: &WorkerContext) {
    let paths = deliver.paths();
    let modem = deliver.modem();
    if paths.is_empty() && modem.is_none() {
        return;
    }
    let mut h = lock(&ctx.health);
    h.modem = modem;
    h.paths = paths;
    if matches!(h.state, LinkState::Up | LinkState::Degraded) {
        h.state = h.working_state();
    }
}

/// Marks acknowledged the rows whose recipients confirmed them since (SMS delivery
/// reports). A confirmation the journal cannot take now is only logged: the row stays
/// `sent`, which is true.
async fn record_confirmations<D: Deliver>(channel: &str, deliver: &mut D, ctx: &WorkerContext) {
    for (message_id, at_ms) in deliver.confirmations() {
        match ctx.outbox().mark_confirmed(&message_id, at_ms).await {
            Ok(_) => tracing::info!(channel, message_id, "delivery confirmed by the recipient"),
            Err(e) => {
                tracing::warn!(channel, message_id, error = %e, "cannot record a confirmation")
            }
        }
    }
}

async fn purge(ctx: &WorkerContext) {
    let keep = i64::try_from(ctx.retention.as_millis()).unwrap_or(i64::MAX);
    let before = ctx.clock.now().0.saturating_sub(keep);
    match ctx.journal.purge_deliveries(before).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "finished deliveries past retention deleted"),
        Err(e) => tracing::warn!(error = %e, "cannot purge old deliveries"),
    }
}

/// An alarm refused by a recipient that may yet take it (`retry_alarms`) is tried again
/// until it has waited `stuck_after`; only then does it fail for good.
fn hold_alarm(
    mut e: DeliveryError,
    d: &Delivery,
    now_ms: i64,
    stuck_after: Duration,
) -> DeliveryError {
    let waited = Duration::from_millis(u64::try_from(now_ms - d.due_at_ms).unwrap_or(0));
    if e.for_good && e.retry_alarms && d.alarm_id.is_some() && waited < stuck_after {
        e.for_good = false;
        e.message = format!(
            "{} (an alarm: tried again until it has waited {} s)",
            e.message,
            stuck_after.as_secs()
        );
    }
    e
}

/// Trouble 354 for a message the channel's recipient refused for good, so the other
/// channels hear that something was not delivered.
fn refused_trouble(channel: &str, active: bool, why: &str) -> SystemTrouble {
    let why = crate::text::for_log(why);
    SystemTrouble {
        number: None,
        id: format!("channel:{channel}:refused"),
        code: ContactId(354),
        active,
        what_vi: if active {
            format!("kênh {channel} bị từ chối hẳn một tin ({why})")
        } else {
            format!("kênh {channel} bị từ chối hẳn một tin")
        },
        what_en: if active {
            format!("channel {channel} had a message refused for good ({why})")
        } else {
            format!("channel {channel} had a message refused for good")
        },
    }
}

fn stuck_trouble(channel: &str, active: bool) -> SystemTrouble {
    SystemTrouble {
        number: None,
        id: format!("channel:{channel}:stuck"),
        code: ContactId(354),
        active,
        what_vi: format!("kênh {channel} không gửi được tin đã đến hạn"),
        what_en: format!("channel {channel} cannot deliver a message that is due"),
    }
}

async fn raise(ctx: &WorkerContext, trouble: SystemTrouble) {
    tracing::warn!(
        trouble = trouble.id,
        active = trouble.active,
        "channel trouble"
    );
    if let Some(engine) = &ctx.engine {
        // Queued for the engine; its commit is not awaited here.
        drop(engine.submit_nowait(Input::Trouble(trouble)).await);
    }
}
