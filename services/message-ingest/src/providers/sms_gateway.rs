//! Webhooks of the SMS Gateway for Android app (capcom6/android-sms-gateway):
//! JSON `{"deviceId", "event": "sms:received", "id", "webhookId", "payload":
//! {"messageId", "message", "phoneNumber", "simNumber", "receivedAt"}}` signed
//! with `X-Signature: <hex HMAC-SHA256(signing key, raw body + X-Timestamp)>`
//! and `X-Timestamp: <unix seconds>`.
//!
//! The payload does not say which number received the SMS, so the operator
//! registers the webhook URL with `?to=<the SIM's number>` (and `&sim=<slot>`
//! on dual-SIM phones, one webhook per SIM).

use axum::http::{HeaderMap, Uri};
use chrono::{DateTime, Utc};
use config::IngestSettings;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::json::{self, missing, text};
use super::provider::{JSON, Parsed, Provider, Webhook, required_header};
use crate::accept::InboundSms;
use crate::error::IngestError;
/// Header with the hex HMAC-SHA256 signature.
pub const SIGNATURE_HEADER: &str = "x-signature";
/// Header with the signing time (Unix seconds), appended to the body before signing.
pub const TIMESTAMP_HEADER: &str = "x-timestamp";
/// The only event that carries an inbound SMS.
pub const RECEIVED_EVENT: &str = "sms:received";
/// Prefix of the message ids we derive, so they never collide with the app's own.
const ID_PREFIX: &str = "sgw-";

fn mac(key: &str, body: &[u8], timestamp: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(body);
    mac.update(timestamp.as_bytes());
    mac
}

/// Computes the `X-Signature` value the app sends for `body` signed at `timestamp`.
pub fn sign(key: &str, timestamp: &str, body: &[u8]) -> String {
    hex::encode(mac(key, body, timestamp).finalize().into_bytes())
}

/// Checks signature and freshness of an SMS Gateway webhook.
pub fn verify(
    key: &str,
    headers: &HeaderMap,
    body: &[u8],
    tolerance_secs: u64,
    now: DateTime<Utc>,
) -> Result<(), IngestError> {
    // The app signs the header text as sent, so that text is what we hash.
    let timestamp_text = required_header(headers, TIMESTAMP_HEADER)?;
    let timestamp: i64 = timestamp_text.trim().parse().map_err(|_| {
        IngestError::Unauthorized(format!("{TIMESTAMP_HEADER} must be Unix seconds"))
    })?;
    let expected = hex::decode(required_header(headers, SIGNATURE_HEADER)?.trim())
        .map_err(|_| IngestError::Unauthorized(format!("{SIGNATURE_HEADER} is not hex")))?;
    mac(key, body, timestamp_text)
        .verify_slice(&expected)
        .map_err(|_| IngestError::Unauthorized("signature does not match".into()))?;
    // Checked after the MAC, so the age of a forged request tells nothing.
    super::check_age(timestamp, now, tolerance_secs)
}

/// The fields of an `sms:received` event that identify one SMS.
#[derive(Debug)]
struct Received {
    device_id: String,
    sender: String,
    text: String,
    sim: Option<u64>,
    received_at: DateTime<Utc>,
}

/// Reads a verified body: `sms:received` is an SMS, any other event
/// (`sms:sent`, `system:ping`...) is acknowledged and ignored.
fn parse(body: &[u8]) -> Result<Parsed<Received>, IngestError> {
    let root = json::object(body)?;
    let event = text(&root, "event", "event")?;
    if event != RECEIVED_EVENT {
        return Ok(Parsed::Ignored(event.to_owned()));
    }
    let device_id = text(&root, "deviceId", "deviceId")?;
    let payload = match root.get("payload") {
        Some(p @ Value::Object(_)) => p,
        None | Some(Value::Null) => return Err(missing("payload")),
        Some(_) => {
            return Err(IngestError::BadRequest(
                "payload: expected an object".to_owned(),
            ));
        }
    };
    let sender = text(payload, "phoneNumber", "payload.phoneNumber")?;
    let message = text(payload, "message", "payload.message")?;
    let received_at =
        DateTime::parse_from_rfc3339(text(payload, "receivedAt", "payload.receivedAt")?)
            .map_err(|_| {
                IngestError::BadRequest("payload.receivedAt: expected an RFC 3339 time".to_owned())
            })?
            .with_timezone(&Utc);
    Ok(Parsed::Sms(Received {
        device_id: device_id.to_owned(),
        sender: sender.to_owned(),
        text: message.to_owned(),
        sim: payload.get("simNumber").and_then(Value::as_u64),
        received_at,
    }))
}

/// The message id we store: a hash of what makes the SMS the SMS.
///
/// The app's `messageId` is not used: the app documents it as derived from the
/// content and not unique (two different SMS may share it), and a resend may
/// carry a new one. The key is (device, receiving number, sender, text,
/// arrival instant): a resend repeats all five, while two different SMS differ
/// in at least one (the same text from the same sender arriving in another
/// second is another SMS). The arrival time is compared as an instant, so a
/// resend written in another UTC offset is still the same SMS.
fn message_id(sms: &Received, to: &str) -> String {
    let key = serde_json::json!([
        sms.device_id,
        to,
        sms.sender,
        sms.text,
        sms.received_at.timestamp_millis(),
    ]);
    let digest = Sha256::digest(key.to_string().as_bytes());
    // 128 bits of the digest keep the id short and collisions out of reach.
    format!("{ID_PREFIX}{}", hex::encode(&digest[..16]))
}

