//! The server log the privacy policy describes: one `RequestLogged` event per
//! request (and `CrashReported` for the page's error beacon), published to the
//! LOGS stream for log-retention. Publishing never delays or fails a request.
//! The site layer (`crate::site_layer`) wraps each request in an [`Entry`].

use std::net::IpAddr;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use proto::events::v1::{CrashReported, RequestLogged};
use serde::Deserialize;

use crate::client::ClientAddr;
use crate::routes::{Route, RouteKind};
use crate::{AppState, ua};

/// The visitor's unique identifier for this request (set by the site layer, `security::Visit`).
#[derive(Debug, Clone)]
pub struct VisitorId(pub String);

/// Marks a request whose visitor id was minted for it (it came without
/// one): such an id has no history, so it earns no budget of its own.
#[derive(Debug, Clone, Copy)]
pub struct NewVisitor;

fn now_ts() -> proto::Timestamp {
    proto::timestamp_from_unix_millis(chrono::Utc::now().timestamp_millis())
}

/// The referring site: scheme and host only, never the full address.
fn referring_site(headers: &HeaderMap) -> String {
    let Some(referer) = headers.get(header::REFERER).and_then(|v| v.to_str().ok()) else {
        return String::new();
    };
    let Some((scheme, rest)) = referer.split_once("://") else {
        return String::new();
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{host}").chars().take(255).collect()
}

fn language(headers: &HeaderMap) -> String {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split([',', ';']).next())
        .map(|tag| tag.trim().chars().take(35).collect())
        .unwrap_or_default()
}

/// `utm_source` of the query (for the visitor statistics), lower case, at
/// most 64 characters; the rest of the query is never logged.
fn utm_source(query: Option<&str>) -> String {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == "utm_source")
        .map(|(_, value)| value.trim().to_lowercase().chars().take(64).collect())
        .unwrap_or_default()
}

