//! Static assets, compiled in and served under fingerprinted names
//! (`/static/site.<hash>.css`) with a one-year immutable cache lifetime.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

struct Asset {
    name: &'static str,
    body: &'static [u8],
    content_type: &'static str,
    fingerprinted: String,
}

fn asset(name: &'static str, body: &'static [u8], content_type: &'static str) -> Asset {
    let digest = hex::encode(Sha256::digest(body));
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    Asset {
        name,
        body,
        content_type,
        fingerprinted: format!("{stem}.{}.{ext}", &digest[..12]),
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
            "gate-worker.js",
            include_bytes!("../static/gate-worker.js"),
            "text/javascript; charset=utf-8",
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
pub async fn serve(Path(file): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.fingerprinted == file) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}
