//! `picket bench`: engine + journal throughput and commit latency, measured against a
//! baseline in the same run on the same disk — plain SQLite inserts of the same event rows
//! with the same `synchronous=FULL` and WAL settings, one transaction per row.
//!
//! Three runs: the baseline; picket with one observation in flight at a time (a quiet
//! site: latency); picket with many in flight from several producers (a flood after a
//! broker reconnect: throughput, where group commit pays).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config;
use crate::engine::{Engine, Input, Observation, Reading, Site, SystemClock};
use crate::journal::{Journal, Writer};
use crate::runtime::{self, Effects};

/// Options of `picket bench`.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// Observations per run.
    #[arg(long, default_value_t = 5000)]
    observations: usize,
    /// Concurrent producers in the flood run (an MQTT flood after a reconnect has many
    /// messages in flight).
    #[arg(long, default_value_t = 64)]
    producers: usize,
    /// Run the MQTT benchmark instead (needs `mosquitto` on PATH).
    #[arg(long)]
    mqtt: bool,
    /// Run the delivery benchmark instead: MQTT publish → DC-09 ACK per alarm (needs
    /// `mosquitto` on PATH).
    #[arg(long, conflicts_with = "mqtt")]
    delivery: bool,
    /// Run the camera benchmark instead: CPU per stream and memory per camera against
    /// ffmpeg (needs ffmpeg and the test suite's RTSP server; run from the repository).
    #[arg(long, conflicts_with_all = ["mqtt", "delivery"])]
    cameras: bool,
    /// Run the web benchmark instead: the status page and its API under 50 clients
    /// against a static page, alarms to 100 live streams, the event log on 1,000,000
    /// events, memory.
    #[arg(long, conflicts_with_all = ["mqtt", "delivery", "cameras"])]
    web: bool,
    /// Run the report benchmark instead: an assessment year's report (PDF, HTML, CSV) on
    /// 1,000,000 events against one `SELECT count(*)` pass, time and peak memory.
    #[arg(long, conflicts_with_all = ["mqtt", "delivery", "cameras", "web"])]
    report: bool,
    /// Run the heartbeat benchmark instead: bytes written a day with 200 sensors repeating
    /// their state every 10 s, against the same time with them silent (needs `mosquitto`).
    #[arg(long, conflicts_with_all = ["mqtt", "delivery", "cameras", "web", "report"])]
    heartbeats: bool,
    /// Run the start-up benchmark instead: `picket run` to systemd READY on a journal of
    /// 1,000,000 events with 1,000 open alarms, against the same alarms on a journal
    /// holding only them.
    #[arg(long, conflicts_with_all = ["mqtt", "delivery", "cameras", "web", "report", "heartbeats"])]
    startup: bool,
    /// Run the mail benchmark instead: one alarm mail's SMTP session, picket's against a
    /// bare client's and lettre's own transport, to a server in this process.
    #[arg(long, conflicts_with_all = ["mqtt", "delivery", "cameras", "web", "report", "heartbeats", "startup"])]
    mail: bool,
    /// Run the code benchmark instead: a wrong code checked with 50 people, against 1
    /// person, and against the 50 without the code index.
    #[arg(long, conflicts_with_all = ["mqtt", "delivery", "cameras", "web", "report", "heartbeats", "startup", "mail"])]
    codes: bool,
    /// Run every benchmark, each in a child process, print one table of every figure
    /// against its baseline, and write it with each benchmark's tables to this file
    /// (`BENCHMARKS.md`).
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "BENCHMARKS.md", conflicts_with_all = ["mqtt", "delivery", "cameras", "web", "report", "heartbeats", "startup", "mail", "codes"])]
    all: Option<PathBuf>,
    /// Length of each of the heartbeat benchmark's two windows, seconds.
    #[arg(long, default_value_t = 120)]
    seconds: u64,
    /// The report benchmark's baseline child: counts a journal's events.
    #[arg(long, hide = true)]
    count_events: Option<PathBuf>,
    /// Alarms in the delivery benchmark.
    #[arg(long, default_value_t = 1000)]
    alarms: usize,
    /// Directory for the journals (default: a new directory under /tmp). Put it on the
    /// disk you want to measure.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// One run's figures.
