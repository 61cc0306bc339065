//! The JSON API under `/api/`: the page's reads (state, alarms, an alarm's timeline and
//! deliveries, the event log with the same filters, health, camera thumbnails) and its
//! commands, for a bearer token (or a page session). Described by an OpenAPI document
//! generated from these handlers (utoipa), served at `/api/openapi.json`: every route
//! here is registered through the same macro that documents it, so none is missing.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::WebState;
use super::actions::actor_of;
use super::auth::Who;
use crate::engine::{AlarmState, Command, CommandKind, Origin, Role};
use crate::keypad::Request;
use crate::shared::engine_handle::SubmitError;

/// The document's frame.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "picket",
        description = "The security gateway's JSON API: state, alarms, the event log, health and commands. Authenticate with `Authorization: Bearer <token>` (tokens are made by an admin on the users page)."
    ),
    modifiers(&Security)
)]
struct ApiDoc;

/// Adds the bearer scheme.
struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document, once built.
static DOCUMENT: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();

/// Every API route, documented.
pub fn routes() -> OpenApiRouter<WebState> {
    let router = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(state))
        .routes(routes!(alarms))
        .routes(routes!(alarm))
        .routes(routes!(events))
        .routes(routes!(health))
        .routes(routes!(thumbnail))
        .routes(routes!(command))
        .routes(routes!(openapi));
    let _ = DOCUMENT.set(router.get_openapi().clone());
    router
}

/// An area.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiArea {
    /// Id.
    pub id: String,
    /// Vietnamese name.
    pub name_vi: String,
    /// English name.
    pub name_en: String,
    /// Contact ID group number.
    pub number: u8,
    /// `disarmed`, `armed_away`, `armed_home`, `armed_night`.
    pub mode: String,
    /// An exit delay runs.
    pub arming: bool,
    /// An entry delay runs.
    pub entry_delay: bool,
    /// Zones bypassed.
    pub bypassed: Vec<String>,
}

/// An alarm.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiAlarm {
    /// Id.
    pub id: u64,
    /// Category.
    pub category: String,
    /// Contact ID code.
    pub code: u16,
    /// Area id.
    pub area: String,
    /// Zone id.
    pub zone: Option<String>,
    /// `raised`, `acknowledged`, `resolved`.
    pub state: String,
    /// Confirmed by a second detector.
    pub confirmed: bool,
    /// Cancelled in the abort window.
    pub cancelled: bool,
    /// Silent (panic, duress).
    pub silent: bool,
    /// Raised at, ms since the epoch.
    pub raised_at_ms: i64,
    /// Who acknowledged.
    pub acknowledged_by: Option<String>,
    /// Who resolved.
    pub resolved_by: Option<String>,
    /// `real`, `false`, `test`, `unknown`.
    pub resolution: Option<String>,
    /// Notes.
    pub note: String,
}

impl ApiAlarm {
    fn of(a: &crate::engine::Alarm) -> ApiAlarm {
        ApiAlarm {
            id: a.id,
            category: a.category.as_str().into(),
            code: a.code.0,
            area: a.area.clone(),
            zone: a.zone.clone(),
            state: a.state.as_str().into(),
            confirmed: a.confirmed,
            cancelled: a.cancelled,
            silent: a.silent,
            raised_at_ms: a.raised_at.0,
            acknowledged_by: a.acknowledged_by.clone(),
            resolved_by: a.resolved_by.clone(),
            resolution: a.resolution.map(|r| r.as_str().to_string()),
            note: a.note.clone(),
        }
    }
}

/// A sensor.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiSensor {
    /// Id.
    pub id: String,
    /// Zone id.
    pub zone: String,
    /// Detecting now.
    pub active: bool,
    /// Tampered with.
    pub tamper: bool,
    /// Battery low.
    pub battery_low: bool,
    /// Not heard within its supervision time.
    pub missing: bool,
    /// A camera's picture lost.
    pub video_loss: bool,
    /// Last heard, ms since the epoch.
    pub last_seen_ms: Option<i64>,
}

