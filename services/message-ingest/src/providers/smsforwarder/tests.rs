#![allow(clippy::unwrap_used)]

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};

use super::*;

const SECRET: &str = "test-smsforwarder-secret";
/// 1700000000000 ms.
const TS: &str = "1700000000000";
// python3 tests/oracles/smsforwarder_sign.py test-smsforwarder-secret 1700000000000
const SIGN: &str = "s94k6T%2BG0a0A18LRdHd0KMmTf3jV8qR3dA5PS%2F%2BZ3nE%3D";

fn at_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn webhook(query: &str, content_type: &'static str, body: &str) -> Webhook {
    Webhook {
        method: Method::POST,
        uri: format!("/webhooks/smsforwarder{query}")
            .parse::<Uri>()
            .unwrap(),
        url: String::new(),
        headers: HeaderMap::new(),
        content_type: Some(content_type),
        body: Bytes::from(body.to_owned()),
        now: at_ms(1_700_000_000_000),
    }
}

#[test]
fn sign_matches_the_oracle_of_the_app_source() {
    assert_eq!(sign(SECRET, TS), SIGN);
    // python3 tests/oracles/smsforwarder_sign.py test-smsforwarder-secret 1700000000002
    assert_eq!(
        sign(SECRET, "1700000000002"),
        "5j04QJmDELEBIDcVGQIMELHtYpwPhnKPUDcuOV0vCxs%3D"
    );
}

#[test]
fn java_url_encoding_is_literal() {
    assert_eq!(java_url_encode("aZ09.-*_"), "aZ09.-*_");
    assert_eq!(java_url_encode("a b+/=~"), "a+b%2B%2F%3D%7E");
    assert_eq!(java_url_encode("验"), "%E9%AA%8C");
}

#[test]
fn a_signed_fresh_timestamp_passes_within_five_minutes_either_way() {
    let p = pairs(&[("timestamp", TS), ("sign", SIGN)]);
    assert_eq!(
        verify(SECRET, &p, at_ms(1_700_000_000_000)).unwrap(),
        1_700_000_000_000
    );
    verify(SECRET, &p, at_ms(1_700_000_000_000 + WINDOW_MS)).unwrap();
    verify(SECRET, &p, at_ms(1_700_000_000_000 - WINDOW_MS)).unwrap();
    let stale = verify(SECRET, &p, at_ms(1_700_000_000_000 + WINDOW_MS + 1)).unwrap_err();
    assert!(matches!(stale, IngestError::Unauthorized(_)), "{stale}");
    assert!(stale.to_string().contains("away from now"), "{stale}");
    let future = verify(SECRET, &p, at_ms(1_700_000_000_000 - WINDOW_MS - 1)).unwrap_err();
    assert!(future.to_string().contains("away from now"), "{future}");
}

#[test]
fn a_changed_sign_another_secret_or_another_timestamp_fails() {
    let now = at_ms(1_700_000_000_000);
    let mut changed = SIGN.to_owned();
    changed.replace_range(0..1, "t");
    for (ts, sign_text) in [
        (TS, changed.as_str()),
        // The Base64 itself, not URL-encoded as the app sends it.
        (TS, "s94k6T+G0a0A18LRdHd0KMmTf3jV8qR3dA5PS/+Z3nE="),
        ("1700000000001", SIGN),
        ("01700000000000", SIGN),
        (TS, ""),
    ] {
        let err = verify(
            SECRET,
            &pairs(&[("timestamp", ts), ("sign", sign_text)]),
            now,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "sign does not match", "{ts} {sign_text}");
    }
    let err = verify("other", &pairs(&[("timestamp", TS), ("sign", SIGN)]), now).unwrap_err();
    assert_eq!(err.to_string(), "sign does not match");
}

#[test]
fn missing_malformed_or_repeated_signature_fields_are_refused() {
    let now = at_ms(1_700_000_000_000);
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("sign", SIGN)], "missing field `timestamp`"),
        (&[("timestamp", TS)], "missing field `sign`"),
        (
            &[("timestamp", "1.7e12"), ("sign", SIGN)],
            "Unix milliseconds",
        ),
        (&[("timestamp", "-1"), ("sign", SIGN)], "Unix milliseconds"),
        (
            &[("timestamp", "99999999999999999999"), ("sign", SIGN)],
            "Unix milliseconds",
        ),
        (
            &[("timestamp", TS), ("sign", SIGN), ("sign", SIGN)],
            "more than once",
        ),
    ];
    for (list, needle) in cases {
        let err = verify(SECRET, &pairs(list), now).unwrap_err();
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
}

