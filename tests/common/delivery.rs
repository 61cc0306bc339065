//! Shared by the delivery tests: a site of five 24-hour burglary zones on the feed, with
//! the delivery configuration under test appended, and small waits on peers and the
//! journal.

use super::Feed;
use super::broker::make_certs;
use super::peers::Peer;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long any awaited delivery may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Five 24-hour burglary zones (numbers 11–15), each in its own area (so no alarm confirms
/// another), one contact each, all on the feed.
pub fn site(dir: &Path, delivery: &str) -> picket::config::Config {
    let mut text = format!(
        "[site]\nname = \"Nhà máy Sông Hồng\"\naddress = \"KCN Tân Bình\"\n\
         coordinates = {{ lat = 10.8, lon = 106.6 }}\n\n\
         [journal]\npath = \"{}\"\n\n[feed]\nsocket = \"{}\"\n\n",
        dir.join("journal.db").display(),
        dir.join("feed.sock").display()
    );
    text.push_str(&zones_and(delivery));
    picket::config::parse_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// [`site`]'s areas, zones and sensors, then `delivery`: also the body of a configuration
/// file (`super::write_config`) for a daemon run as its own process.
pub fn zones_and(delivery: &str) -> String {
    let mut text = String::new();
    for i in 1..=5 {
        text.push_str(&format!(
            "[[areas]]\nid = \"a{i}\"\nname = \"Bãi {i}\"\n\n\
             [[zones]]\nid = \"z{i}\"\nname = \"Hàng rào {i}\"\narea = \"a{i}\"\n\
             type = \"burglary_24h\"\nnumber = {}\n\n\
             [[sensors]]\nid = \"s{i}\"\nzone = \"z{i}\"\nkind = \"contact\"\n\
             source = {{ kind = \"feed\" }}\n\n",
            10 + i
        ));
    }
    text.push_str(delivery);
    text
}

/// Opens sensor `s<i>`, raising an alarm in zone `10 + i`, once picket committed it.
pub async fn trip(feed: &mut Feed, i: u32) {
    feed.send(&format!(
        r#"{{"ref":"{i}","sensor":"s{i}","kind":"contact","active":true}}"#
    ))
    .await;
    let reply = feed.reply().await.expect("feed reply");
    assert!(reply.get("ack").is_some(), "{reply}");
}

pub async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    tokio::time::timeout(PATIENCE, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

/// A CA and a server certificate for 127.0.0.1 in `dir`: (certificate, key, CA).
pub fn certs(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    make_certs(dir);
    (
        dir.join("server.pem"),
        dir.join("server.key"),
        dir.join("ca.pem"),
    )
}

/// The receiver's next event that is not a NULL supervision poll.
pub async fn next_report(receiver: &mut Peer) -> Value {
    loop {
        let got = receiver.next(PATIENCE).await;
        if got["message_type"] != "NULL" {
            return got;
        }
    }
}

pub fn sia_channel(primary: u16, backup: Option<u16>, extra: &str) -> String {
    let backup = backup
        .map(|p| format!("backup = \"127.0.0.1:{p}\"\n"))
        .unwrap_or_default();
    format!(
        "[[channels]]\nid = \"arc\"\ntype = \"sia\"\nprimary = \"127.0.0.1:{primary}\"\n{backup}\
         account = \"1234\"\nreceiver = \"1\"\nline = \"1\"\ntimeout_s = 2\n{extra}\n"
    )
}

/// An HTTP client trusting `ca` (and the public roots). reqwest is built without a default
/// TLS provider, so it gets picket's own TLS configuration.
pub fn http_client(ca: Option<&Path>) -> reqwest::Client {
    let tls = picket::channels::tls::client_config(ca, "ca").unwrap();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap()
}

/// The site's journal (the one `site` configures in `dir`), opened alongside picket.
pub async fn journal(dir: &Path) -> picket::journal::Journal {
    picket::journal::Journal::open_existing(&dir.join("journal.db"))
        .await
        .unwrap()
}

/// An HTTPS webhook receiver and the `[[channels]]` entry `hq` that reaches it.
pub async fn webhook(dir: &Path) -> (Peer, String) {
    let (cert, key, ca) = certs(dir);
    let hook = Peer::start(
        "webhook_receiver.py",
        &[cert.to_str().unwrap(), key.to_str().unwrap(), "hook-secret"],
    )
    .await;
    let channel = format!(
        "[[channels]]\nid = \"hq\"\ntype = \"webhook\"\nurl = \"https://127.0.0.1:{}/hook\"\n\
         secret = \"hook-secret\"\nca_file = \"{}\"\n\n",
        hook.port,
        ca.display()
    );
    (hook, channel)
}

/// The next notice the webhook receiver verified whose event carries `code`.
pub async fn next_notice_with_code(hook: &mut Peer, code: u64) -> Value {
    loop {
        let body = next_notice(hook).await;
        if body["event"]["code"] == code {
            return body;
        }
    }
}

/// The next notice the webhook receiver verified.
pub async fn next_notice(hook: &mut Peer) -> Value {
    let got = hook.next(PATIENCE).await;
    assert_eq!(got["verified"], true, "{got}");
    serde_json::from_str(got["body"].as_str().unwrap()).unwrap()
}

/// GETs `path` from picket's HTTP server on `port` without credentials: (status, body).
pub async fn get(port: u16, path: &str) -> (u16, String) {
    get_as(port, "", path).await
}

/// GETs `path` with a bearer token (empty for none): (status, body).
pub async fn get_as(port: u16, token: &str, path: &str) -> (u16, String) {
    let mut request = http_client(None).get(format!("http://127.0.0.1:{port}{path}"));
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// A viewer's API token made in the journal at `dir/journal.db` (picket may be running):
/// what a monitoring system reads `/metrics` and `/api` with.
pub async fn api_token(dir: &Path) -> String {
    let journal = picket::journal::Journal::open(&dir.join("journal.db"))
        .await
        .unwrap();
    let name = format!("test-{}", rand_name());
    let token = journal
        .create_token(
            &name,
            picket::engine::Role::Viewer,
            picket::journal::users::By::cli("test"),
            picket::engine::Timestamp(1),
        )
        .await
        .unwrap();
    journal.close().await;
    token
}

fn rand_name() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// The value of the series whose line starts with `series` (name and labels).
pub fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}
