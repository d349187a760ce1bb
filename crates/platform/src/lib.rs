#![doc = include_str!("../README.md")]

pub mod grpc;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use bus::Bus;
use cache::HotCache;
use config::Settings;
use store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Compares secrets without an early exit, so timing does not tell how much matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The network a client address is counted under: IPv4 /24, IPv6 /64
/// (an IPv4-mapped IPv6 address counts as its IPv4 /24).
pub fn network_prefix(ip: std::net::IpAddr) -> String {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => network_prefix(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Connections shared by the services of one process.
#[derive(Clone)]
pub struct Infra {
    /// Validated settings.
    pub settings: Arc<Settings>,
    /// Event bus (JetStream or in-process).
    pub bus: Bus,
    /// Hot lists (Redis or in-process).
    pub cache: Arc<dyn HotCache>,
    /// Database.
    pub store: Store,
}

impl Infra {
    /// Connects everything the settings name; embedded defaults for empty URLs.
    /// Migrations run here, so a fresh database is usable at once.
    pub async fn connect(settings: Settings) -> anyhow::Result<Self> {
        let url = settings.database_url();
        let store = Store::connect(&url, settings.database.max_connections)
            .await
            .map_err(|e| anyhow::anyhow!("database {}: {e}", redact_url(&url)))?;
        store.migrate().await?;
        let bus = Bus::connect(&settings).await?;
        let cache = cache::connect(&settings).await?;
        Ok(Self {
            settings: Arc::new(settings),
            bus,
            cache,
            store,
        })
    }
}

/// `scheme://user:***@host/...`: keeps passwords out of logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((auth, host)) => {
            let user = auth.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

/// A token cancelled on the first SIGTERM or SIGINT.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = ctrl_c => {},
                        _ = term.recv() => {},
                    }
                }
                Err(_) => {
                    let _ = ctrl_c.await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
        tracing::info!("shutdown signal received; draining");
        trigger.cancel();
    });
    token
}

/// Binds `addr` with a message that names it.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
}

/// Serves `router` until `shutdown`, then lets open requests finish for at
/// most `grace`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    grace: Duration,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "http listening");
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.clone().cancelled_owned());
    tokio::select! {
        result = server => result,
        () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(%addr, ?grace, "grace period over; closing open connections");
            Ok(())
        }
    }
}

/// Middleware: one server span per request, named after the route
/// (`GET /numbers/{e164}`), continuing the caller's W3C `traceparent`, with
/// HTTP semantic-convention attributes. No query string, address or header
/// values are recorded: they may carry personal data.
pub async fn trace_requests(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument;
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let method = request.method().as_str().to_owned();
    let span = tracing::info_span!(
        "http request",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
    );
    let carried = carried_context(request.headers());
    telemetry::set_parent_from(&span, &carried);
    let started = std::time::Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    request_durations().record(
        started.elapsed().as_secs_f64(),
        &[
            opentelemetry::KeyValue::new("http.request.method", method),
            opentelemetry::KeyValue::new("http.route", route),
            opentelemetry::KeyValue::new("http.response.status_code", i64::from(status)),
        ],
    );
    response
}

/// The W3C trace context headers (`traceparent`, `tracestate`) of a request.
pub fn carried_context(
    headers: &axum::http::HeaderMap,
) -> std::collections::HashMap<String, String> {
    ["traceparent", "tracestate"]
        .iter()
        .filter_map(|name| {
            headers
                .get(*name)
                .and_then(|v| v.to_str().ok())
                .map(|v| ((*name).to_owned(), v.to_owned()))
        })
        .collect()
}

/// `http.server.request.duration` (semantic conventions), in seconds: request
/// rates and latencies per route and status.
fn request_durations() -> &'static opentelemetry::metrics::Histogram<f64> {
    static HISTOGRAM: std::sync::OnceLock<opentelemetry::metrics::Histogram<f64>> =
        std::sync::OnceLock::new();
    HISTOGRAM.get_or_init(|| {
        opentelemetry::global::meter("cloudsms")
            .f64_histogram("http.server.request.duration")
            .with_unit("s")
            .with_description("Duration of HTTP server requests")
            .build()
    })
}

/// What `/readyz` checks.
#[derive(Clone, Default)]
pub struct Readiness {
    /// Database, when the service uses it.
    pub store: Option<Store>,
    /// Cache, when the service uses it.
    pub cache: Option<Arc<dyn HotCache>>,
    /// Bus, when the service uses it.
    pub bus: Option<Bus>,
}

impl Readiness {
    /// Checks every dependency of `infra`.
    pub fn all(infra: &Infra) -> Self {
        Self {
            store: Some(infra.store.clone()),
            cache: Some(infra.cache.clone()),
            bus: Some(infra.bus.clone()),
        }
    }
}

/// `/healthz` and `/readyz`, to merge into a service's router.
pub fn health_routes(readiness: Readiness) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .with_state(Arc::new(readiness))
}

async fn readyz(State(readiness): State<Arc<Readiness>>) -> impl IntoResponse {
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    if let Some(store) = &readiness.store {
        let ok = store.ping().await;
        ready &= ok;
        checks.insert("database".into(), ok.into());
    }
    if let Some(cache) = &readiness.cache {
        let ok = cache.ping().await;
        ready &= ok;
        checks.insert("cache".into(), ok.into());
    }
    if let Some(bus) = &readiness.bus {
        let ok = bus.is_connected();
        ready &= ok;
        checks.insert("bus".into(), ok.into());
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not ready" },
        "checks": checks,
    });
    (status, Json(body))
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:hunter2@db:5432/cloudsms"),
            "postgres://app:***@db:5432/cloudsms"
        );
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
