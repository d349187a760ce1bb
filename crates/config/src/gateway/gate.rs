//! `[gateway.gate]`: the crawler gate's limits, passes and allowed crawlers.

use serde::{Deserialize, Serialize};

use crate::validate::{invalid, is_site_key};
use crate::{ConfigError, Secret};

/// The gateway's crawler gate (see `docs/captcha.md`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GateSettings {
    /// Count page views and challenge clients over the limits.
    pub enabled: bool,
    /// captcha-verification's gRPC address.
    pub captcha_url: String,
    /// Site key of the gate in captcha-verification (a built-in site there).
    pub site_key: String,
    /// Independent sub-puzzles per challenge (1..=16): the same expected
    /// work, but a solve time that varies much less.
    pub puzzles: u32,
    /// Key that signs pass cookies; every gateway replica must share it.
    /// Empty: a random key per process.
    pub pass_key: Secret,
    /// Seconds a pass earned by solving a challenge lasts.
    pub pass_ttl_secs: u64,
    /// Page views per visitor: sustained rate per minute and burst.
    pub visitor: GateRate,
    /// Page views per network (IPv4 /24, IPv6 /64).
    pub network: GateRate,
    /// Page views per pass: a pass is not a licence to crawl.
    pub pass: GateRate,
    /// Page views per network of every visitor holding a pass together:
    /// passes do not lift a network above this.
    pub network_passed: GateRate,
    /// Passes issued per network and hour (solved challenges redeemed).
    pub passes_per_network_hour: u64,
    /// Challenge HTML clients that look automated (no Accept-Language,
    /// scripting libraries, headless browsers) at their first page.
    pub challenge_automated: bool,
    /// Seconds a visitor without JavaScript waits for a pass.
    pub nojs_wait_secs: u64,
    /// Seconds a pass earned by waiting lasts.
    pub nojs_pass_ttl_secs: u64,
    /// Passes earned by waiting per network and hour.
    pub nojs_per_hour: u64,
    /// Search engines allowed through after their address verifies by
    /// reverse and forward DNS.
    pub crawlers: Vec<GateCrawler>,
}

/// A rate in the generic cell rate algorithm: `per_minute` sustained, `burst` at once.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GateRate {
    /// Sustained page views per minute.
    pub per_minute: u32,
    /// Page views allowed at once on top of the sustained rate.
    pub burst: u32,
}

/// A search engine's crawler.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GateCrawler {
    /// Name for logs.
    pub name: String,
    /// Substring of the User-Agent the crawler sends.
    pub user_agent: String,
    /// Domains its addresses resolve to (reverse DNS, confirmed forward).
    pub domains: Vec<String>,
}

impl GateSettings {
    /// A puzzle count the widget solves; when the gate is on, passes that
    /// last, rates that let views through and a usable site key (a gate
    /// that is off may keep zeros).
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=16).contains(&self.puzzles) {
            return Err(invalid("gateway.gate.puzzles", "between 1 and 16"));
        }
        if !self.enabled {
            return Ok(());
        }
        let rates = [self.visitor, self.network, self.pass, self.network_passed];
        if self.pass_ttl_secs == 0
            || self.nojs_pass_ttl_secs == 0
            || rates.iter().any(|r| r.per_minute == 0)
        {
            return Err(invalid(
                "gateway.gate",
                "pass_ttl_secs, nojs_pass_ttl_secs and every per_minute must be at least 1",
            ));
        }
        if !is_site_key(&self.site_key) {
            return Err(invalid(
                "gateway.gate.site_key",
                "letters, digits, '-' or '_'",
            ));
        }
        Ok(())
    }
}
