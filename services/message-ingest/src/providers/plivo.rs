//! Webhook of the plivo provider (being written).

use axum::response::{IntoResponse, Response};

use crate::error::IngestError;

/// `/webhooks/plivo`: disabled until the provider is implemented.
pub async fn handle() -> Response {
    IngestError::ProviderDisabled("plivo").into_response()
}
