//! Our own webhook: JSON `{to, from, body, id, received_at}` signed with
//! `X-Cloudsms-Signature: sha256=<hex HMAC-SHA256(secret, "<ts>.<raw body>")>`
//! and `X-Cloudsms-Timestamp: <unix seconds>`.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use config::IngestSettings;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::provider::{JSON, Parsed, Provider, Webhook, json_answer, required_header};
use crate::accept::{Accepted, InboundSms};
use crate::error::IngestError;

/// Header with the signing time.
pub const TIMESTAMP_HEADER: &str = "x-cloudsms-timestamp";
/// Header with the signature.
pub const SIGNATURE_HEADER: &str = "x-cloudsms-signature";

/// The JSON body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    to: String,
    from: String,
    body: String,
    id: String,
    #[serde(default)]
    received_at: Option<Timestamp>,
}

/// RFC 3339 text or Unix seconds.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Timestamp {
    Unix(i64),
    Text(String),
}

impl Timestamp {
    fn parse(&self) -> Result<DateTime<Utc>, IngestError> {
        let parsed = match self {
            Timestamp::Unix(secs) => DateTime::from_timestamp(*secs, 0),
            Timestamp::Text(text) => DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
        };
        parsed.ok_or_else(|| {
            IngestError::BadRequest(
                "received_at: expected RFC 3339 text or Unix seconds".to_owned(),
            )
        })
    }
}

/// Computes the signature header value for `body` (also used by the demo and tests).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks signature and freshness of a generic webhook.
pub fn verify(
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
    tolerance_secs: u64,
    now: DateTime<Utc>,
) -> Result<(), IngestError> {
    let timestamp: i64 = required_header(headers, TIMESTAMP_HEADER)?
        .trim()
        .parse()
        .map_err(|_| {
            IngestError::Unauthorized(format!("{TIMESTAMP_HEADER} must be Unix seconds"))
        })?;
    let signature = required_header(headers, SIGNATURE_HEADER)?.trim();
    let hex_sig = signature.strip_prefix("sha256=").ok_or_else(|| {
        IngestError::Unauthorized(format!("{SIGNATURE_HEADER} must start with sha256="))
    })?;
    let expected = hex::decode(hex_sig)
        .map_err(|_| IngestError::Unauthorized(format!("{SIGNATURE_HEADER} is not hex")))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| IngestError::Unavailable("signing key unusable".into()))?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| IngestError::Unauthorized("signature does not match".into()))?;
    // Checked after the MAC, so the age of a forged request tells nothing.
    super::check_age(timestamp, now, tolerance_secs)
}

/// Our own webhook, `POST /webhooks/generic`: answers 202 once accepted.
pub struct Generic;

impl Provider for Generic {
    const NAME: &'static str = "generic";
    const CONTENT_TYPES: &'static [&'static str] = &[JSON];
    const BODY_CHECKED_FIRST: bool = true;
    type Verified = ();
    type Message = InboundSms;

    fn enabled(settings: &IngestSettings) -> bool {
        !settings.providers.generic.secret.is_empty()
    }

    fn verify(settings: &IngestSettings, webhook: &Webhook) -> Result<(), IngestError> {
        webhook.signed_by(settings, &settings.providers.generic.secret, verify)
    }

    fn parse(webhook: &Webhook, (): ()) -> Result<Parsed<InboundSms>, IngestError> {
        let payload: Payload =
            serde_json::from_slice(&webhook.body).map_err(|e| IngestError::invalid_json(&e))?;
        let received_at = payload
            .received_at
            .as_ref()
            .map(Timestamp::parse)
            .transpose()?;
        Ok(Parsed::Sms(InboundSms {
            provider: Self::NAME,
            provider_message_id: payload.id,
            to: payload.to,
            from: payload.from,
            body: payload.body,
            received_at,
            segments: 0,
        }))
    }

    fn answer(_: &IngestSettings, outcome: Result<Option<Accepted>, IngestError>) -> Response {
        json_answer(StatusCode::ACCEPTED, outcome)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn signed(secret: &str, ts: i64, body: &[u8]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            TIMESTAMP_HEADER,
            HeaderValue::from_str(&ts.to_string()).unwrap(),
        );
        h.insert(
            SIGNATURE_HEADER,
            HeaderValue::from_str(&sign(secret, ts, body)).unwrap(),
        );
        h
    }

    #[test]
    fn valid_signature_within_window_passes() {
        let now = Utc::now();
        let body = br#"{"to":"+1"}"#;
        verify(
            "k",
            &signed("k", now.timestamp() - 299, body),
            body,
            300,
            now,
        )
        .unwrap();
    }

    #[test]
    fn wrong_key_tampered_body_and_stale_timestamp_fail() {
        let now = Utc::now();
        let body = br#"{"to":"+1"}"#;
        let ts = now.timestamp();
        assert!(verify("k", &signed("other", ts, body), body, 300, now).is_err());
        assert!(verify("k", &signed("k", ts, body), br#"{"to":"+2"}"#, 300, now).is_err());
        let err = verify("k", &signed("k", ts - 301, body), body, 300, now).unwrap_err();
        assert!(err.to_string().contains("allowed: 300"));
        let err = verify("k", &signed("k", ts + 301, body), body, 300, now).unwrap_err();
        assert!(err.to_string().contains("away from now"));
    }

    #[test]
    fn missing_or_malformed_headers_say_which() {
        let now = Utc::now();
        let err = verify("k", &HeaderMap::new(), b"", 300, now).unwrap_err();
        assert!(err.to_string().contains(TIMESTAMP_HEADER));
        let mut h = signed("k", now.timestamp(), b"");
        h.insert(SIGNATURE_HEADER, HeaderValue::from_static("md5=00"));
        assert!(
            verify("k", &h, b"", 300, now)
                .unwrap_err()
                .to_string()
                .contains("sha256=")
        );
    }

    #[test]
    fn known_vector_matches_an_independent_hmac() {
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"secret",b"1700000000.{}",hashlib.sha256).hexdigest())'
        assert_eq!(
            sign("secret", 1_700_000_000, b"{}"),
            "sha256=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
        );
    }
}
