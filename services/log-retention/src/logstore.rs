//! The log tables: batched idempotent inserts, day partitions on Postgres,
//! the retention sweep, and the per-visitor queries behind the gRPC API.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait, Value,
};
use sea_orm_migration::MigratorTrait;

use crate::entities::{access_log, captcha_event, crash_report};
use crate::migration::Migrator;
use crate::stats::{CountryLookup, PageView, STAT_COLUMNS, STAT_TABLE};
use crate::tables::{Kind, LogRow};

/// Rows per multi-row `INSERT` statement (SQLite).
pub const ROWS_PER_STATEMENT: usize = 500;
/// Rows per `DELETE` when SQLite sweeps by timestamp.
pub const SQLITE_DELETE_BATCH: u64 = 1000;
/// Day partitions created ahead of today by each sweep (Postgres).
pub const DAYS_AHEAD: u64 = 3;

/// What a retention sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Whole day partitions detached (Postgres), dropped by
    /// [`LogStore::reclaim_expired`].
    pub dropped_partitions: Vec<String>,
    /// Rows deleted by timestamp (the boundary partition, or SQLite tables).
    pub deleted_rows: u64,
    /// Day partitions of `stat_pageviews` detached (Postgres).
    pub stat_dropped_partitions: Vec<String>,
    /// Rows of `stat_pageviews` deleted by timestamp.
    pub stat_deleted_rows: u64,
    /// Daily salts deleted (older than two days).
    pub deleted_salts: u64,
}

impl SweepReport {
    /// True when the sweep removed nothing.
    pub fn is_empty(&self) -> bool {
        self.dropped_partitions.is_empty()
            && self.deleted_rows == 0
            && self.stat_dropped_partitions.is_empty()
            && self.stat_deleted_rows == 0
            && self.deleted_salts == 0
    }
}

/// Rows of one kind kept for a visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindCount {
    /// Which table.
    pub kind: Kind,
    /// Rows of the visitor.
    pub rows: u64,
    /// Oldest row's time.
    pub oldest: Option<DateTime<Utc>>,
    /// Newest row's time.
    pub newest: Option<DateTime<Utc>>,
}

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

/// The staging table of `table` for the `COPY` path (Postgres, per session).
fn staging_table(table: &str) -> String {
    format!("cloudsms_stage_{table}")
}

fn sqlx_err(err: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Exec(sea_orm::RuntimeErr::SqlxError(Arc::new(err)))
}

/// Stores `data` (binary `COPY` format, `event_id, ts, columns...`) in
/// `table`, each event once; returns the rows inserted.
///
/// First straight into `table` with `COPY`, under a savepoint: a batch of
/// new events (nearly every batch) costs what `COPY` costs. When that hits
/// the unique key (a redelivered event, or a repeat inside the batch), back
/// to the savepoint, and the rows go through the staging table with
/// `INSERT ... SELECT ... ON CONFLICT DO NOTHING`, which skips the events
/// already stored. The staging table is emptied at commit.
async fn copy_and_merge<'a>(
    conn: &mut sea_orm::sqlx::PgConnection,
    table: &str,
    columns: impl IntoIterator<Item = &'a str>,
    data: &[u8],
) -> Result<u64, DbErr> {
    use sea_orm::sqlx::{self, AssertSqlSafe};

    let columns: Vec<String> = ["event_id", "ts"]
        .into_iter()
        .chain(columns)
        .map(|c| format!("\"{c}\""))
        .collect();
    let columns = columns.join(", ");
    sqlx::raw_sql("SAVEPOINT cloudsms_copy")
        .execute(&mut *conn)
        .await
        .map_err(sqlx_err)?;
    match copy_in(
        conn,
        &format!("COPY {table} ({columns}) FROM STDIN (FORMAT binary)"),
        data,
    )
    .await
    {
        Ok(copied) => return Ok(copied),
        Err(err)
            if err
                .as_database_error()
                .is_some_and(|e| e.is_unique_violation()) =>
        {
            sqlx::raw_sql("ROLLBACK TO SAVEPOINT cloudsms_copy")
                .execute(&mut *conn)
                .await
                .map_err(sqlx_err)?;
        }
        Err(err) => return Err(sqlx_err(err)),
    }
    let stage = staging_table(table);
    // Created once per pooled connection (the notice that it exists is not
    // worth a log line).
    sqlx::raw_sql(AssertSqlSafe(format!(
        "SET LOCAL client_min_messages = warning; \
         CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table}) ON COMMIT DELETE ROWS"
    )))
    .execute(&mut *conn)
    .await
    .map_err(sqlx_err)?;
    copy_in(
        conn,
        &format!("COPY {stage} ({columns}) FROM STDIN (FORMAT binary)"),
        data,
    )
    .await
    .map_err(sqlx_err)?;
    let merge = format!(
        "INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} \
         ON CONFLICT (event_id, ts) DO NOTHING"
    );
    let result = sqlx::query(AssertSqlSafe(merge))
        .execute(&mut *conn)
        .await
        .map_err(sqlx_err)?;
    Ok(result.rows_affected())
}

