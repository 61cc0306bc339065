//! The delivery outbox: one row per (event, channel) a recipient is owed.
//!
//! Rows are planned by the escalation layer (through [`OutboxPlanner`]) and written in the
//! same transaction as the events that caused them, so an alarm is never committed without
//! its deliveries. Channel workers then take the oldest due row of their channel, try it,
//! and record the result. A row is `pending` until delivered (`sent`, or `acknowledged`
//! when the recipient confirmed), `failed` when the recipient refused it for good, or
//! `skipped` when the alarm was acknowledged or cancelled before the row was due.

use super::batch::Batch;
use serde::Serialize;

use super::writer::CommittedEvent;
use super::{Journal, JournalError};
use crate::engine::Outcome;

/// A delivery to add.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    /// Stable id, the same on every retry and across restarts; recipients use it to drop
    /// duplicates.
    pub message_id: String,
    /// Channel id.
    pub channel: String,
    /// Alarm it concerns.
    pub alarm_id: Option<i64>,
    /// Journal event it carries.
    pub event_seq: i64,
    /// Escalation tier (1-based; 0 = not tiered).
    pub tier: u32,
    /// When it may go out.
    pub due_at_ms: i64,
    /// The notice, as JSON; channels format it.
    pub payload_json: String,
}

/// One change to the outbox, planned from an engine outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum OutboxOp {
    /// Add a delivery (ignored when its message id exists already).
    Enqueue(NewDelivery),
    /// The alarm was acknowledged, resolved or cancelled: its deliveries not yet due are
    /// skipped.
    SkipNotDue {
        /// The alarm.
        alarm_id: i64,
        /// Now.
        at_ms: i64,
        /// Why, recorded as the row's last error.
        reason: String,
    },
    /// The intrusion was confirmed: the alarm's deliveries of tiers up to `max_tier` become
    /// due now.
    Expedite {
        /// The alarm.
        alarm_id: i64,
        /// Highest tier brought forward.
        max_tier: u32,
        /// Now.
        at_ms: i64,
    },
    /// Tell every channel among `channels` that was already told about the alarm, or any
    /// of `told_about` (a row due by `at_ms` and not skipped), about this event too: one
    /// row per channel and set of recipients told (a tier with recipients of its own, in
    /// `own_recipients`, is told apart from the channel's usual ones).
    TellThoseTold {
        /// The alarm the new rows belong to.
        alarm_id: i64,
        /// The alarms whose recipients are told (the alarm itself among them).
        told_about: Vec<i64>,
        /// Now.
        at_ms: i64,
        /// Channels able to carry this event.
        channels: Vec<String>,
        /// `channel#tier` of every tier with recipients of its own for a channel.
        own_recipients: Vec<String>,
        /// Journal event carried.
        event_seq: i64,
        /// Message id prefix; the channel id is appended.
        message_prefix: String,
        /// The notice, as JSON.
        payload_json: String,
    },
}

/// Turns what the engine decided into outbox changes. Implemented by the escalation layer;
/// called inside the commit transaction once the events have their sequence numbers.
pub trait OutboxPlanner: Send + Sync {
    /// The changes owed for one outcome whose events were committed as `events`.
    fn plan(&self, outcome: &Outcome, events: &[CommittedEvent]) -> Vec<OutboxOp>;
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting to go out (or to be retried).
    Pending,
    /// Handed over; the recipient does not confirm (email).
    Sent,
    /// The recipient confirmed it (DC-09 ACK, HTTP 2xx, MQTT PUBACK).
    Acknowledged,
    /// Refused for good; see the last error.
    Failed,
    /// Not needed any more (acknowledged or cancelled before it was due).
    Skipped,
}

impl DeliveryState {
    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Acknowledged => "acknowledged",
            DeliveryState::Failed => "failed",
            DeliveryState::Skipped => "skipped",
        }
    }

    pub(crate) fn parse(s: &str) -> DeliveryState {
        match s {
            "sent" => DeliveryState::Sent,
            "acknowledged" => DeliveryState::Acknowledged,
            "failed" => DeliveryState::Failed,
            "skipped" => DeliveryState::Skipped,
            _ => DeliveryState::Pending,
        }
    }
}

