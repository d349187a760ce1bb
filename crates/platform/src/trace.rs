//! The server span and request-duration histogram of every HTTP request.

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
