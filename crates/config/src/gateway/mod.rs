//! `[gateway]`: the public site, with its live updates, advertising and
//! crawler gate in sections of their own.

mod admin;
mod ads;
mod gate;
mod live;
mod masking;

pub use admin::{AdminToken, DEFAULT_OPERATOR, MAX_OPERATOR_NAME};
pub use ads::AdsSettings;
pub use gate::{GateCrawler, GateRate, GateSettings};
pub use live::LiveSettings;
pub use masking::MaskingRule;

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::validate::invalid;
use crate::{ConfigError, Secret};

/// The gateway service.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySettings {
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// Absolute site URL for canonical links, or empty.
    pub public_url: String,
    /// Messages per page.
    pub page_size: u64,
    /// Send `Strict-Transport-Security` on responses served over TLS.
    pub hsts: bool,
    /// Seconds without a message after which a number shows as offline.
    pub offline_after_secs: u64,
    /// Milliseconds a number's registration (active, retired, unknown) is
    /// remembered per gateway process; 0 asks the database on every request.
    pub registry_cache_ms: u64,
    /// Seconds each gateway process keeps its snapshot of which services
    /// sent codes to which numbers in the last 24 hours (search, service
    /// pages, the counts on number cards); 0 reads it again on every use.
    pub activity_refresh_secs: u64,
    /// Most request-log events in one `RequestsLogged` message.
    pub request_log_batch: usize,
    /// Milliseconds a request-log batch waits for more events.
    pub request_log_linger_ms: u64,
    /// Proxies (addresses or CIDR blocks) whose `X-Forwarded-For`,
    /// `X-Forwarded-Proto` and `X-Forwarded-Host` are believed: the client is
    /// the rightmost `X-Forwarded-For` hop that is not one of them. Empty:
    /// forwarded headers are ignored and the client is the peer.
    pub trusted_proxies: Vec<String>,
    /// Live updates (Server-Sent Events): how many streams, for how long.
    pub live: LiveSettings,
    /// log-retention's gRPC address, for `/my-data` (export and delete).
    pub retention_url: String,
    /// The operator token named `admin` (bearer or login form); with
    /// `admin_tokens` empty too, the operator pages are off (404).
    pub admin_token: Secret,
    /// More operators: each a name and the SHA-256 of its token. Re-read
    /// by the gateway while it runs (see `docs/admin.md`).
    pub admin_tokens: Vec<AdminToken>,
    /// Advertising (off by default).
    pub ads: AdsSettings,
    /// The crawler gate: rate limits and the proof-of-work interstitial.
    pub gate: GateSettings,
    /// Masking rules applied to message texts before display (none by default).
    #[serde(default)]
    pub masking: Vec<MaskingRule>,
    /// Seconds a graceful shutdown waits.
    pub shutdown_grace_secs: u64,
    /// Seconds between a stop signal and closing the listeners: `/readyz`
    /// answers 503 meanwhile and requests are still served, so load
    /// balancers stop sending first.
    pub shutdown_delay_secs: u64,
}

impl GatewaySettings {
    /// Proxies that parse, a page size the queries allow, and the gate.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(bad) = self.trusted_proxies.iter().find(|p| parse_net(p).is_none()) {
            return Err(invalid(
                "gateway.trusted_proxies",
                format!("{bad:?} is not an IP address or CIDR block (10.0.0.0/8, fd00::/8)"),
            ));
        }
        if !(1..=500).contains(&self.page_size) {
            return Err(invalid("gateway.page_size", "must be between 1 and 500"));
        }
        masking::validate(&self.masking)?;
        admin::validate(&self.admin_tokens, !self.admin_token.is_empty())?;
        self.gate.validate()
    }
}

/// An address (`10.1.2.3`, `::1`) or CIDR block (`10.0.0.0/8`) of
/// `gateway.trusted_proxies`; an address is a block of one.
pub fn parse_net(text: &str) -> Option<ipnet::IpNet> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .ok()
        .map(|net| net.trunc())
        .or_else(|| {
            text.parse::<std::net::IpAddr>()
                .ok()
                .map(ipnet::IpNet::from)
        })
}
