//! gammu-smsd's SQL backend on SQLite, as picket uses it: messages queued in its `outbox`
//! (parts in `outbox_multipart`), their fate read from `sentitems`, replies read from
//! `inbox`, the modem's health from `phones`.
//!
//! Every message picket queues carries a `CreatorID` made from the outbox row's message id
//! and the recipient, and is queued only when no message of that `CreatorID` is waiting or
//! sent already: a retry or a restart never hands gammu-smsd the same message twice. The
//! database is gammu-smsd's (schema version 17, Gammu 1.42); picket never creates or
//! migrates it, and keeps its transactions short so gammu-smsd is not kept waiting.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use super::text::Part;

/// The schema version of gammu-smsd's tables this code reads and writes.
pub const SCHEMA_VERSION: i64 = 17;

/// gammu-smsd's database.
#[derive(Clone)]
pub struct GammuDb {
    /// The file, for messages.
    path: PathBuf,
    /// A small pool: one writer at a time anyway.
    pool: SqlitePool,
    /// gammu-smsd's `PhoneID`, when set: messages are queued for it, and it is the phone
    /// whose health is read.
    phone_id: Option<String>,
}

/// Where a message stands with gammu-smsd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendStatus {
    /// Not queued.
    Unknown,
    /// Queued, or some parts sent and the rest waiting.
    Waiting,
    /// Every part transmitted; `delivered` when every part's delivery report says so.
    Sent {
        /// The network confirmed delivery of every part.
        delivered: bool,
    },
    /// gammu-smsd gave up: its status and error code.
    Failed(String),
}

/// The modem as gammu-smsd last reported it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PhoneStatus {
    /// Seconds since gammu-smsd last refreshed its status (it writes a deadline ten
    /// seconds ahead each time).
    pub age_s: i64,
    /// Network code (`452 04`), empty or `ERROR` when not registered.
    pub net_code: String,
    /// Network name (`Viettel`).
    pub net_name: String,
    /// Signal strength, percent; -1 unknown.
    pub signal_percent: i64,
    /// Battery, percent; -1 unknown (USB sticks have none).
    pub battery_percent: i64,
    /// Messages sent since gammu-smsd started.
    pub sent: i64,
    /// Messages received since gammu-smsd started.
    pub received: i64,
}

impl PhoneStatus {
    /// Registered on a network.
    pub fn registered(&self) -> bool {
        !self.net_code.is_empty() && self.net_code != "ERROR" && self.signal_percent != 0
    }
}

/// A message gammu-smsd received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// Its row.
    pub id: i64,
    /// Who sent it, as the network gave it.
    pub sender: String,
    /// Its text.
    pub text: String,
}

/// What went wrong talking to the database, naming the file.
pub type GammuError = String;

impl GammuDb {
    /// gammu-smsd's database at `path`, opened when first used; [`GammuDb::check`] says
    /// whether it is one picket can speak to.
    pub fn new(path: &Path, phone_id: Option<String>) -> GammuDb {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(false)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_lazy_with(options);
        GammuDb {
            path: path.to_path_buf(),
            pool,
            phone_id,
        }
    }

