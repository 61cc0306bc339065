//! What a person does on the page, each a POST with the session's CSRF token and each a
//! [`Command`] through the engine (so its role checks and its audit apply): arm and
//! disarm with the person's own code on the keypad (a duress code works), acknowledge
//! and resolve, bypass, walk test, the shift handover note and its confirmation; the
//! language switch and logout.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum_extra::extract::cookie::{Cookie, CookieJar};
use serde::Deserialize;

use super::auth::{LANG_COOKIE, SESSION_COOKIE, Who};
use super::i18n::{Lang, Texts};
use super::login::cookie;
use super::pages::{Chrome, Line, html, line, message, page_of};
use super::session::same_secret;
use super::{PageState, WebState};
use crate::engine::{Actor, AuditEntry, Command, CommandKind, Origin, Resolution, Role, Timestamp};
use crate::keypad::Request;
use crate::shared::engine_handle::SubmitError;

/// The POST routes.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/areas/{area}/command", post(area_command))
        .route("/alarms/{alarm}/ack", post(acknowledge))
        .route("/alarms/{alarm}/resolve", post(resolve))
        .route("/zones/{zone}/bypass", post(bypass))
        .route("/areas/{area}/walk-test", post(walk_test))
        .route("/handover", post(handover_note))
        .route("/handover/{seq}/read", post(handover_read))
        .route("/lang", post(switch_language))
        .route("/logout", post(logout))
}

/// Every form's CSRF field.
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    /// The session's token.
    #[serde(default)]
    pub csrf: String,
}

/// The CSRF token of a form matches the session's (a token caller needs none).
pub fn csrf_ok(who: &Who, sent: &str) -> bool {
    who.session.is_none() || (!who.csrf.is_empty() && same_secret(&who.csrf, sent))
}

/// The answer to a forged or stale form.
fn bad_csrf(page: &PageState, who: &Who) -> Response {
    message(
        page,
        who,
        StatusCode::FORBIDDEN,
        "Biểu mẫu đã hết hạn; hãy tải lại trang. / The form has expired; reload the page.",
        "/",
    )
}

/// The person as the engine sees them.
pub fn actor_of(who: &Who, origin: Origin) -> Actor {
    Actor {
        user: who.user.clone(),
        role: who.role,
        duress: false,
        origin,
        number: (who.number > 0).then_some(who.number),
        address: Some(who.address.clone()),
    }
}

/// Carries out a command as `who`; back to `back` when done, a message why not otherwise.
async fn run(page: &PageState, who: &Who, kind: CommandKind, back: &str) -> Response {
    let t = who.lang.t();
    let Some(engine) = page.engine.upgrade() else {
        return message(page, who, StatusCode::SERVICE_UNAVAILABLE, "stopping", back);
    };
    let command = Command {
        kind,
        actor: actor_of(who, Origin::Page),
    };
    match engine.command(command).await {
        Ok(_) => Redirect::to(back).into_response(),
        Err(SubmitError::Refused(r)) => message(
            page,
            who,
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!(
                "{}: {}",
                t.refused,
                who.lang.pick(&r.reason_vi, &r.reason_en)
            ),
            back,
        ),
        Err(e) => message(
            page,
            who,
            StatusCode::SERVICE_UNAVAILABLE,
            &e.to_string(),
            back,
        ),
    }
}

/// The page's state for a form `who` posted, once its CSRF token is right; the refusal
/// otherwise.
#[allow(
    clippy::result_large_err,
    reason = "the error is the answer itself, built once on a refused request"
)]
fn form_page<'a>(state: &'a WebState, who: &Who, csrf: &str) -> Result<&'a PageState, Response> {
    let page = page_of(state)?;
    if !csrf_ok(who, csrf) {
        return Err(bad_csrf(page, who));
    }
    Ok(page)
}

/// The keypad form of an area.
#[derive(Debug, Deserialize)]
pub struct AreaCommandForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    code: String,
}

