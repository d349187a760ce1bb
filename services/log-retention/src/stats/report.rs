//! The operator's report: the SQL over `stat_pageviews` (and the crash
//! reports) behind `StatsService`, its `Stats` report and its daily
//! `VisitorStats`.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use sea_orm::{DbErr, Value};

use super::Stats;
use super::pageview::day_key;
use crate::db::{day_start, get_u64};
use crate::schema::{STAT_PAGEVIEWS, STAT_TABLE};

/// A gap this long (or longer) between two page views starts a new visit.
pub const VISIT_GAP_SECS: i64 = 30 * 60;
/// "Current visitors" looks back this far.
pub const CURRENT_WINDOW_SECS: i64 = 5 * 60;
/// Longest range a query answers, in days.
pub const MAX_RANGE_DAYS: i64 = 400;

/// Visitors and page views of one UTC day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayStats {
    /// The day.
    pub day: NaiveDate,
    /// Distinct visitor ids with at least one page view.
    pub visitors: u64,
    /// Page views: successful `GET`s of pages (not `/static/`, not `/api/`, not bots).
    pub page_views: u64,
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

/// The bind values of the range `[from, to)`.
fn range_values(from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Value> {
    vec![Value::from(from), Value::from(to)]
}

fn sort_entries(entries: &mut [Entry]) {
    entries.sort_by(|a, b| {
        b.pageviews
            .cmp(&a.pageviews)
            .then_with(|| a.key.cmp(&b.key))
    });
}

impl Stats {
    /// Rows of `stat_pageviews` (tests, metrics).
    pub async fn stat_rows(&self) -> Result<u64, DbErr> {
        self.db
            .count(
                format!("SELECT COUNT(*) AS n FROM {STAT_TABLE}"),
                Vec::new(),
            )
            .await
    }

    /// Distinct visitor hashes stored for `day` (tests).
    pub async fn visitor_hashes(&self, day: NaiveDate) -> Result<Vec<String>, DbErr> {
        let sql = format!(
            "SELECT DISTINCT visitor_hash FROM {STAT_TABLE} WHERE day = {} ORDER BY visitor_hash",
            self.db.placeholder(1)
        );
        let rows = self.db.all(sql, vec![Value::from(day_key(day))]).await?;
        rows.iter()
            .map(|r| r.try_get::<String>("", "visitor_hash"))
            .collect()
    }

    /// Daily unique visitors and page views for every day from `from` to
    /// `to`, both included: the report's daily series (page views by route
    /// kind, crawlers left out), days without traffic as zeros.
    pub async fn daily_stats(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayStats>, DbErr> {
        let end = to.checked_add_days(Days::new(1)).unwrap_or(to);
        let query = Query {
            from: day_start(from),
            to: day_start(end),
            include_bots: false,
            limit: 0,
        };
        if query.to <= query.from {
            return Ok(Vec::new());
        }
        Ok(self
            .series(&query, 86_400)
            .await?
            .into_iter()
            .map(|point| DayStats {
                day: point.start.date_naive(),
                visitors: point.visitors,
                page_views: point.pageviews,
            })
            .collect())
    }

    /// `ts` in the range of the first two parameters.
    fn in_range(&self) -> String {
        format!(
            "ts >= {} AND ts < {}",
            self.db.placeholder(1),
            self.db.placeholder(2)
        )
    }

    /// `ts` in the range, page views only, crawlers unless asked for.
    fn base_filter(&self, include_bots: bool) -> String {
        format!(
            "{} AND pageview = 1{}",
            self.in_range(),
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

    /// Totals of `[from, to)`.
    pub async fn totals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        include_bots: bool,
    ) -> Result<Totals, DbErr> {
        let range = || range_values(from, to);
        let mut totals = Totals::default();
        let sql = format!(
            "SELECT COUNT(*) AS views, COUNT(DISTINCT visitor_hash) AS visitors \
             FROM {STAT_TABLE} WHERE {}",
            self.base_filter(include_bots)
        );
        if let Some(row) = self.db.one(sql, range()).await? {
            totals.pageviews = get_u64(&row, "views")?;
            totals.visitors = get_u64(&row, "visitors")?;
        }
        let sql = format!(
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(is_bot), 0) AS BIGINT) AS bots \
             FROM {STAT_TABLE} WHERE {}",
            self.base_filter(true)
        );
        if let Some(row) = self.db.one(sql, range()).await? {
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
        if let Some(row) = self.db.one(sql, range()).await? {
            totals.visits = get_u64(&row, "visits")?;
            totals.bounces = get_u64(&row, "bounces")?;
            totals.duration_secs = get_u64(&row, "duration")?;
        }
        let sql = format!(
            "SELECT COUNT(*) AS n FROM crash_reports WHERE {}",
            self.in_range()
        );
        if let Some(row) = self.db.one(sql, range()).await? {
            totals.crashes = get_u64(&row, "n")?;
        }
        Ok(totals)
    }

    async fn entries(&self, sql: String, values: Vec<Value>) -> Result<Vec<Entry>, DbErr> {
        let rows = self.db.all(sql, values).await?;
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
        debug_assert!(STAT_PAGEVIEWS.has_column(column));
        let sql = format!(
            "SELECT {column} AS k, COUNT(DISTINCT visitor_hash) AS visitors, COUNT(*) AS views \
             FROM {STAT_TABLE} WHERE {base} AND {column} <> '' GROUP BY {column} \
             ORDER BY views DESC, k LIMIT {limit}",
            base = self.base_filter(q.include_bots),
            limit = q.limit
        );
        self.entries(sql, range_values(q.from, q.to)).await
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
            let window = range_values(
                now - chrono::Duration::seconds(CURRENT_WINDOW_SECS),
                now + chrono::Duration::seconds(1),
            );
            match self.db.one(sql, window).await? {
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
            self.entries(sql, range_values(q.from, q.to)).await?
        };
        let crash_messages = {
            let sql = format!(
                "SELECT message AS k, COUNT(DISTINCT visitor_id) AS visitors, COUNT(*) AS views \
                 FROM crash_reports WHERE {range} GROUP BY message \
                 ORDER BY views DESC, k LIMIT {limit}",
                range = self.in_range(),
                limit = q.limit
            );
            self.entries(sql, range_values(q.from, q.to)).await?
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
        let rows = self.db.all(sql, range_values(q.from, q.to)).await?;
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

    use chrono::Duration;

    use proto::events::v1::{DeviceClass, RequestLogged, RouteKind};

    use crate::LogRow;
    use crate::testutil::{now, rows_at, sqlite, ts};

    #[tokio::test]
    async fn daily_stats_count_page_views_and_distinct_visitors() {
        let (store, _dir) = sqlite().await;
        let day = now();
        let mut rows = rows_at(day, "a");
        rows.extend(rows_at(day, "a"));
        rows.extend(rows_at(day, "b"));
        rows.extend(rows_at(day - Duration::days(1), "a"));
        // Not page views: an API call, a crawler's page, a page answered 404.
        let request = |id: &str, kind: RouteKind, device: DeviceClass, status: u32| {
            LogRow::from_request(
                RequestLogged {
                    event_id: id.into(),
                    ts: ts(day),
                    visitor_id: "c".into(),
                    method: "GET".into(),
                    path: "/x".into(),
                    status,
                    route_kind: kind.into(),
                    device_class: device.into(),
                    ..Default::default()
                },
                day,
            )
        };
        rows.push(request("api", RouteKind::Api, DeviceClass::Desktop, 200));
        rows.push(request("bot", RouteKind::Page, DeviceClass::Bot, 200));
        rows.push(request("gone", RouteKind::Page, DeviceClass::Desktop, 404));
        store.insert_batch(&rows).await.unwrap();
        let stats = store
            .daily_stats((day - Duration::days(2)).date_naive(), day.date_naive())
            .await
            .unwrap();
        let got: Vec<(u64, u64)> = stats.iter().map(|d| (d.visitors, d.page_views)).collect();
        assert_eq!(got, vec![(0, 0), (1, 1), (2, 3)]);
    }
}
