//! The server log the privacy policy promises: every page view becomes a
//! `RequestLogged` on the LOGS stream, with the visitor's identifier and only
//! the coarse facts the policy lists; page errors arrive as `CrashReported`.

use std::time::Duration;

use cloudsms_tests::{Mode, TestApp, both_modes};
use proto::events::v1::{CrashReported, DeviceClass, RequestLogged, RequestsLogged};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn collect<E: bus::Event + Clone>(
    app: &TestApp,
    durable: &str,
) -> (mpsc::UnboundedReceiver<E>, CancellationToken) {
    let (tx, rx) = mpsc::unbounded_channel();
    let stop = CancellationToken::new();
    let bus = app.infra.bus.clone();
    let durable = durable.to_owned();
    let token = stop.clone();
    tokio::spawn(async move {
        let _ = bus
            .run_consumer::<E, _, _>(&durable, token, move |event, _| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(event);
                    Ok(())
                }
            })
            .await;
    });
    (rx, stop)
}

/// Every `RequestLogged` of the gateways' `RequestsLogged` batches.
fn collect_requests(
    app: &TestApp,
    durable: &str,
) -> (mpsc::UnboundedReceiver<RequestLogged>, CancellationToken) {
    let (mut batches, stop) = collect::<RequestsLogged>(app, durable);
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(batch) = batches.recv().await {
            for request in batch.requests {
                let _ = tx.send(request);
            }
        }
    });
    (rx, stop)
}

async fn next_matching<E>(
    rx: &mut mpsc::UnboundedReceiver<E>,
    what: &str,
    want: impl Fn(&E) -> bool,
) -> E {
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let event = rx.recv().await.expect("consumer running");
            if want(&event) {
                return event;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} within 15 s"))
}

async fn page_views_are_logged_with_the_visitor_id(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (mut logs, stop) = collect_requests(&app, "test-request-log");
    let _ = app.get("/healthz").await;
    let resp = app
        .client
        .get(format!("{}/latest?x=1", app.gateway_url))
        .header("user-agent", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36")
        .header("accept-language", "zh-CN,zh;q=0.9")
        .header("referer", "https://www.google.com/search?q=receive+sms+online")
        .send()
        .await
        .unwrap();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    let visitor = cookie
        .split(';')
        .next()
        .unwrap()
        .split('=')
        .nth(1)
        .unwrap()
        .to_owned();
    let event = next_matching(&mut logs, "request log of /latest", |e| e.path == "/latest").await;
    assert_eq!(
        event.visitor_id, visitor,
        "the new cookie's id is logged with the first request"
    );
    assert_eq!(event.method, "GET");
    assert_eq!(event.status, 200);
    assert_eq!(event.ip, "127.0.0.1");
    assert_eq!(
        event.referrer, "https://www.google.com",
        "only the referring site"
    );
    assert_eq!(event.browser_family, "Chrome");
    assert_eq!(event.browser_version, "131");
    assert_eq!(event.os_family, "Android");
    assert_eq!(event.device_class, i32::from(DeviceClass::Mobile));
    assert_eq!(event.language, "zh-CN");
    assert!(!event.path.contains('?'), "no query strings in the log");

    // A returning visitor is logged under the same id; health checks are not logged.
    let _ = app
        .client
        .get(format!("{}/nowhere", app.gateway_url))
        .header("cookie", format!("{}={visitor}", gateway::VISITOR_COOKIE))
        .send()
        .await
        .unwrap();
    let again = next_matching(&mut logs, "request log of /nowhere", |e| {
        e.path == "/nowhere"
    })
    .await;
    assert_eq!(again.visitor_id, visitor);
    assert_eq!(again.status, 404);
    while let Ok(event) = logs.try_recv() {
        assert_ne!(event.path, "/healthz");
    }
    stop.cancel();
    app.stop().await;
}
both_modes!(page_views_are_logged_with_the_visitor_id);

async fn crash_beacons_are_capped_and_rate_limited(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (mut crashes, stop) = collect::<CrashReported>(&app, "test-crash-log");
    let visitor = "0123456789abcdef0123456789abcdef";
    let post = |body: String| {
        app.client
            .post(format!("{}/api/v1/crash", app.gateway_url))
            .header("content-type", "application/json")
            .header("cookie", format!("{}={visitor}", gateway::VISITOR_COOKIE))
            .body(body)
            .send()
    };
    let report = serde_json::json!({
        "message": "TypeError: x is undefined", "source": "/static/app.js", "line": 12,
        "column": 5, "stack": "at f (app.js:12:5)", "page": "/numbers/+447700900123"
    });
    assert_eq!(post(report.to_string()).await.unwrap().status(), 204);
    let event = next_matching(&mut crashes, "crash report", |_| true).await;
    assert_eq!(event.visitor_id, visitor);
    assert_eq!(event.message, "TypeError: x is undefined");
    assert_eq!(event.line, 12);

    assert_eq!(post("x".repeat(9000)).await.unwrap().status(), 413);
    assert_eq!(post("{not json".into()).await.unwrap().status(), 400);
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(post(report.to_string()).await.unwrap().status().as_u16());
    }
    assert!(statuses.contains(&429), "the budget runs out: {statuses:?}");
    stop.cancel();
    app.stop().await;
}
both_modes!(crash_beacons_are_capped_and_rate_limited);
