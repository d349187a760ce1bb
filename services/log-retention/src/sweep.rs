//! The retention sweep on a schedule: once at start-up, then every
//! `retention.sweep_interval_secs`. The clock is injected so tests can sweep
//! at a fake `now`.

use std::time::Duration;

use platform::Clock;
use tokio_util::sync::CancellationToken;

use crate::logstore::{LogStore, SweepReport};

/// One sweep at the clock's `now`, then the drop of the partitions it
/// detached, logged.
pub async fn sweep_once(
    store: &LogStore,
    clock: &Clock,
    retention_days: u32,
) -> Result<SweepReport, sea_orm::DbErr> {
    let now = clock.now();
    let started = std::time::Instant::now();
    let report = store.sweep(now, retention_days).await?;
    tracing::info!(
        dropped_partitions = report.dropped_partitions.len(),
        deleted_rows = report.deleted_rows,
        audit_deleted_rows = report.audit_deleted_rows,
        elapsed_ms = started.elapsed().as_millis(),
        "retention sweep done"
    );
    // The expired partitions' files, now out of every query.
    let started = std::time::Instant::now();
    let reclaimed = store.reclaim_expired().await?;
    if !reclaimed.is_empty() {
        tracing::info!(
            partitions = reclaimed.len(),
            elapsed_ms = started.elapsed().as_millis(),
            "expired partitions dropped"
        );
    }
    Ok(report)
}

/// `cloudsms.retention.sweep.duration` (with `error.type` on a failed
/// sweep) and `cloudsms.retention.sweep.failures`.
fn record_sweep(took: Duration, ok: bool) {
    use std::sync::OnceLock;

    use opentelemetry::KeyValue;
    use opentelemetry::metrics::{Counter, Histogram};
    static DURATION: OnceLock<Histogram<f64>> = OnceLock::new();
    static FAILURES: OnceLock<Counter<u64>> = OnceLock::new();
    let attributes: &[KeyValue] = if ok {
        &[]
    } else {
        &[KeyValue::new("error.type", "sweep_failed")]
    };
    DURATION
        .get_or_init(|| {
            telemetry::duration_histogram(
                &telemetry::meter(),
                "cloudsms.retention.sweep.duration",
                "Duration of a retention sweep (deleting what is past the retention)",
            )
        })
        .record(took.as_secs_f64(), attributes);
    if !ok {
        FAILURES
            .get_or_init(|| {
                telemetry::meter()
                    .u64_counter("cloudsms.retention.sweep.failures")
                    .with_unit("{sweep}")
                    .with_description("Retention sweeps that failed (retried at the next tick)")
                    .build()
            })
            .add(1, &[]);
    }
}

/// Sweeps at start-up and then every `interval` until `shutdown`. A failed
/// sweep is logged and retried at the next tick.
pub async fn run(
    store: LogStore,
    clock: Clock,
    retention_days: u32,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut ticker = tokio::time::interval(interval.max(Duration::from_secs(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            _ = ticker.tick() => {
                let started = std::time::Instant::now();
                let result = sweep_once(&store, &clock, retention_days).await;
                record_sweep(started.elapsed(), result.is_ok());
                if let Err(err) = result {
                    tracing::warn!(error = %err, "retention sweep failed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::{DateTime, TimeZone, Utc};
    use proto::events::v1::RequestLogged;

    use super::*;
    use crate::{Kind, LogRow};

    fn old_row(id: &str, at: DateTime<Utc>) -> LogRow {
        LogRow::from_request(
            RequestLogged {
                event_id: id.into(),
                ts: Some(proto::timestamp_from_unix_millis(at.timestamp_millis())),
                ..Default::default()
            },
            at,
        )
    }

    async fn wait_empty(store: &LogStore) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while store.count(Kind::Request).await.unwrap() > 0 {
            assert!(tokio::time::Instant::now() < deadline, "not swept");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sweeper_runs_at_start_up_and_on_its_schedule() {
        let (store, _dir) = crate::testutil::sqlite().await;
        let now = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let old = now - chrono::Duration::days(200);
        store.insert_batch(&[old_row("a", old)]).await.unwrap();
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(
            store.clone(),
            Clock::fixed(now),
            183,
            Duration::from_secs(1),
            stop.clone(),
        ));
        wait_empty(&store).await;
        store.insert_batch(&[old_row("b", old)]).await.unwrap();
        wait_empty(&store).await;
        stop.cancel();
        task.await.unwrap();
    }
}
