//! `[bus]`: streams, subjects and how consumers treat their messages.

use serde::{Deserialize, Serialize};

use crate::ConfigError;
use crate::validate::invalid;

/// How events move over the bus.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BusSettings {
    /// Prefix of stream names and subjects (isolation between installations).
    pub prefix: String,
    /// JetStream stream replicas.
    pub replicas: usize,
    /// Seconds before an unacknowledged message is delivered again.
    pub ack_wait_secs: u64,
    /// Deliveries before dead-lettering.
    pub max_deliver: i64,
    /// Seconds a repeated `Nats-Msg-Id` is dropped within.
    pub duplicate_window_secs: u64,
    /// Seconds to wait for a publish acknowledgement.
    pub publish_timeout_secs: u64,
}

impl BusSettings {
    /// A prefix that fits in stream names and subject tokens, and at least
    /// one delivery.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if !self
            .prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(invalid(
                "bus.prefix",
                "only letters, digits and '_' are allowed",
            ));
        }
        // i64, as JetStream's `max_deliver` (where -1 means unlimited).
        if self.max_deliver < 1 {
            return Err(invalid("bus.max_deliver", "must be at least 1"));
        }
        Ok(())
    }
}
