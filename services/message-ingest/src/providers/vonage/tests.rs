//! Unit tests of the Vonage signature, parameters and fields.
#![allow(clippy::unwrap_used)]

use super::*;

fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn sample() -> Vec<(String, String)> {
    p(&[
        ("msisdn", "447700900999"),
        ("to", "447700900123"),
        ("messageId", "0A0000000123ABCD1"),
        ("text", "Hello & welcome=yes"),
        ("type", "text"),
        ("keyword", "HELLO"),
        ("message-timestamp", "2020-01-01 12:00:00"),
        ("timestamp", "1700000000"),
        ("nonce", "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"),
    ])
}

// Vectors from the vonage 4.9.1 SDK (vonage_http_client.Auth.sign_params)
// and, for md5hash, hashlib.md5(params_string + secret) as the 2.x SDK did.
#[test]
fn signatures_match_the_sdk() {
    let params = sample();
    let secret = "test-vonage-secret";
    for (method, expected) in [
        (VonageSignatureMethod::Md5hash, MD5HASH),
        (VonageSignatureMethod::Md5, MD5),
        (VonageSignatureMethod::Sha1, SHA1),
        (VonageSignatureMethod::Sha256, SHA256),
        (VonageSignatureMethod::Sha512, SHA512),
    ] {
        assert_eq!(signature(method, secret, &params), expected, "{method:?}");
    }
}

const MD5HASH: &str = "e72cd80eca0496742ea0901d26494a01";
const MD5: &str = "060dd4f179845a0e74f6dc710de89314";
const SHA1: &str = "8883c71d1fdc59dc50735e42979d026891442d71";
const SHA256: &str = "82e3f2c9a6cb49b9c7973e210b0c904d46ffe842c89979413d1d4d91c5ec87d7";
const SHA512: &str = "9567a459dd1fa06d5c8caa075e9dfe6d9d5885e0e6ec2159005660a020d3e235918dc5b0aeccb678730fc0aba91f3dd5421d5a15bf3e485a50d789dbb9116597";

fn signed(
    method: VonageSignatureMethod,
    secret: &str,
    mut params: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let sig = signature(method, secret, &params);
    params.push(("sig".into(), sig));
    params
}

fn at(ts: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(ts, 0).unwrap()
}

#[test]
fn verify_accepts_upper_case_and_rejects_tampering() {
    let m = VonageSignatureMethod::Sha256;
    let mut params = signed(m, "k", sample());
    verify(m, "k", &params, 300, at(1_700_000_100)).unwrap();
    let last = params.len() - 1;
    params[last].1 = params[last].1.to_ascii_uppercase();
    verify(m, "k", &params, 300, at(1_700_000_100)).unwrap();
    params[3].1.push('!');
    let err = verify(m, "k", &params, 300, at(1_700_000_100)).unwrap_err();
    assert_eq!(err.to_string(), "signature does not match");
    assert!(
        verify(
            m,
            "other",
            &signed(m, "k", sample()),
            300,
            at(1_700_000_100)
        )
        .is_err()
    );
    assert!(
        verify(
            VonageSignatureMethod::Sha512,
            "k",
            &signed(m, "k", sample()),
            300,
            at(1_700_000_100)
        )
        .is_err()
    );
}

#[test]
fn verify_checks_presence_and_freshness() {
    let m = VonageSignatureMethod::Md5hash;
    let err = verify(m, "k", &sample(), 300, at(1_700_000_000)).unwrap_err();
    assert!(err.to_string().contains("sig"));
    let params = signed(m, "k", sample());
    let err = verify(m, "k", &params, 300, at(1_700_000_301)).unwrap_err();
    assert!(err.to_string().contains("allowed: 300"));
    verify(m, "k", &params, 300, at(1_699_999_700)).unwrap();
    assert!(verify(m, "k", &params, 300, at(1_699_999_699)).is_err());
}

