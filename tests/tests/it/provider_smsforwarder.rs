//! SmsForwarder (pppscn/SmsForwarder): the webhook channel's form (and the
//! operator's JSON template) reach the page of the number named in `?to=`.
//! Every `sign` comes from `tests/oracles/smsforwarder_sign.py`, written from
//! the app's `WebhookUtils.kt` (HMAC-SHA256 of "<timestamp>\n<secret>",
//! Base64, `URLEncoder.encode`), not from our code.

use std::time::Duration;

use cloudsms_tests::{Mode, TestApp, both_modes, error_of, oracle};

pub(crate) const NUMBER: &str = "+8613800138021";
const SENDER: &str = "10690000";
pub(crate) const SECRET: &str = "test-smsforwarder-secret-for-cloudsms";

fn config() -> String {
    format!("[ingest.providers.smsforwarder]\nsecret = \"{SECRET}\"\n")
}

/// The `sign` the app puts into `[sign]` for `timestamp` (Unix ms).
pub(crate) fn sign(secret: &str, timestamp: &str) -> String {
    oracle(
        include_str!("../../oracles/smsforwarder_sign.py"),
        &[secret, timestamp],
    )
}

/// Now, Unix milliseconds, shifted by `offset_ms`.
fn now_ms(offset_ms: i64) -> String {
    (chrono::Utc::now().timestamp_millis() + offset_ms).to_string()
}

fn url(app: &TestApp, query: &str) -> String {
    format!("{}/webhooks/smsforwarder{query}", app.ingest_url)
}

/// `?to=` as an operator types it in the app: a literal '+'.
fn to(number: &str) -> String {
    format!("?to={number}")
}

/// A form POST, fields encoded as the app's HTTP client does (so the
/// already URL-encoded `sign` is encoded once more).
pub(crate) async fn post_form(
    app: &TestApp,
    query: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    app.client
        .post(url(app, query))
        .form(fields)
        .send()
        .await
        .unwrap()
}

async fn post_json(app: &TestApp, query: &str, body: &str) -> reqwest::Response {
    app.client
        .post(url(app, query))
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// The app's default form: `from=[from]&content=[content]&timestamp=[timestamp]&sign=[sign]`.
pub(crate) async fn post_default(
    app: &TestApp,
    query: &str,
    content: &str,
    timestamp: &str,
) -> reqwest::Response {
    let sign = sign(SECRET, timestamp);
    post_form(
        app,
        query,
        &[
            ("from", SENDER),
            ("content", content),
            ("timestamp", timestamp),
            ("sign", &sign),
        ],
    )
    .await
}

async fn accepted_with_the_apps_sign_and_retries_shown_once(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config()).await;
    app.add_number(NUMBER).await;
    let ts = now_ms(0);
    // A sign with `+`, `/` or `=` is what makes the double encoding matter:
    // Base64 of 32 bytes always ends in `=`, sent as `%253D`.
    assert!(sign(SECRET, &ts).ends_with("%3D"));

    let resp = post_default(&app, &to(NUMBER), "您的验证码是 482913", &ts).await;
    assert_eq!(resp.status(), 200);
    let ack: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(ack["status"], "accepted");
    assert_eq!(ack["duplicate"], false);
    app.wait_for_page(NUMBER, "您的验证码是 482913").await;
    let rows = app.wait_for_stored(NUMBER, 1).await;
    assert_eq!(rows[0].provider, "smsforwarder");
    assert_eq!(rows[0].sender, SENDER);
    assert!(rows[0].provider_message_id.starts_with("smsf-"));

    // The app's retry: the very same request, twice more (once with the
    // number URL-encoded): answered 200 so the app stops, shown once.
    for query in [to(NUMBER), "?to=%2B8613800138021".to_owned()] {
        let resp = post_default(&app, &query, "您的验证码是 482913", &ts).await;
        assert_eq!(resp.status(), 200, "{query}");
        let ack: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(ack["duplicate"], true, "{query}");
    }
    // The same text forwarded again later is another SMS.
    let later = (ts.parse::<i64>().unwrap() + 1).to_string();
    assert_eq!(
        post_default(&app, &to(NUMBER), "您的验证码是 482913", &later)
            .await
            .status(),
        200
    );
    let rows = app.wait_for_stored(NUMBER, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.stored(NUMBER).await.len(), 2, "{rows:?}");
    let (_, html) = app.get(&format!("/numbers/{NUMBER}")).await;
    assert_eq!(html.matches("您的验证码是 482913").count(), 2);
    app.stop().await;
}
both_modes!(accepted_with_the_apps_sign_and_retries_shown_once);

