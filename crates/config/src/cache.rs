//! `[cache]`: the hot message lists.

use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

/// Hot message lists.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// Prefix of every Redis key.
    pub key_prefix: String,
    /// Messages kept per list.
    pub hot_list_len: NonZeroUsize,
    /// Seconds a list filled from the database lives.
    pub fill_ttl_secs: u64,
}
