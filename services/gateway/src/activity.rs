//! Which services reach which numbers, as the site shows it: per active
//! number the codes each service sent it in the last 24 hours and its
//! message total ([`store::Store::service_activity`]), kept in process as a
//! [`Snapshot`] for `gateway.activity_refresh_secs`. Cards, search, service
//! pages and "other numbers" read the snapshot: no page view adds a
//! database round trip; one request per refresh period reads it again while
//! the others keep the previous one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::E164;
use parking_lot::RwLock;

use crate::i18n::{Lang, Tr};

/// The window of the counts.
const WINDOW_HOURS: i64 = 24;
/// Services named on a card.
const CARD_SERVICES: usize = 3;

/// One active number's activity.
#[derive(Debug, Clone)]
pub struct NumberActivity {
    /// The number.
    pub number: E164,
    /// Every message it has received.
    pub total: i64,
    /// Messages in the window.
    pub recent: i64,
    /// Its newest message, if any.
    pub last_at: Option<DateTime<Utc>>,
    /// Codes per service in the window, most first.
    pub services: Vec<(String, i64)>,
}

impl NumberActivity {
    /// Codes from `service` in the window.
    pub fn codes_from(&self, service: &str) -> i64 {
        self.services
            .iter()
            .find(|(s, _)| s == service)
            .map_or(0, |(_, n)| *n)
    }
}

/// The activity of every active number at one moment.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Newest message first; numbers without messages last.
    numbers: Vec<NumberActivity>,
    index: HashMap<String, usize>,
}

impl Snapshot {
    /// From what the store found.
    pub fn new(found: store::ServiceActivity) -> Self {
        let mut numbers: Vec<NumberActivity> = found
            .numbers
            .into_iter()
            .filter_map(|n| {
                Some(NumberActivity {
                    number: E164::parse(&n.e164).ok()?,
                    total: n.total,
                    recent: n.recent,
                    last_at: n.last_at,
                    services: Vec::new(),
                })
            })
            .collect();
        let index: HashMap<String, usize> = numbers
            .iter()
            .enumerate()
            .map(|(i, n)| (n.number.as_str().to_owned(), i))
            .collect();
        // Most codes first already.
        for codes in found.codes {
            if let Some(n) = index.get(&codes.number).and_then(|&i| numbers.get_mut(i)) {
                n.services.push((codes.service, codes.codes));
            }
        }
        Self { numbers, index }
    }

    /// Every active number, newest message first.
    pub fn numbers(&self) -> &[NumberActivity] {
        &self.numbers
    }

    /// One number's activity, when it is active.
    pub fn number(&self, e164: &str) -> Option<&NumberActivity> {
        self.index.get(e164).and_then(|&i| self.numbers.get(i))
    }

    /// Numbers that got codes from `service` in the window, most first.
    pub fn ranked_for(&self, service: &str) -> Vec<(&NumberActivity, i64)> {
        let mut ranked: Vec<(&NumberActivity, i64)> = self
            .numbers
            .iter()
            .map(|n| (n, n.codes_from(service)))
            .filter(|(_, codes)| *codes > 0)
            .collect();
        // Stable: equal counts keep the newest message first.
        ranked.sort_by_key(|r| std::cmp::Reverse(r.1));
        ranked
    }

    /// Codes from `service` in the window, over every number.
    pub fn codes_from(&self, service: &str) -> i64 {
        self.numbers.iter().map(|n| n.codes_from(service)).sum()
    }

    /// Up to `limit` other numbers to try instead of `e164`: those that got
    /// codes in the window from the services that sent `e164` codes (same
    /// country first, then by those codes), then the numbers with the
    /// newest messages (same country first).
    pub fn related(&self, e164: &E164, limit: usize) -> Vec<&NumberActivity> {
        let country = e164.country().iso2;
        let services: Vec<&str> = self
            .number(e164.as_str())
            .map(|n| n.services.iter().map(|(s, _)| s.as_str()).collect())
            .unwrap_or_default();
        let others = || {
            self.numbers
                .iter()
                .filter(move |n| n.number.as_str() != e164.as_str())
        };
        let mut scored: Vec<(&NumberActivity, bool, i64)> = others()
            .map(|n| {
                let codes = services.iter().map(|s| n.codes_from(s)).sum::<i64>();
                (n, n.number.country().iso2 == country, codes)
            })
            .filter(|(_, _, codes)| *codes > 0)
            .collect();
        scored.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)));
        let mut picked: Vec<&NumberActivity> = scored.into_iter().map(|(n, _, _)| n).collect();
        picked.truncate(limit);
        let same_country = others().filter(|n| n.number.country().iso2 == country);
        let elsewhere = others().filter(|n| n.number.country().iso2 != country);
        for n in same_country.chain(elsewhere) {
            if picked.len() >= limit {
                break;
            }
            if !picked.iter().any(|p| p.number == n.number) {
                picked.push(n);
            }
        }
        picked
    }

    /// What a card says of `e164`'s activity.
    pub fn counts(&self, e164: &str, t: &Tr) -> Counts {
        self.number(e164)
            .map(|n| Counts::of(n, t))
            .unwrap_or_default()
    }
}

