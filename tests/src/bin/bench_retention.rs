//! `make bench` (retention sweep): how long log-retention's sweep takes when
//! the expired day partitions hold no rows, a small and a large number of
//! rows (default 1 M and 50 M), with the same number of partitions: the
//! sweep detaches whole partitions, so its cost should follow partitions, not
//! rows. The drop of the detached partitions' files that follows
//! (`LogStore::reclaim_expired`) is timed apart: it is the file system's
//! work, in proportion to the bytes.
//!
//! A database of its own (created and dropped here), migrated by
//! log-retention. The rows are `access_log` rows shaped like the gateway's,
//! generated inside Postgres (a template of up to 1 M rows from
//! `generate_series`, copied with fresh event ids and times, two sessions at
//! once) into stand-alone unlogged tables (no WAL while generating) that get
//! the partitions' key and index and are then attached as the day partitions
//! of days long past the retention. A `CHECKPOINT` follows, so the sweep
//! does not pay for writing them; their pages are still in the page cache,
//! which makes removing their files dearer than for partitions half a year
//! old. The sweep timed is the library's (`LogStore::sweep`, what
//! the service runs every hour), at the real `now` with the default
//! retention of 183 days.
//!
//! Environment: `BENCH_ADMIN_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), `BENCH_RETENTION_ROWS`
//! (default 50000000), `BENCH_RETENTION_SMALL_ROWS` (default 1000000),
//! `BENCH_RETENTION_PARTITIONS` (expired day partitions, default 10).
//! Prints a Markdown table on stdout; progress on stderr.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{Days, NaiveDate, Utc};
use cloudsms_tests::drive::env_or;
use log_retention::logstore::{day_start, partition_name};
use log_retention::{Kind, LogStore};
use sea_orm::sqlx::{self, AssertSqlSafe};
use sea_orm::{ConnectionTrait, Database, Statement};

const RETENTION_DAYS: u32 = 183;

fn say(message: &str) {
    eprintln!("bench_retention: {message}");
}

/// Rows of the template the partitions are filled from (the expressions
/// that shape a row cost more than copying it).
const TEMPLATE_ROWS: usize = 1_000_000;

/// The template: `rows` rows shaped like the gateway's, times as
/// milliseconds into their day, and event ids with a 4-digit slot (from
/// character 10) that each copy fills in.
fn template_sql(rows: usize) -> String {
    let step_ms = 86_400_000 / rows.max(1) as i64;
    format!(
        "DROP TABLE IF EXISTS bench_template;
         CREATE UNLOGGED TABLE bench_template AS
         SELECT lpad(to_hex(i), 8, '0') || '-0000-7000-8000-'
                    || lpad(to_hex((i * 2654435761) % 281474976710656), 12, '0') AS event_id,
                i * {step_ms} AS t_ms,
                repeat(lpad(to_hex((i * 2654435761) % 1000003), 8, '0'), 4) AS visitor_id,
                '203.0.' || (i % 251) || '.' || (i % 241) AS ip, 'GET'::text AS method,
                '/numbers/+4477009' || lpad((i % 1000)::text, 5, '0') AS path,
                (CASE WHEN i % 50 = 0 THEN 404 ELSE 200 END)::bigint AS status,
                (300 + i % 4000)::bigint AS latency_us,
                CASE WHEN i % 7 = 0 THEN 'https://www.google.com' ELSE '' END AS referrer,
                'Chrome'::text AS browser_family, '131'::text AS browser_version,
                'Android'::text AS os_family, 'mobile'::text AS device_class, 'en'::text AS language,
                lpad(to_hex((i * 40503) % 4294967291), 16, '0') || lpad(to_hex(i), 16, '0') AS trace_id
         FROM generate_series(0::bigint, {last}::bigint) i;",
        last = rows.max(1) - 1,
    )
}

