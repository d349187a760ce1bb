//! log-retention's indexes on Postgres after migration
//! `m20261204_000006_lean_page_view_indexes`: a database made before it
//! keeps its rows, a page view is stored and counted once however often its
//! event comes, a visitor's rows are still found (through the visitor index)
//! to be summarized, exported and deleted, and the migration goes down and
//! up again without losing a row.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use cloudsms_tests::{Isolation, Mode};
use log_retention::logstore::{partition_name, table_partition_name, visitor_condition};
use log_retention::stats::STAT_TABLE;
use log_retention::{Kind, LogRow, LogStore};
use proto::events::v1::{CaptchaEvent, CrashReported, RequestLogged, RouteKind};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use sea_orm_migration::MigratorTrait;

/// Migrations before the lean indexes.
const BEFORE: u32 = 5;

fn ts(at: DateTime<Utc>) -> Option<proto::Timestamp> {
    Some(proto::timestamp_from_unix_millis(at.timestamp_millis()))
}

/// A number page's request (a page view) of `visitor`.
fn page_view(id: &str, visitor: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> LogRow {
    LogRow::from_request(
        RequestLogged {
            event_id: id.into(),
            ts: ts(at),
            visitor_id: visitor.into(),
            method: "GET".into(),
            path: "/numbers/+447700900461".into(),
            status: 200,
            route: "/numbers/{e164}".into(),
            route_kind: RouteKind::NumberPage.into(),
            number: "+447700900461".into(),
            ..Default::default()
        },
        now,
    )
}

/// `pg_get_indexdef` of each index of `table`, sorted.
async fn index_defs(db: &DatabaseConnection, table: &str) -> Vec<String> {
    let sql = format!(
        "SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indrelid WHERE c.relname = '{table}' ORDER BY 1"
    );
    db.query_all_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "def").unwrap())
        .collect()
}

/// Rows of every log kind and of the statistics.
async fn counts(store: &LogStore) -> (Vec<u64>, u64) {
    let mut rows = Vec::new();
    for kind in Kind::ALL {
        rows.push(store.count(kind).await.unwrap());
    }
    (rows, store.stat_rows().await.unwrap())
}

