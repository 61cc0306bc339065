//! The users page, for admins only: people (add, role, page password, codes, disable) and
//! the API tokens (create, shown once; revoke). Every change is audited with the admin's
//! name and address; a person whose role changes or who is disabled is logged out.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::actions::csrf_ok;
use super::auth::Who;
use super::i18n::Texts;
use super::pages::{Chrome, html, message, page_of};
use super::{PageState, WebState};
use crate::engine::{Origin, Role, Timestamp};
use crate::journal::tokens::TokenInfo;
use crate::journal::users::{By, Person};

/// The routes.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/users", get(users).post(add_user))
        .route("/users/{name}/role", post(set_role))
        .route("/users/{name}/password", post(set_password))
        .route("/users/{name}/codes", post(set_codes))
        .route("/users/{name}/disabled", post(set_disabled))
        .route("/users/{name}/phone", post(set_phone))
        .route("/tokens", post(create_token))
        .route("/tokens/{name}/revoke", post(revoke_token))
}

/// The roles one can give.
const ROLES: &[&str] = &["viewer", "guard", "supervisor", "installer", "admin"];

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    t: &'static Texts,
    c: Chrome,
    people: Vec<Person>,
    tokens: Vec<TokenInfo>,
    roles: Vec<&'static str>,
    new_token: String,
}

fn now() -> Timestamp {
    Timestamp(jiff::Timestamp::now().as_millisecond())
}

fn by(who: &Who) -> By<'_> {
    By {
        name: &who.user,
        origin: Origin::Page,
        address: Some(&who.address),
    }
}

/// The page's state for an admin (and a form whose CSRF token is right, when one was
/// posted); the refusal otherwise.
#[allow(
    clippy::result_large_err,
    reason = "the error is the answer itself, built once on a refused request"
)]
fn admin_page<'a>(
    state: &'a WebState,
    who: &Who,
    csrf: Option<&str>,
) -> Result<&'a PageState, Response> {
    let page = page_of(state)?;
    if !who.is_at_least(Role::Admin) {
        return Err(message(
            page,
            who,
            StatusCode::FORBIDDEN,
            who.lang.t().not_allowed,
            "/",
        ));
    }
    if let Some(sent) = csrf
        && !csrf_ok(who, sent)
    {
        return Err(message(page, who, StatusCode::FORBIDDEN, "CSRF", "/users"));
    }
    Ok(page)
}

async fn render(page: &PageState, who: &Who, new_token: String) -> Response {
    let t = who.lang.t();
    html(UsersPage {
        t,
        c: Chrome::new(page, who, t.users_title),
        people: page.journal.people().await.unwrap_or_default(),
        tokens: page.journal.tokens().await.unwrap_or_default(),
        roles: ROLES.to_vec(),
        new_token,
    })
}

async fn users(State(state): State<WebState>, who: Who) -> Response {
    let page = match admin_page(&state, &who, None) {
        Ok(p) => p,
        Err(r) => return r,
    };
    render(page, &who, String::new()).await
}

/// After a change: back to the list, or why it could not be done.
fn done(page: &PageState, who: &Who, result: Result<(), crate::journal::JournalError>) -> Response {
    match result {
        Ok(()) => Redirect::to("/users").into_response(),
        Err(e) => message(
            page,
            who,
            StatusCode::UNPROCESSABLE_ENTITY,
            &e.to_string(),
            "/users",
        ),
    }
}

/// A new person.
#[derive(Debug, Deserialize)]
pub struct NewUser {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    password: String,
}

async fn add_user(State(state): State<WebState>, who: Who, Form(f): Form<NewUser>) -> Response {
    let page = match admin_page(&state, &who, Some(&f.csrf)) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(role) = Role::parse(&f.role) else {
        return message(
            page,
            &who,
            StatusCode::UNPROCESSABLE_ENTITY,
            "role",
            "/users",
        );
    };
    let number = f.number.trim().parse::<u16>().ok();
    let result = page
        .journal
        .add_user_numbered(f.name.trim(), role, &f.code, None, number, by(&who), now())
        .await;
    let result = match result {
        Ok(_) => {
            page.journal
                .set_password(f.name.trim(), &f.password, by(&who), now())
                .await
        }
        Err(e) => Err(e),
    };
    let result = match result {
        Ok(()) if !f.phone.trim().is_empty() => {
            page.journal
                .set_phone(f.name.trim(), Some(&f.phone), by(&who), now())
                .await
        }
        other => other,
    };
    done(page, &who, result)
}