/// A service's code count as a card shows it.
#[derive(Debug, Clone)]
pub struct ServiceCount {
    /// Its name in the page's language.
    pub label: String,
    /// Its page's slug.
    pub slug: String,
    /// Codes in the window.
    pub count: i64,
}

/// "codes from WhatsApp ×14, Telegram ×3 in 24 h" and a message total.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    /// The top services, most codes first.
    pub services: Vec<ServiceCount>,
    /// Every message the number received.
    pub total: i64,
}

impl Counts {
    /// The top [`CARD_SERVICES`] of `n`.
    pub fn of(n: &NumberActivity, t: &Tr) -> Self {
        Self {
            services: n
                .services
                .iter()
                .take(CARD_SERVICES)
                .map(|(name, count)| ServiceCount {
                    label: service_label(name, t.lang),
                    slug: slug(name),
                    count: *count,
                })
                .collect(),
            total: n.total,
        }
    }

    /// The codes in words: "codes from WhatsApp ×14, Telegram ×3 in 24 h",
    /// or "no codes in 24 h".
    pub fn codes_text(&self, t: &Tr) -> String {
        if self.services.is_empty() {
            t.t("counts.no_codes").to_owned()
        } else {
            t.f1("counts.codes", "services", &self.services_text(t))
        }
    }

    /// The services part in words: "WhatsApp ×14, Telegram ×3".
    pub fn services_text(&self, t: &Tr) -> String {
        self.services
            .iter()
            .map(|s| format!("{} ×{}", s.label, s.count))
            .collect::<Vec<_>>()
            .join(t.t("counts.separator"))
    }
}

/// A service's name in `lang`: its Chinese name for Chinese where the
/// service table has one, else the name the recogniser gives.
pub fn service_label(name: &str, lang: Lang) -> String {
    if lang == Lang::ZhCn
        && let Some(chinese) = domain::known_services()
            .find(|s| s.name == name)
            .and_then(|s| s.chinese_name())
    {
        return chinese.to_owned();
    }
    name.to_owned()
}

/// A service's slug: its name in lower case, every run of other characters
/// than ASCII letters and digits one `-` ("WhatsApp" → `whatsapp`).
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The known service whose slug is `slug`.
pub fn service_by_slug(slug_: &str) -> Option<domain::KnownService> {
    domain::known_services().find(|s| slug(s.name) == slug_)
}

/// The snapshot of a gateway process and when it was read.
pub struct Activity {
    refresh: Duration,
    /// Set when the numbers or messages changed (an operator action): the
    /// next use reads the snapshot again.
    stale: std::sync::atomic::AtomicBool,
    current: RwLock<Option<(Instant, Arc<Snapshot>)>>,
    loading: tokio::sync::Mutex<()>,
}

