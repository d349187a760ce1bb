//! Findings of an attack on a running site, each kept fixed: forwarded
//! headers believed only from trusted proxies, host names that are not the
//! site's never reflected, crash reports budgeted per network and site,
//! private pages never cached, operator sessions that are random, expire and
//! are revoked at a logout that cannot be forged.

use cloudsms_tests::{Mode, TestApp, both_modes, csrf_token, no_redirects, send, text};
use reqwest::StatusCode;
use sha2::Digest;

const NUMBER: &str = "+447700900888";

/// The gate on for the JSON API: per network a burst of 2, visitors unlimited.
const API_GATE: &str = "[gateway.gate]\nenabled = true\ncaptcha_url = \"\"\n\
                        visitor = { per_minute = 600, burst = 600 }\n\
                        network = { per_minute = 1, burst = 2 }\n";

async fn api(app: &TestApp, forwarded_for: &str) -> StatusCode {
    send(
        app.gateway_get("/api/v1/numbers")
            .header("x-forwarded-for", forwarded_for),
    )
    .await
    .status()
}

/// Six API requests, the `i`th with `X-Forwarded-For: forwarded(i)`:
/// asserts that the network's burst (2, so 3 requests) was counted for all
/// of them, whatever they claimed.
async fn six_requests_count_as_one_network(app: &TestApp, forwarded: impl Fn(usize) -> String) {
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(api(app, &forwarded(i)).await);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        3,
        "{statuses:?}"
    );
}

async fn forwarded_for_is_ignored_without_trusted_proxies(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, API_GATE).await;
    // Invented addresses do not make new networks: the peer's is counted.
    six_requests_count_as_one_network(&app, |i| format!("203.0.{i}.1")).await;
    app.stop().await;
}
both_modes!(forwarded_for_is_ignored_without_trusted_proxies);

async fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client(mode: Mode) {
    let app = TestApp::spawn_with_config(
        mode,
        &format!("[gateway]\ntrusted_proxies = [\"127.0.0.1\"]\n{API_GATE}"),
    )
    .await;
    // The client writes anything leftmost; the proxy appends its peer.
    six_requests_count_as_one_network(&app, |i| format!("10.{i}.0.1, 198.51.100.7")).await;
    // Another client behind the same proxy has its own budget.
    assert_eq!(api(&app, "203.0.113.5").await, StatusCode::OK);
    app.stop().await;
}
both_modes!(behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client);

async fn a_forged_loopback_hop_does_not_make_a_verified_crawler(mode: Mode) {
    let app = TestApp::spawn_with_config(
        mode,
        "[gateway]\ntrusted_proxies = [\"127.0.0.1\"]\n\
         [gateway.gate]\nenabled = true\ncaptcha_url = \"\"\n\
         crawlers = [{ name = \"LocalBot\", user_agent = \"LocalBot\", domains = [\"localhost\"] }]\n",
    )
    .await;
    app.add_number(NUMBER).await;
    // 127.0.0.1 verifies as localhost, but here it is the client's own claim.
    let forged = send(
        app.gateway_get(&format!("/numbers/{NUMBER}"))
            .header("user-agent", "Mozilla/5.0 (compatible; LocalBot/1.0)")
            .header("accept-language", "en")
            .header("x-forwarded-for", "127.0.0.1, 198.51.100.7"),
    )
    .await;
    assert_eq!(forged.status(), StatusCode::TOO_MANY_REQUESTS);
    app.stop().await;
}
both_modes!(a_forged_loopback_hop_does_not_make_a_verified_crawler);

async fn host_names_are_not_reflected_unless_trusted(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let get = |path: String, headers: Vec<(&'static str, &'static str)>| {
        let mut request = app.gateway_get(&path);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        text(request)
    };
    for path in [
        format!("/numbers/{NUMBER}"),
        "/robots.txt".into(),
        "/sitemap.xml".into(),
    ] {
        let body = get(path.clone(), vec![("x-forwarded-host", "evil.example")]).await;
        assert!(!body.contains("evil.example"), "{path}: {body}");
        let body = get(path.clone(), vec![("host", "evil.example/x")]).await;
        assert!(!body.contains("evil.example"), "{path}: {body}");
    }
    app.stop().await;

    // Behind a trusted proxy its X-Forwarded-Host is the site's host.
    let app =
        TestApp::spawn_with_config(mode, "[gateway]\ntrusted_proxies = [\"127.0.0.1\"]\n").await;
    let robots = text(
        app.gateway_get("/robots.txt")
            .header("x-forwarded-host", "sms.example")
            .header("x-forwarded-proto", "https"),
    )
    .await;
    assert!(
        robots.contains("https://sms.example/sitemap.xml"),
        "{robots}"
    );
    app.stop().await;

    // With gateway.public_url, nothing the client sends matters.
    let app = TestApp::spawn_with_config(
        mode,
        "[gateway]\npublic_url = \"https://sms.example\"\ntrusted_proxies = [\"127.0.0.1\"]\n",
    )
    .await;
    let robots = text(
        app.gateway_get("/robots.txt")
            .header("x-forwarded-host", "evil.example"),
    )
    .await;
    assert!(
        robots.contains("https://sms.example/sitemap.xml"),
        "{robots}"
    );
    assert!(!robots.contains("evil"), "{robots}");
    app.stop().await;
}
both_modes!(host_names_are_not_reflected_unless_trusted);

