//! A page view derived from a logged request: which requests are pages
//! ([`is_page`], [`route_path`], [`number_of`]: the gateway's routes read
//! back from raw paths, until the request log carries its route), the
//! referrer and the visitor's daily salted hash, and the daily salts.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, Days, NaiveDate, Utc};
use rand::Rng;
use sea_orm::{DbErr, Value};
use sha2::{Digest, Sha256};

use super::Stats;
use crate::db::lock;
use crate::entities::access_log;
use crate::rows::{LogRow, RequestExtra};
use crate::schema::SALT_TABLE;

/// A day's salt is deleted once this many days have begun after it.
pub const SALT_KEEP_DAYS: u64 = 2;

/// One row of `stat_pageviews`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageView {
    /// The access-log row's event id.
    pub event_id: String,
    /// Its time.
    pub ts: DateTime<Utc>,
    /// The day salt's day.
    pub day: NaiveDate,
    /// SHA-256 of the visitor with the day's salt (hex, 128 bits).
    pub visitor_hash: String,
    /// The path, no query, no trailing slash.
    pub path: String,
    /// The number viewed, for `/numbers/{e164}`.
    pub number: String,
    /// The outside referring site's host, without `www.`.
    pub referrer: String,
    /// `utm_source`.
    pub utm_source: String,
    /// Browser family.
    pub browser: String,
    /// OS family.
    pub os: String,
    /// Device class.
    pub device: String,
    /// Country code when a country database is configured.
    pub country: String,
    /// A crawler.
    pub is_bot: bool,
    /// HTTP status.
    pub status: i64,
    /// Counts as a page view (answered 2xx or 3xx).
    pub pageview: bool,
}

impl PageView {
    /// Values after `event_id, ts`, in the order of the columns of
    /// [`STAT_PAGEVIEWS`](crate::schema::STAT_PAGEVIEWS).
    pub(crate) fn values(&self) -> Vec<Value> {
        let s = |v: &str| Value::from(v.to_owned());
        vec![
            Value::from(self.ts.timestamp()),
            s(&day_key(self.day)),
            s(&self.visitor_hash),
            s(&self.path),
            s(&self.number),
            s(&self.referrer),
            s(&self.utm_source),
            s(&self.browser),
            s(&self.os),
            s(&self.device),
            s(&self.country),
            Value::from(i64::from(self.is_bot)),
            Value::from(self.status),
            Value::from(i64::from(self.pageview)),
        ]
    }
}

// The gateway's routes read back from the raw path: `is_page`,
// `route_path` and `number_of` go once `RequestLogged` carries the route
// and its kind (issue 21, item 1).

/// True for requests of pages: not assets, API, feeds, live streams, files,
/// the crawler gate's interstitial, the operator's pages or `/my-data`
/// (looking at one's data creates none).
pub fn is_page(method: &str, path: &str) -> bool {
    const SKIPPED: [&str; 7] = [
        "/static/", "/api/", "/admin", "/my-data", "/gate", "/healthz", "/readyz",
    ];
    if method != "GET" || !path.starts_with('/') {
        return false;
    }
    if SKIPPED.iter().any(|p| path.starts_with(p)) || path.ends_with("/events") {
        return false;
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    !last.contains('.')
}

/// The path as the statistics show it: no trailing slash, at most 200 bytes.
pub fn route_path(path: &str) -> String {
    let trimmed = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
    let mut end = trimmed.len().min(200);
    while !trimmed.is_char_boundary(end) {
        end -= 1;
    }
    trimmed[..end].to_owned()
}

/// The number of `/numbers/{e164}`, when the path is a number's page.
pub fn number_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/numbers/")?;
    let digits = rest
        .strip_prefix("%2B")
        .or_else(|| rest.strip_prefix("%2b"))
        .or_else(|| rest.strip_prefix('+'))?;
    let ok = (2..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| format!("+{digits}"))
}