/// A stored delivery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// Row id: the order deliveries were planned in.
    pub id: i64,
    /// Stable message id.
    pub message_id: String,
    /// Channel id.
    pub channel: String,
    /// Alarm concerned.
    pub alarm_id: Option<i64>,
    /// Journal event carried.
    pub event_seq: Option<i64>,
    /// Escalation tier (0 = not tiered).
    pub tier: u32,
    /// When it may go out.
    pub due_at_ms: i64,
    /// Where it is.
    pub state: DeliveryState,
    /// Tries so far.
    pub attempts: u32,
    /// The last error, in words.
    pub last_error: Option<String>,
    /// The notice, as JSON.
    pub payload_json: String,
    /// When it was delivered.
    pub delivered_at_ms: Option<i64>,
}

pub(super) type DeliveryRow = (
    i64,
    String,
    String,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    String,
    i64,
    Option<String>,
    String,
    Option<i64>,
);

/// `SELECT <every delivery column> FROM outbox <rest>`, as one static string.
macro_rules! select_deliveries {
    ($rest:literal) => {
        concat!(
            "SELECT id, message_id, channel, alarm_id, event_seq, tier, due_at_ms, state, \
             attempts, last_error, payload_json, delivered_at_ms FROM outbox ",
            $rest
        )
    };
}
pub(super) use select_deliveries;

pub(super) fn delivery(r: DeliveryRow) -> Delivery {
    Delivery {
        id: r.0,
        message_id: r.1,
        channel: r.2,
        alarm_id: r.3,
        event_seq: r.4,
        tier: u32::try_from(r.5).unwrap_or(0),
        due_at_ms: r.6,
        state: DeliveryState::parse(&r.7),
        attempts: u32::try_from(r.8).unwrap_or(u32::MAX),
        last_error: r.9,
        payload_json: r.10,
        delivered_at_ms: r.11,
    }
}

/// A channel's queue at a glance, for health and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct QueueStats {
    /// Rows waiting (due or not).
    pub pending: u64,
    /// Rows due now and not yet delivered.
    pub due: u64,
    /// Due time of the oldest due row.
    pub oldest_due_at_ms: Option<i64>,
    /// Rows that failed for good.
    pub failed: u64,
    /// When the channel last delivered something.
    pub last_delivered_at_ms: Option<i64>,
}

