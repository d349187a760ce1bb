//! `/admin/stats`: the operator's visitor statistics, from log-retention's
//! `StatsService`: headline numbers against the previous period, SVG charts
//! rendered on the server (no script, no inline style: the CSP holds),
//! top lists, and a CSV export (`/admin/stats.csv`).
//!
//! Behind `gateway.admin_token`: empty turns the pages off (404); otherwise
//! the token comes as `Authorization: Bearer <token>` or through the login
//! form, which sets an `HttpOnly`, `SameSite=Strict` cookie holding a hash of
//! the token (never the token). Comparisons are constant-time. Every answer
//! carries `X-Robots-Tag: noindex` and `Cache-Control: no-store`, and
//! log-retention leaves `/admin` out of the statistics.

use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Days, NaiveDate, Utc};
use proto::retention::v1::stats_service_client::StatsServiceClient;
use proto::retention::v1::{Breakdown, SeriesPoint, StatsRequest, StatsResponse, StatsTotals};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tonic::transport::{Channel, Endpoint};

use crate::security::cookie;
use crate::{AppState, PageError, assets};

/// The operator's session cookie (a hash of the token).
pub const ADMIN_COOKIE: &str = "cloudsms_admin";
/// Longest range the page asks for, in days (log-retention's limit).
pub const MAX_DAYS: u64 = 400;
/// Default range: the last 30 days, today included.
const DEFAULT_DAYS: u64 = 30;
/// A login lasts this long.
const SESSION_SECS: u64 = 12 * 3600;

/// Wrong tokens this process accepts per minute before answering 429: the
/// token is long and random, but guessing should not be free.
const FAILURES_PER_MINUTE: u32 = 20;

static FAILURES: std::sync::Mutex<Option<(std::time::Instant, u32)>> = std::sync::Mutex::new(None);

/// Counts a wrong token; false once the minute's budget is spent.
fn note_failure() -> bool {
    let mut slot = FAILURES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let now = std::time::Instant::now();
    let (start, count) = slot.get_or_insert((now, 0));
    if now.duration_since(*start) >= Duration::from_secs(60) {
        *start = now;
        *count = 0;
    }
    *count += 1;
    *count <= FAILURES_PER_MINUTE
}

fn too_many() -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        "too many wrong tokens, wait a minute\n",
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    private(response)
}

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

/// Constant-time equality of two byte strings of the same length.
/// Compares through SHA-256 so neither length nor content leaks by timing.
fn same_secret(given: &str, expected: &str) -> bool {
    platform::constant_time_eq(
        &Sha256::digest(given.as_bytes()),
        &Sha256::digest(expected.as_bytes()),
    )
}

/// The cookie value of a session for `token`.
fn session_value(token: &str) -> String {
    hex::encode(Sha256::digest(format!("cloudsms-admin-session\n{token}")))
}

enum Access {
    /// No token configured: the pages do not exist.
    Disabled,
    /// A token is configured and the request does not carry it.
    Denied,
    /// A wrong token, past the minute's budget of wrong tokens.
    Throttled,
    /// The operator.
    Allowed,
}

fn access(state: &AppState, headers: &HeaderMap) -> Access {
    let token = state.settings.gateway.admin_token.expose();
    if token.is_empty() {
        return Access::Disabled;
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if bearer.is_some_and(|b| same_secret(b, token)) {
        return Access::Allowed;
    }
    if cookie(headers, ADMIN_COOKIE).is_some_and(|c| same_secret(&c, &session_value(token))) {
        return Access::Allowed;
    }
    if bearer.is_some() && !note_failure() {
        return Access::Throttled;
    }
    Access::Denied
}

/// `X-Robots-Tag` and `no-store` on every operator answer.
fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn not_found() -> Response {
    private(PageError::NotFound("error.no_page").into_response())
}

fn is_tls(state: &AppState, headers: &HeaderMap) -> bool {
    state.settings.gateway.public_url.starts_with("https://")
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

#[derive(Template)]
#[template(path = "admin_login.html")]
struct LoginPage {
    css: String,
    admin_css: String,
    wrong: bool,
}

fn login_page(status: StatusCode, wrong: bool) -> Response {
    let page = LoginPage {
        css: assets::url("site.css"),
        admin_css: assets::url("admin.css"),
        wrong,
    };
    let mut response = match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => PageError::from(err).into_response(),
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"cloudsms-admin\""),
    );
    private(response)
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

struct Kpi {
    label: &'static str,
    value: String,
    previous: String,
    change: String,
    class: &'static str,
}

struct Bar {
    x: String,
    y: String,
    w: String,
    h: String,
    title: String,
}

struct Label {
    x: String,
    y: String,
    anchor: &'static str,
    text: String,
}

struct Chart {
    title: &'static str,
    bars: Vec<Bar>,
    line: String,
    area: String,
    labels: Vec<Label>,
    summary: String,
}

struct Table {
    title: &'static str,
    key: &'static str,
    rows: Vec<Breakdown>,
    visitors: bool,
}

#[derive(Template)]
#[template(path = "admin_stats.html")]
struct StatsPage {
    css: String,
    admin_css: String,
    from: String,
    to: String,
    bots: bool,
    error: Option<String>,
    period: String,
    previous_period: String,
    kpis: Vec<Kpi>,
    charts: Vec<Chart>,
    tables: Vec<Table>,
    csv: String,
}

fn duration(secs: f64) -> String {
    // Whole seconds are enough for a mean.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let secs = secs.max(0.0).round() as u64;
    if secs >= 60 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{secs}s")
    }
}

fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// Change of a count against the previous period.
fn change(now: f64, before: f64) -> (String, &'static str) {
    if before == 0.0 {
        return if now == 0.0 {
            (String::new(), "")
        } else {
            ("new".to_owned(), "up")
        };
    }
    let pct = (now - before) / before * 100.0;
    let class = if pct > 0.0 {
        "up"
    } else if pct < 0.0 {
        "down"
    } else {
        ""
    };
    (format!("{pct:+.0}%"), class)
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn kpis(now: &StatsTotals, before: &StatsTotals, current: u64) -> Vec<Kpi> {
    let count = |label, a: u64, b: u64| {
        let (change, class) = change(a as f64, b as f64);
        Kpi {
            label,
            value: a.to_string(),
            previous: b.to_string(),
            change,
            class,
        }
    };
    let points = |a: f64, b: f64| {
        let diff = (a - b) * 100.0;
        if now.visits == 0 && before.visits == 0 {
            String::new()
        } else {
            format!("{diff:+.1} pt")
        }
    };
    vec![
        count("Unique visitors", now.visitors, before.visitors),
        count("Visits", now.visits, before.visits),
        count("Pageviews", now.pageviews, before.pageviews),
        Kpi {
            label: "Bounce rate",
            value: percent(now.bounce_rate),
            previous: percent(before.bounce_rate),
            change: points(now.bounce_rate, before.bounce_rate),
            class: "",
        },
        Kpi {
            label: "Visit duration",
            value: duration(now.mean_visit_secs),
            previous: duration(before.mean_visit_secs),
            change: change(now.mean_visit_secs, before.mean_visit_secs).0,
            class: "",
        },
        Kpi {
            label: "Current visitors",
            value: current.to_string(),
            previous: String::new(),
            change: String::new(),
            class: "",
        },
        Kpi {
            label: "Crawler share",
            value: percent(now.crawler_share),
            previous: percent(before.crawler_share),
            change: points(now.crawler_share, before.crawler_share),
            class: "",
        },
        count("Crashes", now.crashes, before.crashes),
    ]
}

const W: f64 = 720.0;
const H: f64 = 200.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 22.0;

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

fn day_label(unix: i64, with_hour: bool) -> String {
    DateTime::from_timestamp(unix, 0)
        .map(|t| {
            if with_hour {
                t.format("%Y-%m-%d %H:00").to_string()
            } else {
                t.format("%Y-%m-%d").to_string()
            }
        })
        .unwrap_or_default()
}

fn axis_labels(first: i64, last: i64, max: u64, hours: bool) -> Vec<Label> {
    vec![
        Label {
            x: fmt(LEFT - 4.0),
            y: fmt(TOP + 8.0),
            anchor: "end",
            text: max.to_string(),
        },
        Label {
            x: fmt(LEFT - 4.0),
            y: fmt(H - BOTTOM),
            anchor: "end",
            text: "0".to_owned(),
        },
        Label {
            x: fmt(LEFT),
            y: fmt(H - 6.0),
            anchor: "start",
            text: day_label(first, hours),
        },
        Label {
            x: fmt(W - RIGHT),
            y: fmt(H - 6.0),
            anchor: "end",
            text: day_label(last, hours),
        },
    ]
}

/// Visitors per day as bars.
#[allow(clippy::cast_precision_loss)]
fn day_chart(days: &[SeriesPoint]) -> Chart {
    let max = days.iter().map(|d| d.visitors).max().unwrap_or(0).max(1);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let step = plot_w / days.len().max(1) as f64;
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let h = d.visitors as f64 / max as f64 * plot_h;
            Bar {
                x: fmt(LEFT + i as f64 * step + step * 0.1),
                y: fmt(TOP + plot_h - h),
                w: fmt((step * 0.8).max(0.5)),
                h: fmt(h),
                title: format!(
                    "{}: {} visitors, {} pageviews",
                    day_label(d.start_unix, false),
                    d.visitors,
                    d.pageviews
                ),
            }
        })
        .collect();
    let first = days.first().map_or(0, |d| d.start_unix);
    let last = days.last().map_or(0, |d| d.start_unix);
    Chart {
        title: "Visitors per day",
        bars,
        line: String::new(),
        area: String::new(),
        labels: axis_labels(first, last, max, false),
        summary: format!(
            "{} visitors over {} days",
            days.iter().map(|d| d.visitors).sum::<u64>(),
            days.len()
        ),
    }
}

