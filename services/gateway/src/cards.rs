//! The number cards of the home page (`/`) and the country pages
//! (`/countries/{iso2}`): each number in its international and national
//! forms with a copy button, its last message (sender, age and the start of
//! the text), its messages of the last 24 hours, grouped by country. The
//! home page filters them by country and by service (`?country=gb&service=google`,
//! server-side; `static/app.js` filters in place), and the page script
//! updates them live from `/latest/events`.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Html;
use chrono::{SecondsFormat, Utc};
use domain::E164;
use futures::StreamExt;
use proto::events::v1::MessageStored;
use serde::Deserialize;

use crate::i18n::Tr;
use crate::pages::{Layout, base_url, recent};
use crate::views::{received_at, service_of};
use crate::{AppState, PageError};

/// Characters of a message's text a card shows (the page script cuts live
/// ones the same way).
pub const PREVIEW_CHARS: usize = 80;
/// Hot lists read at once while the cards are made.
const CONCURRENT_READS: usize = 8;

/// The newest message of a number, as its card shows it.
pub struct Preview {
    pub(crate) from: String,
    /// The start of its text, on one line (escaped by the template).
    pub(crate) body: String,
    pub(crate) received_iso: String,
    pub(crate) age: String,
}

/// One number on the home or a country page.
pub struct NumberCard {
    pub(crate) e164: String,
    /// `+44 7700 900461`.
    pub(crate) display: String,
    /// `07700 900461`.
    pub(crate) national: String,
    /// Lower-case ISO code of its country (`data-country`).
    pub(crate) country: String,
    /// Its name in the visitor's language.
    pub(crate) country_name: String,
    pub(crate) flag: String,
    pub(crate) last_day: i64,
    pub(crate) online: bool,
    pub(crate) preview: Option<Preview>,
    /// Slugs of the services its recent messages came from, space-separated
    /// (`data-services`, for the filter).
    pub(crate) services: String,
    /// Codes per service in 24 h and the message total (`card_counts.html`).
    pub(crate) counts: crate::activity::Counts,
}

/// The numbers of one country.
pub struct CountryGroup {
    pub(crate) iso2: &'static str,
    pub(crate) flag: String,
    pub(crate) name: String,
    pub(crate) numbers: Vec<NumberCard>,
}

/// A service for the filter: its slug (`/services/{slug}`, `?service=`)
/// and name.
pub struct ServiceOption {
    pub(crate) slug: String,
    pub(crate) name: String,
}

/// `text` on one line, at most `most` characters (then `…`).
pub fn shorten(text: &str, most: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= most {
        return line;
    }
    let mut short: String = line.chars().take(most).collect();
    short.truncate(short.trim_end().len());
    short.push('…');
    short
}

/// Every active number's card, by country.
pub struct Cards {
    /// Grouped by country, groups sorted by their name in the visitor's
    /// language.
    pub(crate) groups: Vec<CountryGroup>,
    /// The services the numbers' recent messages came from, by name.
    pub(crate) services: Vec<ServiceOption>,
    /// The newest message id the cards show (`/latest/events?after=`).
    pub(crate) newest: Option<i64>,
}

impl Cards {
    /// The site-wide live stream, from the newest message shown on.
    fn events_url(&self) -> String {
        match self.newest {
            Some(id) => format!("/latest/events?after={id}"),
            None => "/latest/events".to_owned(),
        }
    }
}

/// How long after its newest message a number still shows as online
/// (`gateway.offline_after_secs`).
pub(crate) fn offline_after(state: &AppState) -> chrono::Duration {
    chrono::Duration::seconds(
        i64::try_from(state.settings.gateway.offline_after_secs).unwrap_or(i64::MAX),
    )
}

/// What every card of a page shares: its language, how long a number may
/// be silent and still count as online, and the masking rules of previews.
#[derive(Clone, Copy)]
pub(crate) struct CardFrame<'a> {
    pub(crate) t: &'a Tr,
    pub(crate) offline_after: chrono::Duration,
    pub(crate) masking: &'a crate::masking::Masking,
}

