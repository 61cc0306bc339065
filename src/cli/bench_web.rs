//! `picket bench --web`: the status page and its API under load, against a baseline in the
//! same run on the same machine — axum serving a static page of the same size as the
//! overview, to the same 50 concurrent clients. Also: how long one alarm takes to reach
//! 100 connected live-stream (SSE) clients, against the feed's own commit acknowledgement
//! for the same input; the event log's first and 1,000th page on a journal of 1,000,000
//! events (keyset paging: the two should cost the same); start-up on that journal; and
//! picket's resident memory idle and after the load.
//!
//! picket runs as a child process (`picket run`), its page on localhost, sensors on the
//! feed socket; the load comes from this process.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::bench::percentile;
use super::bench_mqtt::{free_port, memory, run_picket};
use super::sample_history::write_sample_history;
use crate::engine::{Role, Site, Timestamp};
use crate::journal::{Journal, users::By};

/// Events in the journal the page reads.
const EVENTS: usize = 1_000_000;
/// Concurrent HTTP clients.
const CLIENTS: usize = 50;
/// Requests per HTTP run.
const REQUESTS: usize = 4000;
/// Live-stream clients.
const STREAMS: usize = 100;
/// Alarms sent to the live-stream clients (each in its own 24-hour zone).
const ALARMS: usize = 20;
/// Longest wait for any one step.
const PATIENCE: Duration = Duration::from_secs(60);
/// The bench person's page password.
const PASSWORD: &str = "bench-password-1";

fn site_config(dir: &Path, web: u16) -> String {
    let mut s = format!(
        "[site]\nname = \"Nhà máy bench\"\n[journal]\npath = \"{}\"\n[feed]\nsocket = \"{}\"\n\
         [web]\nlisten = \"127.0.0.1:{web}\"\n[panel]\nabort_window_s = 0\n\
         [[areas]]\nid = \"a1\"\nname = \"Kho A\"\n[[areas]]\nid = \"a2\"\nname = \"Kho B\"\n",
        dir.join("journal.db").display(),
        dir.join("feed.sock").display(),
    );
    for z in 0..ALARMS {
        s.push_str(&format!(
            "[[zones]]\nid = \"z{z}\"\nname = \"Két {z}\"\narea = \"a{}\"\ntype = \"burglary_24h\"\n\
             [[sensors]]\nid = \"s{z}\"\nname = \"Cửa két {z}\"\nzone = \"z{z}\"\nkind = \"contact\"\n\
             source = {{ kind = \"feed\" }}\n",
            z % 2 + 1
        ));
    }
    s
}

/// A plain HTTP client for localhost.
fn http_client() -> Result<reqwest::Client, String> {
    let tls = crate::channels::tls::client_config(None, "ca")?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .map_err(|e| e.to_string())
}

/// The `name=value` of a Set-Cookie header named `name`.
fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// Logs in through the login form; the session cookie.
async fn log_in(client: &reqwest::Client, base: &str) -> Result<String, String> {
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let login_cookie = cookie(&page, "picket_login").ok_or("no login cookie")?;
    let html = page.text().await.map_err(|e| e.to_string())?;
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or("no CSRF token on the login page")?;
    let answer = client
        .post(format!("{base}/login"))
        .header("cookie", login_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("name=bench&password={PASSWORD}&csrf={csrf}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    cookie(&answer, "picket_session").ok_or_else(|| "the login was refused".to_string())
}

/// One HTTP run's figures.
struct Load {
    name: String,
    rate: f64,
    p50: Duration,
    p99: Duration,
    bytes: usize,
}

/// `REQUESTS` GETs of `url` from `CLIENTS` clients at once, each with `header`.
async fn load(
    name: &str,
    client: &reqwest::Client,
    url: &str,
    header: (&'static str, String),
) -> Result<Load, String> {
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let (client, url, header) = (client.clone(), url.to_string(), header.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(REQUESTS / CLIENTS);
            let mut bytes = 0;
            for _ in 0..REQUESTS / CLIENTS {
                let sent = Instant::now();
                let response = client
                    .get(&url)
                    .header(header.0, &header.1)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    return Err(format!("{url}: {}", response.status()));
                }
                bytes = response.bytes().await.map_err(|e| e.to_string())?.len();
                latencies.push(sent.elapsed());
            }
            Ok::<_, String>((latencies, bytes))
        }));
    }
    let mut all = Vec::with_capacity(REQUESTS);
    let mut bytes = 0;
    for task in tasks {
        let (latencies, b) = task.await.map_err(|e| e.to_string())??;
        all.extend(latencies);
        bytes = b;
    }
    let total = started.elapsed();
    all.sort();
    Ok(Load {
        name: name.into(),
        rate: all.len() as f64 / total.as_secs_f64(),
        p50: percentile(&all, 0.5),
        p99: percentile(&all, 0.99),
        bytes,
    })
}

