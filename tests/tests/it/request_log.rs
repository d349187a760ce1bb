//! The server log the privacy policy promises: every page view becomes a
//! `RequestLogged` on the LOGS stream, with the visitor's identifier and only
//! the coarse facts the policy lists; page errors arrive as `CrashReported`.

use std::time::Duration;

use cloudsms_tests::{Mode, TestApp, both_modes};
use proto::events::v1::{CrashReported, DeviceClass, RequestLogged, RequestsLogged, RouteKind};
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
    assert_eq!(
        (
            event.route.as_str(),
            event.route_kind(),
            event.number.as_str()
        ),
        ("/latest", RouteKind::Page, "")
    );

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
    assert_eq!(
        (again.route.as_str(), again.route_kind()),
        ("", RouteKind::NotFound)
    );
    // A number's route names its number, however the path spells it.
    let _ = app.get("/numbers/%2B447700900123").await;
    let number = next_matching(&mut logs, "request log of a number", |e| {
        e.path == "/numbers/%2B447700900123"
    })
    .await;
    assert_eq!(
        (
            number.route.as_str(),
            number.route_kind(),
            number.number.as_str()
        ),
        ("/numbers/{e164}", RouteKind::NumberPage, "+447700900123")
    );
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

fn encode<E: bus::Event>(event: &E) -> bytes::Bytes {
    event.encode_to_vec().into()
}

/// log-retention stores a gateway's batch with `COPY` on Postgres (staging
/// tables, then `INSERT ... SELECT ... ON CONFLICT DO NOTHING`) and with
/// multi-row `INSERT`s on SQLite: either way a redelivered batch, a repeat
/// inside a batch and a batch overlapping a stored one are stored once,
/// statistics rows included; text comes back byte for byte; and rows
/// deleted after their commit do not come back with the next batch (the
/// staging tables are emptied at every commit).
async fn a_redelivered_log_batch_is_stored_once(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let store = app.log_store().await;
    let now = chrono::Utc::now();
    let visitor = format!("copy-{}", uuid::Uuid::new_v4().simple());
    let request = |i: usize| {
        // Two requests in three are pages (statistics rows), one an API call.
        let number = format!("+4477009{:05}", i % 100);
        let (path, route, kind, number) = if i.is_multiple_of(3) {
            (
                "/api/v1/numbers".into(),
                "/api/v1/numbers",
                RouteKind::Api,
                String::new(),
            )
        } else {
            (
                format!("/numbers/{number}"),
                "/numbers/{e164}",
                RouteKind::NumberPage,
                number,
            )
        };
        RequestLogged {
            event_id: uuid::Uuid::now_v7().to_string(),
            ts: Some(proto::timestamp_from_unix_millis(
                now.timestamp_millis() - i64::try_from(i).unwrap(),
            )),
            visitor_id: visitor.clone(),
            ip: "203.0.113.7".into(),
            method: "GET".into(),
            path,
            status: 200,
            latency_us: 1_234,
            referrer: "https://www.example.org".into(),
            browser_family: "Firefox".into(),
            browser_version: "133".into(),
            os_family: "Linux".into(),
            device_class: DeviceClass::Desktop.into(),
            language: "en".into(),
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            utm_source: "newsletter".into(),
            host: "sms.example".into(),
            route: route.into(),
            route_kind: kind.into(),
            number,
        }
    };
    let messages = |requests: Vec<RequestLogged>, delivered: i64| {
        vec![bus::BatchMessage {
            subject: "logs.requests".into(),
            payload: encode(&RequestsLogged {
                batch_id: uuid::Uuid::now_v7().to_string(),
                requests,
            }),
            delivered,
            span: tracing::Span::none(),
        }]
    };
    let stored = |outcomes: Vec<Result<(), bus::HandlerError>>| {
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    };
    let visitor_rows = || async {
        store
            .summarize(&visitor)
            .await
            .unwrap()
            .iter()
            .find(|k| k.kind == log_retention::Kind::Request)
            .unwrap()
            .rows
    };
    let handle = |batch| log_retention::consumer::handle_batch(&store, batch, now, 183);

    let mut first: Vec<RequestLogged> = (0..600).map(request).collect();
    // Text that a textual COPY would have to escape.
    first[2].browser_family = "Odd\tName\\N\r\n\"é\" 😀".into();
    // A repeat inside the batch.
    first.push(first[1].clone());
    stored(handle(messages(first.clone(), 1)).await);
    assert_eq!(visitor_rows().await, 600);
    assert_eq!(store.stat_rows().await.unwrap(), 400, "one per page view");

    // Redelivered (a crash before the ack): nothing new.
    stored(handle(messages(first.clone(), 2)).await);
    assert_eq!(visitor_rows().await, 600);
    assert_eq!(store.stat_rows().await.unwrap(), 400);

    // A batch overlapping the stored one: only the new events are added.
    let mut overlap: Vec<RequestLogged> = first[..100].to_vec();
    overlap.extend((600..630).map(request));
    stored(handle(messages(overlap, 1)).await);
    assert_eq!(visitor_rows().await, 630);
    assert_eq!(store.stat_rows().await.unwrap(), 420);

    let odd = store
        .export_page(log_retention::Kind::Request, &visitor, None, 1_000)
        .await
        .unwrap()
        .into_iter()
        .find(|(cursor, _)| cursor.1 == first[2].event_id)
        .unwrap()
        .1;
    assert_eq!(odd["browser_family"], "Odd\tName\\N\r\n\"é\" 😀");
    assert_eq!(odd["status"], 200);
    assert_eq!(odd["latency_us"], 1_234);
    assert_eq!(odd["device_class"], "desktop");

    // Deleted rows stay deleted when the next batches go through the same
    // connections: nothing of the earlier batches is left in staging.
    store.delete_visitor(&visitor).await.unwrap();
    assert_eq!(visitor_rows().await, 0);
    let last = request(700);
    for delivered in 1..=3 {
        stored(handle(messages(vec![last.clone()], delivered)).await);
    }
    assert_eq!(visitor_rows().await, 1);
    assert_eq!(store.stat_rows().await.unwrap(), 421);
    app.stop().await;
}
both_modes!(a_redelivered_log_batch_is_stored_once);
