//! `GET /latest`: the newest messages across all numbers. The first page
//! comes from the hot feed and is live (`/latest/events`: new messages
//! appear on top); `?before=<cursor>` pages back through the database, the
//! way a number's page does (a stable cursor: new messages never shift the
//! older pages).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Html;
use cache::HotList;
use chrono::Utc;
use proto::events::v1::MessageStored;

use crate::i18n::Tr;
use crate::pages::{
    Layout, MessageView, PageQuery, base_url, count_lookup, parse_before, with_next,
};
use crate::views::{received_at, within_period};
use crate::{AppState, PageError};

#[derive(Template)]
#[template(path = "latest.html")]
struct LatestPage {
    t: Tr,
    layout: Layout,
    messages: Vec<MessageView>,
    /// Cursor of the next older page, when there is one.
    older: Option<String>,
    /// An older page (not live).
    paged: bool,
    /// The live stream of the first page, from its newest message on.
    events: String,
}

/// Newest messages across all numbers: the hot feed, else the database.
pub async fn latest_messages(state: &AppState) -> Result<Vec<MessageStored>, PageError> {
    let mut stale = false;
    match state.cache.recent(HotList::Latest).await {
        Ok(Some(messages)) => {
            let cutoffs = state.store.cutoffs().await;
            if messages.iter().all(|m| within_period(&cutoffs, m)) {
                count_lookup("latest", "hit");
                return Ok(messages);
            }
            // Holds messages past their period: read again and replace it.
            count_lookup("latest", "expired");
            stale = true;
        }
        Ok(None) => count_lookup("latest", "miss"),
        Err(_) => count_lookup("latest", "error"),
    }
    let read = state
        .store
        .latest_messages(state.settings.gateway.page_size);
    crate::pages::read_and_refill(state, HotList::Latest, crate::live::LATEST, stale, read).await
}

/// A page of the feed: the newest (hot) or those before `cursor`
/// (database), and the cursor of the next older page.
async fn page_of(
    state: &AppState,
    before: Option<store::Cursor>,
) -> Result<(Vec<MessageStored>, Option<store::Cursor>), PageError> {
    let size = state.settings.gateway.page_size;
    let messages = match before {
        None => {
            let mut hot = latest_messages(state).await?;
            hot.truncate(usize::try_from(size).unwrap_or(usize::MAX));
            hot
        }
        Some(_) => state
            .store
            .latest_messages_before(size, before)
            .await?
            .iter()
            .map(store::MessageRow::to_event)
            .collect(),
    };
    Ok(with_next(messages, size))
}

/// `GET /latest`: newest messages across all numbers; `?before=` pages back.
pub async fn latest(
    State(state): State<AppState>,
    t: Tr,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Result<Html<String>, PageError> {
    let before = parse_before(&query)?;
    let (messages, next) = page_of(&state, before).await?;
    let now = Utc::now();
    let events = match messages.first() {
        Some(m) => format!("/latest/events?after={}", m.id),
        None => "/latest/events".to_owned(),
    };
    let layout = Layout::new(
        &t,
        &base_url(&state, &headers),
        "/latest",
        t.t("latest.title").to_owned(),
        match messages.first() {
            Some(newest) => t.fv(
                "latest.description",
                &[
                    ("count", &messages.len()),
                    ("when", &crate::pages::when(received_at(newest))),
                ],
            ),
            None => t.t("latest.description_empty").to_owned(),
        },
    )
    .with_ads(&state);
    let page = LatestPage {
        layout,
        messages: messages
            .into_iter()
            .map(|m| MessageView::new(m, now, &t, &state.masking))
            .collect(),
        older: next.map(|c| c.encode()),
        paged: before.is_some(),
        events,
        t,
    };
    Ok(Html(page.render()?))
}
