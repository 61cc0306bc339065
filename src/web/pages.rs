//! The pages that show: the overview (alarms first, areas with their keypads, sensors,
//! cameras, every link's health), an alarm (timeline, evidence, escalation, who viewed
//! the evidence), system health, the walk test and the shift handover. Each live page
//! also has a fragment (`/fragment/…`) that the page's script fetches when the change
//! stream says something changed.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use std::sync::atomic::Ordering;

use super::auth::Who;
use super::i18n::Texts;
use super::view::{self, AlarmView, AreaView, CameraView, LinkView, SensorView};
use super::{PageState, WebState};
use crate::config::ZoneType;
use crate::engine::{AlarmState, Category, Role};
use crate::shared::effects::Effects;

/// The header and frame of every page.
pub struct Chrome {
    /// `vi` / `en`.
    pub lang: &'static str,
    /// The other language's code.
    pub other_lang: &'static str,
    /// The other language's own name.
    pub other_lang_name: &'static str,
    /// The page's title.
    pub title: String,
    /// The site.
    pub site_name: String,
    /// Who is logged in.
    pub user: String,
    /// Their role.
    pub role: &'static str,
    /// This session's CSRF token, for every form.
    pub csrf: String,
    /// Sees the users page.
    pub is_admin: bool,
    /// Sees the walk test page.
    pub may_walk_test: bool,
    /// Reports: viewers, supervisors and up.
    pub may_report: bool,
    /// A message to show at the top.
    pub flash: String,
    /// The message is an error.
    pub flash_error: bool,
}

impl Chrome {
    /// The frame for `who`, titled `title`.
    pub fn new(page: &PageState, who: &Who, title: &str) -> Chrome {
        Chrome {
            lang: who.lang.code(),
            other_lang: who.lang.other().code(),
            other_lang_name: who.lang.other().t().language_name,
            title: title.to_string(),
            site_name: page.site_name.clone(),
            user: who.user.clone(),
            role: who.lang.role(who.role),
            csrf: who.csrf.clone(),
            is_admin: who.is_at_least(Role::Admin),
            may_walk_test: who.is_at_least(Role::Guard),
            may_report: super::reports_page::may_see_reports(who),
            flash: String::new(),
            flash_error: false,
        }
    }
}

/// Renders a template into a page.
pub fn html(t: impl Template) -> Response {
    match t.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page could not be rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// A short page with a message and a way back.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    /// Words.
    pub t: &'static Texts,
    /// Frame.
    pub c: Chrome,
    /// What to say.
    pub message: String,
    /// Where back leads.
    pub back: String,
}

/// A message page with a status.
pub fn message(
    page: &PageState,
    who: &Who,
    status: StatusCode,
    text: &str,
    back: &str,
) -> Response {
    let mut c = Chrome::new(page, who, text);
    c.flash_error = !status.is_success();
    let mut response = html(MessagePage {
        t: who.lang.t(),
        c,
        message: text.to_string(),
        back: back.to_string(),
    });
    *response.status_mut() = status;
    response
}

/// The page's state, or 404 when the server has none.
#[allow(
    clippy::result_large_err,
    reason = "the error is the answer itself, built once on a refused request"
)]
pub fn page_of(state: &WebState) -> Result<&PageState, Response> {
    state
        .page
        .as_deref()
        .ok_or_else(|| StatusCode::NOT_FOUND.into_response())
}

/// The page routes that only show.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/", get(overview))
        .route("/fragment/overview", get(overview_fragment))
        .route("/alarms/{alarm}", get(alarm_page))
        .route("/fragment/alarms/{alarm}", get(alarm_fragment))
        .route("/health", get(health_page))
        .route("/fragment/health", get(health_fragment))
        .route("/walk-test", get(walk_test_page))
        .route("/fragment/walk-test", get(walk_test_fragment))
        .route("/handover", get(super::actions::handover_page))
}

// ----- overview -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    t: &'static Texts,
    c: Chrome,
    links: Vec<LinkView>,
    alarms: Vec<AlarmView>,
    unacknowledged: usize,
    areas: Vec<AreaView>,
    sensors: Vec<SensorView>,
    cameras: Vec<CameraView>,
    may_command: bool,
    may_bypass: bool,
}

