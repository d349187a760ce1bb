//! Twilio: form webhooks signed with `X-Twilio-Signature` reach the number
//! page; every signature comes from twilio-python's
//! `RequestValidator.compute_signature`, over the URL built from
//! `ingest.public_url`.

use cloudsms_tests::{Mode, TestApp, both_modes, oracle};

pub(crate) const TOKEN: &str = "test-twilio-token";
pub(crate) const PUBLIC: &str = "https://sms.example.test";
pub(crate) const NUMBER: &str = "+12025550161";
const SENDER: &str = "+12025550162";

fn config(public_url: &str) -> String {
    format!(
        "[ingest]\npublic_url = \"{public_url}\"\n\
         [ingest.providers.twilio]\nauth_token = \"{TOKEN}\"\n"
    )
}

/// Inbound SMS parameters as Twilio posts them.
pub(crate) fn params(sid: &str, to: &str, body: &str) -> serde_json::Value {
    serde_json::json!({
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": to,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": "AC00000000000000000000000000000000",
        "From": SENDER,
        "ApiVersion": "2010-04-01",
    })
}

/// (signature, form body) from the SDK: `compute_signature(url, params,
/// algorithm)` and the parameters url-encoded as Twilio sends them.
pub(crate) fn signed_form(
    url: &str,
    params: &serde_json::Value,
    algorithm: &str,
) -> (String, String) {
    let out = oracle(
        "import sys, json, urllib.parse\n\
         from twilio.request_validator import RequestValidator\n\
         params = json.loads(sys.argv[3])\n\
         print(RequestValidator(sys.argv[1]).compute_signature(sys.argv[2], params, sys.argv[4]))\n\
         print(urllib.parse.urlencode(params))",
        &[TOKEN, url, &params.to_string(), algorithm],
    );
    let (signature, body) = out.split_once('\n').unwrap();
    (signature.to_owned(), body.to_owned())
}

/// An SMS `sid` to `to` with `text`, signed by the SDK (HMAC-SHA1) for the
/// configured webhook URL: (signature, form body).
fn signed(sid: &str, to: &str, text: &str) -> (String, String) {
    signed_form(
        &format!("{PUBLIC}/webhooks/twilio"),
        &params(sid, to, text),
        "HMAC_SHA1",
    )
}

fn webhook_url(app: &TestApp, query: &str) -> String {
    format!("{}/webhooks/twilio{query}", app.ingest_url)
}

async fn post(
    app: &TestApp,
    query: &str,
    content_type: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(webhook_url(app, query))
        .header("content-type", content_type)
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

pub(crate) async fn post_form(app: &TestApp, signature: &str, body: &str) -> reqwest::Response {
    post(
        app,
        "",
        "application/x-www-form-urlencoded",
        &[("x-twilio-signature", signature)],
        body,
    )
    .await
}

async fn assert_twiml_ok(resp: reqwest::Response) {
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/xml");
    assert_eq!(resp.text().await.unwrap(), "<Response/>");
}

async fn inbound_sms_reaches_the_page(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config(PUBLIC)).await;
    app.add_number(NUMBER).await;
    let text = "Your Acme code is 482913 & <b>don't share</b> it";
    let (signature, body) = signed("SM11111111111111111111111111111111", NUMBER, text);
    assert_twiml_ok(post_form(&app, &signature, &body).await).await;
    let html = app.wait_for_page(NUMBER, "Your Acme code is 482913").await;
    assert!(cloudsms_tests::unescape_html(&html).contains(text));
    let row = app
        .wait_for_provider_message(NUMBER, "SM11111111111111111111111111111111")
        .await;
    assert_eq!(row.provider, "twilio");
    assert_eq!(row.sender, SENDER);
    assert_eq!(row.body, text);
    app.stop().await;
}
both_modes!(inbound_sms_reaches_the_page);

async fn retry_with_the_same_sid_is_shown_once(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config(PUBLIC)).await;
    app.add_number(NUMBER).await;
    let (signature, body) = signed(
        "SM22222222222222222222222222222222",
        NUMBER,
        "Retry code 1111",
    );
    assert_twiml_ok(post_form(&app, &signature, &body).await).await;
    assert_twiml_ok(post_form(&app, &signature, &body).await).await;
    let (signature, body) = signed(
        "SM33333333333333333333333333333333",
        NUMBER,
        "Later code 2222",
    );
    assert_twiml_ok(post_form(&app, &signature, &body).await).await;
    app.assert_shown_once(NUMBER, "Later code 2222", "Retry code 1111", 2)
        .await;
    app.stop().await;
}
both_modes!(retry_with_the_same_sid_is_shown_once);

