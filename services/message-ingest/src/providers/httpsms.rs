//! Webhook of the httpsms provider (being written).

use axum::response::{IntoResponse, Response};

use crate::error::IngestError;

/// `/webhooks/httpsms`: disabled until the provider is implemented.
pub async fn handle() -> Response {
    IngestError::ProviderDisabled("httpsms").into_response()
}
