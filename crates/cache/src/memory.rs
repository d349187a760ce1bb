//! The in-process cache of the embedded mode: hot lists, claims, counters,
//! throttles and live-stream slots kept in memory, with their expiry.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, MutexGuard};

use proto::events::v1::MessageStored;

use crate::{CacheError, HotCache, HotList, normalise};

/// In-process hot lists for the embedded mode.
pub struct MemoryCache {
    lists: Mutex<HashMap<String, (Vec<MessageStored>, Instant)>>,
    /// Changes per list (see [`HotCache::version`]); locked after `lists`.
    versions: Mutex<HashMap<String, u64>>,
    claims: Mutex<HashMap<String, (String, Instant)>>,
    counters: Mutex<HashMap<String, (u64, Instant)>>,
    rates: Mutex<HashMap<String, (u64, Instant)>>,
    slots: Mutex<HashMap<String, HashMap<String, Instant>>>,
    epoch: Instant,
    len: usize,
    ttl: Duration,
}

impl MemoryCache {
    /// An empty cache.
    pub fn new(settings: &config::CacheSettings) -> Self {
        Self {
            lists: Mutex::new(HashMap::new()),
            versions: Mutex::new(HashMap::new()),
            claims: Mutex::new(HashMap::new()),
            counters: Mutex::new(HashMap::new()),
            rates: Mutex::new(HashMap::new()),
            slots: Mutex::new(HashMap::new()),
            epoch: Instant::now(),
            len: settings.hot_list_len.get(),
            ttl: Duration::from_secs(settings.fill_ttl_secs.max(1)),
        }
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut HashMap<String, (Vec<MessageStored>, Instant)>) -> R,
    ) -> R {
        let mut lists = self.lists.lock();
        let now = Instant::now();
        lists.retain(|_, (_, expires)| *expires > now);
        f(&mut lists)
    }
}

/// Locks `map`, dropping expired entries first.
fn live<V>(
    map: &Mutex<HashMap<String, (V, Instant)>>,
) -> MutexGuard<'_, HashMap<String, (V, Instant)>> {
    let mut map = map.lock();
    let now = Instant::now();
    map.retain(|_, (_, expires)| *expires > now);
    map
}

fn key(list: HotList<'_>) -> String {
    match list {
        HotList::Number(number) => number.to_owned(),
        HotList::Latest => "latest".to_owned(),
    }
}

#[async_trait::async_trait]
impl HotCache for MemoryCache {
    async fn push(&self, message: &MessageStored) -> Result<(), CacheError> {
        let len = self.len;
        self.with(|lists| {
            let mut versions = self.versions.lock();
            for list in [HotList::Number(&message.number), HotList::Latest] {
                *versions.entry(key(list)).or_insert(0) += 1;
                if let Some((messages, _)) = lists.get_mut(&key(list)) {
                    messages.insert(0, message.clone());
                    messages.truncate(len * 2);
                }
            }
        });
        Ok(())
    }

    async fn recent(&self, list: HotList<'_>) -> Result<Option<Vec<MessageStored>>, CacheError> {
        let len = self.len;
        Ok(self.with(|lists| {
            lists
                .get(&key(list))
                .map(|(messages, _)| normalise(messages.clone(), len))
        }))
    }

    async fn fill(&self, list: HotList<'_>, messages: &[MessageStored]) -> Result<(), CacheError> {
        if messages.is_empty() {
            return Ok(());
        }
        let expires = Instant::now() + self.ttl;
        self.with(|lists| lists.insert(key(list), (messages.to_vec(), expires)));
        Ok(())
    }

    async fn version(&self, list: HotList<'_>) -> Result<u64, CacheError> {
        Ok(self.versions.lock().get(&key(list)).copied().unwrap_or(0))
    }

    async fn fill_unless_pushed(
        &self,
        list: HotList<'_>,
        messages: &[MessageStored],
        seen: u64,
    ) -> Result<bool, CacheError> {
        let expires = Instant::now() + self.ttl;
        Ok(self.with(|lists| {
            let versions = self.versions.lock();
            let unchanged = versions.get(&key(list)).copied().unwrap_or(0) == seen;
            if unchanged && !messages.is_empty() {
                lists.insert(key(list), (messages.to_vec(), expires));
            }
            unchanged && !messages.is_empty()
        }))
    }

