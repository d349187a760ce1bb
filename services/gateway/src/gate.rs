//! The crawler gate: the privacy policy's "protection against malicious
//! crawlers by a captcha".
//!
//! Page views are counted per visitor cookie, per network (IPv4 /24, IPv6
//! /64) and per pass with the generic cell rate algorithm in the cache.
//! Past a limit, or at once for HTML clients that look automated, the page
//! is replaced by an interstitial (429) whose Web Worker solves a
//! proof-of-work challenge from captcha-verification; redeeming it earns a
//! signed pass cookie. Without JavaScript the interstitial refreshes itself
//! after a wait and earns a shorter pass, a few times per network and hour.
//! JSON API clients get 429 with `Retry-After` and a link to the challenge.
//! Search engines that verify by reverse and forward DNS are let through.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::Json;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use proto::captcha::v1::captcha_service_client::CaptchaServiceClient;
use proto::captcha::v1::{IssueChallengeRequest, RedeemRequest};
use serde::Deserialize;
use sha2::Sha256;
use tonic::transport::{Channel, Endpoint};

use crate::access_log::{VisitorId, client_ip};
use crate::i18n::Tr;
use crate::pages::Layout;
use crate::{AppState, assets};

/// The gRPC service the gate calls, for spans and metrics.
const CAPTCHA: &str = "cloudsms.captcha.v1.CaptchaService";

/// Name of the pass cookie.
pub const PASS_COOKIE: &str = "cloudsms_pass";
/// The action challenges of the gate are bound to.
const ACTION: &str = "gate";
/// Seconds a no-JavaScript ticket stays usable after its wait.
const TICKET_SLACK_SECS: u64 = 600;

/// Whether an address verified as a crawler, and when that was learnt.
type CrawlerChecks = HashMap<(IpAddr, String), (bool, Instant)>;

/// The gate's keys, its captcha client and what it learnt about crawlers.
#[derive(Clone)]
pub struct Gate {
    key: Arc<[u8]>,
    captcha: Option<CaptchaServiceClient<Channel>>,
    crawlers: Arc<Mutex<CrawlerChecks>>,
}

impl Gate {
    /// The gate for `settings`; an empty `pass_key` gets a random one.
    pub fn new(settings: &config::GateSettings) -> Self {
        let key: Vec<u8> = if settings.pass_key.is_empty() {
            if settings.enabled {
                tracing::warn!(
                    "gateway.gate.pass_key is empty: using a random key for this process; \
                     replicas must share one key (set gateway.gate.pass_key)"
                );
            }
            rand::random::<[u8; 32]>().to_vec()
        } else {
            settings.pass_key.expose().as_bytes().to_vec()
        };
        let captcha = (settings.enabled && !settings.captcha_url.trim().is_empty())
            .then(|| Endpoint::from_shared(settings.captcha_url.clone()).ok())
            .flatten()
            .map(|endpoint| {
                CaptchaServiceClient::new(
                    endpoint
                        .connect_timeout(Duration::from_secs(2))
                        .timeout(Duration::from_secs(5))
                        .connect_lazy(),
                )
            });
        Self {
            key: key.into(),
            captcha,
            crawlers: Arc::default(),
        }
    }

