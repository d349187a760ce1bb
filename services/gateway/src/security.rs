//! Security headers on every response, and the visitor's unique-identifier
//! cookie (the privacy policy's "unique identifier"), set on first visit
//! (the site layer, `crate::site_layer`, calls [`Visit`] around each request).

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use platform::security::{CookieAttrs, Origin, SameSite, set_cookie};
use rand::Rng;

use crate::AppState;
use crate::routes::RouteKind;

/// Name of the unique-identifier cookie.
pub const VISITOR_COOKIE: &str = "cloudsms_vid";

/// The Content-Security-Policy header value: our own origin only, plus the
/// ad network's origins when advertising is on (None only if the ad
/// settings hold characters a header cannot carry).
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

pub use platform::security::cookie;

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

/// The visitor reached us over TLS: `gateway.public_url` is `https://`, or
/// a trusted proxy said so (the site layer keeps `X-Forwarded-Proto` only
/// from trusted proxies, see `crate::client`). Every cookie the gateway
/// sets is `Secure` exactly then.
pub fn is_tls(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    state.settings.gateway.public_url.starts_with("https://")
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

/// A year, the lifetime of the visitor and language cookies.
const YEAR: Duration = Duration::from_secs(31_536_000);

/// The visitor's identifier cookie (`HttpOnly`, `SameSite=Lax`, a year).
pub fn set_visitor_cookie(headers: &mut axum::http::HeaderMap, id: &str, tls: bool) {
    let attrs = CookieAttrs {
        path: "/",
        max_age: YEAR,
        http_only: true,
        same_site: SameSite::Lax,
    };
    set_cookie(headers, VISITOR_COOKIE, id, attrs, tls);
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
    let site = Origin::of_url(&crate::pages::base_url(state, headers));
    let origin = origin.to_str().ok().and_then(Origin::parse);
    origin
        .zip(site)
        .is_some_and(|(origin, site)| origin.same_as(&site))
}

/// What the site layer decided about a request before handing it on: the
/// visitor's new id (when the request had none), TLS, and the language.
pub struct Visit {
    new_id: Option<String>,
    tls: bool,
    chosen_lang: Option<crate::i18n::Lang>,
    /// The request's language: its page's, else negotiated (query,
    /// cookie, `Accept-Language`).
    pub lang: crate::i18n::Lang,
}

impl Visit {
    /// Gives the request, of a route of `kind`, its visitor id (the
    /// cookie's, or a new one but not for an asset) and reads its language.
    pub fn start(state: &AppState, request: &mut Request, route: &crate::routes::Route) -> Self {
        let kind = route.kind;
        let existing = visitor_id(request.headers());
        let new_id = (kind != RouteKind::Asset && existing.is_none()).then(new_visitor_id);
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
        // A page's language is its path's; elsewhere it is negotiated.
        let lang = route.lang.unwrap_or_else(|| {
            crate::i18n::negotiated_lang(
                request.uri().path(),
                request.uri().query(),
                request.headers(),
            )
        });
        request.extensions_mut().insert(lang);
        Self {
            new_id,
            tls: is_tls(state, request.headers()),
            // An asset never sets a cookie.
            chosen_lang: (kind != RouteKind::Asset)
                .then(|| crate::i18n::query_lang(request.uri().query()))
                .flatten(),
            lang,
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
                max_age: YEAR,
                // The page's script may read the language.
                http_only: false,
                same_site: SameSite::Lax,
            };
            set_cookie(headers, crate::i18n::LANG_COOKIE, lang.code(), attrs, tls);
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
