//! Takedown reports from visitors: `GET /numbers/{e164}/messages/{id}/report`
//! (and under `/zh-CN`) shows the message and a small form (a reason, an
//! optional note); the page script solves a proof-of-work challenge of the
//! gate (`POST /gate/challenge?for=report`) and the form is posted to the
//! same URL with the solution. A report without a fresh, unspent solution
//! is refused and nothing is stored; reports are also rate-limited per
//! visitor and per network. The report stores the message id, the reason
//! and the note: nothing about the visitor. After a report, 303 to the
//! same page with `?sent=1`: the thank-you.

use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use domain::E164;
use serde::Deserialize;
use store::{MAX_NOTE_CHARS, NewReport, ReportReason};

use crate::access_log::VisitorId;
use crate::client::ClientAddr;
use crate::gate::{REPORT_ACTION, Redeemed};
use crate::i18n::Tr;
use crate::pages::{Layout, base_url, when};
use crate::{AppState, PageError, assets};

/// Longest form body accepted, bytes (a note of 500 characters in any
/// script, percent-encoded, and 16 solutions fit).
pub const MAX_FORM_BYTES: usize = 32 * 1024;

/// A visitor's reports: five at once (one and a burst of four), then one
/// every ten minutes.
const VISITOR_INTERVAL: Duration = Duration::from_secs(600);
const VISITOR_BURST: u32 = 4;
/// A network's (IPv4 /24, IPv6 /64): thirty at once, then one a minute.
const NETWORK_INTERVAL: Duration = Duration::from_secs(60);
const NETWORK_BURST: u32 = 29;

/// The report throttle of `visitor` (deleted with the visitor's data).
pub fn visitor_key(visitor: &str) -> String {
    format!("report:v:{visitor}")
}

struct Reason {
    value: &'static str,
    label: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    t: Tr,
    layout: Layout,
    number_url: String,
    number_display: String,
    from: String,
    received: String,
    received_iso: String,
    body: String,
    reasons: Vec<Reason>,
    note: String,
    max_note: usize,
    error: Option<&'static str>,
    sent: bool,
    worker: String,
}

/// `?sent=1` after a report.
#[derive(Debug, Default, Deserialize)]
pub struct SentQuery {
    #[serde(default)]
    sent: Option<String>,
}

/// The form: `reason`, `note` and `pow` (the solutions, comma-separated).
#[derive(Debug, Default, Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    pow: String,
}

/// The message `id` of number `e164` as a visitor may see it; a 404 for
/// a malformed path, an unknown message or one of another number.
async fn target(state: &AppState, e164: &str, id: &str) -> Result<store::MessageRow, PageError> {
    let number = E164::parse(e164).map_err(|_| PageError::NotFound("error.no_number"))?;
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0 && id.to_string().len() <= 19)
        .ok_or(PageError::NotFound("report.no_message"))?;
    match state.store.reportable_message(id).await? {
        Some(row) if row.number == number.as_str() => Ok(row),
        _ => Err(PageError::NotFound("report.no_message")),
    }
}

fn path_of(row: &store::MessageRow) -> String {
    format!("/numbers/{}/messages/{}/report", row.number, row.id)
}

/// What the page says: the form (with an error, when a post was refused)
/// or the thank-you.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    error: Option<&'static str>,
    sent: bool,
    status: StatusCode,
}

impl Outcome {
    const FORM: Self = Self {
        error: None,
        sent: false,
        status: StatusCode::OK,
    };

    fn refused(key: &'static str, status: StatusCode) -> Self {
        Self {
            error: Some(key),
            sent: false,
            status,
        }
    }
}

fn render(
    state: &AppState,
    t: Tr,
    headers: &HeaderMap,
    row: &store::MessageRow,
    form: &ReportForm,
    outcome: Outcome,
) -> Response {
    let Outcome {
        error,
        sent,
        status,
    } = outcome;
    let title = if sent {
        t.t("report.thanks_title")
    } else {
        t.t("report.title")
    };
    let mut layout = Layout::new(
        &t,
        &base_url(state, headers),
        &path_of(row),
        title.to_owned(),
        t.t("report.intro").to_owned(),
    )
    .noindex();
    layout.js = assets::url("report.js");
    let page = ReportPage {
        number_url: format!("{}/numbers/{}", t.lang.root(), row.number),
        number_display: E164::parse(&row.number)
            .map(|n| n.written().international.clone())
            .unwrap_or_else(|_| row.number.clone()),
        from: row.sender.clone(),
        received: when(row.received_at),
        received_iso: row
            .received_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        body: state.masking.apply(&row.body).into_owned(),
        reasons: ReportReason::ALL
            .into_iter()
            .map(|r| Reason {
                value: r.as_str(),
                label: reason_key(r),
                checked: form.reason == r.as_str(),
            })
            .collect(),
        note: form.note.chars().take(MAX_NOTE_CHARS).collect(),
        max_note: MAX_NOTE_CHARS,
        error,
        sent,
        worker: assets::url("gate-worker.js"),
        layout,
        t,
    };
    let mut response = match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => PageError::from(err).into_response(),
    };
    crate::security::private(response.headers_mut());
    response
}

fn reason_key(reason: ReportReason) -> &'static str {
    match reason {
        ReportReason::PersonalData => "report.reason.personal_data",
        ReportReason::Abuse => "report.reason.abuse",
        ReportReason::Other => "report.reason.other",
    }
}

