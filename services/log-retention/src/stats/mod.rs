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
//!
//! - `pageview`: which requests are page views (by the route kind the
//!   gateway logged), the row each becomes, the daily salts.
//! - `report`: the operator's report over those rows.
//! - `geo`: the visitor's country, from a CSV country database.
//!
//! [`Stats`] is the handle on those tables; the log store keeps one and
//! writes the rows it derives with the log rows.

mod geo;
mod pageview;
mod report;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use chrono::NaiveDate;

pub use self::geo::{CountryLookup, CsvCountries, GeoError};
pub use self::pageview::{
    PageView, SALT_KEEP_DAYS, is_page, page_view, referrer_domain, visitor_hash,
};
pub use self::report::{
    CURRENT_WINDOW_SECS, DayStats, Entry, MAX_RANGE_DAYS, Point, Query, Report, Totals,
    VISIT_GAP_SECS,
};
use crate::db::Db;
pub use crate::schema::{SALT_TABLE, STAT_TABLE};

/// Handle on the statistics: the tables, the daily salts already read and
/// the country lookup; cheap to clone.
#[derive(Clone, Debug)]
pub struct Stats {
    db: Db,
    /// Daily salts already read.
    salts: Arc<Mutex<HashMap<NaiveDate, String>>>,
    /// Country of an address, when a database is configured.
    countries: Option<Arc<dyn CountryLookup>>,
}

impl Stats {
    /// The statistics on `db`, without countries.
    pub(crate) fn new(db: Db) -> Self {
        Self {
            db,
            salts: Arc::new(Mutex::new(HashMap::new())),
            countries: None,
        }
    }

    /// Records the country of each page view with `lookup` (a GeoIP database).
    #[must_use]
    pub(crate) fn with_countries(mut self, lookup: Arc<dyn CountryLookup>) -> Self {
        self.countries = Some(lookup);
        self
    }
}
