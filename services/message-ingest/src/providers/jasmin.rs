//! Jasmin SMS gateway MO messages, as its HTTP client connector delivers them:
//! `GET` or `POST` (form) with `id`, `from`, `to`, `origin-connector`,
//! `content`, `binary` (hex of the raw content), `coding`, `priority`,
//! `validity`. Jasmin does not sign; it is authenticated by a shared secret
//! (`secret` parameter), HTTP Basic auth and/or a client address list.
//! Jasmin retries every reply except `200` with the body `ACK/Jasmin`.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use config::{IngestSettings, JasminSettings};

use super::provider::{FORM, Parsed, Provider, Webhook};
use crate::accept::{Accepted, InboundSms};
use crate::error::IngestError;
/// The reply Jasmin takes as "delivered"; anything else is retried.
pub const ACK: &str = "ACK/Jasmin";

/// True when `ip` matches one entry of `allowed` (an address or a CIDR, v4
/// or v6; an IPv4-mapped IPv6 client matches IPv4 entries). Unparseable
/// entries match nothing.
pub fn ip_allowed(ip: IpAddr, allowed: &[String]) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    };
    allowed.iter().any(|entry| {
        let entry = entry.trim();
        let (addr, prefix) = match entry.split_once('/') {
            Some((addr, prefix)) => match prefix.parse::<u32>() {
                Ok(prefix) => (addr, Some(prefix)),
                Err(_) => return false,
            },
            None => (entry, None),
        };
        let Ok(net) = addr.parse::<IpAddr>() else {
            return false;
        };
        match (ip, net) {
            (IpAddr::V4(ip), IpAddr::V4(net)) => {
                let prefix = prefix.unwrap_or(32);
                prefix <= 32
                    && mask_eq(
                        u128::from(u32::from(ip)),
                        u128::from(u32::from(net)),
                        prefix,
                        32,
                    )
            }
            (IpAddr::V6(ip), IpAddr::V6(net)) => {
                let prefix = prefix.unwrap_or(128);
                prefix <= 128 && mask_eq(u128::from(ip), u128::from(net), prefix, 128)
            }
            _ => false,
        }
    })
}

fn mask_eq(a: u128, b: u128, prefix: u32, bits: u32) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = bits - prefix;
    (a >> shift) == (b >> shift)
}

/// Checks the configured credentials: `secret` parameter and/or Basic auth.
pub fn authenticate(
    settings: &JasminSettings,
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Result<(), IngestError> {
    if !settings.shared_secret.is_empty() {
        let given = super::optional(pairs, "secret")
            .ok_or_else(|| IngestError::Unauthorized("missing `secret` parameter".into()))?;
        if !platform::constant_time_eq(given.as_bytes(), settings.shared_secret.as_bytes()) {
            return Err(IngestError::Unauthorized("wrong `secret`".into()));
        }
    }
    if !settings.username.is_empty() {
        let encoded = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("basic").then_some(rest.trim())
            })
            .ok_or_else(|| IngestError::Unauthorized("missing Basic authorization".into()))?;
        let decoded = STANDARD
            .decode(encoded)
            .map_err(|_| IngestError::Unauthorized("malformed Basic authorization".into()))?;
        let expected = format!("{}:{}", settings.username, settings.password);
        if !platform::constant_time_eq(&decoded, expected.as_bytes()) {
            return Err(IngestError::Unauthorized(
                "wrong username or password".into(),
            ));
        }
    }
    Ok(())
}

/// Percent-decodes a form value to raw bytes (`+` is a space): Jasmin sends
/// `content` as the SMS's raw bytes, which need not be UTF-8.
fn form_bytes(raw: &[u8], name: &str) -> Option<Vec<u8>> {
    raw.split(|b| *b == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let key: String = form_urlencoded::parse(key)
            .map(|(k, _)| k.into_owned())
            .collect();
        (key == name).then(|| percent_decode(value))
    })
}

fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                match raw
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// UTF-16BE (UCS-2) to text; lone surrogates become U+FFFD.
fn utf16be(bytes: &[u8]) -> String {
    let units = bytes
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Latin-1 (and the ASCII part of the GSM alphabet): one byte, one char.
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// The message text from the raw content bytes and the SMPP data coding:
/// 8 is UCS-2; 0 (SMSC default), 1 (ASCII) and 3 (Latin-1) are UTF-8 when
/// the bytes are valid UTF-8 (what most SMSCs hand over) and Latin-1
/// otherwise; any other coding is shown as text when it is UTF-8, else as hex.
pub fn decode_text(bytes: &[u8], coding: Option<u8>) -> String {
    match coding {
        Some(8) => utf16be(bytes),
        Some(0 | 1 | 3) | None => match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(_) => latin1(bytes),
        },
        Some(_) => match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(_) => format!("[binary message: {}]", hex::encode(bytes)),
        },
    }
}

/// Decoded form parameters, in the order received.
type Pairs = Vec<(String, String)>;

/// The parameters: the body's for `POST` (query parameters follow, where a
/// `secret` in the configured URL lives), the query string's for `GET`.
fn params(webhook: &Webhook) -> Pairs {
    let query = webhook.query().as_bytes();
    if webhook.method == Method::POST {
        let mut pairs = super::form_pairs(&webhook.body);
        pairs.extend(super::form_pairs(query));
        pairs
    } else {
        super::form_pairs(query)
    }
}

/// Jasmin's HTTP client connector, `/webhooks/jasmin` (`GET` or `POST`):
/// answers `200 ACK/Jasmin` once accepted.
pub struct Jasmin;

