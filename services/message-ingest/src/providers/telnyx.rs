//! Telnyx Messaging (API v2) webhooks: a JSON event
//! `{"data": {"event_type": "message.received", "payload": {...}}}` signed with
//! Ed25519. `telnyx-signature-ed25519` is the base64 signature of
//! `"<telnyx-timestamp>|<raw body>"`, `telnyx-timestamp` the signing time in
//! Unix seconds; `ingest.providers.telnyx.public_key` is the account's base64
//! public key from the Telnyx portal.

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use config::IngestSettings;
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::Value;

use super::json::{self, missing, text};
use super::provider::{JSON, Parsed, Provider, Webhook, required_header};
use crate::accept::InboundSms;
use crate::error::IngestError;
/// Header with the base64 Ed25519 signature.
pub const SIGNATURE_HEADER: &str = "telnyx-signature-ed25519";
/// Header with the signing time (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "telnyx-timestamp";
/// The only event that carries an inbound SMS.
pub const RECEIVED_EVENT: &str = "message.received";

/// Parses the configured public key (base64 of the 32 key bytes).
///
/// A bad key is our misconfiguration, not the caller's fault: it answers 503 so
/// Telnyx keeps retrying until the operator fixes the setting.
fn public_key(configured: &str) -> Result<VerifyingKey, IngestError> {
    let unusable = || {
        IngestError::Unavailable(
            "ingest.providers.telnyx.public_key is not a base64 Ed25519 public key".to_owned(),
        )
    };
    let bytes = STANDARD.decode(configured.trim()).map_err(|_| unusable())?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|_| unusable())?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| unusable())
}

/// Checks the Ed25519 signature and the freshness of a Telnyx webhook.
pub fn verify(
    public_key_b64: &str,
    headers: &HeaderMap,
    body: &[u8],
    tolerance_secs: u64,
    now: DateTime<Utc>,
) -> Result<(), IngestError> {
    let key = public_key(public_key_b64)?;
    // The signed text holds the header exactly as sent, so it is not reformatted.
    let timestamp_text = required_header(headers, TIMESTAMP_HEADER)?;
    let timestamp: i64 = timestamp_text.trim().parse().map_err(|_| {
        IngestError::Unauthorized(format!("{TIMESTAMP_HEADER} must be Unix seconds"))
    })?;
    let signature = STANDARD
        .decode(required_header(headers, SIGNATURE_HEADER)?.trim())
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or_else(|| {
            IngestError::Unauthorized(format!(
                "{SIGNATURE_HEADER} is not a base64 Ed25519 signature"
            ))
        })?;
    let mut signed = Vec::with_capacity(timestamp_text.len() + 1 + body.len());
    signed.extend_from_slice(timestamp_text.as_bytes());
    signed.push(b'|');
    signed.extend_from_slice(body);
    // Strict verification also refuses malleable signatures and weak keys.
    key.verify_strict(&signed, &signature)
        .map_err(|_| IngestError::Unauthorized("signature does not match".into()))?;
    // Checked after the signature, so the age of a forged request tells nothing.
    super::check_age(timestamp, now, tolerance_secs)
}

/// Parses a verified body: `message.received` is an SMS, any other event
/// (delivery reports...) is acknowledged and ignored.
fn parse(body: &[u8]) -> Result<Parsed<InboundSms>, IngestError> {
    let root = json::object(body)?;
    if root.get("data").is_none_or(Value::is_null) {
        return Err(missing("data"));
    }
    let event_type = text(&root, "/data/event_type", "data.event_type")?;
    if event_type != RECEIVED_EVENT {
        return Ok(Parsed::Ignored(event_type.to_owned()));
    }
    let id = text(&root, "/data/payload/id", "data.payload.id")?;
    let from = text(
        &root,
        "/data/payload/from/phone_number",
        "data.payload.from.phone_number",
    )?;
    // Telnyx lists recipients; an inbound SMS has one, our number.
    let to = text(
        &root,
        "/data/payload/to/0/phone_number",
        "data.payload.to[0].phone_number",
    )?;
    let body_text = text(&root, "/data/payload/text", "data.payload.text")?;
    let received_at = match root.pointer("/data/payload/received_at") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    IngestError::BadRequest(
                        "data.payload.received_at: expected an RFC 3339 time".to_owned(),
                    )
                })?
                .with_timezone(&Utc),
        ),
        Some(_) => {
            return Err(IngestError::BadRequest(
                "data.payload.received_at: expected an RFC 3339 time".to_owned(),
            ));
        }
    };
    let segments = root
        .pointer("/data/payload/parts")
        .and_then(Value::as_u64)
        .and_then(|parts| u32::try_from(parts).ok())
        .unwrap_or(0);
    Ok(Parsed::Sms(InboundSms {
        provider: Telnyx::NAME,
        provider_message_id: id.to_owned(),
        to: to.to_owned(),
        from: from.to_owned(),
        body: body_text.to_owned(),
        received_at,
        segments,
    }))
}

