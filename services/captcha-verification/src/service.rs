//! Issue, redeem and verify: the logic shared by the HTTP and gRPC fronts.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bus::Batcher;
use cache::HotCache;
use config::{CaptchaSettings, CaptchaSite};
use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use platform::Infra;
use proto::events::v1::{CaptchaEvent, CaptchaEvents, CaptchaOutcome};

use crate::ErrorCode;
use crate::pow::{self, Challenge};
use crate::token::{self, Claims, TokenError};

/// Who asks for a challenge, for the traffic levels and the events.
#[derive(Debug, Clone, Default)]
pub struct Requester {
    /// Client address, when known.
    pub ip: Option<IpAddr>,
    /// The site's visitor identifier, when known.
    pub visitor_id: String,
}

/// A successful `/siteverify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The token's claims.
    pub claims: Claims,
}

/// The captcha service's state: keys, settings, cache and bus.
#[derive(Clone)]
pub struct Captcha {
    settings: Arc<CaptchaSettings>,
    key: Arc<[u8]>,
    token_key: Arc<[u8]>,
    cache: Arc<dyn HotCache>,
    /// Where captcha events are queued, published in `CaptchaEvents`
    /// batches: a verification costs a channel send, not a JetStream round trip.
    events: Batcher<CaptchaEvent>,
    /// The batch task, awaited (flushed) at shutdown.
    events_flush: bus::Flush,
}

/// Unix seconds now.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The source a request is counted under: IPv4 /24, IPv6 /64.
pub use platform::network_prefix as source_prefix;

/// The count of challenges a visitor asked for, under the gateway's visitor id.
fn visitor_key(visitor: &str) -> String {
    format!("captcha:rate:vid:{visitor}")
}

impl Captcha {
    /// Builds the service from the process's infrastructure. An empty
    /// `captcha.hmac_key` gets a random one, with a warning. Must run inside
    /// a tokio runtime (it starts the event batch task).
    pub fn new(infra: &Infra<()>) -> Self {
        let mut settings = infra.settings.captcha.clone();
        // The gateway's gate is a built-in site: it redeems solutions over
        // gRPC and never calls /siteverify, so its secret is random.
        let gate = &infra.settings.gateway.gate;
        if gate.enabled && !settings.sites.iter().any(|s| s.site_key == gate.site_key) {
            settings.sites.push(CaptchaSite {
                site_key: gate.site_key.clone(),
                secret: hex::encode(rand::random::<[u8; 32]>()).as_str().into(),
                hostnames: Vec::new(),
            });
        }
        let key: Vec<u8> = if settings.hmac_key.is_empty() {
            tracing::warn!(
                "captcha.hmac_key is empty: using a random key for this process; \
                 replicas must share one key (set captcha.hmac_key)"
            );
            hex::encode(rand::random::<[u8; 32]>()).into_bytes()
        } else {
            settings.hmac_key.expose().as_bytes().to_vec()
        };
        let token_key = platform::security::sign(&key, b"cloudsms-captcha-token-key").to_vec();
        let (events, events_flush) = Batcher::spawn(
            infra.bus.clone(),
            settings.event_batch,
            Duration::from_millis(settings.event_linger_ms),
            "captcha event",
            true,
            |events| CaptchaEvents {
                batch_id: uuid::Uuid::now_v7().to_string(),
                events,
            },
        );
        Self {
            settings: Arc::new(settings),
            key: key.into(),
            token_key: token_key.into(),
            cache: infra.cache.clone(),
            events,
            events_flush,
        }
    }

    /// The event batch task: awaited after the last clone of this service
    /// is dropped, it publishes the last batch.
    pub fn events_flush(&self) -> bus::Flush {
        self.events_flush.clone()
    }

    fn site(&self, site_key: &str) -> Option<&CaptchaSite> {
        self.settings.sites.iter().find(|s| s.site_key == site_key)
    }

    fn site_by_secret(&self, secret: &str) -> Option<&CaptchaSite> {
        // Compare against every site, so timing does not tell which matched.
        let mut found = None;
        for site in &self.settings.sites {
            if platform::constant_time_eq(site.secret.expose().as_bytes(), secret.as_bytes()) {
                found = Some(site);
            }
        }
        found
    }