/// The SQL that fills the partition of `day` with `rows` rows copied from
/// the template (`template_rows` of them), then attaches it: attaching
/// builds the key and indexes the parent table's migrations gave it (here
/// they would go stale: m20261204_000006 changed them).
fn fill_sql(day: NaiveDate, rows: usize, template_rows: usize) -> String {
    let name = partition_name(Kind::Request, day);
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    let from = day_start(day).format("%Y-%m-%d %H:%M:%S+00");
    let to = day_start(next).format("%Y-%m-%d %H:%M:%S+00");
    let copies = rows.div_ceil(template_rows.max(1)).max(1);
    // Unlogged: no WAL while generating; the sweep removes the same files.
    format!(
        "SET maintenance_work_mem = '256MB';
         CREATE UNLOGGED TABLE {name} (LIKE access_log INCLUDING DEFAULTS);
         INSERT INTO {name} (event_id, ts, visitor_id, ip, method, path, status, latency_us,
             referrer, browser_family, browser_version, os_family, device_class, language, trace_id)
         SELECT overlay(event_id PLACING lpad(to_hex(j), 4, '0') FROM 10 FOR 4),
                timestamptz '{from}' + (t_ms + j) * interval '1 millisecond',
                visitor_id, ip, method, path, status, latency_us, referrer, browser_family,
                browser_version, os_family, device_class, language, trace_id
         FROM generate_series(0, {last_copy}) j, bench_template
         LIMIT {rows};
         ALTER TABLE access_log ATTACH PARTITION {name} FOR VALUES FROM ('{from}') TO ('{to}');",
        last_copy = copies - 1,
    )
}

