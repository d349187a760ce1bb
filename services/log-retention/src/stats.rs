//! Anonymous visitor statistics for the operator.
//!
//! Every stored `RequestLogged` that is a page request also becomes a row of
//! `stat_pageviews`: no visitor id and no address, only `visitor_hash`, the
//! SHA-256 of the id with a random salt of the event's UTC day. Salts live in
//! `stat_salts`, are created on demand and deleted by the sweep two days
//! later, after which a day's hashes cannot be recomputed from an id: counts
//! survive, ids cannot be joined across days. A visitor seen on two days
//! counts as two visitors, and a visit is cut at UTC midnight.
//!
//! The rows share the event id and time of their access-log row, the same
//! unique key and the same retention (day partitions on Postgres).

use std::collections::HashMap;
use std::fmt::Debug;
use std::net::IpAddr;
use std::path::Path;

use chrono::{DateTime, Days, NaiveDate, Utc};
use rand::Rng;
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use sha2::{Digest, Sha256};

use crate::entities::access_log;
use crate::logstore::{LogStore, lock};
use crate::tables::RequestExtra;

/// The anonymous page-view table.
pub const STAT_TABLE: &str = "stat_pageviews";
/// The daily salts.
pub const SALT_TABLE: &str = "stat_salts";
/// A gap this long (or longer) between two page views starts a new visit.
pub const VISIT_GAP_SECS: i64 = 30 * 60;
/// "Current visitors" looks back this far.
pub const CURRENT_WINDOW_SECS: i64 = 5 * 60;
/// A day's salt is deleted once this many days have begun after it.
pub const SALT_KEEP_DAYS: u64 = 2;
/// Longest range a query answers, in days.
pub const MAX_RANGE_DAYS: i64 = 400;

/// Columns of `stat_pageviews` after `event_id, ts` (true = integer).
pub(crate) const STAT_COLUMNS: &[(&str, bool)] = &[
    ("t", true),
    ("day", false),
    ("visitor_hash", false),
    ("path", false),
    ("number", false),
    ("referrer", false),
    ("utm_source", false),
    ("browser", false),
    ("os", false),
    ("device", false),
    ("country", false),
    ("is_bot", true),
    ("status", true),
    ("pageview", true),
];

/// Country of a client address: the hook for a GeoIP database.
pub trait CountryLookup: Send + Sync + Debug {
    /// ISO 3166-1 alpha-2 code, upper case, or `None`.
    fn country(&self, ip: IpAddr) -> Option<String>;
}

/// Errors loading a country database.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not `first_ip,last_ip,CC`.
    #[error("{path} line {line}: expected first_ip,last_ip,country")]
    Line {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
    },
}

/// A country database from a CSV of address ranges, one
/// `first_ip,last_ip,country_code` per line (the format of the free DB-IP
/// "IP to Country Lite" file); IPv4 and IPv6; a header line is skipped.
#[derive(Debug, Default)]
pub struct CsvCountries {
    /// `(first, last, code)`, sorted by `first`; IPv4 as IPv4-mapped IPv6.
    ranges: Vec<(u128, u128, String)>,
}

fn ip_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

impl CsvCountries {
    /// Parses the CSV text.
    pub fn parse(text: &str, path: &str) -> Result<Self, GeoError> {
        let mut ranges = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cells: Vec<&str> = line
                .split(',')
                .map(|c| c.trim().trim_matches('"'))
                .collect();
            let parsed = match cells.as_slice() {
                [first, last, cc, ..] => first
                    .parse::<IpAddr>()
                    .ok()
                    .zip(last.parse::<IpAddr>().ok())
                    .map(|(a, b)| (ip_key(a), ip_key(b), cc.to_ascii_uppercase())),
                _ => None,
            };
            match parsed {
                Some(range) if range.2.len() == 2 => ranges.push(range),
                // A header line.
                None if n == 0 => {}
                _ => {
                    return Err(GeoError::Line {
                        path: path.to_owned(),
                        line: n + 1,
                    });
                }
            }
        }
        ranges.sort_by_key(|r| r.0);
        Ok(Self { ranges })
    }

    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, GeoError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| GeoError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text, &shown)
    }

    /// Ranges loaded.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// True when no range was loaded.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

