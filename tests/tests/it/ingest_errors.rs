//! What a webhook caller sends comes back in error answers (and goes into
//! log lines) only escaped and clipped: it cannot forge a log line, colour a
//! terminal or fill a log, even before authentication.

use cloudsms_tests::{Mode, TestApp, both_modes};

/// A name that would start a forged log line in red.
const FORGED: &str = "x\nINFO forged line \u{1b}[31mred";

fn form_escape(raw: &str) -> String {
    form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

/// The `error` of a JSON error answer, checked for raw control characters
/// and length.
async fn error_text(resp: reqwest::Response, status: u16) -> String {
    assert_eq!(resp.status(), status);
    let body: serde_json::Value = resp.json().await.unwrap();
    let error = body["error"].as_str().unwrap().to_owned();
    assert!(
        !error.chars().any(char::is_control),
        "raw control character in {error:?}"
    );
    assert!(error.chars().count() < 200, "not clipped: {error:?}");
    error
}

async fn attacker_text_in_errors_is_escaped_and_clipped(mode: Mode) {
    let app = TestApp::spawn_with_config(
        mode,
        "[ingest.providers.vonage]\nsignature_secret = \"test-vonage-secret\"\n",
    )
    .await;

    // Vonage, before any signature check: a repeated parameter is named.
    let name = form_escape(FORGED);
    let resp = app
        .client
        .get(format!(
            "{}/webhooks/vonage?{name}=1&{name}=2",
            app.ingest_url
        ))
        .send()
        .await
        .unwrap();
    let error = error_text(resp, 400).await;
    assert!(
        error.contains("x\\nINFO forged line \\u{1b}[31mred"),
        "{error}"
    );
    let long = "n".repeat(1000);
    let resp = app
        .client
        .get(format!(
            "{}/webhooks/vonage?{long}=1&{long}=2",
            app.ingest_url
        ))
        .send()
        .await
        .unwrap();
    let error = error_text(resp, 400).await;
    assert!(error.contains('…'), "{error}");

    // Our webhook: the JSON parser quotes an unknown member's name.
    let body = serde_json::json!({
        "to": "+447700900501", "from": "Bank", "body": "x", "id": "y", FORGED: 1,
    })
    .to_string();
    let error = error_text(app.post(&app.signed(&body)).await, 400).await;
    assert!(
        error.starts_with("invalid JSON body: unknown field"),
        "{error}"
    );
    assert!(error.contains("x\\nINFO forged"), "{error}");
    let body = serde_json::json!({
        "to": "+447700900501", "from": "Bank", "body": "x", "id": "y", long.clone(): 1,
    })
    .to_string();
    let error = error_text(app.post(&app.signed(&body)).await, 400).await;
    assert!(error.contains('…'), "{error}");

    // A header that is only echoed: clipped.
    let resp = app
        .client
        .post(format!("{}/webhooks/generic", app.ingest_url))
        .header("content-type", format!("text/{long}"))
        .body("{}")
        .send()
        .await
        .unwrap();
    let error = error_text(resp, 415).await;
    assert!(error.contains('…'), "{error}");
    app.stop().await;
}
both_modes!(attacker_text_in_errors_is_escaped_and_clipped);
