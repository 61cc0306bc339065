//! The guards' status page over real HTTP: who may see and do what, codes on the page's
//! keypad (a wrong one refused and audited, a duress one doing what was asked and raising
//! the silent 121), CSRF, login lockout, the audit of every action, the live stream in
//! order, security headers on every route and escaping of what sensors are called, the
//! event log's filters and CSV on 100,000 events, and the OpenAPI document covering every
//! API route.

mod common;

use common::Feed;
use common::broker::free_port;
use common::delivery::get_as;
use common::inproc::Picket;
use common::page::{PageClient, add_person};
use picket::engine::Role;
use serde_json::Value;

/// A gate and a warehouse on the feed, the page on `web`.
fn site(dir: &std::path::Path, web: u16) -> picket::config::Config {
    site_with(dir, web, "")
}

/// The page's site with `extra` configuration (channels, escalation) after it.
fn site_with(dir: &std::path::Path, web: u16, extra: &str) -> picket::config::Config {
    let text = format!(
        r#"
[site]
name = "Nhà máy Sông Hồng"
[panel]
abort_window_s = 0
confirmation_window_s = 600
[journal]
path = "{journal}"
[feed]
socket = "{feed}"
[web]
listen = "127.0.0.1:{web}"
[[areas]]
id = "wh"
name = "Kho thành phẩm"
name_en = "Warehouse"
exit_delay_s = 0
[[zones]]
id = "fence"
name = "Hàng rào kho"
name_en = "Warehouse fence"
area = "wh"
type = "perimeter"
[[zones]]
id = "inside"
name = "Trong kho"
area = "wh"
type = "interior"
[[zones]]
id = "cage"
name = "Lồng két"
area = "wh"
type = "burglary_24h"
[[sensors]]
id = "fence_c"
name = "<script>alert('fence')</script>"
zone = "fence"
kind = "fence"
source = {{ kind = "feed" }}
[[sensors]]
id = "pir"
name = "PIR trong kho"
zone = "inside"
kind = "motion"
source = {{ kind = "feed" }}
[[sensors]]
id = "cage_c"
name = "Cửa lồng"
zone = "cage"
kind = "contact"
source = {{ kind = "feed" }}
{extra}
"#,
        journal = dir.join("journal.db").display(),
        feed = dir.join("feed.sock").display(),
    );
    picket::config::parse_str(&text).unwrap_or_else(|e| panic!("{e}"))
}

/// The people: a guard with a duress code, a supervisor, a viewer, an admin.
async fn people(dir: &std::path::Path) {
    let journal = dir.join("journal.db");
    add_person(
        &journal,
        "an",
        Role::Guard,
        "2468",
        Some("2469"),
        "an-password-1",
    )
    .await;
    add_person(
        &journal,
        "binh",
        Role::Supervisor,
        "1357",
        None,
        "binh-password-1",
    )
    .await;
    add_person(&journal, "chi", Role::Viewer, "", None, "chi-password-1").await;
    add_person(
        &journal,
        "dung",
        Role::Admin,
        "8642",
        None,
        "dung-password-1",
    )
    .await;
}

struct Rig {
    picket: Picket,
    feed: Feed,
    web: u16,
    dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    rig_with("").await
}

/// A rig whose site has `extra` configuration.
async fn rig_with(extra: &str) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let web = free_port();
    people(dir.path()).await;
    let picket = Picket::start(site_with(dir.path(), web, extra)).await;
    let feed = Feed::connect(dir.path()).await;
    Rig {
        picket,
        feed,
        web,
        dir,
    }
}

impl Rig {
    async fn client(&self, name: &str, password: &str) -> PageClient {
        let mut c = PageClient::new(self.web);
        let answer = c.login(name, password).await;
        assert_eq!(
            answer.status, 303,
            "{name} could not log in: {}",
            answer.body
        );
        c
    }

    async fn sense(&mut self, sensor: &str, kind: &str, active: bool) {
        self.feed
            .send(&format!(
                r#"{{"sensor":"{sensor}","kind":"{kind}","active":{active}}}"#
            ))
            .await;
        assert!(self.feed.reply().await.unwrap().get("ack").is_some());
    }

    /// The audit log: (user, role, origin, address, action, target, result). The page
    /// hands audit rows to the engine without waiting for their commit; an observation
    /// sent after them is committed after them, so once it is acknowledged they are in.
    async fn audit(
        &mut self,
    ) -> Vec<(
        String,
        String,
        String,
        Option<String>,
        String,
        String,
        String,
    )> {
        self.sense("pir", "motion", false).await;
        let journal = common::delivery::journal(self.dir.path()).await;
        sqlx::query_as(
            "SELECT user_name, role, origin, address, action, target, result FROM audit \
             WHERE action NOT LIKE 'user_%' ORDER BY id",
        )
        .fetch_all(journal.pool())
        .await
        .unwrap()
    }
}