async fn url_is_accepted_with_and_without_the_default_port(mode: Mode) {
    // public_url without a port: Twilio may sign with ":443" added.
    let app = TestApp::spawn_with_config(mode, &config(PUBLIC)).await;
    app.add_number(NUMBER).await;
    for (i, url) in [
        "https://sms.example.test/webhooks/twilio",
        "https://sms.example.test:443/webhooks/twilio",
    ]
    .into_iter()
    .enumerate()
    {
        let sid = format!("SM4444444444444444444444444444444{i}");
        let (signature, body) = signed_form(
            url,
            &params(&sid, NUMBER, &format!("port text {i}")),
            "HMAC_SHA1",
        );
        assert_twiml_ok(post_form(&app, &signature, &body).await).await;
        app.wait_for_provider_message(NUMBER, &sid).await;
    }
    // A non-default port in the signed URL is not the configured URL.
    let (signature, body) = signed_form(
        "https://sms.example.test:8443/webhooks/twilio",
        &params("SM44444444444444444444444444444449", NUMBER, "wrong port"),
        "HMAC_SHA1",
    );
    assert_eq!(post_form(&app, &signature, &body).await.status(), 401);
    app.stop().await;

    // public_url with ":443": Twilio may sign without it; query strings are signed as sent.
    let app = TestApp::spawn_with_config(mode, &config("https://sms.example.test:443/")).await;
    app.add_number(NUMBER).await;
    let sid = "SM55555555555555555555555555555555";
    let (signature, body) = signed_form(
        "https://sms.example.test/webhooks/twilio?site=a%2Fb",
        &params(sid, NUMBER, "port text stripped"),
        "HMAC_SHA1",
    );
    let resp = post(
        &app,
        "?site=a%2Fb",
        "application/x-www-form-urlencoded",
        &[("x-twilio-signature", &signature)],
        &body,
    )
    .await;
    assert_twiml_ok(resp).await;
    app.wait_for_provider_message(NUMBER, sid).await;
    app.stop().await;
}
both_modes!(url_is_accepted_with_and_without_the_default_port);

async fn sha256_settings_and_json_bodies_are_verified(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config(PUBLIC)).await;
    app.add_number(NUMBER).await;
    let url = format!("{PUBLIC}/webhooks/twilio");
    let settings = "key=webhooks_sharedkey_0000,algorithm=HMAC_SHA256";

    let sid = "SM66666666666666666666666666666666";
    let (signature, body) = signed_form(&url, &params(sid, NUMBER, "sha256 text"), "HMAC_SHA256");
    // Without the settings header the SHA-256 signature is read as SHA-1.
    assert_eq!(post_form(&app, &signature, &body).await.status(), 401);
    let resp = post(
        &app,
        "",
        "application/x-www-form-urlencoded",
        &[
            ("x-twilio-signature", &signature),
            ("x-twilio-webhooks-signature-settings", settings),
        ],
        &body,
    )
    .await;
    assert_twiml_ok(resp).await;
    app.wait_for_provider_message(NUMBER, sid).await;

    let resp = post(
        &app,
        "",
        "application/x-www-form-urlencoded",
        &[
            ("x-twilio-signature", &signature),
            (
                "x-twilio-webhooks-signature-settings",
                "key=k,algorithm=HMAC_SHA512",
            ),
        ],
        &body,
    )
    .await;
    assert_eq!(resp.status(), 401);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert!(err["error"].as_str().unwrap().contains("HMAC_SHA512"));

    // JSON: the URL carries bodySHA256 and only the URL is signed.
    let sid = "SM77777777777777777777777777777777";
    let json = params(sid, NUMBER, "json text").to_string();
    let out = oracle(
        "import sys, hashlib\n\
         from twilio.request_validator import RequestValidator\n\
         v = RequestValidator(sys.argv[1])\n\
         url = sys.argv[2] + '?bodySHA256=' + v.compute_hash(sys.argv[3])\n\
         sig = v.compute_signature(url, {})\n\
         assert v.validate(url, sys.argv[3], sig)\n\
         print(url.split('?', 1)[1])\n\
         print(sig)",
        &[TOKEN, &url, &json],
    );
    let (query, signature) = out.split_once('\n').unwrap();
    let query = format!("?{query}");
    let headers = [("x-twilio-signature", signature)];
    let tampered = json.replace("json text", "json texT");
    let resp = post(&app, &query, "application/json", &headers, &tampered).await;
    assert_eq!(resp.status(), 401);
    let resp = post(&app, &query, "application/json", &headers, &json).await;
    assert_twiml_ok(resp).await;
    let html = app.wait_for_page(NUMBER, "json text").await;
    assert!(!html.contains("json texT"));
    app.stop().await;
}
both_modes!(sha256_settings_and_json_bodies_are_verified);

