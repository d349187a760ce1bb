//! `cloudsms.retention.v1`: `VisitorDataService` (summarize, export, delete
//! one visitor's rows), `StatsService` (daily visitors and page views) and
//! `AuditService` (the operators' audit log, in `crate::audit`), served on
//! `retention.grpc_listen` for the gateway.

use std::pin::Pin;

use chrono::{DateTime, NaiveDate};
use futures::Stream;
use proto::retention::v1::audit_service_server::AuditServiceServer;
use proto::retention::v1::stats_service_server::{StatsService, StatsServiceServer};
use proto::retention::v1::visitor_data_service_server::{
    VisitorDataService, VisitorDataServiceServer,
};
use proto::retention::v1::{
    DailyVisitors, DeleteRequest, DeleteResponse, ExportChunk, ExportFormat, ExportRequest,
    KindSummary, StatsRequest, StatsResponse, StatsTotals, StoreCount, SummarizeRequest,
    SummarizeResponse, VisitorStatsRequest, VisitorStatsResponse,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::logstore::{ExportCursor, LogStore};
use crate::schema::Kind;
use crate::stats::{self, MAX_RANGE_DAYS};

/// Rows per export page read from the database.
pub const EXPORT_PAGE: u64 = 500;
/// A chunk is sent once it reaches this size (and at the end of each page),
/// far below gRPC's default 4 MiB message limit.
pub const CHUNK_BYTES: usize = 64 * 1024;
/// Longest span `VisitorStats` answers, in days.
pub const MAX_STATS_DAYS: i64 = 400;

/// The services over one store.
#[derive(Clone)]
pub struct Api {
    store: LogStore,
}

impl Api {
    /// The API over `store`.
    pub fn new(store: LogStore) -> Self {
        Self { store }
    }

    /// The store the services read.
    pub(crate) fn store(&self) -> &LogStore {
        &self.store
    }
}

pub(crate) fn internal(err: sea_orm::DbErr) -> Status {
    tracing::warn!(error = %err, "retention query failed");
    Status::unavailable("database unavailable")
}

/// A visitor id as the gateway issues it: 1 to 128 visible ASCII characters.
fn visitor_id(raw: &str) -> Result<&str, Status> {
    let id = raw.trim();
    if id.is_empty() || id.len() > 128 || !id.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Status::invalid_argument(
            "visitor_id: 1 to 128 visible ASCII characters",
        ));
    }
    Ok(id)
}

/// One CSV field: quoted when needed, formula-like cells defused
/// ([`domain::csv_cell`], shared with the gateway's statistics export).
fn csv_field(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => domain::csv_cell(s).into_owned(),
        serde_json::Value::Null => String::new(),
        other => domain::csv_cell(&other.to_string()).into_owned(),
    }
}

fn csv_header(kind: Kind) -> String {
    let mut cols = vec!["kind", "event_id", "ts"];
    cols.extend(kind.columns());
    format!("{}\n", cols.join(","))
}

fn csv_line(kind: Kind, row: &serde_json::Value) -> String {
    let mut cells = vec![kind.name().to_owned()];
    for col in ["event_id", "ts"].into_iter().chain(kind.columns()) {
        cells.push(csv_field(row.get(col).unwrap_or(&serde_json::Value::Null)));
    }
    format!("{}\n", cells.join(","))
}

fn json_line(kind: Kind, mut row: serde_json::Value) -> String {
    if let serde_json::Value::Object(map) = &mut row {
        map.insert("kind".into(), serde_json::Value::from(kind.name()));
    }
    format!("{row}\n")
}

/// Sends `data` as one chunk and empties it; false when the client is gone.
async fn send(tx: &mpsc::Sender<Result<ExportChunk, Status>>, data: &mut String) -> bool {
    let chunk = ExportChunk {
        data: std::mem::take(data).into_bytes(),
    };
    tx.send(Ok(chunk)).await.is_ok()
}

/// Streams every row of `visitor` as chunks of one page each.
async fn export(
    store: LogStore,
    visitor: String,
    csv: bool,
    tx: mpsc::Sender<Result<ExportChunk, Status>>,
) {
    for kind in Kind::ALL {
        let mut cursor: Option<ExportCursor> = None;
        let mut first = true;
        loop {
            let page = match store
                .export_page(kind, &visitor, cursor.as_ref(), EXPORT_PAGE)
                .await
            {
                Ok(page) => page,
                Err(err) => {
                    let _ = tx.send(Err(internal(err))).await;
                    return;
                }
            };
            let full = u64::try_from(page.len()).unwrap_or(0) == EXPORT_PAGE;
            let mut data = String::new();
            if csv && first && !page.is_empty() {
                data.push_str(&csv_header(kind));
            }
            first = false;
            for (next, row) in page {
                if csv {
                    data.push_str(&csv_line(kind, &row));
                } else {
                    data.push_str(&json_line(kind, row));
                }
                cursor = Some(next);
                if data.len() >= CHUNK_BYTES && !send(&tx, &mut data).await {
                    return; // the client went away
                }
            }
            if !data.is_empty() && !send(&tx, &mut data).await {
                return;
            }
            if !full {
                break;
            }
        }
    }
}

