//! Telnyx: Ed25519-signed `message.received` events reach the number page;
//! signatures come from PyNaCl with a keypair generated for each test.

use cloudsms_tests::{Mode, TestApp, both_modes, oracle};

pub(crate) const NUMBER: &str = "+12025550131";
const SENDER: &str = "+13125550177";

/// A Telnyx keypair from PyNaCl: (private seed in hex, base64 public key).
pub(crate) struct Keys {
    seed_hex: String,
    pub(crate) public_b64: String,
}

pub(crate) fn keypair() -> Keys {
    let out = oracle(
        "import base64, nacl.signing\n\
         k = nacl.signing.SigningKey.generate()\n\
         print(bytes(k).hex())\n\
         print(base64.b64encode(bytes(k.verify_key)).decode())",
        &[],
    );
    let (seed_hex, public_b64) = out.split_once('\n').unwrap();
    Keys {
        seed_hex: seed_hex.trim().to_owned(),
        public_b64: public_b64.trim().to_owned(),
    }
}

/// `telnyx-signature-ed25519` for `body` at `timestamp`, as Telnyx computes it.
fn sign(keys: &Keys, timestamp: &str, body: &str) -> String {
    oracle(
        "import sys, base64, nacl.signing\n\
         k = nacl.signing.SigningKey(bytes.fromhex(sys.argv[1]))\n\
         signed = (sys.argv[2] + '|' + sys.argv[3]).encode()\n\
         print(base64.b64encode(k.sign(signed).signature).decode())",
        &[&keys.seed_hex, timestamp, body],
    )
}

fn config(keys: &Keys) -> String {
    format!(
        "[ingest.providers.telnyx]\npublic_key = \"{}\"\n",
        keys.public_b64
    )
}

pub(crate) fn event(event_type: &str, id: &str, to: &str, text: &str) -> String {
    serde_json::json!({
        "data": {
            "event_type": event_type,
            "id": format!("ev-{id}"),
            "occurred_at": "2024-06-22T15:46:11.588+00:00",
            "payload": {
                "id": id,
                "direction": "inbound",
                "from": { "phone_number": SENDER, "carrier": "T-Mobile USA" },
                "to": [{ "phone_number": to, "status": "webhook_delivered" }],
                "text": text,
                "parts": 1,
                "received_at": "2024-06-22T15:46:11.588+00:00",
                "type": "SMS",
            },
            "record_type": "event",
        },
        "meta": { "attempt": 1, "delivered_to": "https://example.org/webhooks/telnyx" },
    })
    .to_string()
}

fn now() -> String {
    chrono::Utc::now().timestamp().to_string()
}

async fn post_raw(
    app: &TestApp,
    content_type: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &str,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}/webhooks/telnyx", app.ingest_url))
        .header("content-type", content_type)
        .body(body.to_owned());
    if let Some(ts) = timestamp {
        req = req.header("telnyx-timestamp", ts);
    }
    if let Some(sig) = signature {
        req = req.header("telnyx-signature-ed25519", sig);
    }
    req.send().await.unwrap()
}

pub(crate) async fn post_signed(app: &TestApp, keys: &Keys, body: &str) -> reqwest::Response {
    let ts = now();
    let sig = sign(keys, &ts, body);
    post_raw(app, "application/json", Some(&ts), Some(&sig), body).await
}

async fn message_received_reaches_the_page_once(mode: Mode) {
    let keys = keypair();
    let app = TestApp::spawn_with_config(mode, &config(&keys)).await;
    app.add_number(NUMBER).await;
    let id = "b0c7e8cb-6227-4c74-9f32-c7f80c30934b";
    let body = event("message.received", id, NUMBER, "Telnyx code 731904 <b>");

    let resp = post_signed(&app, &keys, &body).await;
    assert_eq!(resp.status(), 200);
    let ack: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(ack["status"], "accepted");
    assert_eq!(ack["duplicate"], false);

    let html = app.wait_for_page(NUMBER, "Telnyx code 731904").await;
    assert!(!html.contains("<b>"), "body is escaped");
    let row = app.wait_for_provider_message(NUMBER, id).await;
    assert_eq!(row.provider, "telnyx");
    assert_eq!(row.sender, SENDER);
    assert_eq!(row.body, "Telnyx code 731904 <b>");

    // Telnyx retries with the same message id (and a fresh signature).
    let resp = post_signed(&app, &keys, &body).await;
    assert_eq!(resp.status(), 200);
    // A later message proves the retry went through the pipeline before it.
    let later = event("message.received", "later-1", NUMBER, "after the retry");
    assert_eq!(post_signed(&app, &keys, &later).await.status(), 200);
    app.wait_for_provider_message(NUMBER, "later-1").await;
    assert_eq!(
        app.settled_bodies(NUMBER).await.len(),
        2,
        "the retry is stored once"
    );
    let html = app.wait_for_page(NUMBER, "after the retry").await;
    assert_eq!(html.matches("Telnyx code 731904").count(), 1);
    app.stop().await;
}
both_modes!(message_received_reaches_the_page_once);

