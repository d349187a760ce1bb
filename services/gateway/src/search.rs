//! Search: `/search?q=` (a page, works without JavaScript) and
//! `/api/v1/search?q=` (the same results as JSON, for results as you
//! type). A query matches numbers by any part of their digits, written
//! internationally or nationally (`07700 900461`), countries by name in
//! either language or ISO code, and services by name (Chinese names where
//! the service table has them). Everything is read from the activity
//! snapshot ([`crate::activity`]): a search costs no database query.

use askama::Template;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};

use crate::activity::{Counts, NumberActivity, Snapshot, service_label, slug};
use crate::api::ApiError;
use crate::cards::{NumberCard, number_card, offline_after};
use crate::i18n::Tr;
use crate::pages::{Layout, base_url, recent};
use crate::{AppState, PageError};

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 64;
/// Most numbers in the results.
const MAX_NUMBERS: usize = 24;

/// `?q=`.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    /// What the visitor typed.
    #[serde(default)]
    pub q: String,
}

/// A country in the results.
#[derive(Debug, Clone, Serialize)]
pub struct CountryHit {
    /// ISO 3166-1 alpha-2, upper case.
    pub iso2: &'static str,
    /// Its name in the visitor's language.
    pub name: String,
    /// Its flag.
    pub flag: String,
    /// Its page.
    pub url: String,
    /// Its active numbers.
    pub numbers: usize,
}

/// A service in the results.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceHit {
    /// The service's name as stored and in the API.
    pub name: &'static str,
    /// Its name in the visitor's language.
    pub label: String,
    /// Its page's slug.
    pub slug: String,
    /// Its page.
    pub url: String,
    /// Codes it sent to our numbers in the last 24 hours.
    pub codes_last_day: i64,
}

/// What a query found.
#[derive(Default)]
pub struct Found<'a> {
    /// Matching numbers: by digits, or of a matching country or service.
    pub numbers: Vec<&'a NumberActivity>,
    /// Matching countries with active numbers.
    pub countries: Vec<CountryHit>,
    /// Matching services.
    pub services: Vec<ServiceHit>,
}

/// The digits of `q` when it reads as (part of) a phone number: only
/// digits, spaces, `+`, `-`, `.` and brackets, and at least two digits.
fn digits_of(q: &str) -> Option<String> {
    let phone_like = q
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '.' | '(' | ')'));
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    (phone_like && digits.len() >= 2).then_some(digits)
}

/// Whether `number`'s digits, international or national, contain `digits`.
fn number_matches(n: &NumberActivity, digits: &str) -> bool {
    if n.number.digits().contains(digits) {
        return true;
    }
    let national: String = n
        .number
        .written()
        .national
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    national.contains(digits)
}