/// Telnyx's webhook, `POST /webhooks/telnyx`: answers 200 for an accepted
/// (or repeated) SMS and for events that carry none.
pub struct Telnyx;

impl Provider for Telnyx {
    const NAME: &'static str = "telnyx";
    const CONTENT_TYPES: &'static [&'static str] = &[JSON];
    type Verified = ();
    type Message = InboundSms;

    fn enabled(settings: &IngestSettings) -> bool {
        !settings.providers.telnyx.public_key.trim().is_empty()
    }

    fn verify(settings: &IngestSettings, webhook: &Webhook) -> Result<(), IngestError> {
        webhook.signed_by(settings, &settings.providers.telnyx.public_key, verify)
    }

    fn parse(webhook: &Webhook, (): ()) -> Result<Parsed<InboundSms>, IngestError> {
        parse(&webhook.body)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    // Vectors from PyNaCl, the library the brief names for Telnyx:
    //   sk = nacl.signing.SigningKey(bytes(range(32)))
    //   base64.b64encode(bytes(sk.verify_key))
    //   base64.b64encode(sk.sign(b"1700000000|" + BODY).signature)
    const PUBLIC_KEY: &str = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";
    const BODY: &[u8] = br#"{"data":{"event_type":"message.received"}}"#;
    const SIGNATURE: &str =
        "NMQOthHKj00VoDxQbYGerZjOOFli2xhAkPDkJFo6ejSVzSWldlkGjrXx4fd+FqAwHXxSF3mTDGg9fXZ65b/+Cg==";
    const TS: i64 = 1_700_000_000;

    fn headers(ts: &str, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, HeaderValue::from_str(ts).unwrap());
        h.insert(SIGNATURE_HEADER, HeaderValue::from_str(sig).unwrap());
        h
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn pynacl_vector_verifies_within_the_window() {
        let h = headers("1700000000", SIGNATURE);
        verify(PUBLIC_KEY, &h, BODY, 300, at(TS)).unwrap();
        verify(PUBLIC_KEY, &h, BODY, 300, at(TS + 300)).unwrap();
        verify(PUBLIC_KEY, &h, BODY, 300, at(TS - 300)).unwrap();
    }

    #[test]
    fn stale_or_future_timestamp_is_refused_after_the_signature() {
        let h = headers("1700000000", SIGNATURE);
        let err = verify(PUBLIC_KEY, &h, BODY, 300, at(TS + 301)).unwrap_err();
        assert!(err.to_string().contains("allowed: 300"), "{err}");
        assert!(verify(PUBLIC_KEY, &h, BODY, 300, at(TS - 301)).is_err());
    }

    #[test]
    fn tampered_body_timestamp_or_signature_fails() {
        let mut body = BODY.to_vec();
        body[2] ^= 1;
        let h = headers("1700000000", SIGNATURE);
        let err = verify(PUBLIC_KEY, &h, &body, 300, at(TS)).unwrap_err();
        assert!(matches!(err, IngestError::Unauthorized(_)));
        let h = headers("1700000001", SIGNATURE);
        assert!(verify(PUBLIC_KEY, &h, BODY, 300, at(TS)).is_err());
        let mut sig = STANDARD.decode(SIGNATURE).unwrap();
        sig[0] ^= 1;
        let h = headers("1700000000", &STANDARD.encode(sig));
        assert!(verify(PUBLIC_KEY, &h, BODY, 300, at(TS)).is_err());
    }

    #[test]
    fn missing_or_malformed_headers_say_which() {
        let err = verify(PUBLIC_KEY, &HeaderMap::new(), BODY, 300, at(TS)).unwrap_err();
        assert!(err.to_string().contains(TIMESTAMP_HEADER), "{err}");
        let mut h = HeaderMap::new();
        h.insert(TIMESTAMP_HEADER, HeaderValue::from_static("1700000000"));
        let err = verify(PUBLIC_KEY, &h, BODY, 300, at(TS)).unwrap_err();
        assert!(err.to_string().contains(SIGNATURE_HEADER), "{err}");
        let err = verify(PUBLIC_KEY, &headers("soon", SIGNATURE), BODY, 300, at(TS)).unwrap_err();
        assert!(err.to_string().contains("Unix seconds"), "{err}");
        for bad in ["%%%", "AAAA"] {
            let err =
                verify(PUBLIC_KEY, &headers("1700000000", bad), BODY, 300, at(TS)).unwrap_err();
            assert!(err.to_string().contains("base64 Ed25519"), "{err}");
        }
    }

    #[test]
    fn unusable_public_key_is_a_server_error() {
        let h = headers("1700000000", SIGNATURE);
        for key in ["not base64!", "AAAA"] {
            let err = verify(key, &h, BODY, 300, at(TS)).unwrap_err();
            assert!(matches!(err, IngestError::Unavailable(_)), "{err}");
        }
    }

    #[test]
    fn message_received_becomes_an_inbound_sms() {
        let body = br#"{"data":{"event_type":"message.received","id":"ev-1","record_type":"event",
            "payload":{"id":"b0c7e8cb-6227-4c74-9f32-c7f80c30934b","direction":"inbound",
            "from":{"phone_number":"+13125550001","carrier":"T-Mobile"},
            "to":[{"phone_number":"+12025550142","status":"webhook_delivered"}],
            "text":"Hello \u00e9","parts":2,"received_at":"2024-06-22T15:46:11.588+00:00"}},
            "meta":{"attempt":1}}"#;
        let Parsed::Sms(sms) = parse(body).unwrap() else {
            panic!("not an SMS")
        };
        assert_eq!(sms.provider, "telnyx");
        assert_eq!(
            sms.provider_message_id,
            "b0c7e8cb-6227-4c74-9f32-c7f80c30934b"
        );
        assert_eq!(sms.to, "+12025550142");
        assert_eq!(sms.from, "+13125550001");
        assert_eq!(sms.body, "Hello é");
        assert_eq!(sms.segments, 2);
        assert_eq!(
            sms.received_at.unwrap().timestamp_millis(),
            1_719_071_171_588
        );
    }

    #[test]
    fn other_events_are_ignored() {
        for event in ["message.sent", "message.finalized"] {
            let body = format!(r#"{{"data":{{"event_type":"{event}","payload":{{}}}}}}"#);
            assert!(matches!(parse(body.as_bytes()).unwrap(), Parsed::Ignored(e) if e == event));
        }
    }

    #[test]
    fn missing_or_wrong_fields_are_named() {
        let cases: [(&[u8], &str); 8] = [
            (b"not json", "invalid JSON"),
            (b"[]", "expected an object"),
            (b"{}", "`data`"),
            (br#"{"data":{}}"#, "`data.event_type`"),
            (
                br#"{"data":{"event_type":"message.received","payload":{}}}"#,
                "`data.payload.id`",
            ),
            (
                br#"{"data":{"event_type":"message.received","payload":{"id":"x","from":{"phone_number":"+1"},"to":[],"text":""}}}"#,
                "`data.payload.to[0].phone_number`",
            ),
            (
                br#"{"data":{"event_type":"message.received","payload":{"id":7}}}"#,
                "data.payload.id: expected a string",
            ),
            (
                br#"{"data":{"event_type":"message.received","payload":{"id":"x","from":{"phone_number":"+1"},"to":[{"phone_number":"+2"}],"text":"","received_at":"yesterday"}}}"#,
                "received_at",
            ),
        ];
        for (body, needle) in cases {
            let err = parse(body).unwrap_err();
            assert!(
                matches!(err, IngestError::BadRequest(_)) && err.to_string().contains(needle),
                "{needle}: {err}"
            );
        }
    }
}