/// The site's host without the port: `gateway.public_url`'s, else the
/// request's `Host`.
fn request_host(public_url: &str, headers: &HeaderMap) -> String {
    let configured = public_url
        .split_once("://")
        .map_or("", |(_, rest)| rest.split('/').next().unwrap_or_default());
    let host = if configured.is_empty() {
        headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    } else {
        configured
    };
    let host = if host.starts_with('[') {
        host.split_inclusive(']').next().unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    host.chars().take(255).collect()
}

/// Requests of a route of `kind` are logged: all but assets (health checks
/// never reach the site layer).
fn logged(kind: RouteKind) -> bool {
    kind != RouteKind::Asset
}

/// A request being logged: its `RequestLogged`, completed with the status
/// and latency when the response is ready.
pub struct Entry {
    event: RequestLogged,
    started: Instant,
}

impl Entry {
    /// Reads what the log keeps of `request`, which matched `route`; none
    /// for assets. Everything is read before the request is handed on, so
    /// its headers need not be copied.
    pub fn start(state: &AppState, request: &Request, route: &Route) -> Option<Self> {
        if !logged(route.kind) {
            return None;
        }
        let path: String = request.uri().path().chars().take(512).collect();
        let started = Instant::now();
        let headers = request.headers();
        let ip = request
            .extensions()
            .get::<ClientAddr>()
            .map(|c| c.text())
            .unwrap_or_default();
        let agent = ua::parse(
            headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default(),
        );
        // Requests to /my-data are logged without the id: looking at, exporting or
        // deleting one's data must not itself create new data under that id.
        let visitor = if route.kind == RouteKind::MyData {
            String::new()
        } else {
            request
                .extensions()
                .get::<VisitorId>()
                .map(|v| v.0.clone())
                .unwrap_or_default()
        };
        let event = RequestLogged {
            event_id: uuid::Uuid::now_v7().to_string(),
            ts: Some(now_ts()),
            visitor_id: visitor,
            ip,
            method: request.method().to_string(),
            path,
            status: 0,
            latency_us: 0,
            referrer: referring_site(headers),
            browser_family: agent.browser.to_owned(),
            browser_version: agent.version,
            os_family: agent.os.to_owned(),
            device_class: agent.device.into(),
            language: language(headers),
            trace_id: telemetry::current_trace_id().unwrap_or_default(),
            utm_source: utm_source(request.uri().query()),
            host: request_host(&state.settings.gateway.public_url, headers),
            route: route
                .template
                .as_ref()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            route_kind: route.kind.into(),
            number: route
                .number
                .as_ref()
                .map(|n| n.as_str().to_owned())
                .unwrap_or_default(),
        };
        Some(Self { event, started })
    }

    /// Queues the event with the response's status and the latency (it
    /// leaves in a batch; it carries the request's trace id).
    pub fn finish(mut self, state: &AppState, response: &Response) {
        self.event.status = u32::from(response.status().as_u16());
        self.event.latency_us =
            u32::try_from(self.started.elapsed().as_micros()).unwrap_or(u32::MAX);
        state.request_log.push(self.event);
    }
}

/// Largest crash report accepted.
pub const MAX_CRASH_BYTES: usize = 8 * 1024;
/// Crash-report budgets, as (sustained interval, burst) in the cache's cell
/// rate algorithm, so every replica shares them: per returning visitor (a
/// visitor id that came with the request; one minted for this request has no
/// budget of its own), per network (IPv4 /24, IPv6 /64), and for the whole
/// site (stored reports are kept for the retention period).
const CRASH_BUDGETS: CrashBudgets = CrashBudgets {
    visitor: (Duration::from_secs(60), 10),
    network: (Duration::from_secs(30), 20),
    site: (Duration::from_secs(5), 120),
};

struct CrashBudgets {
    visitor: (Duration, u32),
    network: (Duration, u32),
    site: (Duration, u32),
}

/// Whether one more crash report fits every budget that applies; the wait
/// until it would when it does not. A cache failure refuses (reports are
/// not worth storing unbounded).
/// The crash-report budget of a visitor (deleted with the visitor's data).
pub fn crash_visitor_key(visitor: &str) -> String {
    format!("crash:v:{visitor}")
}

async fn crash_budget(
    state: &AppState,
    returning_visitor: Option<&str>,
    ip: Option<IpAddr>,
) -> Result<(), Duration> {
    let mut keys = Vec::with_capacity(3);
    if let Some(visitor) = returning_visitor {
        keys.push((crash_visitor_key(visitor), CRASH_BUDGETS.visitor));
    }
    if let Some(ip) = ip {
        keys.push((
            format!("crash:n:{}", platform::network_prefix(ip)),
            CRASH_BUDGETS.network,
        ));
    }
    keys.push(("crash:site".to_owned(), CRASH_BUDGETS.site));
    for (key, (interval, burst)) in keys {
        match state.cache.throttle(&key, interval, burst).await {
            Ok(None) => {}
            Ok(Some(wait)) => return Err(wait),
            Err(err) => {
                tracing::warn!(%err, "crash reports: cannot count; refusing");
                return Err(Duration::from_secs(60));
            }
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
struct CrashBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    line: u32,
    #[serde(default)]
    column: u32,
    #[serde(default)]
    stack: String,
    #[serde(default)]
    page: String,
}

fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// `POST /api/v1/crash`: the page's error beacon.
pub async fn crash(
    State(state): State<AppState>,
    visitor: Option<axum::Extension<VisitorId>>,
    new_visitor: Option<axum::Extension<NewVisitor>>,
    client: Option<axum::Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "crash report larger than 8 KiB",
            );
        }
        Err(_) => return error(StatusCode::BAD_REQUEST, "unreadable body"),
    };
    let visitor_id = visitor.map(|v| v.0.0).unwrap_or_default();
    let returning =
        (new_visitor.is_none() && !visitor_id.is_empty()).then_some(visitor_id.as_str());
    let ip = client.and_then(|c| c.0.0);
    if let Err(wait) = crash_budget(&state, returning, ip).await {
        let mut response = error(StatusCode::TOO_MANY_REQUESTS, "too many crash reports");
        response.headers_mut().insert(
            header::RETRY_AFTER,
            axum::http::HeaderValue::from(wait.as_secs().max(1)),
        );
        return response;
    }
    let report: CrashBody = match serde_json::from_slice(&body) {
        Ok(report) => report,
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("invalid JSON body: {err}"),
            );
        }
    };
    let agent = ua::parse(
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default(),
    );
    let event = CrashReported {
        event_id: uuid::Uuid::now_v7().to_string(),
        ts: Some(now_ts()),
        visitor_id,
        page: clip(&report.page, 512),
        message: clip(&report.message, 1024),
        source: clip(&report.source, 512),
        line: report.line,
        column: report.column,
        stack: clip(&report.stack, 4096),
        browser_family: agent.browser.to_owned(),
        os_family: agent.os.to_owned(),
    };
    match state.bus.publish(&event).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "crash report not published");
            error(StatusCode::SERVICE_UNAVAILABLE, "try again later")
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn referrer_keeps_only_the_site() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::REFERER,
            "https://www.google.com/search?q=receive+sms"
                .parse()
                .unwrap(),
        );
        assert_eq!(referring_site(&headers), "https://www.google.com");
        headers.insert(header::REFERER, "garbage".parse().unwrap());
        assert_eq!(referring_site(&headers), "");
    }

    #[test]
    fn utm_source_and_host_are_extracted() {
        assert_eq!(
            utm_source(Some("a=1&utm_source=NewsLetter&x=2")),
            "newsletter"
        );
        assert_eq!(utm_source(Some("utm_source=a%20b")), "a b");
        assert_eq!(utm_source(None), "");
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "cloudsms.test:8080".parse().unwrap());
        assert_eq!(request_host("", &headers), "cloudsms.test");
        assert_eq!(
            request_host("https://sms.example/", &headers),
            "sms.example"
        );
    }
}
