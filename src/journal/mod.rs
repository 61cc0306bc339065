//! The journal: one SQLite file holding history (hash-chained events), alarms, the audit
//! log, users, the engine's state for restarts, and the delivery outbox.
//!
//! The engine task is its only writer: [`Writer::commit`] stores the outcomes of a batch
//! of inputs in one `BEGIN IMMEDIATE` transaction with `synchronous=FULL`, and only after
//! it returns may anything act on them (commit before effect).

pub mod backup;
mod batch;
mod chain;
mod error;
mod evidence;
mod log_query;
pub mod outbox;
mod reader;
pub mod schema;
mod shadow;
pub mod tokens;
pub mod users;
mod verify;
mod verify_evidence;
mod writer;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use chain::EventRow;
pub use error::{JournalError, JournalErrorKind};
pub use evidence::EvidenceFile;
pub use log_query::{AuditRow, EventFilter};
pub use outbox::{Delivery, DeliveryState, NewDelivery, OutboxOp, OutboxPlanner, QueueStats};
pub use shadow::ShadowOutbox;
pub use verify::{Broken, VerifyReport, verify};
pub use verify_evidence::{EvidenceProblem, EvidenceReport, verify_evidence};
pub use writer::{CommittedEvent, Writer};

/// An open journal.
#[derive(Clone)]
pub struct Journal {
    /// Connections to the file.
    pool: SqlitePool,
    /// The file, for messages.
    path: PathBuf,
    /// The code index's salt, read once (it never changes): see [`users`].
    code_salt: std::sync::Arc<tokio::sync::OnceCell<Vec<u8>>>,
}

/// Connection options every picket connection uses.
fn options(path: &Path, create: bool) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true)
}

impl Journal {
    /// Opens (creating if needed) and upgrades the journal, then proves it is writable.
    pub async fn open(path: &Path) -> Result<Journal, JournalError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                JournalError::new(
                    JournalErrorKind::ReadOnly,
                    path,
                    format!("cannot create directory {}: {e}", dir.display()),
                )
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options(path, true))
            .await
            .map_err(|e| JournalError::from_sqlx(path, "opening", e))?;
        schema::upgrade(&pool, path).await?;
        let journal = Journal {
            pool,
            path: path.to_path_buf(),
            code_salt: Default::default(),
        };
        journal.prove_writable().await?;
        Ok(journal)
    }

    /// Opens an existing journal without creating or upgrading it (verification, reports).
    pub async fn open_existing(path: &Path) -> Result<Journal, JournalError> {
        if !path.exists() {
            return Err(JournalError::new(
                JournalErrorKind::Other,
                path,
                "no such file",
            ));
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options(path, false))
            .await
            .map_err(|e| JournalError::from_sqlx(path, "opening", e))?;
        Ok(Journal {
            pool,
            path: path.to_path_buf(),
            code_salt: Default::default(),
        })
    }

    async fn prove_writable(&self) -> Result<(), JournalError> {
        let mut conn = self.acquire("checking the journal is writable").await?;
        let tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.err("checking the journal is writable", e))?;
        tx.commit()
            .await
            .map_err(|e| self.err("checking the journal is writable", e))
    }

    async fn acquire(
        &self,
        doing: &str,
    ) -> Result<sqlx::pool::PoolConnection<sqlx::Sqlite>, JournalError> {
        self.pool.acquire().await.map_err(|e| self.err(doing, e))
    }

    fn err(&self, doing: &str, e: sqlx::Error) -> JournalError {
        JournalError::from_sqlx(&self.path, doing, e)
    }

    /// The pool, for readers such as the status page.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes every connection (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