async fn forged_or_stale_requests_are_401_and_nothing_is_stored(mode: Mode) {
    let keys = keypair();
    let app = TestApp::spawn_with_config(mode, &config(&keys)).await;
    app.add_number(NUMBER).await;
    let body = event("message.received", "forged-1", NUMBER, "forged");
    let ts = now();
    let sig = sign(&keys, &ts, &body);

    // One byte of the body changed after signing.
    let tampered = body.replace("forged\"", "forgeD\"");
    assert_ne!(tampered, body);
    let resp = post_raw(&app, "application/json", Some(&ts), Some(&sig), &tampered).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 401).await,
        "signature does not match"
    );

    // Signed by another key.
    let other = keypair();
    let resp = post_raw(
        &app,
        "application/json",
        Some(&ts),
        Some(&sign(&other, &ts, &body)),
        &body,
    )
    .await;
    assert_eq!(resp.status(), 401);

    // Correctly signed, but outside the 5-minute window.
    let stale = (chrono::Utc::now().timestamp() - 301).to_string();
    let resp = post_raw(
        &app,
        "application/json",
        Some(&stale),
        Some(&sign(&keys, &stale, &body)),
        &body,
    )
    .await;
    assert_eq!(resp.status(), 401);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert!(err["error"].as_str().unwrap().contains("allowed: 300"));

    // No signature, no timestamp.
    let resp = post_raw(&app, "application/json", Some(&ts), None, &body).await;
    assert_eq!(resp.status(), 401);
    let resp = post_raw(&app, "application/json", None, Some(&sig), &body).await;
    assert_eq!(resp.status(), 401);

    let good = event("message.received", "good-1", NUMBER, "genuine");
    assert_eq!(post_signed(&app, &keys, &good).await.status(), 200);
    app.wait_for_provider_message(NUMBER, "good-1").await;
    assert_eq!(app.settled_bodies(NUMBER).await, ["genuine"]);
    app.stop().await;
}
both_modes!(forged_or_stale_requests_are_401_and_nothing_is_stored);

async fn other_events_and_malformed_bodies_publish_nothing(mode: Mode) {
    let keys = keypair();
    let app = TestApp::spawn_with_config(mode, &config(&keys)).await;
    app.add_number(NUMBER).await;

    for event_type in ["message.sent", "message.finalized"] {
        let body = event(event_type, &format!("out-{event_type}"), NUMBER, "outbound");
        let resp = post_signed(&app, &keys, &body).await;
        assert_eq!(resp.status(), 200, "{event_type}");
        let ack: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(ack["status"], "ignored");
    }

    let body = event("message.received", "form-1", NUMBER, "as a form");
    let ts = now();
    let sig = sign(&keys, &ts, &body);
    let resp = post_raw(
        &app,
        "application/x-www-form-urlencoded",
        Some(&ts),
        Some(&sig),
        &body,
    )
    .await;
    assert_eq!(resp.status(), 415);

    let resp = post_signed(&app, &keys, "{\"data\":").await;
    assert_eq!(resp.status(), 400);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert!(err["error"].as_str().unwrap().contains("invalid JSON"));

    let mut no_text: serde_json::Value =
        serde_json::from_str(&event("message.received", "no-text", NUMBER, "")).unwrap();
    no_text["data"]["payload"]
        .as_object_mut()
        .unwrap()
        .remove("text");
    let resp = post_signed(&app, &keys, &no_text.to_string()).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 400).await,
        "missing field `data.payload.text`"
    );

    // A number that is not ours.
    let body = event("message.received", "stranger-1", "+12025550199", "not ours");
    assert_eq!(post_signed(&app, &keys, &body).await.status(), 422);

    // The pipeline is alive: a real message after all of the above is the only one stored.
    let good = event("message.received", "good-2", NUMBER, "the only one");
    assert_eq!(post_signed(&app, &keys, &good).await.status(), 200);
    app.wait_for_provider_message(NUMBER, "good-2").await;
    assert_eq!(app.settled_bodies(NUMBER).await.len(), 1);
    app.stop().await;
}
both_modes!(other_events_and_malformed_bodies_publish_nothing);

async fn without_a_public_key_the_route_is_404(mode: Mode) {
    let keys = keypair();
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let body = event("message.received", "off-1", NUMBER, "disabled");
    let resp = post_signed(&app, &keys, &body).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 404).await,
        "provider telnyx is not enabled"
    );
    assert!(app.settled_bodies(NUMBER).await.is_empty());
    app.stop().await;
}
both_modes!(without_a_public_key_the_route_is_404);
