//! `[redis]`: the Redis connection (one server, or a master found through
//! Sentinels), and how to authenticate and encrypt it.

use serde::{Deserialize, Deserializer, Serialize};

use crate::show::{self, debug_redacting_url};
use crate::validate::{self, invalid};
use crate::{ConfigError, Secret};

/// Redis connection; an empty URL and no Sentinels select the in-process cache.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://host:port/db`, `rediss://` for TLS (`rediss://host:port/#insecure`
    /// skips certificate checks: development only), or empty. With
    /// `sentinels`: empty, or only the scheme and database of the data
    /// nodes, its host the master's name and no port (`rediss://mymaster/2`).
    #[serde(serialize_with = "show::url")]
    pub url: String,
    /// `host:port` of each Redis Sentinel, which name the master to use and
    /// follow a failover (a TOML array, or one comma-separated string as
    /// environment variables give); empty: connect to `url` directly.
    #[serde(deserialize_with = "host_list")]
    pub sentinels: Vec<String>,
    /// The name the Sentinels monitor the master under (`sentinel monitor
    /// <name> ...`); required with `sentinels`.
    pub master_name: String,
    /// Password of the Sentinels themselves (their `requirepass`), when
    /// they ask for one; `password` is the data nodes'.
    pub sentinel_password: Secret,
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
    sentinels,
    master_name,
    sentinel_password,
    username,
    password,
    ca_file,
    cert_file,
    key_file
});

impl RedisSettings {
    /// True when the cache is Redis (a URL or Sentinels), false for the
    /// in-process cache.
    pub fn is_set(&self) -> bool {
        !self.url.is_empty() || !self.sentinels.is_empty()
    }

    /// A URL, Sentinels with their master's name, and a complete client
    /// certificate.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        validate::url("redis.url", &self.url)?;
        validate::client_certificate("redis.cert_file", &self.cert_file, &self.key_file)?;
        match (self.sentinels.is_empty(), self.master_name.is_empty()) {
            (true, true) => {}
            (false, true) => {
                return Err(invalid(
                    "redis.master_name",
                    "required with redis.sentinels: the name the Sentinels monitor the master under",
                ));
            }
            (true, false) => {
                return Err(invalid(
                    "redis.sentinels",
                    "required with redis.master_name: the host:port of each Sentinel",
                ));
            }
            (false, false) => {
                for sentinel in &self.sentinels {
                    host_port(sentinel).map_err(|reason| {
                        invalid("redis.sentinels", format!("{sentinel:?}: {reason}"))
                    })?;
                }
                self.validate_sentinel_url()?;
            }
        }
        if self.sentinels.is_empty() && !self.sentinel_password.is_empty() {
            return Err(invalid(
                "redis.sentinel_password",
                "only used with redis.sentinels",
            ));
        }
        Ok(())
    }

    /// With Sentinels the URL names no server: its host is the master's
    /// name, without a port.
    fn validate_sentinel_url(&self) -> Result<(), ConfigError> {
        let Some((scheme, rest)) = self.url.split_once("://") else {
            return Ok(());
        };
        if scheme != "redis" && scheme != "rediss" {
            return Err(invalid(
                "redis.url",
                "with redis.sentinels only redis:// or rediss:// (the Sentinels name the server)",
            ));
        }
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        let host = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        if host != self.master_name {
            return Err(invalid(
                "redis.url",
                format!(
                    "with redis.sentinels the URL gives only the scheme and database, \
                     its host the master's name and no port (\"{scheme}://{}/0\"), \
                     not a server: the Sentinels name it",
                    self.master_name
                ),
            ));
        }
        Ok(())
    }
}

/// `host:port` with a port number.
fn host_port(address: &str) -> Result<(), &'static str> {
    if address.contains("://") {
        return Err("host:port, without a scheme");
    }
    match address.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0) => {
            Ok(())
        }
        _ => Err("not host:port"),
    }
}

/// A list of addresses: a TOML array, or one comma-separated string (an
/// environment variable).
fn host_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        One(String),
        Many(Vec<String>),
    }
    let items = match List::deserialize(deserializer)? {
        List::One(text) => text.split(',').map(str::to_owned).collect(),
        List::Many(items) => items,
    };
    Ok(items
        .into_iter()
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect())
}
