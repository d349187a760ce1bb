//! Which numbers are registered and active, remembered for
//! `gateway.registry_cache_ms`: a page view need not cost a database query
//! (the pool would queue every request behind a handful of connections),
//! and a retired number still disappears within that time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most numbers remembered; past it the memory starts over (unknown
/// numbers are remembered too, so a scan cannot grow it without bound).
const MAX_ENTRIES: usize = 10_000;

/// Per-process memory of the number registry.
#[derive(Debug)]
pub struct Registry {
    ttl: Duration,
    entries: Mutex<HashMap<String, (bool, Instant)>>,
}

impl Registry {
    /// Remembers answers for `ttl` (zero: never).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (bool, Instant)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// True when `e164` is registered and active, from memory when fresh.
    pub async fn is_active(
        &self,
        store: &store::Store,
        e164: &str,
    ) -> Result<bool, store::StoreError> {
        if let Some((active, at)) = self.entries().get(e164)
            && at.elapsed() < self.ttl
        {
            return Ok(*active);
        }
        let active = store.find_number(e164).await?.is_some_and(|n| n.active);
        if !self.ttl.is_zero() {
            let mut entries = self.entries();
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(e164.to_owned(), (active, Instant::now()));
        }
        Ok(active)
    }
}