/// Searches `snapshot` for `q` (trimmed, at most [`MAX_QUERY_CHARS`]).
pub fn find<'a>(snapshot: &'a Snapshot, q: &str, t: &Tr) -> Found<'a> {
    let q = q.trim();
    let mut found = Found::default();
    if q.is_empty() {
        return found;
    }
    if let Some(digits) = digits_of(q) {
        found.numbers = snapshot
            .numbers()
            .iter()
            .filter(|n| number_matches(n, &digits))
            .take(MAX_NUMBERS)
            .collect();
        return found;
    }
    let lower = q.to_lowercase();
    let q_slug = slug(q);
    for service in domain::known_services() {
        let by_name = service.name.to_lowercase().contains(&lower)
            || (!q_slug.is_empty() && slug(service.name).contains(&q_slug));
        let by_cjk = service.cjk_names.iter().any(|n| n.contains(q));
        if by_name || by_cjk {
            let slug = slug(service.name);
            found.services.push(ServiceHit {
                name: service.name,
                label: service_label(service.name, t.lang),
                url: format!("/services/{slug}"),
                slug,
                codes_last_day: snapshot.codes_from(service.name),
            });
        }
    }
    // Services that sent codes lately first.
    found
        .services
        .sort_by_key(|s| std::cmp::Reverse(s.codes_last_day));
    let mut countries: Vec<&'static domain::Country> = Vec::new();
    for n in snapshot.numbers() {
        let country = n.number.country();
        if !countries.contains(&country) {
            countries.push(country);
        }
    }
    for country in countries {
        let english = Tr {
            lang: crate::i18n::Lang::En,
        }
        .country(country);
        let chinese = Tr {
            lang: crate::i18n::Lang::ZhCn,
        }
        .country(country);
        if english.to_lowercase().contains(&lower)
            || chinese.contains(q)
            || country.iso2.eq_ignore_ascii_case(q)
        {
            found.countries.push(CountryHit {
                iso2: country.iso2,
                name: t.country(country),
                flag: country.flag(),
                url: format!("/countries/{}", country.iso2.to_ascii_lowercase()),
                numbers: snapshot
                    .numbers()
                    .iter()
                    .filter(|n| n.number.country() == country)
                    .count(),
            });
        }
    }
    found.countries.sort_by(|a, b| a.name.cmp(&b.name));
    // The numbers of matching services, most codes first, then those of
    // matching countries, newest message first.
    for service in &found.services {
        for (n, _) in snapshot.ranked_for(service.name) {
            if !found.numbers.iter().any(|f| f.number == n.number) {
                found.numbers.push(n);
            }
        }
    }
    for n in snapshot.numbers() {
        if found
            .countries
            .iter()
            .any(|c| c.iso2 == n.number.country().iso2)
            && !found.numbers.iter().any(|f| f.number == n.number)
        {
            found.numbers.push(n);
        }
    }
    found.numbers.truncate(MAX_NUMBERS);
    found
}

/// The services that sent codes in the window, most first (what the empty
/// search page offers).
fn lately(snapshot: &Snapshot, t: &Tr) -> Vec<ServiceHit> {
    let mut services: Vec<ServiceHit> = domain::known_services()
        .filter_map(|service| {
            let codes = snapshot.codes_from(service.name);
            (codes > 0).then(|| {
                let slug = slug(service.name);
                ServiceHit {
                    name: service.name,
                    label: service_label(service.name, t.lang),
                    url: format!("/services/{slug}"),
                    slug,
                    codes_last_day: codes,
                }
            })
        })
        .collect();
    services.sort_by_key(|s| std::cmp::Reverse(s.codes_last_day));
    services
}

/// The query, or why it is refused.
fn checked(q: &str) -> Result<&str, PageError> {
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(PageError::BadRequest("search.too_long"));
    }
    Ok(q.trim())
}

/// Numbers as cards show them: from the snapshot, and each one's newest
/// messages (its hot list) for the preview.
async fn cards(state: &AppState, numbers: &[&NumberActivity], t: &Tr) -> Vec<NumberCard> {
    let offline_after = offline_after(state);
    futures::future::join_all(numbers.iter().map(|n| card(state, n, t, offline_after))).await
}

/// One number's card (a failed read shows it without its preview).
async fn card(
    state: &AppState,
    n: &NumberActivity,
    t: &Tr,
    offline_after: chrono::Duration,
) -> NumberCard {
    let messages = recent(state, n.number.as_str()).await.unwrap_or_default();
    number_card(
        &n.number,
        &messages,
        n.recent,
        n.last_at,
        Counts::of(n, t),
        &crate::cards::CardFrame {
            t,
            offline_after,
            masking: &state.masking,
        },
    )
}

/// Numbers as `cards.html` lists them.
pub(crate) struct CardGroup {
    pub(crate) numbers: Vec<NumberCard>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    t: Tr,
    layout: Layout,
    q: String,
    max: usize,
    error: Option<String>,
    searched: bool,
    group: CardGroup,
    countries: Vec<CountryHit>,
    services: Vec<ServiceHit>,
}

