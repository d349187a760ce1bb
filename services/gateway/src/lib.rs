//! gateway: the visitor site. Server-rendered pages read hot lists from the
//! cache and fall back to the database; message bodies are always escaped
//! (askama escapes every `{{ }}` in `.html` templates).

mod error;
mod pages;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use platform::{Infra, Readiness};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use error::PageError;

/// Shared state of the gateway's handlers.
#[derive(Clone)]
pub struct AppState {
    /// Validated settings.
    pub settings: Arc<config::Settings>,
    /// Database (numbers, older messages).
    pub store: store::Store,
    /// Hot lists.
    pub cache: Arc<dyn cache::HotCache>,
}

/// The gateway's router.
pub fn router(infra: &Infra) -> Router {
    let state = AppState {
        settings: infra.settings.clone(),
        store: infra.store.clone(),
        cache: infra.cache.clone(),
    };
    Router::new()
        .route("/", get(pages::home))
        .route("/numbers/{e164}", get(pages::number))
        .fallback(pages::not_found)
        .with_state(state)
        .merge(platform::health_routes(Readiness::all(infra)))
}

/// Serves the site until `shutdown`.
pub async fn run(
    infra: Infra,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let grace = Duration::from_secs(infra.settings.gateway.shutdown_grace_secs);
    platform::serve(listener, router(&infra), shutdown, grace).await?;
    Ok(())
}