type ExportStream = Pin<Box<dyn Stream<Item = Result<ExportChunk, Status>> + Send>>;

#[tonic::async_trait]
impl VisitorDataService for Api {
    #[tracing::instrument(name = "VisitorDataService/Summarize", skip_all, fields(rpc.system = "grpc"))]
    async fn summarize(
        &self,
        request: Request<SummarizeRequest>,
    ) -> Result<Response<SummarizeResponse>, Status> {
        let req = request.into_inner();
        let visitor = visitor_id(&req.visitor_id)?;
        let kinds = self
            .store
            .summarize(visitor)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|k| KindSummary {
                kind: k.kind.name().to_owned(),
                rows: k.rows,
                oldest_unix: k.oldest.map_or(0, |t| t.timestamp()),
                newest_unix: k.newest.map_or(0, |t| t.timestamp()),
            })
            .collect();
        Ok(Response::new(SummarizeResponse { kinds }))
    }

    type ExportStream = ExportStream;

    #[tracing::instrument(name = "VisitorDataService/Export", skip_all, fields(rpc.system = "grpc"))]
    async fn export(
        &self,
        request: Request<ExportRequest>,
    ) -> Result<Response<Self::ExportStream>, Status> {
        let req = request.into_inner();
        let visitor = visitor_id(&req.visitor_id)?.to_owned();
        let csv = match ExportFormat::try_from(req.format) {
            Ok(ExportFormat::Csv) => true,
            Ok(ExportFormat::Json | ExportFormat::Unspecified) => false,
            Err(_) => return Err(Status::invalid_argument("format: JSON or CSV")),
        };
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(export(self.store.clone(), visitor, csv, tx));
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Ok(Response::new(Box::pin(stream)))
    }

    #[tracing::instrument(name = "VisitorDataService/Delete", skip_all, fields(rpc.system = "grpc"))]
    async fn delete(
        &self,
        request: Request<DeleteRequest>,
    ) -> Result<Response<DeleteResponse>, Status> {
        let req = request.into_inner();
        let visitor = visitor_id(&req.visitor_id)?;
        let counts = self
            .store
            .delete_visitor(visitor)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|(kind, deleted)| StoreCount {
                store: kind.table().to_owned(),
                deleted,
            })
            .collect();
        tracing::info!("visitor data deleted on request");
        Ok(Response::new(DeleteResponse { counts }))
    }
}

#[tonic::async_trait]
impl StatsService for Api {
    #[tracing::instrument(name = "StatsService/VisitorStats", skip_all, fields(rpc.system = "grpc"))]
    async fn visitor_stats(
        &self,
        request: Request<VisitorStatsRequest>,
    ) -> Result<Response<VisitorStatsResponse>, Status> {
        let req = request.into_inner();
        let (from, to) = stats_range(req.from_unix, req.to_unix)?;
        let days = self
            .store
            .daily_stats(from, to)
            .await
            .map_err(internal)?
            .into_iter()
            .map(|d| DailyVisitors {
                day: d.day.format("%Y-%m-%d").to_string(),
                visitors: d.visitors,
                page_views: d.page_views,
            })
            .collect();
        Ok(Response::new(VisitorStatsResponse { days }))
    }

    #[tracing::instrument(name = "StatsService/Stats", skip_all, fields(rpc.system = "grpc"))]
    async fn stats(
        &self,
        request: Request<StatsRequest>,
    ) -> Result<Response<StatsResponse>, Status> {
        let req = request.into_inner();
        let query = stats_query(&req)?;
        let report = self
            .store
            .report(&query, chrono::Utc::now())
            .await
            .map_err(internal)?;
        Ok(Response::new(report_message(report)))
    }
}

/// Rows per top list when the request says 0, and the most it may ask for.
pub const DEFAULT_LIMIT: u32 = 10;
/// See [`DEFAULT_LIMIT`].
pub const MAX_LIMIT: u32 = 100;

/// The checked query of a `StatsRequest`: `[from, to)`, at most 400 days.
fn stats_query(req: &StatsRequest) -> Result<stats::Query, Status> {
    let at = |secs: i64, name: &str| {
        DateTime::from_timestamp(secs, 0)
            .filter(|t| t.timestamp().abs() < 253_402_300_799)
            .ok_or_else(|| Status::invalid_argument(format!("{name}: out of range")))
    };
    let from = at(req.from_unix, "from_unix")?;
    let to = at(req.to_unix, "to_unix")?;
    if to <= from {
        return Err(Status::invalid_argument("to_unix must be after from_unix"));
    }
    if (to - from).num_seconds() > MAX_RANGE_DAYS * 86_400 {
        return Err(Status::invalid_argument(format!(
            "at most {MAX_RANGE_DAYS} days"
        )));
    }
    let limit = match req.limit {
        0 => DEFAULT_LIMIT,
        n => n.min(MAX_LIMIT),
    };
    Ok(stats::Query {
        from,
        to,
        include_bots: req.include_bots,
        limit,
    })
}

