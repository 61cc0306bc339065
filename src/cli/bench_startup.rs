//! `picket bench --startup`: how long `picket run` takes from its start to telling systemd
//! READY on a journal of 1,000,000 events with 1,000 open alarms (a site after years of
//! service and a bad night), against a baseline in the same run: the same site and the same
//! open alarms on a journal holding only them. A gateway that reboots (power cut, watchdog)
//! is blind until READY, so that time must not grow with the journal's history.
//!
//! Each run is `picket run` as a child process with its own notify socket, timed from
//! spawn to the READY=1 datagram, then stopped with SIGTERM.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::bench::percentile;
use super::sample_history::write_sample_history;
use crate::engine::{Engine, Input, ManualClock, Observation, Reading, Site, Timestamp};
use crate::journal::{Journal, Writer};

/// Events in the large journal.
const EVENTS: usize = 1_000_000;
/// Open alarms in both journals: one per zone.
const ALARMS: usize = 1000;
/// Starts of each journal, the median reported.
const RUNS: usize = 5;
/// Longest a start may take before the run is called failed.
const PATIENCE: Duration = Duration::from_secs(120);

/// A site of one area and [`ALARMS`] 24-hour zones, each with one contact.
fn site_config(journal: &Path) -> String {
    let mut s = format!(
        "[site]\nname = \"Nhà máy bench\"\n[journal]\npath = \"{}\"\n\
         [[areas]]\nid = \"a\"\nname = \"Kho\"\n",
        journal.display(),
    );
    for z in 0..ALARMS {
        s.push_str(&format!(
            "[[zones]]\nid = \"z{z}\"\nname = \"Hàng rào {z}\"\narea = \"a\"\ntype = \"burglary_24h\"\n\
             [[sensors]]\nid = \"s{z}\"\nzone = \"z{z}\"\nkind = \"contact\"\n\
             source = {{ kind = \"simulated\" }}\n"
        ));
    }
    s
}

/// Writes a journal of `history` sample events, then one open alarm per zone raised by the
/// engine itself (so the alarms, their events and the sensors' state are as a real night
/// leaves them). Returns the configuration file naming it.
async fn make_journal(dir: &Path, name: &str, history: usize) -> Result<PathBuf, String> {
    let journal_path = dir.join(format!("{name}.db"));
    let config_text = site_config(&journal_path);
    let config = crate::config::parse_str(&config_text).map_err(|e| e.to_string())?;
    let config_path = dir.join(format!("{name}.toml"));
    std::fs::write(&config_path, &config_text).map_err(|e| e.to_string())?;
    let journal = Journal::open(&journal_path)
        .await
        .map_err(|e| e.to_string())?;
    let mut writer = Writer::new(journal.clone())
        .await
        .map_err(|e| e.to_string())?;
    let site = Arc::new(Site::from_config(&config));
    let now = jiff::Timestamp::now().as_millisecond();
    let start = Timestamp(now - i64::try_from(history).unwrap_or(0) * 1000 - 60_000);
    write_sample_history(&mut writer, &site, history, start)
        .await
        .map_err(|e| e.to_string())?;
    let mut engine = Engine::new(site, ManualClock::new(Timestamp(now - 30_000)));
    let mut outcomes = Vec::with_capacity(ALARMS);
    for z in 0..ALARMS {
        outcomes.push(engine.handle(Input::Observation(Observation {
            sensor: format!("s{z}"),
            reading: Reading::Contact { active: true },
            source_ref: None,
        })));
    }
    let raised: usize = outcomes.iter().map(|o| o.alarms.len()).sum();
    if raised < ALARMS {
        return Err(format!("only {raised} of {ALARMS} alarms were raised"));
    }
    let outcomes: Vec<_> = outcomes.iter().collect();
    writer.commit(&outcomes).await.map_err(|e| e.to_string())?;
    drop(writer);
    journal.close().await;
    Ok(config_path)
}

/// Starts `picket run` on `config` and times it to READY=1; then stops it.
fn start_to_ready(exe: &Path, config: &Path, dir: &Path) -> Result<Duration, String> {
    let socket_path = dir.join("notify.sock");
    let _ = std::fs::remove_file(&socket_path);
    let socket = UnixDatagram::bind(&socket_path).map_err(|e| e.to_string())?;
    socket
        .set_read_timeout(Some(PATIENCE))
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child = std::process::Command::new(exe)
        .args(["run", "--config"])
        .arg(config)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 4096];
    let ready = loop {
        match socket.recv(&mut buf) {
            Ok(n) => {
                let text = String::from_utf8_lossy(buf.get(..n).unwrap_or_default());
                if text.lines().any(|l| l == "READY=1") {
                    break Ok(started.elapsed());
                }
            }
            Err(e) => break Err(format!("no READY=1 within {PATIENCE:?}: {e}")),
        }
    };
    // SAFETY: kill(2) on our own child, still unreaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let _ = child.wait();
    ready
}

/// Runs the benchmark and prints a Markdown table.
pub async fn run(dir: &Path) -> Result<(), String> {
    eprintln!("bench: writing a journal of {ALARMS} open alarms (the baseline)…");
    let small = make_journal(dir, "alarms-only", 0).await?;
    eprintln!("bench: writing a journal of {EVENTS} events and {ALARMS} open alarms…");
    let large = make_journal(dir, "million", EVENTS).await?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let (mut baseline, mut picket) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        baseline.push(start_to_ready(&exe, &small, dir)?);
        picket.push(start_to_ready(&exe, &large, dir)?);
    }
    baseline.sort();
    picket.sort();
    let (base, large) = (percentile(&baseline, 0.5), percentile(&picket, 0.5));
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    println!("### Start → systemd READY ({})\n", super::bench::machine());
    println!("| journal (median of {RUNS} starts) | start → READY | × baseline |");
    println!("|---|---:|---:|");
    println!(
        "| baseline: {ALARMS} open alarms and their events only | {} | 1.00 |",
        ms(base)
    );
    println!(
        "| {EVENTS} events of history and the same {ALARMS} open alarms | {} | {:.2} |",
        ms(large),
        large.as_secs_f64() / base.as_secs_f64().max(1e-9)
    );
    Ok(())
}
