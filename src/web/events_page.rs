//! The event log: filters by time range (site time), category, area, zone, sensor and
//! person; pages of 100 by keyset on `seq` (so a journal of a million events answers its
//! thousandth page as fast as its first); and the same filter as CSV.

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::auth::Who;
use super::i18n::Texts;
use super::pages::{Chrome, html, page_of};
use super::{PageState, WebState};
use crate::journal::EventFilter;

/// Rows on one page of the log.
pub const PAGE_ROWS: u32 = 100;
/// Most rows one CSV export holds.
pub const CSV_MAX_ROWS: usize = 1_000_000;

/// The routes.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/events", get(events))
        .route("/events.csv", get(events_csv))
}

/// The filter as the form sends it (times are `datetime-local`, in the site's zone).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogQuery {
    /// From (site time).
    #[serde(default)]
    pub from: String,
    /// To (site time).
    #[serde(default)]
    pub to: String,
    /// Category.
    #[serde(default)]
    pub category: String,
    /// Area id.
    #[serde(default)]
    pub area: String,
    /// Zone id.
    #[serde(default)]
    pub zone: String,
    /// Sensor id.
    #[serde(default)]
    pub sensor: String,
    /// Person.
    #[serde(default)]
    pub user: String,
    /// Show events older than this sequence number (the next page).
    #[serde(default)]
    pub before: Option<i64>,
}

impl LogQuery {
    /// The journal's filter: empty fields are no condition.
    pub fn filter(&self, page: &PageState) -> EventFilter {
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        let time = |s: &str| {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            let civil = jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M", s)
                .or_else(|_| jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M:%S", s))
                .ok()?;
            civil
                .to_zoned(page.clock.tz.clone())
                .ok()
                .map(|z| z.timestamp().as_millisecond())
        };
        EventFilter {
            from_ms: time(&self.from),
            to_ms: time(&self.to),
            category: some(&self.category),
            area: some(&self.area),
            zone: some(&self.zone),
            sensor: some(&self.sensor),
            user: some(&self.user),
            kind: None,
        }
    }

    /// The filter as a query string, for the next page and the CSV link.
    fn as_query(&self) -> String {
        let pairs = [
            ("from", &self.from),
            ("to", &self.to),
            ("category", &self.category),
            ("area", &self.area),
            ("zone", &self.zone),
            ("sensor", &self.sensor),
            ("user", &self.user),
        ];
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            if !v.is_empty() {
                out.append_pair(k, v);
            }
        }
        out.finish()
    }
}

/// A row of the log.
pub struct LogRow {
    seq: i64,
    when: String,
    category: String,
    code: String,
    user: String,
    text: String,
}

#[derive(Template)]
#[template(path = "events.html")]
struct EventsPage {
    t: &'static Texts,
    c: Chrome,
    q: LogQuery,
    query: String,
    rows: Vec<LogRow>,
    older: Option<i64>,
    categories: Vec<&'static str>,
    area_choices: Vec<(String, String)>,
    zone_choices: Vec<(String, String)>,
}

/// Categories people filter by.
const CATEGORIES: &[&str] = &[
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
    "test",
    "status",
];

async fn events(State(state): State<WebState>, who: Who, Query(q): Query<LogQuery>) -> Response {
    let page = match page_of(&state) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = who.lang.t();
    let rows = page
        .journal
        .events_page(&q.filter(page), q.before, PAGE_ROWS)
        .await
        .unwrap_or_default();
    let older = (rows.len() == PAGE_ROWS as usize)
        .then(|| rows.last().map(|r| r.seq))
        .flatten();
    let rows = rows
        .into_iter()
        .map(|e| LogRow {
            seq: e.seq,
            when: page.clock.full(e.at_ms),
            category: e.category.clone(),
            code: e
                .code
                .map(|c| format!("{}{c:03}", e.qualifier))
                .unwrap_or_default(),
            user: e.user_name.clone().unwrap_or_default(),
            text: who.lang.pick(&e.message_vi, &e.message_en).to_string(),
        })
        .collect();
    let lang = who.lang;
    html(EventsPage {
        t,
        c: Chrome::new(page, &who, t.nav_events),
        query: q.as_query(),
        q,
        rows,
        older,
        categories: CATEGORIES.to_vec(),
        area_choices: page
            .site
            .areas
            .values()
            .map(|a| {
                (
                    a.id.clone(),
                    lang.pick(&a.names.vi, &a.names.en).to_string(),
                )
            })
            .collect(),
        zone_choices: page
            .site
            .zones
            .values()
            .map(|z| {
                (
                    z.id.clone(),
                    lang.pick(&z.names.vi, &z.names.en).to_string(),
                )
            })
            .collect(),
    })
}

/// The CSV of what the filter shows, newest first, streamed page by page.
async fn events_csv(
    State(state): State<WebState>,
    who: Who,
    Query(q): Query<LogQuery>,
) -> Response {
    let page = match page_of(&state) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let filter = q.filter(page);
    let journal = page.journal.clone();
    let clock = page.clock.clone();
    let lang = who.lang;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(4);
    tokio::spawn(async move {
        let header =
            "seq,time,category,code,qualifier,area,zone,zone_number,sensor,alarm,user,message\n";
        if tx.send(Ok(header.to_string())).await.is_err() {
            return;
        }
        let mut before = None;
        let mut sent = 0usize;
        loop {
            let rows = match journal.events_page(&filter, before, 1000).await {
                Ok(rows) => rows,
                Err(e) => {
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            let Some(last) = rows.last() else { break };
            before = Some(last.seq);
            let mut chunk = String::new();
            for e in &rows {
                let fields = [
                    e.seq.to_string(),
                    clock.full(e.at_ms),
                    e.category.clone(),
                    e.code.map(|c| c.to_string()).unwrap_or_default(),
                    e.qualifier.to_string(),
                    e.area.clone().unwrap_or_default(),
                    e.zone.clone().unwrap_or_default(),
                    e.zone_number.map(|n| n.to_string()).unwrap_or_default(),
                    e.sensor.clone().unwrap_or_default(),
                    e.alarm_id.map(|n| n.to_string()).unwrap_or_default(),
                    e.user_name.clone().unwrap_or_default(),
                    lang.pick(&e.message_vi, &e.message_en).to_string(),
                ];
                let line: Vec<String> = fields.iter().map(|f| crate::text::csv_field(f)).collect();
                chunk.push_str(&line.join(","));
                chunk.push('\n');
            }
            sent += rows.len();
            if tx.send(Ok(chunk)).await.is_err() || sent >= CSV_MAX_ROWS {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"picket-events.csv\"",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}
