//! Who is asking: a page session (its cookie) or a bearer token (for `/metrics` and the
//! API). Every route but the login page, its assets, `/healthz` and signed evidence links
//! takes a [`Who`]; without one a page request is sent to the login page and an API
//! request gets 401.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use std::net::SocketAddr;

use super::WebState;
use super::i18n::Lang;
use crate::engine::Role;

/// The session cookie.
pub const SESSION_COOKIE: &str = "picket_session";
/// The language cookie.
pub const LANG_COOKIE: &str = "picket_lang";

/// A person (or token) whose request is being served.
#[derive(Debug, Clone)]
pub struct Who {
    /// User name, or the token's name.
    pub user: String,
    /// Role.
    pub role: Role,
    /// User number (0 for a token).
    pub number: u16,
    /// The session's CSRF token (empty for a token: a bearer token is not sent by a
    /// browser on its own, so it needs none).
    pub csrf: String,
    /// The session id, for logout.
    pub session: Option<String>,
    /// The language they read.
    pub lang: Lang,
    /// The client's address.
    pub address: String,
}

impl Who {
    /// At least `role`?
    pub fn is_at_least(&self, role: Role) -> bool {
        self.role >= role
    }
}

/// The client address of a request (`unknown` without connection info).
pub fn address_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The language: the person's cookie, else the site's locale.
pub fn lang_of(jar: &CookieJar, site_default: Lang) -> Lang {
    jar.get(LANG_COOKIE)
        .and_then(|c| Lang::parse(c.value()))
        .unwrap_or(site_default)
}

/// Not logged in.
pub struct NoSession {
    /// An API request (401) rather than a page (redirect).
    api: bool,
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        if self.api {
            (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                axum::Json(serde_json::json!({
                    "error": "log in, or send a token: Authorization: Bearer <token>"
                })),
            )
                .into_response()
        } else {
            Redirect::to("/login").into_response()
        }
    }
}

impl FromRequestParts<WebState> for Who {
    type Rejection = NoSession;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Who, NoSession> {
        let api = parts.uri.path().starts_with("/api") || parts.uri.path() == "/metrics";
        let Some(page) = &state.page else {
            return Err(NoSession { api });
        };
        let address = address_of(parts);
        let jar = CookieJar::from_headers(&parts.headers);
        let lang = lang_of(&jar, page.locale);
        if let Some(id) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string())
            && let Some(s) = page.sessions.touch(&id)
        {
            return Ok(Who {
                user: s.user,
                role: s.role,
                number: s.number,
                csrf: s.csrf,
                session: Some(id),
                lang,
                address,
            });
        }
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(token) = bearer
            && let Ok(Some((name, role))) = page.journal.check_token(token.trim()).await
        {
            return Ok(Who {
                user: format!("token:{name}"),
                role,
                number: 0,
                csrf: String::new(),
                session: None,
                lang,
                address,
            });
        }
        Err(NoSession { api })
    }
}
