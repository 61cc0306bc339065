//! The local HTTP server, over real HTTP: `/healthz`, `/metrics` in Prometheus text with
//! each channel's and each receiver path's state (a dead primary shows down, the backup
//! up, the channel degraded), and `/api/health` for the page; a taken port stops start-up
//! with an error naming `web.listen`.

mod common;

use common::Feed;
use common::broker::free_port;
use common::delivery::{get, get_as, next_report, sample, sia_channel, site, trip, wait_for};
use common::inproc::Picket;
use common::peers::Peer;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_each_channel_and_path_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let dead = free_port();
    let web = free_port();
    let mut receiver = Peer::start("sia_receiver.py", &["tcp"]).await;
    let config = site(
        dir.path(),
        &format!(
            "{}[escalation]\ntiers = [{{ name = \"police\", delay_s = 0, channels = [\"arc\"] }}]\n\n\
             [web]\nlisten = \"127.0.0.1:{web}\"\n",
            sia_channel(
                dead,
                Some(receiver.port),
                "supervision_s = 1\npath_down_after_s = 2"
            )
        ),
    );
    let picket = Picket::start(config).await;
    let token = common::delivery::api_token(dir.path()).await;
    let (status, body) = get(web, "/healthz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["status"],
        "ok"
    );

    let mut feed = Feed::connect(dir.path()).await;
    trip(&mut feed, 1).await;
    let got = next_report(&mut receiver).await;
    assert_eq!(got["event_type"], "133", "{got}");

    // The primary has not answered for its window: down, while the backup carries on.
    let mut metrics = String::new();
    wait_for("the primary path down on /metrics", async || {
        metrics = get_as(web, &token, "/metrics").await.1;
        sample(
            &metrics,
            r#"picket_channel_path_state{channel="arc",path="primary",state="down"}"#,
        ) == Some(1.0)
    })
    .await;
    for (series, value) in [
        (
            r#"picket_channel_path_state{channel="arc",path="backup",state="up"}"#,
            1.0,
        ),
        (
            r#"picket_channel_path_state{channel="arc",path="primary",state="up"}"#,
            0.0,
        ),
        (
            r#"picket_channel_state{channel="arc",kind="sia",state="degraded"}"#,
            1.0,
        ),
        (
            r#"picket_channel_state{channel="arc",kind="sia",state="up"}"#,
            0.0,
        ),
        (r#"picket_channel_delivered_total{channel="arc"}"#, 1.0),
        (r#"picket_channel_queue_due{channel="arc"}"#, 0.0),
        ("picket_open_alarms", 1.0),
        ("picket_journal_failing", 0.0),
    ] {
        assert_eq!(sample(&metrics, series), Some(value), "{series}\n{metrics}");
    }
    assert!(
        sample(&metrics, "picket_journal_commits_total").unwrap() >= 1.0,
        "{metrics}"
    );
    assert!(metrics.trim_end().ends_with("# EOF"), "{metrics}");

    let (status, body) = get_as(web, &token, "/api/health").await;
    assert_eq!(status, 200);
    let health: Value = serde_json::from_str(&body).unwrap();
    let arc = &health["channels"][0];
    assert_eq!(arc["channel"], "arc", "{health}");
    assert_eq!(arc["state"], "degraded", "{health}");
    assert_eq!(arc["paths"][0]["state"], "down", "{health}");
    assert!(
        arc["paths"][0]["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("connect"),
        "{health}"
    );
    picket.stop().await;
    receiver.stop().await;
}

#[tokio::test]
async fn a_taken_port_stops_start_up_naming_web_listen() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let config = site(
        dir.path(),
        &format!("[web]\nlisten = \"127.0.0.1:{port}\"\n"),
    );
    let err = picket::runtime::run(config, picket::runtime::RunOptions::default())
        .await
        .expect_err("started on a taken port");
    let text = err.to_string();
    assert!(
        text.contains(&format!("web.listen = 127.0.0.1:{port}")) && text.contains("in use"),
        "{text}"
    );
}
