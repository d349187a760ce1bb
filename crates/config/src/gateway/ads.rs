//! `[gateway.ads]`: the advertising slots.

use serde::{Deserialize, Serialize};

/// Advertising slots, filled with the operator's ad network snippet.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdsSettings {
    /// Show the slots.
    pub enabled: bool,
    /// HTML of one ad unit, pasted from the ad network (trusted, not escaped).
    pub slot_html: String,
    /// Body of `/ads.txt`; empty: 404.
    pub ads_txt: String,
    /// Origins the snippet loads from, added to the Content-Security-Policy
    /// (e.g. `https://pagead2.googlesyndication.com`).
    pub csp_sources: Vec<String>,
}