/// The panel now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiState {
    /// Areas.
    pub areas: Vec<ApiArea>,
    /// Open alarms, newest first.
    pub alarms: Vec<ApiAlarm>,
    /// Sensors.
    pub sensors: Vec<ApiSensor>,
}

/// The panel now: areas, open alarms, sensors.
#[utoipa::path(get, path = "/api/state", responses((status = 200, body = ApiState)), security(("bearer" = [])))]
async fn state(State(state): State<WebState>, _who: Who) -> Response {
    let Some(page) = &state.page else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let panel = state.effects.changes.panel();
    let areas = panel
        .areas
        .values()
        .filter_map(|a| {
            let def = page.site.areas.get(&a.area)?;
            Some(ApiArea {
                id: a.area.clone(),
                name_vi: def.names.vi.clone(),
                name_en: def.names.en.clone(),
                number: def.number,
                mode: a.mode.as_str().into(),
                arming: a.exit_until.is_some(),
                entry_delay: a.entry.is_some(),
                bypassed: a.bypassed.keys().cloned().collect(),
            })
        })
        .collect();
    let alarms = panel
        .alarms
        .values()
        .rev()
        .map(|a| ApiAlarm::of(a))
        .collect();
    let sensors = panel
        .sensors
        .values()
        .filter_map(|s| {
            Some(ApiSensor {
                id: s.sensor.clone(),
                zone: page.site.sensors.get(&s.sensor)?.zone.clone(),
                active: s.active,
                tamper: s.tamper,
                battery_low: s.battery_low,
                missing: s.missing,
                video_loss: s.video_loss,
                last_seen_ms: s.last_seen.map(|t| t.0),
            })
        })
        .collect();
    Json(ApiState {
        areas,
        alarms,
        sensors,
    })
    .into_response()
}

/// The open alarms, newest first.
#[utoipa::path(get, path = "/api/alarms", responses((status = 200, body = Vec<ApiAlarm>)), security(("bearer" = [])))]
async fn alarms(State(state): State<WebState>, _who: Who) -> Json<Vec<ApiAlarm>> {
    let panel = state.effects.changes.panel();
    Json(
        panel
            .alarms
            .values()
            .rev()
            .map(|a| ApiAlarm::of(a))
            .collect(),
    )
}

/// One event of the journal.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiEvent {
    /// Sequence number.
    pub seq: i64,
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// Kind.
    pub kind: String,
    /// Category.
    pub category: String,
    /// Contact ID code.
    pub code: Option<i64>,
    /// Qualifier: 1 new, 3 restore, 6 status.
    pub qualifier: i64,
    /// Area.
    pub area: Option<String>,
    /// Zone.
    pub zone: Option<String>,
    /// Contact ID zone (or user) number.
    pub zone_number: Option<i64>,
    /// Sensor.
    pub sensor: Option<String>,
    /// Alarm.
    pub alarm: Option<i64>,
    /// Person.
    pub user: Option<String>,
    /// Vietnamese text.
    pub message_vi: String,
    /// English text.
    pub message_en: String,
}

impl From<crate::journal::EventRow> for ApiEvent {
    fn from(e: crate::journal::EventRow) -> ApiEvent {
        ApiEvent {
            seq: e.seq,
            at_ms: e.at_ms,
            kind: e.kind,
            category: e.category,
            code: e.code,
            qualifier: e.qualifier,
            area: e.area,
            zone: e.zone,
            zone_number: e.zone_number,
            sensor: e.sensor,
            alarm: e.alarm_id,
            user: e.user_name,
            message_vi: e.message_vi,
            message_en: e.message_en,
        }
    }
}

/// A delivery an alarm was owed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiDelivery {
    /// Stable message id.
    pub message_id: String,
    /// Channel.
    pub channel: String,
    /// Escalation tier (0 = not tiered).
    pub tier: u32,
    /// Due at, ms since the epoch.
    pub due_at_ms: i64,
    /// `pending`, `sent`, `acknowledged`, `failed`, `skipped`.
    pub state: String,
    /// Tries.
    pub attempts: u32,
    /// The last error.
    pub last_error: Option<String>,
    /// Delivered at, ms since the epoch.
    pub delivered_at_ms: Option<i64>,
}

