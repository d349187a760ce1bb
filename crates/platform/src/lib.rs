#![doc = include_str!("../README.md")]

pub mod grpc;
mod lifecycle;
pub mod security;

pub use lifecycle::{Lifecycle, start};
pub use security::constant_time_eq;

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
    /// Cancelled once the process drains (see [`Lifecycle`]): readiness
    /// answers 503 from then on.
    pub draining: CancellationToken,
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
            draining: CancellationToken::new(),
        })
    }
}

pub use config::redact_url;

/// Binds `addr` with a message that names it.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
}

/// Runs `task` on the runtime's worker threads and waits for it (a panic in
/// it becomes an error). A service's `run` is awaited by `#[tokio::main]`'s
/// `block_on`, on the main thread, which is not one of the workers: a busy
/// loop there, such as a bus consumer, wakes a worker thread for each message
/// it hands the NATS connection task (one write per ack), where on a worker
/// the connection task is queued locally and takes them all in one write.
pub async fn spawn<F>(task: F) -> anyhow::Result<()>
where
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    match tokio::spawn(task).await {
        Ok(result) => result,
        Err(err) => Err(anyhow::anyhow!("task failed: {err}")),
    }
}

/// Serves `router` until `shutdown`, then lets open requests finish for at
/// most `grace`, within `limits`: at most `max_connections` open (past it
/// new ones wait in the backlog) and `max_connections_per_address` per
/// client address (past it closed at once), and `max_concurrent_streams`
/// HTTP/2 requests at once per connection; request heads must arrive within
/// `header_read_timeout_secs` and fit `max_header_bytes` (`431`); a request
/// must be answered within `request_timeout_secs` of its head, body upload
/// included (`408`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &config::HttpSettings,
    shutdown: CancellationToken,
    grace: Duration,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioTimer};

    let addr = listener.local_addr()?;
    tracing::info!(%addr, "http listening");
    let router = router.layer(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        Duration::from_secs(limits.request_timeout_secs),
    ));
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_read_timeout_secs))
        .max_buf_size(limits.max_header_bytes);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(limits.max_concurrent_streams)
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let per_address = Arc::new(PerAddress::new(limits.max_connections_per_address));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(%addr, error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let Some(address_slot) = per_address.enter(peer.ip()) else {
            tracing::debug!(%addr, "connection refused: too many from one address");
            continue;
        };
        let _ = stream.set_nodelay(true);
        spawn_connection(
            &builder,
            &graceful,
            stream,
            router.clone(),
            Some(peer),
            move || {
                drop(address_slot);
                drop(permit);
            },
        );
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(grace) => {
            tracing::warn!(%addr, ?grace, "grace period over; closing open connections");
        }
    }
    Ok(())
}

/// Serves one accepted connection with `router` on its own task, watched by
/// `graceful` (a graceful shutdown waits for it); its requests carry `peer`
/// as `ConnectInfo` when known. `closed` runs when the connection ends.
pub(crate) fn spawn_connection(
    builder: &hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    graceful: &hyper_util::server::graceful::GracefulShutdown,
    stream: tokio::net::TcpStream,
    router: Router,
    peer: Option<SocketAddr>,
    closed: impl FnOnce() + Send + 'static,
) {
    use tower::ServiceExt as _;
    let service = hyper::service::service_fn(
        move |mut request: axum::http::Request<hyper::body::Incoming>| {
            if let Some(peer) = peer {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
            }
            router.clone().oneshot(request.map(axum::body::Body::new))
        },
    );
    let connection = builder
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .into_owned();
    let connection = graceful.watch(connection);
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!(error = %err, "connection closed with an error");
        }
        closed();
    });
}

/// Open connections per client address.
struct PerAddress {
    limit: usize,
    open: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
}

/// One open connection of an address; counted until dropped.
struct AddressSlot {
    owner: Arc<PerAddress>,
    ip: std::net::IpAddr,
}

