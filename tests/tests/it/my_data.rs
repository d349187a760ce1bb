//! `/my-data` in the gateway, backed by a real log-retention: the summary,
//! export, delete with CSRF protection, and a fresh identifier afterwards.

use std::time::Duration;

use cloudsms_tests::{Mode, TestApp, both_modes, content_type, csrf_token, send, text, wait_until};
use proto::captcha::v1::captcha_service_client::CaptchaServiceClient;
use proto::captcha::v1::{ForgetVisitorRequest, IssueChallengeRequest};
use tokio::net::TcpListener;

const COOKIE: &str = gateway::VISITOR_COOKIE;

async fn page(app: &TestApp, visitor: &str) -> String {
    text(app.visitor_get("/my-data", visitor)).await
}

async fn visitors_export_and_delete_their_own_data(mode: Mode) {
    // The gate on (bursts no test reaches; a slow rate keeps its counters
    // alive for minutes), talking to a real
    // captcha-verification: deleting the data makes both forget the id.
    let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let captcha_url = format!("http://{}", grpc.local_addr().unwrap());
    let (app, _, _, stop) = cloudsms_tests::spawn_with_retention(
        mode,
        &format!(
            "[gateway.gate]\nenabled = true\ncaptcha_url = \"{captcha_url}\"\n\
             challenge_automated = false\n\
             visitor = {{ per_minute = 1, burst = 1000 }}\n\
             network = {{ per_minute = 1, burst = 1000 }}\n\
             [captcha]\nhmac_key = \"test-captcha-hmac-key-0123456789\"\n"
        ),
        true,
    )
    .await;
    tokio::spawn(captcha_verification::run(
        app.infra.with_store(()),
        captcha_verification::Listeners {
            http: TcpListener::bind("127.0.0.1:0").await.unwrap(),
            grpc,
        },
        stop.clone(),
    ));
    let mut captcha = CaptchaServiceClient::connect(captcha_url).await.unwrap();
    let visitor = "00112233445566778899aabbccddeeff";
    let other = "ffeeddccbbaa99887766554433221100";
    for (who, path) in [
        (visitor, "/latest"),
        (visitor, "/privacy"),
        (other, "/latest"),
    ] {
        let resp = send(app.visitor_get(path, who)).await;
        assert_eq!(resp.status(), 200);
    }
    // The summary appears once log-retention stored the page views.
    let html = wait_until(
        "the summary to show 2 requests",
        Duration::from_secs(20),
        async || {
            let html = page(&app, visitor).await;
            if html.contains("<td>Server log (page requests)</td><td>2</td>") {
                Ok(html)
            } else {
                Err(format!("\n{html}"))
            }
        },
    )
    .await;
    assert!(html.contains(visitor));

    let export = send(app.visitor_get("/my-data/export?format=json", visitor)).await;
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
    let csv = send(app.visitor_get("/my-data/export?format=csv", visitor)).await;
    assert!(content_type(csv.headers()).starts_with("text/csv"));
    let no_cookie = send(app.gateway_get("/my-data/export")).await;
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
        post(csrf_token(&page(&app, other).await), None)
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        post(csrf_token(&html), Some("https://evil.example"))
            .await
            .unwrap()
            .status(),
        403
    );

    // The gate's page-view rate (the pages above) and the captcha's
    // challenge count under the id (Redis in the distributed mode) go too.
    captcha
        .issue_challenge(IssueChallengeRequest {
            site_key: "cloudsms-gate".into(),
            visitor_id: visitor.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let deleted = post(csrf_token(&html), Some(&app.gateway_url))
        .await
        .unwrap();
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
        app.infra
            .cache
            .forget(&gateway::visitor_keys(visitor))
            .await
            .unwrap(),
        0,
        "no gateway key left under the deleted id"
    );
    let left = captcha
        .forget_visitor(ForgetVisitorRequest {
            visitor_id: visitor.into(),
        })
        .await
        .unwrap();
    assert_eq!(left.into_inner().deleted, 0, "no captcha key left");

    // A second delete finds nothing; export is empty; the other visitor is untouched.
    let again = post(csrf_token(&html), None)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        again.contains("<td>Server log (page requests)</td><td>0</td>"),
        "{again}"
    );
    let empty = text(app.visitor_get("/my-data/export?format=json", visitor)).await;
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
