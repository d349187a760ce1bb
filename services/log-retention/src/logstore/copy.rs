//! The batch writer: a batch of log rows and the page views derived from
//! them stored in one transaction, each event once (the unique
//! `(event_id, ts)`): binary `COPY` on Postgres, multi-row `INSERT ... ON
//! CONFLICT DO NOTHING` on SQLite. On Postgres the page views have no
//! unique key of their own: each is stored with its access-log row, only
//! when that row is new.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, Statement, TransactionTrait, Value};

use super::LogStore;
use crate::rows::LogRow;
use crate::schema::{KEY_COLUMNS, Kind, STAT_PAGEVIEWS, TableSpec};
use crate::stats::PageView;

/// Rows per multi-row `INSERT` statement (SQLite).
pub const ROWS_PER_STATEMENT: usize = 500;

/// A row as the writer sees it: event id, time, the other columns' values
/// in table order.
type EventRow<'a> = (&'a str, DateTime<Utc>, Vec<Value>);

/// One table's share of a batch.
struct TableRows<'a> {
    spec: &'static TableSpec,
    rows: Vec<EventRow<'a>>,
    /// The page views of the batch's requests (not counted in the rows
    /// inserted; on Postgres stored only for the requests stored now).
    views: bool,
}

/// The rows of each table that `rows` and `views` write to, empty tables left out.
fn by_table<'a>(rows: &'a [LogRow], views: &'a [PageView]) -> Vec<TableRows<'a>> {
    let mut tables: Vec<TableRows<'a>> = Kind::ALL
        .iter()
        .map(|kind| TableRows {
            spec: kind.spec(),
            rows: rows
                .iter()
                .filter(|row| row.kind() == *kind)
                .map(|row| (row.event_id(), row.ts(), row.values()))
                .collect(),
            views: false,
        })
        .collect();
    tables.push(TableRows {
        spec: &STAT_PAGEVIEWS,
        rows: views
            .iter()
            .map(|view| (view.event_id.as_str(), view.ts, view.values()))
            .collect(),
        views: true,
    });
    tables.retain(|table| !table.rows.is_empty());
    tables
}

/// `"event_id", "ts", "column"...` of `spec`, quoted.
fn column_list(spec: &TableSpec) -> String {
    let columns: Vec<String> = KEY_COLUMNS
        .into_iter()
        .chain(spec.column_names())
        .map(|c| format!("\"{c}\""))
        .collect();
    columns.join(", ")
}

impl LogStore {
    /// Stores `rows` and their statistics rows in one transaction (Postgres:
    /// binary `COPY`, falling back to a staging table and `INSERT ... SELECT
    /// ... ON CONFLICT DO NOTHING` when an event is already stored; SQLite:
    /// multi-row `INSERT ... ON CONFLICT DO NOTHING` statements); returns
    /// rows inserted (repeats of stored events are skipped).
    pub async fn insert_batch(&self, rows: &[LogRow]) -> Result<u64, DbErr> {
        if rows.is_empty() {
            return Ok(0);
        }
        // The anonymous statistics rows of the page requests, stored in the
        // same transaction under the same event ids.
        let views = self.stats.page_views(rows).await?;
        let tables = by_table(rows, &views);
        for table in &tables {
            let mut days: Vec<NaiveDate> = table.rows.iter().map(|r| r.1.date_naive()).collect();
            days.sort_unstable();
            days.dedup();
            for day in days {
                self.ensure_table_partition(table.spec.name, day).await?;
            }
        }
        let result = if self.db.is_postgres() {
            self.copy_in_transaction(&tables).await
        } else {
            self.insert_in_transaction(&tables).await
        };
        if result.is_err() {
            // A partition may have been dropped under us: look again next time.
            self.partitions.lock().clear();
        }
        result
    }