    /// Queues a captcha event for the LOGS stream; never fails the request.
    fn event(&self, outcome: CaptchaOutcome, site_key: &str, requester: &Requester, max: u64) {
        self.events.push(CaptchaEvent {
            event_id: uuid::Uuid::now_v7().to_string(),
            ts: Some(proto::timestamp_from_unix_millis(
                chrono::Utc::now().timestamp_millis(),
            )),
            // Only well-formed identifiers: these fields may come from the request.
            visitor_id: ident_or_empty(&requester.visitor_id),
            ip: requester.ip.map(|ip| ip.to_string()).unwrap_or_default(),
            outcome: outcome.into(),
            max_number: max,
            site_key: ident_or_empty(site_key),
        });
        outcomes().add(1, &[KeyValue::new("outcome", outcome_name(outcome))]);
    }

    /// Deletes what the service keeps under `visitor` (its challenge
    /// count): how many keys went.
    pub async fn forget_visitor(&self, visitor: &str) -> Result<u64, cache::CacheError> {
        self.cache.forget(&[visitor_key(visitor)]).await
    }

    /// The `maxnumber` for this request: the default, raised by the highest
    /// traffic level its source or everyone reached in the current window.
    async fn max_number(&self, requester: &Requester) -> u64 {
        let window = Duration::from_secs(self.settings.window_secs.get());
        let mut source = 0;
        let mut keys = Vec::new();
        if let Some(ip) = requester.ip {
            keys.push(format!("captcha:rate:ip:{}", source_prefix(ip)));
        }
        if pow::is_ident(&requester.visitor_id, false) {
            keys.push(visitor_key(&requester.visitor_id));
        }
        for key in keys {
            match self.cache.incr_window(&key, window).await {
                Ok(count) => source = source.max(count),
                Err(err) => tracing::warn!(%err, "captcha rate count failed"),
            }
        }
        let global = match self.cache.incr_window("captcha:rate:all", window).await {
            Ok(count) => count,
            Err(err) => {
                tracing::warn!(%err, "captcha rate count failed");
                0
            }
        };
        level_for(
            self.settings.default_max_number.get(),
            &self.settings.source_levels,
            source,
        )
        .max(level_for(
            self.settings.default_max_number.get(),
            &self.settings.global_levels,
            global,
        ))
        .min(pow::MAX_MAX_NUMBER)
    }

    /// A challenge for `site_key` (and `action`, may be empty).
    pub async fn issue(
        &self,
        site_key: &str,
        action: &str,
        requester: &Requester,
    ) -> Result<Challenge, ErrorCode> {
        let mut puzzles = self.issue_puzzles(site_key, action, requester, 1).await?;
        puzzles.pop().ok_or(ErrorCode::InternalError)
    }

    /// `parts` sub-puzzles (1..=16) that share one challenge's difficulty.
    pub async fn issue_puzzles(
        &self,
        site_key: &str,
        action: &str,
        requester: &Requester,
        parts: u64,
    ) -> Result<Vec<Challenge>, ErrorCode> {
        if self.site(site_key).is_none()
            || !pow::is_ident(action, true)
            || !(1..=pow::MAX_PARTS).contains(&parts)
        {
            return Err(ErrorCode::BadRequest);
        }
        let max = self.max_number(requester).await;
        let expires = now_unix().saturating_add(self.settings.challenge_ttl_secs.get());
        let puzzles = pow::create_puzzles(&self.key, site_key, action, max, expires, parts);
        self.event(CaptchaOutcome::Issued, site_key, requester, max);
        Ok(puzzles)
    }

    /// Redeems a solution for a single-use token. `site_key` and `action`,
    /// when not empty, must be those of the challenge; `hostname` must be one
    /// of the site's.
    pub async fn redeem(
        &self,
        payload: &str,
        site_key: &str,
        hostname: &str,
        action: &str,
        requester: &Requester,
    ) -> Result<String, ErrorCode> {
        self.redeem_puzzles(&[payload], site_key, hostname, action, requester)
            .await
    }

