//! `picket bench --heartbeats`: what 200 Zigbee2MQTT sensors repeating their state every
//! 10 s cost the disk, in bytes a day, against the same run with the sensors silent: an SD
//! card wears out by what is written to it, and a repeat carries nothing new.
//!
//! It starts its own Mosquitto and runs `picket run` as a child process on the benchmark
//! site, tells every sensor's state once, then measures the child's `/proc/PID/io` over
//! two timed windows of the same length: silent (the baseline), then every sensor
//! repeating its state every 10 s, evenly spread (20 messages a second). `write_bytes` is
//! what reached the storage layer; `wchar` what picket passed to `write(2)`.

use rumqttc::QoS;
use std::path::Path;
use std::time::{Duration, Instant};

use super::bench_mqtt::{SENSORS, connect, contact_payload, free_port, start_broker, start_site};

/// How often each sensor repeats itself.
const REPEAT_EVERY: Duration = Duration::from_secs(10);

/// The child's I/O counters: (`write_bytes`, `wchar`).
fn io(pid: u32) -> Result<(u64, u64), String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/io")).map_err(|e| e.to_string())?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((field("write_bytes:"), field("wchar:")))
}

/// Bytes a day at the rate `bytes` in `window`, in MiB.
fn per_day(bytes: u64, window: Duration) -> f64 {
    bytes as f64 / window.as_secs_f64() * 86_400.0 / (1024.0 * 1024.0)
}

/// Runs the benchmark with windows of `window` and prints a Markdown table.
pub async fn run(dir: &Path, window: Duration) -> Result<(), String> {
    let port = free_port()?;
    let _broker = start_broker(dir, port)?;
    let (daemon, mut watch_ev) = start_site(dir, port).await?;
    tokio::spawn(async move { while watch_ev.poll().await.is_ok() {} });
    let pid = daemon.0.id();
    let (publisher, mut pub_ev) = connect(port, "bench-heartbeats").await?;
    tokio::spawn(async move { while pub_ev.poll().await.is_ok() {} });
    let publish = async |sensor: usize| {
        publisher
            .publish(
                format!("zigbee2mqtt/s{sensor}"),
                QoS::AtLeastOnce,
                false,
                contact_payload(false),
            )
            .await
            .map_err(|e| e.to_string())
    };
    eprintln!("bench: picket is online; every sensor tells its state once…");
    for sensor in 0..SENSORS {
        publish(sensor).await?;
    }
    // Let those commits and the first write of last-heard times settle.
    tokio::time::sleep(Duration::from_secs(5)).await;

    eprintln!("bench: silent for {} s…", window.as_secs());
    let start = io(pid)?;
    tokio::time::sleep(window).await;
    let silent = io(pid)?;

    eprintln!(
        "bench: every sensor repeating every {} s for {} s…",
        REPEAT_EVERY.as_secs(),
        window.as_secs()
    );
    let gap = REPEAT_EVERY / u32::try_from(SENSORS).unwrap_or(1);
    let began = Instant::now();
    let mut sent = 0usize;
    while began.elapsed() < window {
        publish(sent % SENSORS).await?;
        sent += 1;
        let next = began + gap * u32::try_from(sent).unwrap_or(u32::MAX);
        tokio::time::sleep_until(next.into()).await;
    }
    let repeating = io(pid)?;
    drop(daemon);

    let base = (silent.0 - start.0, silent.1 - start.1);
    let load = (repeating.0 - silent.0, repeating.1 - silent.1);
    println!(
        "{SENSORS} Zigbee2MQTT contacts, each repeating its unchanged state every {} s ({sent} messages in {} s), against the same {} s with them silent; written by picket per day\n",
        REPEAT_EVERY.as_secs(),
        window.as_secs(),
        window.as_secs()
    );
    println!("| run | to storage (`write_bytes`) | to `write(2)` (`wchar`) |");
    println!("|---|---:|---:|");
    println!(
        "| baseline: sensors silent | {:.1} MiB/day | {:.1} MiB/day |",
        per_day(base.0, window),
        per_day(base.1, window)
    );
    println!(
        "| picket: sensors repeating | {:.1} MiB/day | {:.1} MiB/day |",
        per_day(load.0, window),
        per_day(load.1, window)
    );
    println!(
        "\nextra for the repeats: {:.1} MiB/day to storage ({:.2}× the silent run)",
        per_day(load.0.saturating_sub(base.0), window),
        load.0 as f64 / base.0.max(1) as f64
    );
    Ok(())
}
