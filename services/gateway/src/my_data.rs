//! `/my-data`: what the server log holds under this browser's identifier,
//! downloadable and deletable. Only the browser holding the cookie can act
//! (there is no form to type an id into), and the delete is CSRF-protected
//! (SameSite cookie, same-origin check, and a token keyed by the gateway's
//! key and bound to the id, compared in constant time). Nothing here may be
//! stored by a cache on the way (`Cache-Control: no-store`).

use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use futures::StreamExt;
use proto::retention::v1::visitor_data_service_client::VisitorDataServiceClient;
use proto::retention::v1::{
    DeleteRequest, ExportFormat, ExportRequest, StoreCount, SummarizeRequest,
};
use serde::Deserialize;
use tonic::transport::{Channel, Endpoint};

use crate::i18n::Tr;
use crate::pages::{Layout, base_url};
use crate::security::{new_visitor_id, visitor_id};
use crate::{AppState, PageError};

/// The gRPC service `/my-data` calls, for spans and metrics.
const RETENTION: &str = "cloudsms.retention.v1.VisitorDataService";

/// A lazily connected client of log-retention (none when unconfigured).
pub fn client(url: &str) -> Option<VisitorDataServiceClient<Channel>> {
    if url.trim().is_empty() {
        return None;
    }
    let endpoint = Endpoint::from_shared(url.to_owned())
        .ok()?
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(30));
    Some(VisitorDataServiceClient::new(endpoint.connect_lazy()))
}

/// The purpose of the delete form's CSRF token (see `crate::keys`).
const CSRF_PURPOSE: &str = "my-data";

/// A visitor's data is never kept by a cache, nor indexed.
fn no_store(mut response: Response) -> Response {
    crate::security::private(response.headers_mut());
    response
}

struct KindRow {
    label: &'static str,
    rows: u64,
    oldest: String,
    newest: String,
}

#[derive(Template)]
#[template(path = "my_data.html")]
struct MyDataPage {
    t: Tr,
    layout: Layout,
    visitor_id: Option<String>,
    kinds: Vec<KindRow>,
    available: bool,
    csrf: String,
    deleted: Option<Vec<(&'static str, u64)>>,
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "access_log" | "request" | "requests" => "my_data.kind.requests",
        "crash_reports" | "crash" | "crashes" => "my_data.kind.crashes",
        "captcha_events" | "captcha" => "my_data.kind.captcha",
        "cache" => "my_data.kind.cache",
        _ => "my_data.kind.other",
    }
}

fn day(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn layout(state: &AppState, t: &Tr, headers: &HeaderMap) -> Layout {
    Layout::new(
        t,
        &base_url(state, headers),
        "/my-data",
        t.t("my_data.title").to_owned(),
        t.t("my_data.intro").to_owned(),
    )
}

/// `GET /my-data`: the summary, with export and delete.
pub async fn page(
    State(state): State<AppState>,
    t: Tr,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let visitor = visitor_id(&headers);
    let mut kinds = Vec::new();
    let mut available = state.retention.is_some();
    if let (Some(id), Some(mut client)) = (visitor.clone(), state.retention.clone()) {
        match platform::grpc::call(
            RETENTION,
            "Summarize",
            SummarizeRequest { visitor_id: id },
            |r| client.summarize(r),
        )
        .await
        {
            Ok(summary) => {
                kinds = summary
                    .into_inner()
                    .kinds
                    .into_iter()
                    .map(|k| KindRow {
                        label: kind_label(&k.kind),
                        rows: k.rows,
                        oldest: if k.rows > 0 {
                            day(k.oldest_unix)
                        } else {
                            String::new()
                        },
                        newest: if k.rows > 0 {
                            day(k.newest_unix)
                        } else {
                            String::new()
                        },
                    })
                    .collect();
            }
            Err(status) => {
                tracing::warn!(code = ?status.code(), "log-retention unavailable for /my-data");
                available = false;
            }
        }
    }
    let page = MyDataPage {
        layout: layout(&state, &t, &headers),
        csrf: visitor
            .as_deref()
            .map(|id| state.keys.csrf_token(CSRF_PURPOSE, id))
            .unwrap_or_default(),
        visitor_id: visitor,
        kinds,
        available,
        deleted: None,
        t,
    };
    Ok(no_store(Html(page.render()?).into_response()))
}

/// `?format=json|csv`.
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    format: Option<String>,
}

fn refuse(status: StatusCode, message: &str) -> Response {
    no_store((status, axum::Json(serde_json::json!({ "error": message }))).into_response())
}

