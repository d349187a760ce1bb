//! Webhook of the telnyx provider (being written).

use axum::response::{IntoResponse, Response};

use crate::error::IngestError;

/// `/webhooks/telnyx`: disabled until the provider is implemented.
pub async fn handle() -> Response {
    IngestError::ProviderDisabled("telnyx").into_response()
}