/// `GET /search?q=`: the form, and what `q` found.
pub async fn page(
    State(state): State<AppState>,
    t: Tr,
    headers: HeaderMap,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Response, PageError> {
    let raw = query.map(|Query(q)| q.q).unwrap_or_default();
    let layout = Layout::new(
        &t,
        &base_url(&state, &headers),
        "/search",
        t.t("search.title").to_owned(),
        t.t("search.description").to_owned(),
    );
    let (status, q, error) = match checked(&raw) {
        Ok(q) => (StatusCode::OK, q.to_owned(), None),
        Err(_) => (
            StatusCode::BAD_REQUEST,
            raw.chars().take(MAX_QUERY_CHARS).collect(),
            Some(t.t("search.too_long").to_owned()),
        ),
    };
    let snapshot = state.activity.snapshot(&state.store).await;
    let mut found = if error.is_none() {
        find(&snapshot, &q, &t)
    } else {
        Found::default()
    };
    if q.is_empty() && error.is_none() {
        found.services = lately(&snapshot, &t);
    }
    let page = SearchPage {
        layout,
        searched: !q.is_empty() && error.is_none(),
        max: MAX_QUERY_CHARS,
        group: CardGroup {
            numbers: cards(&state, &found.numbers, &t).await,
        },
        countries: found.countries,
        services: found.services,
        q,
        error,
        t,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// A number in the search API.
#[derive(Serialize)]
pub struct NumberHit {
    e164: String,
    display: String,
    national: String,
    country: &'static str,
    country_name: String,
    url: String,
    total_messages: i64,
    last_message_at: Option<String>,
    codes_last_day: Vec<ServiceCodesJson>,
    /// The counts in words, in the visitor's language.
    summary: String,
}

/// Codes from one service.
#[derive(Serialize)]
pub struct ServiceCodesJson {
    service: String,
    count: i64,
}

/// The search API's answer.
#[derive(Serialize)]
pub struct SearchJson {
    query: String,
    numbers: Vec<NumberHit>,
    countries: Vec<CountryHit>,
    services: Vec<ServiceHit>,
}

/// `GET /api/v1/search?q=`: what `/search?q=` shows, as JSON. Names are in
/// the visitor's language (`lang` cookie, `Accept-Language`).
pub async fn api(
    State(state): State<AppState>,
    t: Tr,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Json<SearchJson>, ApiError> {
    let Query(query) = query.map_err(|_| PageError::BadRequest("search.bad_query"))?;
    let q = checked(&query.q)?.to_owned();
    let snapshot = state.activity.snapshot(&state.store).await;
    let found = find(&snapshot, &q, &t);
    Ok(Json(SearchJson {
        numbers: found
            .numbers
            .iter()
            .map(|n| {
                let counts = Counts::of(n, &t);
                let services = counts.codes_text(&t);
                let written = n.number.written();
                NumberHit {
                    e164: n.number.as_str().to_owned(),
                    display: written.international.clone(),
                    national: written.national.clone(),
                    country: n.number.country().iso2,
                    country_name: t.country(n.number.country()),
                    url: format!("/numbers/{}", n.number.as_str()),
                    total_messages: n.total,
                    last_message_at: n
                        .last_at
                        .map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true)),
                    codes_last_day: n
                        .services
                        .iter()
                        .map(|(service, count)| ServiceCodesJson {
                            service: service.clone(),
                            count: *count,
                        })
                        .collect(),
                    summary: format!("{services} · {}", t.f1("counts.total", "count", &n.total)),
                }
            })
            .collect(),
        countries: found.countries,
        services: found.services,
        query: q,
    }))
}

#[cfg(test)]
mod tests {
    use super::digits_of;

    #[test]
    fn phone_like_queries_give_their_digits() {
        assert_eq!(digits_of("07700 900461").as_deref(), Some("07700900461"));
        assert_eq!(
            digits_of("+44 (7700) 900-461").as_deref(),
            Some("447700900461")
        );
        assert_eq!(digits_of("7"), None);
        assert_eq!(digits_of("whatsapp"), None);
        assert_eq!(digits_of("uk 7700"), None);
    }
}
