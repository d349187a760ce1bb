//! httpSMS (httpsms.com) webhooks: a CloudEvent in JSON,
//! `{"specversion": "1.0", "id", "type": "message.phone.received", "data":
//! {"message_id", "owner", "contact", "content", "timestamp", "sim", ...}}`,
//! authenticated by `Authorization: Bearer <JWT>`: HS256 with the webhook's
//! signing key, `aud` = the webhook URL, `exp`/`nbf`/`iat` set by httpSMS.
//! `owner` is the phone that received the SMS (our number), `contact` the sender.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use config::IngestSettings;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::json::{self, missing, text};
use super::provider::{JSON, Parsed, Provider, Webhook, required_header};
use crate::accept::InboundSms;
use crate::error::IngestError;
/// The only event type that carries an inbound SMS.
pub const RECEIVED_EVENT: &str = "message.phone.received";
/// Clock difference allowed on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: i64 = 30;

fn unauthorized(msg: &str) -> IngestError {
    IngestError::Unauthorized(msg.to_owned())
}

/// The bearer token of `Authorization`.
fn bearer(headers: &HeaderMap) -> Result<&str, IngestError> {
    let value = required_header(headers, header::AUTHORIZATION.as_str())?.trim();
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| unauthorized("authorization must be `Bearer <token>`"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(unauthorized("authorization must be `Bearer <token>`"));
    }
    Ok(token.trim())
}

fn decode_json(segment: &str, what: &str) -> Result<Value, IngestError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| IngestError::Unauthorized(format!("token {what} is not base64url")))?;
    match serde_json::from_slice(&bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(IngestError::Unauthorized(format!(
            "token {what} is not a JSON object"
        ))),
    }
}

/// A NumericDate claim, when present.
fn numeric_claim(claims: &Value, name: &str) -> Result<Option<f64>, IngestError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|t| t.is_finite())
            .map(Some)
            .ok_or_else(|| IngestError::Unauthorized(format!("token `{name}` is not a number"))),
    }
}

/// Verifies an HS256 JWT: signature (constant time), then `exp`, `nbf`, `iat`
/// (each when present, with [`LEEWAY_SECS`]) and `aud`, which must equal
/// `audience` (as a string or one item of an array).
pub fn verify_token(
    key: &str,
    token: &str,
    audience: &str,
    now: DateTime<Utc>,
) -> Result<(), IngestError> {
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unauthorized("token is not a JWS compact serialization"));
    };
    let header = decode_json(header_b64, "header")?;
    // Only HS256: "none" or any other algorithm would let the token choose
    // how (or whether) it is checked.
    if header.get("alg").and_then(Value::as_str) != Some("HS256") {
        return Err(unauthorized("token algorithm must be HS256"));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| unauthorized("token signature is not base64url"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .map_err(|_| IngestError::Unavailable("signing key unusable".into()))?;
    mac.update(header_b64.as_bytes());
    mac.update(b".");
    mac.update(claims_b64.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| unauthorized("token signature does not match"))?;

    let claims = decode_json(claims_b64, "claims")?;
    // Fractions of a second do not matter at this leeway.
    let now = now.timestamp() as f64;
    let leeway = LEEWAY_SECS as f64;
    if let Some(exp) = numeric_claim(&claims, "exp")?
        && now > exp + leeway
    {
        return Err(unauthorized("token has expired"));
    }
    if let Some(nbf) = numeric_claim(&claims, "nbf")?
        && now + leeway < nbf
    {
        return Err(unauthorized("token is not valid yet"));
    }
    if let Some(iat) = numeric_claim(&claims, "iat")?
        && now + leeway < iat
    {
        return Err(unauthorized("token is issued in the future"));
    }
    let matches = match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
        _ => return Err(unauthorized("token has no `aud`")),
    };
    if !matches {
        return Err(IngestError::Unauthorized(format!(
            "token `aud` is not this webhook's URL ({})",
            domain::log_safe(audience)
        )));
    }
    Ok(())
}

/// Reads a verified body: `message.phone.received` is an SMS, any other
/// event type (`message.phone.sent`...) is acknowledged and ignored.
fn parse(body: &[u8]) -> Result<Parsed<InboundSms>, IngestError> {
    let root = json::object(body)?;
    let event_type = text(&root, "type", "type")?;
    if event_type != RECEIVED_EVENT {
        return Ok(Parsed::Ignored(event_type.to_owned()));
    }
    let data = match root.get("data") {
        Some(d @ Value::Object(_)) => d,
        None | Some(Value::Null) => return Err(missing("data")),
        Some(_) => {
            return Err(IngestError::BadRequest(
                "data: expected an object".to_owned(),
            ));
        }
    };
    // Releases before `message_id` named the message's id `id`.
    let id = match data.get("message_id") {
        None | Some(Value::Null) => text(data, "id", "data.message_id")?,
        Some(_) => text(data, "message_id", "data.message_id")?,
    };
    let owner = text(data, "owner", "data.owner")?;
    let contact = text(data, "contact", "data.contact")?;
    let content = text(data, "content", "data.content")?;
    let received_at = match data.get("timestamp") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| {
                    IngestError::BadRequest("data.timestamp: expected an RFC 3339 time".to_owned())
                })?
                .with_timezone(&Utc),
        ),
        Some(_) => {
            return Err(IngestError::BadRequest(
                "data.timestamp: expected an RFC 3339 time".to_owned(),
            ));
        }
    };
    Ok(Parsed::Sms(InboundSms {
        provider: Httpsms::NAME,
        provider_message_id: id.to_owned(),
        to: owner.to_owned(),
        from: contact.to_owned(),
        body: content.to_owned(),
        received_at,
        segments: 0,
    }))
}

