//! Traces and metrics across gRPC: a server layer that continues the
//! caller's W3C trace context from the request metadata, and a client
//! helper that opens a client span and sends the context along.

use std::future::Future;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::http;
use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;
use tracing::Instrument;

/// Records how long a call to `service`/`method` took since `started`, in
/// `rpc.server.call.duration` (`kind` "server") or `rpc.client.call.duration`
/// (seconds).
fn record_duration(
    kind: &'static str,
    started: Instant,
    service: impl Into<opentelemetry::Value>,
    method: impl Into<opentelemetry::Value>,
) {
    static SERVER: OnceLock<Histogram<f64>> = OnceLock::new();
    static CLIENT: OnceLock<Histogram<f64>> = OnceLock::new();
    let cell = if kind == "server" { &SERVER } else { &CLIENT };
    cell.get_or_init(|| {
        let name = if kind == "server" {
            "rpc.server.call.duration"
        } else {
            "rpc.client.call.duration"
        };
        telemetry::duration_histogram(&telemetry::meter(), name, "Duration of gRPC calls")
    })
    .record(
        started.elapsed().as_secs_f64(),
        &[
            KeyValue::new("rpc.system", "grpc"),
            KeyValue::new("rpc.service", service),
            KeyValue::new("rpc.method", method),
        ],
    );
}

/// `(service, method)` of a gRPC path `/pkg.Service/Method`.
fn rpc_names(path: &str) -> (String, String) {
    let path = path.trim_start_matches('/');
    match path.split_once('/') {
        Some((service, method)) => (service.to_owned(), method.to_owned()),
        None => (path.to_owned(), String::new()),
    }
}

/// Tower layer for tonic servers: one server span per call, named
/// `pkg.Service/Method`, child of the `traceparent` the caller sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcTraceLayer;

impl<S> tower::Layer<S> for GrpcTraceLayer {
    type Service = GrpcTrace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcTrace { inner }
    }
}

/// The service [`GrpcTraceLayer`] wraps.
#[derive(Debug, Clone)]
pub struct GrpcTrace<S> {
    inner: S,
}

/// Server-side gRPC codes that are the server's fault (the semantic
/// conventions mark only these as errors on a server span).
fn server_fault(code: i32) -> bool {
    use tonic::Code;
    [
        Code::Unknown,
        Code::DeadlineExceeded,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
    ]
    .iter()
    .any(|c| *c as i32 == code)
}

/// Marks `span` failed with `code` (`error.type` is the code's number).
fn fail(span: &tracing::Span, code: i32) {
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    span.record("error.type", code);
    span.set_status(opentelemetry::trace::Status::error(format!(
        "gRPC status {code}"
    )));
}

impl<S, B, R: 'static> tower::Service<http::Request<B>> for GrpcTrace<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Response: 'static,
    S::Error: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let (service, method) = rpc_names(request.uri().path());
        let span = tracing::info_span!(
            "grpc request",
            otel.name = %format!("{service}/{method}"),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
            error.type = tracing::field::Empty,
        );
        // Internal callers (the services themselves): their trace goes on.
        let carried = crate::carried_context(request.headers());
        telemetry::set_parent_from(&span, &carried);
        let started = Instant::now();
        let future = self.inner.call(request).instrument(span.clone());
        Box::pin(async move {
            let result = future.await;
            // A call that fails at once says so in the headers ("trailers
            // only"); one that streams first, in trailers we do not see.
            if let Ok(response) = &result {
                let code = response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .unwrap_or(0);
                span.record("rpc.grpc.status_code", code);
                if server_fault(code) {
                    fail(&span, code);
                }
            }
            record_duration("server", started, service, method);
            result
        })
    }
}

/// Calls `call` with `message` inside a client span for `service`/`method`,
/// the span's trace context in the request metadata.
pub async fn call<T, R, F, Fut>(
    service: &'static str,
    method: &'static str,
    message: T,
    call: F,
) -> Result<R, tonic::Status>
where
    F: FnOnce(tonic::Request<T>) -> Fut,
    Fut: Future<Output = Result<R, tonic::Status>>,
{
    let span = tracing::info_span!(
        "grpc call",
        otel.name = %format!("{service}/{method}"),
        otel.kind = "client",
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
        rpc.grpc.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    );
    let started = Instant::now();
    let result = async {
        let mut request = tonic::Request::new(message);
        for (key, value) in telemetry::inject_current() {
            if let (Ok(key), Ok(value)) = (
                tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
                value.parse(),
            ) {
                request.metadata_mut().insert(key, value);
            }
        }
        call(request).await
    }
    .instrument(span.clone())
    .await;
    let code = match &result {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    };
    span.record("rpc.grpc.status_code", code as i32);
    if code != tonic::Code::Ok {
        fail(&span, code as i32);
    }
    record_duration("client", started, service, method);
    result
}

/// Serves the gRPC services of `routes` on `listener`, traced with
/// [`GrpcTraceLayer`], until `shutdown`.
pub async fn serve(
    routes: tonic::service::Routes,
    listener: tokio::net::TcpListener,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "grpc listening");
    tonic::transport::Server::builder()
        .layer(GrpcTraceLayer)
        .add_routes(routes)
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            shutdown.cancelled_owned(),
        )
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_service_and_method() {
        assert_eq!(
            rpc_names("/cloudsms.captcha.v1.CaptchaService/Redeem"),
            ("cloudsms.captcha.v1.CaptchaService".into(), "Redeem".into())
        );
        assert_eq!(rpc_names("/odd"), ("odd".into(), String::new()));
    }
}