impl CountryLookup for CsvCountries {
    fn country(&self, ip: IpAddr) -> Option<String> {
        let key = ip_key(ip);
        let at = self.ranges.partition_point(|r| r.0 <= key);
        let (_, last, cc) = self.ranges.get(at.checked_sub(1)?)?;
        (key <= *last).then(|| cc.clone())
    }
}

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
    /// Values after `event_id, ts`, in [`STAT_COLUMNS`] order.
    pub(crate) fn values(&self) -> Vec<Value> {
        let s = |v: &str| Value::from(v.to_owned());
        vec![
            Value::from(self.ts.timestamp()),
            s(&self.day.format("%Y-%m-%d").to_string()),
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

/// Headline numbers of one period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    /// Distinct daily visitor hashes.
    pub visitors: u64,
    /// Visits.
    pub visits: u64,
    /// Page views.
    pub pageviews: u64,
    /// Visits of one page view.
    pub bounces: u64,
    /// Sum of visit durations, seconds.
    pub duration_secs: u64,
    /// Page views of crawlers (always counted).
    pub bot_pageviews: u64,
    /// Page views of everyone (always counted).
    pub all_pageviews: u64,
    /// Crash reports.
    pub crashes: u64,
}

impl Totals {
    /// bounces / visits.
    pub fn bounce_rate(&self) -> f64 {
        ratio(self.bounces, self.visits)
    }

    /// Mean visit duration in seconds.
    pub fn mean_visit_secs(&self) -> f64 {
        ratio(self.duration_secs, self.visits)
    }

    /// Crawler page views / all page views.
    pub fn crawler_share(&self) -> f64 {
        ratio(self.bot_pageviews, self.all_pageviews)
    }
}

#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// One row of a top list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Page, referrer, browser, ...
    pub key: String,
    /// Distinct daily visitor hashes (crash messages: distinct visitor ids).
    pub visitors: u64,
    /// Page views (entry pages: visits begun there; crashes: reports).
    pub pageviews: u64,
}

/// A bucket of a series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    /// Start of the bucket.
    pub start: DateTime<Utc>,
    /// Distinct visitor hashes in the bucket.
    pub visitors: u64,
    /// Page views in the bucket.
    pub pageviews: u64,
}

/// Everything the operator's page shows for a range.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Range start (included).
    pub from: DateTime<Utc>,
    /// Range end (excluded).
    pub to: DateTime<Utc>,
    /// Crawlers counted too.
    pub include_bots: bool,
    /// Numbers of the range.
    pub totals: Totals,
    /// Start of the previous period of the same length (it ends at `from`).
    pub previous_from: DateTime<Utc>,
    /// Numbers of the previous period.
    pub previous: Totals,
    /// Visitors in the last 5 minutes before `now`.
    pub current_visitors: u64,
    /// Most viewed pages.
    pub top_pages: Vec<Entry>,
    /// Most viewed numbers.
    pub top_numbers: Vec<Entry>,
    /// Where visits began.
    pub entry_pages: Vec<Entry>,
    /// Outside referring sites.
    pub referrers: Vec<Entry>,
    /// `utm_source` values.
    pub utm_sources: Vec<Entry>,
    /// Browser families.
    pub browsers: Vec<Entry>,
    /// OS families.
    pub operating_systems: Vec<Entry>,
    /// Device classes.
    pub devices: Vec<Entry>,
    /// Countries (empty without a country database).
    pub countries: Vec<Entry>,
    /// Most frequent crash messages.
    pub crash_messages: Vec<Entry>,
    /// Every UTC day of the range.
    pub days: Vec<Point>,
    /// Every hour of the range.
    pub hours: Vec<Point>,
}

/// A query of the statistics.
#[derive(Debug, Clone, Copy)]
pub struct Query {
    /// Range start (included).
    pub from: DateTime<Utc>,
    /// Range end (excluded).
    pub to: DateTime<Utc>,
    /// Count crawlers too.
    pub include_bots: bool,
    /// Rows per top list.
    pub limit: u32,
}

fn get_u64(row: &QueryResult, col: &str) -> Result<u64, DbErr> {
    let n = row.try_get::<Option<i64>>("", col)?.unwrap_or(0);
    Ok(u64::try_from(n).unwrap_or(0))
}

fn sort_entries(entries: &mut [Entry]) {
    entries.sort_by(|a, b| {
        b.pageviews
            .cmp(&a.pageviews)
            .then_with(|| a.key.cmp(&b.key))
    });
}

