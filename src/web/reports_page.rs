//! The Reports page, for supervisors, admins and viewers (the security team, a police
//! liaison): choose a month, a quarter, the assessment year or two dates, see the
//! report's summary and real incidents, and download it as HTML or as each CSV table.
//! It is the same report `picket report` writes; every download is audited.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::auth::Who;
use super::i18n::{Lang, Texts};
use super::pages::{Chrome, html, message, page_of};
use super::{PageState, WebState};
use crate::engine::Role;
use crate::report::{Period, Report, period};

/// The routes.
pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/reports", get(reports))
        .route("/reports/download", get(download))
}

/// The period as the form sends it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReportQuery {
    /// `month`, `quarter`, `year` (assessment year) or `days`.
    #[serde(default)]
    pub kind: String,
    /// `2026-11`, `2026-Q4` or `2026`.
    #[serde(default)]
    pub value: String,
    /// First day, with `days`.
    #[serde(default)]
    pub from: String,
    /// Last day, with `days`.
    #[serde(default)]
    pub to: String,
    /// `html`, or a CSV table's name (`summary`, `alarms`…), for a download.
    #[serde(default)]
    pub format: String,
}

impl ReportQuery {
    /// The period asked for, if one was.
    fn period(&self, page: &PageState) -> Option<Result<Period, period::PeriodError>> {
        let tz = &page.clock.tz;
        Some(match self.kind.as_str() {
            "month" => period::month(&self.value, tz),
            "quarter" => period::quarter(&self.value, tz),
            "year" => period::assessment_year(&self.value, tz),
            "days" => period::between(&self.from, &self.to, tz),
            _ => return None,
        })
    }

    /// The period as a query string, for the download links.
    fn as_query(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("kind", &self.kind),
            ("value", &self.value),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.is_empty() {
                out.append_pair(k, v);
            }
        }
        out.finish()
    }
}

/// Viewers, supervisors and up; not guards.
pub fn may_see_reports(who: &Who) -> bool {
    who.role == Role::Viewer || who.is_at_least(Role::Supervisor)
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    t: &'static Texts,
    c: Chrome,
    q: ReportQuery,
    query: String,
    error: String,
    period: String,
    summary: Vec<(String, String)>,
    incidents: Vec<Vec<String>>,
    downloads: Vec<(String, String)>,
}

/// The page's state, when `who` may see reports; the refusal otherwise.
#[allow(
    clippy::result_large_err,
    reason = "the error is the answer itself, built once on a refused request"
)]
fn page_for<'a>(state: &'a WebState, who: &Who) -> Result<&'a PageState, Response> {
    let page = page_of(state)?;
    if !may_see_reports(who) {
        return Err(message(
            page,
            who,
            StatusCode::FORBIDDEN,
            who.lang.t().not_allowed,
            "/",
        ));
    }
    Ok(page)
}

/// Makes the report for `who` in their language.
async fn make(page: &PageState, who: &Who, period: Period) -> Result<Report, String> {
    Report::make(
        &page.journal,
        &page.site,
        page.report_setup.clone(),
        page.clock.tz.clone(),
        period,
        &who.user,
        who.lang == Lang::Vi,
    )
    .await
    .map_err(|e| e.to_string())
}

