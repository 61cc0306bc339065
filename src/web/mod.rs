//! The local HTTP server (axum): `/healthz` for supervisors, `/metrics` in Prometheus
//! text format for the security team's monitoring, and `/api/health` as JSON for the
//! status page. Everything it serves is read from [`Effects`]; it changes nothing.

pub mod metrics;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::runtime::{Effects, Shutdown};

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

/// The routes, over `effects`.
pub fn router(effects: Effects) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(prometheus))
        .route("/api/health", get(api_health))
        .with_state(effects)
}

/// Serves until shutdown.
pub async fn serve(listener: tokio::net::TcpListener, effects: Effects, mut shutdown: Shutdown) {
    let result = axum::serve(listener, router(effects))
        .with_graceful_shutdown(async move { shutdown.wait().await })
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "the web server stopped");
    }
}

/// 200 while the journal takes commits; 503 once the last commit failed, so a supervisor
/// sees a gateway that can no longer record alarms.
async fn healthz(State(effects): State<Effects>) -> impl IntoResponse {
    let failing = effects.stats.journal_failing();
    let status = if failing {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = json!({
        "status": if failing { "journal_failing" } else { "ok" },
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

async fn api_health(State(effects): State<Effects>) -> impl IntoResponse {
    axum::Json(metrics::health_json(&effects))
}
