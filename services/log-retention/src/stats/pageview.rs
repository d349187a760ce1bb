//! A page view derived from a logged request: which requests are pages
//! (by the route kind the gateway logged, [`is_page`]), the referrer and
//! the visitor's daily salted hash, and the daily salts.

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, Days, NaiveDate, Utc};
use proto::events::v1::RouteKind;
use rand::Rng;
use sea_orm::{DbErr, Value};
use sha2::{Digest, Sha256};

use super::Stats;
use crate::entities::access_log;
use crate::rows::{LogRow, RequestExtra, cap_bytes};
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
    /// The path as the gateway logged it (no query), at most 200 bytes.
    pub path: String,
    /// The number viewed, on a number's page (as the gateway logged it).
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

/// Longest path the statistics keep, in bytes.
const MAX_PATH: usize = 200;

/// True for requests of pages: a `GET` of a route the gateway logged as a
/// page (`/`, `/latest`, a country's or a number's page, `/privacy`); not
/// assets, the API, feeds, live streams, files, the crawler gate's
/// interstitial, the operator's pages, `/my-data` (looking at one's data
/// creates none) or a path no route matched. An event from a gateway that
/// did not log the route yet (unspecified kind) is stored in the access log
/// but is no page view.
pub fn is_page(method: &str, kind: RouteKind) -> bool {
    let page = matches!(
        kind,
        RouteKind::Page | RouteKind::NumberPage | RouteKind::CountryPage | RouteKind::InfoPage
    );
    page && method == "GET"
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
    if !is_page(&row.method, extra.route_kind) {
        return None;
    }
    Some(PageView {
        event_id: row.event_id.clone(),
        ts: row.ts,
        day: row.ts.date_naive(),
        visitor_hash: visitor_hash(salt, row),
        number: extra.number.clone(),
        path: cap_bytes(row.path.clone(), MAX_PATH),
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
        if let Some(salt) = self.salts.lock().get(&day) {
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
        let mut salts = self.salts.lock();
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
        self.salts.lock().retain(|day, _| *day >= keep_from);
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
            if !is_page(&model.method, extra.route_kind) {
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
    fn pages_are_told_from_other_requests_by_their_route() {
        for kind in [
            RouteKind::Page,
            RouteKind::NumberPage,
            RouteKind::CountryPage,
            RouteKind::InfoPage,
        ] {
            assert!(is_page("GET", kind), "{kind:?}");
            assert!(!is_page("POST", kind), "{kind:?}");
        }
        for kind in [
            RouteKind::Unspecified,
            RouteKind::Feed,
            RouteKind::Live,
            RouteKind::Api,
            RouteKind::CrashBeacon,
            RouteKind::SiteFile,
            RouteKind::Asset,
            RouteKind::Gate,
            RouteKind::MyData,
            RouteKind::Admin,
            RouteKind::NotFound,
        ] {
            assert!(!is_page("GET", kind), "{kind:?}");
        }
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

    fn request_row(event: proto::events::v1::RequestLogged) -> (access_log::Model, RequestExtra) {
        let LogRow::Request(model, extra) = LogRow::from_request(event, Utc::now()) else {
            unreachable!("a request row")
        };
        (model, extra)
    }

    #[test]
    fn a_number_page_view_keeps_the_path_and_the_logged_number() {
        let (model, extra) = request_row(proto::events::v1::RequestLogged {
            method: "GET".into(),
            path: "/numbers/%2B447700900461".into(),
            status: 200,
            route: "/numbers/{e164}".into(),
            route_kind: RouteKind::NumberPage.into(),
            number: "+447700900461".into(),
            ..Default::default()
        });
        let view = page_view(&model, &extra, "salt", None).unwrap();
        assert_eq!(view.path, "/numbers/%2B447700900461");
        assert_eq!(view.number, "+447700900461");
        assert!(view.pageview);
        STAT_PAGEVIEWS.assert_fits(&view.values());
    }

    #[test]
    fn an_older_gateways_request_is_no_page_view() {
        let (model, extra) = request_row(proto::events::v1::RequestLogged {
            method: "GET".into(),
            path: "/numbers/+447700900461".into(),
            status: 200,
            ..Default::default()
        });
        assert_eq!(page_view(&model, &extra, "salt", None), None);
    }

    #[test]
    fn long_paths_are_cut_on_a_character_boundary() {
        let (model, extra) = request_row(proto::events::v1::RequestLogged {
            method: "GET".into(),
            path: format!("/countries/{}", "é".repeat(200)),
            status: 404,
            route_kind: RouteKind::CountryPage.into(),
            ..Default::default()
        });
        let view = page_view(&model, &extra, "salt", None).unwrap();
        assert!(view.path.len() <= MAX_PATH && view.path.ends_with('é'));
        assert!(!view.pageview);
    }
}
