//! A number page is not a dead end: its country and other numbers to try
//! (`number_related.html`), and a retired number's page answers 410 Gone
//! with live numbers instead of a bare 404.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use domain::E164;
use store::Registration;

use crate::activity::{Counts, Snapshot};
use crate::i18n::Tr;
use crate::pages::Layout;
use crate::{AppState, PageError};

/// Other numbers shown.
const OTHERS: usize = 6;

/// Another number to try.
pub struct OtherNumber {
    pub(crate) e164: String,
    pub(crate) display: String,
    pub(crate) flag: String,
    /// "codes from WhatsApp ×3 in 24 h", or nothing.
    pub(crate) services: String,
}

/// What `number_related.html` shows.
pub struct Related {
    /// The country's page, `/countries/gb`.
    pub(crate) country_url: String,
    pub(crate) country_name: String,
    pub(crate) others: Vec<OtherNumber>,
}

fn others(snapshot: &Snapshot, number: &E164, t: &Tr) -> Vec<OtherNumber> {
    snapshot
        .related(number, OTHERS)
        .into_iter()
        .map(|n| {
            let counts = Counts::of(n, t);
            OtherNumber {
                e164: n.number.as_str().to_owned(),
                display: n.number.written().international.clone(),
                flag: n.number.country().flag(),
                services: if counts.services.is_empty() {
                    String::new()
                } else {
                    t.f1("counts.codes", "services", &counts.services_text(t))
                },
            }
        })
        .collect()
}

/// The country and other numbers of `number`'s page, from the snapshot.
pub async fn related(state: &AppState, number: &E164, t: &Tr) -> Related {
    let snapshot = state.activity.snapshot(&state.store).await;
    let country = number.country();
    Related {
        country_url: format!("/countries/{}", country.iso2.to_ascii_lowercase()),
        country_name: t.country(country),
        others: others(&snapshot, number, t),
    }
}

#[derive(Template)]
#[template(path = "retired.html")]
struct RetiredPage {
    t: Tr,
    layout: Layout,
    related: Related,
}

/// The active number `raw` names; else, for a retired one, its 410 page
/// (`Err(response)`); an unknown or malformed one is a 404.
pub async fn active_or_gone(
    state: &AppState,
    t: &Tr,
    base: &str,
    raw: &str,
) -> Result<Result<E164, Response>, PageError> {
    let not_found = || PageError::NotFound("error.no_number");
    let number = E164::parse(raw).map_err(|_| not_found())?;
    match state.registry.lookup(&state.store, number.as_str()).await? {
        Registration::Active => Ok(Ok(number)),
        Registration::Unknown => Err(not_found()),
        Registration::Retired => {
            let display = number.written().international.clone();
            let layout = Layout::new(
                t,
                base,
                &format!("/numbers/{}", number.as_str()),
                t.f1("retired.title", "number", &display),
                t.f1("retired.title", "number", &display),
            );
            let page = RetiredPage {
                t: *t,
                layout,
                related: related(state, &number, t).await,
            };
            Ok(Err((StatusCode::GONE, Html(page.render()?)).into_response()))
        }
    }
}
