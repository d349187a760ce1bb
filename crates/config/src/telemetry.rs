//! `[telemetry]`: logs, traces and metrics.

use std::net::SocketAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::show;

/// Logs and traces.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// EnvFilter directives.
    pub log_filter: String,
    /// Output format of logs.
    pub log_format: LogFormat,
    /// OTLP gRPC endpoint, or empty.
    #[serde(serialize_with = "show::url")]
    pub otlp_endpoint: String,
    /// `service.instance.id` of this process in traces and metrics (the
    /// pod's name in the chart); empty: the host name.
    pub instance_id: String,
    /// PEM file of the CA that signed an `https://` OTLP endpoint's
    /// certificate (added to the system's roots); empty: the system's roots.
    pub otlp_ca_file: String,
    /// Address of a Prometheus scrape endpoint (`/metrics`), e.g.
    /// `127.0.0.1:9464`; empty (`None`): none.
    #[serde(
        deserialize_with = "optional_address",
        serialize_with = "empty_when_none"
    )]
    pub prometheus_listen: Option<SocketAddr>,
    /// Continue a caller's W3C `traceparent` on the public HTTP servers
    /// (only behind a proxy that sets it); otherwise the caller's trace is
    /// linked, not continued.
    pub trust_incoming_traceparent: bool,
}

/// Output format of logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// An address and port, or `""` for none (what the chart sets when metrics
/// are off).
fn optional_address<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<SocketAddr>, D::Error> {
    let text = String::deserialize(deserializer)?;
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!(
            "{text:?}: an address and port, e.g. 127.0.0.1:9464 (or empty: off)"
        ))
    })
}

/// Writes `None` as `""`, the value that reads back as `None`.
fn empty_when_none<S: Serializer>(
    address: &Option<SocketAddr>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match address {
        Some(address) => serializer.collect_str(address),
        None => serializer.serialize_str(""),
    }
}
