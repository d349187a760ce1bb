//! `gateway.admin_tokens`: the operators, each a name and the SHA-256 of
//! its bearer token (the hash is not a secret: it cannot be used to log
//! in). `gateway.admin_token` stays, as the operator named `admin`.

use serde::{Deserialize, Serialize};

use crate::ConfigError;
use crate::validate::invalid;

/// Longest operator name.
pub const MAX_OPERATOR_NAME: usize = 64;

/// The name `gateway.admin_token`'s operator goes by.
pub const DEFAULT_OPERATOR: &str = "admin";

/// One operator's token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdminToken {
    /// Who acts with it (the audit log's operator): `[a-z0-9._-]`, unique.
    pub name: String,
    /// Hex SHA-256 of the token (`printf %s "$TOKEN" | sha256sum`).
    pub token_sha256: String,
}

impl AdminToken {
    /// The hash as bytes (validated: 64 hex digits).
    pub fn digest(&self) -> Option<[u8; 32]> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(self.token_sha256.trim(), &mut out).ok()?;
        Some(out)
    }
}

/// Names unique and well-formed (`admin` is `gateway.admin_token`'s when
/// that is set), hashes of 64 hex digits.
pub(crate) fn validate(tokens: &[AdminToken], admin_token_set: bool) -> Result<(), ConfigError> {
    const KEY: &str = "gateway.admin_tokens";
    let mut seen = std::collections::HashSet::new();
    if admin_token_set {
        seen.insert(DEFAULT_OPERATOR);
    }
    for token in tokens {
        let name = token.name.as_str();
        if name.is_empty()
            || name.len() > MAX_OPERATOR_NAME
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        {
            return Err(invalid(
                KEY,
                format!("name {name:?}: 1 to {MAX_OPERATOR_NAME} of a-z, 0-9, '.', '_', '-'"),
            ));
        }
        if !seen.insert(name) {
            return Err(invalid(
                KEY,
                if name == DEFAULT_OPERATOR && admin_token_set {
                    "name \"admin\" is gateway.admin_token's; pick another or unset it".to_owned()
                } else {
                    format!("name {name:?} is given twice")
                },
            ));
        }
        if token.token_sha256.trim().len() != 64 || token.digest().is_none() {
            return Err(invalid(
                KEY,
                format!("{name}: token_sha256 must be 64 hex digits (sha256sum of the token)"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn token(name: &str, hash: &str) -> AdminToken {
        AdminToken {
            name: name.into(),
            token_sha256: hash.into(),
        }
    }

    #[test]
    fn names_and_hashes_are_checked() {
        let hash = "a".repeat(64);
        assert!(validate(&[token("alice", &hash), token("bob.ops-1", &hash)], true).is_ok());
        for (bad, why) in [
            (vec![token("", &hash)], "name"),
            (vec![token("Alice", &hash)], "name"),
            (vec![token("a b", &hash)], "name"),
            (vec![token("alice", &hash), token("alice", &hash)], "twice"),
            (vec![token("admin", &hash)], "admin_token"),
            (vec![token("alice", "abc")], "64 hex"),
            (vec![token("alice", &"g".repeat(64))], "64 hex"),
        ] {
            let err = validate(&bad, true).unwrap_err().to_string();
            assert!(err.contains(why), "{err}");
            assert!(err.contains("gateway.admin_tokens"), "{err}");
        }
        assert!(validate(&[token("admin", &hash)], false).is_ok());
    }
}
