//! `[retention]`: log-retention's listeners, how long logs are kept, and
//! the address ranges of the statistics' countries.

use std::net::SocketAddr;
use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

/// The log-retention service.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// HTTP listen address (health only).
    pub listen: SocketAddr,
    /// gRPC listen address.
    pub grpc_listen: SocketAddr,
    /// Days server logs are kept.
    pub retention_days: NonZeroU32,
    /// Seconds between two retention sweeps (one also runs at start-up).
    pub sweep_interval_secs: u64,
    /// Most log events written in one multi-row insert.
    pub batch_size: usize,
    /// CSV of address ranges (`first_ip,last_ip,country`, e.g. DB-IP's
    /// "IP to Country Lite") for the statistics' countries; empty: none.
    pub geoip_csv: String,
    /// Seconds a graceful shutdown waits.
    pub shutdown_grace_secs: u64,
    /// Seconds between a stop signal and closing the listeners: `/readyz`
    /// answers 503 meanwhile and requests are still served, so load
    /// balancers stop sending first.
    pub shutdown_delay_secs: u64,
}