async fn crash_reports_are_budgeted_per_network_not_per_fresh_id(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let mut accepted = 0;
    for i in 0..300 {
        // No cookie: every report would get a fresh visitor id.
        let body = format!(
            "{{\"message\":\"boom {i}\",\"stack\":\"{}\"}}",
            "x".repeat(4000)
        );
        let status = send(
            app.client
                .post(format!("{}/api/v1/crash", app.gateway_url))
                .header("content-type", "application/json")
                .body(body),
        )
        .await
        .status();
        match status {
            StatusCode::NO_CONTENT => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        (1..=21).contains(&accepted),
        "{accepted} of 300 reports from one network accepted"
    );
    app.stop().await;
}
both_modes!(crash_reports_are_budgeted_per_network_not_per_fresh_id);

/// A crash report from `forwarded_for` (behind the trusted proxy), with the
/// visitor cookie `visitor` when given: its status.
async fn crash_from(app: &TestApp, forwarded_for: &str, visitor: Option<&str>) -> StatusCode {
    let mut request = app
        .client
        .post(format!("{}/api/v1/crash", app.gateway_url))
        .header("content-type", "application/json")
        .header("x-forwarded-for", forwarded_for)
        .body("{\"message\":\"boom\"}");
    if let Some(visitor) = visitor {
        request = request.header("cookie", format!("{}={visitor}", gateway::VISITOR_COOKIE));
    }
    send(request).await.status()
}

async fn crash_reports_are_budgeted_per_returning_visitor_and_for_the_site(mode: Mode) {
    let app =
        TestApp::spawn_with_config(mode, "[gateway]\ntrusted_proxies = [\"127.0.0.1\"]\n").await;
    // A returning visitor has 11 (burst 10) of its network's 21.
    let visitor = "ab".repeat(16);
    let mut accepted = 0;
    for _ in 0..15 {
        if crash_from(&app, "198.51.100.7", Some(&visitor)).await == StatusCode::NO_CONTENT {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 11, "a returning visitor's budget");
    assert_eq!(
        crash_from(&app, "198.51.100.8", Some(&"cd".repeat(16))).await,
        StatusCode::NO_CONTENT,
        "another visitor of the network still has room"
    );
    // From ever new networks, the site's budget (burst 120) still holds.
    let mut accepted = 0;
    for i in 0..200u32 {
        let address = format!("10.{}.{}.1", i / 256, i % 256);
        if crash_from(&app, &address, None).await == StatusCode::NO_CONTENT {
            accepted += 1;
        }
    }
    assert!(
        (100..=121).contains(&accepted),
        "{accepted} of 200 reports from 200 networks accepted"
    );
    app.stop().await;
}
both_modes!(crash_reports_are_budgeted_per_returning_visitor_and_for_the_site);

async fn my_data_is_never_cached(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let response = send(app.visitor_get("/my-data", &"ab".repeat(16))).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    app.stop().await;
}
both_modes!(my_data_is_never_cached);

const TOKEN: &str = "operator-token-0123456789abcdef";

/// Logs in through the form; the session cookie's value.
async fn login(app: &TestApp) -> String {
    let response = send(
        no_redirects()
            .post(format!("{}/admin/stats", app.gateway_url))
            .form(&[("token", TOKEN)]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let pair = cookie.split(';').next().unwrap();
    pair.strip_prefix("cloudsms_admin=").unwrap().to_owned()
}

/// `/admin/stats` with the session: (status, body). With no statistics
/// service configured the operator sees a 503 page; a stranger the 401 login.
async fn stats(app: &TestApp, session: &str) -> (StatusCode, String) {
    let response = send(
        app.gateway_get("/admin/stats")
            .header("cookie", format!("cloudsms_admin={session}")),
    )
    .await;
    (response.status(), response.text().await.unwrap())
}

async fn logout(app: &TestApp, session: &str, csrf: &str, origin: Option<&str>) -> StatusCode {
    let mut request = no_redirects()
        .post(format!("{}/admin/stats", app.gateway_url))
        .header("cookie", format!("cloudsms_admin={session}"))
        .form(&[("logout", "1"), ("csrf", csrf)]);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    send(request).await.status()
}

async fn operator_sessions_are_random_expire_and_end_at_a_real_logout(mode: Mode) {
    let app = TestApp::spawn_with_config(
        mode,
        &format!("[gateway]\nadmin_token = \"{TOKEN}\"\nretention_url = \"\"\n"),
    )
    .await;
    let session = login(&app).await;
    assert_ne!(session, login(&app).await, "each login is a new session");
    let (status, page) = stats(&app, &session).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
    let csrf = csrf_token(&page);

    // Another site cannot log the operator out, nor can a form without the token.
    let own = app.gateway_url.clone();
    assert_eq!(
        logout(&app, &session, &csrf, Some("https://evil.example")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        logout(&app, &session, "", Some(&own)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        stats(&app, &session).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // The real logout ends the session on the server: the cookie is worthless.
    assert_eq!(
        logout(&app, &session, &csrf, Some(&own)).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(stats(&app, &session).await.0, StatusCode::UNAUTHORIZED);

    // A session ends 12 hours after its login, however busy.
    let session = login(&app).await;
    let key = format!(
        "admin:session:{}",
        hex::encode(sha2::Sha256::digest(session.as_bytes()))
    );
    let started = chrono::Utc::now().timestamp() - 13 * 3600;
    app.infra
        .cache
        .put(
            &key,
            &started.to_string(),
            std::time::Duration::from_secs(600),
        )
        .await
        .unwrap();
    assert_eq!(stats(&app, &session).await.0, StatusCode::UNAUTHORIZED);
    app.stop().await;
}
both_modes!(operator_sessions_are_random_expire_and_end_at_a_real_logout);
