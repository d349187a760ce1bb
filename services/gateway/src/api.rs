//! The JSON API (`/api/v1/...`).

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::pages::{PageQuery, page_of, parse_before, registered_number};
use crate::views::MessageJson;
use crate::{AppState, PageError};

/// JSON form of [`PageError`].
pub struct ApiError(PageError);

impl From<PageError> for ApiError {
    fn from(err: PageError) -> Self {
        Self(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _, detail) = self.0.parts();
        if status.is_server_error() {
            tracing::error!(error = %self.0, "api request failed");
        }
        let message = crate::i18n::Tr {
            lang: crate::i18n::Lang::En,
        }
        .t(detail)
        .to_owned();
        (status, Json(serde_json::json!({ "error": message }))).into_response()
    }
}

/// A number in the API.
#[derive(Serialize)]
pub struct NumberJson {
    e164: String,
    country: &'static str,
    country_name: &'static str,
    last_message_at: Option<String>,
    messages_last_day: i64,
}

/// `GET /api/v1/numbers`: active numbers with their activity.
pub async fn numbers(State(state): State<AppState>) -> Result<Json<Vec<NumberJson>>, ApiError> {
    let overview = state
        .store
        .numbers_overview()
        .await
        .map_err(PageError::Unavailable)?;
    Ok(Json(
        overview
            .into_iter()
            .filter_map(|item| {
                let number = domain::E164::parse(&item.number.e164).ok()?;
                Some(NumberJson {
                    e164: number.as_str().to_owned(),
                    country: number.country().iso2,
                    country_name: number.country().name,
                    last_message_at: item
                        .last_message_at
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                    messages_last_day: item.messages_last_day,
                })
            })
            .collect(),
    ))
}

/// A page of messages in the API.
#[derive(Serialize)]
pub struct MessagesJson {
    messages: Vec<MessageJson>,
    /// Pass as `?before=` for the next older page; null on the last page.
    next_before: Option<String>,
}

/// `GET /api/v1/numbers/{e164}/messages?before=`: newest first, cursor paging.
pub async fn messages(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<MessagesJson>, ApiError> {
    // What axum cannot read is answered in JSON like the rest, not in its
    // plain text: a path that is no UTF-8 names no number of ours, a query
    // it cannot read (a repeated `before`...) is a bad link.
    let Path(raw) = path.map_err(|_| PageError::NotFound("error.no_number"))?;
    let number = registered_number(&state, &raw).await?;
    let Query(query) = query.map_err(|_| PageError::BadRequest("error.bad_link"))?;
    let before = parse_before(&query)?;
    let (messages, next) = page_of(&state, number.as_str(), query.sender(), before).await?;
    Ok(Json(MessagesJson {
        messages: messages
            .iter()
            .map(|m| MessageJson::from_event(m, &state.masking))
            .collect(),
        next_before: next.map(|c| c.encode()),
    }))
}