impl Activity {
    /// A snapshot read again after `refresh` (zero: on every use).
    pub fn new(refresh: Duration) -> Self {
        Self {
            refresh,
            stale: std::sync::atomic::AtomicBool::new(false),
            current: RwLock::new(None),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    /// The snapshot is out of date (a number was retired, a message
    /// hidden): the next use reads it again, the others meanwhile keep it.
    pub fn expire(&self) {
        self.stale.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn fresh(&self) -> Option<Arc<Snapshot>> {
        if self.stale.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        self.current
            .read()
            .as_ref()
            .filter(|(at, _)| at.elapsed() < self.refresh)
            .map(|(_, s)| s.clone())
    }

    /// The snapshot: the one in memory while fresh; else read again by
    /// this request while others keep the previous one. A database error
    /// keeps the previous one (or none: the counts are left out, the pages
    /// still work) and is logged.
    pub async fn snapshot(&self, store: &store::Store) -> Arc<Snapshot> {
        if let Some(fresh) = self.fresh() {
            return fresh;
        }
        let previous = self.current.read().as_ref().map(|(_, s)| s.clone());
        let _loading = match (&previous, self.refresh.is_zero()) {
            (Some(previous), false) => match self.loading.try_lock() {
                Ok(guard) => guard,
                Err(_) => return previous.clone(),
            },
            _ => self.loading.lock().await,
        };
        if let Some(fresh) = self.fresh() {
            return fresh;
        }
        let since = Utc::now() - chrono::Duration::hours(WINDOW_HOURS);
        self.stale
            .store(false, std::sync::atomic::Ordering::Relaxed);
        match store.service_activity(since).await {
            Ok(found) => {
                let snapshot = Arc::new(Snapshot::new(found));
                *self.current.write() = Some((Instant::now(), snapshot.clone()));
                snapshot
            }
            Err(err) => {
                tracing::warn!(error = %err, "service activity not read; the previous one stays");
                previous.unwrap_or_default()
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        let at = |h: i64| Some(Utc::now() - chrono::Duration::hours(h));
        let total = |e164: &str, total: i64, last_at| store::NumberTotal {
            e164: e164.to_owned(),
            total,
            recent: total,
            last_at,
            created_at: Utc::now(),
        };
        let codes = |number: &str, service: &str, codes: i64| store::ServiceCodes {
            number: number.to_owned(),
            service: service.to_owned(),
            codes,
        };
        Snapshot::new(store::ServiceActivity {
            numbers: vec![
                total("+447700900461", 20, at(1)),
                total("+33639981234", 9, at(2)),
                total("+447700900462", 5, at(3)),
                total("+447700900463", 1, at(4)),
                total("+14155550123", 0, None),
            ],
            codes: vec![
                codes("+447700900461", "WhatsApp", 14),
                codes("+33639981234", "WhatsApp", 6),
                codes("+447700900461", "Telegram", 3),
                codes("+447700900462", "Telegram", 2),
                codes("+447700900461", "Google", 1),
                codes("+447700900461", "X", 1),
            ],
        })
    }

    #[test]
    fn cards_name_the_top_three_services() {
        let s = snapshot();
        let t = Tr { lang: Lang::En };
        let counts = s.counts("+447700900461", &t);
        assert_eq!(counts.total, 20);
        assert_eq!(
            counts.services_text(&t),
            "WhatsApp ×14, Telegram ×3, Google ×1"
        );
        assert_eq!(s.counts("+14155550123", &t).services.len(), 0);
    }

    #[test]
    fn numbers_rank_by_codes_from_a_service() {
        let s = snapshot();
        let ranked: Vec<(&str, i64)> = s
            .ranked_for("WhatsApp")
            .into_iter()
            .map(|(n, c)| (n.number.as_str(), c))
            .collect();
        assert_eq!(ranked, [("+447700900461", 14), ("+33639981234", 6)]);
        assert_eq!(s.codes_from("Telegram"), 5);
    }

    #[test]
    fn related_numbers_share_services_same_country_first_then_newest() {
        let s = snapshot();
        let number = E164::parse("+447700900461").unwrap();
        let related: Vec<&str> = s
            .related(&number, 4)
            .into_iter()
            .map(|n| n.number.as_str())
            .collect();
        assert_eq!(
            related,
            [
                "+447700900462",
                "+33639981234",
                "+447700900463",
                "+14155550123"
            ]
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("WhatsApp"), "whatsapp");
        assert_eq!(slug("Yahoo!"), "yahoo");
        assert_eq!(slug("Steam Guard"), "steam-guard");
        assert_eq!(slug(" Tencent  QQ "), "tencent-qq");
        assert_eq!(slug("<b>"), "b");
        assert_eq!(slug(""), "");
        assert!(service_by_slug("google").is_some());
        assert!(service_by_slug("nope").is_none());
        assert_eq!(service_label("WeChat", Lang::ZhCn), "微信");
        assert_eq!(service_label("WhatsApp", Lang::ZhCn), "WhatsApp");
    }
}
