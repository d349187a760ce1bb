//! The gate's own pages: the interstitial, `GET /gate`, the challenge and
//! its redemption (`POST /gate/challenge`, `POST /gate/pass`), and the way
//! through without JavaScript (`GET /gate/wait`).

use std::net::IpAddr;
use std::time::Duration;

use askama::Template;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use proto::captcha::v1::{IssueChallengeRequest, RedeemRequest};
use serde::Deserialize;

use super::tokens::PassKind;
use super::{
    ACTION, CAPTCHA, PASS_COOKIE, TICKET_SLACK_SECS, encode, network_key, set_retry_after,
};
use crate::access_log::VisitorId;
use crate::client::ClientAddr;
use crate::i18n::Tr;
use crate::pages::Layout;
use crate::{AppState, assets};

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
pub(super) fn interstitial(
    state: &AppState,
    visitor: &str,
    next: &str,
    status: StatusCode,
) -> Response {
    let settings = &state.settings.gateway.gate;
    let t = crate::i18n::current();
    let next = safe_next(next);
    let ticket = state.gate.ticket(state.gate.clock.unix_secs(), visitor);
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
    )
    .noindex()
    .negotiated();
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
    crate::security::private(response.headers_mut());
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

/// `?for=` of `POST /gate/challenge`: what the solution will buy.
#[derive(Debug, Deserialize)]
pub struct ChallengeQuery {
    /// `gate` (a pass, the default) or `report` (one takedown report).
    #[serde(default, rename = "for")]
    purpose: String,
}

/// `POST /gate/challenge[?for=report]`: a proof-of-work challenge (ALTCHA
/// JSON) for a pass, or for one report (`super::REPORT_ACTION`).
pub async fn challenge(
    State(state): State<AppState>,
    visitor: Option<axum::Extension<VisitorId>>,
    axum::Extension(client_addr): axum::Extension<ClientAddr>,
    query: Result<Query<ChallengeQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let action = match query.as_ref().map(|q| q.purpose.as_str()) {
        Ok("" | ACTION) => ACTION,
        Ok(super::REPORT_ACTION) => super::REPORT_ACTION,
        _ => return json_error(StatusCode::BAD_REQUEST, "for: expected gate or report"),
    };
    let Some(mut client) = state.gate.captcha.clone() else {
        return json_error(StatusCode::NOT_FOUND, "the gate is off");
    };
    let request = IssueChallengeRequest {
        site_key: state.settings.gateway.gate.site_key.clone(),
        visitor_id: visitor.map(|v| v.0.0).unwrap_or_default(),
        ip: client_addr.text(),
        action: action.to_owned(),
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

/// The site's host name, without scheme or port (lower case, IPv6 without
/// brackets), for captcha-verification's `hostnames` check:
/// `gateway.public_url`'s, else the request's host as the site layer left
/// it (a trusted proxy's `X-Forwarded-Host`, or a `Host` that is a host
/// name; see `crate::client`).
pub(super) fn hostname(base_url: &str) -> String {
    platform::security::Origin::of_url(base_url)
        .map(|origin| origin.authority.host)
        .unwrap_or_default()
}

/// `POST /gate/pass`: redeems a solution for a pass cookie.
pub async fn pass(
    State(state): State<AppState>,
    visitor: Option<axum::Extension<VisitorId>>,
    axum::Extension(client_addr): axum::Extension<ClientAddr>,
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
    // Only a challenge the gate itself asked for earns a pass: another
    // site's, or another action's, solution is refused by captcha-verification.
    let request = RedeemRequest {
        payload: String::new(),
        payloads: form.payloads,
        hostname: hostname(&crate::pages::base_url(&state, &headers)),
        ip: client_addr.text(),
        site_key: state.settings.gateway.gate.site_key.clone(),
        action: ACTION.to_owned(),
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
    if let Some(refused) = over_pass_budget(&state, client_addr.0).await {
        return refused;
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

/// Counts a pass redeemed by the network of `ip`; the answer when the
/// network has had `passes_per_network_hour` this hour (a solver that
/// finds solutions fast still gets few passes).
async fn over_pass_budget(state: &AppState, ip: Option<IpAddr>) -> Option<Response> {
    let ip = ip?;
    let budget = state.settings.gateway.gate.passes_per_network_hour;
    match state
        .cache
        .incr_window(&network_key("passes", ip), Duration::from_secs(3600))
        .await
    {
        Ok(count) if count > budget => {
            let mut response = json_error(
                StatusCode::TOO_MANY_REQUESTS,
                "too many passes for your network this hour; try again later",
            );
            set_retry_after(&mut response, 600);
            Some(response)
        }
        Ok(_) => None,
        Err(err) => {
            tracing::warn!(%err, "gate: cannot count passes; issuing one");
            None
        }
    }
}

fn set_pass(
    state: &AppState,
    headers: &HeaderMap,
    response: &mut Response,
    kind: PassKind,
    ttl: u64,
    visitor: &str,
) {
    let pass = state.gate.pass(
        kind,
        state.gate.clock.unix_secs().saturating_add(ttl),
        visitor,
    );
    let attrs = platform::security::CookieAttrs {
        path: "/",
        max_age: Duration::from_secs(ttl),
        http_only: true,
        same_site: platform::security::SameSite::Lax,
    };
    let tls = crate::security::is_tls(state, headers);
    platform::security::set_cookie(response.headers_mut(), PASS_COOKIE, &pass, attrs, tls);
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
    axum::Extension(client_addr): axum::Extension<ClientAddr>,
    headers: HeaderMap,
    Query(query): Query<WaitQuery>,
) -> Response {
    let settings = &state.settings.gateway.gate;
    let visitor = visitor.map(|v| v.0.0).unwrap_or_default();
    let next = safe_next(&query.next);
    if !settings.enabled {
        return redirect(&next);
    }
    let now = state.gate.clock.unix_secs();
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
    let ip = client_addr.0;
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
                .incr_window(&network_key("nojs", ip), Duration::from_secs(3600))
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
    let layout = Layout::new(t, "", "/gate", t.t(title).to_owned(), t.t(title).to_owned())
        .noindex()
        .negotiated();
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

/// A local path to go back to: `/...` but never `//host` or `/\host`.
fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 1024
        && !next.chars().any(char::is_control);
    if ok { next.to_owned() } else { "/".to_owned() }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
    fn hostnames_lose_scheme_and_port() {
        assert_eq!(hostname("https://example.org:8443"), "example.org");
        assert_eq!(hostname("http://[::1]:8080"), "::1");
        assert_eq!(hostname("https://sms.example"), "sms.example");
        assert_eq!(hostname("not a url"), "");
    }
}