#[derive(Template)]
#[template(path = "overview_live.html")]
struct OverviewLive {
    t: &'static Texts,
    c: Chrome,
    links: Vec<LinkView>,
    alarms: Vec<AlarmView>,
    unacknowledged: usize,
    areas: Vec<AreaView>,
    sensors: Vec<SensorView>,
    cameras: Vec<CameraView>,
    may_command: bool,
    may_bypass: bool,
}

/// Open alarms shown in full on the overview (the newest; the rest are in the log).
pub const OVERVIEW_ALARMS: usize = 50;

/// The zones of an area a running walk test has not seen yet (fire zones keep alarming).
pub fn untested(site: &crate::engine::Site, area: &crate::engine::state::AreaState) -> Vec<String> {
    let tested = area.walk_test.as_ref().map(|w| &w.tested);
    site.areas
        .get(&area.area)
        .map(|a| {
            a.zones
                .iter()
                .filter(|z| {
                    site.zones
                        .get(*z)
                        .is_some_and(|d| d.zone_type != ZoneType::Fire)
                })
                .filter(|z| tested.is_none_or(|t| !t.contains(*z)))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Everything the overview shows, now.
async fn overview_parts(
    page: &PageState,
    effects: &Effects,
    who: &Who,
) -> (
    Vec<LinkView>,
    Vec<AlarmView>,
    usize,
    Vec<AreaView>,
    Vec<SensorView>,
    Vec<CameraView>,
) {
    let panel = effects.changes.panel();
    let now = jiff::Timestamp::now().as_millisecond();
    // A duress alarm is silent: it is not shown where the person under duress (and
    // whoever forces them) stands, only to supervisors and the security team.
    let shows =
        |a: &&crate::engine::Alarm| a.category != Category::Duress || who.role != Role::Guard;
    let mut open: Vec<&crate::engine::Alarm> =
        panel.alarms.values().map(|a| &**a).filter(shows).collect();
    // Not yet acknowledged first, then fire and panic, then the newest.
    open.sort_by_key(|a| {
        (
            a.state != AlarmState::Raised,
            !matches!(
                a.category,
                Category::Fire | Category::Panic | Category::Duress
            ),
            std::cmp::Reverse(a.id),
        )
    });
    open.truncate(OVERVIEW_ALARMS);
    let unacknowledged = panel
        .alarms
        .values()
        .filter(|a| a.state == AlarmState::Raised && !a.silent)
        .count();
    let ids: Vec<i64> = open
        .iter()
        .filter_map(|a| i64::try_from(a.id).ok())
        .collect();
    let told = page.journal.told_about(&ids).await.unwrap_or_default();
    let alarms = open
        .iter()
        .map(|a| {
            let told = i64::try_from(a.id)
                .ok()
                .and_then(|id| told.get(&id))
                .map(Vec::as_slice)
                .unwrap_or_default();
            view::alarm(&page.site, a, told, now, &page.clock, who.lang)
        })
        .collect();
    let area_states: Vec<_> = panel.areas.values().map(|a| (**a).clone()).collect();
    let areas = view::areas(
        &page.site,
        &area_states,
        |id| {
            panel
                .areas
                .get(id)
                .map(|a| untested(&page.site, a))
                .unwrap_or_default()
        },
        who.lang,
    );
    let sensor_states: Vec<_> = panel.sensors.values().map(|s| (**s).clone()).collect();
    let sensors = view::sensors(&page.site, &sensor_states, &area_states, now, who.lang);
    (
        view::links(effects, &page.clock, who.lang),
        alarms,
        unacknowledged,
        areas,
        sensors,
        view::cameras(effects),
    )
}

async fn overview(State(state): State<WebState>, who: Who) -> Response {
    let page = match page_of(&state) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = who.lang.t();
    let (links, alarms, unacknowledged, areas, sensors, cameras) =
        overview_parts(page, &state.effects, &who).await;
    html(OverviewPage {
        t,
        c: Chrome::new(page, &who, t.nav_overview),
        links,
        alarms,
        unacknowledged,
        areas,
        sensors,
        cameras,
        may_command: who.is_at_least(Role::Guard),
        may_bypass: who.is_at_least(Role::Supervisor),
    })
}

async fn overview_fragment(State(state): State<WebState>, who: Who) -> Response {
    let page = match page_of(&state) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = who.lang.t();
    let (links, alarms, unacknowledged, areas, sensors, cameras) =
        overview_parts(page, &state.effects, &who).await;
    html(OverviewLive {
        t,
        c: Chrome::new(page, &who, t.nav_overview),
        links,
        alarms,
        unacknowledged,
        areas,
        sensors,
        cameras,
        may_command: who.is_at_least(Role::Guard),
        may_bypass: who.is_at_least(Role::Supervisor),
    })
}

// ----- one alarm ------------------------------------------------------------------------

/// A line of a timeline or a log.
pub struct Line {
    /// When, site time.
    pub when: String,
    /// Contact ID code and qualifier, or empty.
    pub code: String,
    /// What happened, in the reader's language.
    pub text: String,
}

/// A delivery as the alarm page shows it.
pub struct DeliveryLine {
    tier: String,
    channel: String,
    event: String,
    state: String,
    attempts: u32,
    error: String,
}

/// An evidence file as the alarm page shows it.
pub struct EvidenceLine {
    camera: String,
    kind: String,
    is_snapshot: bool,
    url: String,
    created: String,
    sha256: String,
}

/// Someone who looked at the evidence.
pub struct ViewerLine {
    when: String,
    who: String,
    from: String,
    what: String,
}

#[derive(Template)]
#[template(path = "alarm.html")]
struct AlarmPage {
    t: &'static Texts,
    c: Chrome,
    alarm: AlarmView,
    open: bool,
    note: String,
    timeline: Vec<Line>,
    evidence: Vec<EvidenceLine>,
    deliveries: Vec<DeliveryLine>,
    viewers: Vec<ViewerLine>,
    may_command: bool,
}

#[derive(Template)]
#[template(path = "alarm_live.html")]
struct AlarmLive {
    t: &'static Texts,
    c: Chrome,
    alarm: AlarmView,
    open: bool,
    note: String,
    timeline: Vec<Line>,
    evidence: Vec<EvidenceLine>,
    deliveries: Vec<DeliveryLine>,
    viewers: Vec<ViewerLine>,
    may_command: bool,
}

/// An event row as a line, in `lang`.
pub fn line(page: &PageState, e: &crate::journal::EventRow, lang: super::i18n::Lang) -> Line {
    Line {
        when: page.clock.full(e.at_ms),
        code: e
            .code
            .map(|c| format!("{}{c:03}", e.qualifier))
            .unwrap_or_default(),
        text: lang.pick(&e.message_vi, &e.message_en).to_string(),
    }
}

/// Everything the alarm page shows, or `None` for no such alarm.
#[allow(clippy::type_complexity)]
async fn alarm_parts(
    page: &PageState,
    effects: &Effects,
    who: &Who,
    id: u64,
) -> Option<(
    AlarmView,
    bool,
    String,
    Vec<Line>,
    Vec<EvidenceLine>,
    Vec<DeliveryLine>,
    Vec<ViewerLine>,
)> {
    let key = i64::try_from(id).ok()?;
    let live = effects
        .changes
        .panel()
        .alarms
        .get(&id)
        .map(|a| (**a).clone());
    let record = match live {
        Some(a) => Some(a),
        None => page.journal.alarm(key).await.ok().flatten(),
    }?;
    // As on the overview: a guard is not shown a duress alarm.
    if record.category == Category::Duress && who.role == Role::Guard {
        return None;
    }
    let now = jiff::Timestamp::now().as_millisecond();
    let told = page.journal.told_about(&[key]).await.unwrap_or_default();
    let alarm = view::alarm(
        &page.site,
        &record,
        told.get(&key).map(Vec::as_slice).unwrap_or_default(),
        now,
        &page.clock,
        who.lang,
    );
    let timeline = page
        .journal
        .alarm_events(key)
        .await
        .unwrap_or_default()
        .iter()
        .map(|e| line(page, e, who.lang))
        .collect();
    let evidence = page
        .journal
        .evidence(Some(key))
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f.deleted_at_ms.is_none())
        .map(|f| {
            let ext = if f.kind == "snapshot" { "jpg" } else { "mp4" };
            EvidenceLine {
                url: format!("/alarms/{id}/evidence/{}.{ext}", f.camera),
                is_snapshot: f.kind == "snapshot",
                camera: f.camera,
                kind: f.kind,
                created: page.clock.full(f.created_at_ms),
                sha256: f.sha256,
            }
        })
        .collect();
    let deliveries = page
        .journal
        .alarm_deliveries(key)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|d| {
            let event = serde_json::from_str::<crate::escalation::Notice>(&d.payload_json)
                .ok()
                .map(|n| {
                    n.event
                        .code
                        .map(|c| format!("{}{c:03}", n.event.qualifier))
                        .unwrap_or(n.event.kind)
                })
                .unwrap_or_default();
            DeliveryLine {
                tier: d.tier.to_string(),
                channel: d.channel,
                event,
                state: d.state.as_str().to_string(),
                attempts: d.attempts,
                error: d.last_error.unwrap_or_default(),
            }
        })
        .collect();
    let viewers = page
        .journal
        .audit_about(&format!("evidence:alarm:{id}"))
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|a| ViewerLine {
            when: page.clock.full(a.at_ms),
            who: a.user_name,
            from: a.address.unwrap_or(a.origin),
            what: a
                .action
                .trim_start_matches("evidence_view:")
                .replace(':', " "),
        })
        .collect();
    let open = record.state != AlarmState::Resolved;
    Some((
        alarm,
        open,
        record.note,
        timeline,
        evidence,
        deliveries,
        viewers,
    ))
}

