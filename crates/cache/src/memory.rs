use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use proto::events::v1::MessageStored;

use crate::{CacheError, HotCache, HotList, normalise};

/// In-process hot lists for the embedded mode.
pub struct MemoryCache {
    lists: Mutex<HashMap<String, (Vec<MessageStored>, Instant)>>,
    len: usize,
    ttl: Duration,
}

impl MemoryCache {
    /// An empty cache.
    pub fn new(settings: &config::CacheSettings) -> Self {
        Self {
            lists: Mutex::new(HashMap::new()),
            len: settings.hot_list_len,
            ttl: Duration::from_secs(settings.fill_ttl_secs.max(1)),
        }
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut HashMap<String, (Vec<MessageStored>, Instant)>) -> R,
    ) -> R {
        let mut lists = self
            .lists
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        lists.retain(|_, (_, expires)| *expires > now);
        f(&mut lists)
    }
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
}