/// Serves `page` at `/` with axum on a free port: the baseline.
async fn static_server(page: String) -> Result<u16, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let page = Arc::new(page);
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let page = page.clone();
            async move { axum::response::Html(page.as_str().to_string()) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(port)
}

/// Waits until `/healthz` answers 200; how long that took from `since`.
async fn until_ready(
    client: &reqwest::Client,
    base: &str,
    since: Instant,
) -> Result<Duration, String> {
    loop {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return Ok(since.elapsed());
        }
        if since.elapsed() > PATIENCE {
            return Err("picket did not start".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A live-stream client: sends (its number, the alarm, when) for each `alarm_raised`.
async fn stream_client(
    client: reqwest::Client,
    url: String,
    session: String,
    number: usize,
    ready: mpsc::UnboundedSender<usize>,
    seen: mpsc::UnboundedSender<(usize, u64, Instant)>,
) -> Result<(), String> {
    let mut response = client
        .get(url)
        .header("cookie", session)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let _ = ready.send(number);
    let mut buffer = String::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        let at = Instant::now();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let message: String = buffer.drain(..end + 2).collect();
            let Some(data) = message.lines().find_map(|l| l.strip_prefix("data: ")) else {
                continue;
            };
            let Ok(body) = serde_json::from_str::<Value>(data) else {
                continue;
            };
            if body["kind"] == "alarm_raised"
                && let Some(alarm) = body["alarm"].as_u64()
            {
                let _ = seen.send((number, alarm, at));
            }
        }
    }
    Ok(())
}

/// Figures of the live-stream run: to the last of the clients, to the median one, and the
/// feed's commit acknowledgement for the same inputs.
struct StreamFigures {
    to_all: Vec<Duration>,
    to_median: Vec<Duration>,
    committed: Vec<Duration>,
}

async fn streams(
    client: &reqwest::Client,
    base: &str,
    session: &str,
    feed: &Path,
) -> Result<StreamFigures, String> {
    let (ready_tx, mut ready) = mpsc::unbounded_channel();
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    for number in 0..STREAMS {
        tokio::spawn(stream_client(
            client.clone(),
            format!("{base}/stream"),
            session.to_string(),
            number,
            ready_tx.clone(),
            seen_tx.clone(),
        ));
    }
    for _ in 0..STREAMS {
        tokio::time::timeout(PATIENCE, ready.recv())
            .await
            .map_err(|_| "the live streams did not open")?;
    }
    let socket = tokio::net::UnixStream::connect(feed)
        .await
        .map_err(|e| e.to_string())?;
    let (read, mut write) = socket.into_split();
    let mut replies = BufReader::new(read).lines();
    let mut figures = StreamFigures {
        to_all: Vec::new(),
        to_median: Vec::new(),
        committed: Vec::new(),
    };
    for zone in 0..ALARMS {
        let sent = Instant::now();
        write
            .write_all(
                format!("{{\"sensor\":\"s{zone}\",\"kind\":\"contact\",\"active\":true}}\n")
                    .as_bytes(),
            )
            .await
            .map_err(|e| e.to_string())?;
        let reply = tokio::time::timeout(PATIENCE, replies.next_line())
            .await
            .map_err(|_| "the feed did not answer")?
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        if !reply.contains("\"ack\"") {
            return Err(format!("the feed refused the input: {reply}"));
        }
        figures.committed.push(sent.elapsed());
        let mut arrivals = Vec::with_capacity(STREAMS);
        while arrivals.len() < STREAMS {
            let (_, alarm, at) = tokio::time::timeout(PATIENCE, seen.recv())
                .await
                .map_err(|_| "an alarm did not reach every live stream")?
                .ok_or("the live streams ended")?;
            if alarm == zone as u64 + 1 {
                arrivals.push(at.duration_since(sent));
            }
        }
        arrivals.sort();
        figures.to_median.push(percentile(&arrivals, 0.5));
        figures.to_all.push(arrivals[arrivals.len() - 1]);
    }
    for list in [
        &mut figures.to_all,
        &mut figures.to_median,
        &mut figures.committed,
    ] {
        list.sort();
    }
    Ok(figures)
}

/// The median time of `n` GETs of `path`, one at a time.
async fn median_get(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    session: &str,
    n: usize,
) -> Result<Duration, String> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let sent = Instant::now();
        let r = client
            .get(format!("{base}{path}"))
            .header("cookie", session)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("{path}: {}", r.status()));
        }
        let body = r.text().await.map_err(|e| e.to_string())?;
        if !body.contains("<tr><td>") {
            return Err(format!("{path} shows no events"));
        }
        times.push(sent.elapsed());
    }
    times.sort();
    Ok(percentile(&times, 0.5))
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Runs the web benchmark in `dir` and prints its tables.
pub async fn run(dir: &Path) -> Result<(), String> {
    let web = free_port()?;
    let config_text = site_config(dir, web);
    let config = crate::config::parse_str(&config_text).map_err(|e| e.to_string())?;
    let config_path = dir.join("picket.toml");
    std::fs::write(&config_path, &config_text).map_err(|e| e.to_string())?;

    eprintln!("bench: writing a journal of {EVENTS} events…");
    let journal = Journal::open(&config.journal.path)
        .await
        .map_err(|e| e.to_string())?;
    let mut writer = crate::journal::Writer::new(journal.clone())
        .await
        .map_err(|e| e.to_string())?;
    let site = Site::from_config(&config);
    let start = Timestamp(jiff::Timestamp::now().as_millisecond() - EVENTS as i64 * 1000);
    write_sample_history(&mut writer, &site, EVENTS, start)
        .await
        .map_err(|e| e.to_string())?;
    let by = By::cli("bench");
    let now = Timestamp(jiff::Timestamp::now().as_millisecond());
    journal
        .add_user_numbered("bench", Role::Supervisor, "246810", None, None, by, now)
        .await
        .map_err(|e| e.to_string())?;
    journal
        .set_password("bench", PASSWORD, by, now)
        .await
        .map_err(|e| e.to_string())?;
    let token = journal
        .create_token("bench", Role::Viewer, by, now)
        .await
        .map_err(|e| e.to_string())?;
    drop(writer);
    journal.close().await;

    let client = http_client()?;
    let base = format!("http://127.0.0.1:{web}");
    let started = Instant::now();
    let daemon = run_picket(&config_path)?;
    let start_up = until_ready(&client, &base, started).await?;
    let pid = daemon.0.id();
    let idle = memory(pid);
    let session = log_in(&client, &base).await?;

    let overview = client
        .get(format!("{base}/"))
        .header("cookie", &session)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let static_port = static_server("x".repeat(overview.len())).await?;
    eprintln!("bench: {CLIENTS} clients, {REQUESTS} requests a run…");
    let runs = [
        load(
            &format!("baseline: axum, a static page of {} bytes", overview.len()),
            &client,
            &format!("http://127.0.0.1:{static_port}/"),
            ("cookie", String::new()),
        )
        .await?,
        load(
            "overview `/` (guard's page)",
            &client,
            &format!("{base}/"),
            ("cookie", session.clone()),
        )
        .await?,
        load(
            "`/api/state` (bearer token)",
            &client,
            &format!("{base}/api/state"),
            ("authorization", format!("Bearer {token}")),
        )
        .await?,
    ];

    eprintln!("bench: paging the event log…");
    let max_seq = EVENTS as i64;
    let first_page = median_get(&client, &base, "/events", &session, 20).await?;
    let page_1000 = median_get(
        &client,
        &base,
        &format!("/events?before={}", max_seq - 100 * 999),
        &session,
        20,
    )
    .await?;
    let fire_first = median_get(&client, &base, "/events?category=fire", &session, 20).await?;
    let fire_100 = median_get(
        &client,
        &base,
        &format!("/events?category=fire&before={}", max_seq - 50 * 100 * 99),
        &session,
        20,
    )
    .await?;

    eprintln!("bench: {STREAMS} live streams, {ALARMS} alarms…");
    let sse = streams(&client, &base, &session, &dir.join("feed.sock")).await?;
    let loaded = memory(pid);

    println!("{}", super::bench::machine());
    println!(
        "Web: {CLIENTS} concurrent clients, {REQUESTS} GETs a run; picket (`picket run`, \
         journal of {EVENTS} events) against axum serving a static page of the overview's size."
    );
    println!();
    println!("| run | requests/s | ratio to baseline | p50 | p99 | bytes |");
    println!("|---|---:|---:|---:|---:|---:|");
    let baseline_rate = runs[0].rate;
    for r in &runs {
        println!(
            "| {} | {:.0} | {:.2}× | {} | {} | {} |",
            r.name,
            r.rate,
            r.rate / baseline_rate,
            ms(r.p50),
            ms(r.p99),
            r.bytes
        );
    }
    println!();
    println!(
        "| live stream, {STREAMS} clients, {ALARMS} alarms | p50 | max | ratio to commit p50 |"
    );
    println!("|---|---:|---:|---:|");
    let commit_p50 = percentile(&sse.committed, 0.5);
    let ratio = |d: Duration| d.as_secs_f64() / commit_p50.as_secs_f64().max(1e-9);
    println!(
        "| baseline: feed input → its commit acknowledgement | {} | {} | 1.00× |",
        ms(commit_p50),
        ms(percentile(&sse.committed, 1.0))
    );
    for (name, list) in [
        ("feed input → alarm at the median client", &sse.to_median),
        ("feed input → alarm at all 100 clients", &sse.to_all),
    ] {
        let p50 = percentile(list, 0.5);
        println!(
            "| {name} | {} | {} | {:.2}× |",
            ms(p50),
            ms(percentile(list, 1.0)),
            ratio(p50)
        );
    }
    println!();
    println!("| event log on {EVENTS} events (median of 20) | time | ratio to first page |");
    println!("|---|---:|---:|");
    for (name, t, base_t) in [
        ("first page", first_page, first_page),
        ("1,000th page", page_1000, first_page),
        ("fire only, first page", fire_first, first_page),
        ("fire only, 100th page", fire_100, first_page),
    ] {
        println!(
            "| {name} | {} | {:.2}× |",
            ms(t),
            t.as_secs_f64() / base_t.as_secs_f64().max(1e-9)
        );
    }
    println!();
    println!(
        "Start to `/healthz` 200 on the {EVENTS}-event journal: {}.",
        ms(start_up)
    );
    println!("picket memory: idle {idle}; after the load and {STREAMS} streams {loaded}.");
    drop(daemon);
    Ok(())
}
