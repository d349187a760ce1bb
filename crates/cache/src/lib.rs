#![doc = include_str!("../README.md")]

mod connection;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod contract;
mod memory;
mod redis_cache;

use std::sync::Arc;
use std::time::Duration;

pub use memory::MemoryCache;
use proto::events::v1::MessageStored;
pub use redis_cache::RedisCache;

/// What can go wrong in the cache. Callers treat every error as a miss.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Redis did not answer or refused the command.
    #[error("cache error: {0}")]
    Redis(#[from] redis::RedisError),
    /// Through Sentinels, a claim no replica acknowledged in time: refused,
    /// since a failover to a replica without it would grant it again.
    #[error("cache error: the claim reached no replica (a failover could lose it)")]
    NotReplicated,
    /// A file the settings name could not be read.
    #[error("{key}: {path}: {source}")]
    File {
        /// The setting that names it.
        key: &'static str,
        /// The file.
        path: String,
        /// Why it could not be read.
        #[source]
        source: std::io::Error,
    },
}

/// Which list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HotList<'a> {
    /// One number's messages (E.164).
    Number(&'a str),
    /// The global feed.
    Latest,
}

/// Hot lists of recent messages.
#[async_trait::async_trait]
pub trait HotCache: Send + Sync + 'static {
    /// Adds a new message to its number's list and the global feed, when
    /// those lists exist (a missing list is filled from the database on read).
    async fn push(&self, message: &MessageStored) -> Result<(), CacheError>;
    /// [`HotCache::push`] for each of `messages`, in order (Redis: one round trip).
    async fn push_many(&self, messages: &[MessageStored]) -> Result<(), CacheError> {
        for message in messages {
            self.push(message).await?;
        }
        Ok(())
    }
    /// The list, newest first; `None` when it is not cached.
    async fn recent(&self, list: HotList<'_>) -> Result<Option<Vec<MessageStored>>, CacheError>;
    /// Replaces the list with `messages` (newest first) for the fill TTL.
    async fn fill(&self, list: HotList<'_>, messages: &[MessageStored]) -> Result<(), CacheError>;
    /// How many times `list` changed (a push to it, even while it is
    /// missing, or a forget): read it before reading the database for a
    /// refill, and give it to [`HotCache::fill_unless_pushed`].
    async fn version(&self, list: HotList<'_>) -> Result<u64, CacheError>;
    /// [`HotCache::fill`], unless `list` changed since [`HotCache::version`]
    /// answered `seen` (a message pushed while the database was read would
    /// be missing from `messages`): true when filled.
    async fn fill_unless_pushed(
        &self,
        list: HotList<'_>,
        messages: &[MessageStored],
        seen: u64,
    ) -> Result<bool, CacheError>;
    /// Drops `lists`, so their next read fills them from the database (the
    /// message sweep, after deleting some of their messages).
    async fn forget_lists(&self, lists: &[HotList<'_>]) -> Result<(), CacheError>;
    /// True when the cache answers.
    async fn ping(&self) -> bool;
    /// Drops every list (tests, and `cloudsms` operators after a restore).
    async fn clear(&self) -> Result<(), CacheError>;
    /// Claims `key` for `ttl`: true the first time, false while the claim
    /// lives (Redis `SET key 1 NX EX ttl`, so it holds across replicas).
    async fn claim(&self, key: &str, ttl: Duration) -> Result<bool, CacheError>;
    /// Claims `key` for `owner`: true when it was free (and is now `owner`'s)
    /// or already belongs to `owner`; false when someone else holds it. The
    /// owner `"1"` is what [`HotCache::claim`] stores.
    async fn claim_as(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool, CacheError>;
    /// Counts one more event in a fixed window of `ttl` that starts at the
    /// first count; returns the count so far.
    async fn incr_window(&self, key: &str, ttl: Duration) -> Result<u64, CacheError>;
    /// Generic cell rate algorithm: counts one more event under `key`, which
    /// may happen once per `interval` sustained with `burst` more at once.
    /// `None` when allowed; `Some(wait)` when refused (and not counted), with
    /// how long until the next event would be allowed. In Redis the clock is
    /// the server's, so every replica counts alike.
    async fn throttle(
        &self,
        key: &str,
        interval: Duration,
        burst: u32,
    ) -> Result<Option<Duration>, CacheError>;
    /// Deletes `keys` (claims, values, counters, rates, slots); returns how
    /// many existed.
    async fn forget(&self, keys: &[String]) -> Result<u64, CacheError>;
    /// Stores `value` under `key` for `ttl` (replacing what was there).
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError>;
    /// The value under `key`, its time to live reset to `ttl` (Redis
    /// `GETEX`); `None` when missing or expired.
    async fn get_touch(&self, key: &str, ttl: Duration) -> Result<Option<String>, CacheError>;
    /// Takes one of `limit` slots under `key` for `holder` (a unique id),
    /// for at most `ttl`: true when one was free. Slots are shared by every
    /// replica, and a slot whose holder vanished without
    /// [`HotCache::release_slot`] (a crashed process) frees itself after `ttl`.
    async fn acquire_slot(
        &self,
        key: &str,
        holder: &str,
        limit: u64,
        ttl: Duration,
    ) -> Result<bool, CacheError>;
    /// Gives back `holder`'s slot under `key`.
    async fn release_slot(&self, key: &str, holder: &str) -> Result<(), CacheError>;
}

/// The GCRA decision for a theoretical arrival time `tat` (µs) at `now`
/// (µs): the new `tat` when allowed, else the wait in µs.
pub fn gcra(tat: u64, now: u64, interval: u64, burst: u32) -> Result<u64, u64> {
    let tolerance = interval.saturating_mul(u64::from(burst));
    let tat = tat.max(now);
    if tat - now > tolerance {
        Err(tat - now - tolerance)
    } else {
        Ok(tat + interval)
    }
}

/// Connects to Redis when `redis.url` or `redis.sentinels` is set, else an
/// in-process cache.
pub async fn connect(settings: &config::Settings) -> Result<Arc<dyn HotCache>, CacheError> {
    if !settings.redis.is_set() {
        Ok(Arc::new(MemoryCache::new(&settings.cache)))
    } else {
        Ok(Arc::new(
            RedisCache::connect(&settings.redis, &settings.cache).await?,
        ))
    }
}

/// Newest first by arrival, then id; drops repeated ids.
fn normalise(mut messages: Vec<MessageStored>, len: usize) -> Vec<MessageStored> {
    messages.sort_by(|a, b| {
        let key = |m: &MessageStored| {
            (
                m.received_at
                    .map(|t| proto::timestamp_to_unix_millis(&t))
                    .unwrap_or_default(),
                m.id,
            )
        };
        key(b).cmp(&key(a))
    });
    messages.dedup_by_key(|m| m.id);
    messages.truncate(len);
    messages
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    pub(crate) fn msg(id: i64, number: &str, millis: i64) -> MessageStored {
        MessageStored {
            id,
            number: number.into(),
            body: format!("body {id}"),
            received_at: Some(proto::timestamp_from_unix_millis(millis)),
            ..Default::default()
        }
    }

    #[test]
    fn gcra_allows_burst_plus_one_then_one_per_interval() {
        let (interval, burst) = (1_000, 2);
        let mut tat = 0;
        let now = 10_000;
        for _ in 0..=burst {
            tat = gcra(tat, now, interval, burst).unwrap();
        }
        assert_eq!(gcra(tat, now, interval, burst), Err(1_000));
        assert_eq!(gcra(tat, now + 999, interval, burst), Err(1));
        let tat = gcra(tat, now + 1_000, interval, burst).unwrap();
        assert!(gcra(tat, now + 1_000, interval, burst).is_err());
        // Idle long enough, the full burst is back.
        assert!(gcra(tat, now + 100_000, interval, burst).is_ok());
    }

    #[test]
    fn normalise_sorts_dedupes_and_truncates() {
        let out = normalise(
            vec![
                msg(1, "+1", 10),
                msg(3, "+1", 30),
                msg(2, "+1", 20),
                msg(3, "+1", 30),
            ],
            2,
        );
        assert_eq!(out.iter().map(|m| m.id).collect::<Vec<_>>(), vec![3, 2]);
    }
}
