//! The ALTCHA-compatible proof of work (ALTCHA's "v1" challenge, which the
//! `altcha` widget 3.x still accepts and `altcha-lib/v1` creates and checks).
//!
//! The server picks a secret `n <= maxnumber` and a salt, and sends
//! `challenge = hex(SHA-256(salt + n))` with
//! `signature = hex(HMAC-SHA256(key, challenge))`. The browser tries numbers
//! until the hash matches and submits base64 JSON
//! `{algorithm, challenge, number, salt, signature, took}`.
//!
//! Nothing is stored until redemption: the salt carries its own parameters,
//! `<random hex>?expires=<unix>&site=<site key>&max=<maxnumber>[&action=..]&`.
//! The salt is bound to the signature through the hash (the signature covers
//! the challenge, the challenge is the hash of salt and number). Against the
//! 2025 salt-splicing advisory (moving digits between the salt and the
//! number), a salt must end with `&`, every parameter is parsed strictly
//! (known keys, once each, canonical digits), and the number is re-encoded in
//! canonical decimal before hashing: `salt + number` then has exactly one
//! reading.

use std::collections::BTreeMap;

use base64::Engine as _;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ErrorCode;

/// The only algorithm served and accepted.
pub const ALGORITHM: &str = "SHA-256";
/// Largest accepted base64 payload, in bytes (a real one is about 400).
pub const MAX_PAYLOAD_LEN: usize = 4096;
/// Largest accepted `maxnumber` (the widget counts in 32 bits).
pub const MAX_MAX_NUMBER: u64 = u32::MAX as u64;
/// Length of the random part of the salts we issue (hex characters).
const SALT_RANDOM_HEX: usize = 24;
/// Most independent sub-puzzles in one challenge.
pub const MAX_PARTS: u64 = 16;

/// A challenge, as the widget fetches it from `challengeurl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// Always `SHA-256`.
    pub algorithm: String,
    /// `hex(SHA-256(salt + n))`.
    pub challenge: String,
    /// Largest number the solver has to try.
    pub maxnumber: u64,
    /// Same as `maxnumber`, for clients that read the camel-case name.
    #[serde(rename = "maxNumber", default, skip_deserializing)]
    pub max_number_camel: u64,
    /// Random part and parameters, ending with `&`.
    pub salt: String,
    /// `hex(HMAC-SHA256(key, challenge))`.
    pub signature: String,
}

/// What the widget submits (decoded from base64 JSON). Unknown fields are
/// ignored, as ALTCHA servers do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payload {
    /// Must be `SHA-256`.
    pub algorithm: String,
    /// The challenge hash, as issued.
    pub challenge: String,
    /// The number found.
    pub number: u64,
    /// The salt, as issued.
    pub salt: String,
    /// The signature, as issued.
    pub signature: String,
    /// Milliseconds the solver took (informative).
    #[serde(default)]
    pub took: Option<serde_json::Value>,
}

/// Parameters carried in a salt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaltParams {
    /// Unix seconds after which the challenge is refused.
    pub expires: u64,
    /// Site key the challenge was issued for.
    pub site: String,
    /// `maxnumber` the challenge was issued with.
    pub max: u64,
    /// Action (empty when none).
    pub action: String,
    /// Sub-puzzles issued together, all of which must be solved (1: a plain
    /// ALTCHA challenge; more only for clients that ask for them).
    pub parts: u64,
}

/// A solution that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The challenge hash (the single-use key of the solution).
    pub challenge: String,
    /// The salt's parameters.
    pub params: SaltParams,
}

/// `hex(HMAC-SHA256(key, data))`: a challenge's `signature`.
pub fn hmac_hex(key: &[u8], data: &[u8]) -> String {
    hex::encode(platform::security::sign(key, data))
}

/// `signature_hex` is [`hmac_hex`] of `data` (checked in constant time).
fn hmac_hex_verifies(key: &[u8], data: &[u8], signature_hex: &str) -> bool {
    hex::decode(signature_hex).is_ok_and(|tag| platform::security::verify(key, data, &tag))
}

