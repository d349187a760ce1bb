//! Plivo: a form POST (`MessageUUID`, `From`, `To`, `Text`, `Type`, `Units`,
//! ...; JSON is read too) signed with `X-Plivo-Signature-V3` and
//! `X-Plivo-Signature-V3-Nonce`, verified exactly as plivo-python 4.63's
//! `validate_v3_signature("POST", ...)` does:
//!
//! - the signed string is the URL without its query (`scheme://host/path`),
//!   then `?`, then the URL's query parameters decoded and sorted as
//!   `name=value` joined by `&` followed by `.` when there are any, then every
//!   POST parameter sorted by name, each name immediately followed by its
//!   value; a request without POST parameters has no `?` unless its URL has a
//!   query, and then no `.`;
//! - the signature is base64(HMAC-SHA256(auth token, signed string + "." +
//!   nonce)); the header may hold several comma-separated signatures, any of
//!   which may match.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use config::IngestSettings;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::provider::{FORM, JSON, Parsed, Provider, Webhook, answer_with};
use crate::accept::{Accepted, InboundSms};
use crate::error::IngestError;

/// Header with one or more comma-separated signatures.
pub const SIGNATURE_HEADER: &str = "x-plivo-signature-v3";
/// Header with the nonce that is part of the signed string.
pub const NONCE_HEADER: &str = "x-plivo-signature-v3-nonce";

/// A POST parameter's value as the SDK's `get_sorted_params_string` sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// One value: `name` + value.
    Text(String),
    /// Several values: `name` + value for each, values sorted.
    List(Vec<String>),
    /// A nested JSON object: `name` + its own sorted parameters string.
    Map(BTreeMap<String, Param>),
}

/// Form pairs as SDK parameters; a repeated name becomes a list, as
/// `parse_qs` would give it.
pub fn form_params(pairs: &[(String, String)]) -> BTreeMap<String, Param> {
    let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in pairs {
        grouped.entry(name.clone()).or_default().push(value.clone());
    }
    grouped
        .into_iter()
        .map(|(name, mut values)| {
            let param = if values.len() == 1 {
                Param::Text(values.remove(0))
            } else {
                Param::List(values)
            };
            (name, param)
        })
        .collect()
}

/// Python's `repr(float)`: shortest round-trip digits, exponent (with sign
/// and at least two digits) below 1e-4 and from 1e16, as Rust's `{:?}`
/// switches at the same bounds.
fn python_float(x: f64) -> String {
    let debug = format!("{x:?}");
    match debug.split_once('e') {
        None => debug,
        Some((mantissa, exponent)) => {
            let (sign, digits) = match exponent.strip_prefix('-') {
                Some(digits) => ('-', digits),
                None => ('+', exponent),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
    }
}

/// A JSON scalar as the SDK's `string_format` + `str.format` print it.
fn python_scalar(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Bool(true) => Some("True".into()),
        serde_json::Value::Bool(false) => Some("False".into()),
        serde_json::Value::Null => Some("None".into()),
        serde_json::Value::Number(n) if n.is_f64() => n.as_f64().map(python_float),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Array(_) | serde_json::Value::Object(_) => None,
    }
}

/// A JSON object as SDK parameters; `None` when it holds something the SDK
/// cannot sign (arrays of objects, arrays or nulls make its `sorted` fail).
pub fn json_params(
    map: &serde_json::Map<String, serde_json::Value>,
) -> Option<BTreeMap<String, Param>> {
    map.iter()
        .map(|(name, value)| {
            let param = match value {
                serde_json::Value::Object(inner) => Param::Map(json_params(inner)?),
                serde_json::Value::Array(items) => Param::List(
                    items
                        .iter()
                        .map(|item| match item {
                            serde_json::Value::Null => None,
                            other => python_scalar(other),
                        })
                        .collect::<Option<Vec<_>>>()?,
                ),
                scalar => Param::Text(python_scalar(scalar)?),
            };
            Some((name.clone(), param))
        })
        .collect()
}

/// The SDK's `get_sorted_params_string`.
pub fn sorted_params_string(params: &BTreeMap<String, Param>) -> String {
    let mut out = String::new();
    for (name, param) in params {
        match param {
            Param::Text(value) => {
                out.push_str(name);
                out.push_str(value);
            }
            Param::List(values) => {
                let mut values: Vec<&String> = values.iter().collect();
                values.sort();
                for value in values {
                    out.push_str(name);
                    out.push_str(value);
                }
            }
            Param::Map(inner) => {
                out.push_str(name);
                out.push_str(&sorted_params_string(inner));
            }
        }
    }
    out
}

/// The SDK's `construct_post_url(url, params)`: the string that is signed
/// (before `.` + nonce).
pub fn signed_string(url: &str, params: &BTreeMap<String, Param>) -> String {
    // urlparse: the fragment, then the query, then `;params` of the last
    // path segment are split off; the scheme is lower-cased.
    let url = url.split_once('#').map_or(url, |(before, _)| before);
    let (before_query, query) = url.split_once('?').unwrap_or((url, ""));
    let (scheme, rest) = match before_query.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => (String::new(), before_query),
    };
    let path_start = rest.find('/').unwrap_or(rest.len());
    let (netloc, path) = rest.split_at(path_start);
    let last_segment = path.rfind('/').unwrap_or(0);
    let path = match path[last_segment..].find(';') {
        Some(i) => &path[..last_segment + i],
        None => path,
    };
    let mut out = if scheme.is_empty() {
        format!("//{netloc}{path}")
    } else {
        format!("{scheme}://{netloc}{path}")
    };

    let mut query_params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()).into_owned() {
        query_params.entry(name).or_default().push(value);
    }
    let query_string = query_params
        .into_iter()
        .flat_map(|(name, mut values)| {
            values.sort();
            values
                .into_iter()
                .map(move |value| format!("{name}={value}"))
        })
        .collect::<Vec<_>>()
        .join("&");
    let has_post_params = !params.is_empty();
    if !query_string.is_empty() || has_post_params {
        out.push('?');
        out.push_str(&query_string);
    }
    if !query_string.is_empty() && has_post_params {
        out.push('.');
    }
    out.push_str(&sorted_params_string(params));
    out
}

