//! The number registry follows the operators' changes announced on the bus
//! (`NumberRegistered`, `NumberRetired`: core NATS fan-out, every replica
//! gets each): a retired number is refused (422) and a new one accepted at
//! once, whatever `ingest.registry_cache_ms`.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::StreamExt;
use proto::events::v1::{NumberRegistered, NumberRetired};
use store::{Registration, Registry};

/// How often a quiet subscription checks that its registry still lives.
const CHECK: Duration = Duration::from_secs(30);

/// Follows the number changes into `registry` while it lives (the task ends
/// with the last handle on it), subscribing again after a bus failure.
/// Does nothing outside a tokio runtime.
pub fn spawn(bus: bus::Bus, registry: &Arc<Registry>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let registry = Arc::downgrade(registry);
    runtime.spawn(async move {
        while registry.strong_count() > 0 {
            if let Err(err) = follow(&bus, &registry).await {
                tracing::warn!(error = %err, "number changes not followed; retrying");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

enum Change {
    Registered(NumberRegistered),
    Retired(NumberRetired),
}

async fn follow(bus: &bus::Bus, registry: &Weak<Registry>) -> Result<(), bus::BusError> {
    let registered = bus.subscribe::<NumberRegistered>().await?;
    let retired = bus.subscribe::<NumberRetired>().await?;
    let mut changes = futures::stream::select(
        registered.map(Change::Registered),
        retired.map(Change::Retired),
    );
    loop {
        let next = tokio::time::timeout(CHECK, changes.next()).await;
        let Some(registry) = registry.upgrade() else {
            return Ok(());
        };
        match next {
            Err(_) => {}
            Ok(None) => return Ok(()),
            Ok(Some(Change::Registered(event))) => {
                registry.forget(&event.e164);
                registry.remember(&event.e164, Registration::Active);
            }
            Ok(Some(Change::Retired(event))) => {
                registry.forget(&event.e164);
                registry.remember(&event.e164, Registration::Retired);
            }
        }
    }
}
