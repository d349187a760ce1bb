//! `[gateway.live]`: limits of the live-update streams.

use std::num::{NonZeroU64, NonZeroUsize};

use serde::{Deserialize, Serialize};

/// Limits of the gateway's live-update streams (`/numbers/{e164}/events`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LiveSettings {
    /// Open streams per client network (IPv4 /24, IPv6 /64), counted in the
    /// cache so every replica shares the count; past it `429`.
    pub max_streams_per_network: NonZeroU64,
    /// Open streams per gateway process; past it `429`.
    pub max_streams: NonZeroUsize,
    /// Seconds a stream stays open; then it ends and the browser reconnects
    /// with `Last-Event-ID` (nothing is missed).
    pub max_stream_secs: NonZeroU64,
}
