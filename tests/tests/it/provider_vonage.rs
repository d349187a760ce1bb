//! Vonage SMS API inbound: requests signed by the vonage 4.9.1 Python SDK
//! (the `md5hash` legacy method as the 2.x SDK computed it) reach the page;
//! forged, stale, malformed and disabled requests do not; long messages are
//! reassembled from their parts, or shown with a marker when a part is lost.

use cloudsms_tests::{Mode, TestApp, both_modes, oracle};

pub(crate) const NUMBER: &str = "+447700900610";
pub(crate) const SENDER: &str = "447700900999";
pub(crate) const SECRET: &str = "test-vonage-signature-secret";

/// Signs `params` with the SDK; prints JSON `{sig, query, json}` with `sig` added.
const SIGN: &str = r#"
import sys, json, hashlib, urllib.parse
from vonage_http_client.auth import Auth
params = json.loads(sys.argv[1]); method = sys.argv[2]; secret = sys.argv[3]
if method == "md5hash":
    s = "".join("&%s=%s" % (k, str(params[k]).replace("&", "_").replace("=", "_")) for k in sorted(params))
    sig = hashlib.md5((s + secret).encode()).hexdigest()
else:
    auth = Auth(api_key="test-vonage-key", signature_secret=secret, signature_method=method)
    sig = auth.sign_params(dict(params))
    assert auth.check_signature(dict(params, sig=sig))
out = dict(params, sig=sig)
print(json.dumps({"sig": sig, "query": urllib.parse.urlencode(out), "json": json.dumps(out)}))
"#;

pub(crate) struct Signed {
    pub(crate) query: String,
    json: String,
}

pub(crate) fn sign(params: &serde_json::Value, method: &str) -> Signed {
    let out: serde_json::Value =
        serde_json::from_str(&oracle(SIGN, &[&params.to_string(), method, SECRET])).unwrap();
    Signed {
        query: out["query"].as_str().unwrap().to_owned(),
        json: out["json"].as_str().unwrap().to_owned(),
    }
}

fn config(method: &str) -> String {
    format!(
        "[ingest.providers.vonage]\nsignature_secret = \"{SECRET}\"\nsignature_method = \"{method}\"\n"
    )
}

pub(crate) fn sms(id: &str, text: &str) -> serde_json::Value {
    serde_json::json!({
        "msisdn": SENDER,
        "to": NUMBER.trim_start_matches('+'),
        "messageId": id,
        "text": text,
        "type": "text",
        "keyword": "YOUR",
        "api-key": "test-vonage-key",
        // After the number's registration, a minute ahead of our clock
        // (Vonage's may run fast): stored as Vonage says.
        "message-timestamp": (chrono::Utc::now() + chrono::Duration::minutes(1))
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        "timestamp": chrono::Utc::now().timestamp().to_string(),
        "nonce": uuid::Uuid::new_v4().to_string(),
    })
}

pub(crate) fn part(id: &str, text: &str, reference: &str, n: u32, total: u32) -> serde_json::Value {
    let mut params = sms(id, text);
    let map = params.as_object_mut().unwrap();
    map.insert("concat".into(), "true".into());
    map.insert("concat-ref".into(), reference.into());
    map.insert("concat-total".into(), total.to_string().into());
    map.insert("concat-part".into(), n.to_string().into());
    params
}

pub(crate) async fn get(app: &TestApp, query: &str) -> reqwest::Response {
    app.client
        .get(format!("{}/webhooks/vonage?{query}", app.ingest_url))
        .send()
        .await
        .unwrap()
}

async fn post(app: &TestApp, content_type: &str, body: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/webhooks/vonage", app.ingest_url))
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn get_signed_by_the_sdk_reaches_the_page_once(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config("sha256")).await;
    app.add_number(NUMBER).await;
    let params = sms("0B00000012345678", "Your code is 418273 & more=yes");
    let signed = sign(&params, "sha256");

    let resp = get(&app, &signed.query).await;
    assert_eq!(resp.status(), 204);
    assert!(resp.text().await.unwrap().is_empty());
    let html = app.wait_for_page(NUMBER, "418273").await;
    assert!(cloudsms_tests::unescape_html(&html).contains("Your code is 418273 & more=yes"));
    let row = app
        .wait_for_provider_message(NUMBER, "0B00000012345678")
        .await;
    assert_eq!(row.sender, SENDER);
    assert_eq!(
        row.received_at.format("%Y-%m-%d %H:%M:%S%.f").to_string(),
        params["message-timestamp"].as_str().unwrap()
    );

    // Vonage retries with the same request: accepted, stored once.
    assert_eq!(get(&app, &signed.query).await.status(), 204);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.stored(NUMBER).await.len(), 1);
    app.stop().await;
}
both_modes!(get_signed_by_the_sdk_reaches_the_page_once);