/// Runs `COPY ... FROM STDIN` `statement` with `data`; returns rows copied.
async fn copy_in(
    conn: &mut sea_orm::sqlx::PgConnection,
    statement: &str,
    data: &[u8],
) -> Result<u64, sea_orm::sqlx::Error> {
    let mut copy = conn.copy_in_raw(statement).await?;
    if let Err(err) = copy.send(data).await {
        // The transaction is rolled back when it is dropped.
        let _ = copy.abort(err.to_string()).await;
        return Err(err);
    }
    copy.finish().await
}

/// PostgreSQL's binary `COPY` format for the log and statistics rows.
mod copy {
    use chrono::{DateTime, Utc};
    use sea_orm::{DbErr, Value};

    /// Microseconds from the Unix epoch to 2000-01-01, Postgres' epoch.
    const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

    /// The binary `COPY` data of `rows` (event id, time, the other values),
    /// each with `fields` fields in all.
    pub(super) fn binary<'a>(
        fields: usize,
        rows: impl Iterator<Item = (&'a str, DateTime<Utc>, Vec<Value>)>,
    ) -> Result<Vec<u8>, DbErr> {
        let count = i16::try_from(fields)
            .map_err(|_| DbErr::Custom(format!("{fields} columns in a COPY row")))?;
        let mut buf = Vec::with_capacity(64 * 1024);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes()); // flags
        buf.extend_from_slice(&0i32.to_be_bytes()); // header extension
        for (event_id, ts, values) in rows {
            if values.len() + 2 != fields {
                return Err(DbErr::Custom(format!(
                    "COPY row of {} fields, expected {fields}",
                    values.len() + 2
                )));
            }
            buf.extend_from_slice(&count.to_be_bytes());
            text(&mut buf, event_id)?;
            timestamp(&mut buf, ts);
            for value in &values {
                match value {
                    Value::String(Some(s)) => text(&mut buf, s)?,
                    Value::BigInt(Some(n)) => bigint(&mut buf, *n),
                    Value::Int(Some(n)) => bigint(&mut buf, i64::from(*n)),
                    Value::ChronoDateTimeUtc(Some(t)) => timestamp(&mut buf, *t),
                    other => {
                        return Err(DbErr::Custom(format!(
                            "no binary COPY encoding for {other:?}"
                        )));
                    }
                }
            }
        }
        buf.extend_from_slice(&(-1i16).to_be_bytes());
        Ok(buf)
    }

    fn text(buf: &mut Vec<u8>, s: &str) -> Result<(), DbErr> {
        let len =
            i32::try_from(s.len()).map_err(|_| DbErr::Custom("text field over 2 GiB".into()))?;
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(s.as_bytes());
        Ok(())
    }

    fn bigint(buf: &mut Vec<u8>, n: i64) {
        buf.extend_from_slice(&8i32.to_be_bytes());
        buf.extend_from_slice(&n.to_be_bytes());
    }

    fn timestamp(buf: &mut Vec<u8>, t: DateTime<Utc>) {
        let micros = t.timestamp_micros().saturating_sub(PG_EPOCH_MICROS);
        buf.extend_from_slice(&8i32.to_be_bytes());
        buf.extend_from_slice(&micros.to_be_bytes());
    }

    #[cfg(test)]
    mod tests {
        #![allow(clippy::unwrap_used)]

        use chrono::TimeZone;

        use super::*;

        #[test]
        fn rows_are_encoded_in_postgres_binary_copy_format() {
            let t = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 1).unwrap();
            let data = binary(
                4,
                [(
                    "id",
                    t,
                    vec![Value::from("é".to_owned()), Value::from(-2i64)],
                )]
                .into_iter(),
            )
            .unwrap();
            let mut want = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0".to_vec();
            want.extend_from_slice(&4i16.to_be_bytes());
            want.extend_from_slice(&[0, 0, 0, 2, b'i', b'd']);
            want.extend_from_slice(&[0, 0, 0, 8]);
            want.extend_from_slice(&1_000_000i64.to_be_bytes());
            want.extend_from_slice(&[0, 0, 0, 2, 0xc3, 0xa9]);
            want.extend_from_slice(&[0, 0, 0, 8]);
            want.extend_from_slice(&(-2i64).to_be_bytes());
            want.extend_from_slice(&(-1i16).to_be_bytes());
            assert_eq!(data, want);
        }

        #[test]
        fn a_row_of_the_wrong_width_is_refused() {
            let t = Utc::now();
            assert!(binary(3, [("id", t, vec![])].into_iter()).is_err());
            assert!(binary(3, [("id", t, vec![Value::Bool(Some(true))])].into_iter()).is_err());
        }
    }
}

/// Position in an export: rows strictly after this `(ts, event_id)`.
pub type ExportCursor = (DateTime<Utc>, String);

