//! HMAC-SHA256: the one way a service signs what it hands out and checks
//! what comes back, and the one constant-time comparison of secrets.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

type HmacSha256 = Hmac<Sha256>;

/// Bytes in a whole HMAC-SHA256 tag.
pub const TAG_LEN: usize = 32;
/// Fewest bytes [`verify_truncated`] accepts (128 bits).
pub const MIN_TRUNCATED_TAG_LEN: usize = 16;

/// The MAC of `key`, fed `message`.
fn keyed(key: &[u8], message: &[u8]) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length, even empty");
    mac.update(message);
    mac
}

/// The HMAC-SHA256 of `message` under `key`.
pub fn sign(key: &[u8], message: &[u8]) -> [u8; TAG_LEN] {
    keyed(key, message).finalize().into_bytes().into()
}

/// `tag` is the whole HMAC-SHA256 of `message` under `key` (checked in
/// constant time).
pub fn verify(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    keyed(key, message).verify_slice(tag).is_ok()
}

/// `tag` is the leftmost bytes of the HMAC-SHA256 of `message` under `key`
/// (checked in constant time), for tags kept short on purpose; a tag of
/// fewer than [`MIN_TRUNCATED_TAG_LEN`] bytes never verifies. The caller
/// checks the length it expects: any length from that minimum to
/// [`TAG_LEN`] is compared as given.
pub fn verify_truncated(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    tag.len() >= MIN_TRUNCATED_TAG_LEN && keyed(key, message).verify_truncated_left(tag).is_ok()
}

/// Compares secrets without an early exit, so timing does not tell how
/// much matched (only whether the lengths differ).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_rfc_4231_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            hex::encode(sign(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn whole_tags_verify_under_their_key_and_message_only() {
        let tag = sign(b"key", b"message");
        assert!(verify(b"key", b"message", &tag));
        assert!(!verify(b"other", b"message", &tag));
        assert!(!verify(b"key", b"messagE", &tag));
        assert!(!verify(b"key", b"message", &tag[..16]));
        assert!(!verify(b"key", b"message", &[]));
        let mut flipped = tag;
        flipped[31] ^= 1;
        assert!(!verify(b"key", b"message", &flipped));
        assert!(verify(b"", b"", &sign(b"", b"")));
    }

    #[test]
    fn truncated_tags_keep_at_least_128_bits() {
        let tag = sign(b"key", b"message");
        assert!(verify_truncated(b"key", b"message", &tag[..16]));
        assert!(verify_truncated(b"key", b"message", &tag));
        assert!(!verify_truncated(b"key", b"message", &tag[..15]));
        assert!(!verify_truncated(b"key", b"message", &[]));
        assert!(!verify_truncated(b"key", b"message", &tag[1..17]));
        assert!(!verify_truncated(b"other", b"message", &tag[..16]));
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"a", b""));
    }
}
