//! Plivo: inbound messages signed with `X-Plivo-Signature-V3` reach the
//! number page; every signature comes from plivo-python's own
//! `construct_post_url` + `get_signature_v3` (checked with
//! `validate_v3_signature`), over the URL built from `ingest.public_url`.

use cloudsms_tests::{Mode, TestApp, both_modes, oracle};

pub(crate) const TOKEN: &str = "test-plivo-token";
pub(crate) const PUBLIC: &str = "https://sms.example.test";
/// Plivo sends numbers without '+'.
pub(crate) const NUMBER: &str = "+61491570611";
pub(crate) const TO: &str = "61491570611";
const SENDER: &str = "447700900612";

fn config() -> String {
    format!(
        "[ingest]\npublic_url = \"{PUBLIC}\"\n\
         [ingest.providers.plivo]\nauth_token = \"{TOKEN}\"\n"
    )
}

pub(crate) fn url() -> String {
    format!("{PUBLIC}/webhooks/plivo")
}

/// Inbound SMS parameters as Plivo posts them.
pub(crate) fn params(uuid: &str, to: &str, text: &str) -> serde_json::Value {
    serde_json::json!({
        "From": SENDER,
        "To": to,
        "Type": "sms",
        "Text": text,
        "MessageUUID": uuid,
        "Units": "1",
        "TotalRate": "0",
        "TotalAmount": "0",
        "MessageIntent": "",
        "PowerpackUUID": "",
    })
}

/// (signature, nonce, form body) from the SDK for `params` posted to `url`.
pub(crate) fn signed_form(url: &str, params: &serde_json::Value) -> (String, String, String) {
    let out = oracle(
        "import sys, json, secrets, urllib.parse\n\
         from plivo.utils.signature_v3 import construct_post_url, get_signature_v3, validate_v3_signature\n\
         token, url, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])\n\
         nonce = str(secrets.randbelow(10**20))\n\
         sig = get_signature_v3(token.encode(), construct_post_url(url, dict(params)).decode(), nonce.encode()).decode()\n\
         assert validate_v3_signature('POST', url, nonce, token, sig, dict(params))\n\
         print(sig)\n\
         print(nonce)\n\
         print(urllib.parse.urlencode(params))",
        &[TOKEN, url, &params.to_string()],
    );
    let mut lines = out.split('\n');
    let mut next = || lines.next().unwrap().to_owned();
    (next(), next(), next())
}

/// An SMS `uuid` to `to` with `text`, signed by the SDK for [`url`]:
/// (signature, nonce, form body).
fn signed(uuid: &str, to: &str, text: &str) -> (String, String, String) {
    signed_form(&url(), &params(uuid, to, text))
}

/// Signs an SMS `uuid` to `TO` with `text` and posts it: Plivo's request,
/// which must be accepted (200).
async fn deliver(app: &TestApp, uuid: &str, text: &str) {
    let (signature, nonce, body) = signed(uuid, TO, text);
    assert_eq!(
        post_form(app, &signature, &nonce, &body).await.status(),
        200,
        "{uuid}"
    );
}

async fn post(
    app: &TestApp,
    content_type: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(format!("{}/webhooks/plivo", app.ingest_url))
        .header("content-type", content_type)
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

pub(crate) async fn post_form(
    app: &TestApp,
    signature: &str,
    nonce: &str,
    body: &str,
) -> reqwest::Response {
    post(
        app,
        "application/x-www-form-urlencoded",
        &[
            ("x-plivo-signature-v3", signature),
            ("x-plivo-signature-v3-nonce", nonce),
        ],
        body,
    )
    .await
}

async fn inbound_sms_reaches_the_page(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config()).await;
    app.add_number(NUMBER).await;
    let text = "Your Acme code is 739201 & <i>valid</i> for 5 min";
    let uuid = "a1b2c3d4-0000-11ee-8f3a-0242ac110001";
    let (signature, nonce, body) = signed(uuid, TO, text);
    let resp = post_form(&app, &signature, &nonce, &body).await;
    assert_eq!(resp.status(), 200);
    let html = app.wait_for_page(NUMBER, "Your Acme code is 739201").await;
    assert!(cloudsms_tests::unescape_html(&html).contains(text));
    let row = app.wait_for_provider_message(NUMBER, uuid).await;
    assert_eq!(row.provider, "plivo");
    assert_eq!(row.body, text);
    assert!(row.sender.contains(SENDER), "sender {}", row.sender);

    // Several signatures in the header: any one may match.
    let uuid = "a1b2c3d4-0000-11ee-8f3a-0242ac110002";
    let (signature, nonce, body) = signed(uuid, TO, "second of two");
    let listed = format!("c29tZSBvdGhlciBzaWduYXR1cmU=,{signature}");
    assert_eq!(post_form(&app, &listed, &nonce, &body).await.status(), 200);
    app.wait_for_provider_message(NUMBER, uuid).await;
    app.stop().await;
}
both_modes!(inbound_sms_reaches_the_page);

async fn retry_with_the_same_uuid_is_shown_once(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config()).await;
    app.add_number(NUMBER).await;
    deliver(
        &app,
        "b1b2c3d4-0000-11ee-8f3a-0242ac110001",
        "Retry code 3333",
    )
    .await;
    // Plivo's retry has a fresh nonce and signature.
    deliver(
        &app,
        "b1b2c3d4-0000-11ee-8f3a-0242ac110001",
        "Retry code 3333",
    )
    .await;
    deliver(
        &app,
        "b1b2c3d4-0000-11ee-8f3a-0242ac110002",
        "Later code 4444",
    )
    .await;
    app.assert_shown_once(NUMBER, "Later code 4444", "Retry code 3333", 2)
        .await;
    app.stop().await;
}
both_modes!(retry_with_the_same_uuid_is_shown_once);

