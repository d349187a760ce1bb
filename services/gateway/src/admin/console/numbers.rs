//! `/admin/numbers`: every number with its health, the add form, and
//! retire / reactivate / relabel.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::health::{self, Spark};
use super::{form_operator, page_operator, render, unavailable};
use crate::admin::api::numbers::{MAX_LABEL, MAX_PROVIDER, provider};
use crate::admin::api::{number, text};
use crate::admin::ops::{self, Added};
use crate::admin::session::see_other;
use crate::{AppState, assets};

/// One number on the page.
pub struct NumberView {
    e164: String,
    /// Digits only: ids of its form fields.
    key: String,
    country: String,
    label: String,
    provider: String,
    active: bool,
    added: String,
    last: String,
    spark: Vec<Spark>,
    spark_label: String,
    services: String,
    flag: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_numbers.html")]
struct NumbersPage {
    css: String,
    admin_css: String,
    logout_csrf: String,
    csrf: String,
    numbers: Vec<NumberView>,
    error: Option<String>,
    done: Option<&'static str>,
    form_e164: String,
    form_label: String,
    form_provider: String,
    max_label: usize,
    max_provider: usize,
}

/// `?done=` after an action: what the page says (fixed texts only).
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
}

fn done_text(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "added" => "Number added.",
        "retired" => "Number retired: it no longer receives and has left the site.",
        "reactivated" => "Number active again.",
        "labelled" => "Label saved.",
        _ => return None,
    })
}

fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let mins = (now - at).num_minutes().max(0);
    let when = at.format("%Y-%m-%d %H:%M UTC");
    match mins {
        0..=59 => format!("{when} ({mins} min ago)"),
        60..=2879 => format!("{when} ({} h ago)", mins / 60),
        _ => format!("{when} ({} days ago)", mins / 1440),
    }
}

