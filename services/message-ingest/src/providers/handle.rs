//! The one webhook handler: the steps every provider's route shares, in one
//! order, around the provider's own `verify`, `parse` and `answer`.

use std::net::SocketAddr;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use chrono::Utc;

use super::provider::{Deliver, Parsed, Provider, Webhook};
use crate::accept::{Accepted, AppState};
use crate::error::IngestError;

/// `/webhooks/<P::NAME>`: checks the request, verifies and parses it as `P`
/// says, accepts the SMS and answers as `P` expects. It runs in the server
/// span of `platform::trace_requests` (named after the route, which names
/// the provider): a span of its own would repeat it on every webhook; a
/// refusal is logged with the provider's name.
pub async fn handle<P: Provider>(
    State(state): State<AppState>,
    connect_info: Option<Extension<ConnectInfo<SocketAddr>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let client = connect_info.map(|Extension(ConnectInfo(addr))| addr.ip());
    let outcome = receive::<P>(&state, client, method, uri, headers, body).await;
    if let Err(err) = &outcome {
        err.log(Some(P::NAME));
    }
    P::answer(&state.settings.ingest, outcome)
}

async fn receive<P: Provider>(
    state: &AppState,
    client: Option<std::net::IpAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Option<Accepted>, IngestError> {
    let settings = &state.settings.ingest;
    let body = match body_or_413(body, settings.max_body_bytes) {
        Err(err) if P::BODY_CHECKED_FIRST => return Err(err),
        body => body,
    };
    if !P::enabled(settings) {
        return Err(IngestError::ProviderDisabled(P::NAME));
    }
    P::admit(settings, client)?;
    if P::TAKES_GET && method != Method::GET && method != Method::POST {
        return Err(IngestError::MethodNotAllowed);
    }
    let body = body?;
    let content_type = if method == Method::GET {
        None
    } else if P::CONTENT_TYPE_OPTIONAL && !headers.contains_key(header::CONTENT_TYPE) {
        P::CONTENT_TYPES.first().copied()
    } else {
        Some(content_type(&headers, P::CONTENT_TYPES)?)
    };
    let webhook = Webhook {
        url: super::public_url(settings, &headers, &uri),
        method,
        uri,
        headers,
        content_type,
        body,
        now: Utc::now(),
    };
    let verified = P::verify(settings, &webhook)?;
    match P::parse(&webhook, verified)? {
        Parsed::Sms(message) => message.deliver(state).await,
        Parsed::Ignored(what) => {
            tracing::debug!(event = %domain::log_safe(&what), "webhook without an inbound SMS ignored");
            Ok(None)
        }
    }
}

/// The raw body, or a JSON 413 naming the limit (axum's own rejection is plain text).
fn body_or_413(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, IngestError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            IngestError::TooLarge(limit)
        } else {
            IngestError::BadRequest(format!("unreadable body: {rejection}"))
        }
    })
}

/// Which of `accepted` the request's `content-type` starts with (case
/// aside), or a 415 naming them.
fn content_type(
    headers: &HeaderMap,
    accepted: &'static [&'static str],
) -> Result<&'static str, IngestError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    accepted
        .iter()
        .find(|a| content_type.starts_with(*a))
        .copied()
        .ok_or_else(|| {
            IngestError::UnsupportedMediaType(format!(
                "content type `{}` is not accepted; send {}",
                domain::log_safe(&content_type),
                accepted.join(" or ")
            ))
        })
}

#[cfg(test)]
mod tests;