/// Applies planned changes inside the commit transaction.
pub(super) fn apply(batch: &mut Batch, ops: &[OutboxOp], now_ms: i64) {
    for op in ops {
        match op {
            OutboxOp::Enqueue(d) => push_insert(batch, d, now_ms),
            OutboxOp::SkipNotDue {
                alarm_id,
                at_ms,
                reason,
            } => {
                batch
                    .statement(
                        "UPDATE outbox SET state = 'skipped', last_error = ?, updated_at_ms = ? \
                     WHERE alarm_id = ? AND state = 'pending' AND due_at_ms > ?",
                    )
                    .bind(reason)
                    .bind(now_ms)
                    .bind(alarm_id)
                    .bind(at_ms);
            }
            OutboxOp::Expedite {
                alarm_id,
                max_tier,
                at_ms,
            } => {
                batch
                    .statement(
                        "UPDATE outbox SET due_at_ms = ?, updated_at_ms = ? \
                     WHERE alarm_id = ? AND state = 'pending' AND tier <= ? AND due_at_ms > ?",
                    )
                    .bind(at_ms)
                    .bind(now_ms)
                    .bind(alarm_id)
                    .bind(i64::from(*max_tier))
                    .bind(at_ms);
            }
            OutboxOp::TellThoseTold {
                alarm_id,
                told_about,
                at_ms,
                channels,
                own_recipients,
                event_seq,
                message_prefix,
                payload_json,
            } => {
                let channels = serde_json::to_string(channels).unwrap_or_default();
                let told_about = serde_json::to_string(told_about).unwrap_or_default();
                let own = serde_json::to_string(own_recipients).unwrap_or_default();
                // Rows told are grouped by whom they reached: a tier's own recipients
                // (suffix `#<tier>`, the row keeps that tier) or the channel's usual ones
                // (no suffix, the lowest such tier).
                batch
                    .statement(
                        "INSERT OR IGNORE INTO outbox (message_id, channel, alarm_id, event_seq, \
                     tier, due_at_ms, state, payload_json, created_at_ms, updated_at_ms) \
                     SELECT ? || channel || who, channel, ?, ?, MIN(tier), ?, 'pending', ?, ?, ? \
                     FROM (SELECT id, channel, tier, CASE WHEN channel || '#' || tier IN \
                     (SELECT value FROM json_each(?)) THEN '#' || tier ELSE '' END AS who \
                     FROM outbox WHERE (alarm_id = ? OR alarm_id IN \
                     (SELECT value FROM json_each(?))) AND due_at_ms <= ? AND state != 'skipped' \
                     AND channel IN (SELECT value FROM json_each(?))) \
                     GROUP BY channel, who ORDER BY MIN(id)",
                    )
                    .bind(message_prefix)
                    .bind(alarm_id)
                    .bind(event_seq)
                    .bind(at_ms)
                    .bind(payload_json)
                    .bind(now_ms)
                    .bind(now_ms)
                    .bind(own)
                    .bind(alarm_id)
                    .bind(told_about)
                    .bind(at_ms)
                    .bind(channels);
            }
        }
    }
}

/// Inserts a new pending row unless one with its `message_id` exists.
const INSERT: &str = "INSERT OR IGNORE INTO outbox (message_id, channel, alarm_id, event_seq, tier, \
     due_at_ms, state, payload_json, created_at_ms, updated_at_ms) \
     VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)";

/// [`INSERT`] in a batch.
fn push_insert(batch: &mut Batch, d: &NewDelivery, now_ms: i64) {
    batch
        .statement(INSERT)
        .bind(&d.message_id)
        .bind(&d.channel)
        .bind(d.alarm_id)
        .bind(d.event_seq)
        .bind(i64::from(d.tier))
        .bind(d.due_at_ms)
        .bind(&d.payload_json)
        .bind(now_ms)
        .bind(now_ms);
}

impl Journal {
    /// Queues a delivery that comes from no engine event (a scheduled report), once: a row
    /// with its `message_id` already there, delivered or not, is left alone. Returns
    /// whether it was queued now.
    pub async fn enqueue_once(&self, d: &NewDelivery, now_ms: i64) -> Result<bool, JournalError> {
        let done = sqlx::query(INSERT)
            .bind(&d.message_id)
            .bind(&d.channel)
            .bind(d.alarm_id)
            .bind(d.event_seq)
            .bind(i64::from(d.tier))
            .bind(d.due_at_ms)
            .bind(&d.payload_json)
            .bind(now_ms)
            .bind(now_ms)
            .execute(self.pool())
            .await
            .map_err(|e| self.err("queueing a delivery", e))?;
        Ok(done.rows_affected() > 0)
    }