/// An alarm with its timeline and deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiAlarmDetail {
    /// The alarm.
    pub alarm: ApiAlarm,
    /// Its events, oldest first.
    pub timeline: Vec<ApiEvent>,
    /// Its deliveries.
    pub deliveries: Vec<ApiDelivery>,
}

/// One alarm (open or resolved) with its timeline and deliveries.
#[utoipa::path(get, path = "/api/alarms/{id}", params(("id" = u64, Path, description = "Alarm number")),
    responses((status = 200, body = ApiAlarmDetail), (status = 404, description = "No such alarm")), security(("bearer" = [])))]
async fn alarm(State(state): State<WebState>, _who: Who, Path(id): Path<u64>) -> Response {
    let (Some(page), Ok(key)) = (&state.page, i64::try_from(id)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let record = match page.journal.alarm(key).await {
        Ok(Some(a)) => a,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let timeline = page.journal.alarm_events(key).await.unwrap_or_default();
    let deliveries = page.journal.alarm_deliveries(key).await.unwrap_or_default();
    Json(ApiAlarmDetail {
        alarm: ApiAlarm::of(&record),
        timeline: timeline.into_iter().map(ApiEvent::from).collect(),
        deliveries: deliveries
            .into_iter()
            .map(|d| ApiDelivery {
                message_id: d.message_id,
                channel: d.channel,
                tier: d.tier,
                due_at_ms: d.due_at_ms,
                state: d.state.as_str().into(),
                attempts: d.attempts,
                last_error: d.last_error,
                delivered_at_ms: d.delivered_at_ms,
            })
            .collect(),
    })
    .into_response()
}

/// The event log's filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct EventQuery {
    /// From (ms since the epoch).
    pub from_ms: Option<i64>,
    /// Before (ms since the epoch).
    pub to_ms: Option<i64>,
    /// Category.
    pub category: Option<String>,
    /// Area id.
    pub area: Option<String>,
    /// Zone id.
    pub zone: Option<String>,
    /// Sensor id.
    pub sensor: Option<String>,
    /// Person.
    pub user: Option<String>,
    /// Event kind.
    pub kind: Option<String>,
    /// Events older than this sequence number (the next page).
    pub before: Option<i64>,
    /// Rows (1–1000, default 100).
    pub limit: Option<u32>,
}

/// The event log, newest first, one page at a time.
#[utoipa::path(get, path = "/api/events", params(EventQuery), responses((status = 200, body = Vec<ApiEvent>)), security(("bearer" = [])))]
async fn events(State(state): State<WebState>, _who: Who, Query(q): Query<EventQuery>) -> Response {
    let Some(page) = &state.page else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let filter = crate::journal::EventFilter {
        from_ms: q.from_ms,
        to_ms: q.to_ms,
        category: q.category,
        area: q.area,
        zone: q.zone,
        sensor: q.sensor,
        user: q.user,
        kind: q.kind,
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    match page.journal.events_page(&filter, q.before, limit).await {
        Ok(rows) => Json(rows.into_iter().map(ApiEvent::from).collect::<Vec<_>>()).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

/// Health of the journal, the broker, every channel and path, every camera and task.
#[utoipa::path(get, path = "/api/health", responses((status = 200, body = Object)), security(("bearer" = [])))]
async fn health(State(state): State<WebState>, _who: Who) -> Json<serde_json::Value> {
    Json(super::metrics::health_json(&state.effects))
}

/// A camera's latest thumbnail (a recent keyframe, at most 320 wide).
#[utoipa::path(get, path = "/api/cameras/{camera}/thumbnail.jpg", params(("camera" = String, Path, description = "Camera id")),
    responses((status = 200, content_type = "image/jpeg", description = "The JPEG"), (status = 404, description = "No such camera or no picture yet")), security(("bearer" = [])))]
async fn thumbnail(
    State(state): State<WebState>,
    _who: Who,
    Path(camera): Path<String>,
) -> Response {
    let found = state.effects.health.cameras.get().and_then(|cameras| {
        cameras
            .iter()
            .map(|c| crate::shared::lock::lock(c))
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

/// A command.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ApiCommand {
    /// `arm_away`, `arm_home`, `arm_night`, `disarm` (with `area` and a person's `code`),
    /// `ack`, `resolve` (with `alarm`; `resolve` also `resolution`).
    pub action: String,
    /// Area id.
    #[serde(default)]
    pub area: String,
    /// Alarm number.
    #[serde(default)]
    pub alarm: Option<u64>,
    /// A person's arming (or duress) code, for arming and disarming.
    #[serde(default)]
    pub code: String,
    /// `real`, `false`, `test`, `unknown`.
    #[serde(default)]
    pub resolution: String,
    /// A note.
    #[serde(default)]
    pub note: String,
}

/// A command's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiAnswer {
    /// Carried out and committed.
    pub ok: bool,
    /// Why not, in Vietnamese.
    pub reason_vi: String,
    /// Why not, in English.
    pub reason_en: String,
}

/// Carries out a command: arming and disarming take a person's code (checked, with
/// lockout, as at every keypad); acknowledging and resolving act as the token (or the
/// person logged in), with its role.
#[utoipa::path(post, path = "/api/commands", request_body = ApiCommand,
    responses((status = 200, body = ApiAnswer), (status = 403, body = ApiAnswer), (status = 422, body = ApiAnswer)), security(("bearer" = [])))]
async fn command(State(state): State<WebState>, who: Who, Json(c): Json<ApiCommand>) -> Response {
    let Some(page) = &state.page else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(engine) = page.engine.upgrade() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let request = Request {
        action: c.action.clone(),
        area: c.area,
        alarm: c.alarm,
        code: c.code,
        resolution: c.resolution,
        note: c.note,
        mode: String::new(),
    };
    let answer = match request.command() {
        Err(a) => a,
        Ok(_) if !who.is_at_least(Role::Guard) => crate::keypad::Answer::refused(
            "người xem không được ra lệnh",
            "a viewer cannot give commands",
        ),
        Ok(CommandKind::Arm { .. } | CommandKind::Disarm { .. }) => {
            let mut keypads = page.keypads.lock().await;
            let key = format!("api:{}", who.user);
            let keypad = keypads.entry(key).or_insert_with(|| {
                crate::keypad::Keypad::new(Origin::Api, page.journal.clone(), engine.clone())
            });
            let person = who.session.as_ref().map(|_| who.user.as_str());
            keypad.enter_as(&request, &who.address, person).await
        }
        Ok(kind) => match engine
            .command(Command {
                kind,
                actor: actor_of(&who, Origin::Api),
            })
            .await
        {
            Ok(_) => crate::keypad::Answer {
                ok: true,
                reason_vi: String::new(),
                reason_en: String::new(),
                wrong_code: false,
                user: Some(who.user.clone()),
            },
            Err(SubmitError::Refused(r)) => {
                crate::keypad::Answer::refused(r.reason_vi, r.reason_en)
            }
            Err(e) => crate::keypad::Answer::refused("chưa ghi được", e.to_string()),
        },
    };
    let status = if answer.ok {
        StatusCode::OK
    } else if answer.wrong_code || !who.is_at_least(Role::Guard) {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (
        status,
        Json(ApiAnswer {
            ok: answer.ok,
            reason_vi: answer.reason_vi,
            reason_en: answer.reason_en,
        }),
    )
        .into_response()
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", responses((status = 200, description = "The OpenAPI document")), security(("bearer" = [])))]
async fn openapi(_who: Who) -> Response {
    match DOCUMENT.get() {
        Some(doc) => Json(doc.clone()).into_response(),
        None => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// Alarm states, for clients that want the words.
pub const ALARM_STATES: [AlarmState; 3] = [
    AlarmState::Raised,
    AlarmState::Acknowledged,
    AlarmState::Resolved,
];