impl LogStore {
    /// The salt of `day`, created when missing (every replica agrees: the
    /// first insert wins).
    pub async fn day_salt(&self, day: NaiveDate) -> Result<String, DbErr> {
        if let Some(salt) = lock(&self.salts).get(&day) {
            return Ok(salt.clone());
        }
        let key = day.format("%Y-%m-%d").to_string();
        let fresh = hex::encode(rand::rng().random::<[u8; 32]>());
        let insert = format!(
            "INSERT INTO {SALT_TABLE} (day, salt) VALUES ({}, {}) ON CONFLICT (day) DO NOTHING",
            self.placeholder(1),
            self.placeholder(2)
        );
        self.db
            .execute_raw(self.stmt(insert, vec![Value::from(key.clone()), Value::from(fresh)]))
            .await?;
        let select = format!(
            "SELECT salt FROM {SALT_TABLE} WHERE day = {}",
            self.placeholder(1)
        );
        let row = self
            .db
            .query_one_raw(self.stmt(select, vec![Value::from(key)]))
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
            .query_all_raw(self.stmt(
                format!("SELECT day FROM {SALT_TABLE} ORDER BY day"),
                Vec::new(),
            ))
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
            self.placeholder(1)
        );
        let deleted = self
            .db
            .execute_raw(self.stmt(
                sql,
                vec![Value::from(keep_from.format("%Y-%m-%d").to_string())],
            ))
            .await?
            .rows_affected();
        lock(&self.salts).retain(|day, _| *day >= keep_from);
        Ok(deleted)
    }

    /// The statistics rows of the request rows among `rows` (salts created
    /// on demand).
    pub(crate) async fn page_views(
        &self,
        rows: &[crate::tables::LogRow],
    ) -> Result<Vec<PageView>, DbErr> {
        let mut salts: HashMap<NaiveDate, String> = HashMap::new();
        let mut views = Vec::new();
        for row in rows {
            let crate::tables::LogRow::Request(model, extra) = row else {
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

    /// The `INSERT` of statistics rows (idempotent on the event id).
    pub(crate) fn stat_insert_statement(&self, rows: &[PageView]) -> sea_orm::Statement {
        self.idempotent_insert(
            STAT_TABLE,
            STAT_COLUMNS.iter().map(|(c, _)| *c),
            rows.iter()
                .map(|row| (row.event_id.clone(), row.ts, row.values())),
        )
    }

    /// Rows of `stat_pageviews` (tests, metrics).
    pub async fn stat_rows(&self) -> Result<u64, DbErr> {
        let row = self
            .db
            .query_one_raw(self.stmt(
                format!("SELECT COUNT(*) AS n FROM {STAT_TABLE}"),
                Vec::new(),
            ))
            .await?;
        row.map_or(Ok(0), |r| get_u64(&r, "n"))
    }

    /// Distinct visitor hashes stored for `day` (tests).
    pub async fn visitor_hashes(&self, day: NaiveDate) -> Result<Vec<String>, DbErr> {
        let rows = self
            .db
            .query_all_raw(self.stmt(
                format!(
                    "SELECT DISTINCT visitor_hash FROM {STAT_TABLE} WHERE day = {} ORDER BY visitor_hash",
                    self.placeholder(1)
                ),
                vec![Value::from(day.format("%Y-%m-%d").to_string())],
            ))
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String>("", "visitor_hash"))
            .collect()
    }

    fn range_values(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Value> {
        vec![Value::from(from), Value::from(to)]
    }

    /// `ts` in the range, page views only, crawlers unless asked for.
    fn base_filter(&self, include_bots: bool) -> String {
        format!(
            "ts >= {} AND ts < {} AND pageview = 1{}",
            self.placeholder(1),
            self.placeholder(2),
            if include_bots { "" } else { " AND is_bot = 0" }
        )
    }

    /// The CTE that marks the first page view of every visit (`start`).
    fn visits_cte(&self, include_bots: bool) -> String {
        format!(
            "WITH p AS (SELECT visitor_hash, t, path, event_id, \
               LAG(t) OVER (PARTITION BY visitor_hash ORDER BY t, event_id) AS prev \
               FROM {STAT_TABLE} WHERE {base}), \
             s AS (SELECT visitor_hash, t, path, event_id, \
               CASE WHEN prev IS NULL OR t - prev >= {VISIT_GAP_SECS} THEN 1 ELSE 0 END AS start \
               FROM p)",
            base = self.base_filter(include_bots)
        )
    }

    async fn one(&self, sql: String, values: Vec<Value>) -> Result<Option<QueryResult>, DbErr> {
        self.db.query_one_raw(self.stmt(sql, values)).await
    }

    /// Totals of `[from, to)`.
    pub async fn totals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        include_bots: bool,
    ) -> Result<Totals, DbErr> {
        let range = || Self::range_values(from, to);
        let mut totals = Totals::default();
        let sql = format!(
            "SELECT COUNT(*) AS views, COUNT(DISTINCT visitor_hash) AS visitors \
             FROM {STAT_TABLE} WHERE {}",
            self.base_filter(include_bots)
        );
        if let Some(row) = self.one(sql, range()).await? {
            totals.pageviews = get_u64(&row, "views")?;
            totals.visitors = get_u64(&row, "visitors")?;
        }
        let sql = format!(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(is_bot), 0) AS BIGINT) AS bots \
             FROM {STAT_TABLE} WHERE {}",
            self.base_filter(true)
        );
        if let Some(row) = self.one(sql, range()).await? {
            totals.all_pageviews = get_u64(&row, "n")?;
            totals.bot_pageviews = get_u64(&row, "bots")?;
        }
        let sql = format!(
            "{cte}, g AS (SELECT visitor_hash, t, SUM(start) OVER (PARTITION BY visitor_hash \
               ORDER BY t, event_id ROWS UNBOUNDED PRECEDING) AS visit FROM s), \
             v AS (SELECT COUNT(*) AS views, MAX(t) - MIN(t) AS duration FROM g \
               GROUP BY visitor_hash, visit) \
             SELECT COUNT(*) AS visits, \
               CAST(COALESCE(SUM(CASE WHEN views = 1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS bounces, \
               CAST(COALESCE(SUM(duration), 0) AS BIGINT) AS duration FROM v",
            cte = self.visits_cte(include_bots)
        );
        if let Some(row) = self.one(sql, range()).await? {
            totals.visits = get_u64(&row, "visits")?;
            totals.bounces = get_u64(&row, "bounces")?;
            totals.duration_secs = get_u64(&row, "duration")?;
        }
        let sql = format!(
            "SELECT COUNT(*) AS n FROM crash_reports WHERE ts >= {} AND ts < {}",
            self.placeholder(1),
            self.placeholder(2)
        );
        if let Some(row) = self.one(sql, range()).await? {
            totals.crashes = get_u64(&row, "n")?;
        }
        Ok(totals)
    }

    async fn entries(&self, sql: String, values: Vec<Value>) -> Result<Vec<Entry>, DbErr> {
        let rows = self.db.query_all_raw(self.stmt(sql, values)).await?;
        let mut entries = rows
            .iter()
            .map(|r| {
                Ok(Entry {
                    key: r.try_get::<String>("", "k")?,
                    visitors: get_u64(r, "visitors")?,
                    pageviews: get_u64(r, "views")?,
                })
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        sort_entries(&mut entries);
        Ok(entries)
    }

    /// Top values of a column of `stat_pageviews`, by page views.
    async fn top(&self, column: &str, q: &Query) -> Result<Vec<Entry>, DbErr> {
        debug_assert!(STAT_COLUMNS.iter().any(|(c, _)| *c == column));
        let sql = format!(
            "SELECT {column} AS k, COUNT(DISTINCT visitor_hash) AS visitors, COUNT(*) AS views \
             FROM {STAT_TABLE} WHERE {base} AND {column} <> '' GROUP BY {column} \
             ORDER BY views DESC, k LIMIT {limit}",
            base = self.base_filter(q.include_bots),
            limit = q.limit
        );
        self.entries(sql, Self::range_values(q.from, q.to)).await
    }

    /// The whole report of `q`, with `now` for the current visitors.
    pub async fn report(&self, q: &Query, now: DateTime<Utc>) -> Result<Report, DbErr> {
        let span = q.to - q.from;
        let previous_from = q.from - span;
        let totals = self.totals(q.from, q.to, q.include_bots).await?;
        let previous = self.totals(previous_from, q.from, q.include_bots).await?;
        let current = {
            let sql = format!(
                "SELECT COUNT(DISTINCT visitor_hash) AS n FROM {STAT_TABLE} WHERE {}",
                self.base_filter(q.include_bots)
            );
            let window = Self::range_values(
                now - chrono::Duration::seconds(CURRENT_WINDOW_SECS),
                now + chrono::Duration::seconds(1),
            );
            match self.one(sql, window).await? {
                Some(row) => get_u64(&row, "n")?,
                None => 0,
            }
        };
        let entry_pages = {
            let sql = format!(
                "{cte} SELECT path AS k, COUNT(DISTINCT visitor_hash) AS visitors, \
                 COUNT(*) AS views FROM s WHERE start = 1 GROUP BY path \
                 ORDER BY views DESC, k LIMIT {limit}",
                cte = self.visits_cte(q.include_bots),
                limit = q.limit
            );
            self.entries(sql, Self::range_values(q.from, q.to)).await?
        };
        let crash_messages = {
            let sql = format!(
                "SELECT message AS k, COUNT(DISTINCT visitor_id) AS visitors, COUNT(*) AS views \
                 FROM crash_reports WHERE ts >= {} AND ts < {} GROUP BY message \
                 ORDER BY views DESC, k LIMIT {limit}",
                self.placeholder(1),
                self.placeholder(2),
                limit = q.limit
            );
            self.entries(sql, Self::range_values(q.from, q.to)).await?
        };
        Ok(Report {
            from: q.from,
            to: q.to,
            include_bots: q.include_bots,
            totals,
            previous_from,
            previous,
            current_visitors: current,
            top_pages: self.top("path", q).await?,
            top_numbers: self.top("number", q).await?,
            entry_pages,
            referrers: self.top("referrer", q).await?,
            utm_sources: self.top("utm_source", q).await?,
            browsers: self.top("browser", q).await?,
            operating_systems: self.top("os", q).await?,
            devices: self.top("device", q).await?,
            countries: self.top("country", q).await?,
            crash_messages,
            days: self.series(q, 86_400).await?,
            hours: self.series(q, 3_600).await?,
        })
    }

    /// Buckets of `bucket_secs` seconds (aligned to the Unix epoch, so UTC
    /// days and hours) covering the range, empty ones included.
    async fn series(&self, q: &Query, bucket_secs: i64) -> Result<Vec<Point>, DbErr> {
        let sql = format!(
            "SELECT t / {bucket_secs} AS b, COUNT(DISTINCT visitor_hash) AS visitors, \
             COUNT(*) AS views FROM {STAT_TABLE} WHERE {base} GROUP BY t / {bucket_secs}",
            base = self.base_filter(q.include_bots)
        );
        let rows = self
            .db
            .query_all_raw(self.stmt(sql, Self::range_values(q.from, q.to)))
            .await?;
        let mut found: HashMap<i64, (u64, u64)> = HashMap::new();
        for row in &rows {
            let bucket = row.try_get::<i64>("", "b")?;
            found.insert(bucket, (get_u64(row, "visitors")?, get_u64(row, "views")?));
        }
        let first = q.from.timestamp().div_euclid(bucket_secs);
        let last = (q.to.timestamp() - 1).div_euclid(bucket_secs);
        Ok((first..=last)
            .filter_map(|b| {
                let start = DateTime::from_timestamp(b * bucket_secs, 0)?;
                let (visitors, pageviews) = found.get(&b).copied().unwrap_or((0, 0));
                Some(Point {
                    start,
                    visitors,
                    pageviews,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

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
    fn csv_countries_find_ranges() {
        let db = CsvCountries::parse(
            "ip_start,ip_end,country\n1.0.0.0,1.0.0.255,au\n\
             2001:db8::,2001:db8::ffff,FR\n8.8.8.0,8.8.8.255,US\n",
            "test.csv",
        )
        .unwrap();
        assert_eq!(db.len(), 3);
        let c = |ip: &str| db.country(ip.parse().unwrap());
        assert_eq!(c("1.0.0.7").as_deref(), Some("AU"));
        assert_eq!(c("8.8.8.8").as_deref(), Some("US"));
        assert_eq!(c("2001:db8::1").as_deref(), Some("FR"));
        assert_eq!(c("9.9.9.9"), None);
        assert!(CsvCountries::parse("a,b,c\nnot,an,ip\n", "x").is_err());
    }
}
