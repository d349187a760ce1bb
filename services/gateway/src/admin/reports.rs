//! The takedown queue for operators: `GET /admin/api/v1/reports`
//! (`?status=open|dismissed|resolved|all`, default open; `?before=<id>`,
//! `?limit=`), `POST /admin/api/v1/reports/{id}/dismiss` (`{"note"}`
//! optional), and the console page `/admin/reports` with a "Dismiss" and a
//! "Hide message" form per report (CSRF tokens bound to the session).
//! Every action goes through [`super::access`] and into the audit log.
//! Operators see the stored text; where a masking rule changes what
//! visitors see, the report says so (`masked`).

use askama::Template;
use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use store::{Dismissed, ReportStatus, ReportWithMessage};

use super::audit::{self, Action};
use super::console::{PageOperator, form_operator, page_operator};
use super::session::{Access, Operator, access};
use super::{not_found, private, too_many};
use crate::{AppState, assets};

/// Most reports in one answer.
const MAX_LIMIT: u64 = 200;
/// Reports in one answer unless `?limit=` says.
const DEFAULT_LIMIT: u64 = 50;
/// Longest dismissal note, in characters.
const MAX_DISMISS_NOTE: usize = 500;

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A JSON error `{"error": ...}`, never stored by a cache.
fn error(status: StatusCode, message: &str) -> Response {
    super::api::ApiError::new(status, message).into_response()
}

/// The operator behind an API call, or the answer that refuses it. A
/// browser session (not a bearer token) must also come from this site.
async fn api_operator(
    state: &AppState,
    headers: &HeaderMap,
    writes: bool,
) -> Result<Operator, Response> {
    match access(state, headers).await {
        Access::Disabled => Err(not_found()),
        Access::Throttled => Err(too_many()),
        Access::Denied => Err(error(
            StatusCode::UNAUTHORIZED,
            "an operator token is needed: Authorization: Bearer <token>",
        )),
        Access::Allowed(operator) => {
            if writes && operator.session.is_some() && !crate::security::same_origin(state, headers)
            {
                return Err(error(StatusCode::FORBIDDEN, "cross-site request refused"));
            }
            Ok(operator)
        }
    }
}

/// `?status=&before=&limit=` of the queue.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    before: Option<String>,
    #[serde(default)]
    limit: Option<String>,
}

/// A checked [`ListQuery`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Listing {
    status: Option<ReportStatus>,
    before: Option<i64>,
    limit: u64,
}

fn parse_listing(q: &ListQuery) -> Result<Listing, String> {
    let status = match q.status.as_deref().unwrap_or("open") {
        "all" => None,
        other => Some(
            ReportStatus::parse(other)
                .ok_or("status: expected open, dismissed, resolved or all")?,
        ),
    };
    let before = match q.before.as_deref() {
        None => None,
        Some(raw) => Some(
            raw.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or("before: expected a report id")?,
        ),
    };
    let limit = match q.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or(format!("limit: expected 1 to {MAX_LIMIT}"))?,
    };
    Ok(Listing {
        status,
        before,
        limit,
    })
}

/// A reported message as the API shows it: as stored.
#[derive(Debug, Serialize)]
struct MessageJson {
    id: i64,
    number: String,
    from: String,
    body: String,
    /// Visitors see a masked text (`gateway.masking`).
    masked: bool,
    received_at: String,
}

/// A report as the API shows it.
#[derive(Debug, Serialize)]
struct ReportJson {
    id: i64,
    status: String,
    reason: String,
    note: String,
    created_at: String,
    resolved_at: Option<String>,
    resolved_by: Option<String>,
    message_id: i64,
    number: String,
    /// None when the message is gone (past its retention).
    message: Option<MessageJson>,
}

fn report_json(state: &AppState, item: ReportWithMessage) -> ReportJson {
    let r = item.report;
    ReportJson {
        id: r.id,
        status: r.status,
        reason: r.reason,
        note: r.note,
        created_at: time(r.created_at),
        resolved_at: r.resolved_at.map(time),
        resolved_by: r.resolved_by,
        message_id: r.message_id,
        number: r.number,
        message: item.message.map(|m| MessageJson {
            masked: matches!(state.masking.apply(&m.body), std::borrow::Cow::Owned(_)),
            id: m.id,
            number: m.number,
            from: m.sender,
            body: m.body,
            received_at: time(m.received_at),
        }),
    }
}