/// The HMAC key and message of a V3 signature. The SDK turns the nonce's
/// bytes into characters one by one (Latin-1) before encoding the message as
/// UTF-8; the same is done here so any nonce verifies as it would there.
fn mac(auth_token: &str, signed: &str, nonce: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(auth_token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(signed.as_bytes());
    mac.update(b".");
    let nonce: String = nonce.iter().map(|&b| char::from(b)).collect();
    mac.update(nonce.as_bytes());
    mac
}

/// `X-Plivo-Signature-V3` for a signed string and nonce (the SDK's
/// `get_signature_v3`; also used by tests).
pub fn signature_v3(auth_token: &str, signed: &str, nonce: &[u8]) -> String {
    STANDARD.encode(mac(auth_token, signed, nonce).finalize().into_bytes())
}

/// Checks the signature header (comma-separated values, any may match).
pub fn verify(
    auth_token: &str,
    url: &str,
    params: &BTreeMap<String, Param>,
    nonce: &[u8],
    signatures: &[u8],
) -> Result<(), IngestError> {
    let expected = mac(auth_token, &signed_string(url, params), nonce);
    let matched = signatures
        .split(|&b| b == b',')
        .filter_map(|candidate| STANDARD.decode(candidate.trim_ascii()).ok())
        .fold(false, |found, candidate| {
            found | expected.clone().verify_slice(&candidate).is_ok()
        });
    if matched {
        Ok(())
    } else {
        Err(IngestError::Unauthorized(
            "X-Plivo-Signature-V3 does not match (is ingest.public_url the address Plivo calls?)"
                .into(),
        ))
    }
}

/// The first scalar value of `name`, or a 400 naming it.
fn field<'a>(params: &'a BTreeMap<String, Param>, name: &str) -> Result<&'a str, IngestError> {
    match params.get(name) {
        Some(Param::Text(value)) => Ok(value),
        Some(Param::List(values)) if !values.is_empty() => Ok(&values[0]),
        _ => Err(IngestError::BadRequest(format!("missing field `{name}`"))),
    }
}

/// The SMS described by Plivo's parameters.
fn parse(params: &BTreeMap<String, Param>) -> Result<InboundSms, IngestError> {
    let segments = field(params, "Units")
        .ok()
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(0);
    Ok(InboundSms {
        provider: Plivo::NAME,
        provider_message_id: field(params, "MessageUUID")?.to_owned(),
        to: field(params, "To")?.to_owned(),
        from: field(params, "From")?.to_owned(),
        body: field(params, "Text")?.to_owned(),
        received_at: None,
        segments,
    })
}

