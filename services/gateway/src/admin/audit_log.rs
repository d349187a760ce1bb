//! The audit log's reading side: `GET /admin/api/v1/audit` (JSON) and the
//! console page `/admin/audit`, both from log-retention's `AuditService`
//! (the writer is `audit.rs`). Filters: `from`, `to` (Unix seconds, RFC
//! 3339, or a UTC day `YYYY-MM-DD`: `from` its start, `to` its end),
//! `operator`, `action`, `target` (exact, at most 256 characters), `limit`
//! (1 to 1000, default 100) and `before` (the previous page's `next`).
//! Newest first.

use std::time::Duration;

use askama::Template;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Days, NaiveDate, SecondsFormat, Utc};
use proto::retention::v1::audit_service_client::AuditServiceClient;
use proto::retention::v1::{AuditEntry, AuditListRequest, AuditListResponse};
use serde::{Deserialize, Serialize};
use tonic::transport::{Channel, Endpoint};

use super::api::ApiError;
use super::session::{self, Access, login_page, too_many};
use super::{not_found, private};
use crate::{AppState, PageError, assets};

/// Entries per page when the query names no limit.
pub const DEFAULT_LIMIT: u32 = 100;
/// The most entries per page.
pub const MAX_LIMIT: u32 = 1000;
/// The longest `operator`, `action` or `target` filter, in characters.
pub const MAX_FILTER_CHARS: usize = 256;

/// A lazily connected `AuditService` client (none when unconfigured).
pub fn client(url: &str) -> Option<AuditServiceClient<Channel>> {
    if url.trim().is_empty() {
        return None;
    }
    let endpoint = Endpoint::from_shared(url.to_owned())
        .ok()?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(10));
    Some(AuditServiceClient::new(endpoint.connect_lazy()))
}

/// The query string of the API and the page, as sent (a GET form sends
/// every field, empty ones included).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AuditParams {
    from: Option<String>,
    to: Option<String>,
    operator: Option<String>,
    action: Option<String>,
    target: Option<String>,
    limit: Option<String>,
    before: Option<String>,
}

/// `raw` trimmed, `None` when absent or empty.
fn given(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|s| !s.is_empty())
}

/// An instant of the query: Unix seconds, RFC 3339, or a UTC day (its
/// start, or with `end_of_day` the start of the next day).
fn instant(raw: Option<&str>, name: &str, end_of_day: bool) -> Result<Option<i64>, String> {
    let Some(text) = given(raw) else {
        return Ok(None);
    };
    let bad =
        || format!("{name}: expected Unix seconds, an RFC 3339 time or a day like 2026-12-04");
    if text.len() > 40 {
        return Err(bad());
    }
    let secs = if text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<i64>().map_err(|_| bad())?
    } else if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        // The end rounds up: `to` stays after everything it names.
        let secs = at.timestamp();
        if end_of_day && at.timestamp_subsec_nanos() > 0 {
            secs + 1
        } else {
            secs
        }
    } else {
        let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| bad())?;
        let day = if end_of_day {
            day.checked_add_days(Days::new(1)).ok_or_else(bad)?
        } else {
            day
        };
        day.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()
    };
    // Years 1970 to 9999; 0 would mean "open" to log-retention.
    if !(1..253_402_300_800).contains(&secs) {
        return Err(format!("{name}: out of range"));
    }
    Ok(Some(secs))
}

fn exact(raw: Option<&str>, name: &str) -> Result<String, String> {
    let value = given(raw).unwrap_or_default();
    if value.chars().count() > MAX_FILTER_CHARS {
        return Err(format!("{name}: at most {MAX_FILTER_CHARS} characters"));
    }
    Ok(value.to_owned())
}

