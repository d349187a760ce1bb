//! Webhook of the sms_gateway provider (being written).

use axum::response::{IntoResponse, Response};

use crate::error::IngestError;

/// `/webhooks/sms_gateway`: disabled until the provider is implemented.
pub async fn handle() -> Response {
    IngestError::ProviderDisabled("sms_gateway").into_response()
}