/// `GET /my-data/export?format=json|csv`: everything under this browser's id, streamed.
pub async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ExportQuery>,
) -> Response {
    let Some(id) = visitor_id(&headers) else {
        return refuse(
            StatusCode::FORBIDDEN,
            "no identifier cookie: there is nothing to export",
        );
    };
    let Some(mut client) = state.retention.clone() else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "data export is not available",
        );
    };
    let (format, content_type, extension) = match query.format.as_deref() {
        None | Some("json") => (ExportFormat::Json, "application/x-ndjson", "jsonl"),
        Some("csv") => (ExportFormat::Csv, "text/csv; charset=utf-8", "csv"),
        Some(_) => return refuse(StatusCode::BAD_REQUEST, "format must be json or csv"),
    };
    let request = ExportRequest {
        visitor_id: id,
        format: format.into(),
    };
    let stream =
        match platform::grpc::call(RETENTION, "Export", request, |r| client.export(r)).await {
            Ok(response) => response.into_inner(),
            Err(status) => {
                tracing::warn!(code = ?status.code(), "export failed");
                return refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "data export is not available right now",
                );
            }
        };
    let body = Body::from_stream(stream.map(|chunk| {
        chunk
            .map(|c| axum::body::Bytes::from(c.data))
            .map_err(|status| std::io::Error::other(status.message().to_owned()))
    }));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"my-data.{extension}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    no_store(response)
}

/// The delete form.
#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    csrf: String,
}

/// `POST /my-data/delete`: deletes everything under this browser's id, shows
/// the counts and gives the browser a new identifier.
pub async fn delete(
    State(state): State<AppState>,
    t: Tr,
    headers: HeaderMap,
    form: Result<Form<DeleteForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(id) = visitor_id(&headers) else {
        return refuse(
            StatusCode::FORBIDDEN,
            "no identifier cookie: there is nothing to delete",
        );
    };
    let token_ok = form
        .as_ref()
        .is_ok_and(|f| state.keys.check_csrf(CSRF_PURPOSE, &id, &f.csrf));
    if !token_ok || !crate::security::same_origin(&state, &headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            "this request did not come from the My data page",
        );
    }
    let Some(mut client) = state.retention.clone() else {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "deletion is not available");
    };
    let request = DeleteRequest {
        visitor_id: id.clone(),
    };
    let counts =
        match platform::grpc::call(RETENTION, "Delete", request, |r| client.delete(r)).await {
            Ok(response) => {
                let mut counts = response.into_inner().counts;
                // The rate counters the gate and the captcha keep under the id.
                if let Some(deleted) = forget_counters(&state, &id).await {
                    counts.push(StoreCount {
                        store: "cache".to_owned(),
                        deleted,
                    });
                }
                counts
            }
            Err(status) => {
                tracing::warn!(code = ?status.code(), "delete failed");
                return refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "deletion is not available right now; nothing was deleted",
                );
            }
        };
    let page = MyDataPage {
        layout: layout(&state, &t, &headers),
        visitor_id: None,
        kinds: Vec::new(),
        available: true,
        csrf: String::new(),
        deleted: Some(
            counts
                .iter()
                .map(|c| (kind_label(&c.store), c.deleted))
                .collect(),
        ),
        t,
    };
    let mut response = match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => return PageError::from(err).into_response(),
    };
    // A fresh identifier: nothing new is ever joined to the deleted one.
    crate::security::set_visitor_cookie(
        response.headers_mut(),
        &new_visitor_id(),
        crate::security::is_tls(&state, &headers),
    );
    no_store(response)
}

/// Every cache key the gateway names by a visitor id: deleting a visitor's
/// data deletes these. A new kind of per-visitor key belongs here.
pub fn visitor_keys(visitor: &str) -> Vec<String> {
    vec![
        crate::gate::visitor_key(visitor),
        crate::access_log::crash_visitor_key(visitor),
        crate::takedown::visitor_key(visitor),
    ]
}

/// Deletes the gateway's counters under `visitor` and asks
/// captcha-verification to delete its own: how many keys went (`None` when
/// neither answered; each failure is logged).
async fn forget_counters(state: &AppState, visitor: &str) -> Option<u64> {
    let own = state
        .cache
        .forget(&visitor_keys(visitor))
        .await
        .inspect_err(|err| tracing::warn!(%err, "visitor's cache keys not deleted"))
        .ok();
    let captcha = state
        .gate
        .forget_visitor(visitor)
        .await
        .inspect_err(|status| {
            tracing::warn!(code = ?status.code(), "captcha-verification did not forget the visitor");
        })
        .ok();
    (own.is_some() || captcha.is_some()).then(|| own.unwrap_or(0) + captcha.unwrap_or(0))
}