/// Fills `days` with `rows` rows in all, two sessions at once.
async fn fill(pool: &sqlx::PgPool, days: &[NaiveDate], rows: usize) -> anyhow::Result<()> {
    let per_day = rows / days.len();
    let extra = rows % days.len();
    let template_rows = (per_day + 1).min(TEMPLATE_ROWS);
    sqlx::raw_sql(AssertSqlSafe(template_sql(template_rows)))
        .execute(pool)
        .await?;
    let jobs: Arc<Vec<String>> = Arc::new(
        days.iter()
            .enumerate()
            .map(|(k, day)| fill_sql(*day, per_day + usize::from(k < extra), template_rows))
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..2 {
        let (pool, jobs, next) = (pool.clone(), jobs.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut conn = pool.acquire().await?;
            while let Some(sql) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                sqlx::raw_sql(AssertSqlSafe(sql.clone()))
                    .execute(&mut *conn)
                    .await?;
            }
            anyhow::Ok(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    sqlx::raw_sql("DROP TABLE bench_template; CHECKPOINT")
        .execute(pool)
        .await?;
    Ok(())
}

async fn one_number(db: &sea_orm::DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .context("no row")?;
    Ok(row.try_get::<i64>("", "n")?)
}

struct Measured {
    rows: usize,
    bytes: i64,
    generated: Duration,
    sweep: Duration,
    reclaim: Duration,
}

async fn measure(
    logs: &LogStore,
    pool: &sqlx::PgPool,
    days: &[NaiveDate],
    rows: usize,
) -> anyhow::Result<Measured> {
    let started = Instant::now();
    if rows == 0 {
        for day in days {
            logs.ensure_partition(Kind::Request, *day).await?;
        }
    } else {
        fill(pool, days, rows).await?;
    }
    let generated = started.elapsed();
    let names: Vec<String> = days
        .iter()
        .map(|d| format!("'{}'", partition_name(Kind::Request, *d)))
        .collect();
    let db = logs.connection();
    let bytes = one_number(
        db,
        &format!(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint AS n FROM pg_class c \
             WHERE c.relname IN ({})",
            names.join(", ")
        ),
    )
    .await?;
    let stored = one_number(
        db,
        &format!(
            "SELECT COUNT(*) AS n FROM access_log WHERE ts < '{}'",
            day_start(*days.iter().max().context("no days")?)
                .checked_add_days(Days::new(1))
                .context("date")?
                .format("%Y-%m-%d %H:%M:%S+00")
        ),
    )
    .await?;
    if usize::try_from(stored)? != rows {
        bail!("{stored} rows in the expired partitions, expected {rows}");
    }
    say(&format!(
        "{rows} rows in {} partitions ({:.2} GB) generated in {:.1} s; sweeping",
        days.len(),
        bytes as f64 / 1e9,
        generated.as_secs_f64()
    ));

    let started = Instant::now();
    let report = logs.sweep(Utc::now(), RETENTION_DAYS).await?;
    let sweep = started.elapsed();
    let dropped = days
        .iter()
        .filter(|d| {
            report
                .dropped_partitions
                .contains(&partition_name(Kind::Request, **d))
        })
        .count();
    if dropped != days.len() || logs.count(Kind::Request).await? != 0 {
        bail!("the sweep left rows behind: {report:?}");
    }
    let started = Instant::now();
    let reclaimed = logs.reclaim_expired().await?;
    let reclaim = started.elapsed();
    if reclaimed.len() != days.len() {
        bail!(
            "{} detached partitions dropped, expected {}",
            reclaimed.len(),
            days.len()
        );
    }
    let left = one_number(
        logs.connection(),
        &format!(
            "SELECT COUNT(*) AS n FROM pg_class WHERE starts_with(relname, '{}')",
            log_retention::logstore::EXPIRED_PREFIX
        ),
    )
    .await?;
    if left != 0 {
        bail!("{left} expired tables left after reclaim_expired");
    }
    say(&format!(
        "swept in {:.3} s, files dropped in {:.3} s",
        sweep.as_secs_f64(),
        reclaim.as_secs_f64()
    ));
    Ok(Measured {
        rows,
        bytes,
        generated,
        sweep,
        reclaim,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let admin_url = std::env::var("BENCH_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let large = env_or("BENCH_RETENTION_ROWS", 50_000_000);
    let small = env_or("BENCH_RETENTION_SMALL_ROWS", 1_000_000).min(large);
    let partitions = env_or("BENCH_RETENTION_PARTITIONS", 10).max(1);

    let (server, _) = admin_url.rsplit_once('/').context("admin URL")?;
    let name = format!(
        "cloudsms_bench_sweep_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let admin = Database::connect(&admin_url).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    let result = async {
        let store = store::Store::connect(&format!("{server}/{name}"), 4).await?;
        let logs = LogStore::new(store.connection().clone());
        logs.migrate().await?;
        let now = Utc::now();
        // Today's and the coming days' partitions exist, as in service.
        logs.sweep(now, RETENTION_DAYS).await?;
        let cutoff = log_retention::logstore::cutoff(now, RETENTION_DAYS).date_naive();
        let days: Vec<NaiveDate> = (0..partitions)
            .filter_map(|k| cutoff.checked_sub_days(Days::new(2 + k as u64)))
            .collect();
        let pool = store.connection().get_postgres_connection_pool().clone();
        let mut measured = Vec::new();
        for rows in [0, small, large] {
            measured.push(measure(&logs, &pool, &days, rows).await?);
        }
        store.connection().clone().close().await?;
        anyhow::Ok(measured)
    }
    .await;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    let measured = result?;

    println!(
        "| retention sweep, {partitions} expired day partitions of `access_log` | rows | on disk | generated in | sweep: rows gone | then files dropped |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for m in &measured {
        println!(
            "| `LogStore::sweep` (detaches the partitions), then `reclaim_expired` (drops them) | {} | {:.2} GB | {:.0} s | {:.3} s | {:.3} s |",
            m.rows,
            m.bytes as f64 / 1e9,
            m.generated.as_secs_f64(),
            m.sweep.as_secs_f64(),
            m.reclaim.as_secs_f64()
        );
    }
    if let [empty, small, large] = measured.as_slice() {
        let per_gb = (large.reclaim.as_secs_f64() - empty.reclaim.as_secs_f64())
            / ((large.bytes - empty.bytes) as f64 / 1e9).max(1e-9);
        println!();
        println!(
            "Sweep at {} rows / at {} rows: {:.2} (target: < 1 s at 50 M rows, independent of the row count). \
             Dropping the detached partitions' files afterwards costs {:.3} s per GB beyond the empty ones; \
             it holds no lock on the log tables.",
            large.rows,
            small.rows,
            large.sweep.as_secs_f64() / small.sweep.as_secs_f64().max(1e-9),
            per_gb
        );
    }
    Ok(())
}