async fn bad_signature_is_401_and_nothing_is_stored(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config(PUBLIC)).await;
    app.add_number(NUMBER).await;
    let url = format!("{PUBLIC}/webhooks/twilio");
    let (signature, body) = signed(
        "SM88888888888888888888888888888888",
        NUMBER,
        "forged code 1234",
    );
    let forged = body.replace("forged+code+1234", "forged+code+1235");
    assert_ne!(forged, body);
    let resp = post_form(&app, &signature, &forged).await;
    let err = cloudsms_tests::error_of(resp, 401).await;
    assert!(err.contains("X-Twilio-Signature does not match"), "{err}");
    let resp = post(&app, "", "application/x-www-form-urlencoded", &[], &body).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 401).await,
        "missing X-Twilio-Signature header"
    );
    // Signed for another URL (a query the request does not carry).
    let (other, _) = signed_form(
        &format!("{url}?x=1"),
        &params(
            "SM88888888888888888888888888888888",
            NUMBER,
            "forged code 1234",
        ),
        "HMAC_SHA1",
    );
    assert_eq!(post_form(&app, &other, &body).await.status(), 401);

    // A genuine message afterwards proves the pipeline ran past the forged ones.
    let (signature, body) = signed("SM99999999999999999999999999999999", NUMBER, "genuine");
    assert_twiml_ok(post_form(&app, &signature, &body).await).await;
    app.wait_for_stored(NUMBER, 1).await;
    assert_eq!(app.settled_bodies(NUMBER).await, ["genuine"]);
    app.stop().await;
}
both_modes!(bad_signature_is_401_and_nothing_is_stored);

async fn malformed_input_gets_a_clear_4xx(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config(PUBLIC)).await;
    app.add_number(NUMBER).await;
    let url = format!("{PUBLIC}/webhooks/twilio");

    let mut no_body = params("SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NUMBER, "x");
    no_body.as_object_mut().unwrap().remove("Body");
    let (signature, body) = signed_form(&url, &no_body, "HMAC_SHA1");
    let resp = post_form(&app, &signature, &body).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 400).await,
        "missing field `Body`"
    );

    let (signature, body) = signed("SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", NUMBER, "x");
    let resp = post(
        &app,
        "",
        "text/plain",
        &[("x-twilio-signature", &signature)],
        &body,
    )
    .await;
    assert_eq!(resp.status(), 415);

    // A JSON body without bodySHA256 cannot be verified.
    let resp = post(
        &app,
        "",
        "application/json",
        &[("x-twilio-signature", &signature)],
        "{}",
    )
    .await;
    assert_eq!(resp.status(), 401);

    // Unregistered number: 422, signature fine.
    let (signature, body) = signed("SMcccccccccccccccccccccccccccccccc", "+12025550169", "x");
    assert_eq!(post_form(&app, &signature, &body).await.status(), 422);
    assert!(app.stored(NUMBER).await.is_empty());
    app.stop().await;
}
both_modes!(malformed_input_gets_a_clear_4xx);

async fn disabled_provider_is_404(mode: Mode) {
    let app =
        TestApp::spawn_with_config(mode, &format!("[ingest]\npublic_url = \"{PUBLIC}\"\n")).await;
    app.add_number(NUMBER).await;
    let (signature, body) = signed("SMdddddddddddddddddddddddddddddddd", NUMBER, "x");
    let resp = post_form(&app, &signature, &body).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 404).await,
        "provider twilio is not enabled"
    );
    app.stop().await;
}
both_modes!(disabled_provider_is_404);
