//! Webhook of the vonage provider (being written).

use axum::response::{IntoResponse, Response};

use crate::error::IngestError;

/// `/webhooks/vonage`: disabled until the provider is implemented.
pub async fn handle() -> Response {
    IngestError::ProviderDisabled("vonage").into_response()
}
