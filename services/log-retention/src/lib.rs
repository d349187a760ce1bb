//! log-retention: server logs kept for the retention period, visitor data
//! export and deletion, visitor statistics. This release connects to the bus
//! (creating the LOGS stream with the retention as its max age) and the
//! database and serves health; consumption and the gRPC API arrive with the
//! log-retention issue.

use std::time::Duration;

use platform::{Infra, Readiness};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The HTTP router (health only: log-retention has no public HTTP API).
pub fn router(infra: &Infra) -> axum::Router {
    platform::health_routes(Readiness {
        store: Some(infra.store.clone()),
        cache: None,
        bus: Some(infra.bus.clone()),
    })
}

/// Serves until `shutdown`.
pub async fn run(
    infra: Infra,
    http: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let grace = Duration::from_secs(infra.settings.retention.shutdown_grace_secs);
    platform::serve(http, router(&infra), shutdown, grace).await?;
    Ok(())
}
