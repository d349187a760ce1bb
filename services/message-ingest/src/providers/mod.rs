//! One module per provider: how its webhook is verified and parsed.

pub mod generic;

use axum::Router;
use axum::routing::post;

use crate::accept::AppState;

/// Every provider route, under `/webhooks/<provider>`.
pub fn routes() -> Router<AppState> {
    Router::new().route("/webhooks/generic", post(generic::handle))
}
