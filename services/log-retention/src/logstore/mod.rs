//! The log tables behind one handle, [`LogStore`]:
//!
//! - `copy`: the batch writer (binary `COPY` on Postgres, multi-row
//!   `INSERT` on SQLite), each event once, its page view with it.
//! - `partitions`: day partitions on Postgres and the retention sweep.
//! - `visitor`: a visitor's rows, counted, exported and deleted.
//! - `audit`: the audit log of operator actions (`admin_audit`), stored,
//!   listed and swept with the logs.
//!
//! The statistics (`stats`) live beside them: the store keeps their handle,
//! writes the page views in the same transaction as the log rows, sweeps
//! them with the logs, and answers their queries.

mod audit;
mod copy;
mod partitions;
mod visitor;

use std::collections::HashSet;
use std::sync::Arc;

use parking_lot::Mutex;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{DatabaseConnection, DbErr, Value};
use sea_orm_migration::MigratorTrait;

pub use self::audit::{
    AUDIT_DEFAULT_LIMIT, AUDIT_DELETE_BATCH, AUDIT_MAX_LIMIT, AuditPage, AuditQuery, AuditRow,
};
pub use self::copy::ROWS_PER_STATEMENT;
pub use self::partitions::{
    DAYS_AHEAD, EXPIRED_PREFIX, SQLITE_DELETE_BATCH, SweepReport, cutoff, partition_day,
    partition_name, table_partition_day, table_partition_name,
};
pub use self::visitor::{ExportCursor, KindCount, VISITOR_HASH, visitor_condition};
use crate::db::Db;
pub use crate::db::day_start;
use crate::migration::Migrator;
use crate::schema::Kind;
use crate::stats::{CountryLookup, DayStats, Query, Report, Stats};

/// Handle on log-retention's tables; cheap to clone.
#[derive(Clone, Debug)]
pub struct LogStore {
    db: Db,
    /// Partitions known to exist (Postgres); cleared on insert errors.
    partitions: Arc<Mutex<HashSet<String>>>,
    /// The statistics, written with the request rows.
    stats: Stats,
}

impl LogStore {
    /// Wraps a connection (usually the store crate's).
    pub fn new(conn: DatabaseConnection) -> Self {
        let db = Db::new(conn);
        Self {
            stats: Stats::new(db.clone()),
            db,
            partitions: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    /// Records the country of each page view with `lookup` (a GeoIP database).
    #[must_use]
    pub fn with_countries(mut self, lookup: Arc<dyn CountryLookup>) -> Self {
        self.stats = self.stats.with_countries(lookup);
        self
    }

    /// The connection.
    pub fn connection(&self) -> &DatabaseConnection {
        self.db.connection()
    }

    /// True on Postgres (partitioned tables).
    pub fn is_partitioned(&self) -> bool {
        self.db.is_postgres()
    }

    /// The statistics.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Applies log-retention's migrations (history in `seaql_migrations_retention`).
    pub async fn migrate(&self) -> Result<(), DbErr> {
        let conn = self.db.connection();
        store::with_schema_lock(conn, Migrator::up(conn, None)).await
    }

    /// Rows of `kind` in the table, all visitors (for tests and metrics).
    pub async fn count(&self, kind: Kind) -> Result<u64, DbErr> {
        let sql = format!("SELECT COUNT(*) AS n FROM {}", kind.table());
        self.db.count(sql, Vec::new()).await
    }

    /// Rows of `kind` older than `before`, all visitors.
    pub async fn count_older(&self, kind: Kind, before: DateTime<Utc>) -> Result<u64, DbErr> {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM {} WHERE ts < {}",
            kind.table(),
            self.db.placeholder(1)
        );
        self.db.count(sql, vec![Value::from(before)]).await
    }

    /// See [`Stats::daily_stats`].
    pub async fn daily_stats(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayStats>, DbErr> {
        self.stats.daily_stats(from, to).await
    }

    /// See [`Stats::report`].
    pub async fn report(&self, q: &Query, now: DateTime<Utc>) -> Result<Report, DbErr> {
        self.stats.report(q, now).await
    }

    /// See [`Stats::stat_rows`].
    pub async fn stat_rows(&self) -> Result<u64, DbErr> {
        self.stats.stat_rows().await
    }

    /// See [`Stats::visitor_hashes`].
    pub async fn visitor_hashes(&self, day: NaiveDate) -> Result<Vec<String>, DbErr> {
        self.stats.visitor_hashes(day).await
    }

    /// See [`Stats::salt_days`].
    pub async fn salt_days(&self) -> Result<Vec<NaiveDate>, DbErr> {
        self.stats.salt_days().await
    }
}