/// Receiving number and SIM slot from the webhook URL's query.
fn query(uri: &Uri) -> Result<(String, Option<u64>), IngestError> {
    let pairs = super::form_pairs(uri.query().unwrap_or("").as_bytes());
    // A '+' typed into the URL decodes as a space; E.164 parsing accepts the digits.
    let to = super::optional(&pairs, "to")
        .map(str::trim)
        .filter(|to| !to.is_empty())
        .ok_or_else(|| IngestError::BadRequest("missing query parameter `to`".to_owned()))?;
    let sim = super::optional(&pairs, "sim")
        .map(|sim| {
            sim.trim().parse::<u64>().map_err(|_| {
                IngestError::BadRequest("query parameter `sim`: expected a SIM slot number".into())
            })
        })
        .transpose()?;
    Ok((to.to_owned(), sim))
}

/// The app's webhook, `POST /webhooks/sms-gateway?to=<E.164>[&sim=<slot>]`:
/// answers 200 for an accepted (or repeated) SMS and for events that carry none.
pub struct SmsGateway;

impl Provider for SmsGateway {
    const NAME: &'static str = "sms-gateway";
    const CONTENT_TYPES: &'static [&'static str] = &[JSON];
    type Verified = ();
    type Message = InboundSms;

    fn enabled(settings: &IngestSettings) -> bool {
        !settings.providers.sms_gateway.signing_key.is_empty()
    }

    fn verify(settings: &IngestSettings, webhook: &Webhook) -> Result<(), IngestError> {
        webhook.signed_by(
            settings,
            &settings.providers.sms_gateway.signing_key,
            verify,
        )
    }

    fn parse(webhook: &Webhook, (): ()) -> Result<Parsed<InboundSms>, IngestError> {
        let sms = match parse(&webhook.body)? {
            Parsed::Sms(sms) => sms,
            Parsed::Ignored(event) => return Ok(Parsed::Ignored(event)),
        };
        let (to, sim) = query(&webhook.uri)?;
        if let (Some(wanted), Some(got)) = (sim, sms.sim)
            && wanted != got
        {
            // Another webhook, registered with that SIM's number, takes this one.
            return Ok(Parsed::Ignored(format!(
                "SMS for SIM {got}; this webhook takes SIM {wanted}"
            )));
        }
        // Normalised so `?to=+1...` and `?to=1...` give the same id.
        let number =
            domain::E164::parse(&to).map_or_else(|_| to.clone(), |n| n.as_str().to_owned());
        let provider_message_id = message_id(&sms, &number);
        Ok(Parsed::Sms(InboundSms {
            provider: Self::NAME,
            provider_message_id,
            to,
            from: sms.sender,
            body: sms.text,
            received_at: Some(sms.received_at),
            segments: 0,
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const BODY: &str = r#"{"deviceId":"ffffffffceb0b1db00000193991c27e5","event":"sms:received","id":"-9qZ4oiiZZRm-h_A3mrp2","payload":{"message":"Android is always a sweet treat!","receivedAt":"2025-03-14T07:29:55.000+07:00","messageId":"69bde8d0","phoneNumber":"6505551212","simNumber":1},"webhookId":"LreFUt-Z3sSq0JufY9uWB"}"#;

    fn headers(ts: &str, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, HeaderValue::from_str(ts).unwrap());
        h.insert(SIGNATURE_HEADER, HeaderValue::from_str(sig).unwrap());
        h
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn received(body: &str) -> Received {
        match parse(body.as_bytes()).unwrap() {
            Parsed::Sms(sms) => sms,
            Parsed::Ignored(e) => panic!("ignored {e}"),
        }
    }

    #[test]
    fn known_vector_matches_an_independent_hmac() {
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"test-key",b"{\"event\":\"sms:received\"}1700000000",hashlib.sha256).hexdigest())'
        assert_eq!(
            sign("test-key", "1700000000", br#"{"event":"sms:received"}"#),
            "b4ee1c6fba111dae5b747eae692108e3f80dbce661d1d827b7af9bc8a335ea38"
        );
    }

    #[test]
    fn valid_signature_within_the_window_passes() {
        let sig = sign("k", "1700000000", BODY.as_bytes());
        let h = headers("1700000000", &sig);
        verify("k", &h, BODY.as_bytes(), 300, at(1_700_000_300)).unwrap();
        verify("k", &h, BODY.as_bytes(), 300, at(1_699_999_700)).unwrap();
    }

    #[test]
    fn wrong_key_tampered_body_and_stale_timestamp_fail() {
        let sig = sign("k", "1700000000", BODY.as_bytes());
        let h = headers("1700000000", &sig);
        let now = at(1_700_000_000);
        assert!(verify("other", &h, BODY.as_bytes(), 300, now).is_err());
        let tampered = BODY.replace("sweet", "swEet");
        assert!(verify("k", &h, tampered.as_bytes(), 300, now).is_err());
        // The timestamp is part of what is signed.
        let h2 = headers("1700000001", &sig);
        assert!(verify("k", &h2, BODY.as_bytes(), 300, now).is_err());
        let err = verify("k", &h, BODY.as_bytes(), 300, at(1_700_000_301)).unwrap_err();
        assert!(err.to_string().contains("allowed: 300"), "{err}");
    }

    #[test]
    fn missing_or_malformed_headers_say_which() {
        let now = at(1_700_000_000);
        let err = verify("k", &HeaderMap::new(), b"", 300, now).unwrap_err();
        assert!(err.to_string().contains(TIMESTAMP_HEADER), "{err}");
        let err = verify("k", &headers("1700000000", "zz"), b"", 300, now).unwrap_err();
        assert!(err.to_string().contains("not hex"), "{err}");
        let err = verify("k", &headers("now", "00"), b"", 300, now).unwrap_err();
        assert!(err.to_string().contains("Unix seconds"), "{err}");
    }

    #[test]
    fn documented_example_parses() {
        let sms = received(BODY);
        assert_eq!(sms.device_id, "ffffffffceb0b1db00000193991c27e5");
        assert_eq!(sms.sender, "6505551212");
        assert_eq!(sms.text, "Android is always a sweet treat!");
        assert_eq!(sms.sim, Some(1));
        assert_eq!(sms.received_at.to_rfc3339(), "2025-03-14T00:29:55+00:00");
    }

    #[test]
    fn resend_with_a_new_message_id_keeps_the_id() {
        let resend = BODY
            .replace("69bde8d0", "0000beef")
            .replace("-9qZ4oiiZZRm-h_A3mrp2", "another-event-id")
            // Same instant, written in UTC.
            .replace("2025-03-14T07:29:55.000+07:00", "2025-03-14T00:29:55Z");
        let id = message_id(&received(BODY), "+12025550100");
        assert!(id.starts_with(ID_PREFIX) && id.len() == ID_PREFIX.len() + 32);
        assert_eq!(id, message_id(&received(&resend), "+12025550100"));
    }

    #[test]
    fn different_sms_get_different_ids() {
        let base = message_id(&received(BODY), "+12025550100");
        let variants = [
            BODY.replace("sweet", "sour"),
            BODY.replace("6505551212", "6505551213"),
            BODY.replace("07:29:55.000", "07:29:56.000"),
            BODY.replace("ffffffffceb0b1db", "eeeeeeeeceb0b1db"),
        ];
        for v in &variants {
            assert_ne!(base, message_id(&received(v), "+12025550100"), "{v}");
        }
        assert_ne!(base, message_id(&received(BODY), "+12025550101"));
    }

    #[test]
    fn other_events_are_ignored() {
        for event in ["sms:sent", "sms:delivered", "system:ping"] {
            let body = format!(r#"{{"event":"{event}","payload":{{}}}}"#);
            assert!(matches!(parse(body.as_bytes()).unwrap(), Parsed::Ignored(e) if e == event));
        }
    }

    #[test]
    fn missing_or_wrong_fields_are_named() {
        let cases: [(&str, &str); 7] = [
            ("nope", "invalid JSON"),
            ("[1]", "expected an object"),
            ("{}", "`event`"),
            (r#"{"event":"sms:received"}"#, "`deviceId`"),
            (r#"{"event":"sms:received","deviceId":"d"}"#, "`payload`"),
            (
                r#"{"event":"sms:received","deviceId":"d","payload":{"message":"m","phoneNumber":"1"}}"#,
                "`payload.receivedAt`",
            ),
            (
                r#"{"event":"sms:received","deviceId":"d","payload":{"message":"m","phoneNumber":"1","receivedAt":"today"}}"#,
                "RFC 3339",
            ),
        ];
        for (body, needle) in cases {
            let err = parse(body.as_bytes()).unwrap_err();
            assert!(
                matches!(err, IngestError::BadRequest(_)) && err.to_string().contains(needle),
                "{needle}: {err}"
            );
        }
    }

    #[test]
    fn query_gives_number_and_sim() {
        let q = |s: &str| query(&s.parse::<Uri>().unwrap());
        assert_eq!(
            q("/webhooks/sms-gateway?to=+12025550100").unwrap(),
            ("12025550100".to_owned(), None)
        );
        assert_eq!(
            q("/webhooks/sms-gateway?to=%2B12025550100&sim=2").unwrap(),
            ("+12025550100".to_owned(), Some(2))
        );
        for bad in [
            "/webhooks/sms-gateway",
            "/webhooks/sms-gateway?to=",
            "/x?foo=1",
        ] {
            assert!(q(bad).unwrap_err().to_string().contains("`to`"), "{bad}");
        }
        assert!(
            q("/x?to=1&sim=first")
                .unwrap_err()
                .to_string()
                .contains("`sim`")
        );
    }
}
