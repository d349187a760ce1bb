//! `[messages]`: how long the site shows and keeps the messages it
//! receives. Read by the gateway (what a page may show) and by
//! message-ingest (its sweep deletes what is past it): both share the SMS
//! store. A number may keep its messages for another period
//! (`cloudsms numbers keep-days`), stored with the number.

use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use crate::ConfigError;
use crate::validate::invalid;

/// Most days a period may be: 100 years, far past any use, so that the
/// cut-off time never leaves the range of a database timestamp.
pub const MAX_KEEP_DAYS: u32 = 36_500;

/// Public messages.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MessagesSettings {
    /// Days a message is shown and kept after it arrived, unless its
    /// number has a period of its own.
    pub keep_days: NonZeroU32,
    /// Seconds between two sweeps of the messages past their period (one
    /// also runs at start-up); one replica sweeps at a time.
    pub sweep_interval_secs: NonZeroU32,
    /// Most messages deleted by one statement of the sweep.
    pub sweep_batch: NonZeroU32,
}

impl MessagesSettings {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.keep_days.get() > MAX_KEEP_DAYS {
            return Err(invalid(
                "messages.keep_days",
                format!("at most {MAX_KEEP_DAYS} days"),
            ));
        }
        if self.sweep_batch.get() > 10_000 {
            return Err(invalid("messages.sweep_batch", "at most 10000"));
        }
        Ok(())
    }
}