/// Pageviews per hour as a line over an area.
#[allow(clippy::cast_precision_loss)]
fn hour_chart(hours: &[SeriesPoint]) -> Chart {
    let max = hours.iter().map(|h| h.pageviews).max().unwrap_or(0).max(1);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let step = plot_w / (hours.len().max(2) - 1) as f64;
    let points: Vec<String> = hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let y = TOP + plot_h - h.pageviews as f64 / max as f64 * plot_h;
            format!("{},{}", fmt(LEFT + i as f64 * step), fmt(y))
        })
        .collect();
    let line = points.join(" ");
    let base = fmt(TOP + plot_h);
    let last_x = fmt(LEFT + (hours.len().max(1) - 1) as f64 * step);
    let area = if points.is_empty() {
        String::new()
    } else {
        format!("{},{base} {line} {last_x},{base}", fmt(LEFT))
    };
    let first = hours.first().map_or(0, |h| h.start_unix);
    let last = hours.last().map_or(0, |h| h.start_unix);
    Chart {
        title: "Pageviews per hour",
        bars: Vec::new(),
        line,
        area,
        labels: axis_labels(first, last, max, true),
        summary: format!(
            "{} pageviews over {} hours, at most {max} in one hour",
            hours.iter().map(|h| h.pageviews).sum::<u64>(),
            hours.len()
        ),
    }
}

fn tables(r: &StatsResponse) -> Vec<Table> {
    let t = |title, key, rows: &Vec<Breakdown>, visitors| Table {
        title,
        key,
        rows: rows.clone(),
        visitors,
    };
    vec![
        t("Top pages", "Page", &r.top_pages, true),
        t("Top numbers", "Number", &r.top_numbers, true),
        t("Entry pages", "Page", &r.entry_pages, true),
        t("Referrers", "Site", &r.referrers, true),
        t("utm_source", "Source", &r.utm_sources, true),
        t("Browsers", "Browser", &r.browsers, true),
        t("Operating systems", "OS", &r.operating_systems, true),
        t("Devices", "Device", &r.devices, true),
        t("Countries", "Country", &r.countries, true),
        t("Crashes", "Message", &r.crash_messages, false),
    ]
}

fn period(from: i64, to: i64) -> String {
    let last = to - 86_400;
    format!(
        "{} to {} (UTC)",
        day_label(from, false),
        day_label(last.max(from), false)
    )
}

fn render(page: &StatsPage, status: StatusCode) -> Response {
    match page.render() {
        Ok(html) => private((status, Html(html)).into_response()),
        Err(err) => private(PageError::from(err).into_response()),
    }
}

fn empty_page(q: &RangeQuery, error: String) -> StatsPage {
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
    }
}

