//! `/healthz` and `/readyz`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use bus::Bus;
use cache::HotCache;
use tokio_util::sync::CancellationToken;

use crate::{Infra, Storage};

/// What `/readyz` checks.
#[derive(Clone, Default)]
pub struct Readiness {
    /// Database, when the service uses it.
    pub database: Option<store::DatabaseConnection>,
    /// Cache, when the service uses it.
    pub cache: Option<Arc<dyn HotCache>>,
    /// Bus, when the service uses it.
    pub bus: Option<Bus>,
    /// The process's draining signal: once cancelled, not ready.
    pub draining: Option<CancellationToken>,
}

impl Readiness {
    /// Checks every dependency of `infra`.
    pub fn all<S: Storage>(infra: &Infra<S>) -> Self {
        Self {
            database: infra.store.database().cloned(),
            cache: S::USES_HOT_CACHE.then(|| infra.cache.clone()),
            bus: Some(infra.bus.clone()),
            draining: Some(infra.draining.clone()),
        }
    }
}

/// `/healthz` and `/readyz`, to merge into a service's router.
pub fn health_routes(readiness: Readiness) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .with_state(Arc::new(readiness))
}

async fn readyz(State(readiness): State<Arc<Readiness>>) -> impl IntoResponse {
    if readiness
        .draining
        .as_ref()
        .is_some_and(CancellationToken::is_cancelled)
    {
        // Load balancers stop sending; the service still serves meanwhile.
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "draining" })),
        );
    }
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    if let Some(database) = &readiness.database {
        let ok = database.ping().await.is_ok();
        ready &= ok;
        checks.insert("database".into(), ok.into());
    }
    if let Some(cache) = &readiness.cache {
        let ok = cache.ping().await;
        ready &= ok;
        checks.insert("cache".into(), ok.into());
    }
    if let Some(bus) = &readiness.bus {
        let ok = bus.is_connected();
        ready &= ok;
        checks.insert("bus".into(), ok.into());
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not ready" },
        "checks": checks,
    });
    (status, Json(body))
}