async fn alarm_page(State(state): State<WebState>, who: Who, Path(id): Path<u64>) -> Response {
    let page = match page_of(&state) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = who.lang.t();
    let Some((alarm, open, note, timeline, evidence, deliveries, viewers)) =
        alarm_parts(page, &state.effects, &who, id).await
    else {
        return message(page, &who, StatusCode::NOT_FOUND, t.not_found, "/");
    };
    html(AlarmPage {
        t,
        c: Chrome::new(page, &who, &format!("#{id} {}", alarm.what)),
        alarm,
        open,
        note,
        timeline,
        evidence,
        deliveries,
        viewers,
        may_command: who.is_at_least(Role::Guard),
    })
}

async fn alarm_fragment(State(state): State<WebState>, who: Who, Path(id): Path<u64>) -> Response {
    let page = match page_of(&state) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some((alarm, open, note, timeline, evidence, deliveries, viewers)) =
        alarm_parts(page, &state.effects, &who, id).await
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    html(AlarmLive {
        t: who.lang.t(),
        c: Chrome::new(page, &who, ""),
        alarm,
        open,
        note,
        timeline,
        evidence,
        deliveries,
        viewers,
        may_command: who.is_at_least(Role::Guard),
    })
}

// ----- health ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "health.html")]
struct HealthPage {
    t: &'static Texts,
    c: Chrome,
    links: Vec<LinkView>,
    channels: Vec<(String, String, u64, u64, u64, String)>,
    tasks: Vec<(String, bool, u64, String)>,
    counters: String,
}

