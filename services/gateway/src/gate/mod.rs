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

mod crawlers;
mod pages;
mod solve;
mod tokens;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use proto::captcha::v1::ForgetVisitorRequest;
use proto::captcha::v1::captcha_service_client::CaptchaServiceClient;
use tonic::transport::{Channel, Endpoint};

pub use pages::{challenge, page, pass, wait};
pub use platform::Clock;
pub use solve::{REPORT_ACTION, Redeemed, available as can_redeem, payloads, redeem};

use crate::AppState;
use crate::access_log::VisitorId;
use crate::client::ClientAddr;
use crate::keys::Keys;
use crate::routes::RouteKind;
use pages::interstitial;

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

/// The gate's keys, its clock, its captcha client and what it learnt
/// about crawlers.
#[derive(Clone)]
pub struct Gate {
    keys: Keys,
    clock: Clock,
    captcha: Option<CaptchaServiceClient<Channel>>,
    crawlers: Arc<Mutex<CrawlerChecks>>,
}

impl Gate {
    /// Asks captcha-verification to forget the challenge counts it keeps
    /// under `visitor`, when the gate talks to it (only the gate gives it
    /// visitor ids): how many keys went.
    pub async fn forget_visitor(&self, visitor: &str) -> Result<u64, tonic::Status> {
        let Some(mut client) = self.captcha.clone() else {
            return Ok(0);
        };
        let request = ForgetVisitorRequest {
            visitor_id: visitor.to_owned(),
        };
        platform::grpc::call(CAPTCHA, "ForgetVisitor", request, |r| {
            client.forget_visitor(r)
        })
        .await
        .map(|response| response.into_inner().deleted)
    }

    /// The gate for `settings`, signing with `keys`, on the system's clock.
    pub fn new(settings: &config::GateSettings, keys: Keys) -> Self {
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
            keys,
            clock: Clock::system(),
            captcha,
            crawlers: Arc::default(),
        }
    }

    /// The same gate, timing passes and tickets by `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
}

/// Routes the gate counts: pages with messages (a report form among them), feeds and the JSON API
/// (not the privacy policy, `/my-data`, the gate's own pages, assets, files,
/// live streams, the crash beacon, the operator's pages or a 404).
fn gated(kind: RouteKind) -> bool {
    matches!(
        kind,
        RouteKind::Page
            | RouteKind::NumberPage
            | RouteKind::CountryPage
            | RouteKind::Feed
            | RouteKind::Api
            // A report form shows its message: counted like the page.
            | RouteKind::Report
    )
}

/// Looks like a program rather than a person's browser: no user agent, no
/// `Accept-Language`, or a user agent the server log counts as a bot
/// ([`crate::ua::AUTOMATED`]).
fn looks_automated(headers: &HeaderMap) -> bool {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    ua.trim().is_empty()
        || headers.get(header::ACCEPT_LANGUAGE).is_none()
        || crate::ua::is_automated(ua)
}

/// The pass cookie's value.
fn pass_cookie(headers: &HeaderMap) -> Option<String> {
    crate::security::cookie(headers, PASS_COOKIE).map(|value| value.chars().take(128).collect())
}

fn interval(rate: config::GateRate) -> Duration {
    Duration::from_micros(60_000_000 / u64::from(rate.per_minute.max(1)))
}

fn client_ip(request: &Parts) -> Option<IpAddr> {
    request.extensions.get::<ClientAddr>().and_then(|c| c.0)
}

/// The gate stands in front of a route of this kind (it is on and the
/// kind is gated).
pub fn applies(state: &AppState, kind: RouteKind) -> bool {
    state.settings.gateway.gate.enabled && gated(kind)
}