/// `GET /admin/api/v1/reports`.
pub async fn api_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Response {
    if let Err(refused) = api_operator(&state, &headers, false).await {
        return refused;
    }
    let Ok(Query(query)) = query else {
        return error(StatusCode::BAD_REQUEST, "unreadable query string");
    };
    let listing = match parse_listing(&query) {
        Ok(listing) => listing,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    match state
        .store
        .list_reports(listing.status, listing.before, listing.limit)
        .await
    {
        Ok(items) => {
            let next = (items.len() as u64 == listing.limit)
                .then(|| items.last().map(|i| i.report.id))
                .flatten();
            let reports: Vec<ReportJson> =
                items.into_iter().map(|i| report_json(&state, i)).collect();
            private(
                Json(serde_json::json!({ "reports": reports, "next_before": next }))
                    .into_response(),
            )
        }
        Err(err) => {
            tracing::error!(%err, "reports not listed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable",
            )
        }
    }
}

/// Body of `POST /admin/api/v1/reports/{id}/dismiss`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DismissBody {
    #[serde(default)]
    note: String,
}

fn report_id(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|id| *id > 0)
}

/// Dismisses report `id` for `operator` and logs it: the answer's status
/// and message.
async fn dismiss(
    state: &AppState,
    operator: &Operator,
    id: i64,
    note: &str,
) -> (StatusCode, &'static str) {
    match state.store.dismiss_report(id, &operator.name).await {
        Ok(Dismissed::Done) => {
            let target = id.to_string();
            // The action happened; a lost audit event is logged by `record`.
            let _ = audit::record(
                state,
                Action {
                    operator: &operator.name,
                    action: "report.dismiss",
                    target: &target,
                    detail: note,
                },
            )
            .await;
            (StatusCode::OK, "dismissed")
        }
        Ok(Dismissed::NotOpen) => (StatusCode::CONFLICT, "the report is not open"),
        Ok(Dismissed::Unknown) => (StatusCode::NOT_FOUND, "no such report"),
        Err(err) => {
            tracing::error!(%err, "report not dismissed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable",
            )
        }
    }
}

/// `POST /admin/api/v1/reports/{id}/dismiss`.
pub async fn api_dismiss(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    body: Result<Json<DismissBody>, JsonRejection>,
) -> Response {
    let operator = match api_operator(&state, &headers, true).await {
        Ok(operator) => operator,
        Err(refused) => return refused,
    };
    let Some(id) = report_id(&raw) else {
        return error(StatusCode::NOT_FOUND, "no such report");
    };
    let note = match body {
        Ok(Json(body)) => body.note,
        // No body at all: no note.
        Err(JsonRejection::MissingJsonContentType(_))
            if !headers.contains_key(header::CONTENT_TYPE) =>
        {
            String::new()
        }
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("expected JSON {{\"note\"}}: {err}"),
            );
        }
    };
    if note.chars().count() > MAX_DISMISS_NOTE {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "note: at most 500 characters",
        );
    }
    let (status, message) = dismiss(&state, &operator, id, note.trim()).await;
    if status == StatusCode::OK {
        private(Json(serde_json::json!({ "id": id, "status": "dismissed" })).into_response())
    } else {
        error(status, message)
    }
}

/// A report as the console lists it.
struct ReportRow {
    id: i64,
    reason: &'static str,
    note: String,
    age: String,
    created: String,
    number: String,
    message_id: i64,
    from: String,
    body: Option<String>,
    masked: bool,
}

#[derive(Template)]
#[template(path = "admin_reports.html")]
struct ReportsPage {
    css: String,
    admin_css: String,
    logout_csrf: String,
    /// The session's CSRF token for the forms (empty with a bearer token:
    /// no forms then).
    csrf: String,
    reports: Vec<ReportRow>,
    notice: &'static str,
    error: String,
}

fn reason_label(reason: &str) -> &'static str {
    match reason {
        "personal_data" => "Personal data",
        "abuse" => "Abuse",
        _ => "Other",
    }
}

/// "3 h ago" from `at` to `now`.
fn age(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds().max(0);
    match secs {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => format!("{} days ago", secs / 86_400),
    }
}

