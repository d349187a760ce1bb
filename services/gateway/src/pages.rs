//! The HTML pages.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{Html, IntoResponse, Response};
use cache::HotList;
use chrono::{DateTime, SecondsFormat, Utc};
use domain::E164;
use proto::events::v1::MessageStored;
use serde::Deserialize;

use crate::i18n::Tr;
pub use crate::layout::{Layout, base_url};
use crate::views::{
    code_expires_at, code_of, code_to_enter_of, cursor_after, received_at, service_of,
    within_period,
};
use crate::{AppState, PageError};

/// When a message came, as descriptions say it (`2026-12-04 09:20 UTC`):
/// a time that stays true while the page is cached or indexed.
pub(crate) fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A message as a page shows it.
pub struct MessageView {
    pub(crate) id: i64,
    pub(crate) number: String,
    pub(crate) number_display: String,
    pub(crate) from: String,
    pub(crate) service: Option<String>,
    pub(crate) body: String,
    pub(crate) code: Option<String>,
    /// What the copy button copies (`G-717464` → `717464`).
    pub(crate) code_enter: String,
    /// When the code stops being valid (RFC 3339), where the text says.
    pub(crate) code_expires: Option<String>,
    /// Whether it had stopped when the page was made.
    pub(crate) code_expired: bool,
    /// Its time of day, `HH:MM UTC` (the page script shows a countdown).
    pub(crate) code_expires_clock: String,
    pub(crate) received_iso: String,
    pub(crate) age: String,
}

impl MessageView {
    pub(crate) fn new(
        m: MessageStored,
        now: DateTime<Utc>,
        t: &Tr,
        masking: &crate::masking::Masking,
    ) -> Self {
        let body = masking.apply(&m.body).into_owned();
        let received = received_at(&m);
        let expires = code_expires_at(&m);
        let number_display = E164::parse(&m.number)
            .map(|n| n.written().international.clone())
            .unwrap_or_else(|_| m.number.clone());
        Self {
            id: m.id,
            service: service_of(&m),
            code_enter: code_to_enter_of(&m).unwrap_or_default(),
            code: code_of(&m),
            code_expires: expires.map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            code_expired: expires.is_some_and(|at| at <= now),
            code_expires_clock: expires
                .map(|at| at.format("%H:%M UTC").to_string())
                .unwrap_or_default(),
            number: m.number,
            number_display,
            from: m.from,
            body,
            received_iso: received.to_rfc3339_opts(SecondsFormat::Secs, true),
            age: t.age(received, now),
        }
    }
}

#[derive(Template)]
#[template(path = "number.html")]
struct NumberPage {
    t: Tr,
    layout: Layout,
    e164: String,
    display: String,
    /// National form (`07700 900461`) and what forms with a country picker
    /// want (`7700900461`).
    national: String,
    national_digits: String,
    calling_code: u16,
    flag: String,
    country_name: String,
    messages: Vec<MessageView>,
    older: Option<String>,
    paged: bool,
    senders: Vec<String>,
    from: String,
    /// "Wait for my code" (`number_wait.html`).
    wait: crate::wait::WaitControl,
    /// Its country and other numbers (`number_related.html`).
    related: crate::related::Related,
}

/// Counts a hot-list read in `cloudsms.cache.lookups` (`list`, `result`:
/// hit, miss or error): the cache hit ratio.
pub(crate) fn count_lookup(list: &'static str, result: &'static str) {
    static COUNTER: std::sync::OnceLock<opentelemetry::metrics::Counter<u64>> =
        std::sync::OnceLock::new();
    COUNTER
        .get_or_init(|| {
            opentelemetry::global::meter("gateway")
                .u64_counter("cloudsms.cache.lookups")
                .with_description("Hot-list reads by list and result (hit, miss, error)")
                .build()
        })
        .add(
            1,
            &[
                opentelemetry::KeyValue::new("list", list),
                opentelemetry::KeyValue::new("result", result),
            ],
        );
}