    /// Redeems the solutions of every sub-puzzle of one challenge (a single
    /// payload for a plain challenge) for one token.
    pub async fn redeem_puzzles(
        &self,
        payloads: &[&str],
        site_key: &str,
        hostname: &str,
        action: &str,
        requester: &Requester,
    ) -> Result<String, ErrorCode> {
        let result = self
            .redeem_inner(payloads, site_key, hostname, action)
            .await;
        let (outcome, site, max) = match &result {
            Ok((_, v)) => (
                CaptchaOutcome::Solved,
                v.params.site.as_str(),
                v.params.max.saturating_mul(v.params.parts),
            ),
            Err(ErrorCode::TimeoutOrDuplicate) => (CaptchaOutcome::Replayed, site_key, 0),
            Err(_) => (CaptchaOutcome::Failed, site_key, 0),
        };
        self.event(outcome, site, requester, max);
        result.map(|(token, _)| token)
    }

    async fn redeem_inner(
        &self,
        payloads: &[&str],
        site_key: &str,
        hostname: &str,
        action: &str,
    ) -> Result<(String, pow::Verified), ErrorCode> {
        let bad = ErrorCode::InvalidInputResponse;
        if payloads.is_empty() || payloads.iter().all(|p| p.trim().is_empty()) {
            return Err(ErrorCode::MissingInputResponse);
        }
        if payloads.len() as u64 > pow::MAX_PARTS {
            return Err(bad);
        }
        let payloads = payloads
            .iter()
            .map(|p| pow::decode_payload(p))
            .collect::<Result<Vec<_>, _>>()?;
        let now = now_unix();
        // Pre-check the parts that need no hashing: every sub-puzzle names
        // how many were issued together, and they share site, action and
        // expiry (they were issued at once).
        let mut all = Vec::with_capacity(payloads.len());
        for payload in &payloads {
            let params = pow::parse_salt(&payload.salt).ok_or(bad)?;
            if params.parts != payloads.len() as u64 {
                return Err(bad);
            }
            all.push(params);
        }
        let params = all[0].clone();
        if all.iter().any(|p| {
            p.site != params.site || p.action != params.action || p.expires != params.expires
        }) {
            return Err(bad);
        }
        let mut challenges: Vec<&str> = payloads.iter().map(|p| p.challenge.as_str()).collect();
        challenges.sort_unstable();
        challenges.dedup();
        if challenges.len() != payloads.len() {
            return Err(bad);
        }
        let site = self.site(&params.site).ok_or(bad)?;
        if (!site_key.is_empty() && site_key != params.site)
            || (!action.is_empty() && action != params.action)
        {
            return Err(ErrorCode::InvalidInputResponse);
        }
        let hostname = hostname.trim().to_ascii_lowercase();
        if hostname.len() > 253
            || (!site.hostnames.is_empty()
                && !site
                    .hostnames
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(&hostname)))
        {
            return Err(ErrorCode::InvalidInputResponse);
        }
        let lifetime = self.settings.challenge_ttl_secs.get().saturating_add(60);
        let verified = payloads
            .iter()
            .map(|p| pow::verify_solution(&self.key, p, now, lifetime))
            .collect::<Result<Vec<_>, _>>()?;
        let ttl = Duration::from_secs(params.expires.saturating_sub(now).saturating_add(1));
        for solution in &verified {
            match self
                .cache
                .claim(&format!("captcha:solution:{}", solution.challenge), ttl)
                .await
            {
                Ok(true) => {}
                Ok(false) => return Err(ErrorCode::TimeoutOrDuplicate),
                Err(err) => {
                    tracing::error!(%err, "captcha: cannot claim a solution; refusing");
                    return Err(ErrorCode::InternalError);
                }
            }
        }
        let verified = verified.into_iter().next().ok_or(bad)?;
        let claims = Claims {
            site_key: verified.params.site.clone(),
            hostname,
            action: verified.params.action.clone(),
            issued: now,
            expires: now.saturating_add(self.settings.token_ttl_secs.get()),
            id: rand::random(),
        };
        let token =
            token::encode(&self.token_key, &claims).ok_or(ErrorCode::InvalidInputResponse)?;
        Ok((token, verified))
    }

    /// `/siteverify`: checks `secret` and the single-use `response` token.
    /// With an `idempotency_key` the same key may verify the same token again
    /// and gets the same answer.
    pub async fn verify(
        &self,
        secret: &str,
        response: &str,
        idempotency_key: &str,
        requester: &Requester,
    ) -> Result<VerifiedToken, Vec<ErrorCode>> {
        let result = self.verify_inner(secret, response, idempotency_key).await;
        let (outcome, site) = match &result {
            Ok(v) => (CaptchaOutcome::Verified, v.claims.site_key.clone()),
            Err(codes) if codes.contains(&ErrorCode::TimeoutOrDuplicate) => {
                (CaptchaOutcome::Replayed, String::new())
            }
            Err(_) => (CaptchaOutcome::Failed, String::new()),
        };
        self.event(outcome, &site, requester, 0);
        result
    }

    async fn verify_inner(
        &self,
        secret: &str,
        response: &str,
        idempotency_key: &str,
    ) -> Result<VerifiedToken, Vec<ErrorCode>> {
        let mut missing = Vec::new();
        if secret.is_empty() {
            missing.push(ErrorCode::MissingInputSecret);
        }
        if response.is_empty() {
            missing.push(ErrorCode::MissingInputResponse);
        }
        if !missing.is_empty() {
            return Err(missing);
        }
        let Some(site) = self.site_by_secret(secret) else {
            return Err(vec![ErrorCode::InvalidInputSecret]);
        };
        if idempotency_key.len() > 128 {
            return Err(vec![ErrorCode::BadRequest]);
        }
        let now = now_unix();
        let claims = token::decode(&self.token_key, response, now).map_err(|e| match e {
            TokenError::Invalid => vec![ErrorCode::InvalidInputResponse],
            TokenError::Expired => vec![ErrorCode::TimeoutOrDuplicate],
        })?;
        if claims.site_key != site.site_key {
            return Err(vec![ErrorCode::InvalidInputResponse]);
        }
        let key = format!("captcha:token:{}", hex::encode(claims.id));
        let ttl = Duration::from_secs(claims.expires.saturating_sub(now).saturating_add(1));
        let claimed = if idempotency_key.is_empty() {
            self.cache.claim(&key, ttl).await
        } else {
            self.cache
                .claim_as(&key, &format!("k:{idempotency_key}"), ttl)
                .await
        };
        match claimed {
            Ok(true) => Ok(VerifiedToken { claims }),
            Ok(false) => Err(vec![ErrorCode::TimeoutOrDuplicate]),
            Err(err) => {
                tracing::error!(%err, "captcha: cannot claim a token; refusing");
                Err(vec![ErrorCode::InternalError])
            }
        }
    }
}