async fn area_command(
    State(state): State<WebState>,
    who: Who,
    Path(area): Path<String>,
    Form(form): Form<AreaCommandForm>,
) -> Response {
    let page = match form_page(&state, &who, &form.csrf) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = who.lang.t();
    if !who.is_at_least(Role::Guard) {
        return message(page, &who, StatusCode::FORBIDDEN, t.not_allowed, "/");
    }
    let Some(engine) = page.engine.upgrade() else {
        return message(page, &who, StatusCode::SERVICE_UNAVAILABLE, "stopping", "/");
    };
    let request = Request {
        action: form.action,
        area,
        code: form.code,
        ..Request::default()
    };
    let answer = {
        let mut keypads = page.keypads.lock().await;
        let keypad = keypads.entry(who.user.clone()).or_insert_with(|| {
            crate::keypad::Keypad::new(Origin::Page, page.journal.clone(), engine.clone())
        });
        keypad
            .enter_as(&request, &who.address, Some(&who.user))
            .await
    };
    if answer.ok {
        Redirect::to("/").into_response()
    } else {
        let status = if answer.wrong_code {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        let why = who.lang.pick(&answer.reason_vi, &answer.reason_en);
        message(page, &who, status, &format!("{}: {why}", t.refused), "/")
    }
}

/// A note with an acknowledgement.
#[derive(Debug, Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
}

async fn acknowledge(
    State(state): State<WebState>,
    who: Who,
    Path(alarm): Path<u64>,
    Form(form): Form<NoteForm>,
) -> Response {
    let page = match form_page(&state, &who, &form.csrf) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let note = form.note.chars().take(500).collect();
    run(
        page,
        &who,
        CommandKind::Acknowledge { alarm, note },
        &format!("/alarms/{alarm}"),
    )
    .await
}

/// A resolution with its note.
#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    resolution: String,
    #[serde(default)]
    note: String,
}

async fn resolve(
    State(state): State<WebState>,
    who: Who,
    Path(alarm): Path<u64>,
    Form(form): Form<ResolveForm>,
) -> Response {
    let page = match form_page(&state, &who, &form.csrf) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let back = format!("/alarms/{alarm}");
    let Some(resolution) = Resolution::parse(&form.resolution) else {
        let t = who.lang.t();
        return message(
            page,
            &who,
            StatusCode::UNPROCESSABLE_ENTITY,
            t.resolution,
            &back,
        );
    };
    let note = form.note.chars().take(500).collect();
    run(
        page,
        &who,
        CommandKind::Resolve {
            alarm,
            resolution,
            note,
        },
        &back,
    )
    .await
}

/// An on/off switch.
#[derive(Debug, Deserialize)]
pub struct OnForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    on: bool,
}

async fn bypass(
    State(state): State<WebState>,
    who: Who,
    Path(zone): Path<String>,
    Form(form): Form<OnForm>,
) -> Response {
    let page = match form_page(&state, &who, &form.csrf) {
        Ok(p) => p,
        Err(r) => return r,
    };
    run(page, &who, CommandKind::Bypass { zone, on: form.on }, "/").await
}

async fn walk_test(
    State(state): State<WebState>,
    who: Who,
    Path(area): Path<String>,
    Form(form): Form<OnForm>,
) -> Response {
    let page = match form_page(&state, &who, &form.csrf) {
        Ok(p) => p,
        Err(r) => return r,
    };
    run(
        page,
        &who,
        CommandKind::WalkTest { area, on: form.on },
        "/walk-test",
    )
    .await
}

// ----- shift handover -------------------------------------------------------------------

/// The latest note as shown.
pub struct NoteView {
    seq: i64,
    who: String,
    when: String,
    text: String,
    read: bool,
}

#[derive(Template)]
#[template(path = "handover.html")]
struct HandoverPage {
    t: &'static Texts,
    c: Chrome,
    note: Option<NoteView>,
    since: Vec<Line>,
    may_command: bool,
}

/// Events since the note that the next shift must know: alarms, troubles, arming.
const SINCE_CATEGORIES: &[&str] = &[
    "fire",
    "panic",
    "duress",
    "burglary",
    "tamper",
    "technical",
    "trouble",
    "arming",
    "cancel",
    "bypass",
];

