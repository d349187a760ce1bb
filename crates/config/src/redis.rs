//! `[redis]`: the Redis connection, and how to authenticate and encrypt it.

use serde::{Deserialize, Serialize};

use crate::show::{self, debug_redacting_url};
use crate::{ConfigError, Secret, validate};

/// Redis connection; an empty URL selects the in-process cache.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://host:port/db`, `rediss://` for TLS (`rediss://host:port/#insecure`
    /// skips certificate checks: development only), or empty.
    #[serde(serialize_with = "show::url")]
    pub url: String,
    /// ACL user name (instead of one in the URL).
    pub username: String,
    /// Password (instead of one in the URL).
    pub password: Secret,
    /// PEM file of the CA that signed the server's certificate (else the
    /// system's roots).
    pub ca_file: String,
    /// PEM client certificate for mutual TLS (with `key_file`).
    pub cert_file: String,
    /// PEM private key of `cert_file`.
    pub key_file: String,
}

debug_redacting_url!(RedisSettings {
    username,
    password,
    ca_file,
    cert_file,
    key_file
});

impl RedisSettings {
    /// A URL and a complete client certificate.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        validate::url("redis.url", &self.url)?;
        validate::client_certificate("redis.cert_file", &self.cert_file, &self.key_file)
    }
}
