//! httpSMS: `message.phone.received` CloudEvents with an HS256 bearer token
//! reach the page of `data.owner`; tokens come from pyjwt, with the claims
//! httpSMS sets (`aud` = webhook URL, `iat`, `nbf` 10 minutes back, `exp` 10
//! minutes ahead).

use cloudsms_tests::{Mode, TestApp, both_modes, oracle};

pub(crate) const NUMBER: &str = "+33639981201";
const SENDER: &str = "+33639981299";
pub(crate) const KEY: &str = "test-httpsms-signing-key-for-cloudsms";

fn config() -> String {
    format!("[ingest.providers.httpsms]\nsigning_key = \"{KEY}\"\n")
}

/// A JWT made by pyjwt from `claims` (JSON); `iat`/`nbf`/`exp` given as
/// offsets in seconds from now are turned into times.
fn token(key: &str, claims: &serde_json::Value, alg: &str) -> String {
    oracle(
        "import sys, json, time, warnings, jwt\n\
         warnings.simplefilter('ignore')\n\
         claims = json.loads(sys.argv[2])\n\
         now = int(time.time())\n\
         for name in ('iat', 'nbf', 'exp'):\n\
         \x20   if name in claims:\n\
         \x20       claims[name] = now + claims[name]\n\
         key = None if sys.argv[3] == 'none' else sys.argv[1]\n\
         print(jwt.encode(claims, key, algorithm=sys.argv[3]))",
        &[key, &claims.to_string(), alg],
    )
}

/// The token httpSMS sends for a webhook registered as `url`.
pub(crate) fn httpsms_token(url: &str) -> String {
    token(
        KEY,
        &serde_json::json!({
            "aud": url, "iss": "api.httpsms.com", "sub": "user-1",
            "iat": 0, "nbf": -600, "exp": 600,
        }),
        "HS256",
    )
}

pub(crate) fn event(event_type: &str, message_id: &str, owner: &str, content: &str) -> String {
    serde_json::json!({
        "specversion": "1.0",
        "id": format!("ev-{message_id}"),
        "source": "/v1/messages/receive",
        "type": event_type,
        "datacontenttype": "application/json",
        "time": "2024-06-22T15:46:12.123Z",
        "data": {
            "message_id": message_id,
            "user_id": "user-1",
            "owner": owner,
            "contact": SENDER,
            "timestamp": "2024-06-22T15:46:11.5Z",
            "content": content,
            "encrypted": false,
            "sim": "SIM1",
        },
    })
    .to_string()
}

fn url(app: &TestApp) -> String {
    format!("{}/webhooks/httpsms", app.ingest_url)
}

pub(crate) async fn post(
    app: &TestApp,
    content_type: Option<&str>,
    token: Option<&str>,
    body: &str,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(url(app))
        .header("x-event-type", "message.phone.received")
        .body(body.to_owned());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    req.send().await.unwrap()
}

async fn received_message_reaches_the_page_once(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config()).await;
    app.add_number(NUMBER).await;
    let id = "6e4b5f30-7c1d-4b4e-8f0a-2d9c1e3b4a5f";
    let body = event(
        "message.phone.received",
        id,
        NUMBER,
        "Code httpSMS 660471 &",
    );
    let jwt = httpsms_token(&url(&app));

    let resp = post(&app, Some("application/json"), Some(&jwt), &body).await;
    assert_eq!(resp.status(), 200);
    let ack: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(ack["status"], "accepted");
    assert_eq!(ack["duplicate"], false);
    app.wait_for_page(NUMBER, "Code httpSMS 660471").await;
    let row = app.wait_for_provider_message(NUMBER, id).await;
    assert_eq!(row.provider, "httpsms");
    assert_eq!(row.sender, SENDER);
    assert_eq!(row.body, "Code httpSMS 660471 &");

    // httpSMS retries once on failure; the retry carries the same message id.
    // Older httpSMS releases send no content type.
    let retry = httpsms_token(&url(&app));
    assert_eq!(post(&app, None, Some(&retry), &body).await.status(), 200);
    let later = event(
        "message.phone.received",
        "later-1",
        NUMBER,
        "after the retry",
    );
    assert_eq!(
        post(&app, Some("application/json"), Some(&jwt), &later)
            .await
            .status(),
        200
    );
    app.wait_for_provider_message(NUMBER, "later-1").await;
    assert_eq!(
        app.settled_bodies(NUMBER).await.len(),
        2,
        "the retry is stored once"
    );
    let html = app.wait_for_page(NUMBER, "after the retry").await;
    assert_eq!(html.matches("Code httpSMS 660471").count(), 1);
    app.stop().await;
}
both_modes!(received_message_reaches_the_page_once);