/// `hex(SHA-256(salt + number))`.
pub fn hash_hex(salt: &str, number: u64) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update(number.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// True for identifiers we put in salts and tokens: 1 to 64 of
/// `[A-Za-z0-9_-/]`-like characters (`allow_empty` for the action).
pub fn is_ident(value: &str, allow_empty: bool) -> bool {
    (allow_empty || !value.is_empty())
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/' | b'.'))
}

/// Creates a challenge: secret number in `1..=max_number`, expiring at
/// `expires` (Unix seconds).
pub fn create_challenge(
    key: &[u8],
    site: &str,
    action: &str,
    max_number: u64,
    expires: u64,
) -> Challenge {
    create_part(key, site, action, max_number, expires, 1)
}

/// `parts` independent sub-puzzles (2..=[`MAX_PARTS`]) sharing `max_number`
/// between them: the expected work is that of one challenge, but the time
/// to solve them all varies much less. Each salt carries `parts`, so none
/// can be redeemed alone.
pub fn create_puzzles(
    key: &[u8],
    site: &str,
    action: &str,
    max_number: u64,
    expires: u64,
    parts: u64,
) -> Vec<Challenge> {
    let parts = parts.clamp(1, MAX_PARTS);
    let each = (max_number / parts).max(1);
    (0..parts)
        .map(|_| create_part(key, site, action, each, expires, parts))
        .collect()
}

fn create_part(
    key: &[u8],
    site: &str,
    action: &str,
    max_number: u64,
    expires: u64,
    parts: u64,
) -> Challenge {
    let max = max_number.clamp(1, MAX_MAX_NUMBER);
    let random: [u8; SALT_RANDOM_HEX / 2] = rand::random();
    let mut salt = format!(
        "{}?expires={expires}&site={site}&max={max}&",
        hex::encode(random)
    );
    if !action.is_empty() {
        salt.push_str(&format!("action={action}&"));
    }
    if parts > 1 {
        salt.push_str(&format!("parts={parts}&"));
    }
    let number = rand::rng().random_range(1..=max);
    challenge_for(key, salt, number, max)
}

/// The challenge of a given salt and secret number (tests build odd ones).
pub fn challenge_for(key: &[u8], salt: String, number: u64, max: u64) -> Challenge {
    let challenge = hash_hex(&salt, number);
    let signature = hmac_hex(key, challenge.as_bytes());
    Challenge {
        algorithm: ALGORITHM.to_owned(),
        challenge,
        maxnumber: max,
        max_number_camel: max,
        salt,
        signature,
    }
}

/// Canonical unsigned decimal: digits only, no sign, no leading zero.
fn canonical_u64(value: &str) -> Option<u64> {
    if value.is_empty() || value.len() > 19 || (value.len() > 1 && value.starts_with('0')) {
        return None;
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// Parses a salt strictly: `<16..=64 hex>?k=v&k=v&` with the keys `expires`,
/// `site`, `max` (required) and `action` (optional), each at most once and in
/// any order (altcha-lib puts `expires` last), and nothing else.
pub fn parse_salt(salt: &str) -> Option<SaltParams> {
    if salt.len() > 512 || !salt.ends_with('&') {
        return None;
    }
    let (random, query) = salt.split_once('?')?;
    if !(16..=64).contains(&random.len()) || !random.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let query = query.strip_suffix('&')?;
    let mut fields = BTreeMap::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=')?;
        if !matches!(key, "expires" | "site" | "max" | "action" | "parts")
            || fields.insert(key, value).is_some()
        {
            return None;
        }
    }
    let expires = canonical_u64(fields.get("expires")?)?;
    let max = canonical_u64(fields.get("max")?)?;
    let site = (*fields.get("site")?).to_owned();
    let action = fields.get("action").map_or("", |a| *a).to_owned();
    if !is_ident(&site, false) || !is_ident(&action, true) || max == 0 || max > MAX_MAX_NUMBER {
        return None;
    }
    if fields.get("action").is_some_and(|a| a.is_empty()) {
        return None;
    }
    let parts = match fields.get("parts") {
        // Present only for several: `parts=1` has no canonical meaning.
        Some(value) => Some(canonical_u64(value)?).filter(|p| (2..=MAX_PARTS).contains(p))?,
        None => 1,
    };
    Some(SaltParams {
        expires,
        site,
        max,
        action,
        parts,
    })
}

/// Decodes the widget's base64 JSON payload.
pub fn decode_payload(payload: &str) -> Result<Payload, ErrorCode> {
    let payload = payload.trim();
    if payload.is_empty() {
        return Err(ErrorCode::MissingInputResponse);
    }
    if payload.len() > MAX_PAYLOAD_LEN {
        return Err(ErrorCode::InvalidInputResponse);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .map_err(|_| ErrorCode::InvalidInputResponse)?;
    serde_json::from_slice(&bytes).map_err(|_| ErrorCode::InvalidInputResponse)
}

fn is_lower_hex_64(value: &str) -> bool {
    value.len() == 64
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Checks a solution. Cheap checks first (format, signature, salt, expiry,
/// `max_lifetime` from `now`, maxnumber), the hash last. Single use is the
/// caller's business.
pub fn verify_solution(
    key: &[u8],
    payload: &Payload,
    now: u64,
    max_lifetime: u64,
) -> Result<Verified, ErrorCode> {
    let bad = ErrorCode::InvalidInputResponse;
    if payload.algorithm != ALGORITHM
        || !is_lower_hex_64(&payload.challenge)
        || !is_lower_hex_64(&payload.signature)
    {
        return Err(bad);
    }
    if !hmac_hex_verifies(key, payload.challenge.as_bytes(), &payload.signature) {
        return Err(bad);
    }
    let params = parse_salt(&payload.salt).ok_or(bad)?;
    if params.expires <= now {
        return Err(ErrorCode::TimeoutOrDuplicate);
    }
    if params.expires > now.saturating_add(max_lifetime) {
        return Err(bad);
    }
    if payload.number > params.max {
        return Err(bad);
    }
    if hash_hex(&payload.salt, payload.number) != payload.challenge {
        return Err(bad);
    }
    Ok(Verified {
        challenge: payload.challenge.clone(),
        params,
    })
}

/// Solves a challenge by brute force (tests and tools; the browser does this).
pub fn solve(challenge: &Challenge) -> Option<u64> {
    (0..=challenge.maxnumber).find(|n| hash_hex(&challenge.salt, *n) == challenge.challenge)
}

/// Encodes a payload as the widget does (base64 of JSON).
pub fn encode_payload(challenge: &Challenge, number: u64) -> String {
    let payload = Payload {
        algorithm: challenge.algorithm.clone(),
        challenge: challenge.challenge.clone(),
        number,
        salt: challenge.salt.clone(),
        signature: challenge.signature.clone(),
        took: Some(serde_json::json!(1)),
    };
    base64::engine::general_purpose::STANDARD
        .encode(serde_json::to_vec(&payload).unwrap_or_default())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"test-hmac-key";
    const NOW: u64 = 1_800_000_000;

    fn solved(max: u64) -> (Challenge, u64) {
        let c = create_challenge(KEY, "site-a", "login", max, NOW + 600);
        let n = solve(&c).unwrap();
        (c, n)
    }

    fn payload(c: &Challenge, n: u64) -> Payload {
        decode_payload(&encode_payload(c, n)).unwrap()
    }

    #[test]
    fn a_solved_challenge_verifies_and_names_its_parameters() {
        let (c, n) = solved(500);
        assert!(c.salt.ends_with('&'));
        assert_eq!(c.maxnumber, 500);
        let v = verify_solution(KEY, &payload(&c, n), NOW, 700).unwrap();
        assert_eq!(v.challenge, c.challenge);
        assert_eq!(v.params.site, "site-a");
        assert_eq!(v.params.action, "login");
        assert_eq!(v.params.max, 500);
        assert_eq!(v.params.expires, NOW + 600);
    }

    #[test]
    fn challenge_json_has_altcha_field_names() {
        let (c, _) = solved(10);
        let json = serde_json::to_value(&c).unwrap();
        for field in [
            "algorithm",
            "challenge",
            "maxnumber",
            "maxNumber",
            "salt",
            "signature",
        ] {
            assert!(json.get(field).is_some(), "{field} in {json}");
        }
        assert_eq!(json["algorithm"], "SHA-256");
    }

    #[test]
    fn wrong_number_forged_signature_and_other_key_fail() {
        let (c, n) = solved(300);
        let wrong = if n == 0 { 1 } else { n - 1 };
        assert_eq!(
            verify_solution(KEY, &payload(&c, wrong), NOW, 700),
            Err(ErrorCode::InvalidInputResponse)
        );
        let mut forged = payload(&c, n);
        forged.signature = hmac_hex(b"other key", c.challenge.as_bytes());
        assert_eq!(
            verify_solution(KEY, &forged, NOW, 700),
            Err(ErrorCode::InvalidInputResponse)
        );
        assert!(verify_solution(b"other key", &payload(&c, n), NOW, 700).is_err());
    }

    #[test]
    fn expired_challenges_are_timeouts_and_far_futures_are_refused() {
        let (c, n) = solved(100);
        assert_eq!(
            verify_solution(KEY, &payload(&c, n), NOW + 600, 700),
            Err(ErrorCode::TimeoutOrDuplicate)
        );
        assert_eq!(
            verify_solution(KEY, &payload(&c, n), NOW, 60),
            Err(ErrorCode::InvalidInputResponse)
        );
    }

    #[test]
    fn numbers_above_maxnumber_are_refused_even_when_the_hash_matches() {
        let salt = format!("{}?expires={}&site=s&max=10&", "ab".repeat(12), NOW + 60);
        let c = challenge_for(KEY, salt, 50, 10);
        assert_eq!(
            verify_solution(KEY, &payload(&c, 50), NOW, 700),
            Err(ErrorCode::InvalidInputResponse)
        );
    }

    #[test]
    fn salt_splicing_is_impossible() {
        // The advisory's attack: a salt without the trailing delimiter lets
        // digits move between `expires` and the number. We never accept one.
        let salt = format!("{}?site=s&max=100000&expires={}", "ab".repeat(12), NOW + 6);
        let c = challenge_for(KEY, salt.clone(), 12345, 100000);
        let spliced = Payload {
            salt: format!("{salt}1"),
            number: 2345,
            ..payload(&c, 12345)
        };
        assert_eq!(
            hash_hex(&spliced.salt, 2345),
            c.challenge,
            "same bytes hashed"
        );
        assert!(verify_solution(KEY, &spliced, NOW, 1_000_000).is_err());
        assert!(verify_solution(KEY, &payload(&c, 12345), NOW, 1_000_000).is_err());
    }

    #[test]
    fn salts_are_parsed_strictly() {
        let r = "0123456789abcdef01234567";
        let ok = format!("{r}?expires=5&site=a&max=9&");
        assert!(parse_salt(&ok).is_some());
        assert!(parse_salt(&format!("{r}?max=9&site=a&expires=5&")).is_some());
        for bad in [
            format!("{r}?expires=5&site=a&max=9"),
            format!("{r}?expires=05&site=a&max=9&"),
            format!("{r}?expires=+5&site=a&max=9&"),
            format!("{r}?expires=5&site=a&max=9&max=9&"),
            format!("{r}?expires=5&site=a&max=9&extra=1&"),
            format!("{r}?expires=5&site=a&max=0&"),
            format!("{r}?expires=5&max=9&"),
            format!("{r}?expires=5&site=a b&max=9&"),
            format!("{r}?expires=5&site=a&max=9&action=&"),
            format!("{r}?expires=5&site=a&max=9&&"),
            "xyz?expires=5&site=a&max=9&".to_owned(),
            format!("{r}expires=5&site=a&max=9&"),
            "".to_owned(),
        ] {
            assert!(parse_salt(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn parts_are_parsed_strictly_and_puzzles_share_the_work() {
        let r = "0123456789abcdef01234567";
        let with = |extra: &str| parse_salt(&format!("{r}?expires=5&site=a&max=9&{extra}"));
        assert_eq!(with("").unwrap().parts, 1);
        assert_eq!(with("parts=4&").unwrap().parts, 4);
        for bad in [
            "parts=1&",
            "parts=0&",
            "parts=17&",
            "parts=04&",
            "parts=&",
            "parts=2&parts=2&",
        ] {
            assert!(with(bad).is_none(), "{bad}");
        }
        let puzzles = create_puzzles(KEY, "site-a", "gate", 1000, NOW + 60, 4);
        assert_eq!(puzzles.len(), 4);
        for p in &puzzles {
            assert_eq!(p.maxnumber, 250);
            let params = parse_salt(&p.salt).unwrap();
            assert_eq!((params.parts, params.max), (4, 250));
            assert_eq!(params.action, "gate");
            let n = solve(p).unwrap();
            assert!(verify_solution(KEY, &payload(p, n), NOW, 700).is_ok());
        }
        let mut salts: Vec<&str> = puzzles.iter().map(|p| p.salt.as_str()).collect();
        salts.dedup();
        assert_eq!(salts.len(), 4);
        // One part is an ordinary challenge, without the parameter.
        let single = create_puzzles(KEY, "site-a", "", 1000, NOW + 60, 1);
        assert!(!single[0].salt.contains("parts="));
    }

    /// A small fuzzer: 20,000 random edits (bytes changed, dropped or added)
    /// of a valid payload, in its base64 and in its JSON. Nothing panics, and
    /// only an edit that leaves the solution itself intact may verify.
    #[test]
    fn mutated_payloads_never_panic_and_never_verify() {
        let (c, n) = solved(1000);
        let valid = encode_payload(&c, n);
        let json = base64::engine::general_purpose::STANDARD
            .decode(&valid)
            .unwrap();
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut verified = 0;
        for round in 0..20_000 {
            let mut bytes = if round % 2 == 0 {
                valid.clone().into_bytes()
            } else {
                json.clone()
            };
            for _ in 0..1 + next() % 4 {
                let i = usize::try_from(next()).unwrap() % bytes.len().max(1);
                match next() % 3 {
                    0 if i < bytes.len() => bytes[i] = next() as u8,
                    1 if i < bytes.len() => {
                        bytes.remove(i);
                    }
                    _ => bytes.insert(i.min(bytes.len()), next() as u8),
                }
            }
            let text = if round % 2 == 0 {
                String::from_utf8_lossy(&bytes).into_owned()
            } else {
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            };
            if let Ok(p) = decode_payload(&text)
                && verify_solution(KEY, &p, NOW, 1_000_000).is_ok()
            {
                verified += 1;
                assert_eq!(
                    (p.challenge.as_str(), p.number, p.salt.as_str()),
                    (c.challenge.as_str(), n, c.salt.as_str())
                );
            }
        }
        assert!(verified < 2_000, "{verified} of 20,000 edits still verify");
    }

    #[test]
    fn malformed_payloads_are_invalid_never_panics() {
        assert_eq!(decode_payload(""), Err(ErrorCode::MissingInputResponse));
        for bad in [
            "%%%",
            "bm90IGpzb24=",
            "e30=",
            "eyJhbGdvcml0aG0iOjF9",
            &"A".repeat(MAX_PAYLOAD_LEN + 4),
        ] {
            assert_eq!(
                decode_payload(bad),
                Err(ErrorCode::InvalidInputResponse),
                "{bad}"
            );
        }
        let (c, n) = solved(10);
        let mut p = payload(&c, n);
        p.algorithm = "SHA-1".into();
        assert!(verify_solution(KEY, &p, NOW, 700).is_err());
        let mut p = payload(&c, n);
        p.challenge = p.challenge.to_uppercase();
        assert!(verify_solution(KEY, &p, NOW, 700).is_err());
    }
}
