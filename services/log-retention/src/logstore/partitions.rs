//! Day partitions of the event tables (Postgres) and the retention sweep:
//! partition names, creation ahead of time, and the removal of everything
//! past the retention (whole days detached then dropped, the boundary day
//! and SQLite by timestamp).

use chrono::{DateTime, Days, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, Value};

use super::LogStore;
use crate::db::day_start;
use crate::schema::{EVENT_TABLES, Kind, STAT_TABLE};

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
    /// Entries of the audit log (`admin_audit`) deleted by timestamp.
    pub audit_deleted_rows: u64,
}

impl SweepReport {
    /// True when the sweep removed nothing.
    pub fn is_empty(&self) -> bool {
        self.dropped_partitions.is_empty()
            && self.deleted_rows == 0
            && self.stat_dropped_partitions.is_empty()
            && self.stat_deleted_rows == 0
            && self.deleted_salts == 0
            && self.audit_deleted_rows == 0
    }
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
    /// Makes sure the partition of `kind` for `day` exists (Postgres; a no-op on SQLite).
    pub async fn ensure_partition(&self, kind: Kind, day: NaiveDate) -> Result<(), DbErr> {
        self.ensure_table_partition(kind.table(), day).await
    }

    /// Makes sure the partition of `table` for `day` exists (Postgres).
    pub(super) async fn ensure_table_partition(
        &self,
        table: &str,
        day: NaiveDate,
    ) -> Result<(), DbErr> {
        if !self.is_partitioned() {
            return Ok(());
        }
        let name = table_partition_name(table, day);
        if self.partitions.lock().contains(&name) {
            return Ok(());
        }
        let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} \
             FOR VALUES FROM ('{from}') TO ('{to}')",
            from = day_start(day).format("%Y-%m-%d %H:%M:%S+00"),
            to = day_start(next).format("%Y-%m-%d %H:%M:%S+00"),
        );
        let db = self.db.connection();
        if let Err(first) = db.execute_unprepared(&sql).await {
            // Another replica may have created it at the same moment.
            db.execute_unprepared(&sql).await.map_err(|_| first)?;
        }
        self.partitions.lock().insert(name);
        Ok(())
    }

    /// Creates the partitions of every event table for `days` days from `from`.
    pub async fn prepare_days(&self, from: NaiveDate, days: u64) -> Result<(), DbErr> {
        for offset in 0..days {
            let Some(day) = from.checked_add_days(Days::new(offset)) else {
                break;
            };
            for spec in EVENT_TABLES {
                self.ensure_table_partition(spec.name, day).await?;
            }
        }
        Ok(())
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
            .all(sql.to_owned(), vec![Value::from(param.to_owned())])
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String>("", "name"))
            .collect()
    }

    /// Removes every row older than `now - retention_days` from every table
    /// (the audit log's too).
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
        report.deleted_salts = self.stats.sweep_salts(now).await?;
        report.audit_deleted_rows = self.sweep_audit(cutoff).await?;
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
                EVENT_TABLES
                    .iter()
                    .any(|spec| table_partition_day(spec.name, partition).is_some())
            });
            if !ours {
                continue;
            }
            self.db
                .connection()
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
                        .connection()
                        .execute_unprepared(&format!(
                            "ALTER TABLE {table} DETACH PARTITION {name}; \
                             ALTER TABLE {name} RENAME TO {EXPIRED_PREFIX}{name}"
                        ))
                        .await;
                    self.partitions.lock().remove(&name);
                    match detached {
                        Ok(_) => dropped.push(name),
                        // Another replica's sweep got there first.
                        Err(_) if !self.table_partitions(table).await?.contains(&name) => {}
                        Err(err) => return Err(err),
                    }
                }
            }
            let sql = format!("DELETE FROM {table} WHERE ts < $1");
            deleted_rows += self.db.execute(sql, vec![Value::from(cutoff)]).await?;
        } else {
            let sql = format!(
                "DELETE FROM {table} WHERE rowid IN \
                 (SELECT rowid FROM {table} WHERE ts < ? LIMIT {SQLITE_DELETE_BATCH})"
            );
            loop {
                let deleted = self
                    .db
                    .execute(sql.clone(), vec![Value::from(cutoff)])
                    .await?;
                deleted_rows += deleted;
                if deleted < SQLITE_DELETE_BATCH {
                    break;
                }
            }
        }
        Ok((dropped, deleted_rows))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::Duration;

    use super::*;
    use crate::LogRow;
    use crate::sweep::sweep_once;
    use crate::testutil::{now, rows_at, sqlite, total};

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

        let clock = platform::Clock::fixed(now);
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
