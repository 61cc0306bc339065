//! `picket bench --cameras`: what a camera costs, against ffmpeg on the same stream in the
//! same run.
//!
//! - **Ingest**: picket's RTSP ingest plus the pre-event buffer (no decoding), CPU time
//!   per second of stream, against `ffmpeg -rtsp_transport tcp -i URL -c copy -f null -`.
//! - **Analysis**: ingest plus decoding and motion/tamper analysis of a 640×360 stream at
//!   5 fps, against `ffmpeg -threads 1 -rtsp_transport tcp -i URL -f null -` decoding it.
//! - **Memory**: resident memory per camera with four cameras ingesting into 10 s buffers.
//!
//! The streams are noise (`videotestsrc pattern=snow`), so the encoder spends its whole
//! 1 Mbit/s budget as a busy scene would. They come from the test suite's gst-rtsp-server (`tests/peers/rtsp_server.py`,
//! `/usr/bin/python3` with python3-gi), so run it from the repository.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::bench_mqtt::{Killed, free_port};
use crate::sources::camera::analysis::{Analyser, AnalysisSettings};
use crate::sources::camera::ring::PreEventRing;
use crate::sources::camera::rtsp::{RtspOpener, RtspTransport};
use crate::sources::camera::{FrameStream, Opener};

/// How long each run reads the stream.
const RUN: Duration = Duration::from_secs(20);
/// Cameras in the memory run.
const MEMORY_CAMERAS: usize = 4;

/// CPU seconds (user + system) this process has used.
fn own_cpu() -> f64 {
    cpu_of("self")
}

/// CPU seconds (user + system) of a process, from `/proc/<pid>/stat`.
fn cpu_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ") ".
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf only reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz.max(1.0)
}

/// Resident memory of this process, MiB.
fn own_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Starts the test RTSP server sending noise at `size`, `fps` frames a second and a
/// keyframe every `gop` frames; its URL.
pub(super) fn start_server(size: &str, fps: u32, gop: u32) -> Result<(Killed, String), String> {
    let script = Path::new("tests/peers/rtsp_server.py");
    if !script.exists() {
        return Err("run from the repository: tests/peers/rtsp_server.py is needed".into());
    }
    let port = free_port()?;
    let child = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(format!("size={size}"))
        .arg(format!("fps={fps}"))
        .arg(format!("gop={gop}"))
        .arg("pattern=snow")
        .arg(format!("port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the RTSP server: {e}"))?;
    Ok((Killed(child), format!("rtsp://127.0.0.1:{port}/cam")))
}