/// Every page and API route a person can reach, with its method.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/fragment/overview"),
    ("GET", "/alarms/1"),
    ("GET", "/fragment/alarms/1"),
    ("GET", "/alarms/1/evidence/cam.jpg"),
    ("GET", "/events"),
    ("GET", "/events.csv"),
    ("GET", "/handover"),
    ("GET", "/health"),
    ("GET", "/fragment/health"),
    ("GET", "/walk-test"),
    ("GET", "/fragment/walk-test"),
    ("GET", "/users"),
    ("GET", "/reports"),
    ("GET", "/reports/download"),
    ("GET", "/stream"),
    ("GET", "/metrics"),
    ("GET", "/api/state"),
    ("GET", "/api/alarms"),
    ("GET", "/api/alarms/1"),
    ("GET", "/api/events"),
    ("GET", "/api/health"),
    ("GET", "/api/cameras/cam/thumbnail.jpg"),
    ("GET", "/api/openapi.json"),
    ("POST", "/api/commands"),
    ("POST", "/areas/wh/command"),
    ("POST", "/alarms/1/ack"),
    ("POST", "/alarms/1/resolve"),
    ("POST", "/zones/fence/bypass"),
    ("POST", "/areas/wh/walk-test"),
    ("POST", "/handover"),
    ("POST", "/handover/1/read"),
    ("POST", "/lang"),
    ("POST", "/logout"),
    ("POST", "/users"),
    ("POST", "/tokens"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_clients_get_only_the_login_page_its_assets_and_healthz_and_every_answer_is_hardened()
 {
    let rig = rig().await;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(picket::channels::tls::client_config(None, "ca").unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{}", rig.web);
    let check_headers = |what: &str, h: &reqwest::header::HeaderMap| {
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'")
                && csp.contains("frame-ancestors 'none'")
                && !csp.contains("unsafe-inline"),
            "{what}: {csp}"
        );
        assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    };
    for (method, path) in ROUTES {
        let request = match *method {
            "GET" => client.get(format!("{base}{path}")),
            _ => client.post(format!("{base}{path}")).form(&[("csrf", "x")]),
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        if path.starts_with("/api") || *path == "/metrics" {
            assert_eq!(status, 401, "{method} {path}");
        } else {
            assert_eq!(status, 303, "{method} {path}");
            assert_eq!(response.headers()["location"], "/login", "{method} {path}");
        }
        check_headers(path, response.headers());
    }
    for path in ["/login", "/assets/app.css", "/assets/app.js", "/healthz"] {
        let response = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        check_headers(path, response.headers());
    }
    let missing = client.get(format!("{base}/nope")).send().await.unwrap();
    check_headers("404", missing.headers());
    rig.picket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_may_do_only_what_it_may_and_the_page_escapes_what_sensors_are_called() {
    let mut rig = rig().await;
    rig.sense("cage_c", "contact", true).await;
    let viewer = rig.client("chi", "chi-password-1").await;
    let guard = rig.client("an", "an-password-1").await;
    let supervisor = rig.client("binh", "binh-password-1").await;

    // Everyone logged in sees the alarm; the sensor's name is text, not markup.
    let overview = viewer.get("/").await;
    assert_eq!(overview.status, 200);
    assert!(overview.body.contains("#1"), "{}", overview.body);
    assert!(
        overview
            .body
            .contains("&#60;script&#62;alert(&#39;fence&#39;)&#60;/script&#62;"),
        "the sensor's name is escaped: {}",
        overview.body
    );
    assert!(
        !overview.body.contains("<script>alert"),
        "markup from a name"
    );
    // Vietnamese first, with its diacritics; the viewer has no buttons.
    assert!(
        overview.body.contains("Báo động đang mở"),
        "{}",
        overview.body
    );
    assert!(!overview.body.contains("Xác nhận xử lý"));

    // A viewer cannot acknowledge: the engine refuses it, and it is audited.
    let refused = viewer.post("/alarms/1/ack", &[]).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    // A guard can.
    let done = guard.post("/alarms/1/ack", &[("note", "đang đến")]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    // A guard cannot bypass, force-arm or manage people.
    assert_eq!(
        guard
            .post("/zones/fence/bypass", &[("on", "true")])
            .await
            .status,
        422
    );
    let force = guard
        .post(
            "/areas/wh/command",
            &[("action", "force_arm_away"), ("code", "2468")],
        )
        .await;
    assert_eq!(force.status, 422, "{}", force.body);
    assert_eq!(guard.get("/users").await.status, 403);
    assert_eq!(
        guard
            .post("/tokens", &[("name", "x"), ("role", "admin")])
            .await
            .status,
        403
    );
    // A supervisor can bypass.
    assert_eq!(
        supervisor
            .post("/zones/fence/bypass", &[("on", "true")])
            .await
            .status,
        303
    );
    let audit = rig.audit().await;
    assert!(
        audit.iter().any(|a| a.0 == "chi"
            && a.4 == "acknowledge"
            && a.6.contains("a viewer cannot give commands")),
        "{audit:?}"
    );
    assert!(
        audit
            .iter()
            .any(|a| a.0 == "an" && a.4 == "bypass" && a.6.contains("only a supervisor")),
        "{audit:?}"
    );
    assert!(
        audit
            .iter()
            .any(|a| a.0 == "an" && a.4 == "force_arm" && a.6.starts_with("refused")),
        "{audit:?}"
    );
    assert!(
        audit
            .iter()
            .any(|a| a.0 == "binh" && a.4 == "bypass" && a.6 == "ok"),
        "{audit:?}"
    );
    rig.picket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_on_the_keypad_a_wrong_one_is_refused_and_a_duress_one_raises_121_unseen() {
    let mut rig = rig().await;
    let guard = rig.client("an", "an-password-1").await;
    // Someone else's code is as wrong as a made-up one: the page knows who is at it.
    for code in ["1111", "1357"] {
        let wrong = guard
            .post(
                "/areas/wh/command",
                &[("action", "arm_away"), ("code", code)],
            )
            .await;
        assert_eq!(wrong.status, 403, "{}", wrong.body);
        assert!(wrong.body.contains("sai mã"), "{}", wrong.body);
    }
    let armed = guard
        .post(
            "/areas/wh/command",
            &[("action", "arm_away"), ("code", "2468")],
        )
        .await;
    assert_eq!(armed.status, 303, "{}", armed.body);
    rig.picket
        .expect("armed from the page: a remote closing by user an", |p| {
            p.event.code.map(|c| c.0) == Some(407) && p.event.user.as_deref() == Some("an")
        })
        .await;

    // Under duress: the area disarms as asked, and a silent 121 is raised …
    let disarmed = guard
        .post(
            "/areas/wh/command",
            &[("action", "disarm"), ("code", "2469")],
        )
        .await;
    assert_eq!(disarmed.status, 303, "{}", disarmed.body);
    let duress = rig
        .picket
        .expect("the silent duress alarm", |p| {
            p.event.code.map(|c| c.0) == Some(121)
        })
        .await;
    assert_eq!(duress.event.user.as_deref(), Some("an"));
    // … which the page at the gate does not show (whoever forces the guard watches it),
    // while the supervisor's does.
    let at_gate = guard.get("/").await;
    assert!(!at_gate.body.contains("(121)"), "duress shown at the gate");
    assert!(
        at_gate.body.contains("data-unacked=\"0\""),
        "no sound for a silent alarm"
    );
    let supervisor = rig.client("binh", "binh-password-1").await;
    assert!(supervisor.get("/").await.body.contains("(121)"));

    let audit = rig.audit().await;
    let wrong: Vec<_> = audit
        .iter()
        .filter(|a| a.6.starts_with("refused: wrong code"))
        .collect();
    assert_eq!(wrong.len(), 2, "{audit:?}");
    for w in wrong {
        assert_eq!(
            (w.0.as_str(), w.2.as_str(), w.3.as_deref(), w.4.as_str()),
            ("unknown", "page", Some("127.0.0.1"), "arm"),
            "{w:?}"
        );
    }
    rig.sense("pir", "motion", false).await;
    rig.picket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing() {
    let mut rig = rig().await;
    rig.sense("cage_c", "contact", true).await;
    let guard = rig.client("an", "an-password-1").await;
    for token in ["", "0123456789abcdef", &"a".repeat(64)] {
        let forged = guard.post_raw("/alarms/1/ack", &[("csrf", token)]).await;
        assert_eq!(forged.status, 403, "{token}: {}", forged.body);
    }
    let api: Value = serde_json::from_str(&guard.get("/api/alarms").await.body).unwrap();
    assert_eq!(api[0]["state"], "raised", "{api}");
    rig.picket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_passwords_lock_the_name_and_every_login_is_audited() {
    let mut rig = rig().await;
    for _ in 0..picket::web::session::NAME_MAX_FAILURES {
        let mut c = PageClient::new(rig.web);
        let answer = c.login("an", "not-the-password").await;
        assert!(matches!(answer.status, 401 | 429), "{}", answer.status);
    }
    // Locked: even the right password is refused now (the lock's expiry is tested on a
    // paused clock in web::session).
    let mut c = PageClient::new(rig.web);
    let locked = c.login("an", "an-password-1").await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(locked.body.contains("Tạm khóa"), "{}", locked.body);
    // Another name from the same place still may.
    rig.client("binh", "binh-password-1").await;
    let audit = rig.audit().await;
    let logins: Vec<(&str, &str)> = audit
        .iter()
        .filter(|a| a.4 == "login")
        .map(|a| (a.0.as_str(), a.6.as_str()))
        .collect();
    assert_eq!(
        logins,
        [
            ("an", "refused: wrong name or password"),
            ("an", "refused: wrong name or password"),
            ("an", "refused: wrong name or password"),
            ("an", "refused: wrong name or password"),
            ("an", "refused: wrong name or password; name locked"),
            ("an", "refused: name locked after repeated failures"),
            ("binh", "ok"),
        ]
    );
    assert!(audit.iter().all(|a| a.3.as_deref() == Some("127.0.0.1")));
    rig.picket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_is_audited_with_who_and_from_where_and_the_handover_reaches_the_next_shift() {
    let mut rig = rig().await;
    let guard = rig.client("an", "an-password-1").await;
    let code = |action: &'static str| [("action", action), ("code", "2468")];
    assert_eq!(
        guard
            .post("/areas/wh/command", &code("arm_away"))
            .await
            .status,
        303
    );
    rig.sense("fence_c", "motion", true).await;
    assert_eq!(
        guard
            .post("/alarms/1/ack", &[("note", "kiểm tra")])
            .await
            .status,
        303
    );
    assert_eq!(
        guard
            .post(
                "/alarms/1/resolve",
                &[("resolution", "false"), ("note", "chim")]
            )
            .await
            .status,
        303
    );
    assert_eq!(
        guard
            .post("/areas/wh/command", &code("disarm"))
            .await
            .status,
        303
    );
    assert_eq!(
        guard
            .post(
                "/handover",
                &[("text", "Cổng sau kẹt khóa, đã báo bảo trì.")]
            )
            .await
            .status,
        303
    );
    assert_eq!(guard.post("/logout", &[]).await.status, 303);
    assert_eq!(guard.get("/").await.status, 303, "logged out");

    // The next shift is taken to the note first, sees what happened since, confirms.
    let mut next = PageClient::new(rig.web);
    let login = next.login("binh", "binh-password-1").await;
    assert_eq!(login.location(), "/handover");
    let handover = next.get("/handover").await;
    assert!(
        handover.body.contains("Cổng sau kẹt khóa"),
        "{}",
        handover.body
    );
    let seq = handover
        .body
        .split("/handover/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_string();
    assert_eq!(
        next.post(&format!("/handover/{seq}/read"), &[])
            .await
            .status,
        303
    );
    assert!(next.get("/handover").await.body.contains("Đã đọc"));
    let mut again = PageClient::new(rig.web);
    assert_eq!(again.login("binh", "binh-password-1").await.location(), "/");

    let audit = rig.audit().await;
    let actions: Vec<(&str, &str, &str)> = audit
        .iter()
        .map(|a| (a.0.as_str(), a.4.as_str(), a.6.as_str()))
        .collect();
    for expected in [
        ("an", "login", "ok"),
        ("an", "arm", "ok"),
        ("an", "acknowledge", "ok"),
        ("an", "resolve", "ok"),
        ("an", "disarm", "ok"),
        ("an", "handover_note", "ok"),
        ("an", "logout", "ok"),
        ("binh", "login", "ok"),
        ("binh", "handover_read", "ok"),
    ] {
        assert!(
            actions.contains(&expected),
            "{expected:?} not in {actions:?}"
        );
    }
    assert!(
        audit
            .iter()
            .filter(|a| a.0 == "an" || a.0 == "binh")
            .all(|a| a.2 == "page" && a.3.as_deref() == Some("127.0.0.1")),
        "{audit:?}"
    );
    rig.picket.stop().await;
}

/// Reads `change` messages off a Server-Sent Events stream until `done`.
async fn changes_until(
    stream: &mut reqwest::Response,
    mut done: impl FnMut(&[Value]) -> bool,
) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut buffer = String::new();
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while !done(&seen) {
            let chunk = stream.chunk().await.unwrap().expect("the stream ended");
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let message: String = buffer.drain(..end + 2).collect();
                if let Some(data) = message.lines().find_map(|l| l.strip_prefix("data: ")) {
                    seen.push(serde_json::from_str(data).unwrap());
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the stream said only {seen:?}"));
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_carries_a_new_alarm_its_confirmation_and_its_acknowledgement_in_order() {
    let mut rig = rig().await;
    let guard = rig.client("an", "an-password-1").await;
    assert_eq!(
        guard
            .post(
                "/areas/wh/command",
                &[("action", "arm_away"), ("code", "2468")]
            )
            .await
            .status,
        303
    );
    let mut stream = guard.stream().await;
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    rig.sense("fence_c", "motion", true).await;
    rig.sense("pir", "motion", true).await;
    assert_eq!(guard.post("/alarms/1/ack", &[]).await.status, 303);
    let states = |seen: &[Value]| -> Vec<String> {
        seen.iter()
            .filter(|m| m["type"] == "alarm" && m["id"] == 1)
            .map(|m| {
                format!(
                    "{} confirmed={}",
                    m["state"].as_str().unwrap(),
                    m["confirmed"]
                )
            })
            .collect()
    };
    let seen = changes_until(&mut stream, |seen| {
        states(seen).iter().any(|s| s.starts_with("acknowledged"))
    })
    .await;
    let mut order = states(&seen);
    order.dedup();
    assert_eq!(
        order,
        [
            "raised confirmed=false",
            "raised confirmed=true",
            "acknowledged confirmed=true"
        ],
        "{seen:?}"
    );
    rig.picket.stop().await;
}

/// The sequence numbers of the rows of an event log page, and its "older" link.
fn log_rows(html: &str) -> (Vec<i64>, Option<String>) {
    let rows = html
        .split("<tr><td>")
        .skip(1)
        .filter_map(|r| r.split("</td>").next()?.parse().ok())
        .collect();
    let older = html
        .split("<a href=\"")
        .filter_map(|a| a.split('"').next())
        .find(|href| href.contains("before="))
        // An attribute's entities, as a browser reads them.
        .map(|href| href.replace("&#38;", "&").replace("&amp;", "&"));
    (rows, older)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_log_filters_pages_and_exports_what_it_shows_from_100_000_events() {
    let dir = tempfile::tempdir().unwrap();
    let web = free_port();
    people(dir.path()).await;
    let config = site(dir.path(), web);
    // 2026-11-01 00:00 in Hanoi, one event a second for 27.8 hours.
    let start = picket::engine::Timestamp(1_793_466_000_000);
    {
        let journal = picket::journal::Journal::open(&dir.path().join("journal.db"))
            .await
            .unwrap();
        let mut writer = picket::journal::Writer::new(journal.clone()).await.unwrap();
        let site = picket::engine::Site::from_config(&config);
        picket::cli::sample_history::write_sample_history(&mut writer, &site, 100_000, start)
            .await
            .unwrap();
        journal.close().await;
    }
    let picket = Picket::start(config).await;
    let supervisor = {
        let mut c = PageClient::new(web);
        assert_eq!(c.login("binh", "binh-password-1").await.status, 303);
        c
    };
    let journal = common::delivery::journal(dir.path()).await;
    // What the journal holds for a filter, newest first: the oracle, in SQL of its own.
    let oracle = |sql: &'static str| {
        let pool = journal.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };

    // No filter: the newest hundred, newest first.
    let (first, older) = log_rows(&supervisor.get("/events").await.body);
    let newest = oracle("SELECT seq FROM events ORDER BY seq DESC LIMIT 100").await;
    assert_eq!(first, newest);
    assert!(older.is_some());

    // Fire alarms at the fence, followed page by page to the end.
    let mut shown = Vec::new();
    let mut next = Some("/events?category=fire&zone=fence".to_string());
    while let Some(path) = next {
        let page = supervisor.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        let (rows, older) = log_rows(&page.body);
        assert!(rows.len() <= 100, "{path}");
        shown.extend(rows);
        next = older;
    }
    let fires = oracle(
        "SELECT seq FROM events WHERE category = 'fire' AND zone = 'fence' ORDER BY seq DESC",
    )
    .await;
    assert!(fires.len() > 600, "{}", fires.len());
    assert_eq!(shown.len(), fires.len());
    assert!(
        shown == fires,
        "the pages show other events than the filter's"
    );

    // One person's arming in a time range (site time, UTC+7), as CSV.
    let csv = supervisor
        .get("/events.csv?user=minh&area=wh&from=2026-11-01T06%3A00&to=2026-11-01T12%3A00")
        .await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let mut lines = csv.body.lines();
    assert_eq!(
        lines.next(),
        Some("seq,time,category,code,qualifier,area,zone,zone_number,sensor,alarm,user,message")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let minh = oracle(
        "SELECT seq FROM events WHERE user_name = 'minh' AND area = 'wh' \
         AND at_ms >= 1793487600000 AND at_ms < 1793509200000 ORDER BY seq DESC",
    )
    .await;
    assert!(!minh.is_empty());
    assert_eq!(
        rows.iter()
            .map(|r| r[0].parse::<i64>().unwrap())
            .collect::<Vec<_>>(),
        minh
    );
    assert!(
        rows.iter()
            .all(|r| r[10] == "minh" && r[1].starts_with("2026-11-01 ")),
        "{rows:?}"
    );
    assert!(rows.iter().any(|r| r[11] == "Đã bật báo động"), "{rows:?}");
    picket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_page_shows_this_months_report_to_viewers_not_guards_and_audits_downloads() {
    let mut rig = rig().await;
    rig.sense("cage_c", "contact", true).await;
    let guard = rig.client("an", "an-password-1").await;
    assert_eq!(guard.post("/alarms/1/ack", &[]).await.status, 303);
    let resolved = guard
        .post(
            "/alarms/1/resolve",
            &[("resolution", "real"), ("note", "Bắt được kẻ trộm")],
        )
        .await;
    assert_eq!(resolved.status, 303, "{}", resolved.body);
    let month = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Ho_Chi_Minh").unwrap())
        .strftime("%Y-%m")
        .to_string();
    let path = format!("/reports?kind=month&value={month}");

    // A guard has no reports, and no link to them.
    assert_eq!(guard.get(&path).await.status, 403);
    assert!(!guard.get("/").await.body.contains("href=\"/reports\""));

    let viewer = rig.client("chi", "chi-password-1").await;
    assert!(viewer.get("/").await.body.contains("href=\"/reports\""));
    let page = viewer.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let (vi_month, year) = (&month[5..7], &month[..4]);
    assert!(
        page.body.contains(&format!("Tháng {vi_month}/{year}")),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<th>Số báo động</th><td>1</td>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Bắt được kẻ trộm"), "{}", page.body);
    assert!(page.body.contains("nguyên vẹn"), "{}", page.body);

    let html = viewer
        .get(&format!(
            "/reports/download?kind=month&value={month}&format=html"
        ))
        .await;
    assert_eq!(html.status, 200);
    assert!(
        html.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"picket-report-")
    );
    assert!(html.body.contains("Bắt được kẻ trộm"));
    let csv = viewer
        .get(&format!(
            "/reports/download?kind=month&value={month}&format=incidents"
        ))
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with('\u{feff}') && csv.body.contains("Bắt được kẻ trộm"));
    let pdf = viewer
        .get(&format!(
            "/reports/download?kind=month&value={month}&format=pdf"
        ))
        .await;
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    assert!(pdf.body.starts_with("%PDF-"));
    // A period that is not one is named.
    let bad = viewer.get("/reports?kind=month&value=tháng-11").await;
    assert!(bad.body.contains("expected YYYY-MM"), "{}", bad.body);

    let downloads: Vec<_> = rig
        .audit()
        .await
        .into_iter()
        .filter(|a| a.4 == "report_download")
        .map(|a| {
            (
                a.0,
                a.2,
                a.3.is_some(),
                a.5.ends_with(".html") || a.5.ends_with("-incidents.csv") || a.5.ends_with(".pdf"),
            )
        })
        .collect();
    assert_eq!(
        downloads,
        [
            ("chi".to_string(), "page".to_string(), true, true),
            ("chi".to_string(), "page".to_string(), true, true),
            ("chi".to_string(), "page".to_string(), true, true)
        ]
    );
    rig.picket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_tls_the_page_speaks_only_https_and_its_cookies_are_secure() {
    let dir = tempfile::tempdir().unwrap();
    let web = free_port();
    people(dir.path()).await;
    let (cert, key, ca) = common::delivery::certs(dir.path());
    let mut config = site(dir.path(), web);
    if let Some(w) = config.web.as_mut() {
        w.tls = Some(picket::config::WebTls {
            cert_file: cert,
            key_file: key,
        });
    }
    let picket = Picket::start(config).await;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(picket::channels::tls::client_config(Some(&ca), "ca").unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("https://127.0.0.1:{web}");
    let cookies = |r: &reqwest::Response| -> Vec<String> {
        r.headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    };
    let login = client.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(login.status(), 200);
    let login_cookie = cookies(&login)
        .into_iter()
        .find(|c| c.starts_with("picket_login="))
        .unwrap();
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(login_cookie.contains(attribute), "{login_cookie}");
    }
    let csrf = common::page::csrf_of(&login.text().await.unwrap());
    let answer = client
        .post(format!("{base}/login"))
        .header("cookie", login_cookie.split(';').next().unwrap())
        .form(&[
            ("name", "an"),
            ("password", "an-password-1"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    let session = cookies(&answer)
        .into_iter()
        .find(|c| c.starts_with("picket_session="))
        .expect("logged in over TLS");
    assert!(
        session.contains("Secure") && session.contains("HttpOnly"),
        "{session}"
    );
    // Plain HTTP on the same port gets no page.
    let plain = reqwest::Client::builder()
        .tls_backend_preconfigured(picket::channels::tls::client_config(None, "ca").unwrap())
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{web}/login"))
        .send()
        .await;
    assert!(
        plain.as_ref().map_or(true, |r| r.status() != 200),
        "{plain:?}"
    );
    picket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_covers_every_api_route() {
    let mut rig = rig().await;
    rig.sense("cage_c", "contact", true).await;
    let token = common::delivery::api_token(rig.dir.path()).await;
    let (status, body) = get_as(rig.web, &token, "/api/openapi.json").await;
    assert_eq!(status, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    let documented: std::collections::BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(|m| (m.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    // Every API route of the router is documented …
    let routed: std::collections::BTreeSet<(String, String)> = ROUTES
        .iter()
        .filter(|(_, p)| p.starts_with("/api"))
        .map(|(m, p)| {
            let p = p
                .replace("/alarms/1", "/alarms/{id}")
                .replace("/cameras/cam/", "/cameras/{camera}/");
            (m.to_string(), p)
        })
        .collect();
    assert_eq!(documented, routed, "{body}");
    // … and every documented one answers (not 404 for want of a route).
    let client = common::delivery::http_client(None);
    for (method, path) in &documented {
        let url = format!(
            "http://127.0.0.1:{}{}",
            rig.web,
            path.replace("{id}", "1").replace("{camera}", "cam")
        );
        let response = match method.as_str() {
            "GET" => client.get(&url).bearer_auth(&token).send().await.unwrap(),
            _ => client
                .post(&url)
                .bearer_auth(&token)
                .json(&serde_json::json!({"action": "ack", "alarm": 1}))
                .send()
                .await
                .unwrap(),
        };
        let text = response.text().await.unwrap_or_default();
        assert!(
            !text.is_empty() || path.contains("thumbnail"),
            "{method} {path}"
        );
    }
    // An unknown API path is not served.
    let (status, _) = get_as(rig.web, &token, "/api/nothing-here").await;
    assert_eq!(status, 404);
    rig.picket.stop().await;
}

/// A headless Chromium under chromedriver, for as long as the value lives.
struct Browser {
    client: fantoccini::Client,
    driver: tokio::process::Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(pid) = self.driver.id() {
            // SAFETY: killpg(2) on the process group of the chromedriver this test started.
            unsafe { libc::killpg(pid as i32, libc::SIGKILL) };
        }
    }
}

impl Browser {
    /// Starts chromedriver on a free port (waiting for its "started" line, not a clock)
    /// and opens one headless Chromium window of 1280×800.
    async fn start() -> Browser {
        use tokio::io::AsyncBufReadExt;
        let port = free_port();
        let mut driver = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            // Its own process group, so that Chromium goes with it even when a test fails
            // before it closes the session.
            .process_group(0)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver (Debian's chromium-driver) is installed");
        let mut lines = tokio::io::BufReader::new(driver.stdout.take().unwrap()).lines();
        tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains("started successfully") {
                    return;
                }
            }
            panic!("chromedriver ended before it started");
        })
        .await
        .expect("chromedriver did not start");
        // Keep reading what chromedriver says, so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--disable-background-networking",
                         "--disable-extensions", "--no-first-run", "--lang=vi",
                         "--window-size=1280,800"],
            }),
        );
        let client = fantoccini::ClientBuilder::new(
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");
        Browser { client, driver }
    }

    /// Sizes the page's viewport (not the window) to `width`×`height` CSS pixels.
    async fn viewport(&self, width: u32, height: u32) {
        let size: Vec<u32> = serde_json::from_value(
            self.client
                .execute(
                    "return [window.outerWidth - window.innerWidth, \
                     window.outerHeight - window.innerHeight]",
                    vec![],
                )
                .await
                .unwrap(),
        )
        .unwrap();
        self.client
            .set_window_size(width + size[0], height + size[1])
            .await
            .unwrap();
    }

    /// A PNG of what the page shows, written under `target/screenshots/`.
    async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, self.client.screenshot().await.unwrap()).unwrap();
        path
    }

    /// Does `act` to what `css` selects. The live page may swap its fragment between
    /// finding an element and using it; a stale element is found again.
    async fn on_fresh<F, A>(&self, css: &str, act: A)
    where
        A: Fn(fantoccini::elements::Element) -> F,
        F: std::future::Future<Output = Result<(), fantoccini::error::CmdError>>,
    {
        for _ in 0..5 {
            let element = self.client.find(fantoccini::Locator::Css(css)).await;
            match act(element.unwrap()).await {
                Err(e) if e.is_stale_element_reference() => continue,
                done => return done.unwrap(),
            }
        }
        panic!("{css} kept going stale");
    }

    /// Types `text` into the field `css` selects.
    async fn type_into(&self, css: &str, text: &str) {
        self.on_fresh(css, |e| async move { e.send_keys(text).await })
            .await;
    }

    /// Clicks what `css` selects.
    async fn click(&self, css: &str) {
        self.on_fresh(css, |e| async move { e.click().await.map(|_| ()) })
            .await;
    }

    /// Chooses `value` in the select `css` selects.
    async fn choose(&self, css: &str, value: &str) {
        self.on_fresh(css, |e| async move {
            e.select_by_value(value).await.map(|_| ())
        })
        .await;
    }

    /// The text of what `css` selects, read in one step in the page.
    async fn text_of(&self, css: &str) -> String {
        let text = self
            .client
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.innerText : null",
                vec![serde_json::json!(css)],
            )
            .await
            .unwrap();
        text.as_str()
            .unwrap_or_else(|| panic!("no {css}"))
            .to_string()
    }

    /// Does the page fit its viewport's width, with no sideways scrolling?
    async fn fits_its_width(&self) -> bool {
        self.client
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth",
                vec![],
            )
            .await
            .unwrap()
            .as_bool()
            .unwrap_or(false)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_chromium_a_guard_logs_in_sees_an_alarm_arrive_unreloaded_acknowledges_and_resolves_it()
{
    use fantoccini::Locator::Css;
    // The gateway texts the guards through a real gammu-smsd, so the Health page shows
    // its modem.
    let smsd_dir = tempfile::tempdir().unwrap();
    let smsd = common::smsd::Smsd::start(smsd_dir.path()).await;
    let mut rig = rig_with(&format!(
        "[[channels]]\nid = \"sms\"\ntype = \"sms\"\ndatabase = \"{}\"\n\
         phone_id = \"picket-test\"\nto = [\"0903 333 333\"]\n\
         [escalation]\ntiers = [{{ name = \"guards\", delay_s = 0, channels = [\"sms\"] }}]\n",
        smsd.db.display()
    ))
    .await;
    let browser = Browser::start().await;
    let c = &browser.client;
    let base = format!("http://127.0.0.1:{}", rig.web);

    c.goto(&format!("{base}/login")).await.unwrap();
    browser.type_into("input[name=name]", "an").await;
    browser
        .type_into("input[name=password]", "an-password-1")
        .await;
    browser.click("button[type=submit]").await;
    let heading = c.wait().for_element(Css("#alarms-h")).await.unwrap();
    assert_eq!(heading.text().await.unwrap(), "Báo động đang mở (0)");
    let header = browser.text_of("header").await;
    assert!(
        header.contains("an (bảo vệ)") && header.contains("Bàn giao ca"),
        "{header}"
    );
    let before = c.execute("window.picketMark = 1; return 1", vec![]).await;
    assert!(before.is_ok());

    // The alarm arrives while the page stays where it is: the marker set on this very
    // document survives, so nothing reloaded it.
    rig.sense("cage_c", "contact", true).await;
    c.wait()
        .at_most(std::time::Duration::from_secs(30))
        .for_element(Css("article.alarm"))
        .await
        .expect("the alarm appeared without a reload");
    let title = browser.text_of("article.alarm .title").await;
    assert!(
        title.contains("#1") && title.contains("Lồng két") && title.contains("Kho thành phẩm"),
        "{title}"
    );
    assert_eq!(
        c.execute("return window.picketMark", vec![]).await.unwrap(),
        1,
        "the page was reloaded"
    );
    // The tab's title flashes while the alarm is not acknowledged.
    let flashed = c
        .execute_async(
            "const done = arguments[arguments.length - 1];\n\
             const check = () => { if (document.title.startsWith('(1)')) done(document.title); };\n\
             new MutationObserver(check).observe(document.head, \
               { childList: true, characterData: true, subtree: true });\n\
             check();",
            vec![],
        )
        .await
        .expect("the title flashed");
    assert_eq!(flashed, "(1) BÁO ĐỘNG");

    browser.viewport(1280, 800).await;
    let wide = browser.screenshot("overview-alarm-1280x800.png").await;
    assert!(
        browser.fits_its_width().await,
        "sideways scrolling at 1280 px"
    );
    browser.viewport(390, 844).await;
    let narrow = browser.screenshot("overview-alarm-390x844.png").await;
    // Who was told, and where each message is, in the page's language (seen at 390 px:
    // "Đã báo cho: sms (pending)").
    let article = browser.text_of("article.alarm").await;
    let told = article
        .lines()
        .find(|l| l.starts_with("Đã báo cho"))
        .unwrap_or_else(|| panic!("no told line in {article}"));
    assert!(
        ["đang chờ gửi", "đã gửi", "đã nhận"]
            .iter()
            .any(|w| told.contains(&format!("sms ({w})"))),
        "{told}"
    );
    assert!(
        browser.fits_its_width().await,
        "sideways scrolling at 390 px"
    );
    for shot in [&wide, &narrow] {
        assert!(
            std::fs::read(shot).unwrap().starts_with(b"\x89PNG"),
            "{}",
            shot.display()
        );
    }

    // Acknowledge from the overview; the alarm's page offers the resolution.
    browser
        .click("article.alarm form[action='/alarms/1/ack'] button")
        .await;
    c.wait()
        .for_element(Css("select[name=resolution]"))
        .await
        .unwrap();
    browser.choose("select[name=resolution]", "false").await;
    let form = "form[action='/alarms/1/resolve']";
    browser
        .type_into(&format!("{form} input[name=note]"), "Mèo chạy qua hàng rào")
        .await;
    browser.click(&format!("{form} button[type=submit]")).await;
    // The alarm was acknowledged already (data-unacked is 0 since): wait for the
    // resolution itself, its note on the page (seen: read before it arrived, 1 run in 4).
    c.wait()
        .for_element(fantoccini::Locator::XPath(
            "//section[contains(@class, 'alarm')][contains(., 'Mèo chạy qua hàng rào')]",
        ))
        .await
        .unwrap();
    let shown = browser.text_of("section.alarm").await;
    assert!(shown.contains("Mèo chạy qua hàng rào"), "{shown}");

    let token = common::delivery::api_token(rig.dir.path()).await;
    let (_, body) = get_as(rig.web, &token, "/api/alarms/1").await;
    let record: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(record["alarm"]["state"], "resolved", "{body}");
    assert_eq!(record["alarm"]["resolution"], "false", "{body}");
    assert_eq!(record["alarm"]["acknowledged_by"], "an", "{body}");
    assert_eq!(record["alarm"]["resolved_by"], "an", "{body}");

    // The Health page on a phone: the SMS channel and its modem, readable at 390 px, once
    // the channel has read the modem (at its first supervision round).
    common::delivery::wait_for("the modem in /api/health", async || {
        let (_, body) = get_as(rig.web, &token, "/api/health").await;
        body.contains("GammuT3l")
    })
    .await;
    c.goto(&format!("{base}/health")).await.unwrap();
    let health = browser.text_of("main").await;
    assert!(
        health.contains("sms") && health.contains("Tốt — GammuT3l sóng 42%"),
        "the SMS channel and its modem on the Health page: {health}"
    );
    let shot = browser.screenshot("health-sms-390x844.png").await;
    assert!(
        browser.fits_its_width().await,
        "sideways scrolling on the Health page at 390 px"
    );
    assert!(std::fs::read(&shot).unwrap().starts_with(b"\x89PNG"));
    rig.picket.stop().await;
    drop(smsd);
}
