//! Tokens handed out by redemption and checked by `/siteverify`.
//!
//! `v1.<base64url payload>.<base64url HMAC-SHA256>`, where the payload is a
//! canonical binary encoding: each text field as one length byte and its
//! bytes (site key, hostname, action), then issued-at and expiry as 8-byte
//! big-endian Unix seconds, then a 16-byte random id. The MAC covers a
//! domain-separation label and the payload bytes; parsing consumes exactly
//! the payload, so no field can be shifted into another.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const PREFIX: &str = "v1.";
const LABEL: &[u8] = b"cloudsms-captcha-token-v1\0";
/// Largest accepted token, in characters.
pub const MAX_TOKEN_LEN: usize = 2048;

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// Site key the captcha was solved for.
    pub site_key: String,
    /// Hostname it was solved on.
    pub hostname: String,
    /// Action of the challenge (may be empty).
    pub action: String,
    /// Unix seconds of the redemption.
    pub issued: u64,
    /// Unix seconds after which the token is refused.
    pub expires: u64,
    /// Random id: the single-use key.
    pub id: [u8; 16],
}

/// Why a token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Not a token, or not one of ours.
    Invalid,
    /// Past its expiry.
    Expired,
}

fn push_text(out: &mut Vec<u8>, text: &str) -> Option<()> {
    out.push(u8::try_from(text.len()).ok()?);
    out.extend_from_slice(text.as_bytes());
    Some(())
}

/// Signs `claims` with `key`; `None` when a field is longer than 255 bytes.
pub fn encode(key: &[u8], claims: &Claims) -> Option<String> {
    let mut payload = Vec::with_capacity(128);
    push_text(&mut payload, &claims.site_key)?;
    push_text(&mut payload, &claims.hostname)?;
    push_text(&mut payload, &claims.action)?;
    payload.extend_from_slice(&claims.issued.to_be_bytes());
    payload.extend_from_slice(&claims.expires.to_be_bytes());
    payload.extend_from_slice(&claims.id);
    let mac = platform::security::sign(key, &signed(&payload));
    Some(format!(
        "{PREFIX}{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(mac)
    ))
}

/// The bytes the MAC covers: the label, then the payload.
fn signed(payload: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(LABEL.len() + payload.len());
    data.extend_from_slice(LABEL);
    data.extend_from_slice(payload);
    data
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn text(&mut self) -> Option<String> {
        let len = usize::from(*self.take(1)?.first()?);
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// Checks the MAC and expiry of `token` and returns its claims.
pub fn decode(key: &[u8], token: &str, now: u64) -> Result<Claims, TokenError> {
    let invalid = TokenError::Invalid;
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid);
    }
    let rest = token.strip_prefix(PREFIX).ok_or(invalid)?;
    let (payload, tag) = rest.split_once('.').ok_or(invalid)?;
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid)?;
    if !platform::security::verify(key, &signed(&payload), &tag) {
        return Err(invalid);
    }
    let mut reader = Reader(&payload);
    let mut parse = || -> Option<Claims> {
        let claims = Claims {
            site_key: reader.text()?,
            hostname: reader.text()?,
            action: reader.text()?,
            issued: reader.u64()?,
            expires: reader.u64()?,
            id: reader.take(16)?.try_into().ok()?,
        };
        reader.0.is_empty().then_some(claims)
    };
    let claims = parse().ok_or(invalid)?;
    if claims.expires <= now {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            site_key: "site-a".into(),
            hostname: "example.org".into(),
            action: "login".into(),
            issued: 100,
            expires: 400,
            id: [7; 16],
        }
    }

    #[test]
    fn round_trips_and_expires() {
        let token = encode(b"k", &claims()).unwrap();
        assert_eq!(decode(b"k", &token, 399).unwrap(), claims());
        assert_eq!(decode(b"k", &token, 400), Err(TokenError::Expired));
        assert_eq!(decode(b"other", &token, 100), Err(TokenError::Invalid));
    }

    #[test]
    fn tampering_and_garbage_are_invalid() {
        let token = encode(b"k", &claims()).unwrap();
        let (head, tag) = token.rsplit_once('.').unwrap();
        let mut payload = URL_SAFE_NO_PAD.decode(&head[3..]).unwrap();
        // Shift a byte of the hostname into the action: same bytes, other fields.
        payload[8] -= 1;
        let forged = format!("v1.{}.{tag}", URL_SAFE_NO_PAD.encode(&payload));
        assert_eq!(decode(b"k", &forged, 100), Err(TokenError::Invalid));
        for bad in ["", "v1.", "v1..", "v2.a.b", "v1.!!.??", &"v".repeat(5000)] {
            assert_eq!(decode(b"k", bad, 100), Err(TokenError::Invalid), "{bad}");
        }
    }

    #[test]
    fn tokens_are_the_ones_earlier_releases_wrote() {
        // Tokens already handed out must still verify: the format is pinned.
        let token = "v1.BnNpdGUtYQtleGFtcGxlLm9yZwVsb2dpbgAAAAAAAABkAAAAAAAAAZAHBwcHBwcHBwcHBwcHBwcH.\
                     SBTRdjsr9PL9myTSxY4NxoVk4U7TkM23qX4UDYjeVIY";
        assert_eq!(encode(b"k", &claims()).unwrap(), token);
        assert_eq!(decode(b"k", token, 399).unwrap(), claims());
        // A tag cut short is not a tag.
        let short = &token[..token.len() - 2];
        assert_eq!(decode(b"k", short, 399), Err(TokenError::Invalid));
    }

    #[test]
    fn overlong_fields_are_not_encoded() {
        let mut c = claims();
        c.hostname = "h".repeat(300);
        assert!(encode(b"k", &c).is_none());
    }
}
