//! The Redis cache shared by every replica: hot lists, claims, counters,
//! throttles (server-side scripts) and live-stream slots.

use prost::Message;
use proto::events::v1::MessageStored;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use crate::connection::{Connection, OnSwitch};

use std::sync::LazyLock;
use std::time::Duration;

use crate::{CacheError, HotCache, HotList, normalise};

// The scripts are built (and their SHA1 computed) once; `invoke_async`
// sends EVALSHA and loads a script only when the server lacks it.

/// Sets the key to the owner when free (2); 1 when the owner holds it
/// already, 0 when another does.
static CLAIM_AS: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 2
end
if v == ARGV[1] then return 1 end
return 0",
    )
});

/// GCRA on the server's clock (µs); the key holds the theoretical arrival
/// time and expires when it is in the past. Returns the wait, 0 when allowed.
static THROTTLE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tolerance then return tat - now - tolerance end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + 1)
return 0",
    )
});

/// A sorted set of holders scored by when their slot lapses (the server's
/// clock, ms): lapsed ones are dropped before counting.
static ACQUIRE_SLOT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1",
    )
});

/// How long a claim waits for a replica to have it (through Sentinels):
/// it takes well under a millisecond on a healthy pair; 2 s leaves room
/// for a replica slowed by a busy machine (half a second refused claims
/// while a test machine was loaded) before the claim fails closed.
const REPLICATED_WITHIN: Duration = Duration::from_secs(2);

/// Hot lists in Redis, shared by every replica.
#[derive(Clone)]
pub struct RedisCache {
    conn: Connection,
    prefix: String,
    len: usize,
    ttl: u64,
}

impl RedisCache {
    /// Connects to `redis.url`, or to the master `redis.sentinels` name and
    /// follows it across a failover (reconnecting on its own after
    /// failures), with the credentials and TLS files of `redis`.
    pub async fn connect(
        redis: &config::RedisSettings,
        settings: &config::CacheSettings,
    ) -> Result<Self, CacheError> {
        let ttl = settings.fill_ttl_secs.max(1);
        let prefix = settings.key_prefix.clone();
        let on_switch: OnSwitch = {
            let prefix = prefix.clone();
            Box::new(move |conn| Box::pin(forget_hot_lists(conn, prefix.clone(), version_ttl(ttl))))
        };
        Ok(Self {
            // Boxed: the Sentinel path's futures nest deep enough to pass
            // the compiler's layout depth in the services' `main`.
            conn: Box::pin(Connection::open(redis, on_switch)).await?,
            prefix,
            len: settings.hot_list_len.get(),
            ttl,
        })
    }

