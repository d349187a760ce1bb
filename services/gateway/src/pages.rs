//! The HTML pages.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Html;
use cache::HotList;
use chrono::{DateTime, Utc};
use domain::E164;
use proto::events::v1::MessageStored;

use crate::{AppState, PageError};

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
    Ok(Html(
        HomePage {
            countries: groups.into_values().collect(),
        }
        .render()?,
    ))
}

struct MessageView {
    id: i64,
    from: String,
    service: Option<&'static str>,
    body: String,
    code: Option<String>,
    received_iso: String,
    age: String,
}

#[derive(Template)]
#[template(path = "number.html")]
struct NumberPage {
    display: String,
    flag: String,
    country_name: &'static str,
    messages: Vec<MessageView>,
}

/// Newest messages of `number`: the hot list, else the database (refilling the list).
async fn recent(state: &AppState, number: &str) -> Result<Vec<MessageStored>, PageError> {
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

fn to_event(row: &store::MessageRow) -> MessageStored {
    MessageStored {
        id: row.id,
        provider: row.provider.clone(),
        provider_message_id: row.provider_message_id.clone(),
        number: row.number.clone(),
        country: String::new(),
        from: row.sender.clone(),
        body: row.body.clone(),
        received_at: Some(proto::timestamp_from_unix_millis(
            row.received_at.timestamp_millis(),
        )),
        stored_at: Some(proto::timestamp_from_unix_millis(
            row.stored_at.timestamp_millis(),
        )),
    }
}

/// `GET /numbers/{e164}`: a number's inbox, newest first.
#[tracing::instrument(name = "GET /numbers/{e164}", skip_all, fields(otel.kind = "server"))]
pub async fn number(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Html<String>, PageError> {
    let not_found =
        || PageError::NotFound("This number is not on this site (or no longer).".into());
    let number = E164::parse(&raw).map_err(|_| not_found())?;
    let registered = state
        .store
        .find_number(number.as_str())
        .await
        .map_err(|e| PageError::Unavailable(e.to_string()))?;
    if !registered.is_some_and(|n| n.active) {
        return Err(not_found());
    }
    let now = Utc::now();
    let messages = recent(&state, number.as_str())
        .await?
        .into_iter()
        .map(|m| {
            let received = m
                .received_at
                .as_ref()
                .and_then(|t| DateTime::from_timestamp_millis(proto::timestamp_to_unix_millis(t)))
                .unwrap_or(now);
            MessageView {
                id: m.id,
                service: domain::recognise_service(&m.from, &m.body),
                code: domain::extract_code(&m.body),
                from: m.from,
                body: m.body,
                received_iso: received.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                age: age(received, now),
            }
        })
        .collect();
    let country = number.country();
    let page = NumberPage {
        display: number.display_international(),
        flag: country.flag(),
        country_name: country.name,
        messages,
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
