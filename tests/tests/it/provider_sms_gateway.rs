//! SMS Gateway for Android: HMAC-signed `sms:received` webhooks reach the page
//! of the number named in `?to=`, and the app's resends are stored once.
//! Signatures come from the verification snippet of the app's documentation
//! (Python `hmac`, body followed by `X-Timestamp`).

use std::time::Duration;

use cloudsms_tests::{Mode, TestApp, both_modes, oracle};

pub(crate) const NUMBER: &str = "+61491570156";
const SECOND_SIM: &str = "+61491570157";
const SENDER: &str = "+61491570999";
pub(crate) const KEY: &str = "test-sms-gateway-signing-key";
const DEVICE: &str = "ffffffffceb0b1db0000018e937c815b";

fn config() -> String {
    format!("[ingest.providers.sms_gateway]\nsigning_key = \"{KEY}\"\n")
}

/// `X-Signature` as the app computes it.
fn sign(key: &str, timestamp: &str, body: &str) -> String {
    oracle(
        "import sys, hmac, hashlib\n\
         key, ts, payload = sys.argv[1], sys.argv[2], sys.argv[3]\n\
         print(hmac.new(key.encode(), (payload + ts).encode(), hashlib.sha256).hexdigest())",
        &[key, timestamp, body],
    )
}

/// An `sms:received` webhook as the app sends it.
pub(crate) fn received(event_id: &str, message_id: &str, text: &str, received_at: &str) -> String {
    serde_json::json!({
        "deviceId": DEVICE,
        "event": "sms:received",
        "id": event_id,
        "payload": {
            "messageId": message_id,
            "message": text,
            "phoneNumber": SENDER,
            "simNumber": 1,
            "receivedAt": received_at,
        },
        "webhookId": "LreFUt-Z3sSq0JufY9uWB",
    })
    .to_string()
}

fn now() -> String {
    chrono::Utc::now().timestamp().to_string()
}

async fn post_raw(
    app: &TestApp,
    query: &str,
    content_type: &str,
    timestamp: &str,
    signature: &str,
    body: &str,
) -> reqwest::Response {
    app.client
        .post(format!("{}/webhooks/sms-gateway{query}", app.ingest_url))
        .header("content-type", content_type)
        .header("x-timestamp", timestamp)
        .header("x-signature", signature)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

pub(crate) async fn post_signed(app: &TestApp, query: &str, body: &str) -> reqwest::Response {
    let ts = now();
    let sig = sign(KEY, &ts, body);
    post_raw(app, query, "application/json", &ts, &sig, body).await
}

/// `?to=` as an operator types it: a literal '+' (which decodes as a space).
pub(crate) fn to(number: &str) -> String {
    format!("?to={number}")
}

async fn sms_reaches_the_page_and_resends_are_stored_once(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config()).await;
    app.add_number(NUMBER).await;
    let at = "2024-06-22T15:46:11.000+07:00";
    let first = received("Ey6ECgOkVVFjz3CL48B8C", "abc123", "Your code is 550142", at);

    let resp = post_signed(&app, &to(NUMBER), &first).await;
    assert_eq!(resp.status(), 200);
    let ack: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(ack["status"], "accepted");
    assert_eq!(ack["duplicate"], false);
    app.wait_for_page(NUMBER, "Your code is 550142").await;
    let rows = app.wait_for_stored(NUMBER, 1).await;
    assert_eq!(rows[0].provider, "sms-gateway");
    assert_eq!(rows[0].sender, SENDER);
    assert!(rows[0].provider_message_id.starts_with("sgw-"));

    // The app's retry: same body, signed again later.
    assert_eq!(post_signed(&app, &to(NUMBER), &first).await.status(), 200);
    // A resend with a new event id and a new messageId, the time in UTC.
    let resend = received(
        "another-event-id",
        "def456",
        "Your code is 550142",
        "2024-06-22T08:46:11Z",
    );
    assert_eq!(post_signed(&app, &to(NUMBER), &resend).await.status(), 200);
    // The URL-encoded form of the same number is the same number.
    assert_eq!(
        post_signed(&app, "?to=%2B61491570156", &resend)
            .await
            .status(),
        200
    );
    // The same text from the same sender a second later is another SMS.
    let again = received(
        "third-event",
        "abc123",
        "Your code is 550142",
        "2024-06-22T15:46:12.000+07:00",
    );
    assert_eq!(post_signed(&app, &to(NUMBER), &again).await.status(), 200);

    let rows = app.wait_for_stored(NUMBER, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows_after = app.stored(NUMBER).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows_after.len(), 2, "resends are stored once");
    assert_ne!(
        rows_after[0].provider_message_id,
        rows_after[1].provider_message_id
    );
    let (_, html) = app.get(&format!("/numbers/{NUMBER}")).await;
    assert_eq!(html.matches("Your code is 550142").count(), 2);
    app.stop().await;
}
both_modes!(sms_reaches_the_page_and_resends_are_stored_once);

