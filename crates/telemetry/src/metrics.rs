//! Metrics: one way to make a duration histogram (bucket bounds of the
//! OpenTelemetry semantic conventions, so p50/p99 mean something), the
//! optional Prometheus scrape endpoint (`telemetry.prometheus_listen`), and
//! a limiter for warnings that would otherwise repeat once per event.

use parking_lot::Mutex;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::metrics::{Histogram, Meter};

use crate::TelemetryError;

/// Bucket bounds of every duration histogram, in seconds: the semantic
/// conventions' advice for HTTP and RPC durations (5 ms to 10 s).
pub const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Bucket bounds of histograms of counts (batch sizes).
pub const COUNT_BUCKETS: [f64; 11] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 5000.0,
];

/// A histogram of durations in seconds, with [`DURATION_BUCKETS`].
pub fn duration_histogram(
    meter: &Meter,
    name: &'static str,
    description: &'static str,
) -> Histogram<f64> {
    meter
        .f64_histogram(name)
        .with_unit("s")
        .with_description(description)
        .with_boundaries(DURATION_BUCKETS.to_vec())
        .build()
}

/// A histogram of counts (e.g. messages per batch), with [`COUNT_BUCKETS`].
pub fn count_histogram(
    meter: &Meter,
    name: &'static str,
    description: &'static str,
) -> Histogram<u64> {
    meter
        .u64_histogram(name)
        .with_unit("{message}")
        .with_description(description)
        .with_boundaries(COUNT_BUCKETS.to_vec())
        .build()
}

/// The meter every cloudsms instrument is made from.
pub fn meter() -> Meter {
    opentelemetry::global::meter("cloudsms")
}

/// Serves `registry` as Prometheus text on `GET /metrics` at `addr`, on
/// the current tokio runtime.
pub(crate) fn serve_prometheus(
    addr: SocketAddr,
    registry: prometheus::Registry,
) -> Result<SocketAddr, TelemetryError> {
    let bind = |e: std::io::Error| TelemetryError::Prometheus(format!("{addr}: {e}"));
    let listener = std::net::TcpListener::bind(addr).map_err(bind)?;
    listener.set_nonblocking(true).map_err(bind)?;
    let bound = listener.local_addr().map_err(bind)?;
    let listener = tokio::net::TcpListener::from_std(listener).map_err(bind)?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let registry = registry.clone();
            async move {
                use axum::response::IntoResponse as _;
                use prometheus::Encoder as _;
                let mut body = Vec::new();
                let encoder = prometheus::TextEncoder::new();
                if let Err(err) = encoder.encode(&registry.gather(), &mut body) {
                    tracing::warn!(error = %err, "metrics not encoded");
                }
                let content_type = encoder.format_type().to_owned();
                ([(axum::http::header::CONTENT_TYPE, content_type)], body).into_response()
            }
        }),
    );
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::warn!(error = %err, "prometheus endpoint stopped");
        }
    });
    tracing::info!(addr = %bound, "prometheus metrics at /metrics");
    Ok(bound)
}

/// Lets a warning through at most once per period, counting the ones held
/// back: under load a per-event warning would flood the log.
#[derive(Debug)]
pub struct Throttled {
    period: Duration,
    last: Mutex<Option<Instant>>,
    held: AtomicU64,
}

impl Throttled {
    /// At most one warning per `period`.
    pub const fn new(period: Duration) -> Self {
        Self {
            period,
            last: Mutex::new(None),
            held: AtomicU64::new(0),
        }
    }

    /// `Some(held back since the last one)` when a warning may be logged
    /// now, `None` when it is held back.
    pub fn allow(&self) -> Option<u64> {
        let mut last = self.last.lock();
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < self.period) {
            self.held.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *last = Some(now);
        Some(self.held.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttled_warning_passes_once_per_period_and_counts_the_rest() {
        let throttled = Throttled::new(Duration::from_millis(50));
        assert_eq!(throttled.allow(), Some(0));
        assert_eq!(throttled.allow(), None);
        assert_eq!(throttled.allow(), None);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(throttled.allow(), Some(2));
    }

    #[test]
    fn duration_buckets_are_the_semantic_conventions() {
        assert_eq!(DURATION_BUCKETS.first(), Some(&0.005));
        assert_eq!(DURATION_BUCKETS.last(), Some(&10.0));
        assert!(DURATION_BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }
}
