//! `[nats]`: the NATS connection, and how to authenticate and encrypt it.

use serde::{Deserialize, Serialize};

use crate::show::{self, debug_redacting_url};
use crate::validate::{self, invalid};
use crate::{ConfigError, Secret};

/// NATS connection; an empty URL selects the in-process bus.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSettings {
    /// `nats://host:port` (`tls://host:port` requires TLS), or empty.
    #[serde(serialize_with = "show::url")]
    pub url: String,
    /// User name, with `password` (instead of credentials in the URL).
    pub user: String,
    /// Password of `user`.
    pub password: Secret,
    /// NKey seed (`SU...`) to authenticate with.
    pub nkey_seed: Secret,
    /// Path of a `.creds` file (JWT and NKey seed) to authenticate with.
    pub creds_file: String,
    /// PEM file of the CA that signed the server's certificate (else the
    /// system's roots); setting it requires TLS.
    pub ca_file: String,
    /// PEM client certificate for mutual TLS (with `key_file`).
    pub cert_file: String,
    /// PEM private key of `cert_file`.
    pub key_file: String,
}

debug_redacting_url!(NatsSettings {
    user,
    password,
    nkey_seed,
    creds_file,
    ca_file,
    cert_file,
    key_file
});

impl NatsSettings {
    /// A URL, a complete client certificate, and one way to authenticate.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        validate::url("nats.url", &self.url)?;
        validate::client_certificate("nats.cert_file", &self.cert_file, &self.key_file)?;
        let ways = [
            !self.password.is_empty(),
            !self.nkey_seed.is_empty(),
            !self.creds_file.is_empty(),
        ];
        if ways.iter().filter(|set| **set).count() > 1 {
            return Err(invalid(
                "nats",
                "one way to authenticate: user and password, nkey_seed, or creds_file",
            ));
        }
        Ok(())
    }
}
