//! The operator console: server-rendered pages under `/admin` (English,
//! no script, the CSP holds) for the numbers and the messages. Forms post
//! back with a CSRF token bound to the session (as the logout does) and a
//! same-origin `Origin`, then redirect (303) to the page; a bearer-token
//! client needs no CSRF token (a browser never sends one by itself). Every
//! action goes through `ops`, so it is announced and audited like the API's.

pub mod health;
mod messages;
mod numbers;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use super::session::{self, Access, Operator, access, login_page_for, too_many};
use super::{not_found, private};
use crate::AppState;

/// The purpose of the console forms' CSRF tokens (see `crate::keys`).
const CSRF_PURPOSE: &str = "admin-console";

/// An operator on a console page: who, and the tokens of the page's forms.
pub struct PageOperator {
    /// Who.
    pub operator: Operator,
    /// The logout form's token (empty for a bearer token: no form).
    pub logout_csrf: String,
    /// The action forms' token (empty for a bearer token).
    pub csrf: String,
}

/// The operator of a console page, or the answer instead: 404 when the
/// console is off, the login page (going on to `here`) when not logged in.
pub async fn page_operator(
    state: &AppState,
    headers: &HeaderMap,
    here: &str,
) -> Result<PageOperator, Response> {
    match access(state, headers).await {
        Access::Disabled => Err(not_found()),
        Access::Denied => Err(login_page_for(StatusCode::UNAUTHORIZED, false, here)),
        Access::Throttled => Err(too_many()),
        Access::Allowed(operator) => {
            let (logout_csrf, csrf) = match operator.session.as_deref() {
                Some(id) => (
                    session::csrf_token(state, id),
                    state.keys.csrf_token(CSRF_PURPOSE, id),
                ),
                None => (String::new(), String::new()),
            };
            Ok(PageOperator {
                operator,
                logout_csrf,
                csrf,
            })
        }
    }
}

/// The operator of a console form: same origin, and with a session the
/// form's CSRF token; else the refusal.
pub async fn form_operator(
    state: &AppState,
    headers: &HeaderMap,
    csrf: &str,
    here: &str,
) -> Result<Operator, Response> {
    if !crate::security::same_origin(state, headers) {
        return Err(refused("cross-site request refused"));
    }
    let operator = page_operator(state, headers, here).await?.operator;
    if let Some(id) = operator.session.as_deref()
        && !state.keys.check_csrf(CSRF_PURPOSE, id, csrf)
    {
        return Err(refused("this form did not come from the console"));
    }
    Ok(operator)
}

fn refused(why: &str) -> Response {
    private((StatusCode::FORBIDDEN, format!("{why}\n")).into_response())
}

/// A rendered page, private.
pub fn render<T: askama::Template>(page: &T, status: StatusCode) -> Response {
    match page.render() {
        Ok(html) => private((status, Html(html)).into_response()),
        Err(err) => private(crate::PageError::from(err).into_response()),
    }
}

/// A database failure on a console page.
pub fn unavailable(err: &store::StoreError) -> Response {
    tracing::error!(error = %err, "operator console: database unavailable");
    private(
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is not available, try again\n",
        )
            .into_response(),
    )
}

/// `GET /admin`: the numbers.
async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match access(&state, &headers).await {
        Access::Disabled => not_found(),
        _ => private(session::see_other("/admin/numbers")),
    }
}

/// The console's routes.
pub fn routes() -> crate::routes::Routes<AppState> {
    use crate::routes::RouteKind as K;
    crate::routes::Routes::default()
        .route("/admin", K::Admin, get(index))
        .route("/admin/login", K::Admin, post(session::login))
        .route(
            "/admin/numbers",
            K::Admin,
            get(numbers::page).post(numbers::add),
        )
        .route("/admin/numbers/{e164}", K::Admin, post(numbers::act))
        .route("/admin/messages", K::Admin, get(messages::page))
        .route("/admin/messages/{id}", K::Admin, post(messages::act))
}