#[test]
fn missing_timestamp_is_signed_as_now_like_the_sdk() {
    let m = VonageSignatureMethod::Sha1;
    let mut params = sample();
    params.retain(|(k, _)| k != "timestamp");
    let mut with_now = params.clone();
    with_now.push(("timestamp".into(), "1700000500".into()));
    let sig = signature(m, "k", &with_now);
    params.push(("sig".into(), sig));
    verify(m, "k", &params, 300, at(1_700_000_500)).unwrap();
    assert!(verify(m, "k", &params, 300, at(1_700_000_501)).is_err());
}

/// A request as the handler hands it over.
fn request(method: Method, uri: &str, content_type: Option<&'static str>, body: &[u8]) -> Webhook {
    Webhook {
        method,
        uri: uri.parse().unwrap(),
        url: format!("https://sms.example.test{uri}"),
        headers: axum::http::HeaderMap::new(),
        content_type,
        body: body.to_vec().into(),
        now: Utc::now(),
    }
}

#[test]
fn parameters_come_from_query_form_or_json_and_repeats_are_refused() {
    let get = |uri: &str| params(&request(Method::GET, uri, None, b""));
    let got = get("/webhooks/vonage?msisdn=1&text=a%26b").unwrap();
    assert_eq!(got, p(&[("msisdn", "1"), ("text", "a&b")]));
    let err = get("/webhooks/vonage?a=1&a=2").unwrap_err();
    assert!(err.to_string().contains("`a` is repeated"));
    // A name that would forge a log line comes back escaped and clipped.
    let forged = format!("%0AINFO+forged%1B%5B31m{}", "n".repeat(100));
    let err = get(&format!("/webhooks/vonage?{forged}=1&{forged}=2")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("parameter `\\nINFO forged\\u{1b}[31mnnn"),
        "{err}"
    );
    assert!(err.to_string().ends_with("…` is repeated"), "{err}");

    let form = |body: &[u8]| params(&request(Method::POST, "/webhooks/vonage", Some(FORM), body));
    assert_eq!(
        form(b"to=2&text=x+y").unwrap(),
        p(&[("to", "2"), ("text", "x y")])
    );

    let json = |body: &[u8]| params(&request(Method::POST, "/webhooks/vonage", Some(JSON), body));
    let got = json(br#"{"to":"2","n":5,"b":true}"#).unwrap();
    assert!(got.contains(&("n".into(), "5".into())));
    assert!(got.contains(&("b".into(), "True".into())));
    assert!(json(b"[1]").is_err());
    assert!(json(br#"{"a":{}}"#).is_err());
    let err = json(b"{\"\\u001b[2J\":[]}").unwrap_err();
    assert_eq!(
        err.to_string(),
        "`\\u{1b}[2J` must be text, not a JSON array or object"
    );
    assert!(json(b"{").is_err());
}

#[test]
fn message_timestamp_and_concat_fields_parse_or_say_why() {
    assert_eq!(
        parse_message_timestamp("2020-01-01 12:00:00").unwrap(),
        at(1_577_880_000)
    );
    assert!(parse_message_timestamp("2020-01-01T12:00:00Z").is_err());
    assert_eq!(parse_concat(&p(&[("text", "x")])).unwrap(), None);
    let c = parse_concat(&p(&[
        ("concat", "true"),
        ("concat-ref", "7"),
        ("concat-total", "3"),
        ("concat-part", "2"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!((c.reference.as_str(), c.part, c.total), ("7", 2, 3));
    let err = parse_concat(&p(&[
        ("concat", "true"),
        ("concat-total", "3"),
        ("concat-part", "2"),
    ]))
    .unwrap_err();
    assert_eq!(err.to_string(), "missing field `concat-ref`");
    for (part, total) in [("4", "3"), ("0", "3"), ("1", "0"), ("x", "3"), ("1", "999")] {
        assert!(
            parse_concat(&p(&[
                ("concat", "true"),
                ("concat-ref", "7"),
                ("concat-total", total),
                ("concat-part", part)
            ]))
            .is_err()
        );
    }
}
