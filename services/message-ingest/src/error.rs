//! The one error type of message-ingest, and how each maps to HTTP.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};

/// Why a webhook was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The provider's route has no secret configured.
    #[error("provider {0} is not enabled")]
    ProviderDisabled(&'static str),
    /// Signature or timestamp missing, malformed, wrong or stale.
    #[error("{0}")]
    Unauthorized(String),
    /// The body is not what the provider sends.
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed, but cannot be delivered (unknown number...).
    #[error("{0}")]
    Unprocessable(String),
    /// The body is larger than `ingest.max_body_bytes`.
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    /// The request's content type is not what the provider sends.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// No such endpoint.
    #[error("no such endpoint")]
    NoRoute,
    /// A dependency is down; the provider should retry.
    #[error("{0}")]
    Unavailable(String),
}

impl IngestError {
    fn status(&self) -> StatusCode {
        match self {
            IngestError::ProviderDisabled(_) => StatusCode::NOT_FOUND,
            IngestError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            IngestError::BadRequest(_) => StatusCode::BAD_REQUEST,
            IngestError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            IngestError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::NoRoute => StatusCode::NOT_FOUND,
            IngestError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IngestError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "webhook not accepted");
        } else {
            tracing::info!(status = status.as_u16(), error = %self, "webhook rejected");
        }
        let mut response = (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}
