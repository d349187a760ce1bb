//! `POST /webhooks/plivo`: V3 signatures over the URL, the query and the
//! form or JSON parameters (nested objects and lists too).
#![no_main]

use cloudsms_fuzz::{self as h, PLIVO_TOKEN, PUBLIC_URL, WRONG};
use libfuzzer_sys::fuzz_target;
use message_ingest::providers::plivo::{self, NONCE_HEADER, Param, SIGNATURE_HEADER};
use serde_json::Value;

const NONCE: &[u8] = b"31415926535897932384";

fuzz_target!(|data: &[u8]| {
    let input = h::Input::parse(data);
    let body = input.body;
    let json = input.is_json();
    let path = h::path_and_query("/webhooks/plivo", &h::encode(&input.query));
    let url = format!("{PUBLIC_URL}{path}");
    // The parameters the route reads; `None` when it refuses the body first.
    let params = if json {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => plivo::json_params(&map),
            _ => None,
        }
    } else {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        Some(plivo::form_params(&pairs))
    };
    let signature = |token: &str| match &params {
        Some(params) => plivo::signature_v3(token, &plivo::signed_string(&url, params), NONCE),
        None => plivo::signature_v3(token, &url, NONCE),
    };

    if let Some(params) = &params {
        // What we sign, we verify, also among several signatures; another
        // key never passes; a changed value passes only if the signed text
        // is unchanged.
        let good = signature(PLIVO_TOKEN);
        plivo::verify(PLIVO_TOKEN, &url, params, NONCE, good.as_bytes())
            .unwrap_or_else(|e| panic!("{url}: correctly signed request refused: {e}"));
        let several = format!("{}, {good}", signature(WRONG));
        plivo::verify(PLIVO_TOKEN, &url, params, NONCE, several.as_bytes())
            .unwrap_or_else(|e| panic!("{url}: one of several signatures refused: {e}"));
        assert!(
            plivo::verify(
                PLIVO_TOKEN,
                &url,
                params,
                NONCE,
                signature(WRONG).as_bytes()
            )
            .is_err()
        );
        if let Some((name, Param::Text(value))) = params.iter().next() {
            let mut tampered = params.clone();
            tampered.insert(name.clone(), Param::Text(format!("{value}x")));
            if plivo::verify(PLIVO_TOKEN, &url, &tampered, NONCE, good.as_bytes()).is_ok() {
                assert_eq!(
                    plivo::signed_string(&url, &tampered),
                    plivo::signed_string(&url, params)
                );
            }
        }
    }

    let content_type = if json {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    let headers = |token: &str| {
        vec![
            (SIGNATURE_HEADER, signature(token)),
            (NONCE_HEADER, String::from_utf8_lossy(NONCE).into_owned()),
        ]
    };
    let ingest = h::ingest();
    let (status, answer) = ingest.send(h::post(
        &path,
        content_type,
        &headers(PLIVO_TOKEN),
        body.to_vec(),
    ));
    // A JSON body the SDK could not sign (lists of objects...) is refused as unverifiable.
    h::check_signed("plivo", status, &answer, params.is_none());
    let (status, answer) =
        ingest.send(h::post(&path, content_type, &headers(WRONG), body.to_vec()));
    h::check_refused("plivo", status, &answer);
});
