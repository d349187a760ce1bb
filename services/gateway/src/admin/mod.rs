//! The operator console. `audit` writes the audit log, `audit_log` reads
//! it (`/admin/audit`, `/admin/api/v1/audit`).
//!
//! `/admin/stats`: the operator's visitor statistics, from log-retention's
//! `StatsService`: headline numbers against the previous period, SVG charts
//! rendered on the server (no script, no inline style: the CSP holds),
//! top lists, and a CSV export (`/admin/stats.csv`).
//!
//! Behind `gateway.admin_token`: empty turns the pages off (404); otherwise
//! the token comes as `Authorization: Bearer <token>` or through the login
//! form, which opens a server-side session (`session`). Every answer
//! carries `X-Robots-Tag: noindex` and `Cache-Control: no-store`, and
//! log-retention leaves `/admin` out of the statistics.

pub mod api;
pub mod audit;
pub mod audit_log;
pub mod console;
mod follow;
pub mod ops;
mod report;
mod reports;
mod session;
pub mod tokens;

pub use reports::{
    api_dismiss as reports_api_dismiss, api_list as reports_api_list, page as reports_page,
    page_dismiss as reports_page_dismiss,
};
pub use session::login;

use std::time::Duration;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Days, NaiveDate, Utc};
use proto::retention::v1::stats_service_client::StatsServiceClient;
use proto::retention::v1::{StatsRequest, StatsResponse};
use serde::Deserialize;
use tonic::transport::{Channel, Endpoint};

use crate::{AppState, PageError, assets};
pub use follow::spawn as follow_changes;
use report::{StatsPage, csv_text, day_chart, hour_chart, kpis, period, tables};
pub use session::{Access, access};
use session::{login_page, too_many};

/// Longest range the page asks for, in days (log-retention's limit).
pub const MAX_DAYS: u64 = 400;
/// Default range: the last 30 days, today included.
const DEFAULT_DAYS: u64 = 30;
/// A lazily connected `StatsService` client (none when unconfigured).
pub fn client(url: &str) -> Option<StatsServiceClient<Channel>> {
    if url.trim().is_empty() {
        return None;
    }
    let endpoint = Endpoint::from_shared(url.to_owned())
        .ok()?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(60));
    Some(StatsServiceClient::new(endpoint.connect_lazy()))
}

/// `X-Robots-Tag` and `no-store` on every operator answer.
fn private(mut response: Response) -> Response {
    crate::security::private(response.headers_mut());
    response
}

fn not_found() -> Response {
    private(PageError::NotFound("error.no_page").into_response())
}

/// `?from=YYYY-MM-DD&to=YYYY-MM-DD&bots=1` (UTC days, both included).
#[derive(Debug, Default, Deserialize)]
pub struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    bots: Option<String>,
}

/// A checked range: UTC days `from..=to`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Range {
    from: NaiveDate,
    to: NaiveDate,
    bots: bool,
}

impl Range {
    fn start(&self) -> DateTime<Utc> {
        self.from.and_time(chrono::NaiveTime::MIN).and_utc()
    }

    /// The end, excluded: the day after `to`.
    fn end(&self) -> DateTime<Utc> {
        (self.to + Days::new(1))
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
    }

    fn query_string(&self) -> String {
        let mut q = format!("from={}&to={}", self.from, self.to);
        if self.bots {
            q.push_str("&bots=1");
        }
        q
    }
}

fn parse_day(raw: Option<&str>, name: &str) -> Result<Option<NaiveDate>, String> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .filter(|d| (1970..=9999).contains(&chrono::Datelike::year(d)))
            .map(Some)
            .ok_or_else(|| format!("{name}: expected a date like 2026-11-29")),
    }
}

fn parse_range(q: &RangeQuery, today: NaiveDate) -> Result<Range, String> {
    let to = parse_day(q.to.as_deref(), "to")?.unwrap_or(today);
    let from =
        parse_day(q.from.as_deref(), "from")?.unwrap_or_else(|| to - Days::new(DEFAULT_DAYS - 1));
    if to < from {
        return Err("to: must not be before from".to_owned());
    }
    if (to - from).num_days() >= i64::try_from(MAX_DAYS).unwrap_or(i64::MAX) {
        return Err(format!("at most {MAX_DAYS} days at once"));
    }
    let bots = matches!(q.bots.as_deref(), Some("1" | "on" | "true" | "yes"));
    Ok(Range { from, to, bots })
}

enum Failure {
    Unavailable,
    Invalid(String),
}

async fn fetch(state: &AppState, range: &Range) -> Result<StatsResponse, Failure> {
    let Some(mut client) = state.stats.clone() else {
        return Err(Failure::Unavailable);
    };
    let request = StatsRequest {
        from_unix: range.start().timestamp(),
        to_unix: range.end().timestamp(),
        include_bots: range.bots,
        limit: 20,
    };
    match platform::grpc::call(
        "cloudsms.retention.v1.StatsService",
        "Stats",
        request,
        |r| client.stats(r),
    )
    .await
    {
        Ok(response) => Ok(response.into_inner()),
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            Err(Failure::Invalid(status.message().to_owned()))
        }
        Err(status) => {
            tracing::warn!(code = ?status.code(), "log-retention unavailable for /admin/stats");
            Err(Failure::Unavailable)
        }
    }
}

