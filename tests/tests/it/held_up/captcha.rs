//! Captcha tokens and solutions against a running service: every single-bit
//! change of a token, and every one-character change of a solution's
//! fields, is refused; moving digits between salt and number (splicing) is
//! refused; a solution redeems once, over HTTP or gRPC, never both.

use captcha_verification::pow::{self, Challenge};
use cloudsms_tests::{Mode, both_modes};
use proto::captcha::v1::captcha_service_client::CaptchaServiceClient;
use proto::captcha::v1::{RedeemRequest, RedeemResponse};
use serde_json::json;

use crate::captcha::{CaptchaApp, OTHER_SECRET, OTHER_SITE, codes};

const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `text` with the byte at `i` replaced by `with`.
fn replaced(text: &str, i: usize, with: u8) -> String {
    let mut bytes = text.as_bytes().to_vec();
    bytes[i] = with;
    String::from_utf8(bytes).unwrap()
}

/// A solution of `OTHER_SITE` (no hostname restriction).
async fn solved(app: &CaptchaApp) -> (Challenge, u64) {
    app.solve(&format!("sitekey={OTHER_SITE}&action=login"))
        .await
}

async fn redeem(app: &CaptchaApp, challenge: &Challenge, number: u64) -> serde_json::Value {
    app.redeem(json!({ "payload": pow::encode_payload(challenge, number), "sitekey": OTHER_SITE }))
        .await
}

/// The same solution redeemed over gRPC.
async fn grpc_redeem(
    grpc: &mut CaptchaServiceClient<tonic::transport::Channel>,
    challenge: &Challenge,
    number: u64,
) -> RedeemResponse {
    grpc.redeem(RedeemRequest {
        payload: pow::encode_payload(challenge, number),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
}

async fn every_bit_flip_of_a_token_is_refused(mode: Mode) {
    let app = CaptchaApp::spawn(mode).await;
    let (challenge, number) = solved(&app).await;
    let r = redeem(&app, &challenge, number).await;
    let token = r["token"].as_str().expect("a token").to_owned();
    // `v1.<payload>.<mac>`, both base64url: changing a character's 6-bit
    // value in its lowest bit flips one bit of the decoded bytes.
    assert!(token.starts_with("v1."));
    let mut flips = 0;
    for (i, c) in token.bytes().enumerate().skip(3) {
        let Some(value) = BASE64URL.iter().position(|&b| b == c) else {
            assert_eq!(c, b'.', "{token}");
            continue;
        };
        let flipped = replaced(&token, i, BASE64URL[value ^ 1]);
        let v = app.siteverify(OTHER_SECRET, &flipped).await;
        assert_eq!(v["success"], false, "{flipped}");
        assert_eq!(codes(&v), ["invalid-input-response"], "{flipped}");
        flips += 1;
    }
    assert!(flips > 60, "{flips} flips of {token}");
    // The refusals did not spend it.
    let v = app.siteverify(OTHER_SECRET, &token).await;
    assert_eq!(v["success"], true, "{v}");
    app.stop().await;
}
both_modes!(every_bit_flip_of_a_token_is_refused);

async fn changed_and_spliced_solutions_are_refused(mode: Mode) {
    let app = CaptchaApp::spawn(mode).await;
    let (challenge, number) = solved(&app).await;
    let mut variants: Vec<(String, Challenge, u64)> = Vec::new();
    // Every bit of the number.
    for bit in 0..20 {
        variants.push((
            format!("number bit {bit}"),
            challenge.clone(),
            number ^ (1 << bit),
        ));
    }
    // The lowest bit of every character of salt, challenge and signature.
    for i in 0..challenge.salt.len() {
        let mut c = challenge.clone();
        c.salt = replaced(&c.salt, i, c.salt.as_bytes()[i] ^ 1);
        variants.push((format!("salt {i}"), c, number));
    }
    for i in 0..challenge.challenge.len() {
        let mut c = challenge.clone();
        c.challenge = replaced(&c.challenge, i, c.challenge.as_bytes()[i] ^ 1);
        variants.push((format!("challenge {i}"), c, number));
    }
    for i in 0..challenge.signature.len() {
        let mut c = challenge.clone();
        c.signature = replaced(&c.signature, i, c.signature.as_bytes()[i] ^ 1);
        variants.push((format!("signature {i}"), c, number));
    }
    // Splicing: the same `salt + number` bytes, cut elsewhere (SHA-256 of
    // them is the challenge: the hash alone cannot tell).
    let digits = number.to_string();
    for cut in 1..digits.len() {
        let (head, tail) = digits.split_at(cut);
        let mut c = challenge.clone();
        c.salt = format!("{}{head}", challenge.salt);
        if let Ok(rest) = tail.parse::<u64>()
            && rest.to_string() == tail
        {
            assert_eq!(pow::hash_hex(&c.salt, rest), challenge.challenge);
            variants.push((format!("spliced at {cut}"), c, rest));
        }
    }
    let salt_without_end = challenge.salt.trim_end_matches('&').to_owned();
    let mut c = challenge.clone();
    c.salt = salt_without_end;
    variants.push(("salt without its final &".to_owned(), c, number));
    for (what, c, n) in &variants {
        let r = redeem(&app, c, *n).await;
        assert_eq!(r["ok"], false, "{what}");
        // A salt whose expiry a change moved into the past reads as expired.
        let expired = what.starts_with("salt") && codes(&r) == ["timeout-or-duplicate"];
        assert!(
            expired || codes(&r) == ["invalid-input-response"],
            "{what}: {r}"
        );
    }
    // The untouched solution redeems once, then never again, over HTTP or
    // gRPC.
    let r = redeem(&app, &challenge, number).await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(
        codes(&redeem(&app, &challenge, number).await),
        ["timeout-or-duplicate"]
    );
    let mut grpc = CaptchaServiceClient::connect(app.grpc_url.clone())
        .await
        .unwrap();
    let again = grpc_redeem(&mut grpc, &challenge, number).await;
    assert_eq!(again.error_codes, ["timeout-or-duplicate"]);
    // And the other way round.
    let (challenge, number) = solved(&app).await;
    let first = grpc_redeem(&mut grpc, &challenge, number).await;
    assert!(first.ok, "{:?}", first.error_codes);
    assert_eq!(
        codes(&redeem(&app, &challenge, number).await),
        ["timeout-or-duplicate"]
    );
    app.stop().await;
}
both_modes!(changed_and_spliced_solutions_are_refused);
