//! `POST /webhooks/twilio`: form and JSON bodies, SHA-1 and SHA-256
//! signatures, the URL's port variants.
#![no_main]

use cloudsms_fuzz::{self as h, PUBLIC_URL, TWILIO_TOKEN, WRONG};
use libfuzzer_sys::fuzz_target;
use message_ingest::providers::twilio::{
    self, Algorithm, BODY_HASH_PARAM, SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER, Signed,
};
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let input = h::Input::parse(data);
    let body = input.body;
    let json = input.is_json();
    let algorithm = if body.len().is_multiple_of(2) {
        Algorithm::HmacSha1
    } else {
        Algorithm::HmacSha256
    };
    let mut query = input.query.clone();
    if json {
        query.retain(|(name, _)| name != BODY_HASH_PARAM);
        query.push((
            BODY_HASH_PARAM.to_owned(),
            hex::encode(Sha256::digest(body)),
        ));
    }
    let path = h::path_and_query("/webhooks/twilio", &h::encode(&query));
    let url = format!("{PUBLIC_URL}{path}");
    let variants = twilio::url_variants(&url);
    let pairs = if json {
        Vec::new()
    } else {
        form_urlencoded::parse(body).into_owned().collect()
    };
    let signed = if json {
        Signed::Json(body)
    } else {
        Signed::Form(&pairs)
    };
    let signature = |token: &str| twilio::compute_signature(token, &variants[0], &pairs, algorithm);

    // What we sign, we verify (either port form); another key never passes.
    for form in &variants {
        let good = twilio::compute_signature(TWILIO_TOKEN, form, &pairs, algorithm);
        twilio::verify(TWILIO_TOKEN, &url, signed, &good, algorithm)
            .unwrap_or_else(|e| panic!("{url}: correctly signed request refused: {e}"));
    }
    assert!(twilio::verify(TWILIO_TOKEN, &url, signed, &signature(WRONG), algorithm).is_err());
    // A changed value passes only if the signed text is unchanged (Twilio
    // concatenates names and values without separators).
    if let Some((_, value)) = pairs.first() {
        let mut tampered = pairs.clone();
        tampered[0].1 = format!("{value}x");
        if twilio::verify(
            TWILIO_TOKEN,
            &url,
            Signed::Form(&tampered),
            &signature(TWILIO_TOKEN),
            algorithm,
        )
        .is_ok()
        {
            assert_eq!(
                twilio::signed_string(&variants[0], &tampered),
                twilio::signed_string(&variants[0], &pairs)
            );
        }
    }
    if json && !body.is_empty() {
        let mut tampered = body.to_vec();
        let i = data.len() % tampered.len();
        tampered[i] ^= 0x01;
        assert!(
            twilio::verify(
                TWILIO_TOKEN,
                &url,
                Signed::Json(&tampered),
                &signature(TWILIO_TOKEN),
                algorithm
            )
            .is_err()
        );
    }
    if let Some((name, value)) = input.query.first() {
        let _ = twilio::signature_algorithm(Some(&format!("{name}={value}")));
        let _ = twilio::url_variants(value);
    }

    let content_type = if json {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    let headers = |token: &str| {
        let mut headers = vec![(SIGNATURE_HEADER, signature(token))];
        if algorithm == Algorithm::HmacSha256 {
            headers.push((
                SIGNATURE_SETTINGS_HEADER,
                "key=fuzz,algorithm=HMAC_SHA256".to_owned(),
            ));
        }
        headers
    };
    let ingest = h::ingest();
    let (status, answer) = ingest.send(h::post(
        &path,
        content_type,
        &headers(TWILIO_TOKEN),
        body.to_vec(),
    ));
    h::check_signed("twilio", status, &answer, false);
    let (status, answer) =
        ingest.send(h::post(&path, content_type, &headers(WRONG), body.to_vec()));
    h::check_refused("twilio", status, &answer);
});