fn totals_message(t: &stats::Totals) -> StatsTotals {
    StatsTotals {
        visitors: t.visitors,
        visits: t.visits,
        pageviews: t.pageviews,
        bounces: t.bounces,
        bounce_rate: t.bounce_rate(),
        mean_visit_secs: t.mean_visit_secs(),
        bot_pageviews: t.bot_pageviews,
        all_pageviews: t.all_pageviews,
        crawler_share: t.crawler_share(),
        crashes: t.crashes,
    }
}

fn report_message(r: stats::Report) -> StatsResponse {
    use proto::retention::v1::{Breakdown, SeriesPoint};
    let list = |entries: Vec<stats::Entry>| -> Vec<Breakdown> {
        entries
            .into_iter()
            .map(|e| Breakdown {
                key: e.key,
                visitors: e.visitors,
                pageviews: e.pageviews,
            })
            .collect()
    };
    let series = |points: Vec<stats::Point>| -> Vec<SeriesPoint> {
        points
            .into_iter()
            .map(|p| SeriesPoint {
                start_unix: p.start.timestamp(),
                visitors: p.visitors,
                pageviews: p.pageviews,
            })
            .collect()
    };
    StatsResponse {
        from_unix: r.from.timestamp(),
        to_unix: r.to.timestamp(),
        totals: Some(totals_message(&r.totals)),
        previous: Some(totals_message(&r.previous)),
        previous_from_unix: r.previous_from.timestamp(),
        current_visitors: r.current_visitors,
        top_pages: list(r.top_pages),
        top_numbers: list(r.top_numbers),
        entry_pages: list(r.entry_pages),
        referrers: list(r.referrers),
        utm_sources: list(r.utm_sources),
        browsers: list(r.browsers),
        operating_systems: list(r.operating_systems),
        devices: list(r.devices),
        countries: list(r.countries),
        crash_messages: list(r.crash_messages),
        days: series(r.days),
        hours: series(r.hours),
        include_bots: r.include_bots,
    }
}

/// The UTC days from `from_unix` to `to_unix`, both included.
fn stats_range(from_unix: i64, to_unix: i64) -> Result<(NaiveDate, NaiveDate), Status> {
    let day = |secs: i64, name: &str| {
        DateTime::from_timestamp(secs, 0)
            .map(|t| t.date_naive())
            .ok_or_else(|| Status::invalid_argument(format!("{name}: out of range")))
    };
    let from = day(from_unix, "from_unix")?;
    let to = day(to_unix, "to_unix")?;
    if to < from {
        return Err(Status::invalid_argument("to_unix is before from_unix"));
    }
    if (to - from).num_days() >= MAX_STATS_DAYS {
        return Err(Status::invalid_argument(format!(
            "at most {MAX_STATS_DAYS} days"
        )));
    }
    Ok((from, to))
}

/// Serves the services until `shutdown`.
pub async fn serve(
    store: LogStore,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let api = Api::new(store);
    let routes = tonic::service::Routes::new(VisitorDataServiceServer::new(api.clone()))
        .add_service(StatsServiceServer::new(api.clone()))
        .add_service(AuditServiceServer::new(api));
    platform::grpc::serve(routes, listener, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field(&serde_json::json!("plain")), "plain");
        assert_eq!(csv_field(&serde_json::json!("a,b")), "\"a,b\"");
        assert_eq!(
            csv_field(&serde_json::json!("say \"hi\"")),
            "\"say \"\"hi\"\"\""
        );
        assert_eq!(csv_field(&serde_json::json!("=SUM(A1)")), "'=SUM(A1)");
        assert_eq!(csv_field(&serde_json::json!("\t=SUM(A1)")), "'\t=SUM(A1)");
        assert_eq!(csv_field(&serde_json::json!(404)), "404");
        assert_eq!(csv_field(&serde_json::Value::Null), "");
    }

    #[test]
    fn visitor_ids_are_checked() {
        assert!(visitor_id("0123456789abcdef").is_ok());
        assert!(visitor_id("").is_err());
        assert!(visitor_id("  ").is_err());
        assert!(visitor_id(&"a".repeat(129)).is_err());
        assert!(visitor_id("a b").is_err());
    }

    #[test]
    fn stats_ranges_are_bounded() {
        assert!(stats_range(0, 86_400).is_ok());
        assert!(stats_range(86_400, 0).is_err());
        assert!(stats_range(0, 86_400 * 500).is_err());
        assert!(stats_range(i64::MAX, i64::MAX).is_err());
    }

    #[test]
    fn stats_queries_are_checked() {
        let q = |from_unix, to_unix| {
            stats_query(&StatsRequest {
                from_unix,
                to_unix,
                ..Default::default()
            })
        };
        assert_eq!(q(0, 86_400).map(|q| q.limit).ok(), Some(DEFAULT_LIMIT));
        assert!(q(86_400, 86_400).is_err(), "empty range");
        assert!(q(86_400, 0).is_err());
        assert!(q(0, 86_400 * 401).is_err());
        assert!(q(i64::MIN, 0).is_err());
        assert!(q(0, i64::MAX).is_err());
    }
}