/// Newest messages of `number`: the hot list, else the database (refilling the list).
pub async fn recent(state: &AppState, number: &str) -> Result<Vec<MessageStored>, PageError> {
    let mut stale = false;
    match state.cache.recent(HotList::Number(number)).await {
        Ok(Some(messages)) => {
            let cutoffs = state.store.cutoffs().await;
            if messages.iter().all(|m| within_period(&cutoffs, m)) {
                count_lookup("number", "hit");
                return Ok(messages);
            }
            // Holds messages past their period: read again (the database
            // hides them) and replace it.
            count_lookup("number", "expired");
            stale = true;
        }
        Ok(None) => count_lookup("number", "miss"),
        Err(err) => {
            count_lookup("number", "error");
            tracing::warn!(error = %err, "cache unavailable; reading the database");
        }
    }
    let read = state
        .store
        .recent_messages(number, state.settings.gateway.page_size, None);
    read_and_refill(state, HotList::Number(number), number, stale, read).await
}

/// Reads a hot list's messages from the database with `read` and refills
/// the list (or drops it when `stale` and nothing is left), unless a message
/// was pushed to it (the cache's version) or announced to this process (the
/// page cache's generation of `page_key`) meanwhile: the snapshot would
/// hide that message until the fill's time to live ran out.
pub async fn read_and_refill(
    state: &AppState,
    list: HotList<'_>,
    page_key: &str,
    stale: bool,
    read: impl Future<Output = Result<Vec<store::MessageRow>, store::StoreError>>,
) -> Result<Vec<MessageStored>, PageError> {
    let generation = state.live.pages.generation(page_key);
    let seen = state.cache.version(list).await;
    let rows = read.await?;
    let messages: Vec<MessageStored> = rows.iter().map(store::MessageRow::to_event).collect();
    let Ok(seen) = seen else {
        return Ok(messages);
    };
    if state.live.pages.generation(page_key) == generation {
        let refilled = if stale && messages.is_empty() {
            state.cache.forget_lists(&[list]).await
        } else {
            state
                .cache
                .fill_unless_pushed(list, &messages, seen)
                .await
                .map(|_| ())
        };
        if let Err(err) = refilled {
            tracing::warn!(error = %err, "hot list not filled");
        }
    }
    Ok(messages)
}

/// A page of `number`'s messages: the newest (hot) or those before `cursor`
/// (database), only from `sender` when given. Returns the messages and the
/// cursor of the next older page.
pub async fn page_of(
    state: &AppState,
    number: &str,
    sender: Option<&str>,
    before: Option<store::Cursor>,
) -> Result<(Vec<MessageStored>, Option<store::Cursor>), PageError> {
    let size = state.settings.gateway.page_size;
    let messages = match (before, sender) {
        (None, None) => {
            let mut hot = recent(state, number).await?;
            hot.truncate(usize::try_from(size).unwrap_or(usize::MAX));
            hot
        }
        _ => state
            .store
            .recent_messages_from(number, sender, size, before)
            .await?
            .iter()
            .map(store::MessageRow::to_event)
            .collect(),
    };
    Ok(with_next(messages, size))
}

/// A page of `messages` and, when it is full (`size`), the cursor of the
/// page after it.
pub(crate) fn with_next(
    messages: Vec<MessageStored>,
    size: u64,
) -> (Vec<MessageStored>, Option<store::Cursor>) {
    let full = u64::try_from(messages.len()).unwrap_or(u64::MAX) >= size;
    let next = if full {
        messages.last().map(cursor_after)
    } else {
        None
    };
    (messages, next)
}

/// The registered, active number of a path segment, or a 404 page.
pub async fn registered_number(state: &AppState, raw: &str) -> Result<E164, PageError> {
    let not_found = || PageError::NotFound("error.no_number");
    let number = E164::parse(raw).map_err(|_| not_found())?;
    let active = state
        .registry
        .is_active(&state.store, number.as_str())
        .await?;
    if active { Ok(number) } else { Err(not_found()) }
}

/// `?before=<cursor>&from=<sender>`.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    /// Show messages older than this cursor.
    pub before: Option<String>,
    /// Show only messages from this sender.
    pub from: Option<String>,
}

