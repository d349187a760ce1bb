//! Vonage SMS API inbound messages: `GET` with a query string, or `POST` with a
//! form or JSON body, signed with the `sig` parameter. The signature is checked
//! exactly as the vonage 4.9.1 Python SDK's `Auth.check_signature` does
//! (`md5hash`, the legacy method, as the 2.x SDK did).
//!
//! Long messages arrive as separate parts (`concat=true`), reassembled in
//! [`concat`].

mod concat;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use config::{IngestSettings, VonageSignatureMethod};
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

pub use concat::{Part, assemble, concat_message_id, flush_stale_parts, run_concat_sweeper};

use super::provider::{Deliver, FORM, JSON, Parsed, Provider, Webhook, answer_with};
use crate::accept::{Accepted, AppState, InboundSms, accept};
use crate::error::IngestError;

/// Most parts a concatenated SMS can have (the reference's count is one byte).
const MAX_PARTS: u32 = 255;

/// Hex signature of `params` (every parameter except `sig`, with `timestamp`)
/// as Vonage computes it: `&k=v` for each key in sorted order, `&` and `=` in
/// values replaced by `_`; `md5hash` appends the secret and takes MD5, the
/// other methods take an HMAC keyed by the secret. Lower-case hex.
pub fn signature(
    method: VonageSignatureMethod,
    secret: &str,
    params: &[(String, String)],
) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut input = String::new();
    for (key, value) in sorted {
        input.push('&');
        input.push_str(key);
        input.push('=');
        input.push_str(&value.replace(['&', '='], "_"));
    }
    fn hmac_hex<M: Mac + hmac::digest::KeyInit>(secret: &str, input: &str) -> String {
        let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(input.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
    match method {
        VonageSignatureMethod::Md5hash => {
            let mut hasher = Md5::new();
            hasher.update(input.as_bytes());
            hasher.update(secret.as_bytes());
            hex::encode(hasher.finalize())
        }
        VonageSignatureMethod::Md5 => hmac_hex::<Hmac<Md5>>(secret, &input),
        VonageSignatureMethod::Sha1 => hmac_hex::<Hmac<Sha1>>(secret, &input),
        VonageSignatureMethod::Sha256 => hmac_hex::<Hmac<Sha256>>(secret, &input),
        VonageSignatureMethod::Sha512 => hmac_hex::<Hmac<Sha512>>(secret, &input),
    }
}

/// Checks `sig` over all other parameters, then the freshness of `timestamp`.
/// Like the SDK, a request without `timestamp` is checked as if it carried the
/// current time (so only a signature made this very second can match).
pub fn verify(
    method: VonageSignatureMethod,
    secret: &str,
    params: &[(String, String)],
    tolerance_secs: u64,
    now: DateTime<Utc>,
) -> Result<(), IngestError> {
    let sig = params
        .iter()
        .find(|(k, _)| k == "sig")
        .map(|(_, v)| v.to_ascii_lowercase())
        .ok_or_else(|| IngestError::Unauthorized("missing `sig` parameter".into()))?;
    let mut signed: Vec<(String, String)> =
        params.iter().filter(|(k, _)| k != "sig").cloned().collect();
    let timestamp = signed
        .iter()
        .find(|(k, _)| k == "timestamp")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty());
    if timestamp.is_none() {
        signed.retain(|(k, _)| k != "timestamp");
        signed.push(("timestamp".into(), now.timestamp().to_string()));
    }
    let expected = signature(method, secret, &signed);
    if !platform::constant_time_eq(sig.as_bytes(), expected.as_bytes()) {
        return Err(IngestError::Unauthorized("signature does not match".into()));
    }
    if let Some(ts) = timestamp {
        // Checked after the signature, so the age of a forged request tells nothing.
        let ts: i64 = ts
            .trim()
            .parse()
            .map_err(|_| IngestError::Unauthorized("`timestamp` must be Unix seconds".into()))?;
        super::check_age(ts, now, tolerance_secs)?;
    }
    Ok(())
}

/// The parameters of a request: query string for `GET`, form or JSON body
/// for `POST`. Repeated names are refused: which one was signed is ambiguous.
fn params(webhook: &Webhook) -> Result<Vec<(String, String)>, IngestError> {
    let pairs = if webhook.method == Method::GET {
        super::form_pairs(webhook.query().as_bytes())
    } else if webhook.is_json() {
        json_pairs(&webhook.body)?
    } else {
        super::form_pairs(&webhook.body)
    };
    for (i, (key, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(k, _)| k == key) {
            return Err(IngestError::BadRequest(format!(
                "parameter `{}` is repeated",
                domain::log_safe(key)
            )));
        }
    }
    Ok(pairs)
}

/// A JSON object's members as text, the way Python formats them in the SDK's
/// f-string (`True`, `None`, numbers as written).
fn json_pairs(body: &[u8]) -> Result<Vec<(String, String)>, IngestError> {
    let map = super::json::members(body)?;
    map.into_iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Bool(true) => "True".into(),
                serde_json::Value::Bool(false) => "False".into(),
                serde_json::Value::Null => "None".into(),
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                    return Err(IngestError::BadRequest(format!(
                        "`{}` must be text, not a JSON array or object",
                        domain::log_safe(&k)
                    )));
                }
            };
            Ok((k, text))
        })
        .collect()
}

