//! The SmsForwarder Android app (pppscn/SmsForwarder), webhook channel
//! (`utils/sender/WebhookUtils.kt`): by default a `POST` form `from`,
//! `content`, `timestamp` (Unix milliseconds) and `sign`, where
//! `sign = URLEncoder.encode(Base64(HMAC-SHA256(secret, "<timestamp>\n<secret>")))`
//! (the form encoding then encodes it once more, so the decoded field is the
//! URL-encoded Base64). The operator may write the parameters instead: a form
//! template (`org_content=[org_content]&...`) or a JSON template
//! (`{"from":"[from]","org_content":"[org_content]","timestamp":"[timestamp]","sign":"[sign]"}`,
//! sent as `application/json`, where `[sign]` is the same URL-encoded text).
//!
//! The signature covers only the timestamp (and the secret), not the
//! message, nor the number. So: the timestamp must be within
//! [`WINDOW_MS`] of now either way, and a (timestamp, sign) pair is single
//! use across replicas ([`cache::HotCache::claim_as`]), owned by the message
//! it first came with: the app's retry of that same message passes again
//! (and the bus drops it as a duplicate, a 200 the app stops on), any other
//! message with it is a 401.
//!
//! The payload does not say which number received the SMS: the operator
//! registers the webhook URL with `?to=<the SIM's number>`.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use config::IngestSettings;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::provider::{Deliver, FORM, JSON, Parsed, Provider, Webhook};
use crate::accept::{Accepted, AppState, InboundSms, accept};
use crate::error::IngestError;

/// How far the signed `timestamp` may be from now, either way: 5 minutes.
pub const WINDOW_MS: i64 = 5 * 60 * 1000;
/// How long a used (timestamp, sign) pair stays claimed: longer than any
/// time its timestamp can still pass the window.
pub const CLAIM_TTL: Duration = Duration::from_secs(2 * 5 * 60 + 60);
/// Prefix of the message ids we derive.
const ID_PREFIX: &str = "smsf-";
/// Prefix of the claim keys of used signatures.
const CLAIM_PREFIX: &str = "smsforwarder:sign:";
/// Unix milliseconds have 13 digits until the year 2286.
const MAX_TIMESTAMP_DIGITS: usize = 16;

/// Java's `URLEncoder.encode(text, "UTF-8")`: `A-Z a-z 0-9 . - * _` kept,
/// space as `+`, every other byte as `%XX` (upper case).
pub fn java_url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The `sign` the app computes for `timestamp` (its text, as sent).
pub fn sign(secret: &str, timestamp: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.as_bytes());
    mac.update(b"\n");
    mac.update(secret.as_bytes());
    java_url_encode(&STANDARD.encode(mac.finalize().into_bytes()))
}

/// The request's fields: the form's, or the JSON template's members (strings,
/// and numbers as their text, so `"timestamp": [timestamp]` unquoted works;
/// members of other types are left out). A 400 when the body is neither.
fn fields(webhook: &Webhook) -> Result<Vec<(String, String)>, IngestError> {
    if !webhook.is_json() {
        return Ok(super::form_pairs(&webhook.body));
    }
    let members = super::json::members(&webhook.body)?;
    Ok(members
        .into_iter()
        .filter_map(|(name, value)| match value {
            Value::String(text) => Some((name, text)),
            Value::Number(number) => Some((name, number.to_string())),
            _ => None,
        })
        .collect())
}

/// The one value of `name`, if any; a field sent twice is a 400 (which of
/// the two was signed, or meant, cannot be told).
fn single<'a>(pairs: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, IngestError> {
    let mut values = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
    let first = values.next();
    if values.next().is_some() {
        return Err(IngestError::BadRequest(format!(
            "field `{name}` is sent more than once"
        )));
    }
    Ok(first.map(String::as_str))
}

/// A request whose `sign` matched its fresh `timestamp`.
#[derive(Debug)]
pub struct Signed {
    /// The request's fields.
    pairs: Vec<(String, String)>,
    /// The signed timestamp, Unix milliseconds.
    timestamp: i64,
}

/// Checks `sign` against `timestamp` under `secret`, then that the
/// timestamp is within [`WINDOW_MS`] of `now`. Returns the timestamp.
pub fn verify(
    secret: &str,
    pairs: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<i64, IngestError> {
    let unauthorized = |msg: &str| IngestError::Unauthorized(msg.to_owned());
    let timestamp_text =
        single(pairs, "timestamp")?.ok_or_else(|| unauthorized("missing field `timestamp`"))?;
    let given = single(pairs, "sign")?.ok_or_else(|| unauthorized("missing field `sign`"))?;
    if timestamp_text.is_empty()
        || timestamp_text.len() > MAX_TIMESTAMP_DIGITS
        || !timestamp_text.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(unauthorized("timestamp must be Unix milliseconds"));
    }
    let timestamp: i64 = timestamp_text
        .parse()
        .map_err(|_| unauthorized("timestamp must be Unix milliseconds"))?;
    let expected = sign(secret, timestamp_text);
    if !platform::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        return Err(unauthorized("sign does not match"));
    }
    // Checked after the MAC, so the age of a forged request tells nothing.
    let age_ms = now.timestamp_millis().saturating_sub(timestamp);
    if age_ms.unsigned_abs() > WINDOW_MS.unsigned_abs() {
        return Err(IngestError::Unauthorized(format!(
            "timestamp is {} s away from now; allowed: {} s",
            age_ms.unsigned_abs() / 1000,
            WINDOW_MS / 1000
        )));
    }
    Ok(timestamp)
}

