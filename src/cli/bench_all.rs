//! `picket bench --all`: every benchmark, one after another, each in a child `picket
//! bench --<mode>` so that one's memory and threads never colour the next; then one table
//! of every figure with its same-run baseline and ratio, printed and written with each
//! benchmark's own tables and the machine to `BENCHMARKS.md`.

use std::fmt::Write as _;
use std::path::Path;

/// Every benchmark: its flag and its heading.
const MODES: &[(&str, &str)] = &[
    ("", "Engine and journal: commit"),
    ("--mqtt", "MQTT: publish to commit, and memory with cameras"),
    ("--delivery", "Delivery: sensor to receiving centre"),
    ("--mail", "Mail: one alarm mail's SMTP session"),
    ("--heartbeats", "Heartbeats: bytes written a day"),
    ("--cameras", "Cameras: CPU per stream and memory per camera"),
    ("--web", "Web: the status page, its API and the live stream"),
    (
        "--report",
        "Reports: an assessment year on a million events",
    ),
    ("--startup", "Start → systemd READY on a million events"),
    ("--codes", "Code checks: one person or fifty"),
];

/// One line of the summary: a figure, picket's value, the baseline's, and the ratio.
#[derive(Debug, PartialEq)]
pub(super) struct SummaryRow {
    pub figure: String,
    pub picket: String,
    pub baseline: String,
    pub ratio: String,
}

fn cells(line: &str) -> Option<Vec<String>> {
    let line = line.trim();
    let inner = line.strip_prefix('|')?.strip_suffix('|')?;
    Some(inner.split('|').map(|c| c.trim().to_string()).collect())
}

/// The summary rows of one benchmark's Markdown output: in each table with a row whose
/// first cell starts with "baseline", every other row against it — its first value column
/// against the baseline's, and its first column headed "ratio" (empty when the table has
/// none).
pub(super) fn summarise(output: &str) -> Vec<SummaryRow> {
    let mut rows = Vec::new();
    let lines: Vec<&str> = output.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let Some(header) = cells(lines[i]) else {
            i += 1;
            continue;
        };
        let mut table = Vec::new();
        i += 1;
        while let Some(row) = lines.get(i).and_then(|l| cells(l)) {
            if !row.iter().all(|c| c.chars().all(|ch| "-: ".contains(ch))) {
                table.push(row);
            }
            i += 1;
        }
        let Some(baseline) = table
            .iter()
            .find(|r| r.first().is_some_and(|c| c.starts_with("baseline")))
        else {
            continue;
        };
        let ratio_at = header
            .iter()
            .position(|h| h.to_lowercase().contains("ratio"));
        let value = |r: &Vec<String>| r.get(1).cloned().unwrap_or_default();
        for row in &table {
            if std::ptr::eq(row, baseline) {
                continue;
            }
            rows.push(SummaryRow {
                figure: row.first().cloned().unwrap_or_default(),
                picket: value(row),
                baseline: value(baseline),
                ratio: ratio_at
                    .and_then(|at| row.get(at).cloned())
                    .unwrap_or_default(),
            });
        }
    }
    rows
}

/// Runs every benchmark and writes `out` (BENCHMARKS.md); fails if any benchmark did.
pub(super) async fn run(out: &Path, dir: &Path) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut summary = Vec::new();
    let mut sections = String::new();
    let mut failed = Vec::new();
    for (flag, heading) in MODES {
        eprintln!("bench --all: {heading}…");
        let mut cmd = tokio::process::Command::new(&exe);
        cmd.arg("bench")
            .arg("--dir")
            .arg(dir.join(flag.trim_start_matches('-')));
        if !flag.is_empty() {
            cmd.arg(flag);
        }
        let done = cmd
            .stderr(std::process::Stdio::inherit())
            .output()
            .await
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&done.stdout).into_owned();
        let _ = writeln!(
            sections,
            "\n## {heading}\n\n`picket bench {flag}`\n\n{text}"
        );
        if done.status.success() {
            summary.extend(summarise(&text).into_iter().map(|r| (heading, r)));
        } else {
            failed.push(format!("bench {flag}"));
            let _ = writeln!(sections, "**This benchmark failed ({}).**", done.status);
        }
    }
    let mut table = String::from(
        "| benchmark | figure | picket | baseline | ratio |\n|---|---|---:|---:|---:|\n",
    );
    for (heading, r) in &summary {
        let _ = writeln!(
            table,
            "| {heading} | {} | {} | {} | {} |",
            r.figure, r.picket, r.baseline, r.ratio
        );
    }
    println!("{table}");
    let date = jiff::Zoned::now().strftime("%Y-%m-%d %H:%M %Z").to_string();
    let document = format!(
        "# picket's benchmarks\n\nWritten by `picket bench --all` on {date}.\n{}\n\n\
         Every figure is measured against a baseline in the same run on the same machine \
         and disk; the ratio is picket's against it.\n\n{table}{sections}",
        super::bench::machine()
    );
    std::fs::write(out, document).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("written: {}", out.display());
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("failed: {}", failed.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_is_set_against_its_tables_baseline_and_ratio_column() {
        let out = "intro\n\n| run | messages/s | ratio | p99 |\n|---|---:|---:|---:|\n\
                   | baseline: plain subscriber | 60290 | 1.00× | – |\n\
                   | picket: publish → event | 24105 | 0.40× | 203 ms |\n\ntext\n\n\
                   | picket | idle | flood |\n|---|---:|---:|\n| 8 cameras | 43 MiB | 48 MiB |\n";
        assert_eq!(
            summarise(out),
            vec![SummaryRow {
                figure: "picket: publish → event".into(),
                picket: "24105".into(),
                baseline: "60290".into(),
                ratio: "0.40×".into(),
            }]
        );
        assert!(
            summarise("| a | b |\n| c").is_empty(),
            "a broken table is skipped"
        );
    }
}
