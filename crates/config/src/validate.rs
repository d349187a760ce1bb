//! The checks a loaded configuration must pass before any service uses it:
//! each section checks itself, in the order below, and the first failure
//! names its key. Values that must be positive are `NonZero*` and addresses
//! are parsed types, so serde already refused those, naming the key.

use crate::{ConfigError, Settings};

impl Settings {
    /// Every section's checks; no rule spans two sections today.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        self.nats.validate()?;
        self.redis.validate()?;
        self.database.validate()?;
        self.bus.validate()?;
        self.http.validate()?;
        self.gateway.validate()?;
        self.captcha.validate()?;
        self.messages.validate()?;
        Ok(())
    }
}

/// The refusal of the value at `key`.
pub(crate) fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.into(),
    }
}

/// A backend URL: empty (the embedded implementation) or `scheme://...`.
pub(crate) fn url(key: &'static str, url: &str) -> Result<(), ConfigError> {
    if url.is_empty() || url.contains("://") {
        return Ok(());
    }
    Err(invalid(key, format!("{url:?} is not a URL (scheme://...)")))
}

/// A client certificate for mutual TLS comes with its key, and a key with
/// its certificate.
pub(crate) fn client_certificate(
    key: &'static str,
    cert_file: &str,
    key_file: &str,
) -> Result<(), ConfigError> {
    if cert_file.is_empty() == key_file.is_empty() {
        return Ok(());
    }
    Err(invalid(
        key,
        "a client certificate needs its key file, and a key file its certificate",
    ))
}

/// A captcha site key: letters, digits, `-` or `_`, at least one.
pub(crate) fn is_site_key(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