/// The message id we store: a hash of (receiving number, sender, text,
/// when). "When" is the `receive_time` the operator's template may send (the
/// SMS's arrival on the phone, which the app's manual resend from its log
/// repeats, with a new `timestamp`), else the signed `timestamp` (taken once
/// per forwarding, so the app's own retries of a request repeat it). Either
/// way a retry gets the same id and the bus's idempotency drops it; two SMS
/// differ in at least one part. The app sends no id of its own.
fn message_id(to: &str, from: &str, text: &str, when: When<'_>) -> String {
    let key = match when {
        When::Received(time) => serde_json::json!([to, from, text, "receive_time", time]),
        When::Sent(timestamp) => serde_json::json!([to, from, text, "timestamp", timestamp]),
    };
    let digest = Sha256::digest(key.to_string().as_bytes());
    format!("{ID_PREFIX}{}", hex::encode(&digest[..16]))
}

/// What a message id is tied to in time.
#[derive(Debug, Clone, Copy)]
enum When<'a> {
    /// The phone's `[receive_time]`, as the template wrote it.
    Received(&'a str),
    /// The request's `timestamp`.
    Sent(i64),
}

/// The receiving number from the webhook URL's `?to=`.
fn to(webhook: &Webhook) -> Result<String, IngestError> {
    let pairs = super::form_pairs(webhook.query().as_bytes());
    // A '+' typed into the URL decodes as a space; E.164 parsing accepts the digits.
    single(&pairs, "to")
        .map_err(|_| IngestError::BadRequest("query parameter `to` is sent more than once".into()))?
        .map(str::trim)
        .filter(|to| !to.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| IngestError::BadRequest("missing query parameter `to`".to_owned()))
}

/// A verified SMS and the claim its signature must win.
#[derive(Debug)]
pub struct Message {
    /// The SMS to accept.
    pub sms: InboundSms,
    /// Cache key of its (timestamp, sign) pair.
    pub claim: String,
}

impl Deliver for Message {
    async fn deliver(self, state: &AppState) -> Result<Option<Accepted>, IngestError> {
        let owner = self.sms.provider_message_id.as_str();
        let ours = state
            .cache
            .claim_as(&self.claim, owner, CLAIM_TTL)
            .await
            .map_err(|e| {
                IngestError::Unavailable(format!("cache unavailable, retry later ({e})"))
            })?;
        if !ours {
            return Err(IngestError::Unauthorized(
                "sign already used for another message".to_owned(),
            ));
        }
        accept(state, self.sms).await.map(Some)
    }
}

/// Reads a verified request: `org_content` (the SMS as received) when sent,
/// else `content` (the app's template applied to it).
fn parse(webhook: &Webhook, signed: Signed) -> Result<Parsed<Message>, IngestError> {
    let pairs = &signed.pairs;
    let from = single(pairs, "from")?.ok_or_else(|| super::json::missing("from"))?;
    let text = match single(pairs, "org_content")? {
        Some(text) => text,
        None => single(pairs, "content")?.ok_or_else(|| super::json::missing("content"))?,
    };
    let given_sign = single(pairs, "sign")?.unwrap_or_default();
    let to = to(webhook)?;
    // Normalised so `?to=+1...` and `?to=1...` give the same id.
    let number = domain::E164::parse(&to).map_or_else(|_| to.clone(), |n| n.as_str().to_owned());
    let when = match single(pairs, "receive_time")?.map(str::trim) {
        Some(time) if !time.is_empty() => When::Received(time),
        _ => When::Sent(signed.timestamp),
    };
    let provider_message_id = message_id(&number, from, text, when);
    Ok(Parsed::Sms(Message {
        claim: format!("{CLAIM_PREFIX}{}:{given_sign}", signed.timestamp),
        sms: InboundSms {
            provider: SmsForwarder::NAME,
            provider_message_id,
            to,
            from: from.to_owned(),
            body: text.to_owned(),
            received_at: DateTime::from_timestamp_millis(signed.timestamp),
            segments: 0,
        },
    }))
}

/// SmsForwarder's webhook channel, `POST /webhooks/smsforwarder?to=<E.164>`
/// (form or JSON): 200 for an accepted (or retried) SMS.
pub struct SmsForwarder;

impl Provider for SmsForwarder {
    const NAME: &'static str = "smsforwarder";
    const CONTENT_TYPES: &'static [&'static str] = &[FORM, JSON];
    type Verified = Signed;
    type Message = Message;

    fn enabled(settings: &IngestSettings) -> bool {
        !settings.providers.smsforwarder.secret.is_empty()
    }

    fn verify(settings: &IngestSettings, webhook: &Webhook) -> Result<Signed, IngestError> {
        let pairs = fields(webhook)?;
        let timestamp = verify(&settings.providers.smsforwarder.secret, &pairs, webhook.now)?;
        Ok(Signed { pairs, timestamp })
    }

    fn parse(webhook: &Webhook, signed: Signed) -> Result<Parsed<Message>, IngestError> {
        parse(webhook, signed)
    }
}

#[cfg(test)]
mod tests;