    async fn forget_lists(&self, lists: &[HotList<'_>]) -> Result<(), CacheError> {
        self.with(|stored| {
            let mut versions = self.versions.lock();
            for list in lists {
                stored.remove(&key(*list));
                *versions.entry(key(*list)).or_insert(0) += 1;
            }
        });
        Ok(())
    }

    async fn ping(&self) -> bool {
        true
    }

    async fn clear(&self) -> Result<(), CacheError> {
        self.with(HashMap::clear);
        Ok(())
    }

    async fn claim(&self, key: &str, ttl: Duration) -> Result<bool, CacheError> {
        let mut claims = live(&self.claims);
        if claims.contains_key(key) {
            return Ok(false);
        }
        claims.insert(key.to_owned(), ("1".to_owned(), Instant::now() + ttl));
        Ok(true)
    }

    async fn claim_as(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool, CacheError> {
        let mut claims = live(&self.claims);
        if let Some((holder, _)) = claims.get(key) {
            return Ok(holder == owner);
        }
        claims.insert(key.to_owned(), (owner.to_owned(), Instant::now() + ttl));
        Ok(true)
    }

    async fn incr_window(&self, key: &str, ttl: Duration) -> Result<u64, CacheError> {
        let mut counters = live(&self.counters);
        let entry = counters
            .entry(key.to_owned())
            .or_insert_with(|| (0, Instant::now() + ttl));
        entry.0 = entry.0.saturating_add(1);
        Ok(entry.0)
    }

    async fn throttle(
        &self,
        key: &str,
        interval: Duration,
        burst: u32,
    ) -> Result<Option<Duration>, CacheError> {
        let mut rates = live(&self.rates);
        let now_instant = Instant::now();
        let now = micros(now_instant.duration_since(self.epoch));
        let tat = rates.get(key).map_or(now, |(tat, _)| *tat);
        match crate::gcra(tat, now, micros(interval), burst) {
            Ok(tat) => {
                let expires = now_instant + Duration::from_micros(tat - now);
                rates.insert(key.to_owned(), (tat, expires));
                Ok(None)
            }
            Err(wait) => Ok(Some(Duration::from_micros(wait))),
        }
    }

    async fn forget(&self, keys: &[String]) -> Result<u64, CacheError> {
        let mut found = 0;
        let mut claims = live(&self.claims);
        let mut counters = live(&self.counters);
        let mut rates = live(&self.rates);
        let mut slots = self.slots.lock();
        for key in keys {
            found += u64::from(claims.remove(key).is_some())
                + u64::from(counters.remove(key).is_some())
                + u64::from(rates.remove(key).is_some())
                + u64::from(slots.remove(key).is_some());
        }
        Ok(found)
    }

    async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        live(&self.claims).insert(key.to_owned(), (value.to_owned(), Instant::now() + ttl));
        Ok(())
    }

    async fn get_touch(&self, key: &str, ttl: Duration) -> Result<Option<String>, CacheError> {
        Ok(live(&self.claims).get_mut(key).map(|(value, expires)| {
            *expires = Instant::now() + ttl;
            value.clone()
        }))
    }

    async fn acquire_slot(
        &self,
        key: &str,
        holder: &str,
        limit: u64,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let mut slots = self.slots.lock();
        let now = Instant::now();
        let held = slots.entry(key.to_owned()).or_default();
        held.retain(|_, expires| *expires > now);
        if u64::try_from(held.len()).unwrap_or(u64::MAX) >= limit {
            return Ok(false);
        }
        held.insert(holder.to_owned(), now + ttl);
        Ok(true)
    }

    async fn release_slot(&self, key: &str, holder: &str) -> Result<(), CacheError> {
        let mut slots = self.slots.lock();
        if let Some(held) = slots.get_mut(key) {
            held.remove(holder);
            if held.is_empty() {
                slots.remove(key);
            }
        }
        Ok(())
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_the_cache_contract() {
        let cache = MemoryCache::new(&config::Settings::defaults().unwrap().cache);
        crate::contract::check(&cache, Duration::from_millis(80)).await;
    }
}
