//! `picket bench --mqtt`: sustained sensor messages per second from an MQTT publish to the
//! journal commit, and p99 latency, against the rate a plain subscriber receives from the
//! same broker in the same run; and picket's memory with 200 sensors, idle and after a
//! flood, without cameras (the baseline) and with 8 simulated cameras keeping 10 s each.
//!
//! It starts its own Mosquitto (from PATH) on a free port and runs `picket run` as a child
//! process. The end of a message's journey is its event on `picket/<site>/event`, which
//! picket publishes only after the commit.

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Sensors of the benchmark site.
pub(super) const SENSORS: usize = 200;

/// A child process killed and reaped when dropped.
pub(super) struct Killed(pub(super) Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `picket run --config <config>` (this very binary) as a child, its logs filtered by
/// `PICKET_BENCH_LOG` (default `error`), killed when the value is dropped.
pub(super) fn run_picket(config: &Path) -> Result<Killed, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    Command::new(exe)
        .args(["run", "--config"])
        .arg(config)
        .env(
            "RUST_LOG",
            std::env::var("PICKET_BENCH_LOG").unwrap_or_else(|_| "error".into()),
        )
        .stdout(Stdio::null())
        .spawn()
        .map(Killed)
        .map_err(|e| e.to_string())
}

/// A TCP port free on localhost right now.
pub(super) fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Starts Mosquitto from PATH on `port`, its config in `dir`.
pub(super) fn start_broker(dir: &Path, port: u16) -> Result<Killed, String> {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777));
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\nmax_inflight_messages 100\nset_tcp_nodelay true\n"),
    )
    .map_err(|e| e.to_string())?;
    let _ = std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644));
    Command::new("mosquitto")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Killed)
        .map_err(|e| format!("cannot start mosquitto ({e}); install it: apt install mosquitto"))
}

