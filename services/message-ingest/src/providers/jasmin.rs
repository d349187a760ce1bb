//! Webhook of the jasmin provider (being written).

use axum::response::{IntoResponse, Response};

use crate::error::IngestError;

/// `/webhooks/jasmin`: disabled until the provider is implemented.
pub async fn handle() -> Response {
    IngestError::ProviderDisabled("jasmin").into_response()
}
