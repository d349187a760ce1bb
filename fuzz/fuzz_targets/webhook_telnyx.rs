//! `POST /webhooks/telnyx`: Ed25519 over `timestamp|body`, the JSON event.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cloudsms_fuzz::{self as h, TELNYX_SEED};
use ed25519_dalek::{Signer as _, SigningKey};
use libfuzzer_sys::fuzz_target;
use message_ingest::providers::telnyx::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};

fn headers(seed: &[u8; 32], timestamp: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    let mut signed = format!("{timestamp}|").into_bytes();
    signed.extend_from_slice(body);
    let signature = SigningKey::from_bytes(seed).sign(&signed);
    vec![
        (TIMESTAMP_HEADER, timestamp.to_owned()),
        (SIGNATURE_HEADER, STANDARD.encode(signature.to_bytes())),
    ]
}


fuzz_target!(|data: &[u8]| {
    let input = h::Input::parse(data);
    let body = input.body;
    let now = chrono::Utc::now();
    let timestamp = now.timestamp().to_string();
    let public_key = h::telnyx_public_key();
    let wrong_seed = [8u8; 32];

    let signed = h::header_map(&headers(&TELNYX_SEED, &timestamp, body));
    telnyx::verify(&public_key, &signed, body, 300, now)
        .unwrap_or_else(|e| panic!("correctly signed body refused: {e}"));
    if !body.is_empty() {
        let mut tampered = body.to_vec();
        let i = data.len() % tampered.len();
        tampered[i] ^= 0x01;
        assert!(telnyx::verify(&public_key, &signed, &tampered, 300, now).is_err());
    }
    let wrong = h::header_map(&headers(&wrong_seed, &timestamp, body));
    assert!(telnyx::verify(&public_key, &wrong, body, 300, now).is_err());
    if let Some((_, value)) = input.query.first() {
        let forged = h::header_map(&[
            (TIMESTAMP_HEADER, timestamp.clone()),
            (SIGNATURE_HEADER, value.clone()),
        ]);
        assert!(telnyx::verify(&public_key, &forged, body, 300, now).is_err());
    }

    let ingest = h::ingest();
    let path = "/webhooks/telnyx";
    let (status, answer) = ingest.send(h::post(
        path,
        "application/json",
        &headers(&TELNYX_SEED, &timestamp, body),
        body.to_vec(),
    ));
    h::check_signed("telnyx", status, &answer, false);
    let (status, answer) = ingest.send(h::post(
        path,
        "application/json",
        &headers(&wrong_seed, &timestamp, body),
        body.to_vec(),
    ));
    h::check_refused("telnyx", status, &answer);
});
