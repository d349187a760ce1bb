//! `POST /webhooks/httpsms`: the bearer JWT (HS256, `aud` = the webhook URL)
//! and the CloudEvent body.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudsms_fuzz::{self as h, HTTPSMS_KEY, PUBLIC_URL, WRONG};
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use message_ingest::providers::httpsms;
use sha2::Sha256;

/// An HS256 JWT as httpSMS makes it.
fn token(key: &str, claims: &serde_json::Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(format!("{header}.{claims}").as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{header}.{claims}.{signature}")
}

fuzz_target!(|data: &[u8]| {
    let input = h::Input::parse(data);
    let body = input.body;
    let now = chrono::Utc::now();
    let ts = now.timestamp();
    let path = h::path_and_query("/webhooks/httpsms", &h::encode(&input.query));
    let url = format!("{PUBLIC_URL}{path}");
    let claims = serde_json::json!({
        "aud": url, "iss": "api.httpsms.com", "sub": "user-1",
        "iat": ts, "nbf": ts - 10, "exp": ts + 600,
    });

    let good = token(HTTPSMS_KEY, &claims);
    httpsms::verify_token(HTTPSMS_KEY, &good, &url, now)
        .unwrap_or_else(|e| panic!("{url}: correctly signed token refused: {e}"));
    assert!(httpsms::verify_token(HTTPSMS_KEY, &token(WRONG, &claims), &url, now).is_err());
    assert!(httpsms::verify_token(HTTPSMS_KEY, &good, &format!("{url}/other"), now).is_err());
    // The body as a token: nobody but the key holder makes one.
    let text = String::from_utf8_lossy(body);
    assert!(httpsms::verify_token(HTTPSMS_KEY, text.trim(), &url, now).is_err());

    // Older httpSMS releases send no content type.
    let content_type = if body.len().is_multiple_of(2) {
        "application/json"
    } else {
        ""
    };
    let headers = |key: &str| vec![("authorization", format!("Bearer {}", token(key, &claims)))];
    let ingest = h::ingest();
    let (status, answer) = ingest.send(h::post(
        &path,
        content_type,
        &headers(HTTPSMS_KEY),
        body.to_vec(),
    ));
    h::check_signed("httpsms", status, &answer, false);
    let (status, answer) =
        ingest.send(h::post(&path, content_type, &headers(WRONG), body.to_vec()));
    h::check_refused("httpsms", status, &answer);
});