#[derive(Template)]
#[template(path = "health_live.html")]
struct HealthLive {
    t: &'static Texts,
    links: Vec<LinkView>,
    channels: Vec<(String, String, u64, u64, u64, String)>,
    tasks: Vec<(String, bool, u64, String)>,
    counters: String,
}

#[allow(clippy::type_complexity)]
fn health_parts(
    page: &PageState,
    effects: &Effects,
    who: &Who,
) -> (
    Vec<LinkView>,
    Vec<(String, String, u64, u64, u64, String)>,
    Vec<(String, bool, u64, String)>,
    String,
) {
    let t = who.lang.t();
    let channels = crate::shared::lock::copies(&effects.health.channels)
        .into_iter()
        .map(|c| {
            let (_, word) = super::view::link_word(c.state, who.lang);
            let state = match &c.modem {
                Some(m) if !m.daemon_alive => format!("{word} — {}", t.modem_lost),
                Some(m) if !m.registered => format!("{word} — {}", t.modem_unregistered),
                Some(m) => format!(
                    "{word} — {} {} {}%",
                    m.network, t.modem_signal, m.signal_percent
                ),
                None => word.to_string(),
            };
            (
                c.channel,
                state,
                c.delivered,
                c.failed_attempts,
                c.queue_pending,
                c.last_error.unwrap_or_default(),
            )
        })
        .collect();
    let tasks = effects
        .health
        .tasks
        .snapshot()
        .into_iter()
        .map(|t| {
            (
                t.name,
                t.running,
                t.panics,
                t.last_panic.unwrap_or_default(),
            )
        })
        .collect();
    let s = &effects.stats;
    let mut counters = format!(
        "commits {}\ncommit failures {}\nobservations refused {}\ncommands refused {}",
        s.committed.load(Ordering::Relaxed),
        s.commit_failures.load(Ordering::Relaxed),
        s.observations_refused.load(Ordering::Relaxed),
        s.commands_refused.load(Ordering::Relaxed),
    );
    if let Some(m) = effects.health.mqtt.get() {
        counters.push_str(&format!(
            "\nmqtt received {}\nmqtt rejected {}\nmqtt acknowledged {}",
            m.received.load(Ordering::Relaxed),
            m.rejected.load(Ordering::Relaxed),
            m.acknowledged.load(Ordering::Relaxed),
        ));
    }
    (
        view::links(effects, &page.clock, who.lang),
        channels,
        tasks,
        counters,
    )
}