/// Handle on log-retention's tables; cheap to clone.
#[derive(Clone, Debug)]
pub struct LogStore {
    pub(crate) db: DatabaseConnection,
    /// Partitions known to exist (Postgres); cleared on insert errors.
    partitions: Arc<Mutex<HashSet<String>>>,
    /// Daily salts of the statistics already read.
    pub(crate) salts: Arc<Mutex<HashMap<NaiveDate, String>>>,
    /// Country of an address, when a database is configured.
    pub(crate) countries: Option<Arc<dyn CountryLookup>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Start of `day` (UTC).
pub fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// Name prefix of the day partitions a sweep detached, until
/// [`LogStore::reclaim_expired`] drops them.
pub const EXPIRED_PREFIX: &str = "cloudsms_expired_";

/// Name of the partition of `kind` holding `day`.
pub fn partition_name(kind: Kind, day: NaiveDate) -> String {
    table_partition_name(kind.table(), day)
}

/// Name of the partition of `table` holding `day`.
pub fn table_partition_name(table: &str, day: NaiveDate) -> String {
    format!("{table}_p{}", day.format("%Y%m%d"))
}

/// The day a partition name stands for, when it is one of ours.
pub fn partition_day(kind: Kind, name: &str) -> Option<NaiveDate> {
    table_partition_day(kind.table(), name)
}

/// The day a partition name of `table` stands for, when it is one of ours.
pub fn table_partition_day(table: &str, name: &str) -> Option<NaiveDate> {
    let suffix = name.strip_prefix(table)?.strip_prefix("_p")?;
    NaiveDate::parse_from_str(suffix, "%Y%m%d").ok()
}

/// The oldest instant kept at `now`: rows strictly older are swept.
pub fn cutoff(now: DateTime<Utc>, retention_days: u32) -> DateTime<Utc> {
    now.checked_sub_days(Days::new(u64::from(retention_days)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

impl LogStore {
    /// Wraps a connection (usually the store crate's).
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            partitions: Arc::new(Mutex::new(HashSet::new())),
            salts: Arc::new(Mutex::new(HashMap::new())),
            countries: None,
        }
    }

    /// Records the country of each page view with `lookup` (a GeoIP database).
    #[must_use]
    pub fn with_countries(mut self, lookup: Arc<dyn CountryLookup>) -> Self {
        self.countries = Some(lookup);
        self
    }

    /// The connection.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// True on Postgres (partitioned tables).
    pub fn is_partitioned(&self) -> bool {
        self.backend() == DbBackend::Postgres
    }

    pub(crate) fn placeholder(&self, n: usize) -> String {
        if self.is_partitioned() {
            format!("${n}")
        } else {
            "?".to_owned()
        }
    }

    pub(crate) fn stmt(&self, sql: String, values: Vec<Value>) -> Statement {
        Statement::from_sql_and_values(self.backend(), sql, values)
    }

    /// Applies log-retention's migrations (history in `seaql_migrations_retention`).
    pub async fn migrate(&self) -> Result<(), DbErr> {
        store::with_schema_lock(&self.db, Migrator::up(&self.db, None)).await
    }

    /// Makes sure the partition of `kind` for `day` exists (Postgres; a no-op on SQLite).
    pub async fn ensure_partition(&self, kind: Kind, day: NaiveDate) -> Result<(), DbErr> {
        self.ensure_table_partition(kind.table(), day).await
    }

    /// Makes sure the partition of `table` for `day` exists (Postgres).
    async fn ensure_table_partition(&self, table: &str, day: NaiveDate) -> Result<(), DbErr> {
        if !self.is_partitioned() {
            return Ok(());
        }
        let name = table_partition_name(table, day);
        if lock(&self.partitions).contains(&name) {
            return Ok(());
        }
        let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} \
             FOR VALUES FROM ('{from}') TO ('{to}')",
            from = day_start(day).format("%Y-%m-%d %H:%M:%S+00"),
            to = day_start(next).format("%Y-%m-%d %H:%M:%S+00"),
        );
        if let Err(first) = self.db.execute_unprepared(&sql).await {
            // Another replica may have created it at the same moment.
            self.db.execute_unprepared(&sql).await.map_err(|_| first)?;
        }
        lock(&self.partitions).insert(name);
        Ok(())
    }

    /// Creates the partitions of every kind for `days` days from `from`.
    pub async fn prepare_days(&self, from: NaiveDate, days: u64) -> Result<(), DbErr> {
        for offset in 0..days {
            let Some(day) = from.checked_add_days(Days::new(offset)) else {
                break;
            };
            for kind in Kind::ALL {
                self.ensure_partition(kind, day).await?;
            }
            self.ensure_table_partition(STAT_TABLE, day).await?;
        }
        Ok(())
    }

