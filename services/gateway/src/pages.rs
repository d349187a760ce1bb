//! The HTML pages.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use cache::HotList;
use chrono::{DateTime, Utc};
use domain::E164;
use proto::events::v1::MessageStored;
use serde::Deserialize;

use crate::views::{cursor_after, received_at, to_event};
use crate::{AppState, PageError, assets};

/// "just now", "3 min ago", "2 h ago", "5 days ago".
pub fn age(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = now.signed_duration_since(then).num_seconds().max(0);
    match secs {
        0..60 => "just now".to_owned(),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86_400 => format!("{} h ago", secs / 3600),
        _ => {
            let days = secs / 86_400;
            if days == 1 {
                "1 day ago".to_owned()
            } else {
                format!("{days} days ago")
            }
        }
    }
}

/// Links every page needs.
pub struct Layout {
    pub(crate) css: String,
    pub(crate) js: String,
}

impl Default for Layout {
    fn default() -> Self {
        Self::new()
    }
}

impl Layout {
    fn new() -> Self {
        Self {
            css: assets::url("site.css"),
            js: assets::url("app.js"),
        }
    }
}

struct NumberCard {
    e164: String,
    display: String,
    last_age: Option<String>,
    last_day: i64,
}

struct CountryGroup {
    flag: String,
    name: &'static str,
    numbers: Vec<NumberCard>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    countries: Vec<CountryGroup>,
}

/// `GET /`: numbers grouped by country.
#[tracing::instrument(name = "GET /", skip_all, fields(otel.kind = "server"))]
pub async fn home(State(state): State<AppState>) -> Result<Html<String>, PageError> {
    let overview = state
        .store
        .numbers_overview()
        .await
        .map_err(|e| PageError::Unavailable(e.to_string()))?;
    let now = Utc::now();
    let mut groups: BTreeMap<&'static str, CountryGroup> = BTreeMap::new();
    for item in overview {
        let Ok(number) = E164::parse(&item.number.e164) else {
            continue;
        };
        let country = number.country();
        groups
            .entry(country.name)
            .or_insert_with(|| CountryGroup {
                flag: country.flag(),
                name: country.name,
                numbers: Vec::new(),
            })
            .numbers
            .push(NumberCard {
                e164: number.as_str().to_owned(),
                display: number.display_international(),
                last_age: item.last_message_at.map(|t| age(t, now)),
                last_day: item.messages_last_day,
            });
    }
    let page = HomePage {
        layout: Layout::new(),
        countries: groups.into_values().collect(),
    };
    Ok(Html(page.render()?))
}

/// A message as a page shows it.
pub struct MessageView {
    id: i64,
    number: String,
    number_display: String,
    from: String,
    service: Option<&'static str>,
    body: String,
    code: Option<String>,
    received_iso: String,
    age: String,
}

impl MessageView {
    fn new(m: MessageStored, now: DateTime<Utc>) -> Self {
        let received = received_at(&m);
        let number_display = E164::parse(&m.number)
            .map(|n| n.display_international())
            .unwrap_or_else(|_| m.number.clone());
        Self {
            id: m.id,
            service: crate::views::service_of(&m.from, &m.body),
            code: domain::extract_code(&m.body),
            number: m.number,
            number_display,
            from: m.from,
            body: m.body,
            received_iso: received.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            age: age(received, now),
        }
    }
}

#[derive(Template)]
#[template(path = "number.html")]
struct NumberPage {
    layout: Layout,
    e164: String,
    display: String,
    flag: String,
    country_name: &'static str,
    messages: Vec<MessageView>,
    older: Option<String>,
    paged: bool,
}

/// Newest messages of `number`: the hot list, else the database (refilling the list).
pub async fn recent(state: &AppState, number: &str) -> Result<Vec<MessageStored>, PageError> {
    match state.cache.recent(HotList::Number(number)).await {
        Ok(Some(messages)) => return Ok(messages),
        Ok(None) => {}
        Err(err) => tracing::warn!(error = %err, "cache unavailable; reading the database"),
    }
    let rows = state
        .store
        .recent_messages(number, state.settings.gateway.page_size, None)
        .await
        .map_err(|e| PageError::Unavailable(e.to_string()))?;
    let messages: Vec<MessageStored> = rows.iter().map(to_event).collect();
    if let Err(err) = state.cache.fill(HotList::Number(number), &messages).await {
        tracing::warn!(error = %err, "hot list not filled");
    }
    Ok(messages)
}

