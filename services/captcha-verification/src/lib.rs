//! captcha-verification: proof-of-work challenges and reCAPTCHA-compatible
//! `/siteverify`. This release connects to the bus and cache and serves
//! health; the captcha protocol arrives with its own issue.

use std::time::Duration;

use platform::{Infra, Readiness};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The HTTP router (health for now).
pub fn router(infra: &Infra) -> axum::Router {
    platform::health_routes(Readiness {
        store: None,
        cache: Some(infra.cache.clone()),
        bus: Some(infra.bus.clone()),
    })
}

/// Serves until `shutdown`.
pub async fn run(
    infra: Infra,
    http: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let grace = Duration::from_secs(infra.settings.captcha.shutdown_grace_secs);
    platform::serve(http, router(&infra), shutdown, grace).await?;
    Ok(())
}
