//! Static assets, compiled in and served under fingerprinted names
//! (`/static/site.<hash>.css`) with a one-year immutable cache lifetime, and
//! the few files browsers ask for by a fixed name (`/favicon.ico`,
//! `/apple-touch-icon.png`), cached for a day. Every answer carries an
//! `ETag` (the content's hash) and `If-None-Match` gets a 304. The icons are
//! drawn by `scripts/make-icons.py`.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    body: &'static [u8],
    content_type: &'static str,
    fingerprinted: String,
    etag: HeaderValue,
}

fn asset(name: &'static str, body: &'static [u8], content_type: &'static str) -> Asset {
    let digest = hex::encode(Sha256::digest(body));
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    Asset {
        name,
        body,
        content_type,
        fingerprinted: format!("{stem}.{}.{ext}", &digest[..12]),
        // Hex digits and quotes: always a valid header value.
        etag: HeaderValue::from_str(&format!("\"{}\"", &digest[..32]))
            .unwrap_or_else(|_| HeaderValue::from_static("\"\"")),
    }
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    vec![
        asset(
            "site.css",
            include_bytes!("../static/site.css"),
            "text/css; charset=utf-8",
        ),
        asset(
            "admin.css",
            include_bytes!("../static/admin.css"),
            "text/css; charset=utf-8",
        ),
        asset(
            "app.js",
            include_bytes!("../static/app.js"),
            "text/javascript; charset=utf-8",
        ),
        asset(
            "wait.js",
            include_bytes!("../static/wait.js"),
            "text/javascript; charset=utf-8",
        ),
        asset(
            "gate.js",
            include_bytes!("../static/gate.js"),
            "text/javascript; charset=utf-8",
        ),
        asset(
            "report.js",
            include_bytes!("../static/report.js"),
            "text/javascript; charset=utf-8",
        ),
        asset(
            "gate-worker.js",
            include_bytes!("../static/gate-worker.js"),
            "text/javascript; charset=utf-8",
        ),
        asset(
            "favicon.svg",
            include_bytes!("../static/favicon.svg"),
            "image/svg+xml",
        ),
        asset(
            "favicon.ico",
            include_bytes!("../static/favicon.ico"),
            "image/x-icon",
        ),
        asset(
            "apple-touch-icon.png",
            include_bytes!("../static/apple-touch-icon.png"),
            "image/png",
        ),
        asset(
            "og-image.png",
            include_bytes!("../static/og-image.png"),
            "image/png",
        ),
    ]
});

/// `/static/<fingerprinted name>` of a compiled-in asset.
pub fn url(name: &str) -> String {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map_or_else(String::new, |a| format!("/static/{}", a.fingerprinted))
}

/// `GET /static/{file}`.
pub async fn serve(Path(file): Path<String>, request: HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.fingerprinted == file) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    answer(asset, &request, "public, max-age=31536000, immutable")
}

/// `GET /favicon.ico`: what browsers ask for on their own.
pub async fn favicon(request: HeaderMap) -> Response {
    site_file("favicon.ico", &request)
}

/// `GET /apple-touch-icon.png`: what iOS asks for on its own.
pub async fn touch_icon(request: HeaderMap) -> Response {
    site_file("apple-touch-icon.png", &request)
}

/// A compiled-in file at a fixed name: cached for a day, revalidated by
/// its `ETag`.
fn site_file(name: &str, request: &HeaderMap) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => answer(asset, request, "public, max-age=86400"),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

fn answer(asset: &Asset, request: &HeaderMap, cache: &'static str) -> Response {
    revalidated(
        request,
        &asset.etag,
        asset.content_type,
        cache,
        asset.body.into_response(),
    )
}

/// `body` with its type, cache lifetime and `ETag`, or `304 Not Modified`
/// when the client's `If-None-Match` names that tag (or `*`): the one way
/// the gateway answers a file it can revalidate.
pub fn revalidated(
    request: &HeaderMap,
    etag: &HeaderValue,
    content_type: &'static str,
    cache: &'static str,
    body: Response,
) -> Response {
    let fresh = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/").as_bytes() == etag.as_bytes()
        });
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        body
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::ETAG, etag.clone());
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_carry_an_etag_and_revalidate_to_304() {
        let first = favicon(HeaderMap::new()).await;
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(first.headers()[header::CONTENT_TYPE], "image/x-icon");
        let etag = first.headers()[header::ETAG].clone();
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, etag.clone());
        let second = favicon(again).await;
        assert_eq!(second.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(second.headers()[header::ETAG], etag);
        let asset = serve(
            Path(url("og-image.png").replace("/static/", "")),
            HeaderMap::new(),
        )
        .await;
        assert_eq!(asset.status(), StatusCode::OK);
        assert!(
            asset.headers()[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
    }
}
