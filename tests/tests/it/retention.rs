//! log-retention end to end: page views and crash beacons published by the
//! gateway become rows, a visitor can see, export and delete them, and the
//! retention sweep removes what is older than the retention (on Postgres by
//! dropping whole day partitions).

use std::time::Duration;

use cloudsms_tests::{Mode, TestApp, both_modes, wait_until};
use log_retention::{Kind, LogRow, LogStore};
use proto::events::v1::{CaptchaEvent, CrashReported, RequestLogged};
use proto::retention::v1::stats_service_client::StatsServiceClient;
use proto::retention::v1::visitor_data_service_client::VisitorDataServiceClient;
use proto::retention::v1::{
    DeleteRequest, DeleteResponse, ExportFormat, ExportRequest, SummarizeRequest,
    SummarizeResponse, VisitorStatsRequest,
};
use sea_orm::ConnectionTrait;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

/// log-retention's consumer and gRPC server next to a [`TestApp`].
struct Retention {
    store: LogStore,
    visitors: VisitorDataServiceClient<Channel>,
    stats: StatsServiceClient<Channel>,
    stop: CancellationToken,
    tasks: Vec<JoinHandle<anyhow::Result<()>>>,
}

impl Retention {
    async fn start(app: &TestApp) -> Self {
        let store = app.log_store().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let tasks = vec![
            tokio::spawn(log_retention::grpc::serve(
                store.clone(),
                listener,
                stop.clone(),
            )),
            Self::consumer(app, &store, &stop),
        ];
        Self {
            store,
            visitors: VisitorDataServiceClient::connect(url.clone())
                .await
                .unwrap(),
            stats: StatsServiceClient::connect(url).await.unwrap(),
            stop,
            tasks,
        }
    }

    /// A fresh instance of the durable LOGS consumer.
    fn consumer(
        app: &TestApp,
        store: &LogStore,
        stop: &CancellationToken,
    ) -> JoinHandle<anyhow::Result<()>> {
        tokio::spawn(cloudsms_tests::log_consumer(app, store, stop))
    }

    /// Stops the consumer as a crash would (nothing acked), then starts a new one.
    async fn crash_and_restart_consumer(&mut self, app: &TestApp) {
        let task = self.tasks.pop().unwrap();
        task.abort();
        let _ = task.await;
        self.tasks
            .push(Self::consumer(app, &self.store, &self.stop));
    }

    async fn delete(&mut self, visitor: &str) -> DeleteResponse {
        let request = DeleteRequest {
            visitor_id: visitor.into(),
        };
        self.visitors.delete(request).await.unwrap().into_inner()
    }

    async fn summarize(&mut self, visitor: &str) -> SummarizeResponse {
        self.visitors
            .summarize(SummarizeRequest {
                visitor_id: visitor.into(),
            })
            .await
            .unwrap()
            .into_inner()
    }

    /// Polls Summarize until `want` holds; panics after 20 s.
    async fn wait_for(
        &mut self,
        visitor: &str,
        want: impl Fn(&SummarizeResponse) -> bool,
    ) -> SummarizeResponse {
        wait_until(
            format_args!("the awaited summary of {visitor}"),
            Duration::from_secs(20),
            async || {
                let summary = self.summarize(visitor).await;
                if want(&summary) {
                    Ok(summary)
                } else {
                    Err(format!("{summary:?}"))
                }
            },
        )
        .await
    }

    async fn export(&mut self, visitor: &str, format: ExportFormat) -> String {
        String::from_utf8(self.export_chunks(visitor, format).await.concat()).unwrap()
    }

    async fn export_chunks(&mut self, visitor: &str, format: ExportFormat) -> Vec<Vec<u8>> {
        let mut stream = self
            .visitors
            .export(ExportRequest {
                visitor_id: visitor.into(),
                format: format.into(),
            })
            .await
            .unwrap()
            .into_inner();
        let mut chunks = Vec::new();
        while let Some(chunk) = stream.message().await.unwrap() {
            chunks.push(chunk.data);
        }
        chunks
    }

    async fn stop(self) {
        self.stop.cancel();
        for task in self.tasks {
            task.await.unwrap().unwrap();
        }
    }
}

fn rows(summary: &SummarizeResponse, kind: &str) -> u64 {
    summary
        .kinds
        .iter()
        .find(|k| k.kind == kind)
        .map_or(0, |k| k.rows)
}

/// Visits `/latest` without a cookie; returns the visitor id the gateway set.
async fn first_visit(app: &TestApp) -> String {
    let resp = app
        .client
        .get(format!("{}/latest", app.gateway_url))
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned()
}