/// The checked request to log-retention; the reason for a 400 otherwise.
fn parse(params: &AuditParams) -> Result<AuditListRequest, String> {
    let from = instant(params.from.as_deref(), "from", false)?;
    let to = instant(params.to.as_deref(), "to", true)?;
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        return Err("to: must be after from".to_owned());
    }
    let limit = match given(params.limit.as_deref()) {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| format!("limit: a number from 1 to {MAX_LIMIT}"))?,
    };
    let before_id = match given(params.before.as_deref()) {
        None => 0,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| "before: the next cursor of a previous page".to_owned())?,
    };
    Ok(AuditListRequest {
        from_unix: from.unwrap_or(0),
        to_unix: to.unwrap_or(0),
        operator: exact(params.operator.as_deref(), "operator")?,
        action: exact(params.action.as_deref(), "action")?,
        target: exact(params.target.as_deref(), "target")?,
        limit,
        before_id,
    })
}

/// [`parse`] for the API. The page's GET form sends its empty fields, which
/// mean "no filter"; the API's integer parameters, once given, need a value,
/// as its OpenAPI document says.
fn parse_api(params: &AuditParams) -> Result<AuditListRequest, String> {
    let integers = [
        ("from", &params.from),
        ("to", &params.to),
        ("limit", &params.limit),
        ("before", &params.before),
    ];
    // Sent (`Some`), yet no value for `given`.
    if let Some((name, _)) = integers
        .iter()
        .find(|(_, value)| value.is_some() && given(value.as_deref()).is_none())
    {
        return Err(format!(
            "{name}: empty; leave the parameter out or give a value"
        ));
    }
    parse(params)
}

enum Failure {
    Invalid(String),
    Unavailable,
}

async fn fetch(state: &AppState, request: AuditListRequest) -> Result<AuditListResponse, Failure> {
    let Some(mut client) = state.audit.clone() else {
        return Err(Failure::Unavailable);
    };
    match platform::grpc::call("cloudsms.retention.v1.AuditService", "List", request, |r| {
        client.list(r)
    })
    .await
    {
        Ok(response) => Ok(response.into_inner()),
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            Err(Failure::Invalid(status.message().to_owned()))
        }
        Err(status) => {
            tracing::warn!(code = ?status.code(), "log-retention unavailable for the audit log");
            Err(Failure::Unavailable)
        }
    }
}

/// An entry's time in RFC 3339 (UTC, milliseconds).
fn rfc3339(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// One entry of the API's answer.
#[derive(Debug, Serialize)]
struct EntryJson {
    id: i64,
    at: String,
    operator: String,
    action: String,
    target: String,
    detail: String,
}

impl From<AuditEntry> for EntryJson {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            at: rfc3339(e.at_unix_millis),
            operator: e.operator,
            action: e.action,
            target: e.target,
            detail: e.detail,
        }
    }
}

/// The API's answer: a page of entries and the cursor of the next.
#[derive(Debug, Serialize)]
struct PageJson {
    entries: Vec<EntryJson>,
    next: Option<i64>,
}

fn json_error(status: StatusCode, message: &str) -> Response {
    ApiError::new(status, message).into_response()
}

/// `GET /admin/api/v1/audit`: a page of the audit log as JSON.
pub async fn api(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<AuditParams>, QueryRejection>,
) -> Response {
    match session::access(&state, &headers).await {
        Access::Disabled => return json_error(StatusCode::NOT_FOUND, "no such page"),
        Access::Denied => return json_error(StatusCode::UNAUTHORIZED, "operator token required"),
        Access::Throttled => {
            return json_error(
                StatusCode::TOO_MANY_REQUESTS,
                "too many wrong tokens, wait a minute",
            );
        }
        Access::Allowed(_) => {}
    }
    let Ok(Query(params)) = query else {
        return json_error(StatusCode::BAD_REQUEST, "unreadable query string");
    };
    let request = match parse_api(&params) {
        Ok(request) => request,
        Err(message) => return json_error(StatusCode::BAD_REQUEST, &message),
    };
    match fetch(&state, request).await {
        Ok(page) => private(
            Json(PageJson {
                entries: page.entries.into_iter().map(EntryJson::from).collect(),
                next: (page.next_before_id > 0).then_some(page.next_before_id),
            })
            .into_response(),
        ),
        Err(Failure::Invalid(message)) => json_error(StatusCode::BAD_REQUEST, &message),
        Err(Failure::Unavailable) => json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the audit log is not available right now",
        ),
    }
}