/// httpSMS's webhook, `POST /webhooks/httpsms`: answers 200 for an accepted
/// (or repeated) SMS and for events that carry none.
pub struct Httpsms;

impl Provider for Httpsms {
    const NAME: &'static str = "httpsms";
    const CONTENT_TYPES: &'static [&'static str] = &[JSON, "application/cloudevents+json"];
    /// Older httpSMS releases send no content type at all; a wrong one is refused.
    const CONTENT_TYPE_OPTIONAL: bool = true;
    type Verified = ();
    type Message = InboundSms;

    fn enabled(settings: &IngestSettings) -> bool {
        !settings.providers.httpsms.signing_key.is_empty()
    }

    fn verify(settings: &IngestSettings, webhook: &Webhook) -> Result<(), IngestError> {
        let key = &settings.providers.httpsms.signing_key;
        verify_token(key, bearer(&webhook.headers)?, &webhook.url, webhook.now)
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

    const KEY: &str = "test-httpsms-signing-key-0123456789";
    const AUD: &str = "https://sms.example.org/webhooks/httpsms";

    // pyjwt 2.15.1: jwt.encode({"aud": AUD, "iat": 1700000000, "exp": 1700000600,
    //   "nbf": 1699999400, "iss": "api.httpsms.com", "sub": "user"}, KEY, algorithm="HS256")
    const TOKEN: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL3Ntcy5leGFtcGxlLm9yZy93ZWJob29rcy9odHRwc21zIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDA2MDAsIm5iZiI6MTY5OTk5OTQwMCwiaXNzIjoiYXBpLmh0dHBzbXMuY29tIiwic3ViIjoidXNlciJ9._8yTHJdcYK8jG4YckcYOt3QTtWl9jln4X41BKVdQCrM";

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn pyjwt_token_verifies() {
        verify_token(KEY, TOKEN, AUD, at(1_700_000_000)).unwrap();
        verify_token(KEY, TOKEN, AUD, at(1_700_000_600 + LEEWAY_SECS)).unwrap();
    }

    #[test]
    fn expired_wrong_audience_wrong_key_and_tampered_tokens_fail() {
        let err = verify_token(KEY, TOKEN, AUD, at(1_700_000_601 + LEEWAY_SECS)).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
        let err = verify_token(
            KEY,
            TOKEN,
            "https://sms.example.org/webhooks/other",
            at(1_700_000_000),
        )
        .unwrap_err();
        assert!(err.to_string().contains("aud"), "{err}");
        let err = verify_token("other-key", TOKEN, AUD, at(1_700_000_000)).unwrap_err();
        assert!(err.to_string().contains("signature"), "{err}");
        // One changed character in the claims.
        let tampered = TOKEN.replacen("eyJhdWQi", "eyJhdWRi", 1);
        assert!(verify_token(KEY, &tampered, AUD, at(1_700_000_000)).is_err());
    }

    #[test]
    fn not_yet_valid_and_future_tokens_fail() {
        // nbf is 1699999400 in TOKEN.
        let err = verify_token(KEY, TOKEN, AUD, at(1_699_999_400 - LEEWAY_SECS - 1)).unwrap_err();
        assert!(err.to_string().contains("not valid yet"), "{err}");
        // pyjwt: {"aud": AUD, "iat": 1700000100}
        let err = verify_token(KEY, FUTURE_IAT, AUD, at(1_700_000_000)).unwrap_err();
        assert!(err.to_string().contains("future"), "{err}");
        verify_token(KEY, FUTURE_IAT, AUD, at(1_700_000_100 - LEEWAY_SECS)).unwrap();
    }

    // pyjwt: {"aud": [other, AUD]}, no time claims.
    const AUD_ARRAY: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOlsiaHR0cHM6Ly9vdGhlci5leGFtcGxlL3giLCJodHRwczovL3Ntcy5leGFtcGxlLm9yZy93ZWJob29rcy9odHRwc21zIl19._BKZgxuJawN_fO75t58OdyYRsLDino_6kPlxzEiLqxQ";
    // pyjwt: {"aud": AUD, "iat": 1700000100}
    const FUTURE_IAT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL3Ntcy5leGFtcGxlLm9yZy93ZWJob29rcy9odHRwc21zIiwiaWF0IjoxNzAwMDAwMTAwfQ.K95z7eNOqLYdu9cFJ0EYs40BgswEXZIDGIj1nL38bI4";
    // pyjwt, algorithm="HS512" (key KEY twice): {"aud": AUD}
    const HS512: &str = "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL3Ntcy5leGFtcGxlLm9yZy93ZWJob29rcy9odHRwc21zIn0.nLcYXLpBpkMGYOon8TU24IJXxdDwjBK386gL72YcsLnjX_kFQL4qHX7uRK1JtdeHuwP0IpSzagu9UU7i9EvpRg";
    // pyjwt, algorithm="none": {"aud": AUD}
    const ALG_NONE: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJhdWQiOiJodHRwczovL3Ntcy5leGFtcGxlLm9yZy93ZWJob29rcy9odHRwc21zIn0.";
    // pyjwt: {"iat": 1700000000}, no aud.
    const NO_AUD: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3MDAwMDAwMDB9.8RFARaobTbgdkE21wKUHyJhjulKjkgPClmBK3Jx_FrI";

    #[test]
    fn audience_may_be_an_array() {
        verify_token(KEY, AUD_ARRAY, AUD, at(1_700_000_000)).unwrap();
        let err = verify_token(KEY, NO_AUD, AUD, at(1_700_000_000)).unwrap_err();
        assert!(err.to_string().contains("no `aud`"), "{err}");
    }

    #[test]
    fn only_hs256_is_accepted() {
        for token in [HS512, ALG_NONE] {
            let err = verify_token(KEY, token, AUD, at(1_700_000_000)).unwrap_err();
            assert!(err.to_string().contains("HS256"), "{err}");
        }
    }

    #[test]
    fn malformed_tokens_and_headers_are_unauthorized() {
        for token in ["", "a.b", "a.b.c.d", "!!.e30.x", "e30.e30.***"] {
            let err = verify_token(KEY, token, AUD, at(1_700_000_000)).unwrap_err();
            assert!(
                matches!(err, IngestError::Unauthorized(_)),
                "{token}: {err}"
            );
        }
        let mut h = HeaderMap::new();
        assert!(bearer(&h).unwrap_err().to_string().contains("missing"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert!(bearer(&h).unwrap_err().to_string().contains("Bearer"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  x.y.z "),
        );
        assert_eq!(bearer(&h).unwrap(), "x.y.z");
    }

    #[test]
    fn received_event_becomes_an_inbound_sms() {
        let body = br#"{"specversion":"1.0","id":"0d5c2b3e-5f4f-4f8a-9d6f-1c2b3a4d5e6f",
            "source":"/v1/messages/receive","type":"message.phone.received",
            "datacontenttype":"application/json","time":"2024-06-22T15:46:12Z",
            "data":{"message_id":"6e4b5f30-7c1d-4b4e-8f0a-2d9c1e3b4a5f","user_id":"u1",
            "owner":"+61491570156","contact":"+61491570999","timestamp":"2024-06-22T15:46:11.5Z",
            "content":"Bonjour","encrypted":false,"sim":"SIM1"}}"#;
        let Parsed::Sms(sms) = parse(body).unwrap() else {
            panic!("not an SMS")
        };
        assert_eq!(sms.provider, "httpsms");
        assert_eq!(
            sms.provider_message_id,
            "6e4b5f30-7c1d-4b4e-8f0a-2d9c1e3b4a5f"
        );
        assert_eq!(sms.to, "+61491570156");
        assert_eq!(sms.from, "+61491570999");
        assert_eq!(sms.body, "Bonjour");
        assert_eq!(
            sms.received_at.unwrap().timestamp_millis(),
            1_719_071_171_500
        );
    }

    #[test]
    fn older_payloads_with_id_are_read() {
        let body = br#"{"type":"message.phone.received","data":{"id":"m-1","owner":"+1","contact":"+2","content":""}}"#;
        let Parsed::Sms(sms) = parse(body).unwrap() else {
            panic!("not an SMS")
        };
        assert_eq!(sms.provider_message_id, "m-1");
    }

    #[test]
    fn other_events_are_ignored() {
        for event in [
            "message.phone.sent",
            "message.phone.delivered",
            "phone.heartbeat.offline",
        ] {
            let body = format!(r#"{{"type":"{event}","data":{{}}}}"#);
            assert!(matches!(parse(body.as_bytes()).unwrap(), Parsed::Ignored(e) if e == event));
        }
    }

    #[test]
    fn missing_or_wrong_fields_are_named() {
        let cases: [(&str, &str); 7] = [
            ("{", "invalid JSON"),
            ("\"x\"", "expected an object"),
            ("{}", "`type`"),
            (r#"{"type":"message.phone.received"}"#, "`data`"),
            (
                r#"{"type":"message.phone.received","data":{}}"#,
                "`data.message_id`",
            ),
            (
                r#"{"type":"message.phone.received","data":{"message_id":"m","owner":"+1","contact":"+2"}}"#,
                "`data.content`",
            ),
            (
                r#"{"type":"message.phone.received","data":{"message_id":"m","owner":"+1","contact":"+2","content":"","timestamp":5}}"#,
                "data.timestamp",
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
}