async fn visit(app: &TestApp, visitor: &str, path: &str) -> u16 {
    app.client
        .get(format!("{}{path}", app.gateway_url))
        .header("cookie", format!("{}={visitor}", gateway::VISITOR_COOKIE))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn crash(app: &TestApp, visitor: &str) {
    let report = serde_json::json!({
        "message": "TypeError: x is undefined", "source": "/static/app.js", "line": 12,
        "column": 5, "stack": "at f (app.js:12:5)", "page": "/latest"
    });
    let resp = app
        .client
        .post(format!("{}/api/v1/crash", app.gateway_url))
        .header("content-type", "application/json")
        .header("cookie", format!("{}={visitor}", gateway::VISITOR_COOKIE))
        .body(report.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
}

async fn page_views_become_rows_that_a_visitor_can_export_and_delete(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let mut retention = Retention::start(&app).await;
    let visitor = first_visit(&app).await;
    assert_eq!(visit(&app, &visitor, "/nowhere").await, 404);
    crash(&app, &visitor).await;
    let summary = retention
        .wait_for(&visitor, |s| {
            rows(s, "request") >= 2 && rows(s, "crash") == 1
        })
        .await;
    let request = summary.kinds.iter().find(|k| k.kind == "request").unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(request.oldest_unix <= request.newest_unix);
    assert!((now - request.newest_unix).abs() < 60, "{request:?}");
    assert_eq!(rows(&summary, "captcha"), 0);

    // Export, as JSON lines and as CSV.
    let json = retention.export(&visitor, ExportFormat::Json).await;
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let paths: Vec<&str> = lines
        .iter()
        .filter(|l| l["kind"] == "request")
        .map(|l| l["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"/latest") && paths.contains(&"/nowhere"),
        "{json}"
    );
    assert!(lines.iter().all(|l| l["visitor_id"] == visitor.as_str()));
    let crash_line = lines.iter().find(|l| l["kind"] == "crash").unwrap();
    assert_eq!(crash_line["message"], "TypeError: x is undefined");
    assert_eq!(crash_line["line"], 12);
    let csv = retention.export(&visitor, ExportFormat::Csv).await;
    assert!(
        csv.starts_with("kind,event_id,ts,visitor_id,ip,method,path,status"),
        "{csv}"
    );
    assert!(
        csv.contains("\nkind,event_id,ts,visitor_id,page,message"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("request,") && l.contains(",/nowhere,404,"))
    );

    // Statistics of today: the 200 on /latest is a page view, the 404 is not.
    let stats = retention
        .stats
        .visitor_stats(VisitorStatsRequest {
            from_unix: now - 86_400,
            to_unix: now,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.days.len(), 2);
    let today = stats.days.last().unwrap();
    assert_eq!(today.day, chrono::Utc::now().format("%Y-%m-%d").to_string());
    assert!(today.visitors >= 1 && today.page_views >= 1, "{today:?}");

    // Delete: per-store counts, then zeros; nothing left to export.
    let deleted = retention.delete(&visitor).await;
    let count = |store: &str| {
        deleted
            .counts
            .iter()
            .find(|c| c.store == store)
            .unwrap()
            .deleted
    };
    assert!(count("access_log") >= 2, "{deleted:?}");
    assert_eq!(count("crash_reports"), 1);
    assert_eq!(count("captcha_events"), 0);
    let again = retention.delete(&visitor).await;
    assert!(again.counts.iter().all(|c| c.deleted == 0), "{again:?}");
    assert_eq!(retention.export(&visitor, ExportFormat::Json).await, "");
    assert_eq!(retention.export(&visitor, ExportFormat::Csv).await, "");
    let summary = retention.summarize(&visitor).await;
    assert!(summary.kinds.iter().all(|k| k.rows == 0), "{summary:?}");

    // An empty visitor id would match every anonymous row: refused.
    let err = retention
        .visitors
        .delete(DeleteRequest {
            visitor_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);

    retention.stop().await;
    app.stop().await;
}
both_modes!(page_views_become_rows_that_a_visitor_can_export_and_delete);

async fn partition_exists(store: &LogStore, name: &str) -> bool {
    let row = store
        .connection()
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!(
                "SELECT COUNT(*) AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                 WHERE c.relname = '{name}'"
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap() > 0
}

/// The text column `column` of each row of the Postgres query `sql`.
async fn catalog_strings(store: &LogStore, sql: String, column: &str) -> Vec<String> {
    store
        .connection()
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            sql,
        ))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", column).unwrap())
        .collect()
}

/// The collations of `table`'s key columns (`event_id`, `visitor_id`).
async fn key_collations(store: &LogStore, table: &str) -> Vec<String> {
    let sql = format!(
        "SELECT co.collname AS name FROM pg_attribute a \
         JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_collation co ON co.oid = a.attcollation \
         WHERE c.relname = '{table}' AND a.attname IN ('event_id', 'visitor_id') \
         ORDER BY a.attname"
    );
    catalog_strings(store, sql, "name").await
}

/// Each index of `table`: its columns in order, and "unique" when it is.
async fn index_columns(store: &LogStore, table: &str) -> Vec<String> {
    let sql = format!(
        "SELECT '(' || string_agg(a.attname, ', ' ORDER BY k.n) || ')' \
         || CASE WHEN i.indisunique THEN ' unique' ELSE '' END AS def \
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
         CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
         WHERE c.relname = '{table}' GROUP BY i.indexrelid, i.indisunique ORDER BY 1"
    );
    catalog_strings(store, sql, "def").await
}

async fn the_sweep_removes_everything_past_the_retention_once(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let mut retention = Retention::start(&app).await;
    let visitor = first_visit(&app).await;
    crash(&app, &visitor).await;
    retention
        .wait_for(&visitor, |s| {
            rows(s, "request") >= 1 && rows(s, "crash") == 1
        })
        .await;
    let store = retention.store.clone();
    let today = chrono::Utc::now().date_naive();
    let todays: Vec<String> = Kind::ALL
        .iter()
        .map(|k| log_retention::logstore::partition_name(*k, today))
        .collect();
    if mode == Mode::Distributed {
        // Created on demand by the inserts.
        for name in &todays[..2] {
            assert!(partition_exists(&store, name).await, "{name} was created");
            // Ids compared byte by byte, in the partitions made after the
            // migration too.
            assert_eq!(key_collations(&store, name).await, ["C", "C"], "{name}");
        }
        // A page view's statistics row has no unique key (it is stored with
        // its access-log row, only when that row is new): a BRIN on its time
        // is what the statistics' time ranges read.
        let stats_today =
            log_retention::logstore::table_partition_name(log_retention::stats::STAT_TABLE, today);
        let indexes = index_columns(&store, &stats_today).await;
        assert_eq!(indexes, ["(ts)"], "{stats_today}");
        // A sweep now removes nothing and creates the coming days' partitions.
        let tomorrow = today.succ_opt().unwrap();
        let report = store.sweep(chrono::Utc::now(), 183).await.unwrap();
        assert!(report.is_empty(), "nothing is old yet: {report:?}");
        for name in &todays {
            assert!(partition_exists(&store, name).await, "{name} exists");
        }
        assert!(
            partition_exists(
                &store,
                &log_retention::logstore::partition_name(Kind::Request, tomorrow)
            )
            .await
        );
    }

    let future = chrono::Utc::now() + chrono::Duration::days(1000);
    let retention_days = app.infra.settings.retention.retention_days.get();
    let report = store.sweep(future, retention_days).await.unwrap();
    let cut = log_retention::logstore::cutoff(future, retention_days);
    for kind in Kind::ALL {
        assert_eq!(store.count(kind).await.unwrap(), 0, "{kind:?}");
        assert_eq!(store.count_older(kind, cut).await.unwrap(), 0, "{kind:?}");
    }
    match mode {
        Mode::Distributed => {
            assert_eq!(
                report.deleted_rows, 0,
                "whole partitions dropped: {report:?}"
            );
            for name in &todays {
                assert!(report.dropped_partitions.contains(name), "{report:?}");
                assert!(!partition_exists(&store, name).await, "{name} detached");
            }
            // Detached at once, their files dropped afterwards.
            let mut reclaimed = store.reclaim_expired().await.unwrap();
            reclaimed.sort();
            let mut expected: Vec<String> = report
                .dropped_partitions
                .iter()
                .chain(&report.stat_dropped_partitions)
                .map(|name| format!("{}{name}", log_retention::logstore::EXPIRED_PREFIX))
                .collect();
            expected.sort();
            assert_eq!(reclaimed, expected);
            assert!(store.reclaim_expired().await.unwrap().is_empty());
            for kind in Kind::ALL {
                for name in store.partitions(kind).await.unwrap() {
                    let day = log_retention::logstore::partition_day(kind, &name).unwrap();
                    assert!(day >= cut.date_naive(), "{name} is older than the cutoff");
                }
            }
        }
        Mode::Embedded => {
            assert!(report.deleted_rows >= 2, "{report:?}");
            assert!(report.dropped_partitions.is_empty());
        }
    }
    let again = store.sweep(future, retention_days).await.unwrap();
    assert!(again.is_empty(), "a second sweep changed {again:?}");
    let summary = retention.summarize(&visitor).await;
    assert!(summary.kinds.iter().all(|k| k.rows == 0), "{summary:?}");

    retention.stop().await;
    app.stop().await;
}
both_modes!(the_sweep_removes_everything_past_the_retention_once);

fn request_at(id: &str, visitor: &str, at: chrono::DateTime<chrono::Utc>) -> RequestLogged {
    RequestLogged {
        event_id: id.into(),
        ts: Some(proto::timestamp_from_unix_millis(at.timestamp_millis())),
        visitor_id: visitor.into(),
        method: "GET".into(),
        path: "/latest".into(),
        status: 200,
        ..Default::default()
    }
}

async fn a_consumer_crash_mid_batch_stores_every_event_once(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let mut retention = Retention::start(&app).await;
    let visitor = format!("bulk-{}", uuid::Uuid::new_v4().simple());
    let total: u64 = 1_500;
    let now = chrono::Utc::now();
    for i in 0..total {
        let event = request_at(&format!("{visitor}-{i}"), &visitor, now);
        app.infra.bus.publish(&event).await.unwrap();
    }
    // Crash the consumer once some batches are in (or none yet), restart it.
    let _ = retention
        .wait_for(&visitor, |s| rows(s, "request") > 0)
        .await;
    retention.crash_and_restart_consumer(&app).await;
    retention
        .wait_for(&visitor, |s| rows(s, "request") >= total)
        .await;
    // Redeliveries of the batch in hand at the crash come after ack_wait: still once.
    tokio::time::sleep(Duration::from_secs(
        app.infra.settings.bus.ack_wait_secs + 2,
    ))
    .await;
    let summary = retention.summarize(&visitor).await;
    assert_eq!(rows(&summary, "request"), total, "{summary:?}");
    // The export streams them in several chunks, each row once.
    let chunks = retention.export_chunks(&visitor, ExportFormat::Json).await;
    assert!(chunks.len() >= 3, "{} chunks", chunks.len());
    let text = String::from_utf8(chunks.concat()).unwrap();
    let ids: std::collections::HashSet<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["event_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len() as u64, total);
    assert_eq!(text.lines().count() as u64, total);
    retention.stop().await;
    app.stop().await;
}
both_modes!(a_consumer_crash_mid_batch_stores_every_event_once);

async fn the_boundary_day_is_swept_by_timestamp_and_older_days_dropped(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let store = app.log_store().await;
    let now = chrono::Utc::now()
        .date_naive()
        .and_hms_opt(12, 30, 0)
        .unwrap()
        .and_utc();
    let days = 183;
    let cut = log_retention::logstore::cutoff(now, days);
    let second = chrono::Duration::seconds(1);
    let instants = [
        now - chrono::Duration::days(400),
        now - chrono::Duration::days(184),
        cut - second,
        cut + second,
        now,
    ];
    let mut rows = Vec::new();
    for (i, at) in instants.iter().enumerate() {
        let id = format!("b{i}");
        rows.push(LogRow::from_request(request_at(&id, "v", *at), now));
        rows.push(LogRow::from_crash(
            CrashReported {
                event_id: id.clone(),
                ts: Some(proto::timestamp_from_unix_millis(at.timestamp_millis())),
                visitor_id: "v".into(),
                ..Default::default()
            },
            now,
        ));
        rows.push(LogRow::from_captcha(
            CaptchaEvent {
                event_id: id,
                ts: Some(proto::timestamp_from_unix_millis(at.timestamp_millis())),
                visitor_id: "v".into(),
                ..Default::default()
            },
            now,
        ));
    }
    assert_eq!(store.insert_batch(&rows).await.unwrap(), 15);
    let report = store.sweep(now, days).await.unwrap();
    for kind in Kind::ALL {
        assert_eq!(store.count_older(kind, cut).await.unwrap(), 0, "{kind:?}");
        assert_eq!(store.count(kind).await.unwrap(), 2, "{kind:?}");
    }
    match mode {
        Mode::Distributed => {
            assert_eq!(report.deleted_rows, 3, "only the boundary day by timestamp");
            assert_eq!(report.dropped_partitions.len(), 6, "{report:?}");
            for kind in Kind::ALL {
                for at in &instants[..2] {
                    let name = log_retention::logstore::partition_name(kind, at.date_naive());
                    assert!(report.dropped_partitions.contains(&name), "{report:?}");
                    assert!(!partition_exists(&store, &name).await, "{name}");
                }
                let boundary = log_retention::logstore::partition_name(kind, cut.date_naive());
                assert!(partition_exists(&store, &boundary).await, "{boundary} kept");
            }
        }
        Mode::Embedded => assert_eq!(report.deleted_rows, 9, "{report:?}"),
    }
    let again = store.sweep(now, days).await.unwrap();
    assert!(again.is_empty(), "a second sweep changed {again:?}");
    app.stop().await;
}
both_modes!(the_boundary_day_is_swept_by_timestamp_and_older_days_dropped);