/// One row of the page's table.
struct Row {
    at: String,
    operator: String,
    action: String,
    target: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    css: String,
    admin_css: String,
    /// The filters as sent, to fill the form again.
    from: String,
    to: String,
    operator: String,
    action: String,
    target: String,
    error: Option<String>,
    rows: Vec<Row>,
    /// The link to the next (older) page; empty on the last.
    older: String,
    /// The logout form's CSRF token (empty for a bearer token: no form).
    logout_csrf: String,
}

/// Action names the form suggests.
const ACTIONS: [&str; 11] = [
    "number.add",
    "number.retire",
    "number.reactivate",
    "number.label",
    "number.keep_days",
    "message.hide",
    "message.unhide",
    "report.dismiss",
    "report.resolve",
    "session.login",
    "session.logout",
];

impl AuditPage {
    fn actions(&self) -> &'static [&'static str] {
        &ACTIONS
    }
}

/// The query string of the next page: the same filters, `before` = `next`.
fn older_link(params: &AuditParams, next: i64) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in [
        ("from", &params.from),
        ("to", &params.to),
        ("operator", &params.operator),
        ("action", &params.action),
        ("target", &params.target),
        ("limit", &params.limit),
    ] {
        if let Some(value) = given(value.as_deref()) {
            query.append_pair(name, value);
        }
    }
    query.append_pair("before", &next.to_string());
    format!("/admin/audit?{}", query.finish())
}

fn field(value: Option<&String>) -> String {
    value
        .map(|v| v.chars().take(MAX_FILTER_CHARS).collect())
        .unwrap_or_default()
}

