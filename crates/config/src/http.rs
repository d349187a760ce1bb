//! `[http]`: the limits every HTTP server applies to its clients.

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};

use serde::{Deserialize, Serialize};

use crate::ConfigError;
use crate::validate::invalid;

/// Limits every HTTP server applies to its clients: slow or oversized
/// requests cost a bounded amount and never starve other clients.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Open connections per server; past it new ones wait in the kernel's
    /// backlog.
    pub max_connections: NonZeroUsize,
    /// Open connections per client address; past it new ones from that
    /// address are closed at once. 0: no per-address limit.
    pub max_connections_per_address: usize,
    /// Seconds a client has to send a request's headers (also how long an
    /// idle keep-alive connection stays open).
    pub header_read_timeout_secs: NonZeroU64,
    /// Seconds from the headers to the response's start, the body's upload
    /// included; past it `408`. Event streams are not cut.
    pub request_timeout_secs: NonZeroU64,
    /// Largest request head (request line and headers); past it `431`.
    pub max_header_bytes: usize,
    /// Concurrent HTTP/2 streams per connection (what the server announces
    /// in `SETTINGS_MAX_CONCURRENT_STREAMS`): one connection cannot open more
    /// requests at once than this.
    pub max_concurrent_streams: NonZeroU32,
}

impl HttpSettings {
    /// Header limits hyper can apply.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if !(8192..=1 << 20).contains(&self.max_header_bytes) {
            return Err(invalid(
                "http.max_header_bytes",
                "must be between 8192 and 1048576",
            ));
        }
        Ok(())
    }
}