fn render(page: &StatsPage, status: StatusCode) -> Response {
    match page.render() {
        Ok(html) => private((status, Html(html)).into_response()),
        Err(err) => private(PageError::from(err).into_response()),
    }
}

fn empty_page(q: &RangeQuery, error: String, logout_csrf: &str) -> StatsPage {
    StatsPage {
        css: assets::url("site.css"),
        admin_css: assets::url("admin.css"),
        from: q.from.clone().unwrap_or_default(),
        to: q.to.clone().unwrap_or_default(),
        bots: q.bots.is_some(),
        error: Some(error),
        period: String::new(),
        previous_period: String::new(),
        kpis: Vec::new(),
        charts: Vec::new(),
        tables: Vec::new(),
        csv: String::new(),
        logout_csrf: logout_csrf.to_owned(),
    }
}

/// `GET /admin/stats`.
pub async fn stats(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<RangeQuery>, QueryRejection>,
) -> Response {
    let session = match access(&state, &headers).await {
        Access::Disabled => return not_found(),
        Access::Denied => return login_page(StatusCode::UNAUTHORIZED, false),
        Access::Throttled => return too_many(),
        Access::Allowed(operator) => operator,
    };
    let logout_csrf = session
        .session
        .as_deref()
        .map(|id| session::csrf_token(&state, id))
        .unwrap_or_default();
    let q = match query {
        Ok(Query(q)) => q,
        Err(_) => {
            return render(
                &empty_page(
                    &RangeQuery::default(),
                    "unreadable query string".to_owned(),
                    &logout_csrf,
                ),
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let range = match parse_range(&q, Utc::now().date_naive()) {
        Ok(range) => range,
        Err(message) => {
            return render(
                &empty_page(&q, message, &logout_csrf),
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let report = match fetch(&state, &range).await {
        Ok(report) => report,
        Err(Failure::Invalid(message)) => {
            return render(
                &empty_page(&q, message, &logout_csrf),
                StatusCode::BAD_REQUEST,
            );
        }
        Err(Failure::Unavailable) => {
            return render(
                &empty_page(
                    &q,
                    "statistics are not available right now".to_owned(),
                    &logout_csrf,
                ),
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
    };
    let totals = report.totals.unwrap_or_default();
    let previous = report.previous.unwrap_or_default();
    let page = StatsPage {
        css: assets::url("site.css"),
        admin_css: assets::url("admin.css"),
        from: range.from.to_string(),
        to: range.to.to_string(),
        bots: range.bots,
        error: None,
        period: period(report.from_unix, report.to_unix),
        previous_period: period(report.previous_from_unix, report.from_unix),
        kpis: kpis(&totals, &previous, report.current_visitors),
        charts: vec![day_chart(&report.days), hour_chart(&report.hours)],
        tables: tables(&report),
        csv: format!("/admin/stats.csv?{}", range.query_string()),
        logout_csrf: logout_csrf.clone(),
    };
    render(&page, StatusCode::OK)
}

fn plain(status: StatusCode, message: &str) -> Response {
    private((status, format!("{message}\n")).into_response())
}

/// `GET /admin/stats.csv`: the same range as the page, as CSV.
pub async fn csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<RangeQuery>, QueryRejection>,
) -> Response {
    match access(&state, &headers).await {
        Access::Disabled => return not_found(),
        Access::Denied => {
            let mut response = plain(StatusCode::UNAUTHORIZED, "operator token required");
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"cloudsms-admin\""),
            );
            return response;
        }
        Access::Throttled => return too_many(),
        Access::Allowed(_) => {}
    }
    let Ok(Query(q)) = query else {
        return plain(StatusCode::BAD_REQUEST, "unreadable query string");
    };
    let range = match parse_range(&q, Utc::now().date_naive()) {
        Ok(range) => range,
        Err(message) => return plain(StatusCode::BAD_REQUEST, &message),
    };
    let report = match fetch(&state, &range).await {
        Ok(report) => report,
        Err(Failure::Invalid(message)) => return plain(StatusCode::BAD_REQUEST, &message),
        Err(Failure::Unavailable) => {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "statistics are not available right now",
            );
        }
    };
    let mut response = csv_text(&report).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"cloudsms-stats-{}-{}.csv\"",
        range.from, range.to
    )) {
        h.insert(header::CONTENT_DISPOSITION, value);
    }
    private(response)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn q(from: Option<&str>, to: Option<&str>) -> RangeQuery {
        RangeQuery {
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
            bots: None,
        }
    }

    #[test]
    fn ranges_are_parsed_and_checked() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let r = parse_range(&q(None, None), today).unwrap();
        assert_eq!((r.from.to_string(), r.to), ("2026-10-31".to_owned(), today));
        assert_eq!(r.end() - r.start(), chrono::Duration::days(30));
        let r = parse_range(&q(Some("2026-11-01"), Some("2026-11-01")), today).unwrap();
        assert_eq!(r.end() - r.start(), chrono::Duration::days(1));
        assert!(parse_range(&q(Some("2026-13-01"), None), today).is_err());
        assert!(parse_range(&q(Some("yesterday"), None), today).is_err());
        assert!(parse_range(&q(Some("2026-11-02"), Some("2026-11-01")), today).is_err());
        assert!(parse_range(&q(Some("2020-01-01"), Some("2026-11-01")), today).is_err());
        assert!(parse_range(&q(Some("0000-01-01"), None), today).is_err());
    }
}
