//! Webhook of the twilio provider (being written).

use axum::response::{IntoResponse, Response};

use crate::error::IngestError;

/// `/webhooks/twilio`: disabled until the provider is implemented.
pub async fn handle() -> Response {
    IngestError::ProviderDisabled("twilio").into_response()
}