async fn forged_or_stale_requests_are_401_and_nothing_is_stored(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config()).await;
    app.add_number(NUMBER).await;
    let body = received("e1", "m1", "forged", "2024-06-22T15:46:11.000+07:00");
    let ts = now();
    let sig = sign(KEY, &ts, &body);

    // One byte of the body changed after signing.
    let tampered = body.replace("forged", "forgeD");
    let resp = post_raw(&app, &to(NUMBER), "application/json", &ts, &sig, &tampered).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 401).await,
        "signature does not match"
    );

    // Signed with another key, or with another timestamp than the header's.
    let other = sign("another-key", &ts, &body);
    let resp = post_raw(&app, &to(NUMBER), "application/json", &ts, &other, &body).await;
    assert_eq!(resp.status(), 401);
    let later = (chrono::Utc::now().timestamp() + 1).to_string();
    let resp = post_raw(&app, &to(NUMBER), "application/json", &later, &sig, &body).await;
    assert_eq!(resp.status(), 401);

    // Correctly signed, but outside the window.
    let stale = (chrono::Utc::now().timestamp() - 301).to_string();
    let stale_sig = sign(KEY, &stale, &body);
    let resp = post_raw(
        &app,
        &to(NUMBER),
        "application/json",
        &stale,
        &stale_sig,
        &body,
    )
    .await;
    assert_eq!(resp.status(), 401);

    // Unsigned.
    let resp = app
        .client
        .post(format!(
            "{}/webhooks/sms-gateway{}",
            app.ingest_url,
            to(NUMBER)
        ))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    let good = received("e2", "m2", "genuine", "2024-06-22T15:47:00.000+07:00");
    assert_eq!(post_signed(&app, &to(NUMBER), &good).await.status(), 200);
    app.wait_for_stored(NUMBER, 1).await;
    assert_eq!(app.settled_bodies(NUMBER).await, ["genuine"]);
    app.stop().await;
}
both_modes!(forged_or_stale_requests_are_401_and_nothing_is_stored);

async fn other_events_bad_input_and_other_sims_publish_nothing(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config()).await;
    app.add_number(NUMBER).await;
    app.add_number(SECOND_SIM).await;
    let at = "2024-06-22T15:46:11.000+07:00";

    for event in ["sms:sent", "sms:delivered", "system:ping"] {
        let body = serde_json::json!({
            "deviceId": DEVICE, "event": event, "id": "x", "webhookId": "w",
            "payload": { "messageId": "m", "phoneNumber": SENDER },
        })
        .to_string();
        // No `?to=` needed for events we ignore.
        let resp = post_signed(&app, "", &body).await;
        assert_eq!(resp.status(), 200, "{event}");
        let ack: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(ack["status"], "ignored");
    }

    let body = received("e1", "m1", "where to?", at);
    let resp = post_signed(&app, "", &body).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 400).await,
        "missing query parameter `to`"
    );

    let ts = now();
    let sig = sign(KEY, &ts, &body);
    let resp = post_raw(&app, &to(NUMBER), "text/plain", &ts, &sig, &body).await;
    assert_eq!(resp.status(), 415);

    let resp = post_signed(&app, &to(NUMBER), "{\"event\":").await;
    assert_eq!(resp.status(), 400);
    let mut no_text: serde_json::Value = serde_json::from_str(&body).unwrap();
    no_text["payload"]
        .as_object_mut()
        .unwrap()
        .remove("message");
    let resp = post_signed(&app, &to(NUMBER), &no_text.to_string()).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 400).await,
        "missing field `payload.message`"
    );

    // Not a number of this site.
    let resp = post_signed(&app, "?to=%2B61491570199", &body).await;
    assert_eq!(resp.status(), 422);

    // Dual SIM: this SMS arrived on SIM 1, so the SIM 2 webhook leaves it alone.
    let resp = post_signed(&app, &format!("{}&sim=2", to(SECOND_SIM)), &body).await;
    assert_eq!(resp.status(), 200);
    let ack: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(ack["status"], "ignored");
    let resp = post_signed(&app, &format!("{}&sim=1", to(NUMBER)), &body).await;
    assert_eq!(resp.status(), 200);
    app.wait_for_page(NUMBER, "where to?").await;
    assert_eq!(app.settled_bodies(NUMBER).await.len(), 1);
    assert!(app.stored(SECOND_SIM).await.is_empty());
    app.stop().await;
}
both_modes!(other_events_bad_input_and_other_sims_publish_nothing);

async fn without_a_signing_key_the_route_is_404(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let body = received("e1", "m1", "disabled", "2024-06-22T15:46:11.000+07:00");
    let resp = post_signed(&app, &to(NUMBER), &body).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 404).await,
        "provider sms-gateway is not enabled"
    );
    assert!(app.settled_bodies(NUMBER).await.is_empty());
    app.stop().await;
}
both_modes!(without_a_signing_key_the_route_is_404);
