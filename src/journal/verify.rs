//! Walks the hash chain and reports the first row that does not fit.

use super::chain::{self, EventRow};
use super::{Journal, JournalError};

/// The first place the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// Sequence number of the first row that does not fit.
    pub seq: i64,
    /// Why.
    pub reason: String,
}

/// Result of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Rows checked.
    pub checked: u64,
    /// The first break, if any.
    pub broken: Option<Broken>,
}

#[derive(sqlx::FromRow)]
struct ChainRow {
    #[sqlx(flatten)]
    row: EventRow,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

/// Verifies the whole chain, a page at a time so memory stays flat on a large journal.
pub async fn verify(journal: &Journal) -> Result<VerifyReport, JournalError> {
    const PAGE: i64 = 2000;
    let mut expected_prev = chain::GENESIS.to_vec();
    let mut expected_seq = 1;
    let mut checked = 0;
    loop {
        let page: Vec<ChainRow> = sqlx::query_as(
            "SELECT seq, at_ms, kind, category, code, qualifier, area, zone, zone_number, \
             sensor, alarm_id, user_name, message_vi, message_en, source_ref, prev_hash, hash \
             FROM events WHERE seq >= ? ORDER BY seq LIMIT ?",
        )
        .bind(expected_seq)
        .bind(PAGE)
        .fetch_all(journal.pool())
        .await
        .map_err(|e| journal.err("reading events", e))?;
        if page.is_empty() {
            return Ok(VerifyReport {
                checked,
                broken: None,
            });
        }
        for r in page {
            let seq = r.row.seq;
            if seq != expected_seq {
                return Ok(VerifyReport {
                    checked,
                    broken: Some(Broken {
                        seq: expected_seq,
                        reason: format!("row is missing (deleted?); the next row present is {seq}"),
                    }),
                });
            }
            let broken = |reason: String| {
                Ok(VerifyReport {
                    checked,
                    broken: Some(Broken { seq, reason }),
                })
            };
            if r.prev_hash != expected_prev {
                return broken("its link to the previous row does not match (row removed or inserted before it?)".to_string());
            }
            let computed = chain::hash(&r.prev_hash, &r.row);
            if r.hash != computed {
                return broken("its contents do not match its hash (row altered)".to_string());
            }
            expected_prev = r.hash;
            expected_seq += 1;
            checked += 1;
        }
    }
}
