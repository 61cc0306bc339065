//! The local HTTP server (axum): the guards' status page (server-rendered, bilingual,
//! live over Server-Sent Events), its JSON API with an OpenAPI document, `/healthz` for
//! supervisors, `/metrics` in Prometheus text format, and `/evidence/…` for the signed
//! evidence links in alarm notices.
//!
//! Everything but the login page, its assets, `/healthz` and signed evidence links needs
//! a session (the page) or a bearer token (`/metrics`, `/api`). Every button is a
//! [`crate::engine::Command`] through the same engine path as MQTT and the keypads, so the
//! engine's role checks and audit apply; arming and disarming take the person's code on
//! an on-screen keypad (a duress code works). Every response carries a strict
//! Content-Security-Policy and `Referrer-Policy: no-referrer`, and every string from a
//! sensor, a camera or a person is escaped by the templates.

mod actions;
pub mod api;
mod assets;
pub mod auth;
mod events_page;
mod evidence;
pub mod i18n;
mod login;
pub mod metrics;
mod pages;
mod reports_page;
mod security;
pub mod session;
mod sse;
mod tls;
mod users_page;
pub mod view;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::escalation::EvidenceLinks;
use crate::journal::{EvidenceFile, Journal};
use crate::shared::effects::Effects;
use crate::shared::shutdown::Shutdown;

/// What the handlers read.
#[derive(Clone)]
pub struct WebState {
    /// The daemon's live state.
    pub effects: Effects,
    /// Evidence files for signed links, when `web.public_url` is set.
    pub evidence: Option<EvidenceServer>,
    /// The page: sessions, the journal, the site; `None` serves only what needs no one.
    pub page: Option<Arc<PageState>>,
    /// The daemon's stop signal: live streams end on it, so a stop never waits on an
    /// open page.
    pub stopping: crate::shared::shutdown::Shutdown,
}

/// What the page and the API need beyond the live state.
pub struct PageState {
    /// History, people, tokens.
    pub journal: Journal,
    /// The site as configured.
    pub site: Arc<crate::engine::Site>,
    /// The site's name.
    pub site_name: String,
    /// Times for people, in the site's zone.
    pub clock: view::Clock,
    /// The language shown first.
    pub locale: i18n::Lang,
    /// Logged-in people and login limits.
    pub sessions: session::Sessions,
    /// Where commands go; weak, so the page never keeps the engine running.
    pub engine: crate::shared::engine_handle::WeakEngineHandle,
    /// One keypad per person: their wrong codes lock their code entry.
    pub keypads: tokio::sync::Mutex<HashMap<String, crate::keypad::Keypad>>,
    /// Cookies get `Secure` (the page is served over TLS).
    pub secure: bool,
    /// What reports take from the configuration.
    pub report_setup: crate::report::Setup,
    /// The reports' settings (the PDF's fonts).
    pub reports: crate::config::Reports,
}

impl PageState {
    /// The page for a configured site.
    pub fn new(
        config: &crate::config::Config,
        site: Arc<crate::engine::Site>,
        journal: Journal,
        engine: crate::shared::engine_handle::WeakEngineHandle,
    ) -> PageState {
        let idle = config.web.as_ref().map_or(15, |w| w.session_idle_min);
        PageState {
            journal,
            site,
            site_name: config.site.name.clone(),
            clock: view::Clock {
                tz: jiff::tz::TimeZone::get(&config.site.timezone)
                    .unwrap_or(jiff::tz::TimeZone::UTC),
            },
            locale: match config.site.locale {
                crate::config::Locale::Vi => i18n::Lang::Vi,
                crate::config::Locale::En => i18n::Lang::En,
            },
            sessions: session::Sessions::new(std::time::Duration::from_secs(u64::from(idle) * 60)),
            engine,
            keypads: tokio::sync::Mutex::new(HashMap::new()),
            secure: config.web.as_ref().is_some_and(|w| w.tls.is_some()),
            report_setup: crate::report::Setup::from_config(config),
            reports: config.reports.clone(),
        }
    }

    /// Records an action in the audit log, through the engine (the journal's only
    /// writer), without waiting for the commit.
    pub async fn audit(&self, entry: crate::engine::AuditEntry) {
        if let Some(engine) = self.engine.upgrade() {
            drop(
                engine
                    .submit_nowait(crate::engine::Input::Audit(entry))
                    .await,
            );
        }
    }