    /// Stores `rows` and their statistics rows in one transaction (Postgres:
    /// binary `COPY`, falling back to a staging table and `INSERT ... SELECT
    /// ... ON CONFLICT DO NOTHING` when an event is already stored; SQLite:
    /// multi-row `INSERT ... ON CONFLICT DO NOTHING` statements); returns
    /// rows inserted (repeats of stored events are skipped).
    pub async fn insert_batch(&self, rows: &[LogRow]) -> Result<u64, DbErr> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut days: Vec<(Kind, NaiveDate)> = rows
            .iter()
            .map(|r| (r.kind(), r.ts().date_naive()))
            .collect();
        days.sort_by_key(|(k, d)| (k.index(), *d));
        days.dedup();
        for (kind, day) in days {
            self.ensure_partition(kind, day).await?;
        }
        // The anonymous statistics rows of the page requests, stored in the
        // same transaction under the same event ids.
        let views = self.page_views(rows).await?;
        let mut stat_days: Vec<NaiveDate> = views.iter().map(|v| v.day).collect();
        stat_days.sort();
        stat_days.dedup();
        for day in stat_days {
            self.ensure_table_partition(STAT_TABLE, day).await?;
        }
        let result = self.insert_in_transaction(rows, &views).await;
        if result.is_err() {
            // A partition may have been dropped under us: look again next time.
            lock(&self.partitions).clear();
        }
        result
    }

    async fn insert_in_transaction(
        &self,
        rows: &[LogRow],
        views: &[PageView],
    ) -> Result<u64, DbErr> {
        if self.is_partitioned() {
            return self.copy_in_transaction(rows, views).await;
        }
        let txn = self.db.begin().await?;
        let mut inserted = 0;
        for kind in Kind::ALL {
            let of_kind: Vec<&LogRow> = rows.iter().filter(|r| r.kind() == kind).collect();
            for chunk in of_kind.chunks(ROWS_PER_STATEMENT) {
                let stmt = self.insert_statement(kind, chunk);
                inserted += txn.execute_raw(stmt).await?.rows_affected();
            }
        }
        for chunk in views.chunks(ROWS_PER_STATEMENT) {
            txn.execute_raw(self.stat_insert_statement(chunk)).await?;
        }
        txn.commit().await?;
        Ok(inserted)
    }

    /// Postgres: each table's rows in one binary `COPY`, all in one
    /// transaction with the statistics rows: straight into the table when
    /// none of the events is stored yet, else through a session-local
    /// staging table and `INSERT ... SELECT ... ON CONFLICT DO NOTHING` (see
    /// [`copy_and_merge`]). The speed of `COPY` with the idempotency of the
    /// unique `(event_id, ts)`: a redelivered event, or a repeat inside the
    /// batch, is stored once, its statistics row too.
    async fn copy_in_transaction(&self, rows: &[LogRow], views: &[PageView]) -> Result<u64, DbErr> {
        let pool = self.db.get_postgres_connection_pool();
        let mut tx = pool.begin().await.map_err(sqlx_err)?;
        let mut inserted = 0;
        for kind in Kind::ALL {
            let of_kind: Vec<&LogRow> = rows.iter().filter(|r| r.kind() == kind).collect();
            if of_kind.is_empty() {
                continue;
            }
            let data = copy::binary(
                kind.columns().count() + 2,
                of_kind
                    .iter()
                    .map(|row| (row.event_id(), row.ts(), row.values())),
            )?;
            inserted += copy_and_merge(&mut tx, kind.table(), kind.columns(), &data).await?;
        }
        if !views.is_empty() {
            let data = copy::binary(
                STAT_COLUMNS.len() + 2,
                views
                    .iter()
                    .map(|v| (v.event_id.as_str(), v.ts, v.values())),
            )?;
            copy_and_merge(
                &mut tx,
                STAT_TABLE,
                STAT_COLUMNS.iter().map(|(c, _)| *c),
                &data,
            )
            .await?;
        }
        tx.commit().await.map_err(sqlx_err)?;
        Ok(inserted)
    }

    fn insert_statement(&self, kind: Kind, rows: &[&LogRow]) -> Statement {
        self.idempotent_insert(
            kind.table(),
            kind.columns(),
            rows.iter()
                .map(|row| (row.event_id().to_owned(), row.ts(), row.values())),
        )
    }

    /// `INSERT INTO table (event_id, ts, columns...) VALUES ... ON CONFLICT
    /// DO NOTHING` of `rows` (event id, time, the other columns' values):
    /// a redelivered event is stored once.
    pub(crate) fn idempotent_insert<'a>(
        &self,
        table: &str,
        columns: impl IntoIterator<Item = &'a str>,
        rows: impl Iterator<Item = (String, DateTime<Utc>, Vec<Value>)>,
    ) -> Statement {
        let columns: Vec<String> = ["event_id", "ts"]
            .into_iter()
            .chain(columns)
            .map(|c| format!("\"{c}\""))
            .collect();
        let mut values: Vec<Value> = Vec::new();
        let mut tuples = Vec::new();
        for (event_id, ts, rest) in rows {
            let mut tuple = Vec::with_capacity(columns.len());
            for value in [Value::from(event_id), Value::from(ts)]
                .into_iter()
                .chain(rest)
            {
                values.push(value);
                tuple.push(self.placeholder(values.len()));
            }
            tuples.push(format!("({})", tuple.join(", ")));
        }
        let target = if self.is_partitioned() {
            "(event_id, ts)"
        } else {
            "(event_id)"
        };
        let sql = format!(
            "INSERT INTO {table} ({cols}) VALUES {tuples} ON CONFLICT {target} DO NOTHING",
            cols = columns.join(", "),
            tuples = tuples.join(", "),
        );
        self.stmt(sql, values)
    }

    /// Partitions of `kind` that exist now, oldest first (empty on SQLite).
    pub async fn partitions(&self, kind: Kind) -> Result<Vec<String>, DbErr> {
        self.table_partitions(kind.table()).await
    }

    /// Partitions of `table` that exist now, oldest first (empty on SQLite).
    pub async fn table_partitions(&self, table: &str) -> Result<Vec<String>, DbErr> {
        if !self.is_partitioned() {
            return Ok(Vec::new());
        }
        self.names(
            "SELECT c.relname AS name FROM pg_inherits i \
             JOIN pg_class c ON c.oid = i.inhrelid \
             JOIN pg_class p ON p.oid = i.inhparent \
             WHERE p.relname = $1 ORDER BY c.relname",
            table,
        )
        .await
    }

    /// The `name` column of `sql` run with one text parameter.
    async fn names(&self, sql: &str, param: &str) -> Result<Vec<String>, DbErr> {
        let rows = self
            .db
            .query_all_raw(self.stmt(sql.to_owned(), vec![Value::from(param.to_owned())]))
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String>("", "name"))
            .collect()
    }

    /// Removes every row older than `now - retention_days` from every table.
    /// Postgres detaches whole day partitions before the cutoff (renamed
    /// `cloudsms_expired_<partition>`, out of every query at once; their
    /// files go in [`LogStore::reclaim_expired`]) and deletes the boundary
    /// partition's old rows by timestamp, then creates the partitions of the
    /// coming days; SQLite deletes by timestamp in bounded batches.
    /// Idempotent: a second sweep at the same `now` changes nothing.
    pub async fn sweep(
        &self,
        now: DateTime<Utc>,
        retention_days: u32,
    ) -> Result<SweepReport, DbErr> {
        let cutoff = cutoff(now, retention_days);
        let mut report = SweepReport::default();
        for kind in Kind::ALL {
            let (dropped, deleted) = self.sweep_table(kind.table(), cutoff).await?;
            report.dropped_partitions.extend(dropped);
            report.deleted_rows += deleted;
        }
        let (dropped, deleted) = self.sweep_table(STAT_TABLE, cutoff).await?;
        report.stat_dropped_partitions = dropped;
        report.stat_deleted_rows = deleted;
        report.deleted_salts = self.sweep_salts(now).await?;
        if self.is_partitioned() {
            self.prepare_days(now.date_naive(), DAYS_AHEAD + 1).await?;
        }
        Ok(report)
    }

    /// Drops the day partitions that sweeps detached (Postgres; none on
    /// SQLite), the one left by a sweep that died half-way included, and
    /// returns their names. Removing a partition's files takes time in
    /// proportion to its size (about 0.4 s per GB here); detached, it holds
    /// no lock on the log tables meanwhile.
    pub async fn reclaim_expired(&self) -> Result<Vec<String>, DbErr> {
        if !self.is_partitioned() {
            return Ok(Vec::new());
        }
        let names = self
            .names(
                "SELECT c.relname AS name FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = current_schema() AND c.relkind = 'r' \
                 AND NOT c.relispartition AND starts_with(c.relname, $1) \
                 ORDER BY c.relname",
                EXPIRED_PREFIX,
            )
            .await?;
        let mut dropped = Vec::with_capacity(names.len());
        for name in names {
            // Only names we make: a prefix and a partition of ours.
            let ours = name.strip_prefix(EXPIRED_PREFIX).is_some_and(|partition| {
                Kind::ALL
                    .iter()
                    .map(|k| k.table())
                    .chain([STAT_TABLE])
                    .any(|table| table_partition_day(table, partition).is_some())
            });
            if !ours {
                continue;
            }
            self.db
                .execute_unprepared(&format!("DROP TABLE IF EXISTS {name}"))
                .await?;
            dropped.push(name);
        }
        Ok(dropped)
    }

    /// Removes the rows of `table` older than `cutoff`: returns the
    /// partitions detached and the rows deleted by timestamp.
    async fn sweep_table(
        &self,
        table: &str,
        cutoff: DateTime<Utc>,
    ) -> Result<(Vec<String>, u64), DbErr> {
        let mut dropped = Vec::new();
        let mut deleted_rows = 0;
        if self.is_partitioned() {
            for name in self.table_partitions(table).await? {
                let Some(day) = table_partition_day(table, &name) else {
                    continue;
                };
                let Some(end) = day.checked_add_days(Days::new(1)) else {
                    continue;
                };
                if day_start(end) <= cutoff {
                    // Out of the table at once (a short lock on the parent);
                    // its files go in `reclaim_expired`, which can take a
                    // while on a large day and blocks nobody then.
                    let detached = self
                        .db
                        .execute_unprepared(&format!(
                            "ALTER TABLE {table} DETACH PARTITION {name}; \
                             ALTER TABLE {name} RENAME TO {EXPIRED_PREFIX}{name}"
                        ))
                        .await;
                    lock(&self.partitions).remove(&name);
                    match detached {
                        Ok(_) => dropped.push(name),
                        // Another replica's sweep got there first.
                        Err(_) if !self.table_partitions(table).await?.contains(&name) => {}
                        Err(err) => return Err(err),
                    }
                }
            }
            let sql = format!("DELETE FROM {table} WHERE ts < $1");
            deleted_rows += self
                .db
                .execute_raw(self.stmt(sql, vec![Value::from(cutoff)]))
                .await?
                .rows_affected();
        } else {
            let sql = format!(
                "DELETE FROM {table} WHERE rowid IN \
                 (SELECT rowid FROM {table} WHERE ts < ? LIMIT {SQLITE_DELETE_BATCH})"
            );
            loop {
                let deleted = self
                    .db
                    .execute_raw(self.stmt(sql.clone(), vec![Value::from(cutoff)]))
                    .await?
                    .rows_affected();
                deleted_rows += deleted;
                if deleted < SQLITE_DELETE_BATCH {
                    break;
                }
            }
        }
        Ok((dropped, deleted_rows))
    }

    /// Rows, oldest and newest time of each kind for `visitor`.
    pub async fn summarize(&self, visitor: &str) -> Result<Vec<KindCount>, DbErr> {
        macro_rules! count {
            ($m:ident, $kind:expr) => {{
                let filter = $m::Column::VisitorId.eq(visitor);
                let rows = $m::Entity::find()
                    .filter(filter.clone())
                    .count(&self.db)
                    .await?;
                let oldest = $m::Entity::find()
                    .filter(filter.clone())
                    .order_by_asc($m::Column::Ts)
                    .one(&self.db)
                    .await?
                    .map(|m| m.ts);
                let newest = $m::Entity::find()
                    .filter(filter)
                    .order_by_desc($m::Column::Ts)
                    .one(&self.db)
                    .await?
                    .map(|m| m.ts);
                KindCount {
                    kind: $kind,
                    rows,
                    oldest,
                    newest,
                }
            }};
        }
        Ok(vec![
            count!(access_log, Kind::Request),
            count!(crash_report, Kind::Crash),
            count!(captcha_event, Kind::Captcha),
        ])
    }

    /// Up to `limit` rows of `kind` for `visitor` after `after`, oldest first,
    /// as JSON objects (field names are the column names).
    pub async fn export_page(
        &self,
        kind: Kind,
        visitor: &str,
        after: Option<&ExportCursor>,
        limit: u64,
    ) -> Result<Vec<(ExportCursor, serde_json::Value)>, DbErr> {
        macro_rules! page {
            ($m:ident) => {{
                let mut query = $m::Entity::find().filter($m::Column::VisitorId.eq(visitor));
                if let Some((ts, id)) = after {
                    query = query.filter(
                        $m::Column::Ts.gt(*ts).or($m::Column::Ts
                            .eq(*ts)
                            .and($m::Column::EventId.gt(id.as_str()))),
                    );
                }
                query
                    .order_by_asc($m::Column::Ts)
                    .order_by_asc($m::Column::EventId)
                    .limit(limit)
                    .all(&self.db)
                    .await?
                    .into_iter()
                    .map(|m| {
                        let cursor = (m.ts, m.event_id.clone());
                        let json = serde_json::to_value(&m).unwrap_or(serde_json::Value::Null);
                        (cursor, json)
                    })
                    .collect()
            }};
        }
        Ok(match kind {
            Kind::Request => page!(access_log),
            Kind::Crash => page!(crash_report),
            Kind::Captcha => page!(captcha_event),
        })
    }

    /// Deletes every row of `visitor`; returns the count per kind.
    pub async fn delete_visitor(&self, visitor: &str) -> Result<Vec<(Kind, u64)>, DbErr> {
        let mut counts = Vec::new();
        for kind in Kind::ALL {
            let sql = format!(
                "DELETE FROM {} WHERE visitor_id = {}",
                kind.table(),
                self.placeholder(1)
            );
            let deleted = self
                .db
                .execute_raw(self.stmt(sql, vec![Value::from(visitor.to_owned())]))
                .await?
                .rows_affected();
            counts.push((kind, deleted));
        }
        Ok(counts)
    }

    /// Daily unique visitors and page views for every day from `from` to
    /// `to`, both included.
    pub async fn daily_stats(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayStats>, DbErr> {
        let sql = format!(
            "SELECT COUNT(*) AS views, \
             COUNT(DISTINCT CASE WHEN visitor_id <> '' THEN visitor_id END) AS visitors \
             FROM access_log WHERE ts >= {p1} AND ts < {p2} AND method = 'GET' \
             AND status >= 200 AND status < 400 AND device_class <> 'bot' \
             AND path NOT LIKE '/static/%' AND path NOT LIKE '/api/%'",
            p1 = self.placeholder(1),
            p2 = self.placeholder(2),
        );
        let mut days = Vec::new();
        let mut day = from;
        while day <= to {
            let Some(next) = day.checked_add_days(Days::new(1)) else {
                break;
            };
            let row = self
                .db
                .query_one_raw(self.stmt(
                    sql.clone(),
                    vec![Value::from(day_start(day)), Value::from(day_start(next))],
                ))
                .await?;
            let (views, visitors) = match row {
                Some(row) => (
                    row.try_get::<i64>("", "views")?,
                    row.try_get::<i64>("", "visitors")?,
                ),
                None => (0, 0),
            };
            days.push(DayStats {
                day,
                visitors: u64::try_from(visitors).unwrap_or(0),
                page_views: u64::try_from(views).unwrap_or(0),
            });
            day = next;
        }
        Ok(days)
    }

    /// Rows of `kind` in the table, all visitors (for tests and metrics).
    pub async fn count(&self, kind: Kind) -> Result<u64, DbErr> {
        let row = self
            .db
            .query_one_raw(self.stmt(
                format!("SELECT COUNT(*) AS n FROM {}", kind.table()),
                Vec::new(),
            ))
            .await?;
        let n = match row {
            Some(row) => row.try_get::<i64>("", "n")?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Rows of `kind` older than `before`, all visitors.
    pub async fn count_older(&self, kind: Kind, before: DateTime<Utc>) -> Result<u64, DbErr> {
        let row = self
            .db
            .query_one_raw(self.stmt(
                format!(
                    "SELECT COUNT(*) AS n FROM {} WHERE ts < {}",
                    kind.table(),
                    self.placeholder(1)
                ),
                vec![Value::from(before)],
            ))
            .await?;
        let n = match row {
            Some(row) => row.try_get::<i64>("", "n")?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::{Duration, TimeZone};
    use proto::events::v1::{CaptchaEvent, CrashReported, RequestLogged};

    use super::*;
    use crate::sweep::{FixedClock, sweep_once};

    async fn sqlite() -> (LogStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/logs.db?mode=rwc", dir.path().display());
        let store = store::Store::connect(&url, 1).await.unwrap();
        let logs = LogStore::new(store.connection().clone());
        logs.migrate().await.unwrap();
        // Twice: the migrator is idempotent.
        logs.migrate().await.unwrap();
        (logs, dir)
    }

    fn ts(t: DateTime<Utc>) -> Option<proto::Timestamp> {
        Some(proto::timestamp_from_unix_millis(t.timestamp_millis()))
    }

    fn rows_at(t: DateTime<Utc>, visitor: &str) -> Vec<LogRow> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        vec![
            LogRow::from_request(
                RequestLogged {
                    event_id: format!("r-{id}"),
                    ts: ts(t),
                    visitor_id: visitor.into(),
                    method: "GET".into(),
                    path: "/latest".into(),
                    status: 200,
                    ..Default::default()
                },
                t,
            ),
            LogRow::from_crash(
                CrashReported {
                    event_id: format!("c-{id}"),
                    ts: ts(t),
                    visitor_id: visitor.into(),
                    message: "boom, \"quoted\"".into(),
                    ..Default::default()
                },
                t,
            ),
            LogRow::from_captcha(
                CaptchaEvent {
                    event_id: format!("k-{id}"),
                    ts: ts(t),
                    visitor_id: visitor.into(),
                    outcome: 2,
                    max_number: 50_000,
                    ..Default::default()
                },
                t,
            ),
        ]
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 6, 15, 12, 30, 0).unwrap()
    }

    async fn total(store: &LogStore) -> u64 {
        let mut n = 0;
        for kind in Kind::ALL {
            n += store.count(kind).await.unwrap();
        }
        n
    }

    #[tokio::test]
    async fn sweep_removes_everything_older_than_the_retention_and_is_idempotent() {
        let (store, _dir) = sqlite().await;
        let now = now();
        let retention = 183;
        let cut = cutoff(now, retention);
        let mut rows = Vec::new();
        for age in [
            Duration::days(400),
            Duration::days(184),
            Duration::days(183) + Duration::seconds(1),
            Duration::days(183) - Duration::seconds(1),
            Duration::days(10),
            Duration::zero(),
        ] {
            rows.extend(rows_at(now - age, "v1"));
        }
        assert_eq!(store.insert_batch(&rows).await.unwrap(), 18);
        for kind in Kind::ALL {
            assert_eq!(store.count_older(kind, cut).await.unwrap(), 3);
        }

        let clock = FixedClock(now);
        let report = sweep_once(&store, &clock, retention).await.unwrap();
        assert_eq!(report.deleted_rows, 9);
        assert!(
            report.dropped_partitions.is_empty(),
            "no partitions on SQLite"
        );
        for kind in Kind::ALL {
            assert_eq!(store.count_older(kind, cut).await.unwrap(), 0, "{kind:?}");
            assert_eq!(store.count(kind).await.unwrap(), 3, "{kind:?}");
        }

        let again = sweep_once(&store, &clock, retention).await.unwrap();
        assert!(again.is_empty(), "second sweep changed {again:?}");
        assert_eq!(total(&store).await, 9);

        // Far in the future everything goes, once.
        let later = now + Duration::days(10_000);
        assert_eq!(store.sweep(later, retention).await.unwrap().deleted_rows, 9);
        assert_eq!(total(&store).await, 0);
        assert!(store.sweep(later, retention).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn sqlite_sweep_deletes_in_bounded_batches() {
        let (store, _dir) = sqlite().await;
        let now = now();
        let old = now - Duration::days(300);
        let rows: Vec<LogRow> = (0..2_600).flat_map(|_| rows_at(old, "v")).collect();
        for chunk in rows.chunks(900) {
            store.insert_batch(chunk).await.unwrap();
        }
        assert_eq!(store.count(Kind::Request).await.unwrap(), 2_600);
        let report = store.sweep(now, 183).await.unwrap();
        assert_eq!(report.deleted_rows, 7_800);
        assert_eq!(total(&store).await, 0);
    }

    #[tokio::test]
    async fn inserting_a_batch_twice_stores_it_once() {
        let (store, _dir) = sqlite().await;
        let mut rows = rows_at(now(), "v1");
        rows.extend(rows_at(now(), "v2"));
        // A repeat inside one batch is skipped too.
        rows.push(rows[0].clone());
        assert_eq!(store.insert_batch(&rows).await.unwrap(), 6);
        assert_eq!(store.insert_batch(&rows).await.unwrap(), 0);
        assert_eq!(total(&store).await, 6);
    }

    #[tokio::test]
    async fn visitor_rows_are_summarized_exported_and_deleted() {
        let (store, _dir) = sqlite().await;
        let t0 = now() - Duration::days(2);
        let t1 = now();
        let mut rows = rows_at(t0, "me");
        rows.extend(rows_at(t1, "me"));
        rows.extend(rows_at(t1, "someone-else"));
        store.insert_batch(&rows).await.unwrap();

        let summary = store.summarize("me").await.unwrap();
        assert_eq!(summary.len(), 3);
        for k in &summary {
            assert_eq!(k.rows, 2);
            assert_eq!(k.oldest, Some(t0));
            assert_eq!(k.newest, Some(t1));
        }
        let page = store
            .export_page(Kind::Request, "me", None, 1)
            .await
            .unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].1["visitor_id"], "me");
        let rest = store
            .export_page(Kind::Request, "me", Some(&page[0].0), 10)
            .await
            .unwrap();
        assert_eq!(rest.len(), 1, "the cursor moves past the first row");

        let counts = store.delete_visitor("me").await.unwrap();
        assert!(counts.iter().all(|(_, n)| *n == 2), "{counts:?}");
        let counts = store.delete_visitor("me").await.unwrap();
        assert!(counts.iter().all(|(_, n)| *n == 0), "{counts:?}");
        assert_eq!(total(&store).await, 3, "other visitors keep their rows");
    }

    #[tokio::test]
    async fn daily_stats_count_page_views_and_distinct_visitors() {
        let (store, _dir) = sqlite().await;
        let day = now();
        let mut rows = rows_at(day, "a");
        rows.extend(rows_at(day, "a"));
        rows.extend(rows_at(day, "b"));
        rows.extend(rows_at(day - Duration::days(1), "a"));
        store.insert_batch(&rows).await.unwrap();
        let stats = store
            .daily_stats((day - Duration::days(2)).date_naive(), day.date_naive())
            .await
            .unwrap();
        let got: Vec<(u64, u64)> = stats.iter().map(|d| (d.visitors, d.page_views)).collect();
        assert_eq!(got, vec![(0, 0), (1, 1), (2, 3)]);
    }

    #[test]
    fn partition_names_round_trip() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let name = partition_name(Kind::Request, day);
        assert_eq!(name, "access_log_p20261129");
        assert_eq!(partition_day(Kind::Request, &name), Some(day));
        assert_eq!(partition_day(Kind::Crash, &name), None);
        assert_eq!(partition_day(Kind::Request, "access_log_default"), None);
    }
}