async fn health_page(State(state): State<WebState>, who: Who) -> Response {
    let page = match page_of(&state) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = who.lang.t();
    let (links, channels, tasks, counters) = health_parts(page, &state.effects, &who);
    html(HealthPage {
        t,
        c: Chrome::new(page, &who, t.nav_health),
        links,
        channels,
        tasks,
        counters,
    })
}

async fn health_fragment(State(state): State<WebState>, who: Who) -> Response {
    let page = match page_of(&state) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (links, channels, tasks, counters) = health_parts(page, &state.effects, &who);
    html(HealthLive {
        t: who.lang.t(),
        links,
        channels,
        tasks,
        counters,
    })
}

// ----- walk test ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "walk_test.html")]
struct WalkTestPage {
    t: &'static Texts,
    c: Chrome,
    areas: Vec<AreaView>,
}

#[derive(Template)]
#[template(path = "walk_test_live.html")]
struct WalkTestLive {
    t: &'static Texts,
    c: Chrome,
    areas: Vec<AreaView>,
}

fn walk_test_areas(page: &PageState, effects: &Effects, who: &Who) -> Vec<AreaView> {
    let panel = effects.changes.panel();
    let states: Vec<_> = panel.areas.values().map(|a| (**a).clone()).collect();
    view::areas(
        &page.site,
        &states,
        |id| {
            panel
                .areas
                .get(id)
                .map(|a| untested(&page.site, a))
                .unwrap_or_default()
        },
        who.lang,
    )
}

async fn walk_test_page(State(state): State<WebState>, who: Who) -> Response {
    let page = match page_of(&state) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = who.lang.t();
    html(WalkTestPage {
        t,
        c: Chrome::new(page, &who, t.nav_walk_test),
        areas: walk_test_areas(page, &state.effects, &who),
    })
}

async fn walk_test_fragment(State(state): State<WebState>, who: Who) -> Response {
    let page = match page_of(&state) {
        Ok(p) => p,
        Err(r) => return r,
    };
    html(WalkTestLive {
        t: who.lang.t(),
        c: Chrome::new(page, &who, ""),
        areas: walk_test_areas(page, &state.effects, &who),
    })
}

/// Whether `user` has not yet confirmed reading the latest handover note (someone else's).
pub async fn unread_handover(page: &PageState, user: &str) -> bool {
    let filter = crate::journal::EventFilter {
        kind: Some("handover_note".into()),
        ..Default::default()
    };
    let Ok(latest) = page.journal.events_page(&filter, None, 1).await else {
        return false;
    };
    match latest.first() {
        Some(note) if note.user_name.as_deref() != Some(user) => {
            !page.journal.has_read(user, note.seq).await.unwrap_or(true)
        }
        _ => false,
    }
}