/// The card of `number`: `messages` are its recent ones, newest first;
/// `last_day` its messages of the last 24 hours; `last_at` when its newest
/// message came (online within `gateway.offline_after_secs`).
pub(crate) fn number_card(
    number: &E164,
    messages: &[MessageStored],
    last_day: i64,
    last_at: Option<chrono::DateTime<Utc>>,
    counts: crate::activity::Counts,
    frame: &CardFrame<'_>,
) -> NumberCard {
    let CardFrame {
        t,
        offline_after,
        masking,
    } = *frame;
    let now = Utc::now();
    let slugs: Vec<String> = service_names(messages)
        .into_iter()
        .map(|(slug, _)| slug)
        .collect();
    let preview = messages.first().map(|m| {
        let at = received_at(m);
        Preview {
            from: match service_of(m) {
                Some(service) => format!("{} · {service}", m.from),
                None => m.from.clone(),
            },
            body: shorten(&masking.apply(&m.body), PREVIEW_CHARS),
            received_iso: at.to_rfc3339_opts(SecondsFormat::Secs, true),
            age: t.age(at, now),
        }
    });
    let country = number.country();
    let written = number.written();
    NumberCard {
        e164: number.as_str().to_owned(),
        display: written.international.clone(),
        national: written.national.clone(),
        country: country.iso2.to_ascii_lowercase(),
        country_name: t.country(country),
        flag: country.flag(),
        last_day,
        online: last_at.is_some_and(|at| now - at < offline_after),
        preview,
        services: slugs.join(" "),
        counts,
    }
}

/// The services of `messages` by slug, each once with the name it first
/// came with (a card's `data-services`, the filter's choices).
fn service_names(messages: &[MessageStored]) -> Vec<(String, String)> {
    let mut names: Vec<(String, String)> = Vec::new();
    for m in messages {
        let slug = crate::activity::slug(&m.service);
        if !slug.is_empty() && !names.iter().any(|(s, _)| *s == slug) {
            names.push((slug, m.service.clone()));
        }
    }
    names
}

/// Every active number's card (see [`Cards`]).
pub async fn country_groups(state: &AppState, t: &Tr) -> Result<Cards, PageError> {
    let overview = state.store.numbers_overview().await?;
    let activity = state.activity.snapshot(&state.store).await;
    let offline_after = offline_after(state);
    // The hot lists of the numbers with messages, a few at a time.
    let wanted: Vec<Option<String>> = overview
        .iter()
        .map(|item| item.last_message_at.map(|_| item.number.e164.clone()))
        .collect();
    let recents: Vec<Vec<MessageStored>> = futures::stream::iter(wanted)
        .map(|number| {
            let state = state.clone();
            async move {
                match number {
                    Some(number) => recent(&state, &number).await,
                    None => Ok(Vec::new()),
                }
            }
        })
        .buffered(CONCURRENT_READS)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let mut newest: Option<i64> = None;
    let mut services: BTreeMap<String, String> = BTreeMap::new();
    let mut groups: BTreeMap<&'static str, CountryGroup> = BTreeMap::new();
    for (item, messages) in overview.into_iter().zip(recents) {
        let Ok(number) = E164::parse(&item.number.e164) else {
            continue;
        };
        newest = newest.max(messages.first().map(|m| m.id));
        let card = number_card(
            &number,
            &messages,
            item.messages_last_day,
            item.last_message_at,
            activity.counts(number.as_str(), t),
            &CardFrame {
                t,
                offline_after,
                masking: &state.masking,
            },
        );
        for (slug, name) in service_names(&messages) {
            services.entry(slug).or_insert(name);
        }
        let country = number.country();
        groups
            .entry(country.iso2)
            .or_insert_with(|| CountryGroup {
                iso2: country.iso2,
                flag: country.flag(),
                name: card.country_name.clone(),
                numbers: Vec::new(),
            })
            .numbers
            .push(card);
    }
    let mut groups: Vec<CountryGroup> = groups.into_values().collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    let mut services: Vec<ServiceOption> = services
        .into_iter()
        .map(|(slug, name)| ServiceOption { slug, name })
        .collect();
    services.sort_by_key(|s| s.name.to_lowercase());
    Ok(Cards {
        groups,
        services,
        newest,
    })
}

/// `?country=gb&service=google` on the home page.
#[derive(Debug, Default, Deserialize)]
pub struct CardFilter {
    /// ISO 3166 code of the country to show, any case.
    pub country: Option<String>,
    /// Slug of the service whose recent codes a number must have.
    pub service: Option<String>,
}

impl CardFilter {
    fn country(&self) -> String {
        self.country
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    }

    fn service(&self) -> String {
        crate::activity::slug(self.service.as_deref().unwrap_or_default())
    }
}

/// A country in the filter and the list of countries.
pub struct CountryOption {
    pub(crate) iso2: String,
    pub(crate) flag: String,
    pub(crate) name: String,
    /// Its numbers.
    pub(crate) count: usize,
}

