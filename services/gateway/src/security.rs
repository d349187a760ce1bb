//! Security headers on every response, and the visitor's unique-identifier
//! cookie (the privacy policy's "unique identifier"), set on first visit
//! (the site layer, `crate::site_layer`, calls [`Visit`] around each request).

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use rand::Rng;

use crate::AppState;

/// Name of the unique-identifier cookie.
pub const VISITOR_COOKIE: &str = "cloudsms_vid";

/// The Content-Security-Policy: our own origin only, plus the ad network's
/// origins when advertising is on.
/// The Content-Security-Policy header value (None only if the ad settings
/// hold characters a header cannot carry).
pub fn csp_header(ads: &config::AdsSettings) -> Option<HeaderValue> {
    HeaderValue::from_str(&csp(ads)).ok()
}

fn csp(ads: &config::AdsSettings) -> String {
    let extra: String = if ads.enabled {
        ads.csp_sources
            .iter()
            .filter(|s| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
            })
            .map(|s| format!(" {s}"))
            .collect()
    } else {
        String::new()
    };
    format!(
        "default-src 'self'; script-src 'self'{extra}; style-src 'self'; img-src 'self' data:{extra}; \
         connect-src 'self'{extra}; frame-src 'self'{extra}; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_owned())
}

/// The visitor id in `cookie` headers, when well-formed (32 hex digits).
pub fn visitor_id(headers: &axum::http::HeaderMap) -> Option<String> {
    cookie(headers, VISITOR_COOKIE)
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A new random 128-bit visitor id.
pub fn new_visitor_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

fn is_tls(state: &AppState, request: &Request) -> bool {
    is_tls_headers(state, request.headers())
}

/// The visitor reached us over TLS: `gateway.public_url` is `https://`, or
/// a trusted proxy said so (the site layer keeps `X-Forwarded-Proto` only
/// from trusted proxies, see `crate::client`).
pub fn is_tls_headers(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    state.settings.gateway.public_url.starts_with("https://")
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

/// The request's `Origin`, when it sends one, is this site's exactly: the
/// scheme, host and port of `crate::pages::base_url` (`gateway.public_url`,
/// else the request's host as the site layer left it). A request without
/// `Origin` passes (browsers send it on every form post; other clients
/// still need the cookie and the token); `Origin: null` does not.
pub fn same_origin(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => headers.get(header::ORIGIN).is_none(),
        Some(origin) => origin == crate::pages::base_url(state, headers),
    }
}

/// What the site layer decided about a request before handing it on: the
/// visitor's new id (when the request had none), TLS, and the language.
pub struct Visit {
    new_id: Option<String>,
    tls: bool,
    chosen_lang: Option<crate::i18n::Lang>,
    /// The request's language (query, cookie, `Accept-Language`).
    pub lang: crate::i18n::Lang,
}

impl Visit {
    /// Gives the request its visitor id (the cookie's, or a new one) and
    /// reads its language.
    pub fn start(state: &AppState, request: &mut Request) -> Self {
        let path = request.uri().path();
        let cookie_path =
            !(path.starts_with("/static/") || path == "/healthz" || path == "/readyz");
        let existing = visitor_id(request.headers());
        let new_id = (cookie_path && existing.is_none()).then(new_visitor_id);
        if let Some(id) = existing.or_else(|| new_id.clone()) {
            request
                .extensions_mut()
                .insert(crate::access_log::VisitorId(id));
        }
        if new_id.is_some() {
            request
                .extensions_mut()
                .insert(crate::access_log::NewVisitor);
        }
        Self {
            new_id,
            tls: is_tls(state, request),
            chosen_lang: crate::i18n::query_lang(request.uri().query()),
            lang: crate::i18n::request_lang(request.uri().query(), request.headers()),
        }
    }

    /// Adds the security headers and the cookies to the response.
    pub fn finish(self, state: &AppState, mut response: Response) -> Response {
        let tls = self.tls;
        let headers = response.headers_mut();
        if let Some(policy) = &state.csp {
            headers.insert(header::CONTENT_SECURITY_POLICY, policy.clone());
        }
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        );
        headers.insert(
            "permissions-policy",
            HeaderValue::from_static(
                "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
            ),
        );
        if state.settings.gateway.hsts && tls {
            headers.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
        let secure = if tls { "; Secure" } else { "" };
        if let Some(lang) = self.chosen_lang {
            let cookie = format!(
                "{}={}; Path=/; Max-Age=31536000; SameSite=Lax{secure}",
                crate::i18n::LANG_COOKIE,
                lang.code()
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                headers.append(header::SET_COOKIE, value);
            }
        }
        if let Some(id) = self.new_id {
            let cookie = format!(
                "{VISITOR_COOKIE}={id}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{secure}"
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                headers.append(header::SET_COOKIE, value);
            }
        }
        response
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn visitor_ids_are_random_128_bit_hex_and_parsed_back() {
        let a = new_visitor_id();
        assert_eq!(a.len(), 32);
        assert_ne!(a, new_visitor_id());
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            header::COOKIE,
            format!("x=1; {VISITOR_COOKIE}={a}").parse().unwrap(),
        );
        assert_eq!(visitor_id(&headers), Some(a));
        headers.insert(
            header::COOKIE,
            format!("{VISITOR_COOKIE}=<script>").parse().unwrap(),
        );
        assert_eq!(visitor_id(&headers), None);
    }
}
