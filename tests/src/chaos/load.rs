//! The load of the chaos runs: signed Twilio webhooks sent at a fixed rate
//! (as a provider sends them) and retried until answered 2xx, and request-log
//! events published in batches at a fixed rate, both counted as they go so
//! faults can be placed by progress.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Semaphore};

/// The numbers the webhooks are sent to, in turn.
/// How much a run sends, and over how long.
pub struct Load {
    /// Webhooks (`CHAOS_WEBHOOKS`, 20,000).
    pub webhooks: usize,
    /// Request-log events (`CHAOS_LOG_EVENTS`, 20,000).
    pub log_events: usize,
    /// The paced load's length (`CHAOS_SECONDS`, else `default_secs`).
    pub over: Duration,
}

impl Load {
    /// The load the environment asks for.
    pub fn from_env(default_secs: u64) -> Self {
        use crate::drive::env_or;
        Self {
            webhooks: env_or("CHAOS_WEBHOOKS", 20_000usize),
            log_events: env_or("CHAOS_LOG_EVENTS", 20_000usize),
            over: Duration::from_secs(env_or("CHAOS_SECONDS", default_secs).max(1)),
        }
    }
}

pub const NUMBERS: [&str; 8] = [
    "+447700900101",
    "+447700900102",
    "+447700900103",
    "+447700900104",
    "+15005550101",
    "+15005550102",
    "+61491570101",
    "+61491570102",
];
/// Twilio's auth token of the runs (not a secret: a test value).
pub const TWILIO_TOKEN: &str = "chaos-twilio-token-placeholder";
/// Where Twilio posts, after `ingest.public_url`.
pub const TWILIO_PATH: &str = "/webhooks/twilio";
/// Webhooks in flight at most (a provider's connections).
const MAX_IN_FLIGHT: usize = 256;

/// One signed Twilio webhook.
pub struct Hook {
    /// `MessageSid`: the id it is stored under.
    pub sid: String,
    /// The number it is for.
    pub to: &'static str,
    /// The form body.
    pub body: String,
    /// `X-Twilio-Signature` over `public_url` + [`TWILIO_PATH`].
    pub signature: String,
}

/// `count` webhooks of run `run`, signed for `public_url` (every ingest
/// replica is reached under it), to [`NUMBERS`] in turn.
pub fn hooks(public_url: &str, run: &str, count: usize) -> Vec<Hook> {
    let url = format!("{}{TWILIO_PATH}", public_url.trim_end_matches('/'));
    (0..count)
        .map(|i| {
            let to = NUMBERS[i % NUMBERS.len()];
            let sid = format!("SM{run}{i:08}");
            let (body, signature) = crate::drive::twilio_sms(
                &url,
                TWILIO_TOKEN,
                &sid,
                to,
                &format!("chaos {sid}: your code is {i:06}"),
            );
            Hook {
                sid,
                to,
                body,
                signature,
            }
        })
        .collect()
}

/// The `MessageSid` in a stored message's text (`chaos <sid>: ...`).
pub fn sid_of_body(body: &str) -> Option<&str> {
    body.strip_prefix("chaos ")
        .and_then(|b| b.split(':').next())
}

/// The number of every hook, by `MessageSid`.
pub fn numbers_by_sid(hooks: &[Hook]) -> HashMap<String, &'static str> {
    hooks.iter().map(|h| (h.sid.clone(), h.to)).collect()
}

/// What the sender saw, counted as it goes.
#[derive(Default)]
pub struct SendStats {
    /// Hooks whose first attempt went out (the pacing's progress).
    pub dispatched: AtomicUsize,
    /// Hooks answered 2xx.
    pub accepted: AtomicUsize,
    /// Of those, at the first attempt.
    pub first_try: AtomicUsize,
    /// Attempts answered 5xx (retried).
    pub server_errors: AtomicUsize,
    /// Attempts without an answer (retried).
    pub connection_errors: AtomicUsize,
    /// Hooks answered 4xx (final: a failure).
    pub client_errors: AtomicUsize,
    /// 2xx answers by target (ingest replica), in target order.
    pub by_target: Vec<AtomicUsize>,
    /// Webhooks in this run.
    pub total: usize,
}

impl SendStats {
    /// Counters for `total` webhooks over `targets` replicas.
    pub fn new(total: usize, targets: usize) -> Self {
        Self {
            by_target: (0..targets).map(|_| AtomicUsize::new(0)).collect(),
            total,
            ..Self::default()
        }
    }

    /// Accepted webhooks as a fraction of all.
    pub fn progress(&self) -> f64 {
        self.accepted.load(Ordering::Relaxed) as f64 / self.total.max(1) as f64
    }

    /// Webhooks sent (first attempt out) as a fraction of all: the paced
    /// load's progress, which faults are placed by (acceptance may lag
    /// behind while a fault heals).
    pub fn sent(&self) -> f64 {
        self.dispatched.load(Ordering::Relaxed) as f64 / self.total.max(1) as f64
    }