struct Figures {
    name: String,
    rate: f64,
    p50: Duration,
    p99: Duration,
}

const SENSORS: usize = 200;

fn site_config() -> String {
    let mut s = String::from(
        "[site]\nname = \"bench\"\n[[areas]]\nid = \"a\"\nname = \"A\"\n\
         [[zones]]\nid = \"z\"\nname = \"Z\"\narea = \"a\"\ntype = \"perimeter\"\n",
    );
    for i in 0..SENSORS {
        s.push_str(&format!(
            "[[sensors]]\nid = \"s{i}\"\nzone = \"z\"\nkind = \"contact\"\nsource = {{ kind = \"simulated\" }}\n"
        ));
    }
    s
}

/// The i-th observation: sensors take turns flipping, so every one is a state change.
fn observation(i: usize) -> Observation {
    Observation {
        sensor: format!("s{}", i % SENSORS),
        reading: Reading::Contact {
            active: (i / SENSORS).is_multiple_of(2),
        },
        source_ref: Some(format!("b{i}")),
    }
}

/// The `p` quantile of sorted durations.
pub(super) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn figures(name: String, mut latencies: Vec<Duration>, total: Duration) -> Figures {
    latencies.sort();
    Figures {
        name,
        rate: latencies.len() as f64 / total.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
    }
}