    /// Records that someone saw (or downloaded) an alarm's clip or snapshot: Vietnam's
    /// personal-data law expects a record of who saw recordings of people.
    pub async fn audit_view(&self, who: &str, address: &str, alarm: u64, file: &EvidenceFile) {
        self.audit(crate::engine::AuditEntry {
            at: crate::engine::Timestamp::default(),
            user: who.to_string(),
            role: None,
            origin: crate::engine::Origin::Page,
            address: Some(address.to_string()),
            action: format!("evidence_view:{}:{}", file.camera, file.kind),
            target: format!("evidence:alarm:{alarm}"),
            result: "ok".into(),
        })
        .await;
    }
}

/// Serves evidence files named by signed links.
#[derive(Clone)]
pub struct EvidenceServer {
    /// Where the files are recorded.
    pub journal: Journal,
    /// Checks the links.
    pub links: EvidenceLinks,
}

impl axum::extract::FromRef<WebState> for Effects {
    fn from_ref(state: &WebState) -> Effects {
        state.effects.clone()
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[error("web.listen = {listen}: cannot listen: {source}")]
pub struct WebError {
    /// The configured address.
    pub listen: String,
    /// What the system said.
    pub source: std::io::Error,
}

/// Binds `listen` now, so a taken port stops start-up with a clear error.
pub async fn bind(listen: &str) -> Result<tokio::net::TcpListener, WebError> {
    tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| WebError {
            listen: listen.to_string(),
            source,
        })
}

/// The routes, over `state`.
pub fn router(state: WebState) -> Router {
    let public = Router::new()
        .route("/healthz", get(healthz))
        .route("/login", get(login::page).post(login::submit))
        .route("/assets/{file}", get(assets::serve))
        .route("/evidence/{alarm}/{file}", get(evidence::serve_evidence));
    let (api_routes, _) = api::routes().split_for_parts();
    Router::new()
        .merge(public)
        .merge(pages::routes())
        .merge(actions::routes())
        .merge(events_page::routes())
        .merge(users_page::routes())
        .merge(reports_page::routes())
        .route("/stream", get(sse::stream))
        .route("/metrics", get(prometheus))
        .route(
            "/alarms/{alarm}/evidence/{file}",
            get(evidence::serve_to_person),
        )
        .merge(api_routes)
        .layer(axum::middleware::map_response(security::headers))
        .with_state(state)
}

/// Serves until shutdown: over TLS when `tls` is given.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: WebState,
    tls: Option<Arc<rustls::ServerConfig>>,
    mut shutdown: Shutdown,
) {
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = match tls {
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { shutdown.wait().await })
                .await
        }
        Some(config) => {
            let handle = axum_server::Handle::new();
            let stopper = handle.clone();
            tokio::spawn(async move {
                shutdown.wait().await;
                stopper.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
            });
            match listener.into_std() {
                Ok(std_listener) => {
                    let tls = axum_server::tls_rustls::RustlsConfig::from_config(config);
                    match axum_server::from_tcp_rustls(std_listener, tls) {
                        Ok(server) => server.handle(handle).serve(app).await,
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            }
        }
    };
    if let Err(e) = result {
        tracing::error!(error = %e, "the web server stopped");
    }
}

/// Serves on a copy of the listener the daemon bound at start, until shutdown: the
/// supervisor runs this again after a panic, on the same port.
pub async fn serve_again(
    listener: std::io::Result<std::net::TcpListener>,
    state: WebState,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: Shutdown,
) {
    let listener = listener.and_then(|l| {
        l.set_nonblocking(true)?;
        tokio::net::TcpListener::from_std(l)
    });
    match listener {
        Ok(listener) => serve(listener, state, tls, shutdown).await,
        Err(e) => tracing::error!(error = %e, "the web server cannot take up its socket again"),
    }
}

/// 200 while the journal takes commits and every supervised task runs; 503 once the last
/// commit failed or while a task is dead after a panic (a channel that delivers nothing
/// is as bad as a journal that records nothing), so a supervisor sees a gateway that can
/// no longer record or pass on alarms.
async fn healthz(State(effects): State<Effects>) -> impl IntoResponse {
    let failing = effects.stats.journal_failing();
    let down = effects.health.tasks.down();
    let status = if failing || !down.is_empty() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let word = if failing {
        "journal_failing"
    } else if !down.is_empty() {
        "task_down"
    } else {
        "ok"
    };
    let body = json!({
        "status": word,
        "tasks_down": down,
        "committed": effects.stats.committed.load(std::sync::atomic::Ordering::Relaxed),
    });
    (status, axum::Json(body))
}

async fn prometheus(State(effects): State<Effects>, _who: auth::Who) -> impl IntoResponse {
    match metrics::render(&effects) {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("cannot render metrics: {e}"),
        ),
    }
}

pub use tls::server_config;
