//! Twilio Programmable Messaging: a form POST (`MessageSid`, `From`, `To`,
//! `Body`, `NumSegments`, ...) signed with `X-Twilio-Signature`, verified
//! exactly as twilio-python 9.13's `RequestValidator.validate` does:
//!
//! - the signed string is the public URL followed by every POST parameter,
//!   sorted by name, each name immediately followed by its value;
//! - Twilio is inconsistent about the default port, so the URL is tried both
//!   with it (`:443`/`:80` added) and without it (any port removed);
//! - `X-Twilio-Webhooks-Signature-Settings: key=...,algorithm=HMAC_SHA256`
//!   switches the HMAC from SHA-1 to SHA-256 (a Webhook Rule signs with its
//!   SharedKey, so the operator configures that key's secret in that case);
//! - a JSON body carries `bodySHA256` (hex SHA-256 of the raw body) in the
//!   query string and the signature covers the URL only.

use axum::http::{StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use config::IngestSettings;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::provider::{FORM, JSON, Parsed, Provider, Webhook, answer_with, optional_header};
use crate::accept::{Accepted, InboundSms};
use crate::error::IngestError;

/// Header with the request signature.
pub const SIGNATURE_HEADER: &str = "x-twilio-signature";
/// Header Twilio adds when a Webhook Rule signs the request with a SharedKey:
/// `key=<sharedKeyId>,algorithm=<algorithm>`.
pub const SIGNATURE_SETTINGS_HEADER: &str = "x-twilio-webhooks-signature-settings";
/// Query parameter with the hex SHA-256 of a JSON body.
pub const BODY_HASH_PARAM: &str = "bodySHA256";
/// The empty TwiML document: "received, nothing to send back".
pub const TWIML_EMPTY: &str = "<Response/>";

/// Hash of the signature's HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `HMAC_SHA1`: the Auth Token signature, and the default.
    HmacSha1,
    /// `HMAC_SHA256`: available to Webhook Settings.
    HmacSha256,
}

/// The algorithm named by `X-Twilio-Webhooks-Signature-Settings`, as the
/// SDK's `get_signature_algorithm` reads it: the first non-empty
/// `algorithm=` part, case-insensitive; none means `HMAC_SHA1`.
pub fn signature_algorithm(settings: Option<&str>) -> Result<Algorithm, IngestError> {
    let named = settings.unwrap_or("").split(',').find_map(|part| {
        let (name, value) = part.split_once('=')?;
        (name.trim() == "algorithm" && !value.trim().is_empty()).then(|| value.trim())
    });
    match named.map(str::to_ascii_uppercase).as_deref() {
        None | Some("HMAC_SHA1") => Ok(Algorithm::HmacSha1),
        Some("HMAC_SHA256") => Ok(Algorithm::HmacSha256),
        Some(other) => Err(IngestError::Unauthorized(format!(
            "unsupported Twilio signature algorithm `{}`; supported: HMAC_SHA1, HMAC_SHA256",
            domain::log_safe(other)
        ))),
    }
}

/// The string Twilio signs: `url`, then each distinct parameter name in
/// sorted order followed by each of its distinct values in sorted order
/// (the SDK's `sorted(set(...))`; Rust's byte order of UTF-8 is Python's
/// code point order).
pub fn signed_string(url: &str, params: &[(String, String)]) -> String {
    let mut out = url.to_owned();
    out.push_str(&signed_params(params));
    out
}

/// What [`signed_string`] appends to the URL: the distinct (name, value)
/// pairs sorted by name, then value (the same order as the SDK's sorted
/// names, each with its sorted distinct values), each written as name then
/// value.
fn signed_params(params: &[(String, String)]) -> String {
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::with_capacity(sorted.iter().map(|(n, v)| n.len() + v.len()).sum());
    for (name, value) in sorted {
        out.push_str(name);
        out.push_str(value);
    }
    out
}

