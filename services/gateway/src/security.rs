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

/// How a cookie is set, besides its name and value.
#[derive(Debug, Clone, Copy)]
pub struct CookieAttrs {
    /// `Path`.
    pub path: &'static str,
    /// `Max-Age` in seconds (0 deletes the cookie).
    pub max_age: u64,
    /// `HttpOnly`: no script can read it.
    pub http_only: bool,
    /// `SameSite=Strict` (else `Lax`).
    pub strict: bool,
    /// `Secure`: over TLS only (set when the visitor came over TLS).
    pub secure: bool,
}

/// Appends the `Set-Cookie` of `name=value` with `attrs` (the one place
/// cookies are written; a value a header cannot carry sets nothing).
pub fn set_cookie(
    headers: &mut axum::http::HeaderMap,
    name: &str,
    value: &str,
    attrs: CookieAttrs,
) {
    let cookie = format!(
        "{name}={value}; Path={}; Max-Age={}{}; SameSite={}{}",
        attrs.path,
        attrs.max_age,
        if attrs.http_only { "; HttpOnly" } else { "" },
        if attrs.strict { "Strict" } else { "Lax" },
        if attrs.secure { "; Secure" } else { "" },
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.append(header::SET_COOKIE, value);
    }
}

/// The visitor's identifier cookie (`HttpOnly`, `SameSite=Lax`, a year).
pub fn set_visitor_cookie(headers: &mut axum::http::HeaderMap, id: &str, secure: bool) {
    let attrs = CookieAttrs {
        path: "/",
        max_age: 31_536_000,
        http_only: true,
        strict: false,
        secure,
    };
    set_cookie(headers, VISITOR_COOKIE, id, attrs);
}

/// Marks `response` as private: never stored by a cache on the way
/// (`Cache-Control: no-store`) and never indexed (`X-Robots-Tag`). For the
/// gate's pages, `/my-data` and the operator's pages.
pub fn private(headers: &mut axum::http::HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-robots-tag",
        HeaderValue::from_static("noindex, nofollow"),
    );
}

/// Scheme, host (lower case) and port (the scheme's default filled in) of
/// an absolute URL; with `bare`, only when it has no path (an `Origin`).
fn origin_parts(url: &str, bare: bool) -> Option<(String, String, u16)> {
    if bare && url.split_once("://")?.1.contains(['/', '?', '#']) {
        return None;
    }
    let uri: axum::http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let port = uri.port_u16().or(match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })?;
    Some((scheme, uri.host()?.to_ascii_lowercase(), port))
}

/// The request's `Origin`, when it sends one, is this site: the same
/// scheme, host and port as `crate::pages::base_url` (`gateway.public_url`,
/// else the request's host as the site layer left it). A request without
/// `Origin` passes (browsers send it on every form post; other clients
/// still need the cookie and the token); `Origin: null`, or one that is not
/// a bare origin, does not.
pub fn same_origin(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let site = origin_parts(&crate::pages::base_url(state, headers), false);
    let origin = origin.to_str().ok().and_then(|o| origin_parts(o, true));
    origin.is_some() && origin == site
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
        if let Some(lang) = self.chosen_lang {
            let attrs = CookieAttrs {
                path: "/",
                max_age: 31_536_000,
                // The page's script may read the language.
                http_only: false,
                strict: false,
                secure: tls,
            };
            set_cookie(headers, crate::i18n::LANG_COOKIE, lang.code(), attrs);
        }
        if let Some(id) = self.new_id {
            set_visitor_cookie(headers, &id, tls);
        }
        response
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_by_scheme_host_and_port() {
        let parts = |u: &str| origin_parts(u, true);
        assert_eq!(
            parts("HTTPS://Sms.Example"),
            parts("https://sms.example:443")
        );
        assert_ne!(parts("https://sms.example"), parts("http://sms.example"));
        assert_ne!(
            parts("http://sms.example:8080"),
            parts("http://sms.example")
        );
        for bad in ["null", "https://sms.example/", "sms.example", ""] {
            assert_eq!(parts(bad), None, "{bad}");
        }
        assert!(origin_parts("https://sms.example/", false).is_some());
    }

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