async fn json_body_is_verified_like_the_sdk(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config()).await;
    app.add_number(NUMBER).await;
    let uuid = "c1b2c3d4-0000-11ee-8f3a-0242ac110001";
    let json = params(uuid, TO, "json code 5555").to_string();
    let out = oracle(
        "import sys, json\n\
         from plivo.utils.signature_v3 import construct_post_url, get_signature_v3\n\
         print(get_signature_v3(sys.argv[1].encode(), construct_post_url(sys.argv[2], json.loads(sys.argv[3])).decode(), b'98765').decode())",
        &[TOKEN, &url(), &json],
    );
    let headers = [
        ("x-plivo-signature-v3", out.as_str()),
        ("x-plivo-signature-v3-nonce", "98765"),
    ];
    let tampered = json.replace("json code 5555", "json code 5556");
    assert_eq!(
        post(&app, "application/json", &headers, &tampered)
            .await
            .status(),
        401
    );
    let resp = post(&app, "application/json", &headers, &json).await;
    assert_eq!(resp.status(), 200);
    app.wait_for_page(NUMBER, "json code 5555").await;
    app.stop().await;
}
both_modes!(json_body_is_verified_like_the_sdk);

async fn bad_signature_is_401_and_nothing_is_stored(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config()).await;
    app.add_number(NUMBER).await;
    let (signature, nonce, body) = signed(
        "d1b2c3d4-0000-11ee-8f3a-0242ac110001",
        TO,
        "forged code 1234",
    );
    let forged = body.replace("forged+code+1234", "forged+code+1235");
    assert_ne!(forged, body);
    let resp = post_form(&app, &signature, &nonce, &forged).await;
    let err = cloudsms_tests::error_of(resp, 401).await;
    assert!(err.contains("X-Plivo-Signature-V3 does not match"), "{err}");
    // Another nonce, or no nonce, or no signature.
    assert_eq!(post_form(&app, &signature, "1", &body).await.status(), 401);
    let resp = post(
        &app,
        "application/x-www-form-urlencoded",
        &[("x-plivo-signature-v3", &signature)],
        &body,
    )
    .await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 401).await,
        "missing X-Plivo-Signature-V3-Nonce header"
    );
    let resp = post(
        &app,
        "application/x-www-form-urlencoded",
        &[("x-plivo-signature-v3-nonce", &nonce)],
        &body,
    )
    .await;
    assert_eq!(resp.status(), 401);
    // Signed for another URL.
    let (other, nonce2, body2) = signed_form(
        "https://elsewhere.example.test/webhooks/plivo",
        &params(
            "d1b2c3d4-0000-11ee-8f3a-0242ac110001",
            TO,
            "forged code 1234",
        ),
    );
    assert_eq!(post_form(&app, &other, &nonce2, &body2).await.status(), 401);

    deliver(&app, "d1b2c3d4-0000-11ee-8f3a-0242ac110002", "genuine").await;
    app.wait_for_stored(NUMBER, 1).await;
    assert_eq!(app.settled_bodies(NUMBER).await, ["genuine"]);
    app.stop().await;
}
both_modes!(bad_signature_is_401_and_nothing_is_stored);

async fn malformed_input_gets_a_clear_4xx(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config()).await;
    app.add_number(NUMBER).await;
    let mut no_text = params("e1b2c3d4-0000-11ee-8f3a-0242ac110001", TO, "x");
    no_text.as_object_mut().unwrap().remove("Text");
    let (signature, nonce, body) = signed_form(&url(), &no_text);
    let resp = post_form(&app, &signature, &nonce, &body).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 400).await,
        "missing field `Text`"
    );

    let (signature, nonce, body) = signed("e1b2c3d4-0000-11ee-8f3a-0242ac110002", TO, "x");
    let resp = post(
        &app,
        "text/plain",
        &[
            ("x-plivo-signature-v3", &signature),
            ("x-plivo-signature-v3-nonce", &nonce),
        ],
        &body,
    )
    .await;
    assert_eq!(resp.status(), 415);

    let resp = post(
        &app,
        "application/json",
        &[
            ("x-plivo-signature-v3", &signature),
            ("x-plivo-signature-v3-nonce", &nonce),
        ],
        "{\"Text\": ",
    )
    .await;
    let err = cloudsms_tests::error_of(resp, 400).await;
    assert!(err.starts_with("invalid JSON body"), "{err}");

    let (signature, nonce, body) =
        signed("e1b2c3d4-0000-11ee-8f3a-0242ac110003", "61491570619", "x");
    assert_eq!(
        post_form(&app, &signature, &nonce, &body).await.status(),
        422
    );
    assert!(app.stored(NUMBER).await.is_empty());
    app.stop().await;
}
both_modes!(malformed_input_gets_a_clear_4xx);

async fn disabled_provider_is_404(mode: Mode) {
    let app =
        TestApp::spawn_with_config(mode, &format!("[ingest]\npublic_url = \"{PUBLIC}\"\n")).await;
    app.add_number(NUMBER).await;
    let (signature, nonce, body) = signed("f1b2c3d4-0000-11ee-8f3a-0242ac110001", TO, "x");
    let resp = post_form(&app, &signature, &nonce, &body).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 404).await,
        "provider plivo is not enabled"
    );
    app.stop().await;
}
both_modes!(disabled_provider_is_404);
