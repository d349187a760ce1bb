//! `/my-data` in the gateway, backed by a real log-retention: the summary,
//! export, delete with CSRF protection, and a fresh identifier afterwards.

use std::time::Duration;

use cloudsms_tests::{Mode, TestApp, both_modes};

const COOKIE: &str = gateway::VISITOR_COOKIE;

async fn page(app: &TestApp, visitor: &str) -> String {
    app.client
        .get(format!("{}/my-data", app.gateway_url))
        .header("cookie", format!("{COOKIE}={visitor}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn csrf(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned()
}

async fn visitors_export_and_delete_their_own_data(mode: Mode) {
    let (app, _, _, stop) = cloudsms_tests::spawn_with_retention(mode, "", true).await;
    let visitor = "00112233445566778899aabbccddeeff";
    let other = "ffeeddccbbaa99887766554433221100";
    for (who, path) in [
        (visitor, "/latest"),
        (visitor, "/privacy"),
        (other, "/latest"),
    ] {
        let resp = app
            .client
            .get(format!("{}{path}", app.gateway_url))
            .header("cookie", format!("{COOKIE}={who}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    // The summary appears once log-retention stored the page views.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let html = loop {
        let html = page(&app, visitor).await;
        if html.contains("<td>Server log (page requests)</td><td>2</td>") {
            break html;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "summary never showed 2 requests:\n{html}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(html.contains(visitor));

    let export = app
        .client
        .get(format!("{}/my-data/export?format=json", app.gateway_url))
        .header("cookie", format!("{COOKIE}={visitor}"))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let body = export.text().await.unwrap();
    assert!(
        body.contains("/latest") && body.contains("/privacy"),
        "{body}"
    );
    assert!(!body.contains(other), "only this browser's rows");
    let csv = app
        .client
        .get(format!("{}/my-data/export?format=csv", app.gateway_url))
        .header("cookie", format!("{COOKIE}={visitor}"))
        .send()
        .await
        .unwrap();
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let no_cookie = app
        .client
        .get(format!("{}/my-data/export", app.gateway_url))
        .send()
        .await
        .unwrap();
    assert_eq!(no_cookie.status(), 403);

    // CSRF: no token, a wrong token, or another site's Origin are refused.
    let post = |token: String, origin: Option<&str>| {
        let mut req = app
            .client
            .post(format!("{}/my-data/delete", app.gateway_url))
            .header("cookie", format!("{COOKIE}={visitor}"))
            .form(&[("csrf", token)]);
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        req.send()
    };
    assert_eq!(post(String::new(), None).await.unwrap().status(), 403);
    assert_eq!(
        post(csrf(&page(&app, other).await), None)
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        post(csrf(&html), Some("https://evil.example"))
            .await
            .unwrap()
            .status(),
        403
    );

    // The gate's and the captcha's rate counters under the id (Redis in the
    // distributed mode) go too.
    let cache = &app.infra.cache;
    let minute = Duration::from_secs(60);
    assert!(
        cache
            .throttle(&cache::gate_visitor_key(visitor), minute, 5)
            .await
            .unwrap()
            .is_none()
    );
    cache
        .incr_window(&cache::captcha_visitor_key(visitor), minute)
        .await
        .unwrap();
    let deleted = post(csrf(&html), Some(&app.gateway_url)).await.unwrap();
    assert_eq!(deleted.status(), 200);
    let rotated = deleted.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(rotated.starts_with(&format!("{COOKIE}=")) && !rotated.contains(visitor));
    let result = deleted.text().await.unwrap();
    assert!(
        result.contains("<td>Server log (page requests)</td><td>2</td>"),
        "{result}"
    );

    assert!(
        result.contains("<td>Rate counters (crawler protection)</td><td>2</td>"),
        "{result}"
    );
    assert_eq!(
        cache.forget(&cache::visitor_keys(visitor)).await.unwrap(),
        0,
        "no cache key left under the deleted id"
    );

    // A second delete finds nothing; export is empty; the other visitor is untouched.
    let again = post(csrf(&html), None).await.unwrap().text().await.unwrap();
    assert!(
        again.contains("<td>Server log (page requests)</td><td>0</td>"),
        "{again}"
    );
    let empty = app
        .client
        .get(format!("{}/my-data/export?format=json", app.gateway_url))
        .header("cookie", format!("{COOKIE}={visitor}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!empty.contains("/latest"), "{empty}");
    assert!(
        page(&app, other)
            .await
            .contains("<td>Server log (page requests)</td><td>")
    );
    stop.cancel();
    app.stop().await;
}
both_modes!(visitors_export_and_delete_their_own_data);
