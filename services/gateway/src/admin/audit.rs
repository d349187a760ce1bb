//! The audit log's writing side: every operator action (console or admin
//! API) becomes one `AdminActionLogged` event on the logs stream;
//! log-retention stores it and keeps it as long as the server logs.

use chrono::Utc;
use proto::events::v1::AdminActionLogged;

use crate::AppState;

/// One operator action.
#[derive(Debug, Clone, Copy)]
pub struct Action<'a> {
    /// The operator token's name.
    pub operator: &'a str,
    /// What was done: `number.add`, `number.retire`, `message.hide`...
    pub action: &'a str,
    /// What it was done to: an E.164, a message id, a report id.
    pub target: &'a str,
    /// The reason or the new value, free text.
    pub detail: &'a str,
}

/// Publishes `action` to the audit log. The action itself has happened
/// already: a bus failure is logged (with everything the event would have
/// said, so the server log keeps it) and returned for the caller to report.
pub async fn record(state: &AppState, action: Action<'_>) -> Result<(), bus::BusError> {
    let event = AdminActionLogged {
        event_id: uuid::Uuid::now_v7().to_string(),
        ts: Some(proto::timestamp_from_unix_millis(
            Utc::now().timestamp_millis(),
        )),
        operator: action.operator.to_owned(),
        action: action.action.to_owned(),
        target: action.target.to_owned(),
        detail: action.detail.to_owned(),
        trace_id: telemetry::current_trace_id().unwrap_or_default(),
    };
    match state.bus.publish(&event).await {
        Ok(_) => Ok(()),
        Err(err) => {
            tracing::error!(
                error = %err,
                operator = action.operator,
                action = action.action,
                target = action.target,
                detail = action.detail,
                "audit event not published"
            );
            Err(err)
        }
    }
}