impl PerAddress {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            open: std::sync::Mutex::default(),
        }
    }

    fn counts(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<std::net::IpAddr, usize>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A slot for one more connection from `ip`, unless it has `limit` open.
    fn enter(self: &Arc<Self>, ip: std::net::IpAddr) -> Option<AddressSlot> {
        if self.limit > 0 {
            let mut counts = self.counts();
            let open = counts.entry(ip).or_insert(0);
            if *open >= self.limit {
                return None;
            }
            *open += 1;
        }
        Some(AddressSlot {
            owner: self.clone(),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if self.owner.limit == 0 {
            return;
        }
        let mut counts = self.owner.counts();
        if let Some(open) = counts.get_mut(&self.ip) {
            *open -= 1;
            if *open == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Middleware: one server span per request, named after the route
/// (`GET /numbers/{e164}`), with HTTP semantic-convention attributes, an
/// error status on 5xx, and the `http.server.request.duration` histogram,
/// when spans or metrics are exported. A caller's W3C `traceparent` is
/// continued when `telemetry.trust_incoming_traceparent` is on, else linked
/// (a browser or provider must not choose our trace ids). No query string,
/// address or header values are recorded: they may carry personal data.
pub async fn trace_requests(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    if !telemetry::spans_exported() && !telemetry::metrics_exported() {
        // Nothing exports spans or metrics: the span only carries the
        // trace context (ids for the logs, a caller's `traceparent`), so
        // none of the attributes, names or metric points are built.
        let span = tracing::info_span!("http request", otel.kind = "server");
        continue_caller(&span, request.headers());
        return next.run(request).instrument(span).await;
    }
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let method = request.method().as_str().to_owned();
    let scheme = request.uri().scheme_str().unwrap_or("http").to_owned();
    let span = tracing::info_span!(
        "http request",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        url.scheme = %scheme,
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    );
    continue_caller(&span, request.headers());
    let started = std::time::Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    let mut attributes = vec![
        opentelemetry::KeyValue::new("http.request.method", method),
        opentelemetry::KeyValue::new("http.route", route),
        opentelemetry::KeyValue::new("http.response.status_code", i64::from(status)),
        opentelemetry::KeyValue::new("url.scheme", scheme),
    ];
    if response.status().is_server_error() {
        span.record("error.type", status);
        span.set_status(opentelemetry::trace::Status::error(format!(
            "HTTP {status}"
        )));
        attributes.push(opentelemetry::KeyValue::new(
            "error.type",
            status.to_string(),
        ));
    }
    request_durations().record(started.elapsed().as_secs_f64(), &attributes);
    response
}

/// Makes `span` continue the caller's trace (trusted callers) or link to
/// it, when the request carries one (a `traceparent`).
fn continue_caller(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    if !headers.contains_key("traceparent") {
        return;
    }
    let carried = carried_context(headers);
    if telemetry::trust_incoming_traceparent() {
        telemetry::set_parent_from(span, &carried);
    } else {
        let caller = telemetry::extract(&carried);
        let linked = caller.span().span_context().clone();
        if linked.is_valid() {
            span.add_link(linked);
        }
    }
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
        telemetry::duration_histogram(
            &telemetry::meter(),
            "http.server.request.duration",
            "Duration of HTTP server requests",
        )
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
    /// The process's draining signal: once cancelled, not ready.
    pub draining: Option<CancellationToken>,
}

impl Readiness {
    /// Checks every dependency of `infra`.
    pub fn all(infra: &Infra) -> Self {
        Self {
            store: Some(infra.store.clone()),
            cache: Some(infra.cache.clone()),
            bus: Some(infra.bus.clone()),
            draining: Some(infra.draining.clone()),
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
    if readiness
        .draining
        .as_ref()
        .is_some_and(CancellationToken::is_cancelled)
    {
        // Load balancers stop sending; the service still serves meanwhile.
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "draining" })),
        );
    }
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