fn mac_bytes(algorithm: Algorithm, key: &[u8], message: &[u8]) -> Vec<u8> {
    match algorithm {
        Algorithm::HmacSha1 => {
            let mut mac = Hmac::<Sha1>::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        Algorithm::HmacSha256 => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
    }
}

/// Whether the HMAC of the concatenated `parts` is `expected`.
fn mac_matches(algorithm: Algorithm, key: &[u8], parts: [&[u8]; 2], expected: &[u8]) -> bool {
    match algorithm {
        Algorithm::HmacSha1 => Hmac::<Sha1>::new_from_slice(key).is_ok_and(|mut mac| {
            parts.iter().for_each(|part| mac.update(part));
            mac.verify_slice(expected).is_ok()
        }),
        Algorithm::HmacSha256 => Hmac::<Sha256>::new_from_slice(key).is_ok_and(|mut mac| {
            parts.iter().for_each(|part| mac.update(part));
            mac.verify_slice(expected).is_ok()
        }),
    }
}

/// `X-Twilio-Signature` for `url` and POST `params` (the SDK's
/// `compute_signature`; also used by tests and the demo).
pub fn compute_signature(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    algorithm: Algorithm,
) -> String {
    STANDARD.encode(mac_bytes(
        algorithm,
        auth_token.as_bytes(),
        signed_string(url, params).as_bytes(),
    ))
}

/// `url` as the SDK's `urlparse(...).geturl()` rebuilds it (lower-case
/// scheme, no empty `?` or `#`), without and with the port: any port is
/// removed from the first, and the scheme's default port (443 for https, 80
/// otherwise) is added to the second when absent.
pub fn url_variants(url: &str) -> [String; 2] {
    let Some((scheme, rest)) = url.split_once("://") else {
        return [url.to_owned(), url.to_owned()];
    };
    let scheme = scheme.to_ascii_lowercase();
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (before_fragment, fragment) = match tail.split_once('#') {
        Some((before, fragment)) => (before, fragment),
        None => (tail, ""),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((path, query)) => (path, query),
        None => (before_fragment, ""),
    };
    let mut tail = path.to_owned();
    if !query.is_empty() {
        tail.push('?');
        tail.push_str(query);
    }
    if !fragment.is_empty() {
        tail.push('#');
        tail.push_str(fragment);
    }
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => (Some(userinfo), host_port),
        None => (None, authority),
    };
    // The port follows the last ':' after an IPv6 literal's ']'.
    let host_end = host_port.rfind(']').map_or(0, |i| i + 1);
    let (host, port) = match host_port[host_end..].rfind(':') {
        Some(i) => (&host_port[..host_end + i], &host_port[host_end + i + 1..]),
        None => (host_port, ""),
    };
    let prefix = match userinfo {
        Some(userinfo) => format!("{scheme}://{userinfo}@{host}"),
        None => format!("{scheme}://{host}"),
    };
    let port = match port.parse::<u16>() {
        Ok(port) if port != 0 => port,
        _ if scheme == "https" => 443,
        _ => 80,
    };
    [format!("{prefix}{tail}"), format!("{prefix}:{port}{tail}")]
}