async fn post_form_and_json_are_accepted(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config("md5")).await;
    app.add_number(NUMBER).await;
    let form = sign(&sms("0B00000000000F01", "form message 551"), "md5");
    let resp = post(&app, "application/x-www-form-urlencoded", &form.query).await;
    assert_eq!(resp.status(), 204);
    let json = sign(&sms("0B00000000000J01", "json message 662"), "md5");
    let resp = post(&app, "application/json", &json.json).await;
    assert_eq!(resp.status(), 204);
    app.wait_for_page(NUMBER, "form message 551").await;
    app.wait_for_page(NUMBER, "json message 662").await;
    app.stop().await;
}
both_modes!(post_form_and_json_are_accepted);

async fn legacy_md5hash_and_sha512_signatures_verify(mode: Mode) {
    for method in ["md5hash", "sha512", "sha1"] {
        let app = TestApp::spawn_with_config(mode, &config(method)).await;
        app.add_number(NUMBER).await;
        let text = format!("signed with {method}");
        let signed = sign(&sms(&format!("id-{method}"), &text), method);
        assert_eq!(get(&app, &signed.query).await.status(), 204, "{method}");
        app.wait_for_page(NUMBER, &text).await;
        app.stop().await;
    }
}
both_modes!(legacy_md5hash_and_sha512_signatures_verify);

async fn forged_or_stale_requests_are_401_and_nothing_is_stored(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config("sha256")).await;
    app.add_number(NUMBER).await;
    let signed = sign(&sms("forged-1", "Hello"), "sha256");
    let tampered = signed.query.replace("text=Hello", "text=Jello");
    assert_ne!(tampered, signed.query);
    let resp = get(&app, &tampered).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 401).await,
        "signature does not match"
    );

    let unsigned = sign(&sms("forged-2", "Hello"), "sha256")
        .query
        .split('&')
        .filter(|kv| !kv.starts_with("sig="))
        .collect::<Vec<_>>()
        .join("&");
    let resp = get(&app, &unsigned).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 401).await,
        "missing `sig` parameter"
    );

    let mut stale = sms("stale-1", "old");
    stale["timestamp"] = (chrono::Utc::now().timestamp() - 301).to_string().into();
    let resp = get(&app, &sign(&stale, "sha256").query).await;
    assert_eq!(resp.status(), 401);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert!(err["error"].as_str().unwrap().contains("allowed: 300"));

    assert!(app.settled_bodies(NUMBER).await.is_empty());
    app.stop().await;
}
both_modes!(forged_or_stale_requests_are_401_and_nothing_is_stored);

async fn malformed_requests_say_what_is_wrong(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config("sha256")).await;
    app.add_number(NUMBER).await;
    let resp = post(&app, "text/plain", "msisdn=1").await;
    assert_eq!(resp.status(), 415);

    let mut no_sender = sms("bad-1", "x");
    no_sender.as_object_mut().unwrap().remove("msisdn");
    let resp = get(&app, &sign(&no_sender, "sha256").query).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 400).await,
        "missing field `msisdn`"
    );

    let mut bad_time = sms("bad-2", "x");
    bad_time["message-timestamp"] = "yesterday".into();
    let resp = get(&app, &sign(&bad_time, "sha256").query).await;
    assert_eq!(resp.status(), 400);

    let resp = post(&app, "application/json", "[1,2]").await;
    assert_eq!(resp.status(), 400);

    let resp = app
        .client
        .put(format!("{}/webhooks/vonage", app.ingest_url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);

    let mut unknown = sms("bad-3", "x");
    unknown["to"] = "447700900699".into();
    let resp = get(&app, &sign(&unknown, "sha256").query).await;
    assert_eq!(resp.status(), 422);
    // A part for a number of another site is refused at once, not held.
    let mut unknown_part = part("bad-4", "x", "5", 1, 2);
    unknown_part["to"] = "447700900699".into();
    let resp = get(&app, &sign(&unknown_part, "sha256").query).await;
    assert_eq!(resp.status(), 422);

    assert!(app.settled_bodies(NUMBER).await.is_empty());
    app.stop().await;
}
both_modes!(malformed_requests_say_what_is_wrong);