/// A phone number (empty removes it).
#[derive(Debug, Deserialize)]
pub struct PhoneForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    phone: String,
}

async fn set_phone(
    State(state): State<WebState>,
    who: Who,
    Path(name): Path<String>,
    Form(f): Form<PhoneForm>,
) -> Response {
    let page = match admin_page(&state, &who, Some(&f.csrf)) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = page
        .journal
        .set_phone(&name, Some(&f.phone), by(&who), now())
        .await;
    done(page, &who, result)
}

/// A role change.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
}

async fn set_role(
    State(state): State<WebState>,
    who: Who,
    Path(name): Path<String>,
    Form(f): Form<RoleForm>,
) -> Response {
    let page = match admin_page(&state, &who, Some(&f.csrf)) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(role) = Role::parse(&f.role) else {
        return message(
            page,
            &who,
            StatusCode::UNPROCESSABLE_ENTITY,
            "role",
            "/users",
        );
    };
    let result = page.journal.set_role(&name, role, by(&who), now()).await;
    if result.is_ok() {
        page.sessions.end_all_of(&name);
    }
    done(page, &who, result)
}

/// A new page password.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

async fn set_password(
    State(state): State<WebState>,
    who: Who,
    Path(name): Path<String>,
    Form(f): Form<PasswordForm>,
) -> Response {
    let page = match admin_page(&state, &who, Some(&f.csrf)) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = page
        .journal
        .set_password(&name, &f.password, by(&who), now())
        .await;
    if result.is_ok() {
        page.sessions.end_all_of(&name);
    }
    done(page, &who, result)
}

/// New codes.
#[derive(Debug, Deserialize)]
pub struct CodesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    duress: String,
}

async fn set_codes(
    State(state): State<WebState>,
    who: Who,
    Path(name): Path<String>,
    Form(f): Form<CodesForm>,
) -> Response {
    let page = match admin_page(&state, &who, Some(&f.csrf)) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let duress = (!f.duress.is_empty()).then_some(f.duress.as_str());
    let result = page
        .journal
        .set_codes(&name, &f.code, duress, by(&who), now())
        .await;
    done(page, &who, result)
}

/// Disable or enable.
#[derive(Debug, Deserialize)]
pub struct DisabledForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    disabled: bool,
}

async fn set_disabled(
    State(state): State<WebState>,
    who: Who,
    Path(name): Path<String>,
    Form(f): Form<DisabledForm>,
) -> Response {
    let page = match admin_page(&state, &who, Some(&f.csrf)) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let result = page
        .journal
        .set_disabled(&name, f.disabled, by(&who), now())
        .await;
    if result.is_ok() && f.disabled {
        page.sessions.end_all_of(&name);
    }
    done(page, &who, result)
}

/// A new token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

async fn create_token(
    State(state): State<WebState>,
    who: Who,
    Form(f): Form<TokenForm>,
) -> Response {
    let page = match admin_page(&state, &who, Some(&f.csrf)) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(role) = Role::parse(&f.role) else {
        return message(
            page,
            &who,
            StatusCode::UNPROCESSABLE_ENTITY,
            "role",
            "/users",
        );
    };
    match page
        .journal
        .create_token(f.name.trim(), role, by(&who), now())
        .await
    {
        Ok(token) => render(page, &who, token).await,
        Err(e) => message(
            page,
            &who,
            StatusCode::UNPROCESSABLE_ENTITY,
            &e.to_string(),
            "/users",
        ),
    }
}

async fn revoke_token(
    State(state): State<WebState>,
    who: Who,
    Path(name): Path<String>,
    Form(f): Form<super::actions::CsrfOnly>,
) -> Response {
    let page = match admin_page(&state, &who, Some(&f.csrf)) {
        Ok(p) => p,
        Err(r) => return r,
    };
    done(
        page,
        &who,
        page.journal.revoke_token(&name, by(&who), now()).await,
    )
}
