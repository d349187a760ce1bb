//! Vonage SMS API inbound messages: `GET` with a query string, or `POST` with a
//! form or JSON body, signed with the `sig` parameter. The signature is checked
//! exactly as the vonage 4.9.1 Python SDK's `Auth.check_signature` does
//! (`md5hash`, the legacy method, as the 2.x SDK did).
//!
//! Long messages arrive as separate parts (`concat=true`). Parts are held in
//! the database until all have arrived, then published as one message; a
//! message whose parts never all arrive is published after
//! `ingest.concat_timeout_secs` with a marker where the missing parts belong.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use config::VonageSignatureMethod;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use store::{MessagePart, NewMessagePart, PartGroup};
use tokio_util::sync::CancellationToken;

use crate::accept::{AppState, InboundSms, accept};
use crate::error::IngestError;

/// Provider route name.
const PROVIDER: &str = "vonage";
/// Most parts a concatenated SMS can have (the reference's count is one byte).
const MAX_PARTS: u32 = 255;
/// How often stale part groups are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// Most stale groups published per sweep, so one sweep stays short.
const SWEEP_BATCH: u64 = 100;

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

/// Equal-length-independent comparison whose time does not depend on where
/// the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
    if !constant_time_eq(sig.as_bytes(), expected.as_bytes()) {
        return Err(IngestError::Unauthorized("signature does not match".into()));
    }
    if let Some(ts) = timestamp {
        // Checked after the signature, so the age of a forged request tells nothing.
        let ts: i64 = ts
            .trim()
            .parse()
            .map_err(|_| IngestError::Unauthorized("`timestamp` must be Unix seconds".into()))?;
        let age = now.timestamp().saturating_sub(ts).unsigned_abs();
        if age > tolerance_secs {
            return Err(IngestError::Unauthorized(format!(
                "timestamp is {age} s away from now; allowed: {tolerance_secs} s"
            )));
        }
    }
    Ok(())
}

