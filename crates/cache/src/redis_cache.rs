use prost::Message;
use proto::events::v1::MessageStored;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use crate::{CacheError, HotCache, HotList, normalise};

/// Hot lists in Redis, shared by every replica.
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
    len: usize,
    ttl: u64,
}

impl RedisCache {
    /// Connects (and reconnects on its own after failures).
    pub async fn connect(url: &str, settings: &config::CacheSettings) -> Result<Self, CacheError> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(std::time::Duration::from_secs(3)))
            .set_response_timeout(Some(std::time::Duration::from_secs(3)))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self {
            conn,
            prefix: settings.key_prefix.clone(),
            len: settings.hot_list_len,
            ttl: settings.fill_ttl_secs.max(1),
        })
    }

    fn key(&self, list: HotList<'_>) -> String {
        match list {
            HotList::Number(number) => {
                format!("{}hot:{}", self.prefix, number.trim_start_matches('+'))
            }
            HotList::Latest => format!("{}hot:latest", self.prefix),
        }
    }
}

#[async_trait::async_trait]
impl HotCache for RedisCache {
    async fn push(&self, message: &MessageStored) -> Result<(), CacheError> {
        let bytes = message.encode_to_vec();
        // Keep a little slack: redeliveries may push a message twice.
        let keep = isize::try_from(self.len * 2).unwrap_or(isize::MAX) - 1;
        let mut pipe = redis::pipe();
        for key in [
            self.key(HotList::Number(&message.number)),
            self.key(HotList::Latest),
        ] {
            pipe.cmd("LPUSHX").arg(&key).arg(&bytes).ignore();
            pipe.cmd("LTRIM").arg(&key).arg(0).arg(keep).ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await?;
        Ok(())
    }

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

    async fn ping(&self) -> bool {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .is_ok()
    }

    async fn clear(&self) -> Result<(), CacheError> {
        let mut conn = self.conn.clone();
        let pattern = format!("{}hot:*", self.prefix);
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(500)
                .query_async(&mut conn)
                .await?;
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
