//! `/evidence/<alarm>/<camera>.<mp4|jpg>?sig=…`: an alarm's clip or snapshot for whoever
//! received a notice linking to it. The signature (see
//! [`crate::escalation::EvidenceLinks`]) is checked first; the file served is the one the
//! journal records for that alarm and camera, with its SHA-256 in `X-Evidence-SHA256` so
//! the recipient can check it against the journal. Byte ranges are honoured, so a
//! browser can seek in a clip.

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::WebState;
use crate::escalation::evidence::EVIDENCE_KINDS;
use crate::journal::EvidenceFile;

/// The signature query.
#[derive(Debug, Deserialize)]
pub struct Signature {
    /// Hex signature from the notice's link.
    #[serde(default)]
    sig: String,
}

/// A plain-text answer in both languages.
fn refuse(status: StatusCode, vi: &str, en: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{vi}\n{en}\n"),
    )
        .into_response()
}

/// Serves one evidence file to whoever holds its signed link (a notice's recipient); the
/// view is audited as `link` from the client's address.
pub async fn serve_evidence(
    State(state): State<WebState>,
    Path((alarm, file)): Path<(u64, String)>,
    Query(query): Query<Signature>,
    ConnectInfoAddress(address): ConnectInfoAddress,
    request: Request,
) -> Response {
    let Some(server) = &state.evidence else {
        return refuse(
            StatusCode::NOT_FOUND,
            "Chưa bật liên kết bằng chứng (web.public_url).",
            "Evidence links are not enabled (web.public_url).",
        );
    };
    if !server.links.verify(alarm, &file, &query.sig) {
        return refuse(
            StatusCode::FORBIDDEN,
            "Liên kết không hợp lệ.",
            "This link is not valid.",
        );
    }
    match find(&server.journal, alarm, &file).await {
        Ok(f) => {
            if let Some(page) = &state.page {
                page.audit_view("link", &address, alarm, &f).await;
            }
            send(f, request).await
        }
        Err(refusal) => refusal,
    }
}

/// Serves one evidence file to a logged-in person on the alarm page; audited as them.
pub async fn serve_to_person(
    State(state): State<WebState>,
    who: super::auth::Who,
    Path((alarm, file)): Path<(u64, String)>,
    request: Request,
) -> Response {
    let Some(page) = &state.page else {
        return refuse(StatusCode::NOT_FOUND, "Không có.", "Not found.");
    };
    match find(&page.journal, alarm, &file).await {
        Ok(f) => {
            page.audit_view(&who.user, &who.address, alarm, &f).await;
            send(f, request).await
        }
        Err(refusal) => refusal,
    }
}

/// The client address, for the audit of evidence views.
pub struct ConnectInfoAddress(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ConnectInfoAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ConnectInfoAddress(super::auth::address_of(parts)))
    }
}

/// The file the journal records for `alarm` and `<camera>.<mp4|jpg>`, or the answer why
/// not.
async fn find(
    journal: &crate::journal::Journal,
    alarm: u64,
    file: &str,
) -> Result<EvidenceFile, Response> {
    let Some((camera, kind)) = file.rsplit_once('.').and_then(|(camera, ext)| {
        EVIDENCE_KINDS
            .iter()
            .find(|(_, e)| *e == ext)
            .map(|(kind, _)| (camera, *kind))
    }) else {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            "Không có loại bằng chứng này.",
            "No such kind of evidence.",
        ));
    };
    let Ok(alarm_id) = i64::try_from(alarm) else {
        return Err(refuse(
            StatusCode::NOT_FOUND,
            "Không có báo động này.",
            "No such alarm.",
        ));
    };
    let files = match journal.evidence(Some(alarm_id)).await {
        Ok(files) => files,
        Err(e) => {
            tracing::error!(error = %e, "cannot read evidence for the web server");
            return Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "Không đọc được nhật ký; thử lại sau.",
                "The journal cannot be read; try again later.",
            ));
        }
    };
    let mut matching = files
        .into_iter()
        .filter(|f| f.camera == camera && f.kind == kind);
    match matching.next_back() {
        Some(f) if f.deleted_at_ms.is_none() => Ok(f),
        Some(f) => {
            let at = crate::escalation::notice::rfc3339(f.deleted_at_ms.unwrap_or_default());
            Err(refuse(
                StatusCode::GONE,
                &format!("Đã xoá theo thời hạn lưu trữ lúc {at}."),
                &format!("Deleted by retention at {at}."),
            ))
        }
        None => Err(refuse(
            StatusCode::NOT_FOUND,
            "Chưa có: đoạn phim được ghi xong vài giây sau báo động.",
            "Not yet: a clip is complete some seconds after the alarm.",
        )),
    }
}

/// The file with its hash header, ranges honoured.
async fn send(file: EvidenceFile, request: Request) -> Response {
    let served = ServeFile::new(&file.path).oneshot(request).await;
    let Ok(response) = served;
    let mut response = response.map(Body::new);
    if response.status().is_success() {
        if let Ok(v) = HeaderValue::from_str(&file.sha256) {
            response.headers_mut().insert("x-evidence-sha256", v);
        }
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    }
    response
}
