//! The router as a visitor's browser and an API client see it, called in
//! process (`tower::ServiceExt::oneshot`, no socket) on the embedded
//! infrastructure (SQLite in a temporary folder, in-process bus and cache).
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use tower::ServiceExt as _;

/// The gateway's router on fresh embedded infrastructure, the crawler gate
/// off (as the cross-service tests run it); the folder lives as long as the
/// router is used.
async fn router() -> (Router, platform::Infra, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "data_dir = {:?}\n[gateway.gate]\nenabled = false\n",
        dir.path().display().to_string()
    );
    let settings = config::Settings::from_toml_overrides(&toml).unwrap();
    let infra = platform::Infra::connect(settings).await.unwrap();
    let router = crate::router(&infra, crate::Shared::new(&infra));
    (router, infra, dir)
}

/// `GET path` with a browser's `Host`.
async fn get(router: &Router, path: &str) -> Response {
    let request = Request::get(path)
        .header(header::HOST, "sms.example")
        .body(Body::empty())
        .unwrap();
    router.clone().oneshot(request).await.unwrap()
}

async fn text(response: Response) -> String {
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(body.to_vec()).unwrap()
}

fn header_of<'r>(response: &'r Response, name: &str) -> &'r str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn healthz_answers() {
    let (router, _infra, _dir) = router().await;
    let response = get(&router, "/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_path_is_a_404_page() {
    let (router, _infra, _dir) = router().await;
    let response = get(&router, "/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(header_of(&response, "content-type").starts_with("text/html"));
    assert!(text(response).await.contains("<html"));
}

#[tokio::test]
async fn robots_txt_keeps_crawlers_off_the_api_and_names_the_sitemap() {
    let (router, _infra, _dir) = router().await;
    let response = get(&router, "/robots.txt").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header_of(&response, "content-type").starts_with("text/plain"));
    let robots = text(response).await;
    assert!(robots.contains("Disallow: /api/\n"), "{robots}");
    assert!(
        robots.contains("Disallow: /latest/events\n"),
        "live streams are not pages: {robots}"
    );
    assert!(
        robots.contains("Sitemap: http://sms.example/sitemap.xml"),
        "{robots}"
    );
}

#[tokio::test]
async fn a_page_carries_the_security_headers_and_a_visitor_cookie() {
    let (router, _infra, _dir) = router().await;
    let response = get(&router, "/").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header_of(&response, "content-security-policy").starts_with("default-src 'self'"));
    assert_eq!(header_of(&response, "x-content-type-options"), "nosniff");
    assert_eq!(header_of(&response, "x-frame-options"), "DENY");
    assert_eq!(
        header_of(&response, "referrer-policy"),
        "strict-origin-when-cross-origin"
    );
    assert!(header_of(&response, "permissions-policy").contains("camera=()"));
    // Plain HTTP: no HSTS, and the cookie is not `Secure`.
    assert!(
        response
            .headers()
            .get("strict-transport-security")
            .is_none()
    );
    let cookie = header_of(&response, "set-cookie");
    assert!(
        cookie.starts_with(&format!("{}=", crate::VISITOR_COOKIE)),
        "{cookie}"
    );
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn the_numbers_api_lists_each_number_with_its_country_and_activity() {
    let (router, infra, _dir) = router().await;
    let number = domain::E164::parse("+447700900123").unwrap();
    infra.store.add_number(&number, "test").await.unwrap();
    let response = get(&router, "/api/v1/numbers").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header_of(&response, "content-type").starts_with("application/json"));
    let numbers: serde_json::Value = serde_json::from_str(&text(response).await).unwrap();
    assert_eq!(
        numbers,
        serde_json::json!([{
            "e164": "+447700900123",
            "country": "GB",
            "country_name": "United Kingdom",
            "last_message_at": null,
            "messages_last_day": 0,
        }])
    );
}