/// `GET /handover`: the latest note, what happened since, and the confirmation.
pub async fn handover_page(State(state): State<WebState>, who: Who) -> Response {
    let page = match page_of(&state) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = who.lang.t();
    let filter = crate::journal::EventFilter {
        kind: Some("handover_note".into()),
        ..Default::default()
    };
    let latest = page
        .journal
        .events_page(&filter, None, 1)
        .await
        .unwrap_or_default();
    let mut since = Vec::new();
    let note = match latest.into_iter().next() {
        Some(n) => {
            let mut newer = Vec::new();
            let mut before = None;
            // Walk back from the newest event to the note, one page at a time.
            'pages: loop {
                let rows = page
                    .journal
                    .events_page(&Default::default(), before, 200)
                    .await
                    .unwrap_or_default();
                let Some(last) = rows.last() else { break };
                before = Some(last.seq);
                for e in rows {
                    if e.seq <= n.seq {
                        break 'pages;
                    }
                    if SINCE_CATEGORIES.contains(&e.category.as_str()) && newer.len() < 500 {
                        newer.push(e);
                    }
                }
            }
            newer.reverse();
            since = newer.iter().map(|e| line(page, e, who.lang)).collect();
            let read = n.user_name.as_deref() == Some(&who.user)
                || page
                    .journal
                    .has_read(&who.user, n.seq)
                    .await
                    .unwrap_or(false);
            Some(NoteView {
                seq: n.seq,
                who: n.user_name.clone().unwrap_or_default(),
                when: page.clock.full(n.at_ms),
                text: who.lang.pick(&n.message_vi, &n.message_en).to_string(),
                read,
            })
        }
        None => None,
    };
    html(HandoverPage {
        t,
        c: Chrome::new(page, &who, t.handover_title),
        note,
        since,
        may_command: who.is_at_least(Role::Guard),
    })
}

/// The note form.
#[derive(Debug, Deserialize)]
pub struct HandoverForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

async fn handover_note(
    State(state): State<WebState>,
    who: Who,
    Form(form): Form<HandoverForm>,
) -> Response {
    let page = match form_page(&state, &who, &form.csrf) {
        Ok(p) => p,
        Err(r) => return r,
    };
    run(
        page,
        &who,
        CommandKind::HandoverNote { text: form.text },
        "/handover",
    )
    .await
}

async fn handover_read(
    State(state): State<WebState>,
    who: Who,
    Path(seq): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let page = match form_page(&state, &who, &form.csrf) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(engine) = page.engine.upgrade() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let entry = AuditEntry {
        at: Timestamp::default(),
        user: who.user.clone(),
        role: Some(who.role),
        origin: Origin::Page,
        address: Some(who.address.clone()),
        action: "handover_read".into(),
        target: format!("event:{seq}"),
        result: "ok".into(),
    };
    // Committed before the answer, so the page that follows shows it read.
    let _ = engine.submit(crate::engine::Input::Audit(entry)).await;
    Redirect::to("/handover").into_response()
}

// ----- language and logout --------------------------------------------------------------

/// The language switch.
#[derive(Debug, Deserialize)]
pub struct LangForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    lang: String,
}

async fn switch_language(
    State(state): State<WebState>,
    who: Who,
    jar: CookieJar,
    Form(form): Form<LangForm>,
) -> Response {
    let page = match form_page(&state, &who, &form.csrf) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let lang = Lang::parse(&form.lang).unwrap_or(page.locale);
    let jar = jar.add(cookie(page, LANG_COOKIE, lang.code().to_string()));
    (jar, Redirect::to("/")).into_response()
}

async fn logout(
    State(state): State<WebState>,
    who: Who,
    jar: CookieJar,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let page = match form_page(&state, &who, &form.csrf) {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Some(id) = &who.session {
        page.sessions.end(id);
    }
    page.audit(AuditEntry {
        at: Timestamp::default(),
        user: who.user.clone(),
        role: Some(who.role),
        origin: Origin::Page,
        address: Some(who.address.clone()),
        action: "logout".into(),
        target: who.user.clone(),
        result: "ok".into(),
    })
    .await;
    (
        jar.remove(Cookie::from(SESSION_COOKIE)),
        Redirect::to("/login"),
    )
        .into_response()
}