#[test]
fn org_content_is_preferred_and_the_id_is_the_message() {
    let signed = |list: &[(&str, &str)]| Signed {
        pairs: pairs(list),
        timestamp: 1_700_000_000_000,
    };
    let hook = webhook("?to=+8613800138000", FORM, "");
    let base = [("from", "10690000"), ("timestamp", TS), ("sign", SIGN)];
    let templated = "From: 10690000\nYour code is 123456\nSIM1_China Mobile";
    let mut list = base.to_vec();
    list.extend([
        ("content", templated),
        ("org_content", "Your code is 123456"),
    ]);
    let Parsed::Sms(message) = parse(&hook, signed(&list)).unwrap() else {
        panic!("not an SMS")
    };
    assert_eq!(message.sms.body, "Your code is 123456");
    assert_eq!(message.sms.from, "10690000");
    assert_eq!(message.sms.to, "8613800138000");
    assert_eq!(message.sms.provider, "smsforwarder");
    assert_eq!(
        message.sms.received_at.unwrap().timestamp_millis(),
        1_700_000_000_000
    );
    assert_eq!(message.claim, format!("smsforwarder:sign:{TS}:{SIGN}"));
    let id = message.sms.provider_message_id.clone();
    assert!(id.starts_with("smsf-"), "{id}");

    // Without org_content, the templated content.
    let mut list = base.to_vec();
    list.push(("content", templated));
    let Parsed::Sms(plain) = parse(&hook, signed(&list)).unwrap() else {
        panic!("not an SMS")
    };
    assert_eq!(plain.sms.body, templated);
    assert_ne!(plain.sms.provider_message_id, id);

    // The same message to the number written as `%2B86...` is the same id.
    let mut list = base.to_vec();
    list.extend([
        ("content", templated),
        ("org_content", "Your code is 123456"),
    ]);
    let other_form = webhook("?to=%2B8613800138000", FORM, "");
    let Parsed::Sms(same) = parse(&other_form, signed(&list)).unwrap() else {
        panic!("not an SMS")
    };
    assert_eq!(same.sms.provider_message_id, id);
}

#[test]
fn missing_message_fields_and_to_are_400() {
    let signed = |list: &[(&str, &str)]| Signed {
        pairs: pairs(list),
        timestamp: 1_700_000_000_000,
    };
    let hook = webhook("?to=%2B8613800138000", FORM, "");
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("content", "x")], "missing field `from`"),
        (&[("from", "1")], "missing field `content`"),
        (
            &[("from", "1"), ("content", "x"), ("content", "y")],
            "more than once",
        ),
    ];
    for (list, needle) in cases {
        let err = parse(&hook, signed(list)).unwrap_err();
        assert!(
            matches!(err, IngestError::BadRequest(_)) && err.to_string().contains(needle),
            "{needle}: {err}"
        );
    }
    for query in ["", "?to=", "?to=1&to=2"] {
        let err = parse(
            &webhook(query, FORM, ""),
            signed(&[("from", "1"), ("content", "x")]),
        )
        .unwrap_err();
        assert!(matches!(err, IngestError::BadRequest(_)), "{query}: {err}");
    }
}

#[test]
fn json_templates_read_strings_and_numbers() {
    let body = format!(
        r#"{{"from":"10690000","content":"templated","org_content":"Code 42","timestamp":{TS},"sign":"{SIGN}","card_slot":"SIM1","receive_time":"2023-11-15 06:13:20","extra":{{"a":1}}}}"#
    );
    let hook = webhook("?to=%2B8613800138000", JSON, &body);
    let p = fields(&hook).unwrap();
    assert_eq!(single(&p, "timestamp").unwrap(), Some(TS));
    assert_eq!(single(&p, "org_content").unwrap(), Some("Code 42"));
    assert_eq!(single(&p, "extra").unwrap(), None);
    for bad in ["{", "[]", "\"x\""] {
        let err = fields(&webhook("", JSON, bad)).unwrap_err();
        assert!(matches!(err, IngestError::BadRequest(_)), "{bad}: {err}");
    }
}

#[test]
fn receive_time_ties_the_id_to_the_sms_not_the_request() {
    let hook = webhook("?to=%2B8613800138000", FORM, "");
    let id = |timestamp: i64, receive_time: Option<&str>| {
        let mut list = vec![("from", "10690000"), ("org_content", "Code 42")];
        list.extend(receive_time.map(|t| ("receive_time", t)));
        let Parsed::Sms(message) = parse(
            &hook,
            Signed {
                pairs: pairs(&list),
                timestamp,
            },
        )
        .unwrap() else {
            panic!("not an SMS")
        };
        message.sms.provider_message_id
    };
    // The app's manual resend: a new timestamp, the same receive_time.
    let at = Some("2026-12-04 20:00:00");
    assert_eq!(id(1_700_000_000_000, at), id(1_700_000_090_000, at));
    assert_ne!(
        id(1_700_000_000_000, at),
        id(1_700_000_000_000, Some("2026-12-04 20:00:01"))
    );
    // Without it, the timestamp.
    assert_eq!(
        id(1_700_000_000_000, None),
        id(1_700_000_000_000, Some(" "))
    );
    assert_ne!(id(1_700_000_000_000, None), id(1_700_000_090_000, None));
    assert_ne!(id(1_700_000_000_000, None), id(1_700_000_000_000, at));
}