    /// Whether a delivery with this `message_id` was ever queued (and not yet purged).
    pub async fn has_delivery(&self, message_id: &str) -> Result<bool, JournalError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM outbox WHERE message_id = ?")
            .bind(message_id)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| self.err("reading the outbox", e))?;
        Ok(found.is_some())
    }

    /// The channel's next delivery in order (earliest due, then oldest), due or not.
    pub async fn next_delivery(&self, channel: &str) -> Result<Option<Delivery>, JournalError> {
        let row: Option<DeliveryRow> = sqlx::query_as(select_deliveries!(
            "WHERE channel = ? AND state = 'pending' ORDER BY due_at_ms, id LIMIT 1"
        ))
        .bind(channel)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| self.err("reading the outbox", e))?;
        Ok(row.map(delivery))
    }

    /// Records a delivery: `Sent` or `Acknowledged`.
    pub async fn mark_delivered(
        &self,
        id: i64,
        state: DeliveryState,
        at_ms: i64,
    ) -> Result<(), JournalError> {
        sqlx::query(
            "UPDATE outbox SET state = ?, attempts = attempts + 1, delivered_at_ms = ?, \
             updated_at_ms = ? WHERE id = ?",
        )
        .bind(state.as_str())
        .bind(at_ms)
        .bind(at_ms)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(|e| self.err("recording a delivery", e))
        .map(|_| ())
    }

    /// Records that the recipient confirmed a message handed over earlier (an SMS delivery
    /// report): a `sent` row becomes `acknowledged`; any other row is left as it is.
    pub async fn mark_confirmed(&self, message_id: &str, at_ms: i64) -> Result<bool, JournalError> {
        sqlx::query(
            "UPDATE outbox SET state = 'acknowledged', updated_at_ms = ? \
             WHERE message_id = ? AND state = 'sent'",
        )
        .bind(at_ms)
        .bind(message_id)
        .execute(self.pool())
        .await
        .map_err(|e| self.err("recording a confirmation", e))
        .map(|r| r.rows_affected() > 0)
    }

    /// Records a failed try. With `for_good` the row becomes `failed` and the queue moves
    /// on; otherwise it stays pending and is retried.
    pub async fn mark_attempt_failed(
        &self,
        id: i64,
        error: &str,
        for_good: bool,
        at_ms: i64,
    ) -> Result<(), JournalError> {
        sqlx::query(
            "UPDATE outbox SET state = CASE WHEN ? THEN 'failed' ELSE state END, \
             attempts = attempts + 1, last_error = ?, updated_at_ms = ? WHERE id = ?",
        )
        .bind(for_good)
        .bind(error)
        .bind(at_ms)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(|e| self.err("recording a failed delivery", e))
        .map(|_| ())
    }

    /// Every delivery of a channel (or of all channels), oldest first: for the page, the
    /// API and tests.
    pub async fn deliveries(&self, channel: Option<&str>) -> Result<Vec<Delivery>, JournalError> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(select_deliveries!(
            "WHERE ? IS NULL OR channel = ? ORDER BY id"
        ))
        .bind(channel)
        .bind(channel)
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.err("reading the outbox", e))?;
        Ok(rows.into_iter().map(delivery).collect())
    }

    /// A channel's queue at a glance.
    pub async fn queue_stats(
        &self,
        channel: &str,
        now_ms: i64,
    ) -> Result<QueueStats, JournalError> {
        let (pending, due, oldest, failed, last): (i64, i64, Option<i64>, i64, Option<i64>) =
            sqlx::query_as(
                "SELECT \
                 COALESCE(SUM(state = 'pending'), 0), \
                 COALESCE(SUM(state = 'pending' AND due_at_ms <= ?), 0), \
                 MIN(CASE WHEN state = 'pending' AND due_at_ms <= ? THEN due_at_ms END), \
                 COALESCE(SUM(state = 'failed'), 0), \
                 MAX(delivered_at_ms) \
                 FROM outbox WHERE channel = ?",
            )
            .bind(now_ms)
            .bind(now_ms)
            .bind(channel)
            .fetch_one(self.pool())
            .await
            .map_err(|e| self.err("reading the outbox", e))?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(QueueStats {
            pending: count(pending),
            due: count(due),
            oldest_due_at_ms: oldest,
            failed: count(failed),
            last_delivered_at_ms: last,
        })
    }

    /// Deletes finished deliveries (delivered, failed or skipped) last touched before
    /// `before_ms`. Pending rows are never deleted. Returns how many went.
    pub async fn purge_deliveries(&self, before_ms: i64) -> Result<u64, JournalError> {
        sqlx::query("DELETE FROM outbox WHERE state != 'pending' AND updated_at_ms < ?")
            .bind(before_ms)
            .execute(self.pool())
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| self.err("purging old deliveries", e))
    }
}