/// Opens `url`, retrying while the server starts.
async fn open(url: &str) -> Result<<RtspOpener as Opener>::Stream, String> {
    let opener = RtspOpener::new("bench", url, None, RtspTransport::Tcp).map_err(|e| e.message)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match opener.open().await {
            Ok(stream) => return Ok(stream),
            Err(e) if Instant::now() > deadline => return Err(e.message),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Reads `url` for [`RUN`] into a pre-event buffer, analysing when `analysis` is given;
/// CPU seconds used per second of stream, frames, and the stream's kbit/s.
async fn picket_run(
    url: &str,
    analysis: Option<AnalysisSettings>,
) -> Result<(f64, u64, f64), String> {
    let mut stream = open(url).await?;
    let mut ring = PreEventRing::new(Duration::from_secs(10), 16 << 20);
    let mut analyser = analysis
        .map(Analyser::new)
        .transpose()
        .map_err(|e| e.to_string())?;
    let (start, cpu) = (Instant::now(), own_cpu());
    let (mut frames, mut bytes) = (0u64, 0usize);
    while start.elapsed() < RUN {
        let frame = match stream.next_frame().await {
            Some(Ok(f)) => f,
            Some(Err(e)) => return Err(e.message),
            None => return Err("the stream ended".into()),
        };
        if let Some(a) = &mut analyser {
            a.frame(&frame).map_err(|e| e.to_string())?;
        }
        bytes += frame.data.len();
        ring.push(frame);
        frames += 1;
    }
    let used = own_cpu() - cpu;
    stream.close(Duration::from_secs(2)).await;
    let seconds = start.elapsed().as_secs_f64();
    Ok((
        used / seconds,
        frames,
        bytes as f64 * 8.0 / seconds / 1000.0,
    ))
}

/// Runs ffmpeg with `args` on `url` for [`RUN`]; CPU seconds used per second.
fn ffmpeg_run(url: &str, args: &[&str]) -> Result<f64, String> {
    let mut child = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error"])
        .args(["-rtsp_transport", "tcp", "-i", url])
        .args(args)
        .args(["-f", "null", "-"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start ffmpeg ({e}); install it: apt install ffmpeg"))?;
    let pid = child.id().to_string();
    let start = Instant::now();
    std::thread::sleep(RUN);
    let used = cpu_of(&pid);
    let elapsed = start.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    Ok(used / elapsed)
}

/// Prints one Markdown table: the baseline's CPU share per stream, then picket's and its
/// ratio to the baseline.
fn print_cpu_table(baseline: &str, baseline_cpu: f64, run: &str, run_cpu: f64) {
    println!("| run | CPU per stream | ratio |");
    println!("|---|---|---|");
    println!(
        "| baseline: {baseline} | {:.1} % | 1.00× |",
        baseline_cpu * 100.0
    );
    println!(
        "| {run} | {:.1} % | {:.2}× |\n",
        run_cpu * 100.0,
        run_cpu / baseline_cpu.max(1e-9)
    );
}

/// Runs the camera benchmark and prints Markdown tables.
pub async fn run() -> Result<(), String> {
    println!("## Camera ingest (1280×720, 25 fps, 2 s GOP), {RUN:?} each\n");
    let (_server, url) = start_server("1280x720", 25, 50)?;
    let ffmpeg_copy = ffmpeg_run(&url, &["-c", "copy"])?;
    let (ingest, frames, kbit_s) = picket_run(&url, None).await?;
    print_cpu_table(
        "`ffmpeg -rtsp_transport tcp -i URL -c copy -f null -`",
        ffmpeg_copy,
        &format!("picket ingest + pre-event buffer ({frames} frames, {kbit_s:.0} kbit/s)"),
        ingest,
    );

    println!("## Decode + motion analysis (640×360, 5 fps), {RUN:?} each\n");
    let (_sub, sub_url) = start_server("640x360", 5, 10)?;
    let ffmpeg_decode = ffmpeg_run(&sub_url, &["-threads", "1"])?;
    let settings = AnalysisSettings {
        fps: 5.0,
        sensitivity: 50,
        min_area: 0.01,
        regions: Vec::new(),
        tamper: true,
    };
    let (analysed, frames, _) = picket_run(&sub_url, Some(settings)).await?;
    print_cpu_table(
        "`ffmpeg -threads 1 -rtsp_transport tcp -i URL -f null -` (decode)",
        ffmpeg_decode,
        &format!("picket ingest + decode + motion/tamper ({frames} frames)"),
        analysed,
    );

    println!("## Memory per camera (the 1280×720 stream above, 10 s pre-event buffer)\n");
    let (_memory_server, url) = start_server("1280x720", 25, 50)?;
    let before = own_rss_mib();
    let mut tasks = Vec::new();
    for _ in 0..MEMORY_CAMERAS {
        let url = url.clone();
        tasks.push(tokio::spawn(async move { picket_run(&url, None).await }));
    }
    // Measured near the end of the runs, with every buffer full.
    tokio::time::sleep(RUN.saturating_sub(Duration::from_secs(2))).await;
    let peak = own_rss_mib();
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let per = (peak - before) / MEMORY_CAMERAS as f64;
    println!("| measure | value |");
    println!("|---|---|");
    println!("| resident before | {before:.1} MiB |");
    println!("| resident with {MEMORY_CAMERAS} cameras | {peak:.1} MiB |");
    println!("| per camera | {per:.1} MiB |");
    Ok(())
}
