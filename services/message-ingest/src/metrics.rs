//! Webhook outcomes counted by provider and reason, through the OpenTelemetry
//! meter (exported over OTLP when `telemetry.otlp_endpoint` is set).

use std::sync::OnceLock;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;

fn webhooks() -> &'static Counter<u64> {
    static COUNTER: OnceLock<Counter<u64>> = OnceLock::new();
    COUNTER.get_or_init(|| {
        opentelemetry::global::meter("message-ingest")
            .u64_counter("cloudsms.ingest.webhooks")
            .with_description("Provider webhook requests by provider and outcome")
            .build()
    })
}

/// `cloudsms.persister.stored`: messages stored, by receiving number (the
/// operator's own, public numbers: a bounded set), so an alert can notice
/// a number that usually receives and has gone quiet.
pub fn stored(number: &str) {
    static COUNTER: OnceLock<Counter<u64>> = OnceLock::new();
    COUNTER
        .get_or_init(|| {
            telemetry::meter()
                .u64_counter("cloudsms.persister.stored")
                .with_unit("{message}")
                .with_description("Messages stored, by receiving number")
                .build()
        })
        .add(1, &[KeyValue::new("cloudsms.number", number.to_owned())]);
}

/// `cloudsms.persister.batch_size`: messages per batch the persister stores.
pub fn persister_batch(size: usize) {
    static HISTOGRAM: OnceLock<opentelemetry::metrics::Histogram<u64>> = OnceLock::new();
    HISTOGRAM
        .get_or_init(|| {
            telemetry::count_histogram(
                &telemetry::meter(),
                "cloudsms.persister.batch_size",
                "Messages per batch the persister stores together",
            )
        })
        .record(u64::try_from(size).unwrap_or(u64::MAX), &[]);
}

/// The reason a status stands for, as a low-cardinality label.
pub fn outcome(status: StatusCode) -> &'static str {
    match status.as_u16() {
        200..=299 => "accepted",
        400 => "bad_request",
        401 | 403 => "unauthorized",
        404 => "disabled",
        413 => "too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        503 => "unavailable",
        500..=599 => "error",
        _ => "rejected",
    }
}

/// Known provider from `/webhooks/<provider>`, `other` for anything else
/// (keeps the label set bounded whatever paths clients try).
fn provider(path: &str) -> &'static str {
    let name = path.strip_prefix("/webhooks/").unwrap_or_default();
    crate::providers::NAMES
        .iter()
        .find(|known| **known == name)
        .copied()
        .unwrap_or("other")
}

/// Middleware: counts every webhook response.
pub async fn count(request: Request, next: Next) -> Response {
    let provider = provider(request.uri().path());
    let response = next.run(request).await;
    let status = response.status();
    webhooks().add(
        1,
        &[
            KeyValue::new("provider", provider),
            KeyValue::new("outcome", outcome(status)),
            KeyValue::new("http.response.status_code", i64::from(status.as_u16())),
        ],
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_bounded() {
        assert_eq!(provider("/webhooks/twilio"), "twilio");
        assert_eq!(provider("/webhooks/../../etc"), "other");
        assert_eq!(outcome(StatusCode::UNAUTHORIZED), "unauthorized");
        assert_eq!(outcome(StatusCode::ACCEPTED), "accepted");
    }
}
