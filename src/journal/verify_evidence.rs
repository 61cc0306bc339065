//! Checks the evidence files against the hash chain: every clip and snapshot the journal
//! lists must have its SHA-256 in a chained `evidence_recorded` event, every chained one
//! must still be listed, and every file still kept must hash to what the chain holds. A
//! clip edited, swapped or deleted outside retention is named, with what is wrong.

use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::PathBuf;

use super::{EvidenceFile, Journal, JournalError};

/// One evidence file that does not fit the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceProblem {
    /// The alarm it belongs to.
    pub alarm: i64,
    /// The file, as recorded (or the SHA-256 the chain holds, when no file is recorded).
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

/// What the evidence check found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EvidenceReport {
    /// Files recorded (deleted ones included).
    pub listed: u64,
    /// Files read back and found to match the chain.
    pub matched: u64,
    /// Everything that does not fit.
    pub problems: Vec<EvidenceProblem>,
}

/// The chain's evidence events, each file named by (alarm, SHA-256).
#[derive(Default)]
struct Chained {
    /// Files whose writing is chained.
    recorded: BTreeSet<(i64, String)>,
    /// Files whose deletion is chained.
    deleted: BTreeSet<(i64, String)>,
}

async fn chained(journal: &Journal) -> Result<Chained, JournalError> {
    let rows: Vec<(String, Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT kind, alarm_id, source_ref FROM events \
         WHERE kind IN ('evidence_recorded', 'evidence_deleted') ORDER BY seq",
    )
    .fetch_all(journal.pool())
    .await
    .map_err(|e| journal.err("reading evidence events", e))?;
    let mut chain = Chained::default();
    for (kind, alarm, source_ref) in rows {
        let (Some(alarm), Some(sha)) = (
            alarm,
            source_ref.and_then(|r| r.strip_prefix("sha256:").map(str::to_string)),
        ) else {
            continue;
        };
        if kind == "evidence_recorded" {
            chain.recorded.insert((alarm, sha));
        } else {
            chain.deleted.insert((alarm, sha));
        }
    }
    Ok(chain)
}

/// The SHA-256 of a file, read in pieces on a blocking thread.
async fn hash_file(path: PathBuf) -> Result<String, std::io::Error> {
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut file = std::fs::File::open(&path)?;
        let mut hasher = Sha256::new();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match file.read(&mut buffer)? {
                0 => return Ok(hex::encode(hasher.finalize())),
                n => hasher.update(&buffer[..n]),
            }
        }
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Checks one listed file against the chain.
async fn check(file: &EvidenceFile, chain: &Chained) -> Result<(), String> {
    let key = (file.alarm_id, file.sha256.clone());
    if !chain.recorded.contains(&key) {
        return Err(format!(
            "its SHA-256 {} is not in the hash chain (the list was altered, or the file was \
             recorded while the journal could not be written)",
            file.sha256
        ));
    }
    if file.deleted_at_ms.is_some() {
        return if chain.deleted.contains(&key) {
            Ok(())
        } else {
            Err("marked deleted, but no deletion is in the hash chain".into())
        };
    }
    match hash_file(PathBuf::from(&file.path)).await {
        Ok(now) if now == file.sha256 => Ok(()),
        Ok(now) => Err(format!(
            "altered: its SHA-256 is now {now}, the hash chain holds {}",
            file.sha256
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err("missing: deleted, but not by retention".into())
        }
        Err(e) => Err(format!("cannot be read: {e}")),
    }
}

/// Checks every evidence file the journal lists against the hash chain, and every file
/// the chain records against the list. Run after [`super::verify`] has found the chain
/// itself intact.
pub async fn verify_evidence(journal: &Journal) -> Result<EvidenceReport, JournalError> {
    let chain = chained(journal).await?;
    let files = journal.all_evidence().await?;
    let mut report = EvidenceReport {
        listed: files.len() as u64,
        ..EvidenceReport::default()
    };
    let mut listed = BTreeSet::new();
    for file in &files {
        listed.insert((file.alarm_id, file.sha256.clone()));
        match check(file, &chain).await {
            Ok(()) if file.deleted_at_ms.is_none() => report.matched += 1,
            Ok(()) => {}
            Err(problem) => report.problems.push(EvidenceProblem {
                alarm: file.alarm_id,
                path: file.path.clone(),
                problem,
            }),
        }
    }
    for (alarm, sha) in chain.recorded.difference(&listed) {
        report.problems.push(EvidenceProblem {
            alarm: *alarm,
            path: format!("sha256:{sha}"),
            problem: "in the hash chain but no longer in the evidence list".into(),
        });
    }
    Ok(report)
}