async fn bad_tokens_are_401_and_nothing_is_stored(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config()).await;
    app.add_number(NUMBER).await;
    let body = event("message.phone.received", "forged-1", NUMBER, "forged");
    let aud = url(&app);
    let claims = |c: serde_json::Value| token(KEY, &c, "HS256");
    let cases = [
        (
            "wrong aud",
            "`aud`",
            claims(serde_json::json!({
                "aud": "https://elsewhere.example/webhooks/httpsms", "iat": 0, "exp": 600,
            })),
        ),
        (
            "expired",
            "expired",
            claims(serde_json::json!({"aud": aud, "iat": -1200, "nbf": -1800, "exp": -600})),
        ),
        (
            "not yet valid",
            "not valid yet",
            claims(serde_json::json!({"aud": aud, "nbf": 600, "exp": 1200})),
        ),
        (
            "other key",
            "signature does not match",
            token(
                "another-httpsms-signing-key-0000000",
                &serde_json::json!({"aud": aud, "iat": 0, "exp": 600}),
                "HS256",
            ),
        ),
        (
            "alg none",
            "HS256",
            token(KEY, &serde_json::json!({"aud": aud}), "none"),
        ),
        (
            "HS512",
            "HS256",
            token(
                &format!("{KEY}{KEY}"),
                &serde_json::json!({"aud": aud}),
                "HS512",
            ),
        ),
        ("garbage", "compact", "not-a-jwt".to_owned()),
    ];
    for (what, needle, jwt) in &cases {
        let resp = post(&app, Some("application/json"), Some(jwt), &body).await;
        assert_eq!(resp.status(), 401, "{what}");
        let err: serde_json::Value = resp.json().await.unwrap();
        let err = err["error"].as_str().unwrap();
        assert!(err.contains(needle), "{what}: {err}");
    }
    let resp = post(&app, Some("application/json"), None, &body).await;
    assert_eq!(resp.status(), 401, "no token");

    // A good token for another body is fine: the token signs no body, so a
    // changed byte only matters to the claims. One changed byte there fails.
    let good = httpsms_token(&aud);
    let mut bytes = good.clone().into_bytes();
    let dot = good.find('.').unwrap();
    bytes[dot + 5] = if bytes[dot + 5] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    let resp = post(&app, Some("application/json"), Some(&tampered), &body).await;
    assert_eq!(resp.status(), 401);

    let genuine = event("message.phone.received", "good-1", NUMBER, "genuine");
    assert_eq!(
        post(&app, Some("application/json"), Some(&good), &genuine)
            .await
            .status(),
        200
    );
    app.wait_for_provider_message(NUMBER, "good-1").await;
    assert_eq!(app.settled_bodies(NUMBER).await, ["genuine"]);
    app.stop().await;
}
both_modes!(bad_tokens_are_401_and_nothing_is_stored);

async fn audience_is_the_public_url_behind_a_proxy(mode: Mode) {
    let overrides = format!(
        "{}[ingest]\npublic_url = \"https://sms.example.org/\"\n",
        config()
    );
    let app = TestApp::spawn_with_config(mode, &overrides).await;
    app.add_number(NUMBER).await;
    let body = event("message.phone.received", "proxy-1", NUMBER, "via the proxy");
    // The local URL is not what httpSMS called.
    let local = httpsms_token(&url(&app));
    assert_eq!(
        post(&app, Some("application/json"), Some(&local), &body)
            .await
            .status(),
        401
    );
    let public = httpsms_token("https://sms.example.org/webhooks/httpsms");
    assert_eq!(
        post(&app, Some("application/json"), Some(&public), &body)
            .await
            .status(),
        200
    );
    app.wait_for_page(NUMBER, "via the proxy").await;
    app.stop().await;
}
both_modes!(audience_is_the_public_url_behind_a_proxy);

async fn other_events_and_malformed_bodies_publish_nothing(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config()).await;
    app.add_number(NUMBER).await;
    let jwt = httpsms_token(&url(&app));

    for event_type in [
        "message.phone.sent",
        "message.phone.delivered",
        "message.send.failed",
    ] {
        let body = event(event_type, &format!("out-{event_type}"), NUMBER, "outbound");
        let resp = post(&app, Some("application/json"), Some(&jwt), &body).await;
        assert_eq!(resp.status(), 200, "{event_type}");
        let ack: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(ack["status"], "ignored");
    }

    let body = event("message.phone.received", "m-1", NUMBER, "as a form");
    let resp = post(
        &app,
        Some("application/x-www-form-urlencoded"),
        Some(&jwt),
        &body,
    )
    .await;
    assert_eq!(resp.status(), 415);

    let resp = post(&app, Some("application/json"), Some(&jwt), "{\"type\":").await;
    assert_eq!(resp.status(), 400);
    let mut no_owner: serde_json::Value = serde_json::from_str(&body).unwrap();
    no_owner["data"].as_object_mut().unwrap().remove("owner");
    let resp = post(
        &app,
        Some("application/json"),
        Some(&jwt),
        &no_owner.to_string(),
    )
    .await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 400).await,
        "missing field `data.owner`"
    );

    let stranger = event("message.phone.received", "m-2", "+33639981288", "not ours");
    let resp = post(&app, Some("application/json"), Some(&jwt), &stranger).await;
    assert_eq!(resp.status(), 422);

    let good = event("message.phone.received", "good-2", NUMBER, "the only one");
    assert_eq!(
        post(&app, Some("application/json"), Some(&jwt), &good)
            .await
            .status(),
        200
    );
    app.wait_for_provider_message(NUMBER, "good-2").await;
    assert_eq!(app.settled_bodies(NUMBER).await.len(), 1);
    app.stop().await;
}
both_modes!(other_events_and_malformed_bodies_publish_nothing);

async fn without_a_signing_key_the_route_is_404(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let body = event("message.phone.received", "off-1", NUMBER, "disabled");
    let jwt = httpsms_token(&url(&app));
    let resp = post(&app, Some("application/json"), Some(&jwt), &body).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 404).await,
        "provider httpsms is not enabled"
    );
    assert!(app.settled_bodies(NUMBER).await.is_empty());
    app.stop().await;
}
both_modes!(without_a_signing_key_the_route_is_404);