/// The plan of `SELECT` of a visitor's rows of `table` with
/// [`visitor_condition`], as a prepared statement's generic plan, sequential
/// scans discouraged (the tables here are small).
async fn visitor_plan(db: &DatabaseConnection, table: &str) -> String {
    let txn = db.begin().await.unwrap();
    txn.execute_unprepared(
        "SET LOCAL enable_seqscan = off; SET LOCAL plan_cache_mode = force_generic_plan",
    )
    .await
    .unwrap();
    let sql = format!(
        "EXPLAIN SELECT * FROM {table} WHERE {}",
        visitor_condition(true, "$1")
    );
    let plan: Vec<String> = txn
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            ["me".into()],
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "QUERY PLAN").unwrap())
        .collect();
    txn.rollback().await.unwrap();
    plan.join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_migrated_to_the_lean_indexes_keeps_its_rows_and_counts_each_view_once() {
    let iso = Isolation::new(Mode::Distributed).await;
    let conn = store::Store::connect(&iso.settings.database_url(), 2)
        .await
        .unwrap();
    let db = conn.connection().clone();
    // The schema as it was before the migration, with rows in it.
    log_retention::migration::Migrator::up(&db, Some(BEFORE))
        .await
        .unwrap();
    let store = LogStore::new(db.clone());
    let now = Utc::now();
    let today = now.date_naive();
    let at = |i: i64| now - Duration::seconds(i);
    let mut old: Vec<LogRow> = (0..40)
        .map(|i| {
            let visitor = if i % 2 == 0 { "me" } else { "someone-else" };
            page_view(&format!("old-{i}"), visitor, at(i), now)
        })
        .collect();
    old.push(LogRow::from_crash(
        CrashReported {
            event_id: "old-crash".into(),
            ts: ts(at(1)),
            visitor_id: "me".into(),
            ..Default::default()
        },
        now,
    ));
    old.push(LogRow::from_captcha(
        CaptchaEvent {
            event_id: "old-captcha".into(),
            ts: ts(at(1)),
            visitor_id: "me".into(),
            ..Default::default()
        },
        now,
    ));
    // Requests without a visitor id are stored too.
    old.push(page_view("old-anonymous", "", at(2), now));
    assert_eq!(store.insert_batch(&old).await.unwrap(), 43);
    let access_today = partition_name(Kind::Request, today);
    let stats_today = table_partition_name(STAT_TABLE, today);
    assert!(
        index_defs(&db, &access_today)
            .await
            .iter()
            .any(|d| d.contains("(visitor_id, ts)")),
        "the index before"
    );
    let before = counts(&store).await;
    assert_eq!(before, (vec![41, 1, 1], 41));

    store.migrate().await.unwrap();
    assert_eq!(counts(&store).await, before, "every row kept");
    // Two index inserts per page view: the access log's unique key (time
    // first) and its visitor index, on a hash of the id (non-empty ids
    // only); the
    // statistics have only a BRIN on their time, in the day partitions made
    // before the migration and after it.
    let tomorrow = today.succ_opt().unwrap();
    store.prepare_days(tomorrow, 1).await.unwrap();
    for day in [today, tomorrow] {
        let access = index_defs(&db, &partition_name(Kind::Request, day)).await;
        assert_eq!(access.len(), 2, "{access:#?}");
        assert!(
            access
                .iter()
                .any(|d| d.starts_with("CREATE UNIQUE INDEX") && d.ends_with("(ts, event_id)")),
            "{access:#?}"
        );
        assert!(
            access
                .iter()
                .any(|d| d.contains("hashtextextended(visitor_id")
                    && d.ends_with("WHERE (visitor_id <> ''::text)")),
            "{access:#?}"
        );
        let stats = index_defs(&db, &table_partition_name(STAT_TABLE, day)).await;
        assert_eq!(stats.len(), 1, "{stats:#?}");
        assert!(stats[0].contains("USING brin (ts)"), "{stats:#?}");
    }
    for table in ["access_log", "crash_reports", "captcha_events"] {
        let plan = visitor_plan(&db, table).await;
        assert!(
            plan.contains("Index Cond: (hashtextextended(visitor_id"),
            "{table}: {plan}"
        );
    }

    // A redelivered batch stores nothing and counts no page view again.
    assert_eq!(store.insert_batch(&old).await.unwrap(), 0);
    assert_eq!(counts(&store).await, before);
    // A batch of stored and new events, one new event twice: the new ones
    // once, with one statistics row each.
    let mut mixed: Vec<LogRow> = old[..10].to_vec();
    let fresh: Vec<LogRow> = (0..5)
        .map(|i| page_view(&format!("new-{i}"), "me", at(i), now))
        .collect();
    mixed.extend(fresh.iter().cloned());
    mixed.push(fresh[0].clone());
    assert_eq!(store.insert_batch(&mixed).await.unwrap(), 5);
    assert_eq!(counts(&store).await, (vec![46, 1, 1], 46));
    assert_eq!(store.insert_batch(&mixed).await.unwrap(), 0);
    assert_eq!(store.stat_rows().await.unwrap(), 46);

    // The visitor's rows: summarized, exported in order, deleted.
    let summary = store.summarize("me").await.unwrap();
    let rows: Vec<u64> = summary.iter().map(|k| k.rows).collect();
    assert_eq!(rows, [25, 1, 1], "{summary:?}");
    // Events carry milliseconds.
    assert_eq!(summary[0].newest, Some(at(0).trunc_subsecs(3)));
    let first = store
        .export_page(Kind::Request, "me", None, 20)
        .await
        .unwrap();
    let rest = store
        .export_page(Kind::Request, "me", Some(&first[19].0), 20)
        .await
        .unwrap();
    assert_eq!((first.len(), rest.len()), (20, 5));
    let cursors: Vec<_> = first.iter().chain(&rest).map(|(c, _)| c.clone()).collect();
    assert!(cursors.is_sorted(), "oldest first");
    assert!(
        first
            .iter()
            .chain(&rest)
            .all(|(_, row)| row["visitor_id"] == "me")
    );
    let deleted: Vec<u64> = store
        .delete_visitor("me")
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(deleted, [25, 1, 1]);
    assert!(
        store
            .summarize("me")
            .await
            .unwrap()
            .iter()
            .all(|k| k.rows == 0)
    );
    // Other visitors keep theirs; the statistics are anonymous and stay.
    assert_eq!(counts(&store).await, (vec![21, 0, 0], 46));

    // Down and up again: the rows stay.
    log_retention::migration::Migrator::down(&db, Some(1))
        .await
        .unwrap();
    assert!(
        index_defs(&db, &stats_today)
            .await
            .iter()
            .any(|d| d.starts_with("CREATE UNIQUE INDEX") && d.ends_with("(ts, event_id)")),
        "the statistics' key is back"
    );
    let access = index_defs(&db, &access_today).await;
    assert!(
        access.iter().any(|d| d.ends_with("(visitor_id, ts)")),
        "the visitor index is back: {access:#?}"
    );
    assert!(
        access
            .iter()
            .any(|d| d.starts_with("CREATE UNIQUE INDEX") && d.ends_with("(event_id, ts)")),
        "the key is back: {access:#?}"
    );
    assert_eq!(counts(&store).await, (vec![21, 0, 0], 46));
    store.migrate().await.unwrap();
    assert_eq!(counts(&store).await, (vec![21, 0, 0], 46));
    iso.cleanup().await;
}
