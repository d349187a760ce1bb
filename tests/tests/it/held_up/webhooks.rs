//! Our own webhook (`/webhooks/generic`) against forgery: a signature must be
//! whole and fresh and covers the timestamp; a body with a repeated key is
//! refused rather than read one way by the verifier and another by the
//! parser; compressed bodies are never inflated (no decompression bombs,
//! and the signature covers the bytes as sent). Nothing refused is stored.

use std::io::Write as _;

use cloudsms_tests::{Mode, TestApp, both_modes};
use message_ingest::providers::generic::sign;

const NUMBER: &str = "+447700900778";

/// Posts `body` to the generic webhook with these signature headers (absent
/// when `None`) and extra headers.
async fn post(
    app: &TestApp,
    timestamp: Option<i64>,
    signature: Option<&str>,
    extra: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, String) {
    let mut request = app
        .client
        .post(format!("{}/webhooks/generic", app.ingest_url))
        .header("content-type", "application/json");
    if let Some(ts) = timestamp {
        request = request.header("x-cloudsms-timestamp", ts.to_string());
    }
    if let Some(sig) = signature {
        request = request.header("x-cloudsms-signature", sig);
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let r = request.body(body).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn signatures_must_be_whole_fresh_and_cover_the_timestamp(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let body = TestApp::sms_json(NUMBER, "Bank", "signed 1", "sig-1");
    let bytes = || body.as_bytes().to_vec();
    let secret = app.secret().to_owned();
    let ts = now();
    let good = sign(&secret, ts, body.as_bytes());
    let hex = good.strip_prefix("sha256=").unwrap();

    // Outside the five-minute window, in the past or in the future, even
    // correctly signed for that time.
    for at in [ts - 301, ts + 301] {
        let sig = sign(&secret, at, body.as_bytes());
        let (status, answer) = post(&app, Some(at), Some(&sig), &[], bytes()).await;
        assert_eq!(status, 401, "{at}: {answer}");
    }
    // A fresh timestamp on an old signature: the timestamp is signed too.
    let old = ts - 400;
    let old_sig = sign(&secret, old, body.as_bytes());
    let (status, _) = post(&app, Some(ts), Some(&old_sig), &[], bytes()).await;
    assert_eq!(status, 401);
    // Truncated, emptied, mangled or missing signatures.
    let truncated = [
        format!("sha256={}", &hex[..hex.len() - 1]),
        format!("sha256={}", &hex[..hex.len() - 2]),
        format!("sha256={}", &hex[..32]),
        format!("sha256={}", &hex[..2]),
        "sha256=".to_owned(),
        "sha256".to_owned(),
        String::new(),
        hex.to_owned(),
        format!("sha256={hex}00"),
        format!("sha1={hex}"),
    ];
    for sig in &truncated {
        let (status, answer) = post(&app, Some(ts), Some(sig), &[], bytes()).await;
        assert_eq!(status, 401, "{sig:?}: {answer}");
    }
    let (status, _) = post(&app, Some(ts), None, &[], bytes()).await;
    assert_eq!(status, 401);
    let (status, _) = post(&app, None, Some(&good), &[], bytes()).await;
    assert_eq!(status, 401);
    assert!(app.stored(NUMBER).await.is_empty());

    // The genuine request is accepted; replayed inside the window it is the
    // same message, acknowledged and stored once.
    let (status, answer) = post(&app, Some(ts), Some(&good), &[], bytes()).await;
    assert_eq!(status, 202, "{answer}");
    let (status, answer) = post(&app, Some(ts), Some(&good), &[], bytes()).await;
    assert_eq!(status, 202, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["duplicate"], true);
    app.wait_for_stored(NUMBER, 1).await;
    app.stop().await;
}
both_modes!(signatures_must_be_whole_fresh_and_cover_the_timestamp);

async fn repeated_json_keys_are_refused(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    app.add_number("+447700900779").await;
    let secret = app.secret().to_owned();
    for (field, body) in [
        (
            "body",
            format!(
                r#"{{"to":"{NUMBER}","from":"Bank","body":"shown","body":"hidden","id":"dup-1"}}"#
            ),
        ),
        (
            "to",
            format!(
                r#"{{"to":"{NUMBER}","to":"+447700900779","from":"Bank","body":"x","id":"dup-2"}}"#
            ),
        ),
        (
            "id",
            format!(r#"{{"to":"{NUMBER}","from":"Bank","body":"x","id":"dup-3","id":"dup-4"}}"#),
        ),
    ] {
        let ts = now();
        let sig = sign(&secret, ts, body.as_bytes());
        let (status, answer) = post(&app, Some(ts), Some(&sig), &[], body.into_bytes()).await;
        assert_eq!(status, 400, "{field}: {answer}");
        assert!(
            answer.contains(&format!("duplicate field `{field}`")),
            "{field}: {answer}"
        );
    }
    // A message afterwards is stored; none of the above was.
    app.accept_sms(NUMBER, "Bank", "after", "dup-5").await;
    let rows = app.wait_for_stored(NUMBER, 1).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].body, "after");
    assert!(app.stored("+447700900779").await.is_empty());
    app.stop().await;
}
both_modes!(repeated_json_keys_are_refused);

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

async fn compressed_bodies_are_never_inflated(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let secret = app.secret().to_owned();
    let json = TestApp::sms_json(NUMBER, "Bank", "compressed", "gz-1");
    let compressed = gzip(json.as_bytes());
    let gzip_header = [("content-encoding", "gzip")];
    let ts = now();
    // Signed over the JSON inside: the bytes as sent are what is verified.
    let sig = sign(&secret, ts, json.as_bytes());
    let (status, answer) = post(&app, Some(ts), Some(&sig), &gzip_header, compressed.clone()).await;
    assert_eq!(status, 401, "{answer}");
    // Signed over the compressed bytes: they are read as they are (not JSON).
    let sig = sign(&secret, ts, &compressed);
    let (status, answer) = post(&app, Some(ts), Some(&sig), &gzip_header, compressed).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("invalid JSON body"), "{answer}");
    // A bomb (8 KB that would inflate to 8 MB) is just 8 KB of bytes.
    let bomb = gzip(&vec![b' '; 8 * 1024 * 1024]);
    assert!(bomb.len() < 16 * 1024, "{}", bomb.len());
    let sig = sign(&secret, ts, &bomb);
    let (status, answer) = post(&app, Some(ts), Some(&sig), &gzip_header, bomb).await;
    assert_eq!(status, 400, "{answer}");
    assert!(app.stored(NUMBER).await.is_empty());

    // The gateway's crash beacon does not inflate either.
    let beacon = gzip(br#"{"message":"compressed crash","page":"/"}"#);
    let r = app
        .client
        .post(format!("{}/api/v1/crash", app.gateway_url))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(beacon)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    app.stop().await;
}
both_modes!(compressed_bodies_are_never_inflated);
