//! The single writer: commits the outcomes of a batch of engine inputs in one transaction
//! and extends the hash chain.

use sqlx::SqliteConnection;

use std::sync::Arc;

use super::batch::Batch;
use super::chain::{self, EventRow};
use super::outbox::{self, OutboxPlanner};
use super::shadow::{self, ShadowOutbox};
use super::{Journal, JournalError};
use crate::engine::{Alarm, AuditEntry, Event, Outcome};

/// An event as stored, with its sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct CommittedEvent {
    /// Position in the journal, from 1.
    pub seq: i64,
    /// The event.
    pub event: Event,
}

/// The only writer of a journal. Keeps the chain's head in memory so a commit needs no
/// extra read.
pub struct Writer {
    /// The journal written to.
    journal: Journal,
    /// Sequence number of the last committed event.
    head_seq: i64,
    /// Hash of the last committed event.
    head_hash: [u8; 32],
    /// Plans the deliveries each outcome owes; none without an escalation policy.
    planner: Option<Arc<dyn OutboxPlanner>>,
    /// Tells the outbox workers where the shadow is while the journal cannot be written.
    shadow: ShadowOutbox,
    /// Writes the shadow, from the first failed commit until one succeeds again.
    shadow_writer: Option<Box<Writer>>,
}

impl Writer {
    /// Takes the writer role for a journal.
    pub async fn new(journal: Journal) -> Result<Writer, JournalError> {
        let head: Option<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
                .fetch_optional(journal.pool())
                .await
                .map_err(|e| journal.err("reading the last event", e))?;
        let (head_seq, head_hash) = match head {
            Some((seq, hash)) => (seq, hash.try_into().unwrap_or(chain::GENESIS)),
            None => (0, chain::GENESIS),
        };
        Ok(Writer {
            journal,
            head_seq,
            head_hash,
            planner: None,
            shadow: ShadowOutbox::default(),
            shadow_writer: None,
        })
    }

    /// Where the outbox workers find the shadow while the journal cannot be written.
    pub fn shadow(&self) -> ShadowOutbox {
        self.shadow.clone()
    }

    /// Writes outbox rows planned by `planner` in every commit from now on.
    pub fn set_planner(&mut self, planner: Arc<dyn OutboxPlanner>) {
        self.planner = Some(planner);
    }

    /// The journal written to.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Stores the outcomes in one transaction. On success returns each outcome's events
    /// with their sequence numbers; on failure nothing was stored and the chain head is
    /// unchanged, so the same outcomes may be committed again later.
    pub async fn commit(
        &mut self,
        outcomes: &[&Outcome],
    ) -> Result<Vec<Vec<CommittedEvent>>, JournalError> {
        let mut conn = self.journal.acquire("committing").await?;
        match self.write(&mut conn, outcomes).await {
            Ok((committed, seq, hash)) => {
                self.head_seq = seq;
                self.head_hash = hash;
                if self.shadow_writer.take().is_some() {
                    self.shadow.set(None);
                }
                Ok(committed)
            }
            Err(e) => {
                // A failed statement or COMMIT (a full disk, an I/O error) can leave SQLite
                // inside the transaction, and sqlx then refuses every later BEGIN on that
                // connection. Never give it back to the pool: the next commit gets a
                // fresh connection, so the journal heals as soon as the disk does.
                conn.close_on_drop();
                Err(e)
            }
        }
    }

    /// The transaction of [`Writer::commit`]: the committed events and the new chain head.
    /// It goes to SQLite's thread as one batch, `BEGIN IMMEDIATE` to `COMMIT` (see
    /// [`Batch`]): an alarm's commit is one hand-over there, not one per statement.
    async fn write(
        &self,
        conn: &mut SqliteConnection,
        outcomes: &[&Outcome],
    ) -> Result<(Vec<Vec<CommittedEvent>>, i64, [u8; 32]), JournalError> {
        let mut batch = Batch::new();
        let (mut seq, mut hash) = (self.head_seq, self.head_hash);
        let mut committed = Vec::with_capacity(outcomes.len());
        // Event rows and sensor states are many (a flood) and go in a few multi-row
        // statements at the end; the rest is rare.
        let mut rows = Vec::new();
        let mut sensors = SensorRows::default();
        let now_ms = jiff::Timestamp::now().as_millisecond();
        for outcome in outcomes {
            let mut events = Vec::with_capacity(outcome.events.len());
            for event in &outcome.events {
                seq += 1;
                let row = row_of(seq, event);
                let next = chain::hash(&hash, &row);
                rows.push(ChainedRow {
                    row,
                    prev: hash,
                    hash: next,
                });
                hash = next;
                events.push(CommittedEvent {
                    seq,
                    event: event.clone(),
                });
            }
            sensors.add(outcome);
            write_state(&mut batch, outcome);
            if let Some(planner) = &self.planner {
                outbox::apply(&mut batch, &planner.plan(outcome, &events), now_ms);
            }
            committed.push(events);
        }
        insert_events(&mut batch, rows);
        sensors.write(&mut batch);
        let done = match &self.shadow_writer {
            None => batch.run_in_transaction(conn).await,
            // With a shadow outbox to reconcile (rare: the first commit after the journal
            // came back), the transaction goes in steps: what the shadow finished is read
            // once the write lock is held, so nothing it delivers while this waits for the
            // lock is missed, and the rows are counted as they are marked.
            Some(shadow_writer) => {
                let mut begin = Batch::new();
                begin.statement("BEGIN IMMEDIATE");
                begin
                    .run(conn)
                    .await
                    .map_err(|e| self.journal.err("starting a write", e))?;
                let finished = shadow_writer.journal.finished_deliveries().await?;
                async {
                    batch.run(conn).await?;
                    let marked = shadow::reconcile(conn, &finished, now_ms).await?;
                    tracing::info!(
                        marked,
                        made = finished.len(),
                        "deliveries made while the journal could not be written are recorded"
                    );
                    let mut commit = Batch::new();
                    commit.statement("COMMIT");
                    commit.run(conn).await
                }
                .await
            }
        };
        done.map_err(|e| self.journal.err("committing", e))?;
        Ok((committed, seq, hash))
    }