/// A client connected to the local broker (retried while it starts).
pub(super) async fn connect(
    port: u16,
    id: &str,
) -> Result<(AsyncClient, rumqttc::EventLoop), String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut o = MqttOptions::new(id, "127.0.0.1", port);
        // picket's panel state grows with the site; take it whole.
        o.set_inflight(100)
            .set_keep_alive(Duration::from_secs(30))
            .set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut ev) = crate::mqtt_connection::client(o, 100_000);
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok((client, ev)),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        if Instant::now() > deadline {
            return Err("broker did not answer".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A contact sensor's message, as Zigbee2MQTT publishes it (`contact` is true when closed).
pub(super) fn contact_payload(open: bool) -> String {
    format!(r#"{{"contact":{},"battery":88,"linkquality":120}}"#, !open)
}

fn payload(k: usize) -> (String, String) {
    let sensor = k % SENSORS;
    let open = (k / SENSORS).is_multiple_of(2);
    (format!("zigbee2mqtt/s{sensor}"), contact_payload(open))
}

/// Publishes `n` messages as fast as the client takes them; returns publish times.
fn spawn_publisher(client: AsyncClient, n: usize) -> tokio::task::JoinHandle<Vec<Instant>> {
    tokio::spawn(async move {
        let mut times = Vec::with_capacity(n);
        for k in 0..n {
            let (topic, body) = payload(k);
            times.push(Instant::now());
            if client
                .publish(topic, QoS::AtLeastOnce, false, body)
                .await
                .is_err()
            {
                break;
            }
        }
        times
    })
}

/// A plain subscriber's receive rate for `n` messages.
async fn baseline(port: u16, n: usize) -> Result<f64, String> {
    let (sub, mut sub_ev) = connect(port, "bench-plain-sub").await?;
    sub.subscribe("zigbee2mqtt/#", QoS::AtLeastOnce)
        .await
        .map_err(|e| e.to_string())?;
    loop {
        if let Ok(Event::Incoming(Packet::SubAck(_))) = sub_ev.poll().await {
            break;
        }
    }
    let (publ, mut pub_ev) = connect(port, "bench-plain-pub").await?;
    tokio::spawn(async move { while pub_ev.poll().await.is_ok() {} });
    let start = Instant::now();
    let _times = spawn_publisher(publ, n);
    let mut got = 0;
    while got < n {
        match sub_ev.poll().await {
            Ok(Event::Incoming(Packet::Publish(_))) => got += 1,
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// Resident and peak memory of process `pid`.
pub(super) fn memory(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| format!("{:.1} MiB", kb / 1024.0))
            .unwrap_or_else(|| "?".into())
    };
    format!("resident {} (peak {})", field("VmRSS:"), field("VmHWM:"))
}

/// Writes a site of [`SENSORS`] Zigbee2MQTT contacts on the broker at `port`, starts
/// `picket run` on it, and returns it once it says it is online, with a client watching
/// its topics.
pub(super) async fn start_site(
    dir: &Path,
    port: u16,
) -> Result<(Killed, rumqttc::EventLoop), String> {
    start_site_with_cameras(dir, port, &[]).await
}

/// As [`start_site`], with a camera reading each of `cameras` (URLs) and keeping 10 s of
/// picture.
async fn start_site_with_cameras(
    dir: &Path,
    port: u16,
    cameras: &[String],
) -> Result<(Killed, rumqttc::EventLoop), String> {
    let mut config = format!(
        "[site]\nname = \"bench\"\n[journal]\npath = \"{}\"\n[mqtt]\nport = {port}\ndiscovery = false\n\
         [[areas]]\nid = \"a\"\nname = \"A\"\n[[zones]]\nid = \"z\"\nname = \"Z\"\narea = \"a\"\ntype = \"perimeter\"\n",
        dir.join("journal.db").display()
    );
    for i in 0..SENSORS {
        config.push_str(&format!(
            "[[sensors]]\nid = \"s{i}\"\nzone = \"z\"\nkind = \"contact\"\nsupervision_s = 3600\nsource = {{ kind = \"mqtt\", topic = \"zigbee2mqtt/s{i}\" }}\n"
        ));
    }
    for (c, url) in cameras.iter().enumerate() {
        config.push_str(&format!(
            "[[cameras]]\nid = \"cam{c}\"\nurl = \"{url}\"\nzones = [\"z\"]\npre_s = 10\npost_s = 10\n\
             [[sensors]]\nid = \"cam{c}_picture\"\nzone = \"z\"\nkind = \"camera\"\n\
             source = {{ kind = \"camera\", camera = \"cam{c}\" }}\n"
        ));
    }
    let config_path = dir.join("picket.toml");
    std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
    let daemon = run_picket(&config_path)?;
    let (watch, mut watch_ev) = connect(port, "bench-watch").await?;
    watch
        .subscribe("picket/bench/#", QoS::AtLeastOnce)
        .await
        .map_err(|e| e.to_string())?;
    // picket is ready when it says it is online.
    let patience = Instant::now() + Duration::from_secs(60);
    loop {
        let polled = tokio::time::timeout_at(patience.into(), watch_ev.poll()).await;
        let Ok(polled) = polled else {
            return Err("picket did not say it was online within 60 s".into());
        };
        match polled {
            Ok(Event::Incoming(Packet::Publish(p)))
                if p.topic == "picket/bench/availability" && &p.payload[..] == b"online" =>
            {
                return Ok((daemon, watch_ev));
            }
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Runs the MQTT benchmark and prints a Markdown table.
pub async fn run(dir: &Path, n: usize) -> Result<(), String> {
    let port = free_port()?;
    let _broker = start_broker(dir, port)?;
    connect(port, "bench-probe").await?;
    eprintln!("bench: plain subscriber…");
    let plain = baseline(port, n).await?;
    eprintln!("bench: {plain:.0} messages/s; starting picket…");

    let (daemon, mut watch_ev) = start_site(dir, port).await?;
    let pid = daemon.0.id();
    eprintln!("bench: picket is online; flooding…");
    let idle = memory(pid);
    let (publ, mut pub_ev) = connect(port, "bench-picket-pub").await?;
    tokio::spawn(async move { while pub_ev.poll().await.is_ok() {} });
    let start = Instant::now();
    let publisher = spawn_publisher(publ, n);
    let mut arrivals = Vec::with_capacity(n);
    while arrivals.len() < n {
        match tokio::time::timeout(Duration::from_secs(60), watch_ev.poll()).await {
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) if p.topic == "picket/bench/event" => {
                if std::str::from_utf8(&p.payload).is_ok_and(|t| t.contains("\"sensor_changed\"")) {
                    arrivals.push(Instant::now());
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => {
                return Err(format!(
                    "picket stalled after {} of {n} events",
                    arrivals.len()
                ));
            }
        }
    }
    let total = start.elapsed();
    let sent = publisher.await.map_err(|e| e.to_string())?;
    let loaded = memory(pid);
    // Events come in publish order (one publisher, one session, in-order acks).
    let mut latencies: Vec<Duration> = sent
        .iter()
        .zip(&arrivals)
        .map(|(s, a)| a.saturating_duration_since(*s))
        .collect();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    let rate = n as f64 / total.as_secs_f64();
    println!(
        "{n} QoS 1 messages over {SENSORS} Zigbee2MQTT contact sensors, each a state change; local Mosquitto\n"
    );
    println!("| run | messages/s | ratio | latency p50 | p99 |");
    println!("|---|---:|---:|---:|---:|");
    println!("| baseline: plain subscriber, same broker | {plain:.0} | 1.00× | – | – |");
    println!(
        "| picket: publish → journal commit → event out | {rate:.0} | {:.2}× | {:.1} ms | {:.1} ms |",
        rate / plain,
        pct(0.50),
        pct(0.99)
    );
    println!("\npicket memory with {SENSORS} sensors: idle {idle}; after the flood {loaded}");

    // One picket at a time on the broker: they would share a client id.
    drop(watch_ev);
    drop(daemon);
    let flood = n.min(10_000);
    eprintln!("bench: the same site with {CAMERAS} RTSP cameras…");
    // A server each, as a site has a camera each: one server's shared stream stalled
    // when eight clients read it.
    let mut servers = Vec::with_capacity(CAMERAS);
    let mut urls = Vec::with_capacity(CAMERAS);
    for _ in 0..CAMERAS {
        let (server, url) = super::bench_cameras::start_server("640x360", 15, 30)?;
        servers.push(server);
        urls.push(url);
    }
    let rtsp = memory_with_cameras(&dir.join("rtsp"), port, &urls, flood).await?;
    drop(servers);
    eprintln!("bench: the same site with {CAMERAS} simulated cameras…");
    let sim = vec!["sim://yard".to_string(); CAMERAS];
    let simulated = memory_with_cameras(&dir.join("simulated"), port, &sim, flood).await?;
    println!("\n| picket, {SENSORS} sensors (resident memory) | idle | after a flood (its peak) |");
    println!("|---|---:|---:|");
    println!("| baseline: no cameras | {idle} | {loaded} |");
    println!(
        "| {CAMERAS} RTSP cameras (a gst-rtsp-server each, 640×360 15 fps ~1 Mbit/s), 10 s pre-event buffers (targets 40 / 64 MiB) | {} | {} |",
        rtsp.0, rtsp.1
    );
    println!(
        "| {CAMERAS} simulated cameras (`sim://`, picket encodes their picture itself), 10 s pre-event buffers | {} | {} |",
        simulated.0, simulated.1
    );
    Ok(())
}

/// Cameras in the combined memory figure.
const CAMERAS: usize = 8;

/// picket's memory with [`SENSORS`] sensors and a camera on each of `cameras`: once every
/// camera's buffer has filled (idle), and after a flood of `n` sensor messages.
async fn memory_with_cameras(
    dir: &Path,
    port: u16,
    cameras: &[String],
    n: usize,
) -> Result<(String, String), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let (daemon, mut watch_ev) = start_site_with_cameras(dir, port, cameras).await?;
    let pid = daemon.0.id();
    // Every camera online first (an RTSP server may take a moment to start)…
    let mut online = std::collections::BTreeSet::new();
    let patience = Instant::now() + Duration::from_secs(60);
    while online.len() < cameras.len() {
        match tokio::time::timeout_at(patience.into(), watch_ev.poll()).await {
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                let camera = p.topic.strip_prefix("picket/bench/camera/");
                let state = serde_json::from_slice::<serde_json::Value>(&p.payload).ok();
                if let (Some(camera), Some(state)) = (camera, state)
                    && state["online"] == serde_json::Value::Bool(true)
                {
                    online.insert(camera.to_string());
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => {
                return Err(format!(
                    "{} of {} cameras online",
                    online.len(),
                    cameras.len()
                ));
            }
        }
    }
    // …then each camera's pre-event buffer holds 10 s of picture: let them fill.
    let filled = Instant::now() + Duration::from_secs(12);
    while Instant::now() < filled {
        let _ = tokio::time::timeout_at(filled.into(), watch_ev.poll()).await;
    }
    let idle = memory(pid);
    let (publ, mut pub_ev) = connect(port, "bench-cameras-pub").await?;
    tokio::spawn(async move { while pub_ev.poll().await.is_ok() {} });
    let publisher = spawn_publisher(publ, n);
    let mut seen = 0;
    while seen < n {
        match tokio::time::timeout(Duration::from_secs(60), watch_ev.poll()).await {
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) if p.topic == "picket/bench/event" => {
                if std::str::from_utf8(&p.payload).is_ok_and(|t| t.contains("\"sensor_changed\"")) {
                    seen += 1;
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err(format!("picket stalled after {seen} of {n} events")),
        }
    }
    publisher.await.map_err(|e| e.to_string())?;
    Ok((idle, memory(pid)))
}