async fn reports(
    State(state): State<WebState>,
    who: Who,
    Query(q): Query<ReportQuery>,
) -> Response {
    let page = match page_for(&state, &who) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = who.lang.t();
    let mut view = ReportsPage {
        t,
        c: Chrome::new(page, &who, t.nav_reports),
        query: q.as_query(),
        q: q.clone(),
        error: String::new(),
        period: String::new(),
        summary: Vec::new(),
        incidents: Vec::new(),
        downloads: Vec::new(),
    };
    match q.period(page) {
        None => {}
        Some(Err(e)) => view.error = e.to_string(),
        Some(Ok(period)) => match make(page, &who, period).await {
            Err(e) => view.error = e,
            Ok(report) => {
                view.period = if report.vi {
                    report.period.label_vi.clone()
                } else {
                    report.period.label_en.clone()
                };
                let f = &report.figures;
                view.summary = vec![
                    (t.report_alarms.into(), f.alarms.len().to_string()),
                    (
                        t.report_false_rate.into(),
                        format!("{:.1}%", f.false_alarm_rate() * 100.0),
                    ),
                    (
                        t.report_to_ack.into(),
                        Report::duration(f.to_acknowledge.median_ms),
                    ),
                    (t.report_chain.into(), report.chain_text()),
                    (
                        t.report_as_of.into(),
                        format!("#{} {}", f.chain.last_seq, f.chain.last_hash),
                    ),
                ];
                view.incidents = f
                    .incidents()
                    .into_iter()
                    .map(|a| {
                        vec![
                            format!("#{}", a.id),
                            report.time(a.raised_at_ms),
                            format!("{}, {}", report.name(&a.zone), report.name(&a.area)),
                            a.note.clone(),
                        ]
                    })
                    .collect();
                view.downloads.push(("pdf".into(), "PDF".into()));
                view.downloads.push(("html".into(), "HTML".into()));
                for (name, _) in crate::report::csv::files(&report) {
                    let table = name
                        .trim_end_matches(".csv")
                        .rsplit_once(&format!("{}-", report.file_stem()))
                        .map(|(_, t)| t.to_string())
                        .unwrap_or_default();
                    view.downloads
                        .push((table.clone(), format!("CSV: {table}")));
                }
            }
        },
    }
    html(view)
}

/// The report in `format` (`pdf`, `html`, or a CSV table's name): its file name, type and
/// bytes; `None` for a format it has not. The PDF is drawn off the async threads.
async fn render(
    page: &PageState,
    report: Report,
    format: &str,
) -> Result<Option<(String, &'static str, Vec<u8>)>, String> {
    let stem = report.file_stem();
    match format {
        "pdf" => {
            let reports = page.reports.clone();
            let body = tokio::task::spawn_blocking(move || {
                let fonts = crate::report::pdf::Fonts::load(&reports)?;
                crate::report::pdf::render(&report, &fonts)
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
            Ok(Some((format!("{stem}.pdf"), "application/pdf", body)))
        }
        "html" => {
            let body = crate::report::html::render(&report).map_err(|e| e.to_string())?;
            Ok(Some((
                format!("{stem}.html"),
                "text/html; charset=utf-8",
                body.into_bytes(),
            )))
        }
        table => {
            let wanted = format!("{stem}-{table}.csv");
            Ok(crate::report::csv::files(&report)
                .into_iter()
                .find(|(n, _)| *n == wanted)
                .map(|(name, body)| (name, "text/csv; charset=utf-8", body.into_bytes())))
        }
    }
}

async fn download(
    State(state): State<WebState>,
    who: Who,
    Query(q): Query<ReportQuery>,
) -> Response {
    let page = match page_for(&state, &who) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let t = who.lang.t();
    let period = match q.period(page) {
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            return message(
                page,
                &who,
                StatusCode::BAD_REQUEST,
                &e.to_string(),
                "/reports",
            );
        }
        None => {
            return message(
                page,
                &who,
                StatusCode::BAD_REQUEST,
                t.report_choose,
                "/reports",
            );
        }
    };
    let fail = |status, text: &str| message(page, &who, status, text, "/reports");
    let report = match make(page, &who, period).await {
        Ok(r) => r,
        Err(e) => return fail(StatusCode::INTERNAL_SERVER_ERROR, &e),
    };
    let made = match render(page, report, &q.format).await {
        Ok(Some(made)) => made,
        Ok(None) => return fail(StatusCode::NOT_FOUND, t.report_choose),
        Err(e) => return fail(StatusCode::INTERNAL_SERVER_ERROR, &e),
    };
    let (name, content_type, body) = made;
    page.audit(crate::engine::AuditEntry {
        at: crate::engine::Timestamp::default(),
        user: who.user.clone(),
        role: Some(who.role),
        origin: crate::engine::Origin::Page,
        address: Some(who.address.clone()),
        action: "report_download".into(),
        target: format!("report:{name}"),
        result: "ok".into(),
    })
    .await;
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}
