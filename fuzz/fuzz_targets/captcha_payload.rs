//! What a client sends the captcha: the widget's base64 JSON payload, and
//! the tokens `/siteverify` checks.
//!
//! - The input as a payload: decodes (or not) without panicking, decoding
//!   round-trips, and it never verifies (nobody but us can sign).
//! - The input as a JSON object laid over a valid solution's payload (so the
//!   fuzzer edits `salt`, `number`, `challenge`, ... directly): it verifies
//!   only when the fields that matter are unchanged (no salt splicing).
//! - The input as a token: never accepted; our own tokens round-trip.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use captcha_verification::{pow, token};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const KEY: &[u8] = b"fuzz-captcha-key";
const NOW: u64 = 1_800_000_000;
const LIFETIME: u64 = 3600;
/// A salt as create_challenge issues it, valid at `NOW`.
const SALT: &str = "0123456789abcdef01234567?expires=1800000600&site=site-a&max=50000&";
const NUMBER: u64 = 12_345;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);

    if let Ok(payload) = pow::decode_payload(&text) {
        let again = STANDARD.encode(serde_json::to_vec(&payload).unwrap_or_default());
        assert_eq!(pow::decode_payload(&again).as_ref(), Ok(&payload));
        assert!(
            pow::verify_solution(KEY, &payload, NOW, LIFETIME).is_err(),
            "a payload we never signed verified: {payload:?}"
        );
    }

    if let Ok(Value::Object(edits)) = serde_json::from_slice::<Value>(data) {
        let valid = pow::challenge_for(KEY, SALT.to_owned(), NUMBER, 50_000);
        let Ok(Value::Object(mut fields)) = serde_json::to_value(pow::Payload {
            algorithm: valid.algorithm.clone(),
            challenge: valid.challenge.clone(),
            number: NUMBER,
            salt: valid.salt.clone(),
            signature: valid.signature.clone(),
            took: None,
        }) else {
            panic!("a payload serialises to an object");
        };
        fields.extend(edits);
        let encoded = STANDARD.encode(Value::Object(fields).to_string());
        if let Ok(payload) = pow::decode_payload(&encoded)
            && pow::verify_solution(KEY, &payload, NOW, LIFETIME).is_ok()
        {
            assert_eq!(
                (
                    &payload.algorithm,
                    &payload.challenge,
                    payload.number,
                    &payload.salt,
                    &payload.signature
                ),
                (
                    &valid.algorithm,
                    &valid.challenge,
                    NUMBER,
                    &valid.salt,
                    &valid.signature
                ),
                "an edited solution verified"
            );
        }
    }

    assert!(
        token::decode(KEY, &text, NOW).is_err(),
        "a token we never issued was accepted: {text:?}"
    );
    let claims = token::Claims {
        site_key: text.chars().take(64).collect(),
        hostname: "example.org".to_owned(),
        action: String::new(),
        issued: NOW,
        expires: NOW + 60,
        id: std::array::from_fn(|i| data.get(i).copied().unwrap_or(0)),
    };
    if let Some(issued) = token::encode(KEY, &claims) {
        assert_eq!(token::decode(KEY, &issued, NOW), Ok(claims.clone()));
        assert!(token::decode(b"other key", &issued, NOW).is_err());
        assert_eq!(
            token::decode(KEY, &issued, NOW + 60),
            Err(token::TokenError::Expired)
        );
    }
});
