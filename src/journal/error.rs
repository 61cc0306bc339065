//! The journal layer's error: what went wrong, with the file it went wrong on and what
//! to do about it.

use std::path::{Path, PathBuf};

/// What kind of failure, so callers can react (retry on busy, raise trouble on full).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalErrorKind {
    /// Another process holds the write lock beyond the busy timeout.
    Busy,
    /// The file or its directory is read-only (SD card switched to read-only?).
    ReadOnly,
    /// The disk is full.
    Full,
    /// The file is not a SQLite database or is damaged.
    Corrupt,
    /// The journal was written by a newer picket.
    SchemaTooNew,
    /// Anything else.
    Other,
}

/// A journal failure.
#[derive(Debug, thiserror::Error)]
#[error("journal {}: {message}", path.display())]
pub struct JournalError {
    /// What kind of failure.
    pub kind: JournalErrorKind,
    /// The journal file.
    pub path: PathBuf,
    /// What happened and what to do.
    pub message: String,
    /// The underlying error, if any.
    #[source]
    pub source: Option<sqlx::Error>,
}

impl JournalError {
    /// A failure with no underlying database error.
    pub fn new(kind: JournalErrorKind, path: &Path, message: impl Into<String>) -> Self {
        JournalError {
            kind,
            path: path.to_path_buf(),
            message: message.into(),
            source: None,
        }
    }

    /// Classifies a database error by SQLite's result code.
    pub fn from_sqlx(path: &Path, doing: &str, err: sqlx::Error) -> Self {
        let code = err
            .as_database_error()
            .and_then(|d| d.code())
            .and_then(|c| c.parse::<i32>().ok())
            .map(|c| c & 0xff);
        let (kind, advice) = match code {
            Some(5) | Some(6) => (
                JournalErrorKind::Busy,
                "the database is locked by another process; is a second picket running?",
            ),
            Some(8) => (
                JournalErrorKind::ReadOnly,
                "the file or its directory is read-only; check the SD card and permissions",
            ),
            Some(13) => (
                JournalErrorKind::Full,
                "the disk is full; free space or move the journal",
            ),
            Some(11) | Some(26) => (
                JournalErrorKind::Corrupt,
                "the file is damaged or not a picket journal; restore from backup",
            ),
            _ => (JournalErrorKind::Other, ""),
        };
        let message = if advice.is_empty() {
            format!("{doing} failed: {err}")
        } else {
            format!("{doing} failed: {err} ({advice})")
        };
        JournalError {
            kind,
            path: path.to_path_buf(),
            message,
            source: Some(err),
        }
    }
}
