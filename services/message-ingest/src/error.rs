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
    /// The caller may not use this route at all (its address is not allowed).
    #[error("{0}")]
    Forbidden(String),
    /// A route that takes `GET` and `POST` was called with another method.
    #[error("use GET or POST")]
    MethodNotAllowed,
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
    /// A 400 for a body that is not the JSON expected. The parser's message
    /// may quote the input (an unknown member's name, a string of the wrong
    /// type), so it goes through [`domain::log_safe`]; its position follows.
    pub fn invalid_json(err: &serde_json::Error) -> Self {
        let text = err.to_string();
        let position = format!(" at line {} column {}", err.line(), err.column());
        let (message, position) = match text.strip_suffix(&position) {
            Some(message) => (message, position.as_str()),
            None => (text.as_str(), ""),
        };
        IngestError::BadRequest(format!(
            "invalid JSON body: {}{position}",
            domain::log_safe(message)
        ))
    }

    fn status(&self) -> StatusCode {
        match self {
            IngestError::ProviderDisabled(_) => StatusCode::NOT_FOUND,
            IngestError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            IngestError::Forbidden(_) => StatusCode::FORBIDDEN,
            IngestError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            IngestError::BadRequest(_) => StatusCode::BAD_REQUEST,
            IngestError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            IngestError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::NoRoute => StatusCode::NOT_FOUND,
            IngestError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IngestError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Logs this refusal of a webhook of `provider` (none: a path no
    /// provider serves): a warning when the provider should retry, else
    /// information.
    pub fn log(&self, provider: Option<&'static str>) {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(provider, error = %self, "webhook not accepted");
        } else {
            tracing::info!(provider, status = status.as_u16(), error = %self, "webhook rejected");
        }
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let status = self.status();
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
        if status == StatusCode::METHOD_NOT_ALLOWED {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
        }
        response
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        to: String,
    }

    fn parse(body: &str) -> String {
        let err = serde_json::from_str::<Strict>(body).unwrap_err();
        IngestError::invalid_json(&err).to_string()
    }

    #[test]
    fn json_errors_quote_the_input_escaped_and_clipped() {
        let forged = parse(r#"{"to":"x","a\nINFO forged \u001b[31m":1}"#);
        assert_eq!(
            forged,
            "invalid JSON body: unknown field `a\\nINFO forged \\u{1b}[31m`, expected `to` \
             at line 1 column 37"
        );
        let long = parse(&format!(r#"{{"{}":1}}"#, "n".repeat(500)));
        assert!(long.contains('…') && long.len() < 150, "{long}");
        assert!(long.ends_with("at line 1 column 503"), "{long}");
        assert_eq!(
            parse(r#"{"to":"x""#),
            "invalid JSON body: EOF while parsing an object at line 1 column 9"
        );
        let err = serde_json::from_str::<Strict>("").unwrap_err();
        assert!(
            IngestError::invalid_json(&err)
                .to_string()
                .starts_with("invalid JSON body: ")
        );
    }
}