    /// SQLite: multi-row `INSERT`s of [`ROWS_PER_STATEMENT`] rows, in one
    /// transaction.
    async fn insert_in_transaction(&self, tables: &[TableRows<'_>]) -> Result<u64, DbErr> {
        let txn = self.db.connection().begin().await?;
        let mut inserted = 0;
        for table in tables {
            for chunk in table.rows.chunks(ROWS_PER_STATEMENT) {
                let stmt = self.idempotent_insert(table.spec, chunk);
                let rows = txn.execute_raw(stmt).await?.rows_affected();
                if !table.views {
                    inserted += rows;
                }
            }
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
    /// batch, is stored once. The statistics rows (no unique key) follow
    /// their access-log rows: all of them when the access log's `COPY` went
    /// straight in, else only those of the requests the merge stored, each
    /// once.
    async fn copy_in_transaction(&self, tables: &[TableRows<'_>]) -> Result<u64, DbErr> {
        let pool = self.db.connection().get_postgres_connection_pool();
        let mut tx = pool.begin().await.map_err(sqlx_err)?;
        let mut inserted = 0;
        // `None`: every request of the batch was new.
        let mut new_requests: Option<HashSet<StoredKey>> = None;
        for table in tables {
            let fields = KEY_COLUMNS.len() + table.spec.columns.len();
            if table.views {
                let rows = table.rows.iter().filter(|(event_id, ts, _)| {
                    new_requests.as_mut().is_none_or(|new| {
                        // Taken out: a repeat inside the batch counts once.
                        new.remove(&stored_key(event_id, *ts))
                    })
                });
                let data = binary::encode(fields, rows)?;
                copy_views(&mut tx, table.spec, &data).await?;
                continue;
            }
            let data = binary::encode(fields, &table.rows)?;
            let stored = copy_and_merge(&mut tx, table.spec, &data).await?;
            inserted += stored.count();
            if table.spec.name == Kind::Request.table()
                && let Stored::Only(keys) = stored
            {
                let keys = keys.into_iter().map(|(id, ts)| stored_key(&id, ts));
                new_requests = Some(keys.collect());
            }
        }
        tx.commit().await.map_err(sqlx_err)?;
        Ok(inserted)
    }

    /// `INSERT INTO table (event_id, ts, columns...) VALUES ... ON CONFLICT
    /// DO NOTHING` of `rows`: a redelivered event is stored once.
    fn idempotent_insert(&self, spec: &TableSpec, rows: &[EventRow<'_>]) -> Statement {
        let mut values: Vec<Value> = Vec::new();
        let mut tuples = Vec::with_capacity(rows.len());
        for (event_id, ts, rest) in rows {
            let mut tuple = Vec::with_capacity(KEY_COLUMNS.len() + rest.len());
            for value in [Value::from(*event_id), Value::from(*ts)]
                .into_iter()
                .chain(rest.iter().cloned())
            {
                values.push(value);
                tuple.push(self.db.placeholder(values.len()));
            }
            tuples.push(format!("({})", tuple.join(", ")));
        }
        let target = if self.db.is_postgres() {
            "(event_id, ts)"
        } else {
            "(event_id)"
        };
        let sql = format!(
            "INSERT INTO {table} ({cols}) VALUES {tuples} ON CONFLICT {target} DO NOTHING",
            table = spec.name,
            cols = column_list(spec),
            tuples = tuples.join(", "),
        );
        self.db.stmt(sql, values)
    }
}

/// The staging table of `table` for the `COPY` path (Postgres, per session).
fn staging_table(table: &str) -> String {
    format!("cloudsms_stage_{table}")
}

fn sqlx_err(err: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Exec(sea_orm::RuntimeErr::SqlxError(Arc::new(err)))
}

/// A stored row's `(event_id, ts)`, the time in whole microseconds as
/// Postgres keeps it (and [`binary`] sends it).
type StoredKey = (String, i64);

fn stored_key(event_id: &str, ts: DateTime<Utc>) -> StoredKey {
    (event_id.to_owned(), ts.timestamp_micros())
}

/// What [`copy_and_merge`] stored.
enum Stored {
    /// Every row: the `COPY` went straight in.
    All(u64),
    /// The `(event_id, ts)` of the rows stored; the others were stored
    /// before (or repeated inside the batch).
    Only(Vec<(String, DateTime<Utc>)>),
}

impl Stored {
    /// Rows stored.
    fn count(&self) -> u64 {
        match self {
            Stored::All(n) => *n,
            Stored::Only(keys) => u64::try_from(keys.len()).unwrap_or(u64::MAX),
        }
    }
}

/// Stores `data` (binary `COPY` format, every column of `spec`) in its
/// table, each event once; says which rows it stored.
///
/// First straight into `table` with `COPY`, under a savepoint: a batch of
/// new events (nearly every batch) costs what `COPY` costs. When that hits
/// the unique key (a redelivered event, or a repeat inside the batch), back
/// to the savepoint, and the rows go through the staging table with
/// `INSERT ... SELECT ... ON CONFLICT DO NOTHING`, which skips the events
/// already stored. The staging table is emptied at commit.
async fn copy_and_merge(
    conn: &mut sea_orm::sqlx::PgConnection,
    spec: &TableSpec,
    data: &[u8],
) -> Result<Stored, DbErr> {
    use sea_orm::sqlx::{self, AssertSqlSafe};

    let table = spec.name;
    let columns = column_list(spec);
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
        Ok(copied) => return Ok(Stored::All(copied)),
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
         ON CONFLICT (event_id, ts) DO NOTHING RETURNING event_id, ts"
    );
    let keys = sqlx::query_as(AssertSqlSafe(merge))
        .fetch_all(&mut *conn)
        .await
        .map_err(sqlx_err)?;
    Ok(Stored::Only(keys))
}

/// Stores `data` (binary `COPY` format) in the statistics table `spec`:
/// one `COPY` of the page views of requests stored in this transaction,
/// which have no unique key of their own to check.
async fn copy_views(
    conn: &mut sea_orm::sqlx::PgConnection,
    spec: &TableSpec,
    data: &[u8],
) -> Result<u64, DbErr> {
    let statement = format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary)",
        spec.name,
        column_list(spec)
    );
    copy_in(conn, &statement, data).await.map_err(sqlx_err)
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
mod binary {
    use chrono::{DateTime, Utc};
    use sea_orm::{DbErr, Value};

    /// Microseconds from the Unix epoch to 2000-01-01, Postgres' epoch.
    const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

    use super::EventRow;

    /// The binary `COPY` data of `rows` (event id, time, the other values),
    /// each with `fields` fields in all.
    pub(super) fn encode<'r, 'a: 'r>(
        fields: usize,
        rows: impl IntoIterator<Item = &'r EventRow<'a>>,
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
            timestamp(&mut buf, *ts);
            for value in values {
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
            let data = encode(
                4,
                &[(
                    "id",
                    t,
                    vec![Value::from("é".to_owned()), Value::from(-2i64)],
                )],
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
            assert!(encode(3, &[("id", t, vec![])]).is_err());
            assert!(encode(3, &[("id", t, vec![Value::Bool(Some(true))])]).is_err());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::testutil::{now, rows_at, sqlite, total};

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
        assert_eq!(
            store.stat_rows().await.unwrap(),
            2,
            "one page view per request"
        );
    }
}
