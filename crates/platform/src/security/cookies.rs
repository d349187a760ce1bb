//! Cookies: the one way a `Set-Cookie` is written, with one `Secure` rule
//! (set exactly when the visitor came over TLS), and the one way a
//! request's cookie is read.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
pub use cookie::SameSite;

/// How a cookie is set, besides its name and value (and `Secure`, which
/// follows the request's transport, see [`set_cookie`]).
#[derive(Debug, Clone, Copy)]
pub struct CookieAttrs {
    /// `Path`.
    pub path: &'static str,
    /// `Max-Age`, in whole seconds (zero deletes the cookie).
    pub max_age: Duration,
    /// `HttpOnly`: no script can read it.
    pub http_only: bool,
    /// `SameSite`.
    pub same_site: SameSite,
}

/// The `Set-Cookie` value of `name=value` with `attrs`, `Secure` when
/// `over_tls`.
fn set_cookie_value(name: &str, value: &str, attrs: CookieAttrs, over_tls: bool) -> String {
    let max_age = i64::try_from(attrs.max_age.as_secs()).unwrap_or(i64::MAX);
    cookie::Cookie::build((name, value))
        .path(attrs.path)
        .max_age(cookie::time::Duration::seconds(max_age))
        .http_only(attrs.http_only)
        .same_site(attrs.same_site)
        .secure(over_tls)
        .build()
        .to_string()
}

/// Appends the `Set-Cookie` of `name=value` with `attrs`; `Secure` exactly
/// when the visitor came over TLS (`over_tls`: a browser would not send a
/// `Secure` cookie back over plain HTTP, and one set over TLS must never
/// travel in clear). A name or value a header cannot carry sets nothing.
pub fn set_cookie(
    headers: &mut HeaderMap,
    name: &str,
    value: &str,
    attrs: CookieAttrs,
    over_tls: bool,
) {
    if let Ok(value) = HeaderValue::from_str(&set_cookie_value(name, value, attrs, over_tls)) {
        headers.append(header::SET_COOKIE, value);
    }
}

/// The value of cookie `name` in the request's `Cookie` headers (the first
/// one of that name).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn attributes(value: &str) -> Vec<String> {
        let mut parts: Vec<String> = value.split("; ").map(str::to_owned).collect();
        parts[1..].sort();
        parts
    }

    const YEAR: CookieAttrs = CookieAttrs {
        path: "/",
        max_age: Duration::from_secs(31_536_000),
        http_only: true,
        same_site: SameSite::Lax,
    };

    #[test]
    fn attributes_are_written_as_given_and_secure_only_over_tls() {
        assert_eq!(
            attributes(&set_cookie_value("cloudsms_vid", "abc", YEAR, false)),
            [
                "cloudsms_vid=abc",
                "HttpOnly",
                "Max-Age=31536000",
                "Path=/",
                "SameSite=Lax"
            ]
        );
        let strict = CookieAttrs {
            path: "/admin",
            max_age: Duration::ZERO,
            http_only: false,
            same_site: SameSite::Strict,
        };
        assert_eq!(
            attributes(&set_cookie_value("s", "", strict, true)),
            [
                "s=",
                "Max-Age=0",
                "Path=/admin",
                "SameSite=Strict",
                "Secure"
            ]
        );
    }

    #[test]
    fn values_a_header_cannot_carry_set_nothing() {
        let mut headers = HeaderMap::new();
        set_cookie(&mut headers, "a", "x\r\nSet-Cookie: b=1", YEAR, false);
        assert!(headers.is_empty());
        set_cookie(&mut headers, "a", "1", YEAR, true);
        set_cookie(&mut headers, "b", "2", YEAR, true);
        assert_eq!(headers.get_all(header::SET_COOKIE).iter().count(), 2);
    }

    #[test]
    fn request_cookies_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, "ab=1; a=2".parse().unwrap());
        headers.append(header::COOKIE, "a=3;c=x=y".parse().unwrap());
        assert_eq!(cookie(&headers, "a").as_deref(), Some("2"));
        assert_eq!(cookie(&headers, "c").as_deref(), Some("x=y"));
        assert_eq!(cookie(&headers, "b"), None);
        assert_eq!(cookie(&HeaderMap::new(), "a"), None);
    }
}