/// `GET /numbers/{e164}/messages/{id}/report[?sent=1]`: the form, or the
/// thank-you after a report.
pub async fn page(
    State(state): State<AppState>,
    t: Tr,
    headers: HeaderMap,
    Path((e164, id)): Path<(String, String)>,
    query: Result<Query<SentQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let row = match target(&state, &e164, &id).await {
        Ok(row) => row,
        Err(err) => return err.into_response(),
    };
    let sent = query.is_ok_and(|q| q.sent.as_deref() == Some("1"));
    // Without captcha-verification no report can be accepted: say so first.
    let error = (!sent && !crate::gate::can_redeem(&state)).then_some("report.err.unavailable");
    let outcome = Outcome {
        sent,
        error,
        ..Outcome::FORM
    };
    render(&state, t, &headers, &row, &ReportForm::default(), outcome)
}

/// The note as stored: trimmed, control characters other than line
/// breaks and tabs dropped; `None` when longer than [`MAX_NOTE_CHARS`].
fn clean_note(note: &str) -> Option<String> {
    let note: String = note
        .trim()
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect();
    (note.chars().count() <= MAX_NOTE_CHARS).then_some(note)
}

/// `POST /numbers/{e164}/messages/{id}/report`: stores a report that
/// carries a fresh solution, within the rate limits; 303 to the thank-you.
pub async fn submit(
    State(state): State<AppState>,
    t: Tr,
    headers: HeaderMap,
    visitor: Option<axum::Extension<VisitorId>>,
    axum::Extension(client_addr): axum::Extension<ClientAddr>,
    Path((e164, id)): Path<(String, String)>,
    form: Result<Form<ReportForm>, FormRejection>,
) -> Response {
    let row = match target(&state, &e164, &id).await {
        Ok(row) => row,
        Err(err) => return err.into_response(),
    };
    let refuse = |form: &ReportForm, key: &'static str, status: StatusCode| {
        render(
            &state,
            t,
            &headers,
            &row,
            form,
            Outcome::refused(key, status),
        )
    };
    let Ok(Form(form)) = form else {
        return refuse(
            &ReportForm::default(),
            "report.err.reason",
            StatusCode::BAD_REQUEST,
        );
    };
    if !crate::security::same_origin(&state, &headers) {
        return refuse(&form, "report.err.origin", StatusCode::FORBIDDEN);
    }
    let Some(reason) = ReportReason::parse(&form.reason) else {
        return refuse(&form, "report.err.reason", StatusCode::BAD_REQUEST);
    };
    let Some(note) = clean_note(&form.note) else {
        return refuse(&form, "report.err.note", StatusCode::BAD_REQUEST);
    };
    let Some(payloads) = crate::gate::payloads(&form.pow) else {
        return refuse(&form, "report.err.pow", StatusCode::FORBIDDEN);
    };
    match crate::gate::redeem(&state, &headers, &client_addr, payloads, REPORT_ACTION).await {
        Redeemed::Accepted => {}
        Redeemed::Refused(codes) => {
            tracing::debug!(?codes, "report: solution refused");
            return refuse(&form, "report.err.pow", StatusCode::FORBIDDEN);
        }
        Redeemed::Unavailable => {
            return refuse(
                &form,
                "report.err.unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
    }
    let visitor = visitor.map(|v| v.0.0).unwrap_or_default();
    if let Some(wait) = over_limit(&state, &visitor, client_addr).await {
        let mut response = refuse(&form, "report.err.busy", StatusCode::TOO_MANY_REQUESTS);
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(wait.as_secs().max(1)),
        );
        return response;
    }
    let new = NewReport {
        message_id: row.id,
        reason,
        note,
        at: Utc::now(),
    };
    match state.store.add_report(new).await {
        Ok(Some(report)) => {
            tracing::info!(report = report.id, message = row.id, "report queued");
        }
        Ok(None) => return PageError::NotFound("report.no_message").into_response(),
        Err(err) => return PageError::from(err).into_response(),
    }
    let location = format!("{}{}?sent=1", t.lang.root(), path_of(&row));
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    crate::security::private(response.headers_mut());
    response
}

/// Counts one report for the visitor and the network: the wait when either
/// is over its limit. A cache failure lets the report through (the
/// solution was spent already: flooding still costs work).
async fn over_limit(state: &AppState, visitor: &str, client: ClientAddr) -> Option<Duration> {
    let mut buckets = Vec::with_capacity(2);
    if !visitor.is_empty() {
        buckets.push((visitor_key(visitor), VISITOR_INTERVAL, VISITOR_BURST));
    }
    if let Some(ip) = client.0 {
        buckets.push((
            format!("report:n:{}", platform::network_prefix(ip)),
            NETWORK_INTERVAL,
            NETWORK_BURST,
        ));
    }
    for (key, interval, burst) in buckets {
        match state.cache.throttle(&key, interval, burst).await {
            Ok(None) => {}
            Ok(Some(wait)) => return Some(wait),
            Err(err) => {
                tracing::warn!(%err, "report: cannot count; letting it through");
                return None;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_bounded_and_lose_control_characters() {
        assert_eq!(
            clean_note("  hi\u{0}\u{7}\nthere "),
            Some("hi\nthere".into())
        );
        assert_eq!(clean_note(&"é".repeat(500)).map(|n| n.len()), Some(1000));
        assert_eq!(clean_note(&"x".repeat(501)), None);
    }
}
