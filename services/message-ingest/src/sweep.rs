//! The message sweep: deletes the messages past their period
//! (`messages.keep_days`, or the number's own, see [`store::Cutoffs`]) from
//! the database and drops the hot lists that held them, so they refill from
//! the database. Once at start-up, then every `messages.sweep_interval_secs`.
//!
//! Pages never wait for it: every read already hides what is past its
//! period. It deletes in batches of `messages.sweep_batch` (short
//! transactions on old rows, the persister writing new ones meanwhile; see
//! [`store::Store::sweep_expired`]). With several replicas, the first to
//! claim the sweep in the cache for the interval sweeps; a second sweep at
//! once (a claim lost with Redis, a sweep longer than the interval) would
//! only find less to delete.

use std::sync::OnceLock;
use std::time::Duration;

use cache::{HotCache, HotList};
use opentelemetry::metrics::{Counter, Histogram};
use platform::Infra;
use store::{Store, StoreError, Swept};
use tokio_util::sync::CancellationToken;

/// The cache key of the sweep's claim (under `cache.key_prefix`).
pub const CLAIM_KEY: &str = "sweep:messages";

/// Rest between two delete statements of a sweep.
pub const PAUSE: Duration = Duration::from_millis(20);

/// Most hot lists dropped with one cache call.
const LISTS_PER_CALL: usize = 500;

/// One sweep: deletes what is past its period, then drops the hot lists of
/// the numbers that lost messages and the global one. A cache failure is
/// logged (the reads hide those messages anyway, and the lists refill
/// within `cache.fill_ttl_secs`).
pub async fn sweep_once(
    store: &Store,
    cache: &dyn HotCache,
    batch: u64,
    pause: Duration,
) -> Result<Swept, StoreError> {
    let started = std::time::Instant::now();
    let swept = store.sweep_expired(batch, pause).await?;
    if !swept.numbers.is_empty() {
        let mut lists: Vec<HotList<'_>> =
            swept.numbers.iter().map(|n| HotList::Number(n)).collect();
        lists.push(HotList::Latest);
        for chunk in lists.chunks(LISTS_PER_CALL) {
            if let Err(err) = cache.forget_lists(chunk).await {
                tracing::warn!(error = %err, "hot lists of swept messages not dropped");
            }
        }
    }
    tracing::info!(
        deleted = swept.deleted,
        statements = swept.batches,
        numbers = swept.numbers.len(),
        elapsed_ms = started.elapsed().as_millis(),
        "message sweep done"
    );
    Ok(swept)
}

/// `cloudsms.messages.sweep.duration` (with `error.type` when it failed),
/// `cloudsms.messages.swept` and `cloudsms.messages.sweep.failures`.
fn record(took: Duration, result: &Result<Swept, StoreError>) {
    static DURATION: OnceLock<Histogram<f64>> = OnceLock::new();
    static SWEPT: OnceLock<Counter<u64>> = OnceLock::new();
    static FAILURES: OnceLock<Counter<u64>> = OnceLock::new();
    let ok = result.is_ok();
    let attributes: &[opentelemetry::KeyValue] = if ok {
        &[]
    } else {
        &[opentelemetry::KeyValue::new("error.type", "sweep_failed")]
    };
    DURATION
        .get_or_init(|| {
            telemetry::duration_histogram(
                &telemetry::meter(),
                "cloudsms.messages.sweep.duration",
                "Duration of a message sweep (deleting messages past their period)",
            )
        })
        .record(took.as_secs_f64(), attributes);
    match result {
        Ok(swept) => SWEPT
            .get_or_init(|| {
                telemetry::meter()
                    .u64_counter("cloudsms.messages.swept")
                    .with_unit("{message}")
                    .with_description("Messages deleted by the sweep, past their period")
                    .build()
            })
            .add(swept.deleted, &[]),
        Err(_) => FAILURES
            .get_or_init(|| {
                telemetry::meter()
                    .u64_counter("cloudsms.messages.sweep.failures")
                    .with_unit("{sweep}")
                    .with_description("Message sweeps that failed (retried at the next tick)")
                    .build()
            })
            .add(1, &[]),
    }
}

/// Sweeps at start-up and every `messages.sweep_interval_secs` until
/// `shutdown`, when this replica claims the interval's sweep. A failed
/// sweep is logged and retried at the next tick.
pub async fn run(infra: Infra, shutdown: CancellationToken) {
    let settings = &infra.settings.messages;
    let interval = Duration::from_secs(u64::from(settings.sweep_interval_secs.get()));
    let batch = u64::from(settings.sweep_batch.get());
    // A little shorter than the interval, so this replica's next tick finds
    // it lapsed; another replica's tick meanwhile finds it held.
    let claim_ttl = interval
        .saturating_sub(Duration::from_secs(1))
        .max(Duration::from_secs(1));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            _ = ticker.tick() => {
                match infra.cache.claim(CLAIM_KEY, claim_ttl).await {
                    Ok(false) => continue,
                    Ok(true) => {}
                    Err(err) => tracing::warn!(error = %err, "message sweep not claimed; sweeping anyway"),
                }
                let started = std::time::Instant::now();
                let result = tokio::select! {
                    () = shutdown.cancelled() => break,
                    result = sweep_once(&infra.store, infra.cache.as_ref(), batch, PAUSE) => result,
                };
                record(started.elapsed(), &result);
                if let Err(err) = result {
                    tracing::warn!(error = %err, "message sweep failed");
                }
            }
        }
    }
}
