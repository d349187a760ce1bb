//! `/webhooks/vonage`: `GET` query, form and JSON bodies, the `sig`
//! parameter, multi-part messages held in the database.
#![no_main]

use cloudsms_fuzz::{self as h, VONAGE_SECRET, WRONG};
use config::VonageSignatureMethod;
use libfuzzer_sys::fuzz_target;
use message_ingest::providers::vonage;
use serde_json::Value;

const METHODS: [VonageSignatureMethod; 5] = [
    VonageSignatureMethod::Md5hash,
    VonageSignatureMethod::Md5,
    VonageSignatureMethod::Sha1,
    VonageSignatureMethod::Sha256,
    VonageSignatureMethod::Sha512,
];

/// A JSON member as the route (and the Vonage SDK's f-string) spells it.
fn python_text(value: &Value) -> Option<String> {
    Some(match value {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Null => "None".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Array(_) | Value::Object(_) => return None,
    })
}

/// `pairs` without `sig` and `timestamp`, then a fresh `timestamp` and the
/// `sig` made with `secret` (the default `md5hash` method).
fn sign(pairs: &[(String, String)], secret: &str, timestamp: &str) -> Vec<(String, String)> {
    let mut signed: Vec<(String, String)> = pairs
        .iter()
        .filter(|(name, _)| name != "sig" && name != "timestamp")
        .cloned()
        .collect();
    signed.push(("timestamp".to_owned(), timestamp.to_owned()));
    let sig = vonage::signature(VonageSignatureMethod::Md5hash, secret, &signed);
    signed.push(("sig".to_owned(), sig));
    signed
}

fuzz_target!(|data: &[u8]| {
    let input = h::Input::parse(data);
    let now = chrono::Utc::now();
    let timestamp = now.timestamp().to_string();
    let ingest = h::ingest();
    let path = "/webhooks/vonage";

    if input.is_json() {
        let map = match serde_json::from_slice::<Value>(input.body) {
            Ok(Value::Object(map)) => map,
            _ => {
                let (status, answer) =
                    ingest.send(h::post(path, "application/json", &[], input.body.to_vec()));
                h::check_refused("vonage", status, &answer);
                return;
            }
        };
        let pairs: Vec<(String, String)> = map
            .iter()
            .filter_map(|(name, value)| Some((name.clone(), python_text(value)?)))
            .collect();
        for secret in [VONAGE_SECRET, WRONG] {
            let mut body = map.clone();
            for (name, value) in sign(&pairs, secret, &timestamp) {
                if name == "sig" || name == "timestamp" {
                    body.insert(name, Value::String(value));
                }
            }
            let body = Value::Object(body).to_string().into_bytes();
            let (status, answer) = ingest.send(h::post(path, "application/json", &[], body));
            if secret == WRONG {
                h::check_refused("vonage", status, &answer);
            } else {
                h::check_signed("vonage", status, &answer, false);
            }
        }
        return;
    }

    let get = input.body.is_empty();
    let pairs: Vec<(String, String)> = if get {
        input.query.clone()
    } else {
        form_urlencoded::parse(input.body).into_owned().collect()
    };

    // Every method: what we sign, we verify; a changed value or another key
    // never passes (the signed text grows with every value).
    let signed = sign(&pairs, VONAGE_SECRET, &timestamp);
    for method in METHODS {
        let mut params: Vec<(String, String)> = signed[..signed.len() - 1].to_vec();
        params.push((
            "sig".to_owned(),
            vonage::signature(method, VONAGE_SECRET, &params),
        ));
        vonage::verify(method, VONAGE_SECRET, &params, 300, now)
            .unwrap_or_else(|e| panic!("correctly signed parameters refused: {e}"));
        assert!(vonage::verify(method, WRONG, &params, 300, now).is_err());
        let mut tampered = params.clone();
        tampered[0].1.push('x');
        assert!(
            vonage::verify(method, VONAGE_SECRET, &tampered, 300, now).is_err(),
            "{tampered:?}"
        );
    }

    for secret in [VONAGE_SECRET, WRONG] {
        let encoded = h::encode(&sign(&pairs, secret, &timestamp));
        let request = if get {
            h::request(
                "GET",
                &h::path_and_query(path, &encoded),
                "",
                &[],
                Vec::new(),
            )
        } else {
            h::post(
                path,
                "application/x-www-form-urlencoded",
                &[],
                encoded.into_bytes(),
            )
        };
        let (status, answer) = ingest.send(request);
        if secret == WRONG {
            h::check_refused("vonage", status, &answer);
        } else {
            h::check_signed("vonage", status, &answer, false);
        }
    }
});
