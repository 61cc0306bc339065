//! Logging in: name and page password (argon2id, not the arming code), limited per name
//! and per address, every attempt audited with its address. The login form carries a
//! CSRF token tied to a cookie of its own (no session exists yet). A person who has not
//! read the latest shift handover note is taken to it first.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

use super::auth::{LANG_COOKIE, SESSION_COOKIE, lang_of};
use super::evidence::ConnectInfoAddress;
use super::i18n::{Lang, Texts};
use super::session::{Locked, random_token, same_secret};
use super::{PageState, WebState};
use crate::engine::{AuditEntry, Origin, Timestamp};

/// The login form's own CSRF cookie.
const LOGIN_COOKIE: &str = "picket_login";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: &'static Texts,
    lang: &'static str,
    other_lang: &'static str,
    other_lang_name: &'static str,
    site_name: &'a str,
    csrf: &'a str,
    error: &'a str,
}

/// `?lang=vi|en` on the login page.
#[derive(Debug, Deserialize)]
pub struct LangQuery {
    #[serde(default)]
    lang: String,
}

/// A cookie as the page sets them: HttpOnly, SameSite=Strict, Secure under TLS.
pub fn cookie(page: &PageState, name: &'static str, value: String) -> Cookie<'static> {
    let mut c = Cookie::new(name, value);
    c.set_http_only(true);
    c.set_same_site(SameSite::Strict);
    c.set_path("/");
    c.set_secure(page.secure);
    c
}

fn render(
    page: &PageState,
    jar: CookieJar,
    lang: Lang,
    error: &str,
    status: StatusCode,
) -> Response {
    let csrf = random_token();
    let t = lang.t();
    let html = LoginPage {
        t,
        lang: lang.code(),
        other_lang: lang.other().code(),
        other_lang_name: lang.other().t().language_name,
        site_name: &page.site_name,
        csrf: &csrf,
        error,
    }
    .render()
    .unwrap_or_else(|e| format!("template error: {e}"));
    let jar = jar.add(cookie(page, LOGIN_COOKIE, csrf));
    (status, jar, Html(html)).into_response()
}

/// `GET /login`.
pub async fn page(
    State(state): State<WebState>,
    jar: CookieJar,
    Query(q): Query<LangQuery>,
) -> Response {
    let Some(page) = &state.page else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (jar, lang) = match Lang::parse(&q.lang) {
        Some(lang) => (
            jar.add(cookie(page, LANG_COOKIE, lang.code().to_string())),
            lang,
        ),
        None => {
            let lang = lang_of(&jar, page.locale);
            (jar, lang)
        }
    };
    render(page, jar, lang, "", StatusCode::OK)
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /login`.
pub async fn submit(
    State(state): State<WebState>,
    jar: CookieJar,
    ConnectInfoAddress(address): ConnectInfoAddress,
    Form(form): Form<LoginForm>,
) -> Response {
    let Some(page) = &state.page else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let lang = lang_of(&jar, page.locale);
    let t = lang.t();
    let expected = jar
        .get(LOGIN_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if expected.is_empty() || !same_secret(&expected, &form.csrf) {
        return render(page, jar, lang, t.login_failed, StatusCode::BAD_REQUEST);
    }
    let name: String = form.name.trim().chars().take(64).collect();
    let audit = |result: &str| AuditEntry {
        at: Timestamp::default(),
        user: name.clone(),
        role: None,
        origin: Origin::Page,
        address: Some(address.clone()),
        action: "login".into(),
        target: name.clone(),
        result: result.to_string(),
    };
    if let Err(locked) = page.sessions.may_try(&name, &address) {
        let why = match locked {
            Locked::Name => "refused: name locked after repeated failures",
            Locked::Address => "refused: address locked after repeated failures",
        };
        page.audit(audit(why)).await;
        return render(
            page,
            jar,
            lang,
            t.login_locked,
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let person = match page.journal.check_password(&name, &form.password).await {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "cannot check a login");
            None
        }
    };
    let Some(person) = person else {
        let locked = page.sessions.failed(&name, &address);
        let why = match locked {
            Some(Locked::Name) => "refused: wrong name or password; name locked",
            Some(Locked::Address) => "refused: wrong name or password; address locked",
            None => "refused: wrong name or password",
        };
        page.audit(audit(why)).await;
        let words = if locked.is_some() {
            t.login_locked
        } else {
            t.login_failed
        };
        return render(page, jar, lang, words, StatusCode::UNAUTHORIZED);
    };
    let id = page
        .sessions
        .start(&person.name, person.role, person.number);
    page.audit(AuditEntry {
        role: Some(person.role),
        ..audit("ok")
    })
    .await;
    let jar = jar
        .remove(Cookie::from(LOGIN_COOKIE))
        .add(cookie(page, SESSION_COOKIE, id));
    let next = if super::pages::unread_handover(page, &person.name).await {
        "/handover"
    } else {
        "/"
    };
    (jar, Redirect::to(next)).into_response()
}