/// Host of a referring site (`scheme://host[:port]`), lower case, no port, no `www.`.
fn site_host(site: &str) -> String {
    let rest = site.split_once("://").map_or(site, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    // Keep IPv6 literals whole; strip a port otherwise.
    let host = if host.starts_with('[') {
        host.split_once(']')
            .map_or(host, |(h, _)| h)
            .trim_start_matches('[')
    } else {
        host.split(':').next().unwrap_or_default()
    };
    let host = host.to_ascii_lowercase();
    host.strip_prefix("www.").map(str::to_owned).unwrap_or(host)
}

/// The outside referring site's host; empty for none or for the site itself.
pub fn referrer_domain(referrer: &str, own_host: &str) -> String {
    if referrer.is_empty() {
        return String::new();
    }
    let host = site_host(referrer);
    if host.is_empty() || (!own_host.is_empty() && host == site_host(own_host)) {
        return String::new();
    }
    host.chars().take(255).collect()
}

/// `visitor_hash`: the visitor id (or, without one, address and browser)
/// hashed with the day's salt.
pub fn visitor_hash(salt: &str, row: &access_log::Model) -> String {
    let identity = if row.visitor_id.is_empty() {
        format!(
            "anon\n{}\n{}\n{}",
            row.ip, row.browser_family, row.os_family
        )
    } else {
        format!("id\n{}", row.visitor_id)
    };
    let digest = Sha256::digest(format!("{salt}\n{identity}"));
    hex::encode(&digest[..16])
}

/// The statistics row of a logged request, when it is a page request.
pub fn page_view(
    row: &access_log::Model,
    extra: &RequestExtra,
    salt: &str,
    country: Option<String>,
) -> Option<PageView> {
    if !is_page(&row.method, &row.path) {
        return None;
    }
    let path = route_path(&row.path);
    Some(PageView {
        event_id: row.event_id.clone(),
        ts: row.ts,
        day: row.ts.date_naive(),
        visitor_hash: visitor_hash(salt, row),
        number: number_of(&path).unwrap_or_default(),
        path,
        referrer: referrer_domain(&row.referrer, &extra.host),
        utm_source: extra
            .utm_source
            .trim()
            .to_lowercase()
            .chars()
            .take(64)
            .collect(),
        browser: row.browser_family.clone(),
        os: row.os_family.clone(),
        device: row.device_class.clone(),
        country: country.unwrap_or_default(),
        is_bot: row.device_class == "bot",
        status: row.status,
        pageview: (200..400).contains(&row.status),
    })
}

/// How a day is written in `day` columns: `YYYY-MM-DD`.
pub(crate) fn day_key(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

impl Stats {
    /// The salt of `day`, created when missing (every replica agrees: the
    /// first insert wins).
    pub async fn day_salt(&self, day: NaiveDate) -> Result<String, DbErr> {
        if let Some(salt) = lock(&self.salts).get(&day) {
            return Ok(salt.clone());
        }
        let key = day_key(day);
        let fresh = hex::encode(rand::rng().random::<[u8; 32]>());
        let insert = format!(
            "INSERT INTO {SALT_TABLE} (day, salt) VALUES ({}, {}) ON CONFLICT (day) DO NOTHING",
            self.db.placeholder(1),
            self.db.placeholder(2)
        );
        self.db
            .execute(insert, vec![Value::from(key.clone()), Value::from(fresh)])
            .await?;
        let select = format!(
            "SELECT salt FROM {SALT_TABLE} WHERE day = {}",
            self.db.placeholder(1)
        );
        let row = self
            .db
            .one(select, vec![Value::from(key)])
            .await?
            .ok_or_else(|| DbErr::RecordNotFound(format!("salt of {day}")))?;
        let salt: String = row.try_get("", "salt")?;
        let mut salts = lock(&self.salts);
        // Only recent days are ever asked for again.
        if salts.len() > 16 {
            salts.retain(|d, _| *d + Days::new(SALT_KEEP_DAYS + 1) >= day);
        }
        salts.insert(day, salt.clone());
        Ok(salt)
    }

    /// Days that have a salt, oldest first.
    pub async fn salt_days(&self) -> Result<Vec<NaiveDate>, DbErr> {
        let rows = self
            .db
            .all(
                format!("SELECT day FROM {SALT_TABLE} ORDER BY day"),
                Vec::new(),
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| r.try_get::<String>("", "day").ok())
            .filter_map(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
            .collect())
    }

    /// Deletes the salts of days before `now`'s day minus [`SALT_KEEP_DAYS`] - 1
    /// (today's and yesterday's stay); returns how many.
    pub(crate) async fn sweep_salts(&self, now: DateTime<Utc>) -> Result<u64, DbErr> {
        let keep_from = now
            .date_naive()
            .checked_sub_days(Days::new(SALT_KEEP_DAYS - 1))
            .unwrap_or(NaiveDate::MIN);
        let sql = format!(
            "DELETE FROM {SALT_TABLE} WHERE day < {}",
            self.db.placeholder(1)
        );
        let deleted = self
            .db
            .execute(sql, vec![Value::from(day_key(keep_from))])
            .await?;
        lock(&self.salts).retain(|day, _| *day >= keep_from);
        Ok(deleted)
    }

    /// The statistics rows of the request rows among `rows` (salts created
    /// on demand).
    pub(crate) async fn page_views(&self, rows: &[LogRow]) -> Result<Vec<PageView>, DbErr> {
        let mut salts: HashMap<NaiveDate, String> = HashMap::new();
        let mut views = Vec::new();
        for row in rows {
            let LogRow::Request(model, extra) = row else {
                continue;
            };
            if !is_page(&model.method, &model.path) {
                continue;
            }
            let day = model.ts.date_naive();
            let salt = match salts.get(&day) {
                Some(salt) => salt.clone(),
                None => {
                    let salt = self.day_salt(day).await?;
                    salts.insert(day, salt.clone());
                    salt
                }
            };
            let country = self
                .countries
                .as_ref()
                .and_then(|c| model.ip.parse::<IpAddr>().ok().and_then(|ip| c.country(ip)));
            views.extend(page_view(model, extra, &salt, country));
        }
        Ok(views)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::schema::STAT_PAGEVIEWS;

    #[test]
    fn pages_are_told_from_other_requests() {
        assert!(is_page("GET", "/"));
        assert!(is_page("GET", "/numbers/+447700900461"));
        assert!(is_page("GET", "/countries/gb"));
        assert!(!is_page("POST", "/"));
        assert!(!is_page("GET", "/static/site.css"));
        assert!(!is_page("GET", "/api/v1/numbers"));
        assert!(!is_page("GET", "/admin/stats"));
        assert!(!is_page("GET", "/my-data"));
        assert!(!is_page("GET", "/gate"));
        assert!(!is_page("GET", "/numbers/+447700900461/events"));
        assert!(!is_page("GET", "/numbers/+447700900461/feed.atom"));
        assert!(!is_page("GET", "/robots.txt"));
        assert!(!is_page("GET", "/wp-login.php"));
    }

    #[test]
    fn numbers_and_paths_are_route_shaped() {
        assert_eq!(route_path("/latest/"), "/latest");
        assert_eq!(route_path("/"), "/");
        assert_eq!(
            number_of("/numbers/+447700900461").as_deref(),
            Some("+447700900461")
        );
        assert_eq!(
            number_of("/numbers/%2B447700900461").as_deref(),
            Some("+447700900461")
        );
        assert_eq!(number_of("/numbers/abc"), None);
        assert_eq!(number_of("/latest"), None);
    }

    #[test]
    fn referrers_keep_outside_hosts_only() {
        assert_eq!(
            referrer_domain("https://www.google.com", "cloudsms.test"),
            "google.com"
        );
        assert_eq!(
            referrer_domain("https://cloudsms.test:8443", "cloudsms.test"),
            ""
        );
        assert_eq!(
            referrer_domain("https://www.cloudsms.test", "cloudsms.test"),
            ""
        );
        assert_eq!(referrer_domain("", "cloudsms.test"), "");
        assert_eq!(
            referrer_domain("http://News.YCombinator.com", ""),
            "news.ycombinator.com"
        );
    }

    #[test]
    fn hashes_depend_on_the_salt() {
        let row = access_log::Model {
            event_id: "e".into(),
            ts: Utc::now(),
            visitor_id: "v".into(),
            ip: String::new(),
            method: "GET".into(),
            path: "/".into(),
            status: 200,
            latency_us: 0,
            referrer: String::new(),
            browser_family: String::new(),
            browser_version: String::new(),
            os_family: String::new(),
            device_class: "desktop".into(),
            language: String::new(),
            trace_id: String::new(),
        };
        let a = visitor_hash("salt-1", &row);
        assert_eq!(a.len(), 32);
        assert_eq!(a, visitor_hash("salt-1", &row));
        assert_ne!(a, visitor_hash("salt-2", &row));
    }

    #[test]
    fn page_view_values_fit_the_statistics_table() {
        let row = LogRow::from_request(
            proto::events::v1::RequestLogged {
                method: "GET".into(),
                path: "/numbers/+447700900461".into(),
                status: 200,
                ..Default::default()
            },
            Utc::now(),
        );
        let LogRow::Request(model, extra) = row else {
            unreachable!("a request row")
        };
        let view = page_view(&model, &extra, "salt", None).unwrap();
        STAT_PAGEVIEWS.assert_fits(&view.values());
    }
}
