//! Rendered number pages, kept in process for a few seconds and dropped the
//! moment a `MessageStored` for that number arrives. A render that started
//! before an invalidation is never stored (generation check), so a page can
//! not be cached without a message that had already been announced.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::i18n::Lang;

/// How long a rendered page may be served (bounds how stale its "N min ago" gets).
const TTL: Duration = Duration::from_secs(15);
/// Most pages kept; the cache is cleared when full (simple and bounded).
const CAPACITY: usize = 10_000;

/// One rendered page of a number.
struct Page {
    /// Whatever else the page depends on (its absolute base URL).
    variant: String,
    lang: Lang,
    at: Instant,
    html: Bytes,
}

#[derive(Default)]
struct Inner {
    /// Per number, its few variants (looked up without allocating).
    pages: HashMap<String, Vec<Page>>,
    len: usize,
    generations: HashMap<String, u64>,
}

/// The cache, shared by the handlers and the live forwarder of one process.
#[derive(Default)]
pub struct PageCache {
    inner: Mutex<Inner>,
}

impl PageCache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A fresh page, if cached (shared, not copied).
    pub fn get(&self, number: &str, variant: &str, lang: Lang) -> Option<Bytes> {
        let inner = self.lock();
        inner
            .pages
            .get(number)?
            .iter()
            .find(|p| p.lang == lang && p.variant == variant && p.at.elapsed() < TTL)
            .map(|p| p.html.clone())
    }

    /// The number's generation; read it before loading the page's data.
    pub fn generation(&self, number: &str) -> u64 {
        self.lock().generations.get(number).copied().unwrap_or(0)
    }

    /// Stores a page rendered from data read at `generation`, unless the
    /// number was invalidated since.
    pub fn put(&self, number: &str, variant: &str, lang: Lang, generation: u64, html: Bytes) {
        let mut inner = self.lock();
        if inner.generations.get(number).copied().unwrap_or(0) != generation {
            return;
        }
        if inner.len >= CAPACITY {
            inner.pages.clear();
            inner.len = 0;
        }
        let page = Page {
            variant: variant.to_owned(),
            lang,
            at: Instant::now(),
            html,
        };
        let pages = inner.pages.entry(number.to_owned()).or_default();
        let added = match pages
            .iter_mut()
            .find(|p| p.lang == lang && p.variant == variant)
        {
            Some(old) => {
                *old = page;
                false
            }
            None => {
                pages.push(page);
                true
            }
        };
        if added {
            inner.len += 1;
        }
    }

    /// Drops the number's pages: a message for it was stored.
    pub fn invalidate(&self, number: &str) {
        let mut inner = self.lock();
        *inner.generations.entry(number.to_owned()).or_insert(0) += 1;
        if let Some(dropped) = inner.pages.remove(number) {
            inner.len -= dropped.len();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn invalidation_drops_pages_and_refuses_renders_that_started_before_it() {
        let cache = PageCache::default();
        let gen0 = cache.generation("+1");
        cache.put("+1", "h", Lang::En, gen0, Bytes::from("old"));
        assert_eq!(cache.get("+1", "h", Lang::En).as_deref(), Some(&b"old"[..]));
        assert!(cache.get("+1", "h", Lang::ZhCn).is_none());

        let started = cache.generation("+1");
        cache.invalidate("+1");
        assert!(cache.get("+1", "h", Lang::En).is_none());
        cache.put("+1", "h", Lang::En, started, Bytes::from("stale"));
        assert!(
            cache.get("+1", "h", Lang::En).is_none(),
            "a render older than the invalidation is not kept"
        );

        cache.put(
            "+1",
            "h",
            Lang::En,
            cache.generation("+1"),
            Bytes::from("new"),
        );
        assert_eq!(cache.get("+1", "h", Lang::En).as_deref(), Some(&b"new"[..]));
        cache.invalidate("+2");
        assert_eq!(
            cache.get("+1", "h", Lang::En).as_deref(),
            Some(&b"new"[..]),
            "other numbers keep theirs"
        );
    }
}