impl PageQuery {
    /// The sender filter, when set.
    pub fn sender(&self) -> Option<&str> {
        self.from
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
}

/// Parses `?before=`, with a 400 page for a malformed cursor.
pub fn parse_before(query: &PageQuery) -> Result<Option<store::Cursor>, PageError> {
    match &query.before {
        None => Ok(None),
        Some(raw) if raw.is_empty() => Ok(None),
        Some(raw) => store::Cursor::decode(raw)
            .map(Some)
            .ok_or(PageError::BadRequest("error.bad_link")),
    }
}

/// `GET /numbers/{e164}`: a number's inbox, newest first; `?before=` pages
/// back, `?from=` keeps one sender. No span of its own: the request's
/// server span (`platform::trace_requests`) already bears the route's name,
/// and a second one per view cost the hot page about two microseconds.
pub async fn number(
    State(state): State<AppState>,
    t: Tr,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, PageError> {
    let base = base_url(&state, &headers);
    let before = parse_before(&query)?;
    let sender = query.sender();
    // A retired number is gone (410) within `gateway.registry_cache_ms`.
    let number = match crate::related::active_or_gone(&state, &t, &base, &raw).await? {
        Ok(number) => number,
        Err(gone) => return Ok(gone),
    };
    // The newest page is served from the rendered-page cache when fresh.
    let cacheable = before.is_none() && sender.is_none();
    let cutoffs = state.store.cutoffs().await;
    if cacheable
        && let Some(html) = state
            .live
            .pages
            .get_at(number.as_str(), &base, t.lang, cutoffs.now())
    {
        return Ok(Html(html).into_response());
    }
    let generation = state.live.pages.generation(number.as_str());
    let (messages, next) = page_of(&state, number.as_str(), sender, before).await?;
    // The cached page goes when its oldest message passes its period.
    let period = cutoffs.now() - cutoffs.oldest_shown(number.as_str());
    let until = messages.last().map(|oldest| received_at(oldest) + period);
    let senders = state.store.recent_senders(number.as_str(), 30).await?;
    let now = Utc::now();
    let country = number.country();
    let country_name = t.country(country);
    let written = number.written();
    let display = written.international.clone();
    let wait = crate::wait::WaitControl::new(&messages, &senders);
    // Paged and filtered views are canonical to the newest page: a cursor
    // page is no stable document (messages move down as new ones come,
    // and retention deletes them).
    let description = match messages.first() {
        Some(newest) => t.fv(
            "number.description",
            &[
                ("number", &display),
                ("country", &country_name),
                ("count", &messages.len()),
                ("when", &when(received_at(newest))),
            ],
        ),
        None => t.f2(
            "number.description_empty",
            "number",
            &display,
            "country",
            &country_name,
        ),
    };
    let layout = Layout::new(
        &t,
        &base,
        &format!("/numbers/{}", number.as_str()),
        t.f2("number.title", "number", &display, "country", &country_name),
        description,
    )
    .with_ads(&state);
    let page = NumberPage {
        layout,
        e164: number.as_str().to_owned(),
        display,
        national: written.national.clone(),
        national_digits: written.national_digits.clone(),
        calling_code: number.calling_code(),
        flag: country.flag(),
        country_name,
        messages: messages
            .into_iter()
            .map(|m| MessageView::new(m, now, &t, &state.masking))
            .collect(),
        older: next.map(|c| c.encode()),
        paged: before.is_some() || sender.is_some(),
        senders,
        from: sender.unwrap_or_default().to_owned(),
        wait,
        related: crate::related::related(&state, &number, &t).await,
        t,
    };
    let html = bytes::Bytes::from(page.render()?);
    if cacheable {
        state.live.pages.put_until(
            number.as_str(),
            &base,
            t.lang,
            generation,
            html.clone(),
            until,
        );
    }
    Ok(Html(html).into_response())
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    t: Tr,
    layout: Layout,
    policy: String,
}

/// The policy's placeholder for `messages.keep_days`.
const KEEP_DAYS: &str = "{messages_keep_days}";

/// The privacy policy in `lang`, stating the settings it names.
pub(crate) fn policy(lang: crate::i18n::Lang, settings: &config::Settings) -> String {
    let text = match lang {
        crate::i18n::Lang::ZhCn => include_str!("../content/privacy.zh-CN.html"),
        crate::i18n::Lang::En => include_str!("../content/privacy.en.html"),
    };
    text.replace(KEEP_DAYS, &settings.messages.keep_days.to_string())
}

/// `GET /privacy`: the privacy policy in the visitor's language.
pub async fn privacy(
    State(state): State<AppState>,
    t: Tr,
    headers: HeaderMap,
) -> Result<Html<String>, PageError> {
    let policy = policy(t.lang, &state.settings);
    let layout = Layout::new(
        &t,
        &base_url(&state, &headers),
        "/privacy",
        t.t("privacy.title").to_owned(),
        t.t("privacy.description").to_owned(),
    );
    Ok(Html(PrivacyPage { t, layout, policy }.render()?))
}

/// Any other path.
pub async fn not_found(_uri: Uri) -> PageError {
    PageError::NotFound("error.no_page")
}
