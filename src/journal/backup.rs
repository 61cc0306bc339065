//! Copies of the journal: `picket backup` takes one from the live file while picket writes
//! (SQLite's `VACUUM INTO` reads one consistent snapshot, so the copy is whole and never
//! blocks the writer for longer than a read), and `picket restore` puts one back in place
//! with the daemon stopped, keeping the journal it replaces.

use std::path::{Path, PathBuf};

use super::{Journal, JournalError, JournalErrorKind};

impl Journal {
    /// Writes a consistent copy of the journal to `to`, which must not exist yet.
    pub async fn backup_to(&self, to: &Path) -> Result<(), JournalError> {
        if to.exists() {
            return Err(JournalError::new(
                JournalErrorKind::Other,
                to,
                "already exists; a backup never overwrites a file",
            ));
        }
        let target = to.to_str().ok_or_else(|| {
            JournalError::new(JournalErrorKind::Other, to, "the path is not UTF-8")
        })?;
        let mut conn = self.acquire("backing up").await?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&mut *conn)
            .await
            .map_err(|e| JournalError::from_sqlx(to, "writing the backup", e))?;
        let file = std::fs::File::open(to)
            .map_err(|e| JournalError::new(JournalErrorKind::Other, to, e.to_string()))?;
        file.sync_all()
            .map_err(|e| JournalError::new(JournalErrorKind::Other, to, e.to_string()))
    }
}

/// `path` with `suffix` appended to its file name (`journal.db` → `journal.db-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Puts the copy `from` in place of the journal at `live`, which is kept beside it as
/// `<name>.before-restore-<stamp>` (with its `-wal` and `-shm`). Returns where the old
/// journal went, if there was one. The daemon must be stopped.
pub fn restore(from: &Path, live: &Path, stamp: &str) -> Result<Option<PathBuf>, JournalError> {
    let io = |path: &Path, e: std::io::Error| {
        JournalError::new(JournalErrorKind::Other, path, e.to_string())
    };
    // The copy goes next to the journal first, synced, so the swap is one rename.
    let incoming = with_suffix(live, ".restoring");
    std::fs::copy(from, &incoming).map_err(|e| io(from, e))?;
    std::fs::File::open(&incoming)
        .and_then(|f| f.sync_all())
        .map_err(|e| io(&incoming, e))?;
    let kept = if live.exists() {
        let kept = with_suffix(live, &format!(".before-restore-{stamp}"));
        for suffix in ["", "-wal", "-shm"] {
            let (old, new) = (with_suffix(live, suffix), with_suffix(&kept, suffix));
            if old.exists() {
                std::fs::rename(&old, &new).map_err(|e| io(&old, e))?;
            }
        }
        Some(kept)
    } else {
        None
    };
    std::fs::rename(&incoming, live).map_err(|e| io(live, e))?;
    if let Some(dir) = live.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(dir, e))?;
    }
    Ok(kept)
}