impl Provider for Jasmin {
    const NAME: &'static str = "jasmin";
    const CONTENT_TYPES: &'static [&'static str] = &[FORM];
    const TAKES_GET: bool = true;
    /// The request's parameters, the `secret` among them.
    type Verified = Pairs;
    type Message = InboundSms;

    fn enabled(settings: &IngestSettings) -> bool {
        settings.providers.jasmin.enabled()
    }

    fn admit(settings: &IngestSettings, client: Option<IpAddr>) -> Result<(), IngestError> {
        let allowed = &settings.providers.jasmin.allowed_ips;
        // Without a known client address an allow-list cannot pass: fail closed.
        if !allowed.is_empty() && !client.is_some_and(|ip| ip_allowed(ip, allowed)) {
            return Err(IngestError::Forbidden(
                "client address is not allowed".into(),
            ));
        }
        Ok(())
    }

    fn verify(settings: &IngestSettings, webhook: &Webhook) -> Result<Pairs, IngestError> {
        let pairs = params(webhook);
        authenticate(&settings.providers.jasmin, &webhook.headers, &pairs)?;
        Ok(pairs)
    }

    fn parse(webhook: &Webhook, pairs: Pairs) -> Result<Parsed<InboundSms>, IngestError> {
        let id = super::required(&pairs, "id")?;
        let from = super::required(&pairs, "from")?;
        let to = super::required(&pairs, "to")?;
        let coding = match super::optional(&pairs, "coding").map(str::trim) {
            None | Some("") => None,
            Some(c) => Some(c.parse::<u8>().map_err(|_| {
                IngestError::BadRequest("coding: must be an SMPP data_coding number".into())
            })?),
        };
        let query = webhook.query().as_bytes();
        let bytes = match super::optional(&pairs, "binary").filter(|b| !b.is_empty()) {
            Some(hex_text) => hex::decode(hex_text.trim())
                .map_err(|_| IngestError::BadRequest("binary: must be hex".into()))?,
            None => {
                if super::optional(&pairs, "content").is_none() {
                    return Err(IngestError::BadRequest("missing field `content`".into()));
                }
                let raw: &[u8] = if webhook.method == Method::POST {
                    &webhook.body
                } else {
                    query
                };
                form_bytes(raw, "content")
                    .or_else(|| form_bytes(query, "content"))
                    .unwrap_or_default()
            }
        };
        Ok(Parsed::Sms(InboundSms {
            provider: Self::NAME,
            provider_message_id: id.to_owned(),
            to: to.to_owned(),
            from: from.to_owned(),
            body: decode_text(&bytes, coding),
            received_at: None,
            segments: 0,
        }))
    }

    fn answer(
        settings: &IngestSettings,
        outcome: Result<Option<Accepted>, IngestError>,
    ) -> Response {
        match outcome {
            Ok(_) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))],
                ACK,
            )
                .into_response(),
            Err(err) => {
                let basic = matches!(err, IngestError::Unauthorized(_))
                    && !settings.providers.jasmin.username.is_empty();
                let mut response = err.into_response();
                if basic {
                    response.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"cloudsms\""),
                    );
                }
                response
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn settings(secret: &str, user: &str, password: &str) -> JasminSettings {
        JasminSettings {
            shared_secret: secret.into(),
            username: user.into(),
            password: password.into(),
            allowed_ips: vec![],
        }
    }

    fn pairs(raw: &str) -> Vec<(String, String)> {
        super::super::form_pairs(raw.as_bytes())
    }

    #[test]
    fn shared_secret_must_match() {
        let s = settings("test-jasmin-secret", "", "");
        let h = HeaderMap::new();
        authenticate(&s, &h, &pairs("secret=test-jasmin-secret")).unwrap();
        assert!(authenticate(&s, &h, &pairs("secret=test-jasmin-secreT")).is_err());
        assert!(authenticate(&s, &h, &pairs("secret=")).is_err());
        let err = authenticate(&s, &h, &pairs("id=1")).unwrap_err();
        assert!(err.to_string().contains("secret"));
    }

    #[test]
    fn basic_auth_must_match() {
        let s = settings("", "jasmin", "test-jasmin-password");
        let mut h = HeaderMap::new();
        assert!(authenticate(&s, &h, &[]).is_err());
        // printf 'jasmin:test-jasmin-password' | base64
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic amFzbWluOnRlc3QtamFzbWluLXBhc3N3b3Jk"),
        );
        authenticate(&s, &h, &[]).unwrap();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic amFzbWluOndyb25n"),
        );
        assert!(authenticate(&s, &h, &[]).is_err());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert!(authenticate(&s, &h, &[]).is_err());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert!(authenticate(&s, &h, &[]).is_err());
    }

    #[test]
    fn allow_list_takes_addresses_and_cidrs_of_both_families() {
        let list: Vec<String> = [
            "10.1.2.3",
            "192.168.0.0/16",
            "2001:db8::/32",
            "::1",
            "bad",
            "1.2.3.4/40",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let ok = |s: &str| ip_allowed(s.parse().unwrap(), &list);
        assert!(ok("10.1.2.3"));
        assert!(!ok("10.1.2.4"));
        assert!(ok("192.168.255.1"));
        assert!(!ok("192.169.0.1"));
        assert!(ok("2001:db8:1::5"));
        assert!(!ok("2001:db9::5"));
        assert!(ok("::1"));
        assert!(ok("::ffff:10.1.2.3"));
        assert!(!ok("1.2.3.4"));
        assert!(ip_allowed(
            "8.8.8.8".parse().unwrap(),
            &["0.0.0.0/0".to_owned()]
        ));
        assert!(!ip_allowed("8.8.8.8".parse().unwrap(), &[]));
    }

    #[test]
    fn content_is_decoded_by_coding() {
        // "Привет" in UTF-16BE, as Jasmin's `binary` carries it for coding 8.
        let ucs2 = hex::decode("041f04400438043204350442").unwrap();
        assert_eq!(decode_text(&ucs2, Some(8)), "Привет");
        assert_eq!(decode_text(&[0xd8, 0x3d, 0xde, 0x00], Some(8)), "😀");
        assert_eq!(decode_text(&[0xd8, 0x3d], Some(8)), "\u{fffd}");
        assert_eq!(decode_text(&[0x00], Some(8)), "\u{0}");
        assert_eq!(decode_text(b"code 1234", Some(0)), "code 1234");
        assert_eq!(decode_text(&[0x63, 0x61, 0x66, 0xe9], Some(3)), "café");
        assert_eq!(decode_text("café".as_bytes(), None), "café");
        assert_eq!(
            decode_text(&[0xff, 0x00], Some(4)),
            "[binary message: ff00]"
        );
    }

    #[test]
    fn raw_form_values_keep_their_bytes() {
        assert_eq!(
            form_bytes(b"id=1&content=%04%1F+x%zz%", "content").unwrap(),
            vec![0x04, 0x1f, b' ', b'x', b'%', b'z', b'z', b'%']
        );
        assert_eq!(form_bytes(b"content", "content").unwrap(), Vec::<u8>::new());
        assert!(form_bytes(b"id=1", "content").is_none());
        assert_eq!(
            form_bytes(b"a=1&content=%4", "content").unwrap(),
            b"%4".to_vec()
        );
    }
}
