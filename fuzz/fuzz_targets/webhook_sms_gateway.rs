//! `POST /webhooks/sms-gateway?to=..&sim=..`: HMAC over body and timestamp,
//! the JSON event, the receiving number and SIM slot from the query.
#![no_main]

use cloudsms_fuzz::{self as h, SMS_GATEWAY_KEY, WRONG};
use libfuzzer_sys::fuzz_target;
use message_ingest::providers::sms_gateway::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER};

fn headers(key: &str, timestamp: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        (TIMESTAMP_HEADER, timestamp.to_owned()),
        (SIGNATURE_HEADER, sms_gateway::sign(key, timestamp, body)),
    ]
}


fuzz_target!(|data: &[u8]| {
    let input = h::Input::parse(data);
    let body = input.body;
    let now = chrono::Utc::now();
    let timestamp = now.timestamp().to_string();

    let signed = h::header_map(&headers(SMS_GATEWAY_KEY, &timestamp, body));
    sms_gateway::verify(SMS_GATEWAY_KEY, &signed, body, 300, now)
        .unwrap_or_else(|e| panic!("correctly signed body refused: {e}"));
    if !body.is_empty() {
        let mut tampered = body.to_vec();
        let i = data.len() % tampered.len();
        tampered[i] ^= 0x01;
        assert!(sms_gateway::verify(SMS_GATEWAY_KEY, &signed, &tampered, 300, now).is_err());
    }
    let wrong = h::header_map(&headers(WRONG, &timestamp, body));
    assert!(sms_gateway::verify(SMS_GATEWAY_KEY, &wrong, body, 300, now).is_err());

    let path = h::path_and_query("/webhooks/sms-gateway", &h::encode(&input.query));
    let ingest = h::ingest();
    let (status, answer) = ingest.send(h::post(
        &path,
        "application/json",
        &headers(SMS_GATEWAY_KEY, &timestamp, body),
        body.to_vec(),
    ));
    h::check_signed("sms-gateway", status, &answer, false);
    let (status, answer) = ingest.send(h::post(
        &path,
        "application/json",
        &headers(WRONG, &timestamp, body),
        body.to_vec(),
    ));
    h::check_refused("sms-gateway", status, &answer);
});
