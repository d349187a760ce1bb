//! `/admin/api/v1/messages`: search every message (hidden ones too, with
//! their state), hide and show again.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use store::{MessageRow, MessageSearch};

use super::{ApiError, body, number, ok, operator, text, time};
use crate::AppState;
use crate::admin::ops;

/// Longest reason.
pub const MAX_REASON: usize = 500;
/// Longest text searched for.
pub const MAX_QUERY: usize = 200;
/// Longest sender searched for.
pub const MAX_SENDER: usize = 64;
/// Messages per answer unless `limit` says.
pub const DEFAULT_LIMIT: u64 = 50;

/// A message as the operator sees it.
#[derive(Debug, Serialize)]
pub struct AdminMessageJson {
    id: i64,
    number: String,
    sender: String,
    body: String,
    received_at: String,
    stored_at: String,
    code: String,
    service: String,
    hidden: bool,
    hidden_at: Option<String>,
    hidden_reason: Option<String>,
    hidden_by: Option<String>,
}

impl From<MessageRow> for AdminMessageJson {
    fn from(row: MessageRow) -> Self {
        Self {
            id: row.id,
            number: row.number,
            sender: row.sender,
            body: row.body,
            received_at: time(row.received_at),
            stored_at: time(row.stored_at),
            code: row.code.unwrap_or_default(),
            service: row.service.unwrap_or_default(),
            hidden: row.hidden_at.is_some(),
            hidden_at: row.hidden_at.map(time),
            hidden_reason: row.hidden_reason,
            hidden_by: row.hidden_by,
        }
    }
}

/// `GET /admin/api/v1/messages` parameters; every one optional.
#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    /// Receiving number (E.164).
    pub number: Option<String>,
    /// Text in the body.
    pub q: Option<String>,
    /// Sender, exactly.
    pub sender: Option<String>,
    /// Received strictly before (RFC 3339).
    pub before: Option<String>,
    /// Received at or after (RFC 3339).
    pub after: Option<String>,
    /// The page after `next_cursor` of the previous answer.
    pub cursor: Option<String>,
    /// At most this many (1 to 200).
    pub limit: Option<String>,
}

fn nonempty(v: Option<&String>) -> Option<&str> {
    v.map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn instant(name: &str, raw: Option<&String>) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.map(|t| t.trim())
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| ApiError::bad(format!("{name}: expected RFC 3339 time")))
        })
        .transpose()
}

/// A search term of at most `max` characters (any: a term with a control
/// character finds what has it, a NUL finds nothing).
fn bounded(what: &str, value: &str, max: usize) -> Result<String, ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::invalid(format!(
            "{what}: at most {max} characters"
        )));
    }
    Ok(value.to_owned())
}

/// The store's search from the parameters, checked. A parameter given
/// empty is refused as the document says (`q` and `sender` empty: no filter).
pub fn parse_search(q: &SearchQuery) -> Result<MessageSearch, ApiError> {
    let limit = match q.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=store::MAX_SEARCH).contains(n))
            .ok_or_else(|| {
                ApiError::bad(format!("limit: a number from 1 to {}", store::MAX_SEARCH))
            })?,
    };
    let before_id = q
        .cursor
        .as_deref()
        .map(|raw| {
            raw.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| ApiError::bad("cursor: as next_cursor said"))
        })
        .transpose()?;
    Ok(MessageSearch {
        number: q
            .number
            .as_deref()
            .map(number)
            .transpose()?
            .map(|n| n.as_str().to_owned()),
        sender: nonempty(q.sender.as_ref())
            .map(|s| bounded("sender", s, MAX_SENDER))
            .transpose()?,
        text: nonempty(q.q.as_ref())
            .map(|s| bounded("q", s, MAX_QUERY))
            .transpose()?,
        after: instant("after", q.after.as_ref())?,
        before: instant("before", q.before.as_ref())?,
        before_id,
        limit,
    })
}

/// `GET /admin/api/v1/messages`: newest first, `next_cursor` for the next
/// page (null at the end).
pub async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    operator(&state, &headers).await?;
    let Query(query) = query.map_err(|r| ApiError::bad(r.body_text()))?;
    let search = parse_search(&query)?;
    let rows = state.store.search_messages(&search).await?;
    let next = (u64::try_from(rows.len()).unwrap_or(u64::MAX) == search.limit)
        .then(|| rows.last().map(|r| r.id.to_string()))
        .flatten();
    let messages: Vec<AdminMessageJson> = rows.into_iter().map(AdminMessageJson::from).collect();
    Ok(ok(
        StatusCode::OK,
        serde_json::json!({ "messages": messages, "next_cursor": next }),
    ))
}

/// `{"reason"}` of a hide (required) or unhide (optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    #[serde(default)]
    reason: String,
}

fn message_id(path: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let Path(raw) = path.map_err(|r| ApiError::bad(r.body_text()))?;
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found("no such message"))
}

/// A hide's reason: required, at most [`MAX_REASON`] characters.
pub fn reason(raw: &str, required: bool) -> Result<String, ApiError> {
    let reason = text("reason", raw, MAX_REASON)?;
    if required && reason.is_empty() {
        return Err(ApiError::invalid("reason: required"));
    }
    Ok(reason)
}

async fn set(
    state: AppState,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    given: Result<Json<Reason>, JsonRejection>,
    hide: bool,
) -> Result<Response, ApiError> {
    let who = operator(&state, &headers).await?;
    let id = message_id(path)?;
    let given = match given {
        // An unhide may come without a body.
        Err(JsonRejection::MissingJsonContentType(_)) if !hide => Reason::default(),
        other => body(other)?,
    };
    let reason = reason(&given.reason, hide)?;
    let row = ops::set_hidden(&state, &who, id, hide, &reason)
        .await?
        .ok_or_else(|| ApiError::not_found("no such message"))?;
    Ok(ok(StatusCode::OK, AdminMessageJson::from(row)))
}

/// `POST /admin/api/v1/messages/{id}/hide`: `{"reason"}`.
pub async fn hide(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    given: Result<Json<Reason>, JsonRejection>,
) -> Result<Response, ApiError> {
    set(state, headers, path, given, true).await
}

/// `POST /admin/api/v1/messages/{id}/unhide`: `{"reason"}` optional.
pub async fn unhide(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    given: Result<Json<Reason>, JsonRejection>,
) -> Result<Response, ApiError> {
    set(state, headers, path, given, false).await
}