    /// `key` as stored: behind the key prefix.
    fn stored(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Through Sentinels, waits (up to [`REPLICATED_WITHIN`]) until a
    /// replica has the claim of `key` just granted: a claim is single use,
    /// and one the promoted replica never received would be granted again
    /// after a failover. [`CacheError::NotReplicated`] when none has it (no
    /// replica up: the claim fails closed), the claim given back when this
    /// call `took` it (so that a retry may succeed once a replica is back).
    /// One server: nothing to wait for.
    async fn replicated(&self, key: &str, took: bool) -> Result<(), CacheError> {
        if !self.conn.follows_failover() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let acked: i64 = redis::cmd("WAIT")
            .arg(1)
            .arg(u64::try_from(REPLICATED_WITHIN.as_millis()).unwrap_or(u64::MAX))
            .query_async(&mut conn)
            .await?;
        if acked < 1 {
            if took {
                let _: Result<(), _> = conn.del(self.stored(key)).await;
            }
            return Err(CacheError::NotReplicated);
        }
        Ok(())
    }

    /// Runs a script that answers 1 for yes and 0 for no.
    async fn yes(&self, script: &redis::ScriptInvocation<'_>) -> Result<bool, CacheError> {
        let mut conn = self.conn.clone();
        let answer: i64 = script.invoke_async(&mut conn).await?;
        Ok(answer == 1)
    }

    fn key(&self, list: HotList<'_>) -> String {
        match list {
            HotList::Number(number) => {
                format!("{}hot:{}", self.prefix, number.trim_start_matches('+'))
            }
            HotList::Latest => format!("{}hot:latest", self.prefix),
        }
    }

    /// The key counting `list`'s changes (under `hot:`, so `clear` drops it).
    fn version_key(&self, list: HotList<'_>) -> String {
        match list {
            HotList::Number(number) => {
                format!("{}hot:v:{}", self.prefix, number.trim_start_matches('+'))
            }
            HotList::Latest => format!("{}hot:v:latest", self.prefix),
        }
    }

    fn version_ttl(&self) -> i64 {
        version_ttl(self.ttl)
    }
}

/// How long a change counter lives after its last change (twice the fill
/// TTL `ttl`): past it a reader that saw the old count finds 0 and does
/// not fill, harmless.
fn version_ttl(ttl: u64) -> i64 {
    i64::try_from(ttl.saturating_mul(2)).unwrap_or(i64::MAX)
}

/// On a new master (a failover): drops every hot list and counts a change
/// of each list's change counter. Replication is asynchronous, so the
/// promoted replica may lack the last pushes: its lists would hide those
/// messages until their TTL; refilled from the database they show them,
/// and a refill read before the switch is not stored.
async fn forget_hot_lists(
    mut conn: ConnectionManager,
    prefix: String,
    version_ttl: i64,
) -> redis::RedisResult<()> {
    let pattern = format!("{prefix}hot:*");
    let versions = format!("{prefix}hot:v:");
    let mut cursor: u64 = 0;
    loop {
        let (next, keys) = scan(&mut conn, &pattern, cursor).await?;
        let mut pipe = redis::pipe();
        for key in &keys {
            if key.starts_with(&versions) {
                pipe.incr(key, 1).ignore();
                pipe.expire(key, version_ttl).ignore();
            } else {
                pipe.del(key).ignore();
            }
        }
        if !keys.is_empty() {
            pipe.query_async::<()>(&mut conn).await?;
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// Fills `KEYS[1]` with `ARGV[3..]` for `ARGV[2]` seconds unless its change
/// counter `KEYS[2]` moved from `ARGV[1]`: 1 when filled.
const FILL_UNLESS_PUSHED: &str = r#"
local now = redis.call('GET', KEYS[2]) or '0'
if now ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
for i = 3, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"#;

#[async_trait::async_trait]
impl HotCache for RedisCache {
    async fn push(&self, message: &MessageStored) -> Result<(), CacheError> {
        self.push_many(std::slice::from_ref(message)).await
    }

    #[tracing::instrument(name = "LPUSHX", skip_all, fields(otel.kind = "client", db.system.name = "redis", db.operation.name = "LPUSHX", messages = messages.len()))]
    async fn push_many(&self, messages: &[MessageStored]) -> Result<(), CacheError> {
        if messages.is_empty() {
            return Ok(());
        }
        // Keep a little slack: redeliveries may push a message twice.
        let keep = isize::try_from(self.len * 2).unwrap_or(isize::MAX) - 1;
        // Each list once, with its messages in batch order (the last ends
        // on top, as one push after another would leave it): one LPUSHX of
        // them all, one LTRIM, one change counted. A batch mostly names one
        // or a few numbers, so this is a handful of commands, not eight per
        // message.
        let encoded: Vec<Vec<u8>> = messages.iter().map(|m| m.encode_to_vec()).collect();
        let mut lists: Vec<(&str, Vec<&[u8]>)> = Vec::new();
        for (message, bytes) in messages.iter().zip(&encoded) {
            match lists
                .iter_mut()
                .find(|(number, _)| *number == message.number)
            {
                Some((_, values)) => values.push(bytes),
                None => lists.push((message.number.as_str(), vec![bytes.as_slice()])),
            }
        }
        let all: Vec<&[u8]> = encoded.iter().map(Vec::as_slice).collect();
        let mut pipe = redis::pipe();
        let every = lists
            .iter()
            .map(|(number, values)| (HotList::Number(number), values))
            .chain(std::iter::once((HotList::Latest, &all)));
        for (list, values) in every {
            let key = self.key(list);
            pipe.cmd("LPUSHX").arg(&key).arg(values.as_slice()).ignore();
            pipe.cmd("LTRIM").arg(&key).arg(0).arg(keep).ignore();
            let version = self.version_key(list);
            pipe.incr(&version, 1).ignore();
            pipe.expire(&version, self.version_ttl()).ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    #[tracing::instrument(name = "LRANGE", skip_all, fields(otel.kind = "client", db.system.name = "redis", db.operation.name = "LRANGE"))]
    async fn recent(&self, list: HotList<'_>) -> Result<Option<Vec<MessageStored>>, CacheError> {
        let mut conn = self.conn.clone();
        let raw: Vec<Vec<u8>> = conn.lrange(self.key(list), 0, -1).await?;
        if raw.is_empty() {
            return Ok(None);
        }
        // A corrupt entry is skipped rather than failing the page.
        let messages = raw
            .iter()
            .filter_map(|bytes| MessageStored::decode(bytes.as_slice()).ok())
            .collect();
        Ok(Some(normalise(messages, self.len)))
    }

    #[tracing::instrument(name = "MULTI", skip_all, fields(otel.kind = "client", db.system.name = "redis", db.operation.name = "MULTI"))]
    async fn fill(&self, list: HotList<'_>, messages: &[MessageStored]) -> Result<(), CacheError> {
        if messages.is_empty() {
            return Ok(());
        }
        let key = self.key(list);
        let mut pipe = redis::pipe();
        pipe.atomic().del(&key).ignore();
        // RPUSH in newest-first order keeps the head newest, like LPUSHX.
        for message in messages {
            pipe.rpush(&key, message.encode_to_vec()).ignore();
        }
        pipe.expire(&key, i64::try_from(self.ttl).unwrap_or(i64::MAX))
            .ignore();
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    async fn version(&self, list: HotList<'_>) -> Result<u64, CacheError> {
        let mut conn = self.conn.clone();
        let version: Option<u64> = conn.get(self.version_key(list)).await?;
        Ok(version.unwrap_or(0))
    }

    #[tracing::instrument(name = "EVALSHA", skip_all, fields(otel.kind = "client", db.system.name = "redis", db.operation.name = "EVALSHA"))]
    async fn fill_unless_pushed(
        &self,
        list: HotList<'_>,
        messages: &[MessageStored],
        seen: u64,
    ) -> Result<bool, CacheError> {
        if messages.is_empty() {
            return Ok(false);
        }
        let script = redis::Script::new(FILL_UNLESS_PUSHED);
        let mut invocation = script.key(self.key(list));
        invocation
            .key(self.version_key(list))
            .arg(seen)
            .arg(self.ttl);
        for message in messages {
            invocation.arg(message.encode_to_vec());
        }
        self.yes(&invocation).await
    }

    #[tracing::instrument(name = "DEL", skip_all, fields(otel.kind = "client", db.system.name = "redis", db.operation.name = "DEL"))]
    async fn forget_lists(&self, lists: &[HotList<'_>]) -> Result<(), CacheError> {
        if lists.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = lists.iter().map(|list| self.key(*list)).collect();
        let mut pipe = redis::pipe();
        pipe.del(keys).ignore();
        for list in lists {
            let version = self.version_key(*list);
            pipe.incr(&version, 1).ignore();
            pipe.expire(&version, self.version_ttl()).ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

    async fn ping(&self) -> bool {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .is_ok()
    }

    #[tracing::instrument(name = "SET", skip_all, fields(otel.kind = "client", db.system.name = "redis", db.operation.name = "SET"))]
    async fn claim(&self, key: &str, ttl: Duration) -> Result<bool, CacheError> {
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(self.stored(key))
            .arg("1")
            .arg("NX")
            .arg("EX")
            .arg(secs(ttl))
            .query_async(&mut conn)
            .await?;
        if set.is_some() {
            self.replicated(key, true).await?;
        }
        Ok(set.is_some())
    }

    #[tracing::instrument(name = "EVALSHA", skip_all, fields(otel.kind = "client", db.system.name = "redis", db.operation.name = "EVALSHA"))]
    async fn claim_as(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool, CacheError> {
        let mut conn = self.conn.clone();
        let answer: i64 = CLAIM_AS
            .key(self.stored(key))
            .arg(owner)
            .arg(secs(ttl))
            .invoke_async(&mut conn)
            .await?;
        if answer > 0 {
            self.replicated(key, answer == 2).await?;
        }
        Ok(answer > 0)
    }

    #[tracing::instrument(name = "INCR", skip_all, fields(otel.kind = "client", db.system.name = "redis", db.operation.name = "INCR"))]
    async fn incr_window(&self, key: &str, ttl: Duration) -> Result<u64, CacheError> {
        let key = self.stored(key);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("SET")
            .arg(&key)
            .arg(0)
            .arg("EX")
            .arg(secs(ttl))
            .arg("NX")
            .ignore()
            .cmd("INCR")
            .arg(&key);
        let mut conn = self.conn.clone();
        let (count,): (u64,) = pipe.query_async(&mut conn).await?;
        Ok(count)
    }

    #[tracing::instrument(name = "EVALSHA", skip_all, fields(otel.kind = "client", db.system.name = "redis", db.operation.name = "EVALSHA"))]
    async fn throttle(
        &self,
        key: &str,
        interval: Duration,
        burst: u32,
    ) -> Result<Option<Duration>, CacheError> {
        let mut conn = self.conn.clone();
        let wait: u64 = THROTTLE
            .key(self.stored(key))
            .arg(
                u64::try_from(interval.as_micros())
                    .unwrap_or(u64::MAX)
                    .max(1),
            )
            .arg(burst)
            .invoke_async(&mut conn)
            .await?;
        Ok((wait > 0).then(|| Duration::from_micros(wait)))
    }

    #[tracing::instrument(name = "DEL", skip_all, fields(otel.kind = "client", db.system.name = "redis", db.operation.name = "DEL"))]
    async fn forget(&self, keys: &[String]) -> Result<u64, CacheError> {
        if keys.is_empty() {
            return Ok(0);
        }
        let mut conn = self.conn.clone();
        let keys: Vec<String> = keys.iter().map(|k| self.stored(k)).collect();
        let removed: u64 = conn.del(keys).await?;
        Ok(removed)
    }

    #[tracing::instrument(name = "SET", skip_all, fields(otel.kind = "client", db.system.name = "redis", db.operation.name = "SET"))]
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        redis::cmd("SET")
            .arg(self.stored(key))
            .arg(value)
            .arg("PX")
            .arg(millis(ttl))
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    #[tracing::instrument(name = "GETEX", skip_all, fields(otel.kind = "client", db.system.name = "redis", db.operation.name = "GETEX"))]
    async fn get_touch(&self, key: &str, ttl: Duration) -> Result<Option<String>, CacheError> {
        let mut conn = self.conn.clone();
        Ok(redis::cmd("GETEX")
            .arg(self.stored(key))
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut conn)
            .await?)
    }

    #[tracing::instrument(name = "EVALSHA", skip_all, fields(otel.kind = "client", db.system.name = "redis", db.operation.name = "EVALSHA"))]
    async fn acquire_slot(
        &self,
        key: &str,
        holder: &str,
        limit: u64,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        self.yes(
            ACQUIRE_SLOT
                .key(self.stored(key))
                .arg(holder)
                .arg(limit)
                .arg(millis(ttl)),
        )
        .await
    }

    #[tracing::instrument(name = "ZREM", skip_all, fields(otel.kind = "client", db.system.name = "redis", db.operation.name = "ZREM"))]
    async fn release_slot(&self, key: &str, holder: &str) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        redis::cmd("ZREM")
            .arg(self.stored(key))
            .arg(holder)
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }

    async fn clear(&self) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let pattern = format!("{}hot:*", self.prefix);
        let mut cursor: u64 = 0;
        loop {
            let (next, keys) = scan(&mut conn, &pattern, cursor).await?;
            if !keys.is_empty() {
                conn.del::<_, ()>(keys).await?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }
}

/// Milliseconds for `PX`, at least one (Redis refuses `PX 0`).
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Whole seconds for `EX`, at least one (Redis refuses `EX 0`).
fn secs(ttl: Duration) -> u64 {
    ttl.as_secs().max(1)
}

/// One `SCAN` step over the keys matching `pattern` from `cursor`: the next
/// cursor (0 at the end) and up to about 500 keys.
async fn scan(
    conn: &mut impl redis::aio::ConnectionLike,
    pattern: &str,
    cursor: u64,
) -> redis::RedisResult<(u64, Vec<String>)> {
    redis::cmd("SCAN")
        .arg(cursor)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(500)
        .query_async(conn)
        .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A cache on `TEST_REDIS_URL` (default loopback) with a fresh prefix,
    /// or `None` when no Redis answers (the e2e tests cover that mode).
    async fn redis() -> Option<RedisCache> {
        let url =
            std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let mut settings = config::Settings::defaults().unwrap().cache;
        settings.key_prefix = format!(
            "test:cache:{}:",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let mut redis_settings = config::Settings::defaults().unwrap().redis;
        redis_settings.url = url;
        let cache = tokio::time::timeout(
            Duration::from_secs(5),
            RedisCache::connect(&redis_settings, &settings),
        )
        .await
        .ok()?
        .ok()?;
        cache.ping().await.then_some(cache)
    }

    #[tokio::test]
    async fn keeps_the_cache_contract_in_redis() {
        let Some(cache) = redis().await else {
            eprintln!("no Redis: skipped");
            return;
        };
        // Redis counts claims and windows in whole seconds (`EX`).
        crate::contract::check(&cache, Duration::from_secs(1)).await;
    }
}
