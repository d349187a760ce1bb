#![doc = include_str!("../README.md")]

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
    /// The list, newest first; `None` when it is not cached.
    async fn recent(&self, list: HotList<'_>) -> Result<Option<Vec<MessageStored>>, CacheError>;
    /// Replaces the list with `messages` (newest first) for the fill TTL.
    async fn fill(&self, list: HotList<'_>, messages: &[MessageStored]) -> Result<(), CacheError>;
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
}

/// Connects to Redis when `redis.url` is set, else an in-process cache.
pub async fn connect(settings: &config::Settings) -> Result<Arc<dyn HotCache>, CacheError> {
    if settings.redis.url.is_empty() {
        Ok(Arc::new(MemoryCache::new(&settings.cache)))
    } else {
        Ok(Arc::new(
            RedisCache::connect(&settings.redis.url, &settings.cache).await?,
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
