#![doc = include_str!("../README.md")]

mod logs;
mod metrics;

use std::collections::HashMap;

pub use metrics::{
    COUNT_BUCKETS, DURATION_BUCKETS, Throttled, count_histogram, duration_histogram, meter,
};

use config::{LogFormat, Settings};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter does not parse.
    #[error("telemetry.log_filter: {0}")]
    Filter(String),
    /// The OTLP exporter could not be built (bad endpoint).
    #[error("telemetry.otlp_endpoint: {0}")]
    Exporter(String),
    /// The Prometheus endpoint could not be started.
    #[error("telemetry.prometheus_listen: {0}")]
    Prometheus(String),
}

/// Flushes and shuts the tracer and meter providers down when dropped.
#[must_use = "dropping the guard stops trace export"]
pub struct Guard {
    provider: SdkTracerProvider,
    meters: Option<SdkMeterProvider>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        // Bounded by the exporters' own timeouts; a dead collector only costs that.
        let _ = self.provider.shutdown();
        if let Some(meters) = &self.meters {
            let _ = meters.shutdown();
        }
    }
}

/// Set once an OTLP exporter is installed: see [`spans_exported`].
static EXPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Set once any metric exporter is installed: see [`metrics_exported`].
static METRICS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// `telemetry.trust_incoming_traceparent`: see [`trust_incoming_traceparent`].
static TRUST_INCOMING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// True when metric points go somewhere (OTLP or the Prometheus endpoint):
/// instruments that cost something per request may be skipped otherwise.
pub fn metrics_exported() -> bool {
    METRICS.load(std::sync::atomic::Ordering::Relaxed)
}

/// `telemetry.trust_incoming_traceparent`: whether the public HTTP servers
/// continue a caller's trace (else they link it).
pub fn trust_incoming_traceparent() -> bool {
    TRUST_INCOMING.load(std::sync::atomic::Ordering::Relaxed)
}

/// True when this process exports spans and metrics (an OTLP endpoint is
/// configured). Without an exporter, spans only carry the trace context, so
/// per-request span attributes and metric points can be skipped.
pub fn spans_exported() -> bool {
    EXPORTING.load(std::sync::atomic::Ordering::Relaxed)
}

/// `service.instance.id`: `telemetry.instance_id` (the chart sets the pod's
/// name), else the host name, so replicas can be told apart.
pub fn instance_id(settings: &Settings) -> String {
    let configured = settings.telemetry.instance_id.trim();
    if !configured.is_empty() {
        return configured.to_owned();
    }
    dns_lookup::get_hostname()
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// TLS for an `https://` OTLP endpoint: the system's roots, plus the CA of
/// `ca_file` when set; `None` for a plain `http://` endpoint.
fn otlp_tls(
    endpoint: &str,
    ca_file: &str,
) -> Result<Option<tonic::transport::ClientTlsConfig>, TelemetryError> {
    if !endpoint.starts_with("https://") {
        return Ok(None);
    }
    let mut tls = tonic::transport::ClientTlsConfig::new().with_native_roots();
    if !ca_file.is_empty() {
        let pem = std::fs::read(ca_file).map_err(|e| {
            TelemetryError::Exporter(format!("telemetry.otlp_ca_file: {ca_file}: {e}"))
        })?;
        tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
    }
    Ok(Some(tls))
}

/// Installs the global subscriber for `service` and returns the guard that
/// flushes spans at exit. Must run inside a tokio runtime when OTLP is on.
/// A second call (tests) keeps the first subscriber and still returns a guard.
pub fn init(settings: &Settings, service: &'static str) -> Result<Guard, TelemetryError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.is_empty() => EnvFilter::try_new(directives),
        _ => EnvFilter::try_new(&settings.telemetry.log_filter),
    }
    .map_err(|e| TelemetryError::Filter(e.to_string()))?;

    let resource = Resource::builder()
        .with_service_name(service)
        .with_attributes([
            KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            KeyValue::new("service.instance.id", instance_id(settings)),
            KeyValue::new("deployment.environment.name", settings.environment.clone()),
        ])
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource.clone());
    let mut meter_builder = SdkMeterProvider::builder().with_resource(resource);
    let mut metric_readers = 0;
    if let Some(endpoint) = settings.otlp_endpoint() {
        let tls = otlp_tls(&endpoint, &settings.telemetry.otlp_ca_file)?;
        let mut spans = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(&endpoint);
        let mut points = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(&endpoint);
        if let Some(tls) = tls {
            spans = spans.with_tls_config(tls.clone());
            points = points.with_tls_config(tls);
        }
        let exporter = spans
            .build()
            .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
        builder = builder.with_batch_exporter(exporter);
        let metric_exporter = points
            .build()
            .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
        meter_builder = meter_builder.with_periodic_exporter(metric_exporter);
        metric_readers += 1;
        EXPORTING.store(true, std::sync::atomic::Ordering::Relaxed);
    } else {
        // Nothing exports spans: record none (a recorded span costs its
        // attributes and timings on every request). Trace ids are still
        // made, propagated and written to logs and the request log; a
        // caller's sampled trace is still recorded.
        builder = builder.with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)));
    }
    if let Some(prometheus_listen) = settings.telemetry.prometheus_listen {
        let registry = prometheus::Registry::new();
        let exporter = opentelemetry_prometheus::exporter()
            .with_registry(registry.clone())
            .build()
            .map_err(|e| TelemetryError::Prometheus(e.to_string()))?;
        meter_builder = meter_builder.with_reader(exporter);
        metric_readers += 1;
        metrics::serve_prometheus(prometheus_listen, registry)?;
    }
    let mut meters = None;
    if metric_readers > 0 {
        let meter_provider = meter_builder.build();
        opentelemetry::global::set_meter_provider(meter_provider.clone());
        meters = Some(meter_provider);
        METRICS.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    TRUST_INCOMING.store(
        settings.telemetry.trust_incoming_traceparent,
        std::sync::atomic::Ordering::Relaxed,
    );
    let provider = builder.build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    // The exporter's own transport must not trace itself into a loop.
    // Per-request cost matters (every page view is a span): no busy/idle
    // timings (two clock reads per poll of every instrumented future), no
    // thread attributes, and no OpenTelemetry context attached on every
    // span entry (cloudsms reads trace context from the tracing span,
    // `OpenTelemetrySpanExt::context`, never from `Context::current()`).
    let otel = tracing_opentelemetry::layer()
        .with_tracked_inactivity(false)
        .with_threads(false)
        .with_context_activation(false)
        .with_tracer(provider.tracer(service))
        .with_filter(filter_fn(|meta| {
            let target = meta.target();
            !["h2", "hyper", "tonic", "tower", "opentelemetry", "sqlx"]
                .iter()
                .any(|noisy| target.starts_with(noisy))
        }));
    let fmt = match settings.telemetry.log_format {
        LogFormat::Human => tracing_subscriber::fmt::layer().boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .event_format(logs::WithTraceIds(tracing_subscriber::fmt::format().json()))
            .boxed(),
    };
    let _ = Registry::default()
        .with(otel)
        .with(fmt.with_filter(filter))
        .try_init();
    Ok(Guard { provider, meters })
}

