//! `POST /webhooks/generic`: the signature check and the JSON payload.
#![no_main]

use cloudsms_fuzz::{self as h, GENERIC_SECRET, WRONG};
use libfuzzer_sys::fuzz_target;
use message_ingest::providers::generic::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};

fn headers(secret: &str, timestamp: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        (TIMESTAMP_HEADER, timestamp.to_string()),
        (SIGNATURE_HEADER, generic::sign(secret, timestamp, body)),
    ]
}


fuzz_target!(|data: &[u8]| {
    let input = h::Input::parse(data);
    let body = input.body;
    let now = chrono::Utc::now();
    let ts = now.timestamp();

    // The signature covers every byte of the body, and only our key makes it.
    let signed = h::header_map(&headers(GENERIC_SECRET, ts, body));
    generic::verify(GENERIC_SECRET, &signed, body, 300, now)
        .unwrap_or_else(|e| panic!("correctly signed body refused: {e}"));
    if !body.is_empty() {
        let mut tampered = body.to_vec();
        let i = data.len() % tampered.len();
        tampered[i] ^= 0x01;
        assert!(generic::verify(GENERIC_SECRET, &signed, &tampered, 300, now).is_err());
    }
    let wrong = h::header_map(&headers(WRONG, ts, body));
    assert!(generic::verify(GENERIC_SECRET, &wrong, body, 300, now).is_err());
    // The query line as a forged signature header.
    if let Some((_, value)) = input.query.first() {
        let forged = h::header_map(&[
            (TIMESTAMP_HEADER, ts.to_string()),
            (SIGNATURE_HEADER, value.clone()),
        ]);
        assert!(generic::verify(GENERIC_SECRET, &forged, body, 300, now).is_err());
    }

    let ingest = h::ingest();
    let uri = "/webhooks/generic";
    let (status, answer) = ingest.send(h::post(
        uri,
        "application/json",
        &headers(GENERIC_SECRET, ts, body),
        body.to_vec(),
    ));
    h::check_signed("generic", status, &answer, false);
    let (status, answer) = ingest.send(h::post(
        uri,
        "application/json",
        &headers(WRONG, ts, body),
        body.to_vec(),
    ));
    h::check_refused("generic", status, &answer);
});
