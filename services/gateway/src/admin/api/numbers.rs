//! `/admin/api/v1/numbers`: list, add, retire, reactivate, relabel and
//! set a number's own message period.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Deserializer, Serialize};
use store::NumberRow;

use super::{ApiError, body, number, ok, operator, text, time};
use crate::AppState;
use crate::admin::ops::{self, Added};

/// Longest label.
pub const MAX_LABEL: usize = 80;
/// Longest provider name.
pub const MAX_PROVIDER: usize = 40;

/// A number as the API shows it.
#[derive(Debug, Serialize)]
pub struct NumberJson {
    e164: String,
    country: String,
    label: String,
    provider: String,
    active: bool,
    created_at: String,
    retired_at: Option<String>,
    /// The number's own message period in days; `null`: `messages.keep_days`.
    keep_days: Option<i32>,
}

impl From<NumberRow> for NumberJson {
    fn from(row: NumberRow) -> Self {
        Self {
            e164: row.e164,
            country: row.country,
            label: row.label,
            provider: row.provider,
            active: row.active,
            created_at: time(row.created_at),
            retired_at: row.retired_at.map(time),
            keep_days: row.keep_days,
        }
    }
}

/// `POST /admin/api/v1/numbers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNumber {
    e164: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    provider: String,
}

/// `PATCH /admin/api/v1/numbers/{e164}`: what is given changes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edit {
    /// Absent: unchanged (`null` is refused: a label is text).
    #[serde(default, deserialize_with = "text_given")]
    label: Option<String>,
    /// Absent: unchanged; `null`: back to `messages.keep_days`; days.
    #[serde(default, deserialize_with = "present")]
    keep_days: Option<Option<u32>>,
}

/// A text field that is present (absent is the `default`; `null` is no text).
fn text_given<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// A field that is present, `null` or not (absent is the `default`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
}

/// A provider name: letters, digits, `.`, `_`, `-` (may be empty).
pub fn provider(raw: &str) -> Result<String, ApiError> {
    let value = text("provider", raw, MAX_PROVIDER)?;
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Ok(value)
    } else {
        Err(ApiError::invalid(
            "provider: letters, digits, '.', '_' and '-' only",
        ))
    }
}

fn path_number(path: Result<Path<String>, PathRejection>) -> Result<domain::E164, ApiError> {
    let Path(raw) = path.map_err(|r| ApiError::bad(r.body_text()))?;
    number(&raw)
}

fn answer(row: Option<NumberRow>, e164: &domain::E164) -> Result<Response, ApiError> {
    row.map(|row| ok(StatusCode::OK, NumberJson::from(row)))
        .ok_or_else(|| ApiError::not_found(format!("{e164} is not registered")))
}

/// `GET /admin/api/v1/numbers`: every registered number, retired ones too.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    operator(&state, &headers).await?;
    let rows = state.store.list_numbers(true).await?;
    let numbers: Vec<NumberJson> = rows.into_iter().map(NumberJson::from).collect();
    Ok(ok(
        StatusCode::OK,
        serde_json::json!({ "numbers": numbers }),
    ))
}

/// `GET /admin/api/v1/numbers/{e164}`.
pub async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    operator(&state, &headers).await?;
    let e164 = path_number(path)?;
    answer(state.store.find_number(e164.as_str()).await?, &e164)
}

/// `POST /admin/api/v1/numbers`: 201 with the number; 409 (with the
/// number as it is) when it is registered already, active or retired
/// (`/reactivate` brings a retired one back).
pub async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    new: Result<Json<NewNumber>, JsonRejection>,
) -> Result<Response, ApiError> {
    let who = operator(&state, &headers).await?;
    let new = body(new)?;
    let e164 = number(&new.e164)?;
    let label = text("label", &new.label, MAX_LABEL)?;
    let provider = provider(&new.provider)?;
    match ops::add_number(&state, &who, &e164, &label, &provider).await? {
        Added::New(row) => Ok(ok(StatusCode::CREATED, NumberJson::from(row))),
        Added::Exists(row) => Ok(ok(
            StatusCode::CONFLICT,
            serde_json::json!({
                "error": format!("{e164} is registered already"),
                "number": NumberJson::from(row),
            }),
        )),
    }
}

/// `PATCH /admin/api/v1/numbers/{e164}`: `{"label"}` and/or `{"keep_days"}`.
pub async fn edit(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    edit: Result<Json<Edit>, JsonRejection>,
) -> Result<Response, ApiError> {
    let who = operator(&state, &headers).await?;
    let e164 = path_number(path)?;
    let edit = body(edit)?;
    if edit.label.is_none() && edit.keep_days.is_none() {
        return Err(ApiError::invalid("give label, keep_days or both"));
    }
    if let Some(Some(days)) = edit.keep_days
        && !(1..=config::MAX_KEEP_DAYS).contains(&days)
    {
        return Err(ApiError::invalid(format!(
            "keep_days: 1 to {} days, or null for messages.keep_days",
            config::MAX_KEEP_DAYS
        )));
    }
    let label = edit
        .label
        .as_deref()
        .map(|label| text("label", label, MAX_LABEL))
        .transpose()?;
    let mut row = None;
    if let Some(label) = label {
        row = ops::relabel(&state, &who, &e164, &label).await?;
        if row.is_none() {
            return answer(None, &e164);
        }
    }
    if let Some(days) = edit.keep_days {
        row = ops::set_keep_days(&state, &who, &e164, days).await?;
    }
    answer(row, &e164)
}

/// `POST /admin/api/v1/numbers/{e164}/retire`: 200 with the number (a
/// retired one stays retired).
pub async fn retire(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let who = operator(&state, &headers).await?;
    let e164 = path_number(path)?;
    answer(ops::retire(&state, &who, &e164).await?, &e164)
}

/// `POST /admin/api/v1/numbers/{e164}/reactivate`: 200 with the number.
pub async fn reactivate(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let who = operator(&state, &headers).await?;
    let e164 = path_number(path)?;
    answer(ops::reactivate(&state, &who, &e164).await?, &e164)
}
