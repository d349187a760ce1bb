//! message-ingest: provider webhooks in, verified `SmsReceived` events out,
//! and the persister that stores them.
//!
//! - `providers/`: one module per provider: signature check and parsing.
//! - `accept`: what every route does with a parsed SMS (number check, publish).
//! - `persister`: the durable consumer that stores, caches and announces.
//! - `grpc`: `cloudsms.ingest.v1.IngestService` for trusted producers.
//! - `sweep`: deletes the messages past their period (`messages.keep_days`).

pub mod accept;
pub mod error;
mod follow;
pub mod grpc;
pub mod metrics;
pub mod persister;
pub mod providers;
pub mod sweep;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use platform::{Infra, Readiness};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Listeners of the service, bound by the caller (tests bind port 0).
pub struct Listeners {
    /// Webhooks and health.
    pub http: TcpListener,
    /// `IngestService`.
    pub grpc: TcpListener,
}

/// The webhook router (also used in-process by tests and the demo).
pub fn router(infra: &Infra) -> Router {
    let state = accept::Shared::new(infra);
    Router::new()
        .merge(providers::routes())
        .with_state(state)
        .layer(axum::middleware::from_fn(metrics::count))
        .layer(axum::middleware::from_fn(platform::trace_requests))
        .layer(DefaultBodyLimit::max(infra.settings.ingest.max_body_bytes))
        .merge(platform::health_routes(Readiness::all(infra)))
}

/// The service as a process: binds its listeners, answers as a starting
/// service while the backends are connected (retried until they answer),
/// then serves until a stop signal, draining first for
/// `ingest.shutdown_delay_secs` (see [`platform::Lifecycle`]).
pub async fn run_process(settings: config::Settings) -> anyhow::Result<()> {
    let delay = Duration::from_secs(settings.ingest.shutdown_delay_secs);
    let listeners = Listeners {
        http: platform::bind(settings.ingest.listen).await?,
        grpc: platform::bind(settings.ingest.grpc_listen).await?,
    };
    platform::run_process::<store::Store, _, _, _>(settings, delay, listeners, |l| &l.http, run)
        .await
}

/// Runs the webhook server, the gRPC server and (unless `ingest.persister`
/// is off) the persister until `shutdown`.
pub async fn run(
    infra: Infra,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let grace = Duration::from_secs(infra.settings.ingest.shutdown_grace_secs);
    let http = platform::serve(
        listeners.http,
        router(&infra),
        &infra.settings.http,
        shutdown.clone(),
        grace,
    );
    let grpc = grpc::serve(&infra, listeners.grpc, shutdown.clone());
    // On the runtime's workers (see `platform::spawn`): the persister's acks
    // and announcements reach the NATS connection task without waking
    // another thread, and leave in few writes.
    // `ingest.persister = false`: webhooks only; processes with the
    // persister on store what this one accepts.
    let persister = async {
        if infra.settings.ingest.persister {
            platform::spawn(persister::run(infra.clone(), shutdown.clone())).await
        } else {
            tracing::info!("webhooks only (ingest.persister = false): the persister does not run");
            Ok(())
        }
    };
    // Publishes multi-part SMS whose missing parts never came; every replica
    // runs one, which is safe (the bus keeps one copy per provider message id).
    let sweeper_stop = shutdown.child_token();
    let concat_sweeper = tokio::spawn(providers::vonage::run_concat_sweeper(
        accept::Shared::new(&infra),
        sweeper_stop.clone(),
    ));
    // Deletes the messages past their period; one replica at a time.
    let message_sweep = tokio::spawn(sweep::run(infra.clone(), sweeper_stop.clone()));
    let (http, grpc, persister) = tokio::join!(http, grpc, persister);
    sweeper_stop.cancel();
    let sweeper = concat_sweeper.await;
    message_sweep.await?;
    http?;
    grpc?;
    persister?;
    sweeper??;
    Ok(())
}