/// The gate's decision on a request of a route of `kind` the gate
/// [`applies`] to: `None` lets it through, else the answer (the challenge
/// page, or a 429 for the API).
pub async fn check(state: &AppState, request: &Parts, kind: RouteKind) -> Option<Response> {
    let settings = &state.settings.gateway.gate;
    let api = kind == RouteKind::Api;
    let visitor = request
        .extensions
        .get::<VisitorId>()
        .map(|v| v.0.clone())
        .unwrap_or_default();
    let ip = client_ip(request);
    let headers = &request.headers;
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let now = state.gate.clock.unix_secs();
    let cache = &state.cache;
    let mut wait = None;

    if let Some(pass) =
        pass_cookie(headers).and_then(|cookie| state.gate.check_pass(&cookie, &visitor, now))
    {
        // A pass lifts its holder above the visitor and network limits, not
        // above its own rate, nor its network above `network_passed`.
        let mut buckets = vec![(format!("gate:p:{pass}"), settings.pass)];
        if let Some(ip) = ip {
            buckets.push((network_key("np", ip), settings.network_passed));
        }
        match count(cache.as_ref(), &buckets).await {
            None => return None,
            Some(w) => wait = Some(w),
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
        let mut buckets = Vec::with_capacity(2);
        if !visitor.is_empty() {
            buckets.push((visitor_key(&visitor), settings.visitor));
        }
        if let Some(ip) = ip {
            buckets.push((network_key("n", ip), settings.network));
        }
        wait = count(cache.as_ref(), &buckets).await;
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

/// The gate's page-view rate of a visitor (deleted with the visitor's data).
pub fn visitor_key(visitor: &str) -> String {
    format!("gate:v:{visitor}")
}

/// The gate's counter `kind` of the network of `ip` (IPv4 /24, IPv6 /64).
fn network_key(kind: &str, ip: IpAddr) -> String {
    format!("gate:{kind}:{}", platform::network_prefix(ip))
}

/// Counts one page view in each bucket, in order: `None` when every one
/// allows it, else the wait of the first that refuses (the rest are not
/// counted). A cache failure lets the view through: the gate protects the
/// site, it must not take it down with the cache.
async fn count(
    cache: &dyn cache::HotCache,
    buckets: &[(String, config::GateRate)],
) -> Option<Duration> {
    for (key, rate) in buckets {
        match cache.throttle(key, interval(*rate), rate.burst).await {
            Ok(None) => {}
            Ok(Some(wait)) => return Some(wait),
            Err(err) => {
                tracing::warn!(%err, "gate: cannot count; letting the request through");
                return None;
            }
        }
    }
    None
}

fn set_retry_after(response: &mut Response, secs: u64) {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
}

fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn gated_routes_are_the_content() {
        let gated_kinds = [
            RouteKind::Page,
            RouteKind::NumberPage,
            RouteKind::CountryPage,
            RouteKind::Feed,
            RouteKind::Api,
            RouteKind::Report,
        ];
        for kind in gated_kinds {
            assert!(gated(kind), "{kind:?}");
        }
        for kind in [
            RouteKind::Live,
            RouteKind::Asset,
            RouteKind::InfoPage,
            RouteKind::MyData,
            RouteKind::Gate,
            RouteKind::CrashBeacon,
            RouteKind::SiteFile,
            RouteKind::Admin,
            RouteKind::NotFound,
        ] {
            assert!(!gated(kind), "{kind:?}");
        }
    }

    fn headers(ua: &str, lang: bool) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::USER_AGENT, ua.parse().unwrap());
        if lang {
            h.insert(header::ACCEPT_LANGUAGE, "en".parse().unwrap());
        }
        h
    }

    #[test]
    fn the_gate_and_the_server_log_agree_on_every_automated_agent() {
        use proto::events::v1::DeviceClass;
        for needle in crate::ua::AUTOMATED {
            for ua in [
                format!("Mozilla/5.0 (X11; Linux x86_64) {needle}1.0"),
                needle.to_ascii_uppercase(),
            ] {
                assert!(looks_automated(&headers(&ua, true)), "gate: {ua}");
                let agent = crate::ua::parse(&ua);
                assert_eq!(
                    (agent.browser, agent.device),
                    ("Bot", DeviceClass::Bot),
                    "log: {ua}"
                );
            }
        }
        let browser = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert!(!looks_automated(&headers(browser, true)));
        assert_eq!(crate::ua::parse(browser).device, DeviceClass::Desktop);
    }

    #[test]
    fn automation_is_recognised() {
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
}