/// Runs the benchmark and prints a Markdown table.
pub async fn run(args: BenchArgs) -> ExitCode {
    let dir = args.dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("picket-bench-{}", std::process::id()))
    });
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    if let Some(out) = &args.all {
        let result = super::bench_all::run(out, &dir).await;
        let _ = std::fs::remove_dir_all(&dir);
        return exit_code("bench --all", result);
    }
    if let Some(journal) = &args.count_events {
        return exit_code("count", super::bench_report::count_events(journal).await);
    }
    if args.cameras || args.mail {
        let result = if args.mail {
            super::bench_mail::run().await
        } else {
            super::bench_cameras::run().await
        };
        return exit_code("bench", result);
    }
    if args.mqtt
        || args.delivery
        || args.web
        || args.report
        || args.heartbeats
        || args.startup
        || args.codes
    {
        let result = if args.codes {
            super::bench_codes::run(&dir).await
        } else if args.startup {
            super::bench_startup::run(&dir).await
        } else if args.heartbeats {
            super::bench_heartbeats::run(&dir, Duration::from_secs(args.seconds.max(10))).await
        } else if args.report {
            super::bench_report::run(&dir).await
        } else if args.web {
            super::bench_web::run(&dir).await
        } else if args.mqtt {
            super::bench_mqtt::run(&dir, args.observations.max(1000)).await
        } else {
            super::bench_delivery::run(&dir, args.alarms.max(100)).await
        };
        let _ = std::fs::remove_dir_all(&dir);
        return exit_code("bench", result);
    }
    let config = match config::parse_str(&site_config()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench site invalid: {e}");
            return ExitCode::FAILURE;
        }
    };
    let site = Arc::new(Site::from_config(&config));
    let n = args.observations.max(100);
    let result = async {
        let baseline = baseline(&dir.join("baseline.db"), &site, n).await?;
        let sequential = picket_run(&dir.join("sequential.db"), &site, n, 1).await?;
        let flood = picket_run(&dir.join("flood.db"), &site, n, args.producers.max(1)).await?;
        Ok::<_, String>((baseline, sequential, flood))
    }
    .await;
    let (baseline, sequential, flood) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bench failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", machine());
    println!(
        "{n} observations, each a sensor state change (one event row + sensor state), \
         SQLite WAL + synchronous=FULL, journal in {}\n",
        dir.display()
    );
    println!("| run | observations/s | ratio to baseline | commit latency p50 | p99 |");
    println!("|---|---:|---:|---:|---:|");
    for f in [&baseline, &sequential, &flood] {
        println!(
            "| {} | {:.0} | {:.2}× | {:.2} ms | {:.2} ms |",
            f.name,
            f.rate,
            f.rate / baseline.rate,
            f.p50.as_secs_f64() * 1e3,
            f.p99.as_secs_f64() * 1e3
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    ExitCode::SUCCESS
}

/// The process's exit code for a benchmark's result, saying what failed on stderr.
fn exit_code<E: std::fmt::Display>(what: &str, result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{what} failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Plain inserts of the same rows picket writes, one transaction each.
async fn baseline(path: &std::path::Path, site: &Arc<Site>, n: usize) -> Result<Figures, String> {
    let journal = Journal::open(path).await.map_err(|e| e.to_string())?;
    let mut engine = Engine::new(site.clone(), SystemClock::new());
    let rows: Vec<_> = (0..n)
        .map(|i| engine.handle(Input::Observation(observation(i))))
        .collect();
    let mut conn = journal.pool().acquire().await.map_err(|e| e.to_string())?;
    let mut latencies = Vec::with_capacity(n);
    let start = Instant::now();
    for (i, outcome) in rows.iter().enumerate() {
        let t = Instant::now();
        let mut tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE")
            .await
            .map_err(|e| e.to_string())?;
        for e in &outcome.events {
            sqlx::query(
                "INSERT INTO events (seq, at_ms, kind, category, code, qualifier, area, zone, \
                 sensor, message_vi, message_en, source_ref, prev_hash, hash) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, x'00', x'00')",
            )
            .bind(i as i64 + 1)
            .bind(e.at.0)
            .bind(e.kind.as_str())
            .bind(e.category.as_str())
            .bind(e.code.map(|c| i64::from(c.0)))
            .bind(i64::from(e.qualifier.digit()))
            .bind(&e.area)
            .bind(&e.zone)
            .bind(&e.sensor)
            .bind(&e.message_vi)
            .bind(&e.message_en)
            .bind(&e.source_ref)
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        latencies.push(t.elapsed());
    }
    let total = start.elapsed();
    drop(conn);
    journal.close().await;
    Ok(figures(
        "baseline: plain SQLite insert, 1 row/transaction".into(),
        latencies,
        total,
    ))
}

/// Observations through the engine task and journal writer, `producers` at a time.
async fn picket_run(
    path: &std::path::Path,
    site: &Arc<Site>,
    n: usize,
    producers: usize,
) -> Result<Figures, String> {
    let journal = Journal::open(path).await.map_err(|e| e.to_string())?;
    let engine = Engine::new(site.clone(), SystemClock::new());
    let writer = Writer::new(journal.clone())
        .await
        .map_err(|e| e.to_string())?;
    let effects = Effects::new(&engine);
    let (task, handle) = runtime::spawn_engine(engine, writer, effects);
    let start = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for p in 0..producers {
        let handle = handle.clone();
        workers.spawn(async move {
            let mut latencies = Vec::new();
            // Each producer owns a slice of the sensors, so its flips stay in order.
            for i in (0..n).filter(|i| (i % SENSORS) % producers == p) {
                let t = Instant::now();
                let ok = handle.observe(observation(i)).await.is_ok();
                if ok {
                    latencies.push(t.elapsed());
                }
            }
            latencies
        });
    }
    drop(handle);
    let mut latencies = Vec::with_capacity(n);
    while let Some(r) = workers.join_next().await {
        latencies.extend(r.map_err(|e| e.to_string())?);
    }
    let total = start.elapsed();
    let _ = task.await;
    journal.close().await;
    if latencies.len() != n {
        return Err(format!(
            "{} of {n} observations were committed",
            latencies.len()
        ));
    }
    let name = if producers == 1 {
        "picket engine + journal, 1 observation in flight".to_string()
    } else {
        format!("picket engine + journal, {producers} producers in flight")
    };
    Ok(figures(name, latencies, total))
}

/// The machine, for the README.
pub(super) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "machine: {cpu}, {cores} cores, Linux {}, {}",
        kernel.trim(),
        std::env::consts::ARCH
    )
}