/// Plivo's webhook, `POST /webhooks/plivo`: answers 200 with an empty body
/// (Plivo ignores it).
pub struct Plivo;

impl Provider for Plivo {
    const NAME: &'static str = "plivo";
    const CONTENT_TYPES: &'static [&'static str] = &[FORM, JSON];
    /// The parameters as the SDK signs them.
    type Verified = BTreeMap<String, Param>;
    type Message = InboundSms;

    fn enabled(settings: &IngestSettings) -> bool {
        !settings.providers.plivo.auth_token.is_empty()
    }

    fn verify(
        settings: &IngestSettings,
        webhook: &Webhook,
    ) -> Result<BTreeMap<String, Param>, IngestError> {
        let headers = &webhook.headers;
        let signatures = headers.get(SIGNATURE_HEADER).ok_or_else(|| {
            IngestError::Unauthorized("missing X-Plivo-Signature-V3 header".into())
        })?;
        let nonce = headers.get(NONCE_HEADER).ok_or_else(|| {
            IngestError::Unauthorized("missing X-Plivo-Signature-V3-Nonce header".into())
        })?;
        let params = if webhook.is_json() {
            // The signature covers the parsed object, so it is parsed first; a
            // body that is no JSON object is malformed whoever sent it.
            let map = super::json::members(&webhook.body)?;
            json_params(&map).ok_or_else(|| {
                IngestError::Unauthorized(
                    "cannot verify this JSON body: arrays may only hold text, numbers and booleans"
                        .into(),
                )
            })?
        } else {
            form_params(&super::form_pairs(&webhook.body))
        };
        verify(
            &settings.providers.plivo.auth_token,
            &webhook.url,
            &params,
            nonce.as_bytes(),
            signatures.as_bytes(),
        )?;
        Ok(params)
    }

    fn parse(
        _: &Webhook,
        params: BTreeMap<String, Param>,
    ) -> Result<Parsed<InboundSms>, IngestError> {
        parse(&params).map(Parsed::Sms)
    }

    fn answer(_: &IngestSettings, outcome: Result<Option<Accepted>, IngestError>) -> Response {
        answer_with(outcome, StatusCode::OK)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TOKEN: &str = "test-plivo-token";
    const URL: &str = "https://sms.example.test/webhooks/plivo";
    const NONCE: &[u8] = b"12345678901234567890";

    fn params(list: &[(&str, &str)]) -> BTreeMap<String, Param> {
        let pairs: Vec<(String, String)> = list
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        form_params(&pairs)
    }

    fn sample() -> BTreeMap<String, Param> {
        params(&[
            ("From", "447700900123"),
            ("To", "61491570156"),
            ("Type", "sms"),
            ("Text", "Your code is 123 456 & more"),
            ("MessageUUID", "2f4a5c2e-1f0b-11ee-8f3a-0242ac110002"),
            ("Units", "1"),
        ])
    }

    #[test]
    fn signed_string_matches_the_sdk_construction() {
        // plivo.utils.signature_v3.construct_post_url(...)
        assert_eq!(
            signed_string(URL, &params(&[("To", "2"), ("From", "1")])),
            "https://sms.example.test/webhooks/plivo?From1To2"
        );
        assert_eq!(
            signed_string(
                "https://h.test/webhooks/plivo?b=2&a=1&a=0&c",
                &params(&[("To", "2"), ("From", "1")])
            ),
            "https://h.test/webhooks/plivo?a=0&a=1&b=2&c=.From1To2"
        );
        assert_eq!(
            signed_string("https://h.test/webhooks/plivo?b=2&a=1", &BTreeMap::new()),
            "https://h.test/webhooks/plivo?a=1&b=2"
        );
        assert_eq!(
            signed_string("HTTPS://h.test:443/webhooks/plivo?", &BTreeMap::new()),
            "https://h.test:443/webhooks/plivo"
        );
        assert_eq!(
            signed_string(
                "https://h.test/webhooks/plivo?x=a+b%20c",
                &params(&[("k", "v")])
            ),
            "https://h.test/webhooks/plivo?x=a b c.kv"
        );
    }

    // Expected values computed with plivo 4.63:
    // get_signature_v3(b"test-plivo-token", construct_post_url(URL, params), b"1234...")
    #[test]
    fn known_vectors_match_the_sdk() {
        assert_eq!(
            signature_v3(TOKEN, &signed_string(URL, &sample()), NONCE),
            "nXLCjeFstimcVo0Nln9uZ03bkwwPMihPfu7REWe9oRg="
        );
        let mut json = serde_json::Map::new();
        json.insert("b".into(), serde_json::json!([3, "x", true]));
        json.insert(
            "a".into(),
            serde_json::json!({"z": 1.5e-7, "y": null, "x": 1e16}),
        );
        json.insert("c".into(), serde_json::json!(0.25));
        let json = json_params(&json).unwrap();
        assert_eq!(
            sorted_params_string(&json),
            "ax1e+16yNonez1.5e-07b3bTruebxc0.25"
        );
        assert_eq!(
            signature_v3(TOKEN, &signed_string(URL, &json), NONCE),
            "GwOoAIXNadQ14lz9L3Q+DRuVMLwUeewqcnZwdher1lI="
        );
    }

    #[test]
    fn verify_accepts_any_listed_signature_and_rejects_changes() {
        let good = signature_v3(TOKEN, &signed_string(URL, &sample()), NONCE);
        verify(TOKEN, URL, &sample(), NONCE, good.as_bytes()).unwrap();
        let listed = format!("bm90IHRoaXMgb25l,{good}");
        verify(TOKEN, URL, &sample(), NONCE, listed.as_bytes()).unwrap();
        let spaced = format!("not base64 , {good}");
        verify(TOKEN, URL, &sample(), NONCE, spaced.as_bytes()).unwrap();

        let mut tampered = sample();
        tampered.insert("Text".into(), Param::Text("Your code is 999".into()));
        assert!(verify(TOKEN, URL, &tampered, NONCE, good.as_bytes()).is_err());
        assert!(verify(TOKEN, URL, &sample(), b"1", good.as_bytes()).is_err());
        assert!(verify("other", URL, &sample(), NONCE, good.as_bytes()).is_err());
        let other_url = "https://sms.example.test/webhooks/plivo?x=1";
        assert!(verify(TOKEN, other_url, &sample(), NONCE, good.as_bytes()).is_err());
        assert!(verify(TOKEN, URL, &sample(), NONCE, b"").is_err());
    }

    #[test]
    fn json_the_sdk_cannot_sign_is_refused() {
        let map = |v: serde_json::Value| v.as_object().cloned().unwrap();
        assert!(json_params(&map(serde_json::json!({"a": [{"b": 1}]}))).is_none());
        assert!(json_params(&map(serde_json::json!({"a": [null]}))).is_none());
        assert!(json_params(&map(serde_json::json!({"a": [[1]]}))).is_none());
        assert!(json_params(&map(serde_json::json!({"a": 1, "b": "x"}))).is_some());
    }

    #[test]
    fn python_float_formatting() {
        assert_eq!(python_float(1.0), "1.0");
        assert_eq!(python_float(0.0001), "0.0001");
        assert_eq!(python_float(1.5e-5), "1.5e-05");
        assert_eq!(python_float(1e16), "1e+16");
        assert_eq!(
            python_float(1.2345678901234568e17),
            "1.2345678901234568e+17"
        );
        assert_eq!(python_float(-0.0), "-0.0");
        assert_eq!(python_float(1e100), "1e+100");
    }

    #[test]
    fn parsing_requires_fields_and_reads_units() {
        let sms = parse(&sample()).unwrap();
        assert_eq!(
            sms.provider_message_id,
            "2f4a5c2e-1f0b-11ee-8f3a-0242ac110002"
        );
        assert_eq!(sms.to, "61491570156");
        assert_eq!(sms.segments, 1);
        let mut no_text = sample();
        no_text.remove("Text");
        assert_eq!(
            parse(&no_text).unwrap_err().to_string(),
            "missing field `Text`"
        );
        let repeated = params(&[
            ("MessageUUID", "u"),
            ("From", "1"),
            ("To", "2"),
            ("Text", "first"),
            ("Text", "second"),
        ]);
        assert_eq!(parse(&repeated).unwrap().body, "first");
        assert_eq!(parse(&repeated).unwrap().segments, 0);
    }
}