/// Cards in one grid (`cards.html` shows `group.numbers`).
pub struct CardList {
    pub(crate) numbers: Vec<NumberCard>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    t: Tr,
    layout: Layout,
    /// Whether the operator shows ads (`gateway.ads.enabled`).
    ads: bool,
    /// The live stream the cards follow.
    events: String,
    /// The cards the filter keeps, by country, in one grid.
    group: CardList,
    country_options: Vec<CountryOption>,
    services: Vec<ServiceOption>,
    /// The filter in force (empty: all).
    country: String,
    service: String,
    /// Numbers on the site before filtering.
    total: usize,
}

/// `GET /`: what the site is, its countries, and every number's card in
/// one grid, by country; `?country=` and `?service=` keep some.
pub async fn home(
    State(state): State<AppState>,
    t: Tr,
    headers: HeaderMap,
    Query(filter): Query<CardFilter>,
) -> Result<Html<String>, PageError> {
    let cards = country_groups(&state, &t).await?;
    let events = cards.events_url();
    let Cards {
        groups, services, ..
    } = cards;
    let total = groups.iter().map(|g| g.numbers.len()).sum();
    let country_options = groups
        .iter()
        .map(|g| CountryOption {
            iso2: g.iso2.to_ascii_lowercase(),
            flag: g.flag.clone(),
            name: g.name.clone(),
            count: g.numbers.len(),
        })
        .collect();
    let base = base_url(&state, &headers);
    let mut layout = Layout::new(
        &t,
        &base,
        "/",
        t.t("home.title").to_owned(),
        t.fv(
            "home.description",
            &[("numbers", &total), ("countries", &groups.len())],
        ),
    )
    .with_ads(&state);
    layout.json_ld = Some(crate::seo::website_json_ld(&base, &t));
    let (country, service) = (filter.country(), filter.service());
    let numbers = groups
        .into_iter()
        .filter(|g| country.is_empty() || g.iso2.eq_ignore_ascii_case(&country))
        .flat_map(|g| g.numbers)
        .filter(|n| service.is_empty() || n.services.split(' ').any(|s| s == service))
        .collect();
    Ok(Html(
        HomePage {
            t,
            layout,
            ads: state.settings.gateway.ads.enabled,
            events,
            group: CardList { numbers },
            country_options,
            services,
            country,
            service,
            total,
        }
        .render()?,
    ))
}

#[derive(Template)]
#[template(path = "country.html")]
struct CountryPage {
    t: Tr,
    layout: Layout,
    country: CountryGroup,
    /// The live stream the cards follow.
    events: String,
}

/// `GET /countries/{iso2}`: one country's numbers.
pub async fn country(
    State(state): State<AppState>,
    t: Tr,
    headers: HeaderMap,
    Path(iso2): Path<String>,
) -> Result<Html<String>, PageError> {
    let not_found = || PageError::NotFound("error.no_page");
    let wanted = domain::country_by_iso2(&iso2).ok_or_else(not_found)?;
    let cards = country_groups(&state, &t).await?;
    let events = cards.events_url();
    let country = cards
        .groups
        .into_iter()
        .find(|g| g.iso2 == wanted.iso2)
        .ok_or_else(not_found)?;
    let layout = Layout::new(
        &t,
        &base_url(&state, &headers),
        &format!("/countries/{}", country.iso2.to_ascii_lowercase()),
        t.f1("country.title", "country", &country.name),
        t.fv(
            "country.description",
            &[
                ("count", &country.numbers.len()),
                ("country", &country.name),
                ("numbers", &listed(&country.numbers)),
            ],
        ),
    )
    .with_ads(&state);
    Ok(Html(
        CountryPage {
            t,
            layout,
            country,
            events,
        }
        .render()?,
    ))
}

/// The first numbers of a country, for its description.
fn listed(numbers: &[NumberCard]) -> String {
    const SHOWN: usize = 5;
    let mut list = numbers
        .iter()
        .take(SHOWN)
        .map(|n| n.display.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if numbers.len() > SHOWN {
        list.push_str(", …");
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_are_one_short_line() {
        assert_eq!(shorten("Your code\n is 1234", 80), "Your code is 1234");
        assert_eq!(shorten("abcdef", 3), "abc…");
        assert_eq!(shorten("ab cdef", 3), "ab…");
        assert_eq!(shorten("验证码123456", 3), "验证码…");
    }
}
