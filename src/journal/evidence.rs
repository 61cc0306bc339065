//! Evidence files in the journal: each alarm clip's path, size and SHA-256, and when
//! retention deleted it and why.

use serde::Serialize;

use super::{Journal, JournalError};

/// An evidence file as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceFile {
    /// Row id.
    pub id: i64,
    /// The alarm it belongs to.
    pub alarm_id: i64,
    /// The camera it came from.
    pub camera: String,
    /// `clip` or `snapshot`.
    pub kind: String,
    /// Where it is (was) on disk.
    pub path: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// File size.
    pub bytes: i64,
    /// Playing time of a clip.
    pub duration_ms: Option<i64>,
    /// When it was written.
    pub created_at_ms: i64,
    /// When retention deleted it.
    pub deleted_at_ms: Option<i64>,
}

type EvidenceRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    i64,
    Option<i64>,
);

fn evidence_file(r: EvidenceRow) -> EvidenceFile {
    EvidenceFile {
        id: r.0,
        alarm_id: r.1,
        camera: r.2,
        kind: r.3,
        path: r.4,
        sha256: r.5,
        bytes: r.6,
        duration_ms: r.7,
        created_at_ms: r.8,
        deleted_at_ms: r.9,
    }
}

impl Journal {
    /// Records a file just written.
    pub async fn record_evidence(&self, file: &EvidenceFile) -> Result<i64, JournalError> {
        sqlx::query(
            "INSERT INTO evidence (alarm_id, camera, kind, path, sha256, bytes, duration_ms, \
             created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(file.alarm_id)
        .bind(&file.camera)
        .bind(&file.kind)
        .bind(&file.path)
        .bind(&file.sha256)
        .bind(file.bytes)
        .bind(file.duration_ms)
        .bind(file.created_at_ms)
        .execute(self.pool())
        .await
        .map(|r| r.last_insert_rowid())
        .map_err(|e| self.err("recording evidence", e))
    }

    /// Evidence of one alarm, or (with `None`) every file still kept, oldest first.
    pub async fn evidence(&self, alarm_id: Option<i64>) -> Result<Vec<EvidenceFile>, JournalError> {
        let rows: Vec<EvidenceRow> = sqlx::query_as(
            "SELECT id, alarm_id, camera, kind, path, sha256, bytes, duration_ms, created_at_ms, \
             deleted_at_ms FROM evidence \
             WHERE (? IS NULL AND deleted_at_ms IS NULL) OR alarm_id = ? ORDER BY id",
        )
        .bind(alarm_id)
        .bind(alarm_id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.err("reading evidence", e))?;
        Ok(rows.into_iter().map(evidence_file).collect())
    }

    /// Every file ever recorded, deleted ones included, oldest first: what an audit checks.
    pub async fn all_evidence(&self) -> Result<Vec<EvidenceFile>, JournalError> {
        let rows: Vec<EvidenceRow> = sqlx::query_as(
            "SELECT id, alarm_id, camera, kind, path, sha256, bytes, duration_ms, created_at_ms, \
             deleted_at_ms FROM evidence ORDER BY id",
        )
        .fetch_all(self.pool())
        .await
        .map_err(|e| self.err("reading evidence", e))?;
        Ok(rows.into_iter().map(evidence_file).collect())
    }

    /// Records that retention deleted a file, and why.
    pub async fn evidence_deleted(
        &self,
        id: i64,
        at_ms: i64,
        why: &str,
    ) -> Result<(), JournalError> {
        sqlx::query("UPDATE evidence SET deleted_at_ms = ?, deleted_why = ? WHERE id = ?")
            .bind(at_ms)
            .bind(why)
            .bind(id)
            .execute(self.pool())
            .await
            .map(|_| ())
            .map_err(|e| self.err("recording an evidence deletion", e))
    }
}
