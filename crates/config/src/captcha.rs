//! `[captcha]`: captcha-verification's listeners, signing key, difficulty
//! levels and sites.

use std::net::SocketAddr;
use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};

use crate::validate::{invalid, is_site_key};
use crate::{ConfigError, Secret};

/// The captcha-verification service.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaptchaSettings {
    /// HTTP listen address (`/siteverify`, health).
    pub listen: SocketAddr,
    /// gRPC listen address.
    pub grpc_listen: SocketAddr,
    /// Seconds a graceful shutdown waits.
    pub shutdown_grace_secs: u64,
    /// Seconds between a stop signal and closing the listeners: `/readyz`
    /// answers 503 meanwhile and requests are still served, so load
    /// balancers stop sending first.
    pub shutdown_delay_secs: u64,
    /// Key that signs challenges and tokens (every replica needs the same
    /// one); empty: a random key per process, with a warning.
    pub hmac_key: Secret,
    /// `maxnumber` of a challenge when no traffic level applies.
    pub default_max_number: NonZeroU64,
    /// Seconds a challenge can be solved in.
    pub challenge_ttl_secs: NonZeroU64,
    /// Seconds a token from `/redeem` stays valid for `/siteverify`.
    pub token_ttl_secs: NonZeroU64,
    /// Length in seconds of the windows that count requests for difficulty.
    pub window_secs: NonZeroU64,
    /// Difficulty steps by requests of one source (IP /24 or /64, visitor)
    /// per window; the highest step reached applies.
    pub source_levels: Vec<CaptchaLevel>,
    /// Difficulty steps by requests of everyone per window.
    pub global_levels: Vec<CaptchaLevel>,
    /// Sites that may use the captcha.
    pub sites: Vec<CaptchaSite>,
    /// Most captcha events in one `CaptchaEvents` message (0 counts as 1).
    pub event_batch: usize,
    /// Milliseconds a captcha-event batch waits for more events.
    pub event_linger_ms: u64,
}

/// One traffic level: from `requests` per window on, `max_number` applies.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaptchaLevel {
    /// Requests per window at which this level starts.
    pub requests: u64,
    /// `maxnumber` of challenges at this level.
    pub max_number: u64,
}

/// A site using the captcha, like a reCAPTCHA site key and secret pair.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaptchaSite {
    /// Public key the page embeds (`sitekey`).
    pub site_key: String,
    /// Secret the site's backend presents to `/siteverify`.
    pub secret: Secret,
    /// Hostnames the captcha may be solved on; empty: any.
    pub hostnames: Vec<String>,
}

impl std::fmt::Debug for CaptchaSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptchaSite")
            .field("site_key", &self.site_key)
            .field("secret", &self.secret)
            .field("hostnames", &self.hostnames)
            .finish()
    }
}

impl CaptchaSettings {
    /// Every site has a usable key and a secret too long to guess.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        for site in &self.sites {
            if !is_site_key(&site.site_key) || site.secret.expose().len() < 16 {
                return Err(invalid(
                    "captcha.sites",
                    format!(
                        "site {:?}: site_key must be letters, digits, '-' or '_' and the \
                         secret at least 16 characters",
                        site.site_key
                    ),
                ));
            }
        }
        Ok(())
    }
}
