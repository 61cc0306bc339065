//! The local HTTP server (axum): `/healthz` for supervisors, `/metrics` in Prometheus
//! text format for the security team's monitoring, and `/api/health` as JSON for the
//! status page, `/api/cameras/<id>/thumbnail.jpg` for its pictures, and `/evidence/…` for the signed evidence links in alarm notices.
//! Everything it serves is read from [`Effects`] and the journal; it changes nothing.

mod evidence;
pub mod metrics;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::escalation::EvidenceLinks;
use crate::journal::Journal;
use crate::runtime::{Effects, Shutdown};

/// What the handlers read.
#[derive(Clone)]
pub struct WebState {
    /// The daemon's live state.
    pub effects: Effects,
    /// Evidence files for signed links, when `web.public_url` is set.
    pub evidence: Option<EvidenceServer>,
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
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(prometheus))
        .route("/api/health", get(api_health))
        .route("/evidence/{alarm}/{file}", get(evidence::serve_evidence))
        .route("/api/cameras/{camera}/thumbnail.jpg", get(thumbnail))
        .with_state(state)
}

/// Serves until shutdown.
pub async fn serve(listener: tokio::net::TcpListener, state: WebState, mut shutdown: Shutdown) {
    let result = axum::serve(listener, router(state))
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "the web server stopped");
    }
}

/// Serves on a copy of the listener the daemon bound at start, until shutdown: the
/// supervisor runs this again after a panic, on the same port.
pub async fn serve_again(
    listener: std::io::Result<std::net::TcpListener>,
    state: WebState,
    shutdown: Shutdown,
) {
    let listener = listener.and_then(|l| {
        l.set_nonblocking(true)?;
        tokio::net::TcpListener::from_std(l)
    });
    match listener {
        Ok(listener) => serve(listener, state, shutdown).await,
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

async fn prometheus(State(effects): State<Effects>) -> impl IntoResponse {
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

/// The camera's latest thumbnail (a recent keyframe, at most 320 wide), for the page.
async fn thumbnail(
    State(effects): State<Effects>,
    axum::extract::Path(camera): axum::extract::Path<String>,
) -> axum::response::Response {
    let found = effects.health.cameras.get().and_then(|cameras| {
        cameras
            .iter()
            .map(|c| crate::shared_state::lock(c))
            .find(|c| c.camera == camera)
            .map(|c| c.thumbnail.clone())
    });
    match found {
        Some(Some(jpeg)) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            jpeg.bytes.clone(),
        )
            .into_response(),
        Some(None) => (
            StatusCode::NOT_FOUND,
            "Chưa có hình từ camera này.\nNo picture from this camera yet.\n",
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "Không có camera này.\nNo such camera.\n",
        )
            .into_response(),
    }
}

async fn api_health(State(effects): State<Effects>) -> impl IntoResponse {
    axum::Json(metrics::health_json(&effects))
}