    /// The database exists and has gammu-smsd's tables at [`SCHEMA_VERSION`].
    pub async fn check(&self) -> Result<(), GammuError> {
        let version: (i64,) = sqlx::query_as("SELECT Version FROM gammu")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.err("reading the schema version", e))?;
        if version.0 != SCHEMA_VERSION {
            return Err(format!(
                "{}: gammu-smsd tables are version {}, picket speaks version {SCHEMA_VERSION} \
                 (Gammu 1.42); create the database from that Gammu's sqlite.sql",
                self.path.display(),
                version.0
            ));
        }
        Ok(())
    }

    fn err(&self, doing: &str, e: sqlx::Error) -> GammuError {
        format!("gammu-smsd database {}: {doing}: {e}", self.path.display())
    }

    /// Queues `parts` for `number` under `creator` unless a message of that creator is
    /// waiting or sent already; true when queued now.
    pub async fn queue(
        &self,
        creator: &str,
        number: &str,
        parts: &[Part],
        unicode: bool,
        report: bool,
    ) -> Result<bool, GammuError> {
        let Some((first, rest)) = parts.split_first() else {
            return Ok(false);
        };
        let coding = if unicode {
            "Unicode_No_Compression"
        } else {
            "Default_No_Compression"
        };
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.err("queueing a message", e))?;
        let known: Option<(i64,)> = sqlx::query_as(
            "SELECT 1 FROM outbox WHERE CreatorID = ?1 \
             UNION ALL SELECT 1 FROM sentitems WHERE CreatorID = ?1 LIMIT 1",
        )
        .bind(creator)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| self.err("looking for a queued message", e))?;
        if known.is_some() {
            return Ok(false);
        }
        // gammu-smsd compares these with its local time; the column defaults are UTC.
        let id = sqlx::query(
            "INSERT INTO outbox (InsertIntoDB, SendingDateTime, SendingTimeOut, \
             DestinationNumber, TextDecoded, Coding, UDH, MultiPart, CreatorID, \
             DeliveryReport, SenderID) \
             VALUES (datetime('now', 'localtime'), datetime('now', 'localtime', '-1 seconds'), \
             datetime('now', 'localtime', '-1 seconds'), ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(number)
        .bind(&first.text)
        .bind(coding)
        .bind(&first.udh)
        .bind(if rest.is_empty() { "false" } else { "true" })
        .bind(creator)
        .bind(if report { "yes" } else { "no" })
        .bind(self.phone_id.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(|e| self.err("queueing a message", e))?
        .last_insert_rowid();
        for (i, part) in rest.iter().enumerate() {
            sqlx::query(
                "INSERT INTO outbox_multipart (ID, SequencePosition, TextDecoded, Coding, UDH) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(i64::try_from(i + 2).unwrap_or(i64::MAX))
            .bind(&part.text)
            .bind(coding)
            .bind(&part.udh)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.err("queueing a message part", e))?;
        }
        tx.commit()
            .await
            .map_err(|e| self.err("queueing a message", e))?;
        Ok(true)
    }

    /// Where the message of `creator` with `parts` parts stands.
    pub async fn status(&self, creator: &str, parts: usize) -> Result<SendStatus, GammuError> {
        let waiting: Option<(i64,)> = sqlx::query_as("SELECT ID FROM outbox WHERE CreatorID = ?")
            .bind(creator)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err("reading the outbox", e))?;
        if waiting.is_some() {
            return Ok(SendStatus::Waiting);
        }
        let sent: Vec<(String, i64)> = sqlx::query_as(
            "SELECT Status, StatusError FROM sentitems WHERE CreatorID = ? \
             ORDER BY SequencePosition",
        )
        .bind(creator)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err("reading sent messages", e))?;
        if sent.is_empty() {
            return Ok(SendStatus::Unknown);
        }
        if let Some((status, error)) = sent
            .iter()
            .find(|(s, _)| matches!(s.as_str(), "SendingError" | "Error"))
        {
            return Ok(SendStatus::Failed(format!(
                "gammu-smsd: {status} (error {error})"
            )));
        }
        if sent.len() < parts {
            return Ok(SendStatus::Waiting);
        }
        Ok(SendStatus::Sent {
            delivered: sent.iter().all(|(s, _)| s == "DeliveryOK"),
        })
    }

    /// Sets a failed message aside (its rows stay, under another creator), so it can be
    /// queued again.
    pub async fn set_aside(&self, creator: &str) -> Result<(), GammuError> {
        sqlx::query(
            "UPDATE sentitems SET CreatorID = CreatorID || ' failed ' || ID \
             WHERE CreatorID = ?",
        )
        .bind(creator)
        .execute(&self.pool)
        .await
        .map_err(|e| self.err("setting a failed message aside", e))?;
        Ok(())
    }

    /// The modem as gammu-smsd last reported it; `None` when gammu-smsd never wrote its
    /// row (it is not running, or never was).
    pub async fn phone(&self) -> Result<Option<PhoneStatus>, GammuError> {
        type Row = (f64, Option<String>, Option<String>, i64, i64, i64, i64);
        let row: Option<Row> = sqlx::query_as(
            "SELECT (julianday('now', 'localtime') - julianday(TimeOut)) * 86400.0 + 10.0, \
             NetCode, NetName, Signal, Battery, Sent, Received FROM phones \
             WHERE ?1 IS NULL OR ID = ?1 ORDER BY TimeOut DESC LIMIT 1",
        )
        .bind(self.phone_id.as_deref())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.err("reading the phone's status", e))?;
        Ok(row.map(
            |(age, net_code, net_name, signal, battery, sent, received)| PhoneStatus {
                // Seconds, rounded; a clock step can make it negative, which reads as fresh.
                age_s: age.round().clamp(-1e9, 1e9) as i64,
                net_code: net_code.unwrap_or_default(),
                net_name: net_name.unwrap_or_default(),
                signal_percent: signal,
                battery_percent: battery,
                sent,
                received,
            },
        ))
    }

    /// Received messages not yet read by picket, oldest first, at most `limit`.
    pub async fn unread(&self, limit: u32) -> Result<Vec<Incoming>, GammuError> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT ID, SenderNumber, TextDecoded FROM inbox \
             WHERE Processed = 'false' AND (?1 IS NULL OR RecipientID = ?1) \
             ORDER BY ID LIMIT ?2",
        )
        .bind(self.phone_id.as_deref())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err("reading received messages", e))?;
        Ok(rows
            .into_iter()
            .map(|(id, sender, text)| Incoming { id, sender, text })
            .collect())
    }

    /// Marks a received message read by picket.
    pub async fn mark_processed(&self, id: i64) -> Result<(), GammuError> {
        sqlx::query("UPDATE inbox SET Processed = 'true' WHERE ID = ?")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| self.err("marking a received message", e))?;
        Ok(())
    }
}