/// `GET /admin/audit`: the console page.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<AuditParams>, QueryRejection>,
) -> Response {
    let operator = match session::access(&state, &headers).await {
        Access::Disabled => return not_found(),
        Access::Denied => return login_page(StatusCode::UNAUTHORIZED, false),
        Access::Throttled => return too_many(),
        Access::Allowed(operator) => operator,
    };
    let logout_csrf = operator
        .session
        .as_deref()
        .map(|id| session::csrf_token(&state, id))
        .unwrap_or_default();
    let (params, readable) = match query {
        Ok(Query(params)) => (params, true),
        Err(_) => (AuditParams::default(), false),
    };
    let mut page = AuditPage {
        css: assets::url("site.css"),
        admin_css: assets::url("admin.css"),
        from: field(params.from.as_ref()),
        to: field(params.to.as_ref()),
        operator: field(params.operator.as_ref()),
        action: field(params.action.as_ref()),
        target: field(params.target.as_ref()),
        error: None,
        rows: Vec::new(),
        older: String::new(),
        logout_csrf,
    };
    let request = if readable {
        parse(&params)
    } else {
        Err("unreadable query string".to_owned())
    };
    let status = match request {
        Err(message) => {
            page.error = Some(message);
            StatusCode::BAD_REQUEST
        }
        Ok(request) => match fetch(&state, request).await {
            Ok(list) => {
                if list.next_before_id > 0 {
                    page.older = older_link(&params, list.next_before_id);
                }
                page.rows = list
                    .entries
                    .into_iter()
                    .map(|e| Row {
                        at: rfc3339(e.at_unix_millis),
                        operator: e.operator,
                        action: e.action,
                        target: e.target,
                        detail: e.detail,
                    })
                    .collect();
                StatusCode::OK
            }
            Err(Failure::Invalid(message)) => {
                page.error = Some(message);
                StatusCode::BAD_REQUEST
            }
            Err(Failure::Unavailable) => {
                page.error = Some("the audit log is not available right now".to_owned());
                StatusCode::SERVICE_UNAVAILABLE
            }
        },
    };
    match page.render() {
        Ok(html) => private((status, Html(html)).into_response()),
        Err(err) => private(PageError::from(err).into_response()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> AuditParams {
        let mut p = AuditParams::default();
        for (name, value) in pairs {
            let value = Some((*value).to_owned());
            match *name {
                "from" => p.from = value,
                "to" => p.to = value,
                "operator" => p.operator = value,
                "action" => p.action = value,
                "target" => p.target = value,
                "limit" => p.limit = value,
                "before" => p.before = value,
                other => panic!("no parameter {other}"),
            }
        }
        p
    }

    #[test]
    fn filters_are_parsed_strictly() {
        let all = parse(&params(&[])).unwrap();
        assert_eq!((all.limit, all.from_unix, all.before_id), (100, 0, 0));
        // A GET form's empty fields are no filters.
        let empty = parse(&params(&[("from", ""), ("operator", " "), ("limit", "")])).unwrap();
        assert_eq!(empty, all);
        let r = parse(&params(&[
            ("from", "2026-12-04"),
            ("to", "2026-12-04"),
            ("operator", "alice"),
            ("limit", "1000"),
            ("before", "42"),
        ]))
        .unwrap();
        assert_eq!(r.to_unix - r.from_unix, 86_400, "a day `to` is included");
        assert_eq!(
            (r.operator.as_str(), r.limit, r.before_id),
            ("alice", 1000, 42)
        );
        let r = parse(&params(&[
            ("from", "1764806400"),
            ("to", "2025-12-04T00:00:00.5Z"),
        ]))
        .unwrap();
        assert_eq!((r.from_unix, r.to_unix), (1_764_806_400, 1_764_806_401));
        for bad in [
            vec![("from", "yesterday")],
            vec![("from", "2026-02-30")],
            vec![("from", "-5")],
            vec![("from", "99999999999999999999")],
            vec![("from", "2026-12-05"), ("to", "2026-12-04")],
            vec![("from", "1764806400"), ("to", "1764806400")],
            vec![("limit", "0")],
            vec![("limit", "1001")],
            vec![("limit", "ten")],
            vec![("before", "0")],
            vec![("before", "x")],
        ] {
            assert!(parse(&params(&bad)).is_err(), "{bad:?}");
        }
        let long = "a".repeat(MAX_FILTER_CHARS + 1);
        assert!(parse(&params(&[("target", long.as_str())])).is_err());
        // Characters, not bytes: what the OpenAPI document's maxLength says.
        let wide = "é".repeat(MAX_FILTER_CHARS);
        assert!(parse(&params(&[("target", wide.as_str())])).is_ok());
    }

    /// The page's GET form sends its empty fields, and they mean "no filter";
    /// a client of the API that sends `before=` has sent no integer, as the
    /// OpenAPI document says the parameter is (CI's schemathesis found it).
    #[test]
    fn the_api_refuses_empty_numbers() {
        for name in ["from", "to", "limit", "before"] {
            for empty in ["", " "] {
                let sent = params(&[(name, empty)]);
                assert!(parse(&sent).is_ok(), "the page takes {name}={empty:?}");
                let refused = parse_api(&sent).unwrap_err();
                assert!(refused.starts_with(name), "{refused}");
            }
        }
        // The string filters may be empty: their schema has no minimum length.
        let strings = params(&[("operator", ""), ("action", ""), ("target", "")]);
        assert_eq!(parse_api(&strings).unwrap(), parse(&params(&[])).unwrap());
        let given = params(&[("before", "7"), ("limit", "3")]);
        assert_eq!(parse_api(&given).unwrap(), parse(&given).unwrap());
    }

    #[test]
    fn the_older_link_keeps_the_filters() {
        let link = older_link(
            &params(&[("operator", "a b"), ("from", ""), ("before", "9")]),
            5,
        );
        assert_eq!(link, "/admin/audit?operator=a+b&before=5");
        assert_eq!(rfc3339(1_764_806_400_123), "2025-12-04T00:00:00.123Z");
    }
}