/// Installs a quiet subscriber for tests: output only when `TEST_LOG` is set.
pub fn init_for_tests() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    if std::env::var_os("TEST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new(
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            ))
            .with_test_writer()
            .try_init();
    }
}

struct MapInjector<'a>(&'a mut HashMap<String, String>);

impl Injector for MapInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // An empty `tracestate` (a trace without vendor state, all of ours)
        // means the same as none: it is not carried.
        if !value.is_empty() {
            self.0.insert(key.to_owned(), value);
        }
    }
}

struct MapExtractor<'a>(&'a HashMap<String, String>);

impl Extractor for MapExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// The current span's W3C trace context (`traceparent`, `tracestate`).
pub fn inject_current() -> HashMap<String, String> {
    let mut map = HashMap::new();
    let cx = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&cx, &mut MapInjector(&mut map));
    map
}

/// The current span's trace id (32 hex digits), when it has one.
pub fn current_trace_id() -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    let cx = tracing::Span::current().context();
    let span_context = cx.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// Parses a trace context from carried headers.
pub fn extract(headers: &HashMap<String, String>) -> Context {
    TraceContextPropagator::new().extract(&MapExtractor(headers))
}

/// The current span's OpenTelemetry context: work done later elsewhere (a
/// batch published by another task) can be made its child with [`set_parent`].
pub fn current_context() -> Context {
    tracing::Span::current().context()
}

/// Makes `span` a child of `cx`.
pub fn set_parent(span: &tracing::Span, cx: Context) {
    let _ = span.set_parent(cx);
}

/// Makes `span` a child of the trace carried in `headers` (no-op when absent).
pub fn set_parent_from(span: &tracing::Span, headers: &HashMap<String, String>) {
    let _ = span.set_parent(extract(headers));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use opentelemetry::trace::TraceContextExt;

    use super::*;

    /// An event carries what its consumer needs to continue the trace and
    /// no more: a `traceparent`, and a `tracestate` only when the trace has
    /// one (an empty header is one more to write and read on every event).
    #[test]
    fn a_carried_context_has_no_empty_header() {
        let tracer = SdkTracerProvider::builder().build().tracer("test");
        let subscriber =
            Registry::default().with(tracing_opentelemetry::layer().with_tracer(tracer));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("publisher");
            let _entered = span.enter();
            let carried = inject_current();
            assert!(carried.contains_key("traceparent"), "{carried:?}");
            assert!(carried.values().all(|v| !v.is_empty()), "{carried:?}");
            let continued = extract(&carried);
            assert_eq!(
                Some(continued.span().span_context().trace_id().to_string()),
                current_trace_id()
            );
        });
    }
}