async fn disabled_provider_is_404(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let signed = sign(&sms("off-1", "x"), "md5hash");
    let resp = get(&app, &signed.query).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 404).await,
        "provider vonage is not enabled"
    );
    app.stop().await;
}
both_modes!(disabled_provider_is_404);

async fn parts_in_any_order_are_shown_as_one_message(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config("sha256")).await;
    app.add_number(NUMBER).await;
    let texts = [
        "Your verification code ",
        "is 730512. Do not share ",
        "it with anyone.",
    ];
    let signed: Vec<Signed> = (1..=3u32)
        .map(|n| {
            let text = texts[usize::try_from(n - 1).unwrap()];
            sign(&part(&format!("part-id-{n}"), text, "77", n, 3), "sha256")
        })
        .collect();
    for i in [2, 0, 0] {
        assert_eq!(get(&app, &signed[i].query).await.status(), 204);
    }
    assert!(
        app.settled_bodies(NUMBER).await.is_empty(),
        "not shown before complete"
    );

    assert_eq!(get(&app, &signed[1].query).await.status(), 204);
    let whole = texts.concat();
    app.wait_for_page(NUMBER, "730512").await;
    let row = app
        .wait_for_provider_message(NUMBER, &format!("concat:77:{SENDER}:part-id-1"))
        .await;
    assert_eq!(row.body, whole);

    // Retries of any part after the message was shown change nothing.
    for s in &signed {
        assert_eq!(get(&app, &s.query).await.status(), 204);
    }
    let state = message_ingest::accept::Shared::new(&app.infra);
    let later = chrono::Utc::now() + chrono::Duration::seconds(5);
    let flushed = message_ingest::providers::vonage::flush_stale_parts(&state, later)
        .await
        .unwrap();
    assert_eq!(flushed, 0, "a published message is only forgotten");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.stored(NUMBER).await.len(), 1);

    // The one-byte reference wraps: a later message from the same sender with
    // the same reference is a new message, not a duplicate.
    for n in [1u32, 2] {
        let text = ["Second long message ", "with code 990417."][usize::try_from(n - 1).unwrap()];
        let signed = sign(&part(&format!("again-{n}"), text, "77", n, 2), "sha256");
        assert_eq!(get(&app, &signed.query).await.status(), 204);
    }
    let row = app
        .wait_for_provider_message(NUMBER, &format!("concat:77:{SENDER}:again-1"))
        .await;
    assert_eq!(row.body, "Second long message with code 990417.");
    assert_eq!(app.stored(NUMBER).await.len(), 2);
    app.stop().await;
}
both_modes!(parts_in_any_order_are_shown_as_one_message);

async fn a_lost_part_is_marked_after_the_timeout(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config("sha256")).await;
    app.add_number(NUMBER).await;
    let one = sign(&part("lost-1", "First half, ", "12", 1, 3), "sha256");
    let three = sign(&part("lost-3", " and the end.", "12", 3, 3), "sha256");
    assert_eq!(get(&app, &three.query).await.status(), 204);
    assert_eq!(get(&app, &one.query).await.status(), 204);

    let state = message_ingest::accept::Shared::new(&app.infra);
    let before = chrono::Utc::now() - chrono::Duration::seconds(60);
    let flushed = message_ingest::providers::vonage::flush_stale_parts(&state, before)
        .await
        .unwrap();
    assert_eq!(flushed, 0, "not yet timed out");

    let later = chrono::Utc::now() + chrono::Duration::seconds(1);
    // Two replicas sweeping at once show the message once.
    let (a, b) = tokio::join!(
        message_ingest::providers::vonage::flush_stale_parts(&state, later),
        message_ingest::providers::vonage::flush_stale_parts(&state, later),
    );
    assert!(a.unwrap() + b.unwrap() >= 1);
    let row = app
        .wait_for_provider_message(NUMBER, &format!("concat:12:{SENDER}:lost-1"))
        .await;
    assert_eq!(row.body, "First half, [part 2 of 3 missing] and the end.");
    app.wait_for_page(NUMBER, "[part 2 of 3 missing]").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.stored(NUMBER).await.len(), 1);
    app.stop().await;
}
both_modes!(a_lost_part_is_marked_after_the_timeout);