async fn forged_stale_future_and_reused_signs_are_401(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config()).await;
    app.add_number(NUMBER).await;
    let ts = now_ms(0);
    let good = sign(SECRET, &ts);

    // One byte of the sign changed.
    let mut changed = good.clone().into_bytes();
    changed[0] = if changed[0] == b'A' { b'B' } else { b'A' };
    let changed = String::from_utf8(changed).unwrap();
    let fields = |sign: &str, ts: &str| {
        vec![
            ("from".to_owned(), SENDER.to_owned()),
            ("content".to_owned(), "forged".to_owned()),
            ("timestamp".to_owned(), ts.to_owned()),
            ("sign".to_owned(), sign.to_owned()),
        ]
    };
    let post = |fields: Vec<(String, String)>| {
        app.client.post(url(&app, &to(NUMBER))).form(&fields).send()
    };
    let resp = post(fields(&changed, &ts)).await.unwrap();
    assert_eq!(error_of(resp, 401).await, "sign does not match");
    // Another secret; the sign of another timestamp.
    let resp = post(fields(&sign("another-secret", &ts), &ts))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let other_ts = (ts.parse::<i64>().unwrap() + 1).to_string();
    let resp = post(fields(&good, &other_ts)).await.unwrap();
    assert_eq!(resp.status(), 401);
    // Unsigned (the app without a secret sends no `sign`).
    let resp = post_form(
        &app,
        &to(NUMBER),
        &[
            ("from", SENDER),
            ("content", "unsigned"),
            ("timestamp", &ts),
        ],
    )
    .await;
    assert_eq!(error_of(resp, 401).await, "missing field `sign`");

    // Correctly signed, 6 minutes old, or 6 minutes ahead.
    for offset in [-6 * 60 * 1000, 6 * 60 * 1000] {
        let at = now_ms(offset);
        let resp = post(fields(&sign(SECRET, &at), &at)).await.unwrap();
        let error = error_of(resp, 401).await;
        assert!(error.contains("away from now"), "{offset}: {error}");
    }

    // The genuine message, then its (timestamp, sign) with another message.
    let resp = post_default(&app, &to(NUMBER), "genuine 550142", &ts).await;
    assert_eq!(resp.status(), 200);
    let resp = post_default(&app, &to(NUMBER), "replayed 000000", &ts).await;
    assert_eq!(
        error_of(resp, 401).await,
        "sign already used for another message"
    );
    app.wait_for_page(NUMBER, "genuine 550142").await;
    assert_eq!(app.settled_bodies(NUMBER).await, ["genuine 550142"]);
    app.stop().await;
}
both_modes!(forged_stale_future_and_reused_signs_are_401);

