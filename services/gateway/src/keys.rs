//! The gateway's signing key (`gateway.gate.pass_key`), the one way the
//! gateway signs what it hands out and checks what comes back: pass cookies
//! and no-JavaScript tickets of the gate, CSRF tokens of `/my-data` and the
//! operator pages. HMAC-SHA256 over length-prefixed parts (no part can be
//! shifted into another), the first part naming the purpose so a signature
//! made for one purpose is worthless for another; checked in constant time
//! (`platform::security`).

use std::sync::Arc;

/// Bytes of a signature: 128 bits of the HMAC-SHA256, as 32 hex digits.
const SIGNATURE_BYTES: usize = 16;

/// The key, shared by every clone.
#[derive(Clone)]
pub struct Keys {
    key: Arc<[u8]>,
}

/// `parts`, each after its length as 8 big-endian bytes.
fn framed(parts: &[&str]) -> Vec<u8> {
    let mut message = Vec::with_capacity(parts.iter().map(|p| 8 + p.len()).sum());
    for part in parts {
        message.extend_from_slice(&(part.len() as u64).to_be_bytes());
        message.extend_from_slice(part.as_bytes());
    }
    message
}

impl Keys {
    /// The key of `settings`; an empty `pass_key` gets a random one for
    /// this process (then signatures do not survive a restart and replicas
    /// do not accept each other's).
    pub fn new(settings: &config::GateSettings) -> Self {
        let key: Vec<u8> = if settings.pass_key.is_empty() {
            tracing::warn!(
                "gateway.gate.pass_key is empty: using a random key for this process; \
                 replicas must share one key (set gateway.gate.pass_key)"
            );
            rand::random::<[u8; 32]>().to_vec()
        } else {
            settings.pass_key.expose().as_bytes().to_vec()
        };
        Self { key: key.into() }
    }

    /// The signature of `parts` (128 bits, lower-case hex).
    pub fn sign(&self, parts: &[&str]) -> String {
        let tag = platform::security::sign(&self.key, &framed(parts));
        hex::encode(&tag[..SIGNATURE_BYTES])
    }

    /// `signature` is the signature of `parts`, as [`Keys::sign`] writes
    /// it (32 lower-case hex digits; checked in constant time).
    pub fn verify(&self, parts: &[&str], signature: &str) -> bool {
        let mut tag = [0u8; SIGNATURE_BYTES];
        signature
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && hex::decode_to_slice(signature, &mut tag).is_ok()
            && platform::security::verify_truncated(&self.key, &framed(parts), &tag)
    }

    /// The CSRF token of a form bound to `binding` (a visitor id, a session
    /// id) for `purpose`.
    pub fn csrf_token(&self, purpose: &str, binding: &str) -> String {
        self.sign(&["csrf", purpose, binding])
    }

    /// `token` is the CSRF token of `purpose` for `binding`.
    pub fn check_csrf(&self, purpose: &str, binding: &str, token: &str) -> bool {
        !binding.is_empty() && self.verify(&["csrf", purpose, binding], token)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn keys(key: &str) -> Keys {
        let mut settings = config::Settings::defaults().unwrap().gateway.gate;
        settings.pass_key = key.into();
        Keys::new(&settings)
    }

    #[test]
    fn csrf_tokens_are_keyed_bound_and_purposeful() {
        let k = keys("one");
        let token = k.csrf_token("my-data", "visitor-a");
        assert!(k.check_csrf("my-data", "visitor-a", &token));
        assert!(!k.check_csrf("my-data", "visitor-b", &token));
        assert!(!k.check_csrf("admin", "visitor-a", &token));
        assert!(!k.check_csrf("my-data", "", &k.csrf_token("my-data", "")));
        assert!(!keys("two").check_csrf("my-data", "visitor-a", &token));
        assert!(!k.check_csrf("my-data", "visitor-a", &token[..31]));
        assert!(!k.check_csrf("my-data", "visitor-a", &token[..30]));
        assert!(!k.check_csrf("my-data", "visitor-a", &token.to_uppercase()));
        assert!(!k.check_csrf("my-data", "visitor-a", &format!("{token}00")));
        // A signature of the same bytes split differently is another one.
        assert_ne!(k.sign(&["ab", "c"]), k.sign(&["a", "bc"]));
    }

    #[test]
    fn signatures_are_the_ones_earlier_releases_wrote() {
        // Pass cookies and CSRF tokens already handed out must still verify:
        // HMAC-SHA256 over length-prefixed parts, first 128 bits, hex.
        let k = keys("one");
        let token = "9ae631b06e249661fe3a3b08f6fac5c4";
        assert_eq!(k.csrf_token("my-data", "visitor-a"), token);
        assert!(k.check_csrf("my-data", "visitor-a", token));
    }
}
