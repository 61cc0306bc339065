//! Schema versions: a journal written by a newer picket is refused, an older one is backed
//! up and upgraded, one migration per transaction.

use sqlx::SqlitePool;
use sqlx::migrate::Migrator;
use std::path::Path;

use super::error::{JournalError, JournalErrorKind};

/// Every migration in `migrations/`, embedded at build time.
pub static MIGRATOR: Migrator = sqlx::migrate!();

/// The newest schema this build understands.
pub fn latest_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Versions already applied to the journal, oldest first (empty for a new file).
pub async fn applied_versions(pool: &SqlitePool, path: &Path) -> Result<Vec<i64>, JournalError> {
    let has_table: Option<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(pool)
    .await
    .map_err(|e| JournalError::from_sqlx(path, "reading the schema version", e))?;
    if has_table.is_none() {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await
            .map_err(|e| JournalError::from_sqlx(path, "reading the schema version", e))?;
    Ok(rows.into_iter().map(|(v,)| v).collect())
}

/// Brings the journal to the latest schema, refusing one that is newer.
pub async fn upgrade(pool: &SqlitePool, path: &Path) -> Result<(), JournalError> {
    let applied = applied_versions(pool, path).await?;
    let latest = latest_version();
    let current = applied.iter().copied().max().unwrap_or(0);
    if current > latest {
        return Err(JournalError::new(
            JournalErrorKind::SchemaTooNew,
            path,
            format!(
                "schema version {current} was written by a newer picket; this one understands \
                 up to {latest}. Install the newer picket again, or point journal.path at a \
                 backup made by this version"
            ),
        ));
    }
    if current == latest {
        return Ok(());
    }
    if current == 0 {
        tracing::info!(path = %path.display(), version = latest, "creating a new journal");
    } else {
        let backup = path.with_extension(format!("v{current}.bak"));
        tracing::warn!(
            path = %path.display(),
            from = current,
            to = latest,
            backup = %backup.display(),
            "upgrading the journal schema; a copy of the old file is kept as the backup"
        );
        let _ = std::fs::remove_file(&backup);
        sqlx::query("VACUUM INTO ?")
            .bind(backup.to_string_lossy().into_owned())
            .execute(pool)
            .await
            .map_err(|e| JournalError::from_sqlx(path, "backing up before the upgrade", e))?;
    }
    MIGRATOR.run(pool).await.map_err(|e| {
        JournalError::new(
            JournalErrorKind::Other,
            path,
            format!("upgrading the schema from version {current} to {latest} failed: {e}"),
        )
    })
}

/// Creates a journal at an older schema version, for upgrade tests.
#[doc(hidden)]
pub async fn create_at_version(
    pool: &SqlitePool,
    version: i64,
) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run_to(version, pool).await
}
