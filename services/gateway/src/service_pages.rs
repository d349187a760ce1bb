//! `/services/{slug}`: the numbers that got codes from one service in the
//! last 24 hours, most first (from the activity snapshot), and that
//! service's newest codes (one indexed query).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Html;
use chrono::{SecondsFormat, Utc};

use crate::activity::{service_by_slug, service_label, slug};
use crate::i18n::Tr;
use crate::pages::{Layout, base_url};
use crate::{AppState, PageError};

/// Newest codes shown.
const LATEST_CODES: u64 = 40;

/// A number ranked by its codes from the service.
struct RankedNumber {
    e164: String,
    display: String,
    flag: String,
    codes: i64,
    total: i64,
}

/// One of the service's newest codes.
struct CodeRow {
    e164: String,
    display: String,
    code: String,
    code_enter: String,
    received_iso: String,
    age: String,
}

#[derive(Template)]
#[template(path = "service.html")]
struct ServicePage {
    t: Tr,
    layout: Layout,
    label: String,
    ranked: Vec<RankedNumber>,
    codes: Vec<CodeRow>,
}

/// `GET /services/{slug}`: an unknown slug is a 404.
pub async fn page(
    State(state): State<AppState>,
    t: Tr,
    headers: HeaderMap,
    Path(wanted): Path<String>,
) -> Result<Html<String>, PageError> {
    let service = service_by_slug(&wanted).ok_or(PageError::NotFound("error.no_page"))?;
    let label = service_label(service.name, t.lang);
    let snapshot = state.activity.snapshot(&state.store).await;
    let ranked = snapshot
        .ranked_for(service.name)
        .into_iter()
        .map(|(n, codes)| RankedNumber {
            e164: n.number.as_str().to_owned(),
            display: n.number.written().international.clone(),
            flag: n.number.country().flag(),
            codes,
            total: n.total,
        })
        .collect();
    let now = Utc::now();
    let codes = state
        .store
        .latest_codes(service.name, LATEST_CODES)
        .await?
        .iter()
        // Retired numbers' codes are of no use.
        .filter(|row| snapshot.number(&row.number).is_some())
        .map(|row| {
            let code = row.code.clone().unwrap_or_default();
            let display = domain::E164::parse(&row.number)
                .map(|n| n.written().international.clone())
                .unwrap_or_else(|_| row.number.clone());
            CodeRow {
                e164: row.number.clone(),
                display,
                code_enter: domain::otp::code_to_enter(&code).to_owned(),
                code,
                received_iso: row.received_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                age: t.age(row.received_at, now),
            }
        })
        .collect();
    let layout = Layout::new(
        &t,
        &base_url(&state, &headers),
        &format!("/services/{}", slug(service.name)),
        t.f1("service.title", "service", &label),
        t.f1("service.description", "service", &label),
    )
    .with_ads(&state);
    Ok(Html(
        ServicePage {
            t,
            layout,
            label,
            ranked,
            codes,
        }
        .render()?,
    ))
}
