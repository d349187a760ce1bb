//! The checks a loaded configuration must pass before any service uses it:
//! each failure names its key.

use crate::{ConfigError, Settings, parse_net};

impl Settings {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if !self
            .bus
            .prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(ConfigError::Invalid {
                key: "bus.prefix",
                reason: "only letters, digits and '_' are allowed".into(),
            });
        }
        if self.bus.max_deliver < 1 {
            return Err(ConfigError::Invalid {
                key: "bus.max_deliver",
                reason: "must be at least 1".into(),
            });
        }
        if self.http.max_connections == 0 {
            return Err(ConfigError::Invalid {
                key: "http.max_connections",
                reason: "must be at least 1".into(),
            });
        }
        if self.http.header_read_timeout_secs == 0 || self.http.request_timeout_secs == 0 {
            return Err(ConfigError::Invalid {
                key: "http.header_read_timeout_secs",
                reason: "timeouts must be at least 1 second".into(),
            });
        }
        if !(8192..=1 << 20).contains(&self.http.max_header_bytes) {
            return Err(ConfigError::Invalid {
                key: "http.max_header_bytes",
                reason: "must be between 8192 and 1048576".into(),
            });
        }
        if !self.telemetry.prometheus_listen.is_empty()
            && self
                .telemetry
                .prometheus_listen
                .parse::<std::net::SocketAddr>()
                .is_err()
        {
            return Err(ConfigError::Invalid {
                key: "telemetry.prometheus_listen",
                reason: "an address and port, e.g. 127.0.0.1:9464 (or empty: off)".into(),
            });
        }
        for (key, cert, private_key) in [
            ("nats.cert_file", &self.nats.cert_file, &self.nats.key_file),
            (
                "redis.cert_file",
                &self.redis.cert_file,
                &self.redis.key_file,
            ),
        ] {
            if cert.is_empty() != private_key.is_empty() {
                return Err(ConfigError::Invalid {
                    key,
                    reason:
                        "a client certificate needs its key file, and a key file its certificate"
                            .into(),
                });
            }
        }
        let nats_auth = [
            !self.nats.password.is_empty(),
            !self.nats.nkey_seed.is_empty(),
            !self.nats.creds_file.is_empty(),
        ];
        if nats_auth.iter().filter(|set| **set).count() > 1 {
            return Err(ConfigError::Invalid {
                key: "nats",
                reason: "one way to authenticate: user and password, nkey_seed, or creds_file"
                    .into(),
            });
        }
        if self.http.max_concurrent_streams == 0 {
            return Err(ConfigError::Invalid {
                key: "http.max_concurrent_streams",
                reason: "must be at least 1".into(),
            });
        }
        if let Some(bad) = self
            .gateway
            .trusted_proxies
            .iter()
            .find(|p| parse_net(p).is_none())
        {
            return Err(ConfigError::Invalid {
                key: "gateway.trusted_proxies",
                reason: format!(
                    "{bad:?} is not an IP address or CIDR block (10.0.0.0/8, fd00::/8)"
                ),
            });
        }
        let live = &self.gateway.live;
        if live.max_streams == 0 || live.max_streams_per_network == 0 || live.max_stream_secs == 0 {
            return Err(ConfigError::Invalid {
                key: "gateway.live",
                reason: "max_streams, max_streams_per_network and max_stream_secs must be at \
                         least 1"
                    .into(),
            });
        }
        if self.cache.hot_list_len == 0 {
            return Err(ConfigError::Invalid {
                key: "cache.hot_list_len",
                reason: "must be at least 1".into(),
            });
        }
        if self.gateway.page_size == 0 || self.gateway.page_size > 500 {
            return Err(ConfigError::Invalid {
                key: "gateway.page_size",
                reason: "must be between 1 and 500".into(),
            });
        }
        let gate = &self.gateway.gate;
        if !(1..=16).contains(&gate.puzzles) {
            return Err(ConfigError::Invalid {
                key: "gateway.gate.puzzles",
                reason: "between 1 and 16".into(),
            });
        }
        if gate.enabled
            && (gate.pass_ttl_secs == 0
                || gate.nojs_pass_ttl_secs == 0
                || [gate.visitor, gate.network, gate.pass, gate.network_passed]
                    .iter()
                    .any(|r| r.per_minute == 0))
        {
            return Err(ConfigError::Invalid {
                key: "gateway.gate",
                reason: "pass_ttl_secs, nojs_pass_ttl_secs and every per_minute must be at \
                         least 1"
                    .into(),
            });
        }
        if gate.enabled
            && (gate.site_key.is_empty()
                || !gate
                    .site_key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            return Err(ConfigError::Invalid {
                key: "gateway.gate.site_key",
                reason: "letters, digits, '-' or '_'".into(),
            });
        }
        if self.captcha.default_max_number == 0
            || self.captcha.challenge_ttl_secs == 0
            || self.captcha.token_ttl_secs == 0
            || self.captcha.window_secs == 0
        {
            return Err(ConfigError::Invalid {
                key: "captcha",
                reason: "default_max_number, challenge_ttl_secs, token_ttl_secs and \
                         window_secs must be at least 1"
                    .into(),
            });
        }
        for site in &self.captcha.sites {
            if site.site_key.is_empty()
                || !site
                    .site_key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                || site.secret.expose().len() < 16
            {
                return Err(ConfigError::Invalid {
                    key: "captcha.sites",
                    reason: format!(
                        "site {:?}: site_key must be letters, digits, '-' or '_' and the \
                         secret at least 16 characters",
                        site.site_key
                    ),
                });
            }
        }
        if self.retention.retention_days == 0 {
            return Err(ConfigError::Invalid {
                key: "retention.retention_days",
                reason: "must be at least 1".into(),
            });
        }
        for (key, url) in [
            ("nats.url", &self.nats.url),
            ("redis.url", &self.redis.url),
            ("database.url", &self.database.url),
        ] {
            if !url.is_empty() && !url.contains("://") {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("{url:?} is not a URL (scheme://...)"),
                });
            }
        }
        Ok(())
    }
}
