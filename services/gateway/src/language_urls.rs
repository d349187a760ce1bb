//! Per-language URLs: English pages at `/…`, Chinese at `/zh-CN/…` (the
//! page routes are mounted once per language, `crate::pages_routes`).
//! What remains of negotiation is answered here, in the site layer:
//!
//! - `?lang=` on a page is a switch: `303 See Other` to the same page in
//!   that language without `?lang=` (the choice is remembered in the
//!   language cookie by `security::Visit`). 303 rather than 302: the answer
//!   to a choice is another resource, never the same one moved; no browser
//!   or cache keeps it, and a crawler following it indexes the clean URL.
//! - `/` (English, and `x-default`) sends a visitor who prefers Chinese
//!   (language cookie, else `Accept-Language`) to `/zh-CN/` with a `302`,
//!   and every answer of `/` says `Vary: Accept-Language, Cookie`. Crawlers
//!   (no cookie, no or an English `Accept-Language`) always get the same
//!   English page; every other page URL serves one language to everyone.
//! - Where the language is still negotiated (the gate, feeds, error pages
//!   of unknown paths), the answer says `Vary: Accept-Language, Cookie`.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::i18n::{LANG_COOKIE, Lang, localized, query_lang, split_path};
use crate::routes::{Route, RouteKind};
use crate::security::cookie;

/// What caches must key a negotiated answer by.
pub const VARY: &str = "accept-language, cookie";

/// The redirect a request for a page gets, if any: a `?lang=` switch, or
/// `/` for a visitor who prefers another language.
pub fn redirect(
    route: &Route,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> Option<Response> {
    let page_lang = route.lang?;
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let (_, path) = split_path(uri.path());
    if let Some(wanted) = query_lang(uri.query()) {
        let rest: Vec<(String, String)> = uri
            .query()
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .filter(|(k, _)| k != "lang")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let mut target = localized(wanted, path);
        if !rest.is_empty() {
            target.push('?');
            target.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(rest)
                    .finish(),
            );
        }
        return Some(to(StatusCode::SEE_OTHER, &target));
    }
    if page_lang == Lang::En && uri.path() == "/" && preferred(headers) == Lang::ZhCn {
        // The site layer adds `Vary` (see [`varies`]).
        return Some(to(StatusCode::FOUND, &localized(Lang::ZhCn, "/")));
    }
    None
}

/// The language a visitor prefers: their choice (the cookie), else their
/// browser's (`Accept-Language`).
fn preferred(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(|c| Lang::from_tag(&c))
        .unwrap_or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map_or(Lang::En, Lang::negotiate)
        })
}

/// A redirect to `target`, a path of this site: it starts with one `/`
/// followed by a page's own path (a matched route), so it never names
/// another host.
fn to(status: StatusCode, target: &str) -> Response {
    let mut response = status.into_response();
    if let Ok(location) = HeaderValue::from_str(target) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether an answer to `route` depends on `Accept-Language` and the
/// language cookie: `/` (it may redirect), and every route that has no
/// language of its own and answers in words (not assets, files, the API or
/// live streams).
pub fn varies(route: &Route, path: &str) -> bool {
    match route.lang {
        Some(Lang::En) => path == "/",
        Some(_) => false,
        None => !matches!(
            route.kind,
            RouteKind::Asset
                | RouteKind::SiteFile
                | RouteKind::Api
                | RouteKind::Live
                | RouteKind::CrashBeacon
                | RouteKind::Admin
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn page(lang: Lang) -> Route {
        Route {
            kind: RouteKind::Page,
            template: None,
            number: None,
            lang: Some(lang),
        }
    }

    fn location(route: &Route, uri: &str, headers: &HeaderMap) -> Option<(u16, String)> {
        redirect(route, &Method::GET, &uri.parse().unwrap(), headers).map(|r| {
            (
                r.status().as_u16(),
                r.headers()[header::LOCATION].to_str().unwrap().to_owned(),
            )
        })
    }

    #[test]
    fn lang_switches_to_the_same_page_in_that_language() {
        let none = HeaderMap::new();
        assert_eq!(
            location(&page(Lang::En), "/numbers/+44?lang=zh-CN&from=a%20b", &none),
            Some((303, "/zh-CN/numbers/+44?from=a+b".into()))
        );
        assert_eq!(
            location(&page(Lang::ZhCn), "/zh-CN/?lang=en", &none),
            Some((303, "/".into()))
        );
        assert_eq!(
            location(&page(Lang::ZhCn), "/zh-CN/latest?lang=zh-CN", &none),
            Some((303, "/zh-CN/latest".into()))
        );
        assert_eq!(location(&page(Lang::En), "/latest?lang=xx", &none), None);
        assert_eq!(location(&page(Lang::En), "/latest", &none), None);
    }

    #[test]
    fn the_home_page_sends_chinese_visitors_to_their_page() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9".parse().unwrap());
        assert_eq!(
            location(&page(Lang::En), "/", &headers),
            Some((302, "/zh-CN/".into()))
        );
        assert_eq!(location(&page(Lang::En), "/latest", &headers), None);
        headers.insert(header::COOKIE, format!("{LANG_COOKIE}=en").parse().unwrap());
        assert_eq!(location(&page(Lang::En), "/", &headers), None);
    }
}
