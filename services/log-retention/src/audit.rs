//! `cloudsms.retention.v1.AuditService`: the operators' audit log (the
//! `admin_audit` table, see `logstore::audit`) for the gateway's console,
//! newest first, filtered and paged; served beside `StatsService`.

use chrono::{DateTime, Utc};
use proto::retention::v1::audit_service_server::AuditService;
use proto::retention::v1::{AuditEntry, AuditListRequest, AuditListResponse};
use tonic::{Request, Response, Status};

use crate::entities::admin_audit;
use crate::grpc::Api;
use crate::logstore::{AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, AuditQuery};

/// The longest operator, action or target filter, in bytes (256
/// characters of up to four bytes).
pub const MAX_FILTER_BYTES: usize = 1024;

/// An instant of the request: `None` for 0 (that end open).
fn instant(secs: i64, name: &str) -> Result<Option<DateTime<Utc>>, Status> {
    if secs == 0 {
        return Ok(None);
    }
    DateTime::from_timestamp(secs, 0)
        .filter(|t| t.timestamp().abs() < 253_402_300_799)
        .map(Some)
        .ok_or_else(|| Status::invalid_argument(format!("{name}: out of range")))
}

/// An exact-match filter: `None` when empty.
fn filter(value: &str, name: &str) -> Result<Option<String>, Status> {
    if value.len() > MAX_FILTER_BYTES {
        return Err(Status::invalid_argument(format!(
            "{name}: at most {MAX_FILTER_BYTES} bytes"
        )));
    }
    Ok((!value.is_empty()).then(|| value.to_owned()))
}

/// The checked query of an `AuditListRequest`.
pub fn audit_query(req: &AuditListRequest) -> Result<AuditQuery, Status> {
    let from = instant(req.from_unix, "from_unix")?;
    let to = instant(req.to_unix, "to_unix")?;
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        return Err(Status::invalid_argument("to_unix must be after from_unix"));
    }
    let before = match req.before_id {
        0 => None,
        id if id > 0 => Some(id),
        _ => return Err(Status::invalid_argument("before_id: a positive id")),
    };
    let limit = match u64::from(req.limit) {
        0 => AUDIT_DEFAULT_LIMIT,
        n => n.min(AUDIT_MAX_LIMIT),
    };
    Ok(AuditQuery {
        from,
        to,
        operator: filter(&req.operator, "operator")?,
        action: filter(&req.action, "action")?,
        target: filter(&req.target, "target")?,
        before,
        limit,
    })
}

fn entry(m: admin_audit::Model) -> AuditEntry {
    AuditEntry {
        id: m.id,
        event_id: m.event_id,
        at_unix_millis: m.ts.timestamp_millis(),
        operator: m.operator,
        action: m.action,
        target: m.target,
        detail: m.detail,
        trace_id: m.trace_id,
    }
}

#[tonic::async_trait]
impl AuditService for Api {
    #[tracing::instrument(name = "AuditService/List", skip_all, fields(rpc.system = "grpc"))]
    async fn list(
        &self,
        request: Request<AuditListRequest>,
    ) -> Result<Response<AuditListResponse>, Status> {
        let query = audit_query(request.get_ref())?;
        // Stored text has no NUL (see `rows::cap_bytes`), and Postgres
        // refuses one in a parameter: such a filter matches nothing.
        if [&query.operator, &query.action, &query.target]
            .into_iter()
            .flatten()
            .any(|f| f.contains('\0'))
        {
            return Ok(Response::new(AuditListResponse::default()));
        }
        let page = self
            .store()
            .audit_page(&query)
            .await
            .map_err(crate::grpc::internal)?;
        Ok(Response::new(AuditListResponse {
            entries: page.entries.into_iter().map(entry).collect(),
            next_before_id: page.next.unwrap_or(0),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(req: AuditListRequest) -> Result<AuditQuery, Status> {
        audit_query(&req)
    }

    #[test]
    fn audit_queries_are_checked_and_bounded() {
        let all = q(AuditListRequest::default()).ok();
        assert_eq!(
            all,
            Some(AuditQuery {
                limit: AUDIT_DEFAULT_LIMIT,
                ..Default::default()
            })
        );
        let big = q(AuditListRequest {
            limit: 5_000,
            ..Default::default()
        });
        assert_eq!(big.map(|q| q.limit).ok(), Some(AUDIT_MAX_LIMIT));
        let range = |from_unix, to_unix| {
            q(AuditListRequest {
                from_unix,
                to_unix,
                ..Default::default()
            })
        };
        assert!(range(100, 200).is_ok());
        assert!(range(100, 0).is_ok(), "open end");
        assert!(range(200, 100).is_err());
        assert!(range(100, 100).is_err());
        assert!(range(i64::MAX, 0).is_err());
        assert!(range(0, i64::MIN).is_err());
        assert!(
            q(AuditListRequest {
                before_id: -1,
                ..Default::default()
            })
            .is_err()
        );
        assert!(
            q(AuditListRequest {
                operator: "a".repeat(MAX_FILTER_BYTES + 1),
                ..Default::default()
            })
            .is_err()
        );
        let exact = q(AuditListRequest {
            action: "number.add".into(),
            before_id: 7,
            ..Default::default()
        })
        .ok();
        assert_eq!(
            exact.map(|q| (q.action, q.before)),
            Some((Some("number.add".to_owned()), Some(7)))
        );
    }
}
