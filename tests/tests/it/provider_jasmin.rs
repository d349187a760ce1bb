//! Jasmin SMS gateway MO callbacks, sent the way Jasmin's HTTP client
//! connector sends them (`GET` or form `POST`, `binary` = hex of the raw
//! content): authenticated ones reach the page and get `ACK/Jasmin`; wrong
//! credentials, foreign client addresses, malformed and disabled requests do not.

use cloudsms_tests::{Mode, TestApp, both_modes};

pub(crate) const NUMBER: &str = "+447700900620";
pub(crate) const SECRET: &str = "test-jasmin-shared-secret";

fn config_secret() -> String {
    format!("[ingest.providers.jasmin]\nshared_secret = \"{SECRET}\"\n")
}

pub(crate) fn encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k.as_bytes()), escape(v.as_bytes())))
        .collect::<Vec<_>>()
        .join("&")
}

pub(crate) fn escape(raw: &[u8]) -> String {
    raw.iter()
        .map(|&b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A callback as Jasmin's deliverSmThrower builds it.
pub(crate) fn mo(id: &str, content: &str) -> String {
    encode(&[
        ("id", id),
        ("from", "447700900998"),
        ("to", NUMBER.trim_start_matches('+')),
        ("origin-connector", "smppc01"),
        ("priority", "0"),
        ("coding", "0"),
        ("validity", "none"),
        ("content", content),
        ("binary", &hex(content.as_bytes())),
    ])
}

/// `text` in UCS-2 (big-endian code units), Jasmin's data coding 8.
pub(crate) fn ucs2(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// An SMS `id` from "Bank" to `NUMBER` as Jasmin GETs it in data coding 8:
/// `content` carries the raw UCS-2 bytes, not UTF-8, and `binary` their hex.
pub(crate) async fn get_ucs2(app: &TestApp, id: &str, ucs2: &[u8]) -> reqwest::Response {
    let query = encode(&[
        ("id", id),
        ("from", "Bank"),
        ("to", NUMBER.trim_start_matches('+')),
        ("origin-connector", "smppc01"),
        ("coding", "8"),
        ("secret", SECRET),
    ]);
    let query = format!("{query}&content={}&binary={}", escape(ucs2), hex(ucs2));
    cloudsms_tests::send(
        app.client
            .get(format!("{}/webhooks/jasmin?{query}", app.ingest_url)),
    )
    .await
}

pub(crate) async fn post(app: &TestApp, query: &str, body: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/webhooks/jasmin?{query}", app.ingest_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn post_with_shared_secret_reaches_the_page_once(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config_secret()).await;
    app.add_number(NUMBER).await;
    let body = mo("b3a8c5e2-7f01-4b8e-9d1a-000000000001", "Your code: 640213");
    let resp = post(&app, &format!("secret={SECRET}"), &body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "ACK/Jasmin");
    app.wait_for_page(NUMBER, "Your code: 640213").await;
    let row = app
        .wait_for_provider_message(NUMBER, "b3a8c5e2-7f01-4b8e-9d1a-000000000001")
        .await;
    assert_eq!(row.sender, "447700900998");

    // Jasmin retries: acknowledged again, stored once.
    let resp = post(&app, &format!("secret={SECRET}"), &body).await;
    assert_eq!(resp.text().await.unwrap(), "ACK/Jasmin");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.stored(NUMBER).await.len(), 1);
    app.stop().await;
}
both_modes!(post_with_shared_secret_reaches_the_page_once);

async fn get_with_ucs2_binary_is_decoded(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config_secret()).await;
    app.add_number(NUMBER).await;
    let text = "Код: 582014 ✓";
    let resp = get_ucs2(&app, "ucs2-1", &ucs2(text)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "ACK/Jasmin");
    let row = app.wait_for_provider_message(NUMBER, "ucs2-1").await;
    assert_eq!(row.body, text);
    app.wait_for_page(NUMBER, "582014").await;
    app.stop().await;
}
both_modes!(get_with_ucs2_binary_is_decoded);

async fn wrong_credentials_are_401_and_nothing_is_stored(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config_secret()).await;
    app.add_number(NUMBER).await;
    let body = mo("forged-1", "forged");
    // One changed byte in the secret.
    let wrong = SECRET.replace("shared", "sharee");
    let resp = post(&app, &format!("secret={wrong}"), &body).await;
    assert_eq!(cloudsms_tests::error_of(resp, 401).await, "wrong `secret`");
    let resp = post(&app, "", &body).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 401).await,
        "missing `secret` parameter"
    );
    assert!(app.settled_bodies(NUMBER).await.is_empty());
    app.stop().await;
}
both_modes!(wrong_credentials_are_401_and_nothing_is_stored);

