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
            for list in [HotList::Number(&message.number), HotList::Latest] {
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

    fn cache() -> MemoryCache {
        MemoryCache::new(&config::Settings::defaults().unwrap().cache)
    }

    #[tokio::test]
    async fn claim_is_true_once_then_false_until_it_expires() {
        let cache = cache();
        let ttl = Duration::from_millis(80);
        assert!(cache.claim("a", ttl).await.unwrap());
        assert!(!cache.claim("a", ttl).await.unwrap());
        assert!(cache.claim("b", ttl).await.unwrap());
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(cache.claim("a", ttl).await.unwrap());
    }

    #[tokio::test]
    async fn claim_as_lets_only_its_owner_back_in() {
        let cache = cache();
        let ttl = Duration::from_secs(5);
        assert!(cache.claim_as("t", "k:x", ttl).await.unwrap());
        assert!(cache.claim_as("t", "k:x", ttl).await.unwrap());
        assert!(!cache.claim_as("t", "k:y", ttl).await.unwrap());
        assert!(!cache.claim("t", ttl).await.unwrap());
        assert!(cache.claim("u", ttl).await.unwrap());
        assert!(!cache.claim_as("u", "k:x", ttl).await.unwrap());
    }

    #[tokio::test]
    async fn throttle_refuses_past_the_burst_and_forget_resets() {
        let cache = cache();
        let interval = Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(cache.throttle("r", interval, 2).await.unwrap(), None);
        }
        let wait = cache.throttle("r", interval, 2).await.unwrap().unwrap();
        assert!(wait > Duration::from_secs(50) && wait <= interval);
        assert_eq!(cache.throttle("other", interval, 2).await.unwrap(), None);
        assert_eq!(cache.forget(&["r".to_owned()]).await.unwrap(), 1);
        assert_eq!(cache.throttle("r", interval, 2).await.unwrap(), None);
    }

    #[tokio::test]
    async fn incr_window_counts_and_restarts_after_the_window() {
        let cache = cache();
        let ttl = Duration::from_millis(80);
        assert_eq!(cache.incr_window("c", ttl).await.unwrap(), 1);
        assert_eq!(cache.incr_window("c", ttl).await.unwrap(), 2);
        assert_eq!(cache.incr_window("d", ttl).await.unwrap(), 1);
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(cache.incr_window("c", ttl).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn slots_are_limited_released_and_expire() {
        let cache = cache();
        let long = Duration::from_secs(60);
        assert!(cache.acquire_slot("s", "a", 2, long).await.unwrap());
        assert!(cache.acquire_slot("s", "b", 2, long).await.unwrap());
        assert!(!cache.acquire_slot("s", "c", 2, long).await.unwrap());
        assert!(cache.acquire_slot("t", "c", 2, long).await.unwrap());
        cache.release_slot("s", "a").await.unwrap();
        assert!(cache.acquire_slot("s", "c", 2, long).await.unwrap());
        // A holder that never gives its slot back loses it after the ttl.
        assert!(
            cache
                .acquire_slot("u", "gone", 1, Duration::from_millis(20))
                .await
                .unwrap()
        );
        assert!(!cache.acquire_slot("u", "d", 1, long).await.unwrap());
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(cache.acquire_slot("u", "d", 1, long).await.unwrap());
    }

    #[tokio::test]
    async fn values_live_while_touched_and_are_forgotten() {
        let cache = cache();
        let short = Duration::from_millis(50);
        cache.put("k", "v", short).await.unwrap();
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(30)).await;
            assert_eq!(
                cache.get_touch("k", short).await.unwrap().as_deref(),
                Some("v")
            );
        }
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(cache.get_touch("k", short).await.unwrap(), None);
        cache.put("k", "v", short).await.unwrap();
        assert_eq!(cache.forget(&["k".to_owned()]).await.unwrap(), 1);
        assert_eq!(cache.get_touch("k", short).await.unwrap(), None);
    }
}
