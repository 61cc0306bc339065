//! Reading history for people: the event log with its filters, one page at a time by
//! keyset on `seq` (so the thousandth page costs what the first does, on a journal of a
//! million events), an alarm's timeline and deliveries, and who looked at its evidence.

use sqlx::{QueryBuilder, Sqlite};

use super::outbox::{Delivery, DeliveryRow, DeliveryState, delivery, select_deliveries};
use super::{EventRow, Journal, JournalError};

/// What the event log shows: every condition is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// From this time on (ms since the epoch).
    pub from_ms: Option<i64>,
    /// Before this time (ms since the epoch).
    pub to_ms: Option<i64>,
    /// Category (`fire`, `burglary`, `trouble`, `arming`…).
    pub category: Option<String>,
    /// Area id.
    pub area: Option<String>,
    /// Zone id.
    pub zone: Option<String>,
    /// Sensor id.
    pub sensor: Option<String>,
    /// Person.
    pub user: Option<String>,
    /// Event kind (`alarm_raised`, `trouble`…).
    pub kind: Option<String>,
}

/// `SELECT <the columns of an event, as EventRow reads them> FROM events <rest>`, as one
/// static string.
macro_rules! select_events {
    ($rest:literal) => {
        concat!(
            "SELECT seq, at_ms, kind, category, code, qualifier, area, zone, zone_number, \
             sensor, alarm_id, user_name, message_vi, message_en, source_ref FROM events",
            $rest
        )
    };
}

impl EventFilter {
    /// The WHERE clause for the conditions given; only those, so SQLite uses their index.
    fn push_conditions(&self, q: &mut QueryBuilder<Sqlite>, before_seq: Option<i64>) {
        let mut first = true;
        let mut and = |q: &mut QueryBuilder<Sqlite>| {
            q.push(if first { " WHERE " } else { " AND " });
            first = false;
        };
        if let Some(v) = self.from_ms {
            and(q);
            q.push("at_ms >= ").push_bind(v);
        }
        if let Some(v) = self.to_ms {
            and(q);
            q.push("at_ms < ").push_bind(v);
        }
        for (column, value) in [
            ("category", &self.category),
            ("area", &self.area),
            ("zone", &self.zone),
            ("sensor", &self.sensor),
            ("user_name", &self.user),
            ("kind", &self.kind),
        ] {
            if let Some(v) = value {
                and(q);
                q.push(column).push(" = ").push_bind(v.clone());
            }
        }
        if let Some(seq) = before_seq {
            and(q);
            q.push("seq < ").push_bind(seq);
        }
    }
}

impl Journal {
    /// Up to `limit` events matching `filter`, newest first, all older than `before_seq`
    /// when given (the next page starts below the last row of this one).
    pub async fn events_page(
        &self,
        filter: &EventFilter,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<EventRow>, JournalError> {
        let mut q = QueryBuilder::<Sqlite>::new(select_events!(""));
        filter.push_conditions(&mut q, before_seq);
        q.push(" ORDER BY seq DESC LIMIT ")
            .push_bind(i64::from(limit));
        q.build_query_as::<EventRow>()
            .fetch_all(self.pool())
            .await
            .map_err(|e| self.err("reading the event log", e))
    }

    /// Every event of an alarm, oldest first: its timeline.
    pub async fn alarm_events(&self, alarm: i64) -> Result<Vec<EventRow>, JournalError> {
        sqlx::query_as(select_events!(" WHERE alarm_id = ? ORDER BY seq"))
            .bind(alarm)
            .fetch_all(self.pool())
            .await
            .map_err(|e| self.err("reading an alarm's events", e))
    }

    /// Every delivery an alarm was owed, in the order they were planned.
    pub async fn alarm_deliveries(&self, alarm: i64) -> Result<Vec<Delivery>, JournalError> {
        let rows: Vec<DeliveryRow> =
            sqlx::query_as(select_deliveries!("WHERE alarm_id = ? ORDER BY id"))
                .bind(alarm)
                .fetch_all(self.pool())
                .await
                .map_err(|e| self.err("reading an alarm's deliveries", e))?;
        Ok(rows.into_iter().map(delivery).collect())
    }

    /// One event by its sequence number.
    pub async fn event(&self, seq: i64) -> Result<Option<EventRow>, JournalError> {
        sqlx::query_as(select_events!(" WHERE seq = ?"))
            .bind(seq)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| self.err("reading an event", e))
    }

    /// Audit entries about `target` (`alarm:3`, `evidence:alarm:3`, `event:17`…), oldest
    /// first: (time, person, origin, address, action, result).
    pub async fn audit_about(&self, target: &str) -> Result<Vec<AuditRow>, JournalError> {
        sqlx::query_as(
            "SELECT at_ms, user_name, origin, address, action, result FROM audit \
             WHERE target = ? ORDER BY id",
        )
        .bind(target)
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.err("reading the audit log", e))
    }

    /// Whether `user` confirmed reading the handover note of event `seq`.
    pub async fn has_read(&self, user: &str, seq: i64) -> Result<bool, JournalError> {
        let found: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM audit WHERE target = ? AND user_name = ? AND action = 'handover_read' \
             LIMIT 1",
        )
        .bind(format!("event:{seq}"))
        .bind(user)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| self.err("reading the audit log", e))?;
        Ok(found.is_some())
    }
}

/// One audit entry as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct AuditRow {
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// Who.
    pub user_name: String,
    /// From which way in.
    pub origin: String,
    /// From where exactly.
    pub address: Option<String>,
    /// What.
    pub action: String,
    /// How it ended.
    pub result: String,
}

impl Journal {
    /// For each of `alarms`, the channels owed a delivery about it, with the best state any
    /// of its deliveries reached there (`acknowledged` over `sent` over `pending`…): who
    /// was told, for the page.
    pub async fn told_about(
        &self,
        alarms: &[i64],
    ) -> Result<std::collections::BTreeMap<i64, Vec<(String, DeliveryState)>>, JournalError> {
        let mut out: std::collections::BTreeMap<i64, Vec<(String, DeliveryState)>> =
            Default::default();
        if alarms.is_empty() {
            return Ok(out);
        }
        let ids = serde_json::to_string(alarms).unwrap_or_default();
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT alarm_id, channel, \
             CASE MAX(CASE state WHEN 'acknowledged' THEN 4 WHEN 'sent' THEN 3 \
             WHEN 'pending' THEN 2 WHEN 'failed' THEN 1 ELSE 0 END) \
             WHEN 4 THEN 'acknowledged' WHEN 3 THEN 'sent' WHEN 2 THEN 'pending' \
             WHEN 1 THEN 'failed' ELSE 'skipped' END \
             FROM outbox WHERE alarm_id IN (SELECT value FROM json_each(?)) \
             GROUP BY alarm_id, channel ORDER BY alarm_id, MIN(id)",
        )
        .bind(ids)
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.err("reading deliveries", e))?;
        for (alarm, channel, state) in rows {
            out.entry(alarm)
                .or_default()
                .push((channel, DeliveryState::parse(&state)));
        }
        Ok(out)
    }
}
