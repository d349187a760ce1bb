//! A service's connections: the bus, the cache and the storage it owns.

use std::future::Future;
use std::sync::Arc;

use bus::Bus;
use cache::HotCache;
use config::Settings;
use store::Store;
use tokio_util::sync::CancellationToken;

/// The storage a service owns, connected (and migrated) from the settings:
/// the SMS [`Store`] for the gateway and message-ingest, log-retention's own
/// tables, or nothing (`()`, captcha-verification).
pub trait Storage: Clone + Send + Sync + Sized + 'static {
    /// Connects and migrates what the service's tables need.
    fn connect(settings: &Settings) -> impl Future<Output = anyhow::Result<Self>> + Send;

    /// The database connection readiness checks, when there is one.
    fn database(&self) -> Option<&store::DatabaseConnection>;

    /// Whether the service reads or writes the hot cache. One that does not
    /// (log-retention) gets an in-process cache it never touches: Redis is
    /// neither connected nor checked, so an outage of it does not hold the
    /// service's start or readiness.
    const USES_HOT_CACHE: bool = true;
}

impl Storage for Store {
    async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let url = settings.database_url();
        let store = Store::connect(&url, settings.database.max_connections)
            .await
            .map_err(|e| anyhow::anyhow!("database {}: {e}", config::redact_url(&url)))?;
        store.migrate().await?;
        // What pages may show and the sweep deletes: `messages.keep_days`,
        // by the system's clock (tests give the store another).
        Ok(store.with_retention(store::Retention::new(
            settings.messages.keep_days.get(),
            chrono::Utc::now,
        )))
    }

    fn database(&self) -> Option<&store::DatabaseConnection> {
        Some(self.connection())
    }
}

/// No storage: the service keeps its state in the cache only.
impl Storage for () {
    async fn connect(_: &Settings) -> anyhow::Result<Self> {
        Ok(())
    }

    fn database(&self) -> Option<&store::DatabaseConnection> {
        None
    }
}

/// What a service runs on: its settings, the bus, the cache and the storage
/// `S` it owns (the SMS store by default). `cloudsms all` shares one bus and
/// cache between the services of its process, each with its own storage.
#[derive(Clone)]
pub struct Infra<S = Store> {
    /// Validated settings.
    pub settings: Arc<Settings>,
    /// Event bus (JetStream or in-process).
    pub bus: Bus,
    /// Hot lists (Redis or in-process).
    pub cache: Arc<dyn HotCache>,
    /// The service's storage.
    pub store: S,
    /// Cancelled once the process drains (see [`crate::Lifecycle`]):
    /// readiness answers 503 from then on.
    pub draining: CancellationToken,
}

impl<S: Storage> Infra<S> {
    /// Connects the storage `S`, the bus and the cache the settings name;
    /// embedded defaults for empty URLs. Migrations run here, so a fresh
    /// database is usable at once.
    pub async fn connect(settings: Settings) -> anyhow::Result<Self> {
        let store = S::connect(&settings).await?;
        let bus = Bus::connect(&settings).await?;
        let cache = if S::USES_HOT_CACHE {
            cache::connect(&settings).await?
        } else {
            Arc::new(cache::MemoryCache::new(&settings.cache))
        };
        Ok(Self {
            settings: Arc::new(settings),
            bus,
            cache,
            store,
            draining: CancellationToken::new(),
        })
    }
}

impl<S> Infra<S> {
    /// The same bus, cache and settings over another storage (one process
    /// running several services).
    pub fn with_store<T>(&self, store: T) -> Infra<T> {
        Infra {
            settings: self.settings.clone(),
            bus: self.bus.clone(),
            cache: self.cache.clone(),
            store,
            draining: self.draining.clone(),
        }
    }
}
