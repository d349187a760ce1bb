//! `POST /webhooks/smsforwarder?to=..`: the form or JSON template, with a
//! `timestamp` and `sign` (HMAC-SHA256 of "<timestamp>\n<secret>", Base64,
//! URL-encoded) set by the target in place of any the input carries.
#![no_main]

use std::sync::atomic::{AtomicI64, Ordering};

use cloudsms_fuzz::{self as h, SMSFORWARDER_SECRET, WRONG};
use libfuzzer_sys::fuzz_target;
use message_ingest::providers::smsforwarder;

/// A timestamp per run: a (timestamp, sign) pair is single use, so runs in
/// the same millisecond take the next one, up to a minute ahead of now
/// (then they share, and a "sign already used" 401 is expected).
fn fresh_timestamp() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = chrono::Utc::now().timestamp_millis();
    let next = |last: i64| {
        let next = last.saturating_add(1).max(now);
        if next > now + 60_000 { now } else { next }
    };
    let previous = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(next(last)))
        .unwrap_or_else(|last| last);
    next(previous)
}

/// `body` with `timestamp` and `sign` set: a JSON object's members, or the
/// form's fields (anything else is sent as it is).
fn signed_body(body: &[u8], json: bool, secret: &str, timestamp: &str) -> Vec<u8> {
    let sign = smsforwarder::sign(secret, timestamp);
    if json {
        return match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(serde_json::Value::Object(mut members)) => {
                members.insert("timestamp".into(), timestamp.into());
                members.insert("sign".into(), sign.into());
                serde_json::Value::Object(members).to_string().into_bytes()
            }
            _ => body.to_vec(),
        };
    }
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(body)
        .into_owned()
        .filter(|(name, _)| name != "timestamp" && name != "sign")
        .collect();
    pairs.push(("timestamp".into(), timestamp.into()));
    pairs.push(("sign".into(), sign));
    h::encode(&pairs).into_bytes()
}

fuzz_target!(|data: &[u8]| {
    let input = h::Input::parse(data);
    let body = input.body;
    let now = chrono::Utc::now();
    let text = String::from_utf8_lossy(body);

    // The verifier alone: the sign of a timestamp verifies, another
    // secret's or another timestamp's never does.
    let ts = now.timestamp_millis().to_string();
    let good = smsforwarder::sign(SMSFORWARDER_SECRET, &ts);
    let fields = |ts: &str, sign: &str| vec![("timestamp".to_owned(), ts.to_owned()), ("sign".to_owned(), sign.to_owned())];
    smsforwarder::verify(SMSFORWARDER_SECRET, &fields(&ts, &good), now)
        .unwrap_or_else(|e| panic!("correctly signed timestamp refused: {e}"));
    assert!(smsforwarder::verify(SMSFORWARDER_SECRET, &fields(&ts, &smsforwarder::sign(WRONG, &ts)), now).is_err());
    assert!(smsforwarder::verify(SMSFORWARDER_SECRET, &fields(&ts, text.trim()), now).is_err() || text.trim() == good);
    assert!(smsforwarder::verify(SMSFORWARDER_SECRET, &fields(text.trim(), &good), now).is_err() || text.trim() == ts);

    let json = input.is_json();
    let content_type = if json {
        "application/json"
    } else {
        "application/x-www-form-urlencoded"
    };
    let path = h::path_and_query("/webhooks/smsforwarder", &h::encode(&input.query));
    let ingest = h::ingest();
    let timestamp = fresh_timestamp().to_string();
    let (status, answer) = ingest.send(h::post(
        &path,
        content_type,
        &[],
        signed_body(body, json, SMSFORWARDER_SECRET, &timestamp),
    ));
    // A body that is not a JSON object carries no sign of ours.
    let spoiled = json && !matches!(serde_json::from_slice(body), Ok(serde_json::Value::Object(_)));
    let reused = String::from_utf8_lossy(&answer).contains("sign already used");
    h::check_signed("smsforwarder", status, &answer, spoiled || reused);
    let timestamp = fresh_timestamp().to_string();
    let (status, answer) = ingest.send(h::post(
        &path,
        content_type,
        &[],
        signed_body(body, json, WRONG, &timestamp),
    ));
    h::check_refused("smsforwarder", status, &answer);
});