/// A page of `number`'s messages: the newest (hot) or those before `cursor`
/// (database). Returns the messages and the cursor of the next older page.
pub async fn page_of(
    state: &AppState,
    number: &str,
    before: Option<store::Cursor>,
) -> Result<(Vec<MessageStored>, Option<store::Cursor>), PageError> {
    let size = state.settings.gateway.page_size;
    let messages = match before {
        None => {
            let mut hot = recent(state, number).await?;
            hot.truncate(usize::try_from(size).unwrap_or(usize::MAX));
            hot
        }
        Some(cursor) => state
            .store
            .recent_messages(number, size, Some(cursor))
            .await
            .map_err(|e| PageError::Unavailable(e.to_string()))?
            .iter()
            .map(to_event)
            .collect(),
    };
    let full = u64::try_from(messages.len()).unwrap_or(u64::MAX) >= size;
    let next = if full {
        messages.last().map(cursor_after)
    } else {
        None
    };
    Ok((messages, next))
}

/// The registered, active number of a path segment, or a 404 page.
pub async fn registered_number(state: &AppState, raw: &str) -> Result<E164, PageError> {
    let not_found =
        || PageError::NotFound("This number is not on this site (or no longer).".into());
    let number = E164::parse(raw).map_err(|_| not_found())?;
    let registered = state
        .store
        .find_number(number.as_str())
        .await
        .map_err(|e| PageError::Unavailable(e.to_string()))?;
    if registered.is_some_and(|n| n.active) {
        Ok(number)
    } else {
        Err(not_found())
    }
}

/// `?before=<cursor>`.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    /// Show messages older than this cursor.
    pub before: Option<String>,
}

/// Parses `?before=`, with a 404 page for a malformed cursor.
pub fn parse_before(query: &PageQuery) -> Result<Option<store::Cursor>, PageError> {
    match &query.before {
        None => Ok(None),
        Some(raw) if raw.is_empty() => Ok(None),
        Some(raw) => store::Cursor::decode(raw)
            .map(Some)
            .ok_or_else(|| PageError::BadRequest("That page link is not valid.".into())),
    }
}

/// `GET /numbers/{e164}`: a number's inbox, newest first; `?before=` pages back.
#[tracing::instrument(name = "GET /numbers/{e164}", skip_all, fields(otel.kind = "server"))]
pub async fn number(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Html<String>, PageError> {
    let number = registered_number(&state, &raw).await?;
    let before = parse_before(&query)?;
    let (messages, next) = page_of(&state, number.as_str(), before).await?;
    let now = Utc::now();
    let country = number.country();
    let page = NumberPage {
        layout: Layout::new(),
        e164: number.as_str().to_owned(),
        display: number.display_international(),
        flag: country.flag(),
        country_name: country.name,
        messages: messages
            .into_iter()
            .map(|m| MessageView::new(m, now))
            .collect(),
        older: next.map(|c| c.encode()),
        paged: before.is_some(),
    };
    Ok(Html(page.render()?))
}

#[derive(Template)]
#[template(path = "latest.html")]
struct LatestPage {
    layout: Layout,
    messages: Vec<MessageView>,
}

/// `GET /latest`: newest messages across all numbers.
#[tracing::instrument(name = "GET /latest", skip_all, fields(otel.kind = "server"))]
pub async fn latest(State(state): State<AppState>) -> Result<Html<String>, PageError> {
    let messages = match state.cache.recent(HotList::Latest).await {
        Ok(Some(messages)) => messages,
        _ => {
            let rows = state
                .store
                .latest_messages(state.settings.gateway.page_size)
                .await
                .map_err(|e| PageError::Unavailable(e.to_string()))?;
            let messages: Vec<MessageStored> = rows.iter().map(to_event).collect();
            if let Err(err) = state.cache.fill(HotList::Latest, &messages).await {
                tracing::warn!(error = %err, "latest list not filled");
            }
            messages
        }
    };
    let now = Utc::now();
    let page = LatestPage {
        layout: Layout::new(),
        messages: messages
            .into_iter()
            .map(|m| MessageView::new(m, now))
            .collect(),
    };
    Ok(Html(page.render()?))
}

/// Any other path.
pub async fn not_found() -> PageError {
    PageError::NotFound("There is nothing at this address.".into())
}

#[cfg(test)]
mod tests {
    use super::age;
    use chrono::{Duration, Utc};

    #[test]
    fn ages_read_naturally() {
        let now = Utc::now();
        assert_eq!(age(now, now), "just now");
        assert_eq!(age(now - Duration::seconds(185), now), "3 min ago");
        assert_eq!(age(now - Duration::hours(2), now), "2 h ago");
        assert_eq!(age(now - Duration::days(1), now), "1 day ago");
        assert_eq!(age(now - Duration::days(5), now), "5 days ago");
        assert_eq!(age(now + Duration::seconds(30), now), "just now");
    }
}
