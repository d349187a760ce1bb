//! `[nats]`: the NATS connection, and how to authenticate and encrypt it.

use serde::{Deserialize, Serialize};

use crate::show::{self, debug_redacting_url};
use crate::validate::{self, invalid};
use crate::{ConfigError, Secret};

/// NATS connection; an empty URL selects the in-process bus.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSettings {
    /// `nats://host:port` (`tls://host:port` requires TLS), or several
    /// servers of one cluster, comma-separated; or empty.
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
    /// The servers of `url`, in order: one, or the comma-separated servers
    /// of a cluster (none when `url` is empty). A client connects to one and
    /// moves to another listed one when it is lost.
    pub fn servers(&self) -> Vec<&str> {
        if self.url.trim().is_empty() {
            return Vec::new();
        }
        self.url.split(',').map(str::trim).collect()
    }

    /// Server URLs, a complete client certificate, and one way to
    /// authenticate.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        self.validate_servers()?;
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

    /// Each listed server is `scheme://host[:port]` with a NATS scheme, no
    /// entry is empty, and all share one scheme: a `nats://` entry among
    /// `tls://` ones would send the credentials in clear text to that server.
    fn validate_servers(&self) -> Result<(), ConfigError> {
        let servers = self.servers();
        let mut first_scheme = None;
        for (i, server) in servers.iter().enumerate() {
            let n = i + 1;
            if server.is_empty() {
                return Err(invalid(
                    "nats.url",
                    format!("server {n} of {} is empty (a stray comma?)", servers.len()),
                ));
            }
            let shown = show::redact_url(server);
            let scheme = server_scheme(server).map_err(|reason| {
                invalid("nats.url", format!("server {n} ({shown:?}): {reason}"))
            })?;
            match first_scheme {
                None => first_scheme = Some(scheme),
                Some(first) if first != scheme => {
                    return Err(invalid(
                        "nats.url",
                        format!(
                            "server {n} ({shown:?}) is {scheme}:// but server 1 is {first}://; \
                             list every server with the same scheme"
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// The scheme of one NATS server URL, after checking it is
/// `nats|tls|ws|wss://[credentials@]host[:port]`, what the client accepts.
fn server_scheme(server: &str) -> Result<&str, String> {
    let Some((scheme, rest)) = server.split_once("://") else {
        return Err("not a URL (nats://host:port)".into());
    };
    if !["nats", "tls", "ws", "wss"].contains(&scheme) {
        return Err(format!(
            "scheme {scheme}:// is not one of nats://, tls://, ws://, wss://"
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((host, tail)) => (host, tail.strip_prefix(':')),
            None => return Err("an IPv6 address without its closing ']'".into()),
        },
        None => match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(format!("invalid port {port:?}"));
    }
    Ok(scheme)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::Settings;

    fn with_url(url: &str) -> Result<Settings, crate::ConfigError> {
        Settings::from_toml_overrides(&format!("[nats]\nurl = {url:?}\n"))
    }

    #[test]
    fn a_comma_separated_list_is_every_server_in_order() {
        let s = with_url("nats://a:4222, nats://b:4222 ,nats://c").unwrap();
        assert_eq!(
            s.nats.servers(),
            ["nats://a:4222", "nats://b:4222", "nats://c"]
        );
        assert_eq!(
            with_url("tls://[::1]:4222").unwrap().nats.servers(),
            ["tls://[::1]:4222"]
        );
        assert!(with_url("").unwrap().nats.servers().is_empty());
    }

    #[test]
    fn a_bad_server_is_refused_by_its_place_in_the_list() {
        for (url, names) in [
            (
                "nats://a:4222,nats://b:42x22",
                "server 2 (\"nats://b:42x22\"): invalid port",
            ),
            ("nats://a:4222,,nats://c:4222", "server 2 of 3 is empty"),
            ("nats://a:4222,", "server 2 of 2 is empty"),
            ("nats://a:4222,b:4222", "server 2 (\"b:4222\"): not a URL"),
            ("nats://a:4222,http://b:4222", "scheme http://"),
            ("nats://:4222", "no host"),
            (
                "tls://a:4222,nats://b:4222",
                "server 2 (\"nats://b:4222\") is nats://",
            ),
        ] {
            let err = with_url(url).unwrap_err().to_string();
            assert!(err.contains("nats.url"), "{url}: {err}");
            assert!(err.contains(names), "{url}: {err}");
        }
    }

    #[test]
    fn every_servers_credentials_are_redacted() {
        let s =
            with_url("nats://u:pw-one@a:4222,nats://u:pw-two@b:4222,nats://tok3n@c:4222").unwrap();
        let shown = "nats://u:***@a:4222,nats://u:***@b:4222,nats://***@c:4222";
        let debug = format!("{:?}", s.nats);
        let written = toml::to_string(&s).unwrap();
        for text in [&debug, &written] {
            for secret in ["pw-one", "pw-two", "tok3n"] {
                assert!(!text.contains(secret), "{text}");
            }
            assert!(text.contains(shown), "{text}");
        }
        let err = with_url("nats://u:pw-one@a:4222,nats://u:pw-two@b:x")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("pw-two"), "{err}");
    }
}
