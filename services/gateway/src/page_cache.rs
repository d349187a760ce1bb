//! Rendered number pages, kept in process for a few seconds and dropped the
//! moment a `MessageStored` for that number arrives. A render that started
//! before an invalidation is never stored (generation check), so a page can
//! not be cached without a message that had already been announced.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use parking_lot::{Mutex, MutexGuard};

use crate::i18n::Lang;

/// How long a rendered page may be served (bounds how stale its "N min ago" gets).
const TTL: Duration = Duration::from_secs(15);
/// Most pages kept: when full, expired pages go first, then everything.
const CAPACITY: usize = 10_000;
/// Most pages kept per number (its variants and languages): a client
/// inventing `Host` names cannot grow one number's list.
const PER_NUMBER: usize = 8;

/// One rendered page of a number.
struct Page {
    /// Whatever else the page depends on (its absolute base URL).
    variant: String,
    lang: Lang,
    at: Instant,
    /// When its oldest message passes its period (never served after).
    until: Option<DateTime<Utc>>,
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
        self.inner.lock()
    }

    /// A fresh page, if cached (shared, not copied).
    pub fn get(&self, number: &str, variant: &str, lang: Lang) -> Option<Bytes> {
        self.get_at(number, variant, lang, Utc::now())
    }

    /// A fresh page, if cached and none of its messages has passed its
    /// period at `now` (the retention's clock).
    pub fn get_at(
        &self,
        number: &str,
        variant: &str,
        lang: Lang,
        now: DateTime<Utc>,
    ) -> Option<Bytes> {
        let inner = self.lock();
        inner
            .pages
            .get(number)?
            .iter()
            .find(|p| {
                p.lang == lang
                    && p.variant == variant
                    && p.at.elapsed() < TTL
                    && p.until.is_none_or(|until| now < until)
            })
            .map(|p| p.html.clone())
    }

    /// The number's generation; read it before loading the page's data.
    pub fn generation(&self, number: &str) -> u64 {
        self.lock().generations.get(number).copied().unwrap_or(0)
    }

    /// Stores a page rendered from data read at `generation`, unless the
    /// number was invalidated since.
    pub fn put(&self, number: &str, variant: &str, lang: Lang, generation: u64, html: Bytes) {
        self.put_until(number, variant, lang, generation, html, None);
    }

    /// As [`PageCache::put`], the page served until `until` at most (when
    /// its oldest message passes its period).
    pub fn put_until(
        &self,
        number: &str,
        variant: &str,
        lang: Lang,
        generation: u64,
        html: Bytes,
        until: Option<DateTime<Utc>>,
    ) {
        let mut inner = self.lock();
        if inner.generations.get(number).copied().unwrap_or(0) != generation {
            return;
        }
        if inner.len >= CAPACITY {
            inner.pages.retain(|_, pages| {
                pages.retain(|p| p.at.elapsed() < TTL);
                !pages.is_empty()
            });
            inner.len = inner.pages.values().map(Vec::len).sum();
            if inner.len >= CAPACITY {
                inner.pages.clear();
                inner.len = 0;
            }
        }
        let page = Page {
            variant: variant.to_owned(),
            lang,
            at: Instant::now(),
            until,
            html,
        };
        let pages = inner.pages.entry(number.to_owned()).or_default();
        let before = pages.len();
        pages.retain(|p| p.at.elapsed() < TTL && !(p.lang == lang && p.variant == variant));
        if pages.len() >= PER_NUMBER {
            // The oldest goes.
            pages.remove(0);
        }
        pages.push(page);
        let after = pages.len();
        inner.len = inner.len + after - before;
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

    #[test]
    fn invented_variants_neither_grow_a_number_nor_outlive_their_ttl() {
        let cache = PageCache::default();
        for i in 0..100 {
            let generation = cache.generation("+1");
            cache.put(
                "+1",
                &format!("http://h{i}.example"),
                Lang::En,
                generation,
                Bytes::from("x"),
            );
        }
        let inner = cache.lock();
        assert_eq!(inner.pages["+1"].len(), PER_NUMBER);
        assert_eq!(inner.len, PER_NUMBER);
        assert_eq!(
            inner.pages["+1"][PER_NUMBER - 1].variant,
            "http://h99.example"
        );
    }

    #[test]
    fn a_full_cache_drops_expired_pages_first() {
        let cache = PageCache::default();
        {
            let mut inner = cache.lock();
            let old = Instant::now().checked_sub(TTL * 2).unwrap();
            for i in 0..CAPACITY {
                inner.pages.insert(
                    format!("+{i}"),
                    vec![Page {
                        variant: String::new(),
                        lang: Lang::En,
                        at: if i == 0 { Instant::now() } else { old },
                        until: None,
                        html: Bytes::new(),
                    }],
                );
            }
            inner.len = CAPACITY;
        }
        cache.put("+new", "", Lang::En, 0, Bytes::from("n"));
        assert!(
            cache.get("+0", "", Lang::En).is_some(),
            "a fresh page survives"
        );
        assert!(cache.get("+new", "", Lang::En).is_some());
        assert_eq!(cache.lock().len, 2);
    }

    #[test]
    fn a_page_is_not_served_once_its_oldest_message_passes_its_period() {
        let cache = PageCache::default();
        let until = Utc::now() + chrono::Duration::days(3);
        let generation = cache.generation("+1");
        cache.put_until(
            "+1",
            "h",
            Lang::En,
            generation,
            Bytes::from("p"),
            Some(until),
        );
        let before = until - chrono::Duration::seconds(1);
        assert!(cache.get_at("+1", "h", Lang::En, before).is_some());
        assert!(cache.get_at("+1", "h", Lang::En, until).is_none());
    }
}
