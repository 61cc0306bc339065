//! `picket bench --report`: how long and how much memory `picket report` takes for an
//! assessment year on a journal of 1,000,000 events (PDF, HTML and CSV, the hash chain
//! verified over the whole journal), against a baseline in the same run on the same file:
//! one `SELECT count(*)` pass over the events table. Each is a child process, measured by
//! its own wall time and peak resident memory (`wait4`'s `ru_maxrss`).

use std::path::Path;
use std::time::{Duration, Instant};

use super::sample_history::write_sample_history_every;
use crate::engine::{Site, Timestamp};
use crate::journal::Journal;

/// Events in the journal.
const EVENTS: usize = 1_000_000;
/// Runs of each, the median reported.
const RUNS: usize = 3;

/// One child's wall time and peak resident memory, KiB.
fn measure(cmd: &mut std::process::Command) -> Result<(Duration, i64), String> {
    let started = Instant::now();
    let child = cmd
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = libc::pid_t::try_from(child.id()).map_err(|e| e.to_string())?;
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills; the child is ours and not yet
    // reaped (its `Child` is only dropped, never waited on).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let took = started.elapsed();
    drop(child);
    if reaped != pid || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!("{cmd:?} failed (status {status})"));
    }
    Ok((took, usage.ru_maxrss))
}

fn median(mut runs: Vec<(Duration, i64)>) -> (Duration, i64) {
    runs.sort();
    let peak = runs.iter().map(|r| r.1).max().unwrap_or(0);
    (
        runs.get(runs.len() / 2).map_or(Duration::ZERO, |r| r.0),
        peak,
    )
}

/// A site of two areas (one on a nightly schedule) and ten sensors.
fn site_config(dir: &Path) -> String {
    let mut s = format!(
        "[site]\nname = \"Nhà máy bench\"\n[journal]\npath = \"{}\"\n\
         [[areas]]\nid = \"a1\"\nname = \"Kho A\"\narm_schedule = \"22:00-06:00\"\n\
         [[areas]]\nid = \"a2\"\nname = \"Kho B\"\n",
        dir.join("report.db").display(),
    );
    for z in 0..10 {
        s.push_str(&format!(
            "[[zones]]\nid = \"z{z}\"\nname = \"Cửa {z}\"\narea = \"a{}\"\ntype = \"perimeter\"\n\
             [[sensors]]\nid = \"s{z}\"\nzone = \"z{z}\"\nkind = \"contact\"\n\
             supervision_s = 3600\nsource = {{ kind = \"simulated\" }}\n",
            z % 2 + 1
        ));
    }
    s
}

/// Counts the events, as the baseline child: `picket bench --count-events FILE`.
pub async fn count_events(journal: &Path) -> Result<(), String> {
    let journal = Journal::open_existing(journal)
        .await
        .map_err(|e| e.to_string())?;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(journal.pool())
        .await
        .map_err(|e| e.to_string())?;
    println!("{n}");
    journal.close().await;
    Ok(())
}

/// Runs the report benchmark in `dir` and prints its table.
pub async fn run(dir: &Path) -> Result<(), String> {
    let config_text = site_config(dir);
    let config = crate::config::parse_str(&config_text).map_err(|e| e.to_string())?;
    let config_path = dir.join("report.toml");
    std::fs::write(&config_path, &config_text).map_err(|e| e.to_string())?;
    let tz = jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").map_err(|e| e.to_string())?;
    let year = crate::report::period::assessment_year("2026", &tz).map_err(|e| e.to_string())?;
    let step = (year.to_ms - year.from_ms) / EVENTS as i64;
    eprintln!("bench: writing a journal of {EVENTS} events over the 2026 assessment year…");
    let journal = Journal::open(&config.journal.path)
        .await
        .map_err(|e| e.to_string())?;
    let mut writer = crate::journal::Writer::new(journal.clone())
        .await
        .map_err(|e| e.to_string())?;
    write_sample_history_every(
        &mut writer,
        &Site::from_config(&config),
        EVENTS,
        Timestamp(year.from_ms),
        step,
    )
    .await
    .map_err(|e| e.to_string())?;
    drop(writer);
    journal.close().await;

    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = dir.join("out");
    let mut baseline = Vec::new();
    let mut report = Vec::new();
    for _ in 0..RUNS {
        baseline.push(measure(
            std::process::Command::new(&exe)
                .args(["bench", "--count-events"])
                .arg(&config.journal.path),
        )?);
        report.push(measure(
            std::process::Command::new(&exe)
                .args(["report", "--config"])
                .arg(&config_path)
                .args([
                    "--assessment-year",
                    "2026",
                    "--format",
                    "pdf,html,csv",
                    "--out",
                ])
                .arg(&out),
        )?);
    }
    let (base_t, base_m) = median(baseline);
    let (rep_t, rep_m) = median(report);
    let pdf_size = std::fs::read_dir(&out)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".pdf"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum::<u64>();
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    let mib = |k: i64| format!("{:.1} MiB", k as f64 / 1024.0);
    println!(
        "### Reports: an assessment year on {EVENTS} events ({})\n",
        super::bench::machine()
    );
    println!("| run (median of {RUNS}, peak of {RUNS}) | time | peak memory | × baseline time |");
    println!("|---|---|---|---|");
    println!(
        "| baseline: `SELECT count(*)` over the events | {} | {} | 1.00 |",
        ms(base_t),
        mib(base_m)
    );
    println!(
        "| `picket report --assessment-year 2026 --format pdf,html,csv` (chain verified, PDF {:.0} KiB) | {} | {} | {:.2} |",
        pdf_size as f64 / 1024.0,
        ms(rep_t),
        mib(rep_m),
        rep_t.as_secs_f64() / base_t.as_secs_f64().max(1e-9)
    );
    Ok(())
}