/// `message-timestamp`: `YYYY-MM-DD HH:MM:SS`, UTC.
fn parse_message_timestamp(raw: &str) -> Result<DateTime<Utc>, IngestError> {
    NaiveDateTime::parse_from_str(raw.trim(), "%Y-%m-%d %H:%M:%S")
        .map(|t| t.and_utc())
        .map_err(|_| {
            IngestError::BadRequest("message-timestamp: expected YYYY-MM-DD HH:MM:SS (UTC)".into())
        })
}

/// Position of a part within its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concat {
    /// Vonage's `concat-ref`, shared by the message's parts.
    pub reference: String,
    /// This part's number, from 1.
    pub part: u32,
    /// How many parts the message has.
    pub total: u32,
}

fn parse_concat(pairs: &[(String, String)]) -> Result<Option<Concat>, IngestError> {
    if super::optional(pairs, "concat") != Some("true") {
        return Ok(None);
    }
    let reference = super::required(pairs, "concat-ref")?.trim();
    if reference.is_empty() || reference.len() > 16 {
        return Err(IngestError::BadRequest(
            "concat-ref: must be 1 to 16 characters".into(),
        ));
    }
    let number = |name: &str| -> Result<u32, IngestError> {
        super::required(pairs, name)?
            .trim()
            .parse::<u32>()
            .map_err(|_| IngestError::BadRequest(format!("{name}: must be a whole number")))
    };
    let total = number("concat-total")?;
    let part = number("concat-part")?;
    if total == 0 || total > MAX_PARTS {
        return Err(IngestError::BadRequest(format!(
            "concat-total: must be 1 to {MAX_PARTS}"
        )));
    }
    if part == 0 || part > total {
        return Err(IngestError::BadRequest(format!(
            "concat-part: must be 1 to concat-total ({total})"
        )));
    }
    Ok(Some(Concat {
        reference: reference.to_owned(),
        part,
        total,
    }))
}

/// What a Vonage request carries.
#[derive(Debug)]
pub enum Message {
    /// A whole SMS, accepted at once.
    Whole(InboundSms),
    /// One part of a longer SMS, held until the message is complete.
    Part(Part),
}

impl Deliver for Message {
    async fn deliver(self, state: &AppState) -> Result<Option<Accepted>, IngestError> {
        match self {
            Message::Whole(sms) => accept(state, sms).await.map(Some),
            Message::Part(part) => concat::receive(state, part).await.map(|()| None),
        }
    }
}

/// Vonage's inbound message webhook, `/webhooks/vonage` (`GET` or `POST`):
/// answers 204 once accepted.
pub struct Vonage;

impl Provider for Vonage {
    const NAME: &'static str = "vonage";
    const CONTENT_TYPES: &'static [&'static str] = &[FORM, JSON];
    const TAKES_GET: bool = true;
    const BODY_CHECKED_FIRST: bool = true;
    /// The request's parameters, `sig` among them.
    type Verified = Vec<(String, String)>;
    type Message = Message;

    fn enabled(settings: &IngestSettings) -> bool {
        !settings.providers.vonage.signature_secret.is_empty()
    }

    fn verify(
        settings: &IngestSettings,
        webhook: &Webhook,
    ) -> Result<Vec<(String, String)>, IngestError> {
        let vonage = &settings.providers.vonage;
        let pairs = params(webhook)?;
        verify(
            vonage.signature_method,
            &vonage.signature_secret,
            &pairs,
            settings.signature_tolerance_secs,
            webhook.now,
        )?;
        Ok(pairs)
    }

    fn parse(_: &Webhook, pairs: Vec<(String, String)>) -> Result<Parsed<Message>, IngestError> {
        let msisdn = super::required(&pairs, "msisdn")?;
        let to = super::required(&pairs, "to")?;
        let message_id = super::required(&pairs, "messageId")?;
        let text = match super::optional(&pairs, "text") {
            Some(text) => text.to_owned(),
            None if super::optional(&pairs, "type") == Some("binary") => {
                "[binary message]".to_owned()
            }
            None => return Err(IngestError::BadRequest("missing field `text`".into())),
        };
        let received_at = super::optional(&pairs, "message-timestamp")
            .filter(|t| !t.trim().is_empty())
            .map(parse_message_timestamp)
            .transpose()?;
        let message = match parse_concat(&pairs)? {
            None => Message::Whole(InboundSms {
                provider: Self::NAME,
                provider_message_id: message_id.to_owned(),
                to: to.to_owned(),
                from: msisdn.to_owned(),
                body: text,
                received_at,
                segments: 1,
            }),
            Some(concat) => Message::Part(Part {
                message_id: message_id.to_owned(),
                msisdn: msisdn.to_owned(),
                to: to.to_owned(),
                concat,
                text,
                received_at,
            }),
        };
        Ok(Parsed::Sms(message))
    }

    fn answer(_: &IngestSettings, outcome: Result<Option<Accepted>, IngestError>) -> Response {
        answer_with(outcome, StatusCode::NO_CONTENT)
    }
}

#[cfg(test)]
mod tests;