async fn json_template_prefers_org_content(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config()).await;
    app.add_number(NUMBER).await;
    // The operator's template, as the app fills it in: `[timestamp]` left
    // unquoted, `[sign]` the URL-encoded text, `[content]` the app's SMS
    // template applied, `[receive_time]` the phone's arrival time.
    let body = |ts: &str| {
        format!(
            r#"{{"from":"{SENDER}","content":"{SENDER}\nYour Steam code is F4K2Q\nSIM1_China Mobile_+8613800138021\n2026-12-04 12:00:00\nphone-1","org_content":"Your Steam code is F4K2Q","timestamp":{ts},"sign":"{}","card_slot":"SIM1_China Mobile_+8613800138021","receive_time":"2026-12-04 12:00:00"}}"#,
            sign(SECRET, ts)
        )
    };
    let first = body(&now_ms(0));
    let resp = post_json(&app, &to(NUMBER), &first).await;
    assert_eq!(resp.status(), 200);
    app.wait_for_page(NUMBER, "Your Steam code is F4K2Q").await;
    assert_eq!(
        app.settled_bodies(NUMBER).await,
        ["Your Steam code is F4K2Q"]
    );
    // Retried, and resent from the app's log (a new timestamp and sign, the
    // same receive_time): still one.
    for again in [first.clone(), body(&now_ms(-30_000))] {
        let resp = post_json(&app, &to(NUMBER), &again).await;
        assert_eq!(resp.status(), 200);
        let ack: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(ack["duplicate"], true);
    }
    assert_eq!(app.settled_bodies(NUMBER).await.len(), 1);

    // A form template with `org_content` too.
    let ts = now_ms(1);
    let sign = sign(SECRET, &ts);
    let resp = post_form(
        &app,
        &to(NUMBER),
        &[
            ("from", SENDER),
            ("content", "templated text"),
            ("org_content", "raw text 7731"),
            ("timestamp", &ts),
            ("sign", &sign),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
    app.wait_for_page(NUMBER, "raw text 7731").await;
    let (_, html) = app.get(&format!("/numbers/{NUMBER}")).await;
    assert!(!html.contains("templated text"));
    app.stop().await;
}
both_modes!(json_template_prefers_org_content);

/// Form fields, name and value.
type Fields<'a> = [(&'a str, &'a str)];

async fn malformed_bodies_are_400_and_touch_nothing(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config()).await;
    app.add_number(NUMBER).await;
    let ts = now_ms(0);
    let sign = sign(SECRET, &ts);

    for body in ["{", "[]", "\"text\""] {
        let resp = post_json(&app, &to(NUMBER), body).await;
        assert_eq!(resp.status(), 400, "{body}");
    }
    // Signed, but no sender, no text, a field twice, no `?to=`.
    let signed = [("timestamp", ts.as_str()), ("sign", sign.as_str())];
    let cases: [(&str, &Fields, &str); 4] = [
        (&to(NUMBER), &[("content", "x")], "missing field `from`"),
        (&to(NUMBER), &[("from", SENDER)], "missing field `content`"),
        (
            &to(NUMBER),
            &[("from", SENDER), ("content", "a"), ("content", "b")],
            "field `content` is sent more than once",
        ),
        (
            "",
            &[("from", SENDER), ("content", "x")],
            "missing query parameter `to`",
        ),
    ];
    for (query, extra, error) in cases {
        let mut fields = signed.to_vec();
        fields.extend_from_slice(extra);
        let resp = post_form(&app, query, &fields).await;
        assert_eq!(error_of(resp, 400).await, error);
    }
    // A text body (the app's `Content-Type: text/plain` mode) is not read.
    let resp = app
        .client
        .post(url(&app, &to(NUMBER)))
        .header("content-type", "text/plain")
        .body(format!(
            "from={SENDER}&content=x&timestamp={ts}&sign={sign}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    // None of these used the sign up: the genuine message still goes through.
    let resp = post_default(&app, &to(NUMBER), "after the bad ones", &ts).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.settled_bodies(NUMBER).await, ["after the bad ones"]);
    app.stop().await;
}
both_modes!(malformed_bodies_are_400_and_touch_nothing);

async fn without_a_secret_the_route_is_404(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let resp = post_default(&app, &to(NUMBER), "disabled", &now_ms(0)).await;
    assert_eq!(
        error_of(resp, 404).await,
        "provider smsforwarder is not enabled"
    );
    assert!(app.settled_bodies(NUMBER).await.is_empty());
    app.stop().await;
}
both_modes!(without_a_secret_the_route_is_404);
