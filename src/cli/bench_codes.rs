//! `picket bench --codes`: how long checking a code typed at a keypad (the page, the MQTT
//! command topic, an SMS) takes with 50 people, against the same with 1 person (the
//! baseline), in the same run. A wrong code is timed: the worst case, and what someone
//! trying codes makes the gateway do. The third row is the 50 people as picket kept them
//! before schema 7's code index: every person's hashes checked in turn.

use std::path::Path;
use std::time::{Duration, Instant};

use super::bench::{machine, percentile};
use crate::engine::{Role, Timestamp};
use crate::journal::Journal;

/// Wrong codes timed per row, the median reported.
const CHECKS: usize = 5;

/// A journal with `people` guards, each with a code and a duress code.
async fn journal_with(dir: &Path, name: &str, people: usize) -> Result<Journal, String> {
    let journal = Journal::open(&dir.join(format!("{name}.db")))
        .await
        .map_err(|e| e.to_string())?;
    for n in 0..people {
        journal
            .add_user(
                &format!("guard{n}"),
                Role::Guard,
                &format!("{:06}", 100_000 + n * 7),
                Some(&format!("{:06}", 900_000 + n * 7)),
                "bench",
                Timestamp(0),
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(journal)
}

/// The median time of [`CHECKS`] wrong codes.
async fn wrong_code(journal: &Journal) -> Result<Duration, String> {
    let mut times = Vec::with_capacity(CHECKS);
    for _ in 0..CHECKS {
        let start = Instant::now();
        let found = journal
            .find_by_code("555555")
            .await
            .map_err(|e| e.to_string())?;
        times.push(start.elapsed());
        if found.is_some() {
            return Err("the wrong code was taken".into());
        }
    }
    times.sort();
    Ok(percentile(&times, 0.5))
}

/// Runs the benchmark and prints a Markdown table.
pub async fn run(dir: &Path) -> Result<(), String> {
    let one = journal_with(dir, "one", 1).await?;
    let fifty = journal_with(dir, "fifty", 50).await?;
    let baseline = wrong_code(&one).await?;
    let indexed = wrong_code(&fifty).await?;
    sqlx::query("UPDATE users SET code_tag = NULL, duress_tag = NULL")
        .execute(fifty.pool())
        .await
        .map_err(|e| e.to_string())?;
    let unindexed = wrong_code(&fifty).await?;
    println!("{}", machine());
    println!(
        "A wrong code checked (argon2id, the crate's default parameters), median of {CHECKS}\n"
    );
    println!("| people | time | ratio to 1 person |");
    println!("|---|---:|---:|");
    for (name, t) in [
        ("1 (baseline)", baseline),
        ("50, code index", indexed),
        ("50, each hash in turn (before schema 7)", unindexed),
    ] {
        println!(
            "| {name} | {:.1} ms | {:.2}× |",
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() / baseline.as_secs_f64()
        );
    }
    Ok(())
}