/// `cloudsms.captcha.outcomes`: challenges issued, solved, verified, failed
/// and replayed.
fn outcomes() -> &'static Counter<u64> {
    static COUNTER: OnceLock<Counter<u64>> = OnceLock::new();
    COUNTER.get_or_init(|| {
        opentelemetry::global::meter("captcha-verification")
            .u64_counter("cloudsms.captcha.outcomes")
            .with_description("Captcha challenges issued, solved, verified, failed and replayed")
            .build()
    })
}

fn outcome_name(outcome: CaptchaOutcome) -> &'static str {
    match outcome {
        CaptchaOutcome::Issued => "issued",
        CaptchaOutcome::Solved => "solved",
        CaptchaOutcome::Verified => "verified",
        CaptchaOutcome::Failed => "failed",
        CaptchaOutcome::Replayed => "replayed",
        _ => "other",
    }
}

fn ident_or_empty(value: &str) -> String {
    if pow::is_ident(value, true) {
        value.to_owned()
    } else {
        String::new()
    }
}

/// `default` raised to the `max_number` of the highest level `count` reached.
pub fn level_for(default: u64, levels: &[config::CaptchaLevel], count: u64) -> u64 {
    levels
        .iter()
        .filter(|l| count >= l.requests)
        .map(|l| l.max_number)
        .fold(default, u64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_prefixes() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        assert_eq!(source_prefix(ip("203.0.113.77")), "203.0.113.0/24");
        assert_eq!(
            source_prefix(ip("2001:db8:1:2:3:4:5:6")),
            "2001:db8:1:2::/64"
        );
        assert_eq!(source_prefix(ip("::ffff:198.51.100.9")), "198.51.100.0/24");
    }

    #[test]
    fn levels_raise_the_default() {
        let levels = [
            config::CaptchaLevel {
                requests: 10,
                max_number: 500,
            },
            config::CaptchaLevel {
                requests: 30,
                max_number: 900,
            },
        ];
        assert_eq!(level_for(100, &levels, 0), 100);
        assert_eq!(level_for(100, &levels, 10), 500);
        assert_eq!(level_for(100, &levels, 31), 900);
        assert_eq!(level_for(1000, &levels, 31), 1000);
    }
}
