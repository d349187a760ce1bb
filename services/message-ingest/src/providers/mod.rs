//! One module per provider: how its webhook is verified and parsed. Each
//! module's `handle` verifies the request exactly as received, turns it into
//! an [`InboundSms`](crate::accept::InboundSms), calls
//! [`accept`](crate::accept::accept) and answers as the provider expects.

pub mod generic;
pub mod httpsms;
pub mod jasmin;
pub mod json;
pub mod plivo;
pub mod sms_gateway;
pub mod telnyx;
pub mod twilio;
pub mod vonage;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::{any, post};

use crate::accept::AppState;
use crate::error::IngestError;

/// Every provider route, under `/webhooks/<provider>`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/generic", post(generic::handle))
        .route("/webhooks/twilio", post(twilio::handle))
        .route("/webhooks/vonage", any(vonage::handle))
        .route("/webhooks/telnyx", post(telnyx::handle))
        .route("/webhooks/plivo", post(plivo::handle))
        .route("/webhooks/sms-gateway", post(sms_gateway::handle))
        .route("/webhooks/httpsms", post(httpsms::handle))
        .route("/webhooks/jasmin", any(jasmin::handle))
        .fallback(|| async { IngestError::NoRoute })
}

/// The raw body, or a JSON 413 naming the limit (axum's own rejection is plain text).
pub fn body_or_413(
    body: Result<Bytes, BytesRejection>,
    limit: usize,
) -> Result<Bytes, IngestError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            IngestError::TooLarge(limit)
        } else {
            IngestError::BadRequest(format!("unreadable body: {rejection}"))
        }
    })
}

/// The absolute URL the provider called: `ingest.public_url` + path and query
/// when configured (behind a proxy the local URL differs), else rebuilt from
/// `X-Forwarded-Proto` / `Host`.
pub fn public_url(state: &AppState, headers: &HeaderMap, uri: &Uri) -> String {
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let base = state.settings.ingest.public_url.trim_end_matches('/');
    if !base.is_empty() {
        return format!("{base}{path_and_query}");
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let scheme = header("x-forwarded-proto").unwrap_or("http");
    let host = header("x-forwarded-host")
        .or_else(|| header("host"))
        .unwrap_or("localhost");
    format!("{scheme}://{host}{path_and_query}")
}

/// The 200 JSON answer of providers that take any body on success:
/// `accepted` (our event id, and whether it was a retry) or `ignored` (an
/// event that carries no SMS); errors as their JSON error.
pub fn json_outcome(
    outcome: Result<Option<crate::accept::Accepted>, IngestError>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = match outcome {
        Ok(Some(accepted)) => serde_json::json!({
            "status": "accepted",
            "event_id": accepted.event_id,
            "duplicate": accepted.duplicate,
        }),
        Ok(None) => serde_json::json!({ "status": "ignored" }),
        Err(err) => return err.into_response(),
    };
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// Requires `content-type` to start with one of `accepted` (415 otherwise).
pub fn require_content_type(headers: &HeaderMap, accepted: &[&str]) -> Result<(), IngestError> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if accepted.iter().any(|a| content_type.starts_with(a)) {
        Ok(())
    } else {
        Err(IngestError::UnsupportedMediaType(format!(
            "content type `{}` is not accepted; send {}",
            domain::log_safe(&content_type),
            accepted.join(" or ")
        )))
    }
}

/// Form parameters in the order received (duplicates kept).
pub fn form_pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw).into_owned().collect()
}

/// The first value of `name` in `pairs`, or a 400 naming the field.
pub fn required<'a>(pairs: &'a [(String, String)], name: &str) -> Result<&'a str, IngestError> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| IngestError::BadRequest(format!("missing field `{name}`")))
}

/// The first value of `name` in `pairs`, if any.
pub fn optional<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
