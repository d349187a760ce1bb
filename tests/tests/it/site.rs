//! The visitor site over HTTP: live updates, stable paging, the JSON API,
//! the latest feed, security headers and the visitor cookie.

use std::time::Duration;

use cloudsms_tests::{Mode, TestApp, both_modes};
use futures::StreamExt;

const NUMBER: &str = "+447700900123";
const OTHER: &str = "+12025550177";

fn sms_at(to: &str, body: &str, id: &str, received_unix: i64) -> String {
    serde_json::json!({
        "to": to, "from": "Bank", "body": body, "id": id, "received_at": received_unix
    })
    .to_string()
}

async fn new_messages_arrive_on_the_open_event_stream(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let resp = app
        .client
        .get(format!("{}/numbers/{NUMBER}/events", app.gateway_url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut stream = resp.bytes_stream();
    // The subscription is live once the response started; give the bus a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let hostile = "<img src=x onerror=alert(1)> code 314159";
    assert_eq!(
        app.send_sms(NUMBER, "Telegram", hostile, "live-1")
            .await
            .status(),
        202
    );
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(chunk) = stream.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if seen.contains("event: message") && seen.contains("314159") {
                return;
            }
        }
    })
    .await;
    assert!(found.is_ok(), "no live event in 15 s; got {seen:?}");
    let data = seen
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .expect("a data line");
    let event: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(
        event["body"], hostile,
        "JSON carries the text; the page inserts it as text"
    );
    assert_eq!(event["code"], "314159");
    assert_eq!(event["service"], "Telegram");
    app.stop().await;
}
both_modes!(new_messages_arrive_on_the_open_event_stream);

async fn older_pages_are_stable_while_new_messages_arrive(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, "[gateway]\npage_size = 3\n").await;
    app.add_number(NUMBER).await;
    let base = 1_780_000_000;
    for i in 1..=7 {
        let hook = app.signed(&sms_at(
            NUMBER,
            &format!("message {i:02}"),
            &format!("p-{i}"),
            base + i,
        ));
        assert_eq!(app.post(&hook).await.status(), 202);
    }
    app.wait_for_stored(NUMBER, 7).await;

    let api = |before: Option<String>| {
        let app = &app;
        async move {
            let mut url = format!("{}/api/v1/numbers/{NUMBER}/messages", app.gateway_url);
            if let Some(b) = before {
                url.push_str(&format!("?before={b}"));
            }
            let v: serde_json::Value = app
                .client
                .get(url)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v
        }
    };
    let bodies = |v: &serde_json::Value| -> Vec<String> {
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = api(None).await;
    assert_eq!(bodies(&first), ["message 07", "message 06", "message 05"]);
    let cursor = first["next_before"].as_str().unwrap().to_owned();

    // A new message arrives between page loads: the older pages do not shift.
    let hook = app.signed(&sms_at(NUMBER, "message 08", "p-8", base + 8));
    assert_eq!(app.post(&hook).await.status(), 202);
    app.wait_for_stored(NUMBER, 8).await;

    let second = api(Some(cursor.clone())).await;
    assert_eq!(bodies(&second), ["message 04", "message 03", "message 02"]);
    let third = api(second["next_before"].as_str().map(str::to_owned)).await;
    assert_eq!(bodies(&third), ["message 01"]);
    assert!(third["next_before"].is_null());

    // The HTML pages follow the same cursor.
    let (status, html) = app.get(&format!("/numbers/{NUMBER}?before={cursor}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("message 04") && html.contains("message 02"));
    assert!(!html.contains("message 05") && !html.contains("message 08"));
    assert!(html.contains("Newest messages"));
    let (status, _) = app.get(&format!("/numbers/{NUMBER}?before=garbage")).await;
    assert_eq!(status, 400);
    app.stop().await;
}
both_modes!(older_pages_are_stable_while_new_messages_arrive);

async fn api_and_latest_list_every_number(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    app.add_number(OTHER).await;
    assert_eq!(
        app.send_sms(
            NUMBER,
            "Google",
            "G-111222 is your Google verification code.",
            "l-1"
        )
        .await
        .status(),
        202
    );
    assert_eq!(
        app.send_sms(OTHER, "Uber", "Your Uber code is 3344", "l-2")
            .await
            .status(),
        202
    );
    app.wait_for_stored(NUMBER, 1).await;
    app.wait_for_stored(OTHER, 1).await;

    let numbers: serde_json::Value = app
        .client
        .get(format!("{}/api/v1/numbers", app.gateway_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = numbers.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let uk = list.iter().find(|n| n["e164"] == NUMBER).unwrap();
    assert_eq!(uk["country"], "GB");
    assert_eq!(uk["messages_last_day"], 1);

    let (status, html) = app.get("/latest").await;
    assert_eq!(status, 200);
    assert!(html.contains("G-111222") && html.contains("Your Uber code is 3344"));
    assert!(html.contains(&format!("/numbers/{OTHER}")));

    let resp = app
        .client
        .get(format!(
            "{}/api/v1/numbers/+19999/messages",
            app.gateway_url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert!(err["error"].is_string());
    app.stop().await;
}
both_modes!(api_and_latest_list_every_number);

async fn pages_carry_security_headers_and_a_visitor_cookie(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let resp = app
        .client
        .get(format!("{}/", app.gateway_url))
        .send()
        .await
        .unwrap();
    let headers = resp.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.contains_key("referrer-policy"));
    assert!(headers.contains_key("permissions-policy"));
    let cookie = headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with(&format!("{}=", gateway::VISITOR_COOKIE)),
        "{cookie}"
    );
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let id = cookie
        .split(';')
        .next()
        .unwrap()
        .split('=')
        .nth(1)
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 32);

    // A returning visitor keeps the id: no new cookie.
    let resp = app
        .client
        .get(format!("{}/", app.gateway_url))
        .header("cookie", format!("{}={id}", gateway::VISITOR_COOKIE))
        .send()
        .await
        .unwrap();
    assert!(!resp.headers().contains_key("set-cookie"));

    // Assets are fingerprinted and cached for a year.
    let html = resp.text().await.unwrap();
    let css = html
        .split("href=\"/static/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let asset = app
        .client
        .get(format!("{}/static/{css}", app.gateway_url))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), 200);
    assert!(
        asset.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(
        asset.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    let missing = app
        .client
        .get(format!("{}/static/site.css", app.gateway_url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    app.stop().await;
}
both_modes!(pages_carry_security_headers_and_a_visitor_cookie);