    fn mac(&self, parts: &[&str]) -> String {
        // HMAC accepts keys of any length.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return String::new();
        };
        for part in parts {
            // Length-prefixed: no part can be shifted into another.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// A pass for `visitor` until `expires` (unix seconds).
    fn pass(&self, kind: PassKind, expires: u64, visitor: &str) -> String {
        let id = hex::encode(rand::random::<[u8; 8]>());
        let kind = kind.code();
        let expires = expires.to_string();
        let mac = self.mac(&["pass", kind, &expires, &id, visitor]);
        format!("v1.{kind}.{expires}.{id}.{mac}")
    }

    /// The pass's id when `cookie` is a valid, unexpired pass of `visitor`.
    fn check_pass(&self, cookie: &str, visitor: &str, now: u64) -> Option<String> {
        let mut parts = cookie.split('.');
        let (Some("v1"), Some(kind), Some(expires), Some(id), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let expected = self.mac(&["pass", kind, expires, id, visitor]);
        let valid = platform::constant_time_eq(expected.as_bytes(), mac.as_bytes())
            && PassKind::from_code(kind).is_some()
            && expires.parse::<u64>().is_ok_and(|e| e > now);
        valid.then(|| id.to_owned())
    }

    /// A ticket a visitor without JavaScript can turn into a pass after the wait.
    fn ticket(&self, issued: u64, visitor: &str) -> String {
        let nonce = hex::encode(rand::random::<[u8; 8]>());
        let issued = issued.to_string();
        let mac = self.mac(&["ticket", &issued, &nonce, visitor]);
        format!("{issued}.{nonce}.{mac}")
    }

    /// The ticket's issue time and nonce when it is this visitor's.
    fn check_ticket(&self, ticket: &str, visitor: &str) -> Option<(u64, String)> {
        let mut parts = ticket.split('.');
        let (Some(issued), Some(nonce), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let expected = self.mac(&["ticket", issued, nonce, visitor]);
        if !platform::constant_time_eq(expected.as_bytes(), mac.as_bytes()) {
            return None;
        }
        Some((issued.parse().ok()?, nonce.to_owned()))
    }

    /// The crawler's name when `ip` resolves into the domains of the
    /// allow-listed `crawler` the user agent names, and back; remembered
    /// for an hour.
    async fn verified_crawler(
        &self,
        crawler: &config::GateCrawler,
        ip: Option<IpAddr>,
    ) -> Option<String> {
        let key = (ip?, crawler.name.clone());
        let known = lock(&self.crawlers)
            .get(&key)
            .filter(|(_, at)| at.elapsed() < Duration::from_secs(3600))
            .map(|(verified, _)| *verified);
        let verified = match known {
            Some(verified) => verified,
            None => {
                let verified = verify_by_dns(key.0, &crawler.domains).await;
                let mut known = lock(&self.crawlers);
                if known.len() > 10_000 {
                    known.clear();
                }
                known.insert(key, (verified, Instant::now()));
                verified
            }
        };
        verified.then(|| crawler.name.clone())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reverse DNS of `ip` ends in one of `domains`, and that name resolves
/// back to `ip` (the check Google, Bing and Apple document).
async fn verify_by_dns(ip: IpAddr, domains: &[String]) -> bool {
    let Ok(Ok(Some(name))) = tokio::time::timeout(
        Duration::from_secs(3),
        tokio::task::spawn_blocking(move || dns_lookup::lookup_addr(&ip).ok()),
    )
    .await
    else {
        return false;
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let in_domain = domains.iter().any(|d| {
        let d = d.trim_start_matches('.').to_ascii_lowercase();
        name == d || name.ends_with(&format!(".{d}"))
    });
    if !in_domain {
        return false;
    }
    match tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::lookup_host((name.as_str(), 0)),
    )
    .await
    {
        Ok(Ok(mut addrs)) => addrs.any(|a| a.ip() == ip),
        _ => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PassKind {
    /// Earned by solving a challenge.
    Solved,
    /// Earned by waiting without JavaScript.
    Waited,
}

impl PassKind {
    fn code(self) -> &'static str {
        match self {
            PassKind::Solved => "s",
            PassKind::Waited => "w",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        match code {
            "s" => Some(PassKind::Solved),
            "w" => Some(PassKind::Waited),
            _ => None,
        }
    }
}

fn now_unix() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

/// Paths the gate counts: pages with messages, feeds and the JSON API.
fn gated(path: &str) -> bool {
    path == "/"
        || path == "/latest"
        || path.starts_with("/countries/")
        || (path.starts_with("/numbers/") && !path.ends_with("/events"))
        || (path.starts_with("/api/v1/") && path != "/api/v1/crash")
}

/// Looks like a program rather than a person's browser.
fn looks_automated(headers: &HeaderMap) -> bool {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if ua.trim().is_empty() || headers.get(header::ACCEPT_LANGUAGE).is_none() {
        return true;
    }
    let lower = ua.to_ascii_lowercase();
    [
        "headless",
        "bot",
        "crawler",
        "spider",
        "scrapy",
        "curl/",
        "wget/",
        "python",
        "aiohttp",
        "httpx",
        "go-http-client",
        "java/",
        "okhttp",
        "libwww",
        "node-fetch",
        "axios",
        "undici",
        "reqwest",
        "phantomjs",
        "selenium",
        "playwright",
        "puppeteer",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// The pass cookie's value.
fn pass_cookie(headers: &HeaderMap) -> Option<String> {
    crate::security::cookie(headers, PASS_COOKIE).map(|value| value.chars().take(128).collect())
}

/// A local path to go back to: `/...` but never `//host` or `/\host`.
fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 1024
        && !next.chars().any(char::is_control);
    if ok { next.to_owned() } else { "/".to_owned() }
}

fn interval(rate: config::GateRate) -> Duration {
    Duration::from_micros(60_000_000 / u64::from(rate.per_minute.max(1)))
}

fn peer_ip(state: &AppState, request: &Parts) -> Option<IpAddr> {
    let peer = request
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    client_ip(state, &request.headers, peer).parse().ok()
}

/// The gate stands in front of this path (it is on and the path is gated).
pub fn applies(state: &AppState, path: &str) -> bool {
    state.settings.gateway.gate.enabled && gated(path)
}

/// The gate's decision on a request the gate [`applies`] to: `None` lets it
/// through, else the answer (the challenge page, or a 429 for the API).
pub async fn check(state: &AppState, request: &Parts) -> Option<Response> {
    let settings = &state.settings.gateway.gate;
    let path = request.uri.path();
    let api = path.starts_with("/api/");
    let visitor = request
        .extensions
        .get::<VisitorId>()
        .map(|v| v.0.clone())
        .unwrap_or_default();
    let ip = peer_ip(state, request);
    let headers = &request.headers;
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let now = now_unix();
    let cache = &state.cache;
    let mut wait = None;

    if let Some(pass) =
        pass_cookie(headers).and_then(|cookie| state.gate.check_pass(&cookie, &visitor, now))
    {
        match cache
            .throttle(
                &format!("gate:p:{pass}"),
                interval(settings.pass),
                settings.pass.burst,
            )
            .await
        {
            Ok(None) => return None,
            Ok(Some(w)) => wait = Some(w),
            Err(err) => {
                tracing::warn!(%err, "gate: cannot count; letting the request through");
                return None;
            }
        }
    }
    if wait.is_none() {
        let claimed = settings
            .crawlers
            .iter()
            .find(|c| !c.user_agent.is_empty() && ua.contains(&c.user_agent));
        if let Some(claimed) = claimed
            && let Some(crawler) = state.gate.verified_crawler(claimed, ip).await
        {
            tracing::debug!(%crawler, "gate: verified crawler");
            return None;
        }
        let claims_crawler = claimed.is_some();
        if !api && settings.challenge_automated && (claims_crawler || looks_automated(headers)) {
            wait = Some(Duration::ZERO);
        }
    }
    if wait.is_none() {
        let mut keys = Vec::new();
        if !visitor.is_empty() {
            keys.push((cache::gate_visitor_key(&visitor), settings.visitor));
        }
        if let Some(ip) = ip {
            keys.push((
                format!("gate:n:{}", platform::network_prefix(ip)),
                settings.network,
            ));
        }
        for (key, rate) in keys {
            match cache.throttle(&key, interval(rate), rate.burst).await {
                Ok(None) => {}
                Ok(Some(w)) => {
                    wait = Some(w);
                    break;
                }
                Err(err) => {
                    tracing::warn!(%err, "gate: cannot count; letting the request through");
                    break;
                }
            }
        }
    }
    let wait = wait?;
    let target = request
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    let retry = wait.as_secs().max(1);
    if api {
        let base = crate::pages::base_url(state, &request.headers);
        let challenge = format!("{base}/gate?next={}", encode(&target));
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            Json(serde_json::json!({
                "error": "too many requests: slow down, or solve the challenge in a browser",
                "retry_after": retry,
                "challenge": challenge,
            })),
        )
            .into_response();
        set_retry_after(&mut response, retry);
        if let Ok(link) = HeaderValue::from_str(&format!("<{challenge}>; rel=\"challenge\"")) {
            response.headers_mut().insert(header::LINK, link);
        }
        return Some(response);
    }
    let mut response = interstitial(state, &visitor, &target, StatusCode::TOO_MANY_REQUESTS);
    set_retry_after(&mut response, retry);
    Some(response)
}

fn set_retry_after(response: &mut Response, secs: u64) {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[derive(Template)]
#[template(path = "gate.html")]
struct GatePage {
    t: Tr,
    layout: Layout,
    next: String,
    worker: String,
    nojs_url: String,
    wait_secs: u64,
    note: String,
}

/// The interstitial for `next`, with `status`.
fn interstitial(state: &AppState, visitor: &str, next: &str, status: StatusCode) -> Response {
    let settings = &state.settings.gateway.gate;
    let t = crate::i18n::current();
    let next = safe_next(next);
    let ticket = state.gate.ticket(now_unix(), visitor);
    let nojs_url = format!(
        "/gate/wait?ticket={}&next={}",
        encode(&ticket),
        encode(&next)
    );
    let mut layout = Layout::new(
        &t,
        "",
        "/gate",
        t.t("gate.title").to_owned(),
        t.t("gate.title").to_owned(),
    );
    layout.js = assets::url("gate.js");
    let page = GatePage {
        note: t.f1("gate.nojs", "seconds", &settings.nojs_wait_secs),
        layout,
        next,
        worker: assets::url("gate-worker.js"),
        nojs_url,
        wait_secs: settings.nojs_wait_secs,
        t,
    };
    let body = match page.render() {
        Ok(body) => body,
        Err(err) => return crate::PageError::Render(err).into_response(),
    };
    let mut response = (status, Html(body)).into_response();
    no_store(&mut response);
    response
}

fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
}

/// `?next=` of the gate's pages.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// `GET /gate`: the interstitial on request (the API's 429 links here).
pub async fn page(
    State(state): State<AppState>,
    visitor: Option<axum::Extension<VisitorId>>,
    Query(query): Query<NextQuery>,
) -> Response {
    let visitor = visitor.map(|v| v.0.0).unwrap_or_default();
    interstitial(&state, &visitor, &query.next, StatusCode::OK)
}

fn json_error(status: StatusCode, message: &str) -> Response {
    let mut response = (status, Json(serde_json::json!({ "error": message }))).into_response();
    no_store(&mut response);
    response
}

/// `POST /gate/challenge`: a proof-of-work challenge (ALTCHA JSON).
pub async fn challenge(
    State(state): State<AppState>,
    visitor: Option<axum::Extension<VisitorId>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let Some(mut client) = state.gate.captcha.clone() else {
        return json_error(StatusCode::NOT_FOUND, "the gate is off");
    };
    let request = IssueChallengeRequest {
        site_key: state.settings.gateway.gate.site_key.clone(),
        visitor_id: visitor.map(|v| v.0.0).unwrap_or_default(),
        ip: client_ip(&state, &headers, Some(peer)),
        action: ACTION.to_owned(),
        puzzles: state.settings.gateway.gate.puzzles,
    };
    match platform::grpc::call(CAPTCHA, "IssueChallenge", request, |r| {
        client.issue_challenge(r)
    })
    .await
    {
        Ok(response) => {
            let puzzles: Vec<serde_json::Value> = response
                .into_inner()
                .puzzles_json
                .iter()
                .filter_map(|json| serde_json::from_str(json).ok())
                .collect();
            let mut response = Json(serde_json::json!({ "puzzles": puzzles })).into_response();
            no_store(&mut response);
            response
        }
        Err(status) => {
            tracing::warn!(%status, "gate: no challenge from captcha-verification");
            json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the challenge service is unavailable; try again in a minute",
            )
        }
    }
}

/// Body of `POST /gate/pass`.
#[derive(Debug, Deserialize)]
pub struct PassForm {
    /// ALTCHA payloads (base64 of the solution JSON), one per sub-puzzle.
    #[serde(default)]
    payloads: Vec<String>,
    /// A single payload (a challenge of one puzzle).
    #[serde(default)]
    payload: String,
}

fn hostname(headers: &HeaderMap) -> String {
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // Strip the port, keeping IPv6 brackets' content whole.
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
    .trim_start_matches('[')
    .trim_end_matches(']')
    .to_owned()
}

/// `POST /gate/pass`: redeems a solution for a pass cookie.
pub async fn pass(
    State(state): State<AppState>,
    visitor: Option<axum::Extension<VisitorId>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(mut client) = state.gate.captcha.clone() else {
        return json_error(StatusCode::NOT_FOUND, "the gate is off");
    };
    let Ok(mut form) = serde_json::from_slice::<PassForm>(&body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "expected JSON {\"payloads\": [\"<base64 solution>\", ...]}",
        );
    };
    if !form.payload.is_empty() {
        form.payloads.push(std::mem::take(&mut form.payload));
    }
    let valid = |p: &String| {
        !p.is_empty()
            && p.len() <= 4096
            && base64::engine::general_purpose::STANDARD
                .decode(p.as_bytes())
                .is_ok()
    };
    if form.payloads.is_empty() || form.payloads.len() > 16 || !form.payloads.iter().all(valid) {
        return json_error(
            StatusCode::BAD_REQUEST,
            "payloads: one to 16 base64 solutions expected",
        );
    }
    let request = RedeemRequest {
        payload: String::new(),
        payloads: form.payloads,
        hostname: hostname(&headers),
        ip: client_ip(&state, &headers, Some(peer)),
        ..Default::default()
    };
    let redeemed =
        match platform::grpc::call(CAPTCHA, "Redeem", request, |r| client.redeem(r)).await {
            Ok(response) => response.into_inner(),
            Err(status) => {
                tracing::warn!(%status, "gate: captcha-verification did not answer");
                return json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the challenge service is unavailable; try again in a minute",
                );
            }
        };
    if !redeemed.ok {
        let code = redeemed.error_codes.first().cloned().unwrap_or_default();
        let mut response = (
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({
                "error": "the solution was not accepted; solve a new challenge",
                "error-codes": redeemed.error_codes,
            })),
        )
            .into_response();
        no_store(&mut response);
        tracing::debug!(%code, "gate: solution refused");
        return response;
    }
    let visitor = visitor.map(|v| v.0.0).unwrap_or_default();
    let ttl = state.settings.gateway.gate.pass_ttl_secs;
    let mut response = Json(serde_json::json!({ "ok": true })).into_response();
    set_pass(
        &state,
        &headers,
        &mut response,
        PassKind::Solved,
        ttl,
        &visitor,
    );
    no_store(&mut response);
    response
}

fn set_pass(
    state: &AppState,
    headers: &HeaderMap,
    response: &mut Response,
    kind: PassKind,
    ttl: u64,
    visitor: &str,
) {
    let pass = state
        .gate
        .pass(kind, now_unix().saturating_add(ttl), visitor);
    let tls = crate::security::is_tls_headers(state, headers);
    let secure = if tls { "; Secure" } else { "" };
    let cookie =
        format!("{PASS_COOKIE}={pass}; Path=/; Max-Age={ttl}; HttpOnly; SameSite=Lax{secure}");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// `?ticket=&next=` of `/gate/wait`.
#[derive(Debug, Deserialize)]
pub struct WaitQuery {
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    next: String,
}

/// `GET /gate/wait`: the way through without JavaScript. The interstitial
/// refreshes to here after `nojs_wait_secs`; a valid, waited ticket earns a
/// short pass, at most `nojs_per_hour` per network and hour.
pub async fn wait(
    State(state): State<AppState>,
    visitor: Option<axum::Extension<VisitorId>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<WaitQuery>,
) -> Response {
    let settings = &state.settings.gateway.gate;
    let visitor = visitor.map(|v| v.0.0).unwrap_or_default();
    let next = safe_next(&query.next);
    if !settings.enabled {
        return redirect(&next);
    }
    let now = now_unix();
    let Some((issued, nonce)) = state.gate.check_ticket(&query.ticket, &visitor) else {
        // A stale or foreign ticket: start again with a fresh one.
        return interstitial(&state, &visitor, &next, StatusCode::FORBIDDEN);
    };
    let ready = issued.saturating_add(settings.nojs_wait_secs);
    if now < ready {
        let mut response = interstitial(&state, &visitor, &next, StatusCode::TOO_MANY_REQUESTS);
        set_retry_after(&mut response, ready - now);
        return response;
    }
    if now > ready.saturating_add(TICKET_SLACK_SECS) {
        return interstitial(&state, &visitor, &next, StatusCode::FORBIDDEN);
    }
    let ip = client_ip(&state, &headers, Some(peer))
        .parse::<IpAddr>()
        .ok();
    let claimed = state
        .cache
        .claim(
            &format!("gate:ticket:{nonce}"),
            Duration::from_secs(TICKET_SLACK_SECS + settings.nojs_wait_secs + 1),
        )
        .await;
    let network_count = match ip {
        Some(ip) => {
            state
                .cache
                .incr_window(
                    &format!("gate:nojs:{}", platform::network_prefix(ip)),
                    Duration::from_secs(3600),
                )
                .await
        }
        None => Ok(0),
    };
    match (claimed, network_count) {
        (Ok(true), Ok(count)) if count <= settings.nojs_per_hour => {
            let mut response = redirect(&next);
            set_pass(
                &state,
                &headers,
                &mut response,
                PassKind::Waited,
                settings.nojs_pass_ttl_secs,
                &visitor,
            );
            response
        }
        (Ok(true), Ok(_)) => {
            let t = crate::i18n::current();
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                Html(simple_page(&t, "gate.title", "gate.nojs_busy")),
            )
                .into_response();
            set_retry_after(&mut response, 3600);
            no_store(&mut response);
            response
        }
        (Ok(false), _) => interstitial(&state, &visitor, &next, StatusCode::FORBIDDEN),
        (Err(err), _) | (_, Err(err)) => {
            tracing::warn!(%err, "gate: cache unavailable on the no-JavaScript path");
            // Failing open here matches the counting: the cache is down.
            redirect(&next)
        }
    }
}

fn simple_page(t: &Tr, title: &str, detail: &str) -> String {
    #[derive(Template)]
    #[template(path = "error.html")]
    struct Simple<'a> {
        t: Tr,
        layout: Layout,
        detail: &'a str,
    }
    let layout = Layout::new(t, "", "/gate", t.t(title).to_owned(), t.t(title).to_owned());
    Simple {
        t: *t,
        layout,
        detail: t.t(detail),
    }
    .render()
    .unwrap_or_else(|_| detail.to_owned())
}

fn redirect(next: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(next) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    no_store(&mut response);
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn gate() -> Gate {
        let mut settings = config::Settings::defaults().unwrap().gateway.gate;
        settings.pass_key = "test-pass-key".into();
        settings.captcha_url = String::new();
        Gate::new(&settings)
    }

    #[test]
    fn passes_are_bound_to_the_visitor_and_expire() {
        let gate = gate();
        let pass = gate.pass(PassKind::Solved, 1_000, "a".repeat(32).as_str());
        assert!(gate.check_pass(&pass, &"a".repeat(32), 999).is_some());
        assert!(gate.check_pass(&pass, &"a".repeat(32), 1_000).is_none());
        assert!(gate.check_pass(&pass, &"b".repeat(32), 999).is_none());
        // Another key, or any changed field, is refused.
        let mut other = config::Settings::defaults().unwrap().gateway.gate;
        other.pass_key = "another-key".into();
        other.captcha_url = String::new();
        assert!(
            Gate::new(&other)
                .check_pass(&pass, &"a".repeat(32), 999)
                .is_none()
        );
        let longer = pass.replacen(".1000.", ".100000.", 1);
        assert!(gate.check_pass(&longer, &"a".repeat(32), 999).is_none());
        let kind = pass.replacen("v1.s.", "v1.w.", 1);
        assert!(gate.check_pass(&kind, &"a".repeat(32), 999).is_none());
        assert!(gate.check_pass("v1.s.1000", "", 0).is_none());
        assert!(gate.check_pass("", "", 0).is_none());
    }

    #[test]
    fn tickets_are_bound_to_the_visitor() {
        let gate = gate();
        let ticket = gate.ticket(500, "v");
        assert_eq!(gate.check_ticket(&ticket, "v").map(|t| t.0), Some(500));
        assert!(gate.check_ticket(&ticket, "w").is_none());
        assert!(
            gate.check_ticket(&ticket.replacen("500", "400", 1), "v")
                .is_none()
        );
    }

    #[test]
    fn next_stays_on_the_site() {
        assert_eq!(safe_next("/numbers/+1?x=1"), "/numbers/+1?x=1");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil",
            "",
            "/a\nb",
        ] {
            assert_eq!(safe_next(bad), "/");
        }
    }

    #[test]
    fn gated_paths_are_the_content() {
        for path in [
            "/",
            "/latest",
            "/countries/us",
            "/numbers/+1555",
            "/api/v1/numbers",
        ] {
            assert!(gated(path), "{path}");
        }
        for path in [
            "/numbers/+1555/events",
            "/static/site.css",
            "/privacy",
            "/my-data",
            "/gate",
            "/api/v1/crash",
            "/robots.txt",
        ] {
            assert!(!gated(path), "{path}");
        }
    }

    #[test]
    fn automation_is_recognised() {
        let headers = |ua: &str, lang: bool| {
            let mut h = HeaderMap::new();
            h.insert(header::USER_AGENT, ua.parse().unwrap());
            if lang {
                h.insert(header::ACCEPT_LANGUAGE, "en".parse().unwrap());
            }
            h
        };
        let phone =
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36";
        assert!(!looks_automated(&headers(phone, true)));
        assert!(looks_automated(&headers(phone, false)));
        assert!(looks_automated(&headers("curl/8.5.0", true)));
        assert!(looks_automated(&headers("python-requests/2.32", true)));
        assert!(looks_automated(&headers(
            "Mozilla/5.0 HeadlessChrome/126.0",
            true
        )));
    }

    #[test]
    fn hostnames_lose_their_port() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "example.org:8080".parse().unwrap());
        assert_eq!(hostname(&h), "example.org");
        h.insert(header::HOST, "[::1]:8080".parse().unwrap());
        assert_eq!(hostname(&h), "::1");
    }

    #[tokio::test]
    async fn loopback_verifies_as_localhost_only() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        // /etc/hosts maps 127.0.0.1 to localhost both ways.
        assert!(verify_by_dns(ip, &["localhost".to_owned()]).await);
        assert!(!verify_by_dns(ip, &["googlebot.com".to_owned()]).await);
    }
}
