//! log-retention: server logs kept for the retention period, visitor data
//! export and deletion, visitor statistics, the operators' audit log.
//!
//! - `consumer`: the durable batch consumer of the LOGS stream (request logs,
//!   crash reports, captcha events), multi-row idempotent inserts, ack after commit.
//! - `schema`: the tables' names and columns, which the migrations, the
//!   writer and the queries share; `rows`: an event as the row it becomes.
//! - `logstore`: the log tables: the batch writer, day partitions on
//!   Postgres and the sweep, a visitor's rows.
//! - `sweep`: the retention sweep at start-up and on a schedule, with an injected clock.
//! - `stats`: the anonymous statistics rows (daily salted visitor hashes) and
//!   the operator's report.
//! - `grpc`: `VisitorDataService` and `StatsService` on `retention.grpc_listen`;
//!   `audit`: `AuditService` beside them (the operators' audit log).
//!
//! See docs/log-retention.md.

pub mod audit;
pub mod consumer;
mod db;
pub mod entities;
pub mod grpc;
pub mod logstore;
pub mod migration;
pub mod rows;
pub mod schema;
pub mod stats;
pub mod sweep;
#[cfg(test)]
mod testutil;

use std::sync::Arc;
use std::time::Duration;

use platform::{Infra, Readiness};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use logstore::{LogStore, SweepReport};
pub use rows::LogRow;
pub use schema::Kind;

/// Listeners of the service, bound by the caller (tests bind port 0).
pub struct Listeners {
    /// Health (`/healthz`, `/readyz`).
    pub http: TcpListener,
    /// `VisitorDataService`, `StatsService` and `AuditService`.
    pub grpc: TcpListener,
}

/// The HTTP router (health only: log-retention has no public HTTP API).
pub fn router(infra: &Infra<LogStore>) -> axum::Router {
    platform::health_routes(Readiness::all(infra))
}

/// log-retention's tables on `database`, migrated. With
/// `retention.geoip_csv` set, page views record the visitor's country.
pub async fn log_store(
    settings: &config::Settings,
    database: store::DatabaseConnection,
) -> anyhow::Result<LogStore> {
    let mut store = LogStore::new(database);
    let geoip = settings.retention.geoip_csv.trim();
    if !geoip.is_empty() {
        let countries = stats::CsvCountries::load(std::path::Path::new(geoip))
            .map_err(|e| anyhow::anyhow!("retention.geoip_csv: {e}"))?;
        tracing::info!(ranges = countries.len(), "country database loaded");
        store = store.with_countries(Arc::new(countries));
    }
    store.migrate().await?;
    Ok(store)
}

/// log-retention owns its tables: it connects to the database and migrates
/// them, and never the SMS tables.
impl platform::Storage for LogStore {
    async fn connect(settings: &config::Settings) -> anyhow::Result<Self> {
        let url = settings.database_url();
        let database = store::Store::connect(&url, settings.database.max_connections)
            .await
            .map_err(|e| anyhow::anyhow!("database {}: {e}", platform::redact_url(&url)))?;
        log_store(settings, database.connection().clone()).await
    }

    fn database(&self) -> Option<&store::DatabaseConnection> {
        Some(self.connection())
    }

    const USES_HOT_CACHE: bool = false;
}

/// The service as a process: binds its listeners, answers as a starting
/// service while the backends are connected (retried until they answer),
/// then serves until a stop signal, draining first for
/// `retention.shutdown_delay_secs` (see [`platform::Lifecycle`]).
pub async fn run_process(settings: config::Settings) -> anyhow::Result<()> {
    let delay = Duration::from_secs(settings.retention.shutdown_delay_secs);
    let listeners = Listeners {
        http: platform::bind(settings.retention.listen).await?,
        grpc: platform::bind(settings.retention.grpc_listen).await?,
    };
    platform::run_process::<LogStore, _, _, _>(settings, delay, listeners, |l| &l.http, run).await
}

/// Runs the health server, the gRPC server, the LOGS consumer and the
/// retention sweeper until `shutdown`.
pub async fn run(
    infra: Infra<LogStore>,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let settings = &infra.settings.retention;
    let grace = Duration::from_secs(settings.shutdown_grace_secs);
    let store = infra.store.clone();
    let clock = platform::Clock::system();
    let http = platform::serve(
        listeners.http,
        router(&infra),
        &infra.settings.http,
        shutdown.clone(),
        grace,
    );
    let grpc = grpc::serve(store.clone(), listeners.grpc, shutdown.clone());
    // On the runtime's workers (see `platform::spawn`): the consumer's acks
    // reach the NATS connection task without waking another thread.
    let consumer = platform::spawn(consumer::run(
        infra.bus.clone(),
        store.clone(),
        clock.clone(),
        settings.retention_days.get(),
        settings.batch_size,
        shutdown.clone(),
    ));
    let sweeper = tokio::spawn(sweep::run(
        store,
        clock,
        settings.retention_days.get(),
        Duration::from_secs(settings.sweep_interval_secs),
        shutdown.clone(),
    ));
    let (http, grpc, consumer, sweeper) = tokio::join!(http, grpc, consumer, sweeper);
    http?;
    grpc?;
    consumer?;
    sweeper?;
    Ok(())
}