/// `?done=` after a console action.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /admin/reports`: the open queue, newest first.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Response {
    let PageOperator {
        logout_csrf, csrf, ..
    } = match page_operator(&state, &headers, "/admin/reports").await {
        Ok(page) => page,
        Err(answer) => return answer,
    };
    let notice = match query.ok().and_then(|q| q.0.done).as_deref() {
        Some("dismissed") => "Report dismissed.",
        Some("hidden") => "Message hidden; its open reports are resolved.",
        _ => "",
    };
    let now = Utc::now();
    let (reports, error, status) = match state
        .store
        .list_reports(Some(ReportStatus::Open), None, MAX_LIMIT)
        .await
    {
        Ok(items) => (
            items
                .into_iter()
                .map(|item| {
                    let r = item.report;
                    ReportRow {
                        id: r.id,
                        reason: reason_label(&r.reason),
                        note: r.note,
                        age: age(r.created_at, now),
                        created: time(r.created_at),
                        number: r.number,
                        message_id: r.message_id,
                        from: item
                            .message
                            .as_ref()
                            .map(|m| m.sender.clone())
                            .unwrap_or_default(),
                        masked: item.message.as_ref().is_some_and(|m| {
                            matches!(state.masking.apply(&m.body), std::borrow::Cow::Owned(_))
                        }),
                        body: item.message.map(|m| m.body),
                    }
                })
                .collect(),
            String::new(),
            StatusCode::OK,
        ),
        Err(err) => {
            tracing::error!(%err, "reports not listed");
            (
                Vec::new(),
                "The database is unavailable; try again in a moment.".to_owned(),
                StatusCode::SERVICE_UNAVAILABLE,
            )
        }
    };
    let page = ReportsPage {
        css: assets::url("site.css"),
        admin_css: assets::url("admin.css"),
        logout_csrf,
        csrf,
        reports,
        notice,
        error,
    };
    match page.render() {
        Ok(html) => private((status, Html(html)).into_response()),
        Err(err) => private(crate::PageError::from(err).into_response()),
    }
}

/// The console's dismiss form.
#[derive(Debug, Deserialize)]
pub struct DismissForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
}

fn plain(status: StatusCode, message: &'static str) -> Response {
    private((status, message).into_response())
}

/// `POST /admin/reports/{id}/dismiss`: the console's "Dismiss" button
/// (a session, its CSRF token, from this site); 303 back to the queue.
pub async fn page_dismiss(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    form: Result<Form<DismissForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return plain(StatusCode::BAD_REQUEST, "unreadable form\n");
    };
    let operator = match form_operator(&state, &headers, &form.csrf, "/admin/reports").await {
        Ok(operator) => operator,
        Err(answer) => return answer,
    };
    let Some(id) = report_id(&raw) else {
        return plain(StatusCode::NOT_FOUND, "no such report\n");
    };
    let note: String = form.note.trim().chars().take(MAX_DISMISS_NOTE).collect();
    match dismiss(&state, &operator, id, &note).await {
        (StatusCode::OK, _) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            response.headers_mut().insert(
                header::LOCATION,
                HeaderValue::from_static("/admin/reports?done=dismissed"),
            );
            private(response)
        }
        (StatusCode::CONFLICT, _) => {
            plain(StatusCode::CONFLICT, "the report is not open any more\n")
        }
        (StatusCode::NOT_FOUND, _) => plain(StatusCode::NOT_FOUND, "no such report\n"),
        _ => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is unavailable, try again\n",
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn q(status: Option<&str>, before: Option<&str>, limit: Option<&str>) -> ListQuery {
        ListQuery {
            status: status.map(Into::into),
            before: before.map(Into::into),
            limit: limit.map(Into::into),
        }
    }

    #[test]
    fn listings_are_parsed_strictly() {
        assert_eq!(
            parse_listing(&q(None, None, None)).unwrap(),
            Listing {
                status: Some(ReportStatus::Open),
                before: None,
                limit: DEFAULT_LIMIT
            }
        );
        assert_eq!(
            parse_listing(&q(Some("all"), Some("7"), Some("200")))
                .unwrap()
                .status,
            None
        );
        for bad in [
            q(Some("OPEN"), None, None),
            q(None, Some("-1"), None),
            q(None, Some("x"), None),
            q(None, None, Some("0")),
            q(None, None, Some("201")),
            // Present but empty is no integer (the OpenAPI document says integer).
            q(None, Some(""), None),
            q(None, None, Some("")),
            q(Some(""), None, None),
        ] {
            assert!(parse_listing(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ages_read_like_people_say_them() {
        let now = Utc::now();
        assert_eq!(age(now, now), "just now");
        assert_eq!(age(now - chrono::Duration::minutes(5), now), "5 min ago");
        assert_eq!(age(now - chrono::Duration::hours(3), now), "3 h ago");
        assert_eq!(age(now - chrono::Duration::days(2), now), "2 days ago");
    }
}