    /// Plans the deliveries of outcomes the journal could not take, in the shadow outbox,
    /// so they go out regardless. Call it once per outcome, in the order the outcomes will
    /// be committed later: their events get the sequence numbers (and so the message ids)
    /// that commit will give them. Does nothing without an escalation policy.
    pub async fn commit_to_shadow(&mut self, outcomes: &[&Outcome]) -> Result<(), JournalError> {
        if self.planner.is_none() {
            return Ok(());
        }
        let shadow_writer = match &mut self.shadow_writer {
            Some(w) => w,
            None => {
                let memory = Journal::open_memory().await?;
                match self.journal.copy_outbox_to(&memory).await {
                    Ok(copied) => tracing::warn!(
                        copied,
                        "journal unwritable: deliveries continue from a shadow outbox in memory"
                    ),
                    Err(e) => tracing::error!(
                        error = %e,
                        "journal unwritable and unreadable: new deliveries continue from a \
                         shadow outbox in memory; earlier ones wait for the journal"
                    ),
                }
                self.shadow.set(Some(memory.clone()));
                self.shadow_writer.insert(Box::new(Writer {
                    journal: memory,
                    head_seq: self.head_seq,
                    head_hash: self.head_hash,
                    planner: self.planner.clone(),
                    shadow: ShadowOutbox::default(),
                    shadow_writer: None,
                }))
            }
        };
        Box::pin(shadow_writer.commit(outcomes)).await.map(|_| ())
    }
}

/// The row for an event.
pub(super) fn row_of(seq: i64, event: &Event) -> EventRow {
    EventRow {
        seq,
        at_ms: event.at.0,
        kind: event.kind.as_str().to_string(),
        category: event.category.as_str().to_string(),
        code: event.code.map(|c| i64::from(c.0)),
        qualifier: i64::from(event.qualifier.digit()),
        area: event.area.clone(),
        zone: event.zone.clone(),
        zone_number: event.zone_number.map(i64::from),
        sensor: event.sensor.clone(),
        alarm_id: event.alarm.and_then(|a| i64::try_from(a).ok()),
        user_name: event.user.clone(),
        message_vi: event.message_vi.clone(),
        message_en: event.message_en.clone(),
        source_ref: event.source_ref.clone(),
    }
}

/// An event row with the hashes that chain it.
struct ChainedRow {
    row: EventRow,
    prev: [u8; 32],
    hash: [u8; 32],
}

/// Event rows per `INSERT`: 17 values each, well under SQLite's 32,766 variables.
const EVENT_ROWS_PER_INSERT: usize = 500;

/// Appends `rows`, in order, a few hundred to a statement. The rows' text moves into the
/// batch's values.
fn insert_events(batch: &mut Batch, rows: Vec<ChainedRow>) {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<ChainedRow> = rows.by_ref().take(EVENT_ROWS_PER_INSERT).collect();
        batch.rows(
            "INSERT INTO events (seq, at_ms, kind, category, code, qualifier, area, zone, \
             zone_number, sensor, alarm_id, user_name, message_vi, message_en, source_ref, \
             prev_hash, hash)",
            chunk.len(),
            17,
            "",
        );
        for ChainedRow { row, prev, hash } in chunk {
            batch
                .bind(row.seq)
                .bind(row.at_ms)
                .bind(row.kind)
                .bind(row.category)
                .bind(row.code)
                .bind(row.qualifier)
                .bind(row.area)
                .bind(row.zone)
                .bind(row.zone_number)
                .bind(row.sensor)
                .bind(row.alarm_id)
                .bind(row.user_name)
                .bind(row.message_vi)
                .bind(row.message_en)
                .bind(row.source_ref)
                .bind(prev.to_vec())
                .bind(hash.to_vec());
        }
    }
}