async fn views(state: &AppState) -> Result<Vec<NumberView>, store::StoreError> {
    let now = Utc::now();
    let today = now.date_naive();
    let days = health::days(today);
    // One more fortnight back than the sparkline: the 14 full days before today.
    let first = today
        .checked_sub_days(chrono::Days::new(health::DAYS))
        .unwrap_or(today);
    let since = first.and_time(chrono::NaiveTime::MIN).and_utc();
    let rows = state.store.list_numbers(true).await?;
    let last: HashMap<String, DateTime<Utc>> = state
        .store
        .last_message_times()
        .await?
        .into_iter()
        .collect();
    let mut per_day: HashMap<(String, chrono::NaiveDate), i64> = HashMap::new();
    for d in state.store.daily_counts(since).await? {
        per_day.insert((d.number, d.day), d.count);
    }
    let snapshot = state.activity.snapshot(&state.store).await;
    Ok(rows
        .into_iter()
        .map(|row| {
            let count = |day: &chrono::NaiveDate| {
                per_day.get(&(row.e164.clone(), *day)).copied().unwrap_or(0)
            };
            let counts: Vec<i64> = days.iter().map(count).collect();
            let before: Vec<i64> = (1..=health::DAYS)
                .filter_map(|back| today.checked_sub_days(chrono::Days::new(back)))
                .map(|d| count(&d))
                .collect();
            let usual = health::median(&before);
            let last_at = last.get(&row.e164).copied();
            let flag = row
                .active
                .then(|| health::quiet_flag(usual, last_at.unwrap_or(row.created_at), now))
                .flatten();
            let services = snapshot
                .number(&row.e164)
                .map(|n| {
                    n.services
                        .iter()
                        .map(|(s, c)| format!("{s} {c}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            NumberView {
                key: row.e164.trim_start_matches('+').to_owned(),
                spark_label: format!(
                    "Messages per day over {} days: {}",
                    health::DAYS,
                    counts
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                spark: health::sparkline(&days, &counts),
                last: last_at.map_or_else(|| "never".to_owned(), |at| ago(at, now)),
                added: row.created_at.format("%Y-%m-%d").to_string(),
                e164: row.e164,
                country: row.country,
                label: row.label,
                provider: row.provider,
                active: row.active,
                services,
                flag,
            }
        })
        .collect())
}

async fn show(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<String>,
    done: Option<&'static str>,
    form: Option<&AddForm>,
) -> Response {
    let who = match page_operator(state, headers, "/admin/numbers").await {
        Ok(who) => who,
        Err(answer) => return answer,
    };
    let numbers = match views(state).await {
        Ok(numbers) => numbers,
        Err(err) => return unavailable(&err),
    };
    let page = NumbersPage {
        css: assets::url("site.css"),
        admin_css: assets::url("admin.css"),
        logout_csrf: who.logout_csrf,
        csrf: who.csrf,
        numbers,
        error,
        done,
        form_e164: form.map(|f| f.e164.clone()).unwrap_or_default(),
        form_label: form.map(|f| f.label.clone()).unwrap_or_default(),
        form_provider: form.map(|f| f.provider.clone()).unwrap_or_default(),
        max_label: MAX_LABEL,
        max_provider: MAX_PROVIDER,
    };
    render(&page, status)
}

/// `GET /admin/numbers`.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    done: Result<axum::extract::Query<Done>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let done = done_text(done.as_ref().ok().and_then(|d| d.done.as_deref()));
    show(&state, &headers, StatusCode::OK, None, done, None).await
}

/// The add form.
#[derive(Debug, Default, Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    e164: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    provider: String,
}

/// `POST /admin/numbers`: adds a number.
pub async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<AddForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let who = match form_operator(&state, &headers, &form.csrf, "/admin/numbers").await {
        Ok(who) => who,
        Err(answer) => return answer,
    };
    let checked = number(&form.e164).and_then(|e164| {
        Ok((
            e164,
            text("label", &form.label, MAX_LABEL)?,
            provider(&form.provider)?,
        ))
    });
    let (e164, label, provider) = match checked {
        Ok(checked) => checked,
        Err(err) => {
            return show(
                &state,
                &headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(err.message().to_owned()),
                None,
                Some(&form),
            )
            .await;
        }
    };
    match ops::add_number(&state, &who, &e164, &label, &provider).await {
        Ok(Added::New(_)) => see_other("/admin/numbers?done=added"),
        Ok(Added::Exists(row)) => {
            let state_word = if row.active { "active" } else { "retired" };
            show(
                &state,
                &headers,
                StatusCode::CONFLICT,
                Some(format!(
                    "{e164} is registered already ({state_word}); use its buttons below."
                )),
                None,
                Some(&form),
            )
            .await
        }
        Err(err) => unavailable(&err),
    }
}

/// A number's buttons: `action` = `retire`, `reactivate` or `label`.
#[derive(Debug, Default, Deserialize)]
pub struct ActForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    label: String,
}

/// `POST /admin/numbers/{e164}`.
pub async fn act(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(raw): Path<String>,
    form: Result<Form<ActForm>, FormRejection>,
) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let who = match form_operator(&state, &headers, &form.csrf, "/admin/numbers").await {
        Ok(who) => who,
        Err(answer) => return answer,
    };
    let fail = |message: String| {
        let state = state.clone();
        let headers = headers.clone();
        async move {
            show(
                &state,
                &headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(message),
                None,
                None,
            )
            .await
        }
    };
    let e164 = match number(&raw) {
        Ok(e164) => e164,
        Err(err) => return fail(err.message().to_owned()).await,
    };
    let (result, done) = match form.action.as_str() {
        "retire" => (ops::retire(&state, &who, &e164).await, "retired"),
        "reactivate" => (ops::reactivate(&state, &who, &e164).await, "reactivated"),
        "label" => match text("label", &form.label, MAX_LABEL) {
            Ok(label) => (ops::relabel(&state, &who, &e164, &label).await, "labelled"),
            Err(err) => return fail(err.message().to_owned()).await,
        },
        _ => return fail("unknown action".to_owned()).await,
    };
    match result {
        Ok(Some(_)) => see_other(&format!("/admin/numbers?done={done}")),
        Ok(None) => fail(format!("{e164} is not registered")).await,
        Err(err) => unavailable(&err),
    }
}