async fn basic_auth_is_checked(mode: Mode) {
    let app = TestApp::spawn_with_config(
        mode,
        "[ingest.providers.jasmin]\nusername = \"jasmin\"\npassword = \"test-jasmin-password\"\n",
    )
    .await;
    app.add_number(NUMBER).await;
    let url = format!("{}/webhooks/jasmin", app.ingest_url);
    let send = |user: &'static str, password: &'static str, id: &'static str| {
        app.client
            .post(&url)
            .basic_auth(user, Some(password))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(mo(id, &format!("basic auth message {id}")))
            .send()
    };
    let resp = send("jasmin", "test-jasmin-passwore", "basic-0")
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    let resp = send("jasmin", "test-jasmin-password", "basic-1")
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "ACK/Jasmin");
    app.wait_for_page(NUMBER, "basic auth message basic-1")
        .await;
    assert_eq!(app.stored(NUMBER).await.len(), 1);
    app.stop().await;
}
both_modes!(basic_auth_is_checked);

async fn client_address_outside_the_allow_list_is_403(mode: Mode) {
    let app = TestApp::spawn_with_config(
        mode,
        &format!(
            "{}allowed_ips = [\"10.0.0.0/8\", \"2001:db8::/32\"]\n",
            config_secret()
        ),
    )
    .await;
    app.add_number(NUMBER).await;
    let resp = post(&app, &format!("secret={SECRET}"), &mo("ip-1", "blocked")).await;
    assert_eq!(resp.status(), 403);
    app.stop().await;

    let app = TestApp::spawn_with_config(
        mode,
        &format!(
            "{}allowed_ips = [\"10.0.0.0/8\", \"127.0.0.0/8\"]\n",
            config_secret()
        ),
    )
    .await;
    app.add_number(NUMBER).await;
    let resp = post(
        &app,
        &format!("secret={SECRET}"),
        &mo("ip-2", "allowed 3321"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    app.wait_for_page(NUMBER, "allowed 3321").await;
    app.stop().await;
}
both_modes!(client_address_outside_the_allow_list_is_403);

async fn malformed_requests_say_what_is_wrong(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &config_secret()).await;
    app.add_number(NUMBER).await;
    let q = format!("secret={SECRET}");
    let no_id = encode(&[("from", "x"), ("to", "447700900620"), ("content", "hi")]);
    let resp = post(&app, &q, &no_id).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 400).await,
        "missing field `id`"
    );

    let bad_hex = encode(&[
        ("id", "hex-1"),
        ("from", "x"),
        ("to", "447700900620"),
        ("content", "hi"),
        ("binary", "zz"),
    ]);
    assert_eq!(post(&app, &q, &bad_hex).await.status(), 400);

    let resp = app
        .client
        .post(format!("{}/webhooks/jasmin?{q}", app.ingest_url))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);

    let mut unknown = mo("unknown-1", "x");
    unknown = unknown.replace("to=447700900620", "to=447700900629");
    assert_eq!(post(&app, &q, &unknown).await.status(), 422);

    assert!(app.settled_bodies(NUMBER).await.is_empty());
    app.stop().await;
}
both_modes!(malformed_requests_say_what_is_wrong);

async fn disabled_provider_is_404(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let resp = post(&app, "secret=anything", &mo("off-1", "x")).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 404).await,
        "provider jasmin is not enabled"
    );
    app.stop().await;
}
both_modes!(disabled_provider_is_404);