/// Sensor state rows of one transaction, the last of each sensor's kept: a state (and
/// when it was last heard), or only when it was last heard.
#[derive(Default)]
struct SensorRows {
    by_sensor: std::collections::BTreeMap<String, (Option<String>, Option<i64>)>,
}

impl SensorRows {
    /// The sensor states and last-heard times of `outcome`, over earlier ones.
    fn add(&mut self, outcome: &Outcome) {
        for sensor in &outcome.sensors {
            let json = serde_json::to_string(sensor).unwrap_or_default();
            self.by_sensor.insert(
                sensor.sensor.clone(),
                (Some(json), sensor.last_seen.map(|t| t.0)),
            );
        }
        for (sensor, at) in &outcome.seen {
            let entry = self.by_sensor.entry(sensor.clone()).or_default();
            entry.1 = Some(at.0);
        }
    }

    /// Writes them: states in one statement per few hundred, last-heard times likewise.
    fn write(self, batch: &mut Batch) {
        let (states, heard): (Vec<_>, Vec<_>) = self
            .by_sensor
            .into_iter()
            .partition(|(_, (json, _))| json.is_some());
        for chunk in states.chunks(EVENT_ROWS_PER_INSERT) {
            batch.rows(
                "INSERT INTO sensor_state (sensor, state_json, last_seen_ms)",
                chunk.len(),
                3,
                " ON CONFLICT(sensor) DO UPDATE SET state_json = excluded.state_json, \
                 last_seen_ms = excluded.last_seen_ms",
            );
            for (sensor, (json, seen)) in chunk {
                batch
                    .bind(sensor.as_str())
                    .bind(json.as_deref())
                    .bind(*seen);
            }
        }
        for chunk in heard.chunks(EVENT_ROWS_PER_INSERT) {
            batch.rows(
                "INSERT INTO sensor_state (sensor, state_json, last_seen_ms)",
                chunk.len(),
                3,
                " ON CONFLICT(sensor) DO UPDATE SET last_seen_ms = excluded.last_seen_ms",
            );
            for (sensor, (_, seen)) in chunk {
                batch.bind(sensor.as_str()).bind(None::<&str>).bind(*seen);
            }
        }
    }
}

fn write_state(batch: &mut Batch, outcome: &Outcome) {
    for alarm in &outcome.alarms {
        upsert_alarm(batch, alarm);
    }
    for entry in &outcome.audit {
        push_audit(batch, entry);
    }
    for area in &outcome.areas {
        let json = serde_json::to_string(area).unwrap_or_default();
        batch
            .statement(
                "INSERT INTO area_state (area, state_json) VALUES (?, ?) \
                 ON CONFLICT(area) DO UPDATE SET state_json = excluded.state_json",
            )
            .bind(&area.area)
            .bind(json);
    }
}

fn upsert_alarm(batch: &mut Batch, a: &Alarm) {
    batch
        .statement(
            "INSERT INTO alarms (id, category, code, area, zone, sensor, raised_at_ms, confirmed, \
             silent, cancelled, state, siren_until_ms, acknowledged_by, acknowledged_at_ms, \
             resolved_by, resolved_at_ms, resolution, note) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT(id) DO UPDATE SET confirmed = excluded.confirmed, \
             cancelled = excluded.cancelled, state = excluded.state, \
             siren_until_ms = excluded.siren_until_ms, acknowledged_by = excluded.acknowledged_by, \
             acknowledged_at_ms = excluded.acknowledged_at_ms, resolved_by = excluded.resolved_by, \
             resolved_at_ms = excluded.resolved_at_ms, resolution = excluded.resolution, \
             note = excluded.note",
        )
        .bind(i64::try_from(a.id).unwrap_or(i64::MAX))
        .bind(a.category.as_str())
        .bind(i64::from(a.code.0))
        .bind(&a.area)
        .bind(&a.zone)
        .bind(&a.sensor)
        .bind(a.raised_at.0)
        .bind(a.confirmed)
        .bind(a.silent)
        .bind(a.cancelled)
        .bind(a.state.as_str())
        .bind(a.siren_until.map(|t| t.0))
        .bind(&a.acknowledged_by)
        .bind(a.acknowledged_at.map(|t| t.0))
        .bind(&a.resolved_by)
        .bind(a.resolved_at.map(|t| t.0))
        .bind(a.resolution.map(|r| r.as_str()))
        .bind(&a.note);
}

/// Appends one audit entry (in a transaction of its own caller's).
pub(super) async fn insert_audit(
    conn: &mut SqliteConnection,
    e: &AuditEntry,
) -> Result<(), sqlx::Error> {
    let mut batch = Batch::new();
    push_audit(&mut batch, e);
    batch.run(conn).await
}

/// The statement appending one audit entry.
fn push_audit(batch: &mut Batch, e: &AuditEntry) {
    batch
        .statement(
            "INSERT INTO audit (at_ms, user_name, role, origin, action, target, result, address) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(e.at.0)
        .bind(&e.user)
        .bind(e.role.map_or("none", |r| r.as_str()))
        .bind(e.origin.as_str())
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.result)
        .bind(&e.address);
}