/// `GET /admin/stats`.
pub async fn stats(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<RangeQuery>, QueryRejection>,
) -> Response {
    match access(&state, &headers) {
        Access::Disabled => return not_found(),
        Access::Denied => return login_page(StatusCode::UNAUTHORIZED, false),
        Access::Throttled => return too_many(),
        Access::Allowed => {}
    }
    let q = match query {
        Ok(Query(q)) => q,
        Err(_) => {
            return render(
                &empty_page(&RangeQuery::default(), "unreadable query string".to_owned()),
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let range = match parse_range(&q, Utc::now().date_naive()) {
        Ok(range) => range,
        Err(message) => return render(&empty_page(&q, message), StatusCode::BAD_REQUEST),
    };
    let report = match fetch(&state, &range).await {
        Ok(report) => report,
        Err(Failure::Invalid(message)) => {
            return render(&empty_page(&q, message), StatusCode::BAD_REQUEST);
        }
        Err(Failure::Unavailable) => {
            return render(
                &empty_page(&q, "statistics are not available right now".to_owned()),
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
    };
    render(&page, StatusCode::OK)
}

/// The login (or logout) form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    logout: Option<String>,
}

fn see_other(location: &'static str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(location));
    response
}

/// `POST /admin/stats`: logs in with the token (sets the session cookie), or out.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    let token = state.settings.gateway.admin_token.expose();
    if token.is_empty() {
        return not_found();
    }
    let Ok(Form(form)) = form else {
        return login_page(StatusCode::BAD_REQUEST, true);
    };
    let secure = if is_tls(&state, &headers) {
        "; Secure"
    } else {
        ""
    };
    let value = if form.logout.is_some() {
        format!("{ADMIN_COOKIE}=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict{secure}")
    } else if same_secret(form.token.trim(), token) {
        format!(
            "{ADMIN_COOKIE}={}; Path=/admin; Max-Age={SESSION_SECS}; HttpOnly; SameSite=Strict{secure}",
            session_value(token)
        )
    } else {
        tracing::warn!("operator login refused");
        if !note_failure() {
            return too_many();
        }
        return login_page(StatusCode::UNAUTHORIZED, true);
    };
    let mut response = see_other("/admin/stats");
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    private(response)
}

/// The report as CSV: `section,key,visitors,pageviews,value`.
fn csv_text(r: &StatsResponse) -> String {
    let mut out = String::from("section,key,visitors,pageviews,value\n");
    let mut line = |section: &str, key: &str, visitors: &str, views: &str, value: &str| {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            domain::csv_cell(section),
            domain::csv_cell(key),
            visitors,
            views,
            domain::csv_cell(value)
        ));
    };
    for (section, t) in [("total", r.totals), ("previous", r.previous)] {
        let t = t.unwrap_or_default();
        for (key, value) in [
            ("visitors", t.visitors.to_string()),
            ("visits", t.visits.to_string()),
            ("pageviews", t.pageviews.to_string()),
            ("bounces", t.bounces.to_string()),
            ("bounce_rate", format!("{:.4}", t.bounce_rate)),
            ("mean_visit_secs", format!("{:.1}", t.mean_visit_secs)),
            ("bot_pageviews", t.bot_pageviews.to_string()),
            ("all_pageviews", t.all_pageviews.to_string()),
            ("crawler_share", format!("{:.4}", t.crawler_share)),
            ("crashes", t.crashes.to_string()),
        ] {
            line(section, key, "", "", &value);
        }
    }
    line(
        "total",
        "current_visitors",
        "",
        "",
        &r.current_visitors.to_string(),
    );
    for d in &r.days {
        line(
            "day",
            &day_label(d.start_unix, false),
            &d.visitors.to_string(),
            &d.pageviews.to_string(),
            "",
        );
    }
    for h in &r.hours {
        line(
            "hour",
            &DateTime::from_timestamp(h.start_unix, 0)
                .map(|t| t.format("%Y-%m-%dT%H:00Z").to_string())
                .unwrap_or_default(),
            &h.visitors.to_string(),
            &h.pageviews.to_string(),
            "",
        );
    }
    for (section, list) in [
        ("page", &r.top_pages),
        ("number", &r.top_numbers),
        ("entry_page", &r.entry_pages),
        ("referrer", &r.referrers),
        ("utm_source", &r.utm_sources),
        ("browser", &r.browsers),
        ("os", &r.operating_systems),
        ("device", &r.devices),
        ("country", &r.countries),
        ("crash", &r.crash_messages),
    ] {
        for b in list {
            line(
                section,
                &b.key,
                &b.visitors.to_string(),
                &b.pageviews.to_string(),
                "",
            );
        }
    }
    out
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
    match access(&state, &headers) {
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
        Access::Allowed => {}
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

    #[test]
    fn secrets_compare_in_constant_time_and_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("", "abc"));
        assert!(platform::constant_time_eq(b"", b""));
        assert!(!platform::constant_time_eq(b"a", b"ab"));
    }
}
