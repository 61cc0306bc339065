//! The shadow outbox: deliveries planned in memory while the journal cannot be written.
//!
//! Life safety outranks bookkeeping. When a commit fails (disk full, file locked, I/O
//! error) an alarm must still reach the receiving centre and the security team, not wait
//! for the journal. The writer then plans the same outcomes, with the same policy, into an
//! in-memory SQLite database with the journal's schema, giving their events the sequence
//! numbers they will get once the journal takes them. So every message id in the shadow
//! is the id the journal's own row will carry, and a recipient can tell a repeat.
//!
//! The shadow starts as a copy of the journal's rows that may still matter (pending rows
//! and every row of an unresolved alarm), so acknowledgements and cancels reach whoever
//! was told before the outage. Workers drain the shadow while it exists. Once the journal
//! is writable again the backlog is committed, the deliveries the shadow made are marked
//! done in the journal (matched by message id and notice, so a row is never marked done
//! for a notice that did not go), and the shadow is dropped.

use sqlx::SqliteConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use super::outbox::{Delivery, DeliveryRow, delivery, select_deliveries};
use super::{Journal, JournalError, schema};

/// Where outbox workers find the shadow while the journal cannot be written. Shared by the
/// writer (which creates and drops the shadow) and every worker.
#[derive(Clone, Default)]
pub struct ShadowOutbox {
    current: Arc<RwLock<Option<Journal>>>,
}

impl ShadowOutbox {
    /// The shadow, while the journal cannot be written; `None` otherwise.
    pub fn current(&self) -> Option<Journal> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(super) fn set(&self, shadow: Option<Journal>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = shadow;
    }
}

impl Journal {
    /// A new, empty journal in memory, for the shadow outbox. One connection, kept open for
    /// the shadow's life (each connection to `:memory:` is a database of its own).
    pub(super) async fn open_memory() -> Result<Journal, JournalError> {
        let path = PathBuf::from(":memory:");
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(SqliteConnectOptions::new().in_memory(true))
            .await
            .map_err(|e| JournalError::from_sqlx(&path, "opening the shadow outbox", e))?;
        schema::upgrade(&pool, &path).await?;
        Ok(Journal {
            pool,
            path,
            code_salt: Default::default(),
        })
    }

    /// Copies the rows that may still matter into `shadow`, keeping their ids. The newest
    /// row is always copied, so the shadow numbers new rows as the journal will (a DC-09
    /// sequence number is taken from the row id). Returns how many.
    pub(super) async fn copy_outbox_to(&self, shadow: &Journal) -> Result<usize, JournalError> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(select_deliveries!(
            "WHERE state = 'pending' OR alarm_id IN \
             (SELECT id FROM alarms WHERE state <> 'resolved') \
             OR id = (SELECT MAX(id) FROM outbox) ORDER BY id"
        ))
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.err("reading the outbox for the shadow", e))?;
        let copied = rows.len();
        let mut conn = shadow.acquire("filling the shadow outbox").await?;
        for d in rows.into_iter().map(delivery) {
            insert_copy(&mut conn, &d)
                .await
                .map_err(|e| shadow.err("filling the shadow outbox", e))?;
        }
        Ok(copied)
    }

    /// Deliveries that are no longer pending (delivered, failed, skipped).
    pub(super) async fn finished_deliveries(&self) -> Result<Vec<Delivery>, JournalError> {
        let rows: Vec<DeliveryRow> =
            sqlx::query_as(select_deliveries!("WHERE state != 'pending' ORDER BY id"))
                .fetch_all(self.pool())
                .await
                .map_err(|e| self.err("reading the shadow outbox", e))?;
        Ok(rows.into_iter().map(delivery).collect())
    }
}

async fn insert_copy(conn: &mut SqliteConnection, d: &Delivery) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO outbox (id, message_id, channel, alarm_id, event_seq, tier, due_at_ms, \
         state, attempts, last_error, payload_json, created_at_ms, updated_at_ms, \
         delivered_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(d.id)
    .bind(&d.message_id)
    .bind(&d.channel)
    .bind(d.alarm_id)
    .bind(d.event_seq)
    .bind(i64::from(d.tier))
    .bind(d.due_at_ms)
    .bind(d.state.as_str())
    .bind(i64::from(d.attempts))
    .bind(&d.last_error)
    .bind(&d.payload_json)
    .bind(d.due_at_ms)
    .bind(d.due_at_ms)
    .bind(d.delivered_at_ms)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Marks done in the journal what the shadow finished: the row with the same message id
/// and the same notice, still pending. Returns how many rows were marked.
pub(super) async fn reconcile(
    conn: &mut SqliteConnection,
    finished: &[Delivery],
    now_ms: i64,
) -> Result<u64, sqlx::Error> {
    let mut marked = 0;
    for d in finished {
        marked += sqlx::query(
            "UPDATE outbox SET state = ?, attempts = MAX(attempts, ?), last_error = ?, \
             delivered_at_ms = ?, updated_at_ms = ? \
             WHERE message_id = ? AND payload_json = ? AND state = 'pending'",
        )
        .bind(d.state.as_str())
        .bind(i64::from(d.attempts))
        .bind(&d.last_error)
        .bind(d.delivered_at_ms)
        .bind(now_ms)
        .bind(&d.message_id)
        .bind(&d.payload_json)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(marked)
}