    /// True once the last webhook's first attempt went out.
    pub fn all_dispatched(&self) -> bool {
        self.dispatched.load(Ordering::Relaxed) >= self.total
    }

    /// Waits until `fraction` of the webhooks were sent.
    pub async fn reached(&self, fraction: f64) {
        while self.sent() < fraction {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Posts every hook, hook `i` first at `start + i / rate`, retrying 5xx and
/// connection errors with backoff (each retry to the next target, as a
/// load balancer would) until a 2xx; a 4xx is final. Hook `i` first goes to
/// target `i % targets.len()`: round-robin over the ingest replicas.
/// Returns the `MessageSid`s answered 2xx.
pub async fn send_paced(
    targets: Vec<String>,
    hooks: Vec<Hook>,
    rate_per_sec: f64,
    stats: Arc<SendStats>,
) -> anyhow::Result<Vec<String>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()?;
    let targets = Arc::new(targets);
    let accepted = Arc::new(Mutex::new(Vec::with_capacity(hooks.len())));
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(hooks.len());
    for (i, hook) in hooks.into_iter().enumerate() {
        tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / rate_per_sec)).await;
        let permit = in_flight.clone().acquire_owned().await?;
        stats.dispatched.fetch_add(1, Ordering::Relaxed);
        let (client, targets, stats, accepted) = (
            client.clone(),
            targets.clone(),
            stats.clone(),
            accepted.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            let mut backoff = Duration::from_millis(50);
            for attempt in 0.. {
                let target = (i + attempt) % targets.len();
                let sent = client
                    .post(format!("{}{TWILIO_PATH}", targets[target]))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header("x-twilio-signature", &hook.signature)
                    .body(hook.body.clone())
                    .send()
                    .await;
                match sent.map(|r| r.status()) {
                    Ok(status) if status.is_success() => {
                        stats.accepted.fetch_add(1, Ordering::Relaxed);
                        stats.by_target[target].fetch_add(1, Ordering::Relaxed);
                        if attempt == 0 {
                            stats.first_try.fetch_add(1, Ordering::Relaxed);
                        }
                        accepted.lock().await.push(hook.sid);
                        return;
                    }
                    Ok(status) if status.is_server_error() => {
                        stats.server_errors.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(status) => {
                        stats.client_errors.fetch_add(1, Ordering::Relaxed);
                        eprintln!("chaos: {} answered {status}", hook.sid);
                        return;
                    }
                    Err(_) => {
                        stats.connection_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let accepted = std::mem::take(&mut *accepted.lock().await);
    Ok(accepted)
}

/// What the log publisher did.
#[derive(Debug, Default)]
pub struct LogsSent {
    /// Events published (acknowledged by JetStream).
    pub events: usize,
    /// Batches published again after a failed attempt.
    pub retries: usize,
}

/// Publishes `count` request-log events of run `run` (event ids
/// `chaos-<run>-<n>`) in batches of 100, one batch every
/// `over / batches`, each until JetStream acknowledges it (the batch id
/// dedupes a repeat).
pub async fn publish_logs(
    settings: config::Settings,
    run: String,
    count: usize,
    over: Duration,
    published: Arc<AtomicUsize>,
) -> anyhow::Result<LogsSent> {
    let bus = loop {
        match bus::Bus::connect(&settings).await {
            Ok(bus) => break bus,
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let mut retries = 0;
    let now = chrono::Utc::now().timestamp_millis();
    let all: Vec<usize> = (0..count).collect();
    let batches = all.chunks(100).count().max(1);
    let every = over / u32::try_from(batches)?;
    let start = Instant::now();
    for (batch_no, chunk) in all.chunks(100).enumerate() {
        tokio::time::sleep_until((start + every * u32::try_from(batch_no)?).into()).await;
        let batch = proto::events::v1::RequestsLogged {
            batch_id: format!("chaos-{run}-{batch_no}"),
            requests: chunk
                .iter()
                .map(|i| proto::events::v1::RequestLogged {
                    event_id: format!("chaos-{run}-{i:08}"),
                    ts: Some(proto::timestamp_from_unix_millis(now)),
                    visitor_id: format!("visitor-{}", i % 500),
                    ip: "192.0.2.1".into(),
                    method: "GET".into(),
                    path: format!("/chaos/{run}/{i}"),
                    status: 200,
                    latency_us: 1000,
                    browser_family: "Firefox".into(),
                    os_family: "Linux".into(),
                    host: "chaos.test".into(),
                    ..Default::default()
                })
                .collect(),
        };
        while bus.publish(&batch).await.is_err() {
            retries += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        published.fetch_add(chunk.len(), Ordering::Relaxed);
    }
    Ok(LogsSent {
        events: count,
        retries,
    })
}