/// What was signed besides the URL.
#[derive(Debug, Clone, Copy)]
pub enum Signed<'a> {
    /// A form body: its parameters are part of the signed string.
    Form(&'a [(String, String)]),
    /// A JSON body: covered by the URL's `bodySHA256` instead.
    Json(&'a [u8]),
}

/// Checks `signature` (the header's value) as the SDK's
/// `RequestValidator.validate` does.
pub fn verify(
    auth_token: &str,
    url: &str,
    signed: Signed<'_>,
    signature: &str,
    algorithm: Algorithm,
) -> Result<(), IngestError> {
    let expected = STANDARD
        .decode(signature.trim())
        .map_err(|_| IngestError::Unauthorized("X-Twilio-Signature is not base64".into()))?;
    let params: &[(String, String)] = match signed {
        Signed::Form(params) => params,
        Signed::Json(body) => {
            let query = url
                .split_once('?')
                .map_or("", |(_, q)| q.split_once('#').map_or(q, |(q, _)| q));
            let claimed = form_urlencoded::parse(query.as_bytes())
                .find(|(k, v)| k == BODY_HASH_PARAM && !v.is_empty())
                .map(|(_, v)| v.into_owned())
                .ok_or_else(|| {
                    IngestError::Unauthorized(format!(
                        "a JSON body needs the {BODY_HASH_PARAM} query parameter"
                    ))
                })?;
            if hex::encode(Sha256::digest(body)) != claimed {
                return Err(IngestError::Unauthorized(format!(
                    "body does not match {BODY_HASH_PARAM}"
                )));
            }
            &[]
        }
    };
    let [without_port, with_port] = url_variants(url);
    let key = auth_token.as_bytes();
    let signed_params = signed_params(params);
    let tail = signed_params.as_bytes();
    // Both forms are always computed: which one matched is no secret, but
    // there is no reason to vary the work either.
    let a = mac_matches(algorithm, key, [without_port.as_bytes(), tail], &expected);
    let b = mac_matches(algorithm, key, [with_port.as_bytes(), tail], &expected);
    if a | b {
        Ok(())
    } else {
        Err(IngestError::Unauthorized(
            "X-Twilio-Signature does not match (is ingest.public_url the address Twilio calls?)"
                .into(),
        ))
    }
}

/// Top-level scalar fields of a JSON object as name/value pairs, so JSON
/// bodies are read like forms.
fn json_pairs(body: &[u8]) -> Result<Vec<(String, String)>, IngestError> {
    let map = super::json::members(body)?;
    Ok(map
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k, s)),
            serde_json::Value::Number(n) => Some((k, n.to_string())),
            serde_json::Value::Bool(b) => Some((k, b.to_string())),
            _ => None,
        })
        .collect())
}

/// The SMS described by Twilio's parameters.
fn parse(pairs: &[(String, String)]) -> Result<InboundSms, IngestError> {
    let segments = super::optional(pairs, "NumSegments")
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(0);
    Ok(InboundSms {
        provider: Twilio::NAME,
        provider_message_id: super::required(pairs, "MessageSid")?.to_owned(),
        to: super::required(pairs, "To")?.to_owned(),
        from: super::required(pairs, "From")?.to_owned(),
        body: super::required(pairs, "Body")?.to_owned(),
        received_at: None,
        segments,
    })
}

/// Twilio's webhook, `POST /webhooks/twilio`: answers 200 with an empty
/// TwiML document.
pub struct Twilio;