/// The parameters of a request: query string for `GET`, form or JSON body
/// for `POST`. Repeated names are refused: which one was signed is ambiguous.
fn params(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, IngestError> {
    let pairs = if *method == Method::GET {
        super::form_pairs(uri.query().unwrap_or("").as_bytes())
    } else {
        super::require_content_type(
            headers,
            &["application/x-www-form-urlencoded", "application/json"],
        )?;
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
        if json {
            json_pairs(body)?
        } else {
            super::form_pairs(body)
        }
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
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| IngestError::invalid_json(&e))?;
    let serde_json::Value::Object(map) = value else {
        return Err(IngestError::BadRequest(
            "JSON body must be an object".into(),
        ));
    };
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
struct Concat {
    reference: String,
    part: u32,
    total: u32,
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

/// The provider message id of a reassembled message: the reference, the
/// sender and the `messageId` of its first part present. The same whichever
/// part completes it, so a retried part is a duplicate; and a later message
/// reusing the reference (one or two bytes in the SMS header, so it wraps)
/// is not.
pub fn concat_message_id(reference: &str, msisdn: &str, first_part_id: &str) -> String {
    format!("concat:{reference}:{msisdn}:{first_part_id}")
}

/// The text of a group: parts in order, a visible marker for each missing one.
pub fn assemble(parts: &[MessagePart], total: u32) -> String {
    let mut text = String::new();
    for n in 1..=total {
        match parts.iter().find(|p| u32::try_from(p.part).ok() == Some(n)) {
            Some(part) => text.push_str(&part.text),
            None => text.push_str(&format!("[part {n} of {total} missing]")),
        }
    }
    text
}

/// Publishes a group (complete or not) as one message.
async fn publish_group(
    state: &AppState,
    parts: &[MessagePart],
) -> Result<crate::accept::Accepted, IngestError> {
    let Some(first) = parts.first() else {
        return Err(IngestError::BadRequest("no parts".into()));
    };
    let total = u32::try_from(first.total).unwrap_or(1).max(1);
    let received_at = parts.iter().filter_map(|p| p.received_at).min();
    accept(
        state,
        InboundSms {
            provider: PROVIDER,
            provider_message_id: concat_message_id(
                &first.concat_ref,
                &first.from,
                &first.message_id,
            ),
            to: first.to.clone(),
            from: first.from.clone(),
            body: assemble(parts, total),
            received_at,
            segments: total,
        },
    )
    .await
}

fn store_error(e: store::StoreError) -> IngestError {
    IngestError::Unavailable(format!("message store unavailable, retry later ({e})"))
}

/// Publishes every incomplete part group older than `cutoff` (missing parts
/// marked) and deletes it, and forgets published groups that old. Safe on
/// several replicas at once: both publish the same provider message id and
/// the bus keeps one. Returns how many were published.
pub async fn flush_stale_parts(
    state: &AppState,
    cutoff: DateTime<Utc>,
) -> Result<usize, IngestError> {
    let groups = state
        .store
        .stale_message_part_groups(cutoff, SWEEP_BATCH)
        .await
        .map_err(store_error)?;
    let mut published = 0;
    for parts in groups {
        if parts.iter().any(|p| p.published_at.is_some()) {
            let ids: Vec<i64> = parts.iter().map(|p| p.id).collect();
            state
                .store
                .delete_message_parts(&ids)
                .await
                .map_err(store_error)?;
            continue;
        }
        match publish_group(state, &parts).await {
            Ok(_) => published += 1,
            // Unroutable for good (number retired, bad id): drop it, or it
            // would be retried forever.
            Err(IngestError::Unprocessable(e) | IngestError::BadRequest(e)) => {
                tracing::info!(error = %e, "incomplete multi-part SMS dropped");
            }
            Err(e) => return Err(e),
        }
        let ids: Vec<i64> = parts.iter().map(|p| p.id).collect();
        state
            .store
            .delete_message_parts(&ids)
            .await
            .map_err(store_error)?;
    }
    Ok(published)
}

/// Every 30 s, publishes multi-part messages that waited longer than
/// `ingest.concat_timeout_secs` for their missing parts; until `shutdown`.
pub async fn run_concat_sweeper(
    state: AppState,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let timeout = state.settings.ingest.concat_timeout_secs;
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = tick.tick() => {}
        }
        let cutoff = Utc::now()
            - chrono::Duration::seconds(i64::try_from(timeout).unwrap_or(i64::MAX / 1000));
        match flush_stale_parts(&state, cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(count = n, "incomplete multi-part SMS published"),
            Err(e) => tracing::warn!(error = %e, "multi-part sweep failed; retrying later"),
        }
    }
}

/// `/webhooks/vonage` (`GET` or `POST`): answers 204 once accepted.
#[tracing::instrument(name = "/webhooks/vonage", skip_all, fields(provider = "vonage"))]
pub async fn handle(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match super::body_or_413(body, state.settings.ingest.max_body_bytes) {
        Ok(body) => body,
        Err(err) => return err.into_response(),
    };
    match handle_inner(&state, &method, &uri, &headers, &body).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(Rejection::Method) => {
            let mut response = (
                StatusCode::METHOD_NOT_ALLOWED,
                Json(serde_json::json!({ "error": "use GET or POST" })),
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
            response
        }
        Err(Rejection::Ingest(err)) => err.into_response(),
    }
}

enum Rejection {
    Method,
    Ingest(IngestError),
}

impl From<IngestError> for Rejection {
    fn from(err: IngestError) -> Self {
        Self::Ingest(err)
    }
}

async fn handle_inner(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Rejection> {
    let settings = &state.settings.ingest;
    let vonage = &settings.providers.vonage;
    if vonage.signature_secret.is_empty() {
        return Err(IngestError::ProviderDisabled(PROVIDER).into());
    }
    if *method != Method::GET && *method != Method::POST {
        return Err(Rejection::Method);
    }
    let pairs = params(method, uri, headers, body)?;
    verify(
        vonage.signature_method,
        &vonage.signature_secret,
        &pairs,
        settings.signature_tolerance_secs,
        Utc::now(),
    )?;
    let msisdn = super::required(&pairs, "msisdn")?;
    let to = super::required(&pairs, "to")?;
    let message_id = super::required(&pairs, "messageId")?;
    let text = match super::optional(&pairs, "text") {
        Some(text) => text.to_owned(),
        None if super::optional(&pairs, "type") == Some("binary") => "[binary message]".to_owned(),
        None => return Err(IngestError::BadRequest("missing field `text`".into()).into()),
    };
    let received_at = super::optional(&pairs, "message-timestamp")
        .filter(|t| !t.trim().is_empty())
        .map(parse_message_timestamp)
        .transpose()?;
    let Some(concat) = parse_concat(&pairs)? else {
        accept(
            state,
            InboundSms {
                provider: PROVIDER,
                provider_message_id: message_id.to_owned(),
                to: to.to_owned(),
                from: msisdn.to_owned(),
                body: text,
                received_at,
                segments: 1,
            },
        )
        .await?;
        return Ok(());
    };
    receive_part(state, message_id, msisdn, to, &concat, text, received_at).await?;
    Ok(())
}

/// Holds a part until its group is complete; the part that completes it
/// publishes the whole message.
async fn receive_part(
    state: &AppState,
    message_id: &str,
    msisdn: &str,
    to: &str,
    concat: &Concat,
    text: String,
    received_at: Option<DateTime<Utc>>,
) -> Result<(), IngestError> {
    if msisdn.trim().is_empty() || msisdn.chars().count() > 64 {
        return Err(IngestError::BadRequest(
            "msisdn: must be 1 to 64 characters".into(),
        ));
    }
    // Checked before holding the part, so a part for a number we do not serve
    // is refused now (and Vonage sees it) rather than dropped at the timeout.
    let e164 =
        domain::E164::parse(to).map_err(|e| IngestError::Unprocessable(format!("to: {e}")))?;
    match state
        .registry
        .lookup(&state.store, e164.as_str())
        .await
        .map_err(store_error)?
    {
        store::Registration::Active => {}
        store::Registration::Unknown if state.settings.ingest.auto_register_numbers => {}
        _ => {
            return Err(IngestError::Unprocessable(format!(
                "to: {e164} is not a number of this site"
            )));
        }
    }
    if to.chars().count() > 64 {
        return Err(IngestError::Unprocessable("to: too long".into()));
    }
    // Bounded so the reassembled message's id stays within accept()'s limit.
    if message_id.trim().is_empty() || message_id.chars().count() > 36 {
        return Err(IngestError::BadRequest(
            "messageId: must be 1 to 36 characters".into(),
        ));
    }
    let part = i32::try_from(concat.part).unwrap_or(i32::MAX);
    let total = i32::try_from(concat.total).unwrap_or(i32::MAX);
    let group = state
        .store
        .insert_message_part(NewMessagePart {
            provider: PROVIDER.to_owned(),
            to: to.to_owned(),
            from: msisdn.to_owned(),
            concat_ref: concat.reference.clone(),
            part,
            total,
            text,
            received_at,
            message_id: message_id.to_owned(),
        })
        .await
        .map_err(store_error)?;
    let parts = match group {
        PartGroup::Pending => return Ok(()),
        PartGroup::Published => {
            tracing::info!(
                provider = PROVIDER,
                "retried part of a published message dropped"
            );
            return Ok(());
        }
        PartGroup::Complete(parts) => parts,
    };
    // Published before marked: if marking fails, the provider's retry of this
    // part publishes again, which the bus drops as a duplicate.
    publish_group(state, &parts).await?;
    let ids: Vec<i64> = parts.iter().map(|p| p.id).collect();
    state
        .store
        .mark_message_parts_published(&ids)
        .await
        .map_err(store_error)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
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

    #[test]
    fn parameters_come_from_query_form_or_json_and_repeats_are_refused() {
        let uri: Uri = "/webhooks/vonage?msisdn=1&text=a%26b".parse().unwrap();
        let got = params(&Method::GET, &uri, &HeaderMap::new(), b"").unwrap();
        assert_eq!(got, p(&[("msisdn", "1"), ("text", "a&b")]));
        let uri: Uri = "/webhooks/vonage?a=1&a=2".parse().unwrap();
        let err = params(&Method::GET, &uri, &HeaderMap::new(), b"").unwrap_err();
        assert!(err.to_string().contains("`a` is repeated"));
        // A name that would forge a log line comes back escaped and clipped.
        let forged = format!("%0AINFO+forged%1B%5B31m{}", "n".repeat(100));
        let uri: Uri = format!("/webhooks/vonage?{forged}=1&{forged}=2")
            .parse()
            .unwrap();
        let err = params(&Method::GET, &uri, &HeaderMap::new(), b"").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("parameter `\\nINFO forged\\u{1b}[31mnnn"),
            "{err}"
        );
        assert!(err.to_string().ends_with("…` is repeated"), "{err}");

        let mut form = HeaderMap::new();
        form.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let uri: Uri = "/webhooks/vonage".parse().unwrap();
        assert_eq!(
            params(&Method::POST, &uri, &form, b"to=2&text=x+y").unwrap(),
            p(&[("to", "2"), ("text", "x y")])
        );

        let mut json = HeaderMap::new();
        json.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        let got = params(&Method::POST, &uri, &json, br#"{"to":"2","n":5,"b":true}"#).unwrap();
        assert!(got.contains(&("n".into(), "5".into())));
        assert!(got.contains(&("b".into(), "True".into())));
        assert!(params(&Method::POST, &uri, &json, b"[1]").is_err());
        assert!(params(&Method::POST, &uri, &json, br#"{"a":{}}"#).is_err());
        let err = params(&Method::POST, &uri, &json, b"{\"\\u001b[2J\":[]}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`\\u{1b}[2J` must be text, not a JSON array or object"
        );
        assert!(params(&Method::POST, &uri, &json, b"{").is_err());

        let err = params(&Method::POST, &uri, &HeaderMap::new(), b"").unwrap_err();
        assert!(matches!(err, IngestError::UnsupportedMediaType(_)));
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

    #[test]
    fn assembly_orders_parts_and_marks_missing_ones() {
        let part = |n: i32, text: &str| MessagePart {
            id: i64::from(n),
            provider: "vonage".into(),
            to: "t".into(),
            from: "f".into(),
            concat_ref: "1".into(),
            part: n,
            total: 3,
            text: text.into(),
            received_at: None,
            created_at: Utc::now(),
            message_id: format!("m{n}"),
            published_at: None,
        };
        assert_eq!(
            assemble(&[part(3, "c"), part(1, "a"), part(2, "b")], 3),
            "abc"
        );
        assert_eq!(
            assemble(&[part(1, "a"), part(3, "c")], 3),
            "a[part 2 of 3 missing]c"
        );
        assert_eq!(
            concat_message_id("7", "447700900999", "0B0001"),
            "concat:7:447700900999:0B0001"
        );
    }
}
