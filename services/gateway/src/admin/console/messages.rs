//! `/admin/messages`: search every message (by number, sender, text and
//! time; hidden ones too, with who hid them and why), hide one with a
//! reason or show it again.

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::NaiveDateTime;
use serde::Deserialize;
use store::MessageRow;

use super::{form_operator, page_operator, render, unavailable};
use crate::admin::api::messages::{
    MAX_QUERY, MAX_REASON, MAX_SENDER, SearchQuery, parse_search, reason,
};
use crate::admin::ops;
use crate::admin::session::{local_admin_path, see_other};
use crate::{AppState, assets};

/// One message on the page.
pub struct MessageView {
    id: i64,
    number: String,
    sender: String,
    body: String,
    received: String,
    hidden: Option<String>,
}

impl From<MessageRow> for MessageView {
    fn from(row: MessageRow) -> Self {
        Self {
            id: row.id,
            hidden: row.hidden_at.map(|at| {
                format!(
                    "Hidden {} by {}: {}",
                    at.format("%Y-%m-%d %H:%M UTC"),
                    row.hidden_by.as_deref().unwrap_or("?"),
                    row.hidden_reason.as_deref().unwrap_or("")
                )
            }),
            number: row.number,
            sender: row.sender,
            body: row.body,
            received: row.received_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin_messages.html")]
struct MessagesPage {
    css: String,
    admin_css: String,
    logout_csrf: String,
    csrf: String,
    q: ConsoleQuery,
    messages: Vec<MessageView>,
    error: Option<String>,
    done: Option<&'static str>,
    older: Option<String>,
    back: String,
    max_reason: usize,
    max_query: usize,
    max_sender: usize,
}

/// The search form (times as a browser's `datetime-local`, in UTC).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ConsoleQuery {
    #[serde(default)]
    number: String,
    #[serde(default)]
    sender: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: String,
    #[serde(default)]
    before: String,
    #[serde(default)]
    cursor: String,
    #[serde(default)]
    done: String,
}

/// `2026-12-04T12:30` (a `datetime-local` field) as RFC 3339 in UTC;
/// anything else is left for the API's parser to judge.
fn rfc3339(local: &str) -> Option<String> {
    let t = local.trim();
    if t.is_empty() {
        return None;
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(t, format) {
            return Some(at.and_utc().to_rfc3339());
        }
    }
    Some(t.to_owned())
}

fn to_search(q: &ConsoleQuery) -> SearchQuery {
    let some = |s: &str| (!s.trim().is_empty()).then(|| s.to_owned());
    SearchQuery {
        number: some(&q.number),
        q: some(&q.q),
        sender: some(&q.sender),
        after: rfc3339(&q.after),
        before: rfc3339(&q.before),
        cursor: some(&q.cursor),
        limit: Some("50".to_owned()),
    }
}

fn query_string(q: &ConsoleQuery, cursor: Option<&str>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("number", &q.number),
        ("sender", &q.sender),
        ("q", &q.q),
        ("after", &q.after),
        ("before", &q.before),
    ] {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    if let Some(cursor) = cursor {
        s.append_pair("cursor", cursor);
    }
    s.finish()
}

fn done_text(done: &str) -> Option<&'static str> {
    match done {
        "hidden" => Some("Message hidden: it has left every public page, feed and open page."),
        "shown" => Some("Message shown again."),
        _ => None,
    }
}

/// `GET /admin/messages`.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ConsoleQuery>, QueryRejection>,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let here = format!("/admin/messages?{}", query_string(&q, None));
    let who = match page_operator(&state, &headers, &here).await {
        Ok(who) => who,
        Err(answer) => return answer,
    };
    let (messages, error, status, older) = match parse_search(&to_search(&q)) {
        Err(err) => (
            Vec::new(),
            Some(err.message().to_owned()),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
        Ok(search) => match state.store.search_messages(&search).await {
            Ok(rows) => {
                let full = u64::try_from(rows.len()).unwrap_or(u64::MAX) == search.limit;
                let older = full
                    .then(|| rows.last().map(|r| r.id.to_string()))
                    .flatten()
                    .map(|c| format!("/admin/messages?{}", query_string(&q, Some(&c))));
                let messages = rows.into_iter().map(MessageView::from).collect();
                (messages, None, StatusCode::OK, older)
            }
            Err(err) => return unavailable(&err),
        },
    };
    let back = {
        let mut s = query_string(&q, (!q.cursor.is_empty()).then_some(q.cursor.as_str()));
        if !s.is_empty() {
            s.insert(0, '?');
        }
        format!("/admin/messages{s}")
    };
    let page = MessagesPage {
        css: assets::url("site.css"),
        admin_css: assets::url("admin.css"),
        logout_csrf: who.logout_csrf,
        csrf: who.csrf,
        done: done_text(&q.done),
        q,
        messages,
        error,
        older,
        back,
        max_reason: MAX_REASON,
        max_query: MAX_QUERY,
        max_sender: MAX_SENDER,
    };
    render(&page, status)
}

/// A message's buttons: `action` = `hide` (with `reason`) or `unhide`.
#[derive(Debug, Default, Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
    /// The search to go back to.
    #[serde(default)]
    back: String,
}

fn plain(status: StatusCode, message: &str) -> Response {
    crate::admin::private(axum::response::IntoResponse::into_response((
        status,
        format!("{message}\n"),
    )))
}

/// `POST /admin/messages/{id}`.
pub async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    form: Result<Form<ActForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let who = match form_operator(&state, &headers, &form.csrf, "/admin/messages").await {
        Ok(who) => who,
        Err(answer) => return answer,
    };
    let Some(id) = raw.parse::<i64>().ok().filter(|id| *id > 0) else {
        return plain(StatusCode::NOT_FOUND, "no such message");
    };
    let hide = match form.action.as_str() {
        "hide" => true,
        "unhide" => false,
        _ => return plain(StatusCode::UNPROCESSABLE_ENTITY, "unknown action"),
    };
    let reason = match reason(&form.reason, hide) {
        Ok(reason) => reason,
        Err(err) => return plain(StatusCode::UNPROCESSABLE_ENTITY, err.message()),
    };
    match ops::set_hidden(&state, &who, id, hide, &reason).await {
        Ok(Some(_)) => {
            // Back to the search, or to the reports queue it came from.
            let back = local_admin_path(&form.back);
            let back = if back.starts_with("/admin/messages") || back == "/admin/reports" {
                back
            } else {
                "/admin/messages"
            };
            let sep = if back.contains('?') { '&' } else { '?' };
            let done = if hide { "hidden" } else { "shown" };
            see_other(&format!("{back}{sep}done={done}"))
        }
        Ok(None) => plain(StatusCode::NOT_FOUND, "no such message"),
        Err(err) => unavailable(&err),
    }
}