impl Provider for Twilio {
    const NAME: &'static str = "twilio";
    const CONTENT_TYPES: &'static [&'static str] = &[FORM, JSON];
    /// The request's parameters: the form's, or a JSON body's members.
    type Verified = Vec<(String, String)>;
    type Message = InboundSms;

    fn enabled(settings: &IngestSettings) -> bool {
        !settings.providers.twilio.auth_token.is_empty()
    }

    fn verify(
        settings: &IngestSettings,
        webhook: &Webhook,
    ) -> Result<Vec<(String, String)>, IngestError> {
        let auth_token = &settings.providers.twilio.auth_token;
        let text_header = |name: &str| optional_header(&webhook.headers, name);
        let signature = text_header(SIGNATURE_HEADER)?
            .ok_or_else(|| IngestError::Unauthorized("missing X-Twilio-Signature header".into()))?;
        let algorithm = signature_algorithm(text_header(SIGNATURE_SETTINGS_HEADER)?)?;
        let url = &webhook.url;
        if webhook.is_json() {
            let signed = Signed::Json(&webhook.body);
            verify(auth_token, url, signed, signature, algorithm)?;
            json_pairs(&webhook.body)
        } else {
            let pairs = super::form_pairs(&webhook.body);
            verify(auth_token, url, Signed::Form(&pairs), signature, algorithm)?;
            Ok(pairs)
        }
    }

    fn parse(_: &Webhook, pairs: Vec<(String, String)>) -> Result<Parsed<InboundSms>, IngestError> {
        parse(&pairs).map(Parsed::Sms)
    }

    fn answer(_: &IngestSettings, outcome: Result<Option<Accepted>, IngestError>) -> Response {
        let twiml = (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/xml")],
            TWIML_EMPTY,
        );
        answer_with(outcome, twiml)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TOKEN: &str = "test-twilio-token";
    const URL: &str = "https://sms.example.test/webhooks/twilio";

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn sample() -> Vec<(String, String)> {
        pairs(&[
            ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
            ("From", "+12025550142"),
            ("To", "+447700900123"),
            ("Body", "Your code is 123 456 & more"),
            ("NumSegments", "1"),
        ])
    }

    // Expected values computed with twilio 9.13:
    // RequestValidator("test-twilio-token").compute_signature(URL, params[, "HMAC_SHA256"]);
    // the duplicate case with a dict offering `getall` (a MultiDict).
    #[test]
    fn known_vectors_match_the_sdk() {
        assert_eq!(
            compute_signature(TOKEN, URL, &sample(), Algorithm::HmacSha1),
            "7oKZ62iTZMIb+mRm9RSzowjsVBE="
        );
        assert_eq!(
            compute_signature(TOKEN, URL, &sample(), Algorithm::HmacSha256),
            "RgYD6RpjgvWuZWjQEK3rGUiwxOyuma17RGfsungmdnM="
        );
        // Duplicated names and values: sorted(set(values)).
        let dup = pairs(&[("b", "2"), ("a", "z"), ("a", "y"), ("a", "z"), ("é", "1")]);
        assert_eq!(signed_string("u", &dup), "uayazb2é1");
        assert_eq!(
            compute_signature(TOKEN, URL, &dup, Algorithm::HmacSha1),
            "+RiZl+stfrLmZtQjQ1mcVEYqi10="
        );
    }

    #[test]
    fn signed_string_sorts_names_and_concatenates() {
        assert_eq!(
            signed_string(URL, &pairs(&[("To", "+4"), ("Body", "hi"), ("From", "+1")])),
            format!("{URL}BodyhiFrom+1To+4")
        );
        assert_eq!(signed_string(URL, &[]), URL);
    }

    #[test]
    fn url_variants_add_and_remove_the_port() {
        assert_eq!(
            url_variants("https://h.test/webhooks/twilio?a=1"),
            [
                "https://h.test/webhooks/twilio?a=1".to_owned(),
                "https://h.test:443/webhooks/twilio?a=1".to_owned()
            ]
        );
        assert_eq!(
            url_variants("https://h.test:443/x"),
            [
                "https://h.test/x".to_owned(),
                "https://h.test:443/x".to_owned()
            ]
        );
        assert_eq!(
            url_variants("http://h.test/x"),
            [
                "http://h.test/x".to_owned(),
                "http://h.test:80/x".to_owned()
            ]
        );
        // As the SDK: a non-default port is kept in one form, dropped in the other.
        assert_eq!(
            url_variants("HTTPS://h.test:8443/x?#"),
            [
                "https://h.test/x".to_owned(),
                "https://h.test:8443/x".to_owned()
            ]
        );
        assert_eq!(
            url_variants("https://[::1]:8443/x"),
            [
                "https://[::1]/x".to_owned(),
                "https://[::1]:8443/x".to_owned()
            ]
        );
        assert_eq!(url_variants("no-scheme")[0], "no-scheme");
    }

    #[test]
    fn verify_accepts_either_port_form_and_rejects_changes() {
        for signed_url in [URL, "https://sms.example.test:443/webhooks/twilio"] {
            let sig = compute_signature(TOKEN, signed_url, &sample(), Algorithm::HmacSha1);
            for request_url in [URL, "https://sms.example.test:443/webhooks/twilio"] {
                verify(
                    TOKEN,
                    request_url,
                    Signed::Form(&sample()),
                    &sig,
                    Algorithm::HmacSha1,
                )
                .unwrap();
            }
            let mut tampered = sample();
            tampered[3].1.push('!');
            assert!(
                verify(
                    TOKEN,
                    URL,
                    Signed::Form(&tampered),
                    &sig,
                    Algorithm::HmacSha1
                )
                .is_err()
            );
            assert!(
                verify(
                    "other",
                    URL,
                    Signed::Form(&sample()),
                    &sig,
                    Algorithm::HmacSha1
                )
                .is_err()
            );
            assert!(
                verify(
                    TOKEN,
                    URL,
                    Signed::Form(&sample()),
                    &sig,
                    Algorithm::HmacSha256
                )
                .is_err()
            );
        }
        let err = verify(
            TOKEN,
            URL,
            Signed::Form(&sample()),
            "***",
            Algorithm::HmacSha1,
        )
        .unwrap_err();
        assert!(err.to_string().contains("not base64"));
    }

    #[test]
    fn json_bodies_are_checked_against_body_sha256() {
        let body = br#"{"MessageSid":"SM1","From":"+1","To":"+2","Body":"hi"}"#;
        let hash = hex::encode(Sha256::digest(body));
        let url = format!("{URL}?{BODY_HASH_PARAM}={hash}");
        let sig = compute_signature(TOKEN, &url, &[], Algorithm::HmacSha1);
        verify(TOKEN, &url, Signed::Json(body), &sig, Algorithm::HmacSha1).unwrap();
        let err = verify(TOKEN, &url, Signed::Json(b"{}"), &sig, Algorithm::HmacSha1).unwrap_err();
        assert!(err.to_string().contains("does not match bodySHA256"));
        let sig = compute_signature(TOKEN, URL, &[], Algorithm::HmacSha1);
        let err = verify(TOKEN, URL, Signed::Json(body), &sig, Algorithm::HmacSha1).unwrap_err();
        assert!(err.to_string().contains("needs the bodySHA256"));
    }

    #[test]
    fn settings_header_selects_the_algorithm() {
        assert_eq!(signature_algorithm(None).unwrap(), Algorithm::HmacSha1);
        assert_eq!(
            signature_algorithm(Some("key=ks_1,algorithm=HMAC_SHA256")).unwrap(),
            Algorithm::HmacSha256
        );
        assert_eq!(
            signature_algorithm(Some(" key=x , algorithm = hmac_sha256 ")).unwrap(),
            Algorithm::HmacSha256
        );
        assert_eq!(
            signature_algorithm(Some("key=x,algorithm=")).unwrap(),
            Algorithm::HmacSha1
        );
        assert!(signature_algorithm(Some("algorithm=HMAC_MD5")).is_err());
    }

    #[test]
    fn parsing_requires_fields_and_reads_segments() {
        let sms = parse(&sample()).unwrap();
        assert_eq!(
            sms.provider_message_id,
            "SM0123456789abcdef0123456789abcdef"
        );
        assert_eq!(sms.segments, 1);
        let mut no_body = sample();
        no_body.retain(|(k, _)| k != "Body");
        assert_eq!(
            parse(&no_body).unwrap_err().to_string(),
            "missing field `Body`"
        );
        let mut odd = sample();
        odd[4].1 = "many".into();
        assert_eq!(parse(&odd).unwrap().segments, 0);
        let json = json_pairs(br#"{"MessageSid":"SM1","NumSegments":3,"x":null}"#).unwrap();
        assert_eq!(super::super::optional(&json, "NumSegments"), Some("3"));
        assert!(json_pairs(b"[1]").is_err());
        assert!(json_pairs(b"{").is_err());
    }
}
