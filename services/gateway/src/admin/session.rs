//! Who may see the operator pages: the bearer of an operator token
//! (`gateway.admin_token`, `gateway.admin_tokens`: see `tokens`), or a
//! browser logged in with one.
//!
//! A login creates a session: a random 256-bit id in an `HttpOnly`,
//! `SameSite=Strict` cookie, and in the cache (under the id's SHA-256, so
//! the cache never holds a usable id) its start time and its operator's
//! name; it ends when that operator's token leaves the configuration. A session ends after
//! [`IDLE`] without a request, [`ABSOLUTE`] after it began, or at logout,
//! which deletes it server-side; logging out takes a CSRF token bound to the
//! session (HMAC with the gateway's key, compared in constant time) and a
//! same-origin `Origin` when the browser sends one. Tokens are compared
//! through SHA-256 in constant time; wrong tokens are budgeted for the whole
//! site in the cache.

use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{not_found, private};
use crate::security::cookie;
use crate::{AppState, PageError, assets};

/// The operator's session cookie (a random session id).
pub const ADMIN_COOKIE: &str = "cloudsms_admin";
/// A session ends after this long without a request...
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// ...and this long after the login, whatever happens.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 3600);
/// The purpose of the logout form's CSRF token (see `crate::keys`).
const CSRF_PURPOSE: &str = "admin-logout";

/// Wrong tokens the site accepts per minute (every replica together,
/// counted in the cache) before answering 429: the token is long and random,
/// but guessing should not be free.
const FAILURES_PER_MINUTE: u32 = 20;

/// Counts a wrong token; false once the minute's budget is spent, or when
/// the cache cannot count (the right token still gets in: it is checked
/// first).
async fn note_failure(state: &AppState) -> bool {
    let interval = Duration::from_secs(60 / u64::from(FAILURES_PER_MINUTE));
    match state
        .cache
        .throttle("admin:wrong-tokens", interval, FAILURES_PER_MINUTE - 1)
        .await
    {
        Ok(None) => true,
        Ok(Some(_)) => false,
        Err(err) => {
            tracing::warn!(%err, "wrong operator tokens not counted: cache unavailable");
            false
        }
    }
}

/// 429 for too many wrong tokens.
pub fn too_many() -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        "too many wrong tokens, wait a minute\n",
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    private(response)
}

/// The cache key of session `id` (its hash: the cache never holds an id).
fn session_key(id: &str) -> String {
    format!(
        "admin:session:{}",
        hex::encode(Sha256::digest(id.as_bytes()))
    )
}

fn now_unix() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

/// The session id in the cookie, when well-formed (64 hex digits).
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, ADMIN_COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What a request may do.
pub enum Access {
    /// No token configured: the pages do not exist.
    Disabled,
    /// A token is configured and the request carries neither it nor a live session.
    Denied,
    /// A wrong token, past the minute's budget of wrong tokens.
    Throttled,
    /// An operator, by bearer token or session.
    Allowed(Operator),
}

/// Who is acting, for the audit log and the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// The operator token's name (`admin` for `gateway.admin_token`).
    pub name: String,
    /// The session's id when logged in through the form; `None` for a bearer token.
    pub session: Option<String>,
}

/// Whether the request is an operator's; a session's idle time restarts.
pub async fn access(state: &AppState, headers: &HeaderMap) -> Access {
    if state.tokens.is_empty() {
        return Access::Disabled;
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if let Some(name) = bearer.and_then(|b| state.tokens.operator(b)) {
        return Access::Allowed(Operator {
            name,
            session: None,
        });
    }
    if let Some(id) = session_cookie(headers)
        && let Some(name) = live_session(state, &id).await
    {
        return Access::Allowed(Operator {
            name,
            session: Some(id),
        });
    }
    if bearer.is_some() && !note_failure(state).await {
        return Access::Throttled;
    }
    Access::Denied
}

/// What the cache holds of a session: its start (Unix seconds) and its
/// operator's name.
fn session_value(started: u64, operator: &str) -> String {
    format!("{started} {operator}")
}

/// The operator of session `id` when it exists, is within its idle and
/// absolute limits (its idle time restarts) and its operator still has a
/// token. A cache failure denies: no session is better than one that
/// cannot be revoked.
async fn live_session(state: &AppState, id: &str) -> Option<String> {
    let key = session_key(id);
    match state.cache.get_touch(&key, IDLE).await {
        Ok(Some(value)) => {
            // A session from before operators had names is `admin`'s.
            let (started, name) = value
                .split_once(' ')
                .unwrap_or((value.as_str(), config::DEFAULT_OPERATOR));
            let fresh = started
                .parse::<u64>()
                .is_ok_and(|t| now_unix().saturating_sub(t) < ABSOLUTE.as_secs());
            let live = fresh && state.tokens.knows(name);
            if !live {
                let _ = state.cache.forget(&[key]).await;
            }
            live.then(|| name.to_owned())
        }
        Ok(None) => None,
        Err(err) => {
            tracing::warn!(%err, "operator session not checked: cache unavailable");
            None
        }
    }
}

/// The logout form's CSRF token for session `id`.
pub fn csrf_token(state: &AppState, id: &str) -> String {
    state.keys.csrf_token(CSRF_PURPOSE, id)
}

#[derive(Template)]
#[template(path = "admin_login.html")]
struct LoginPage {
    css: String,
    admin_css: String,
    wrong: bool,
    next: String,
}

/// `next` when it is an operator page of this site (`/admin...`, no
/// scheme, host or path tricks), else `/admin`: where a login goes on.
pub fn local_admin_path(next: &str) -> &str {
    let safe = next.len() <= 2000
        && (next == "/admin" || next.starts_with("/admin/") || next.starts_with("/admin?"))
        && !next.contains("//")
        && !next.contains('\\')
        && !next.contains("/..")
        && next.bytes().all(|b| b.is_ascii_graphic());
    if safe { next } else { "/admin" }
}

/// The login page (`WWW-Authenticate` for scripts), going on to `/admin/stats`.
pub fn login_page(status: StatusCode, wrong: bool) -> Response {
    login_page_for(status, wrong, "/admin/stats")
}

/// The login page, going on to `next` (an operator page) after the login.
pub fn login_page_for(status: StatusCode, wrong: bool, next: &str) -> Response {
    let page = LoginPage {
        css: assets::url("site.css"),
        admin_css: assets::url("admin.css"),
        wrong,
        next: local_admin_path(next).to_owned(),
    };
    let mut response = match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => PageError::from(err).into_response(),
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"cloudsms-admin\""),
    );
    private(response)
}

/// The login (or logout) form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    logout: Option<String>,
    #[serde(default)]
    csrf: String,
    /// The operator page to go on to (`/admin/stats` when absent).
    #[serde(default)]
    next: Option<String>,
}

/// 303 to `location` (an operator page).
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(local_admin_path(location)) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// `POST /admin/stats` and `POST /admin/login`: logs in with an operator
/// token (a new session) and goes on to the form's `next` page, or out
/// (the session deleted).
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    if state.tokens.is_empty() {
        return not_found();
    }
    let Ok(Form(form)) = form else {
        return login_page(StatusCode::BAD_REQUEST, true);
    };
    let tls = crate::security::is_tls(&state, &headers);
    if !crate::security::same_origin(&state, &headers) {
        return private((StatusCode::FORBIDDEN, "cross-site request refused\n").into_response());
    }
    let session = if form.logout.is_some() {
        let Some(id) = session_cookie(&headers) else {
            return see_other("/admin/stats");
        };
        if !state.keys.check_csrf(CSRF_PURPOSE, &id, &form.csrf) {
            return private(
                (
                    StatusCode::FORBIDDEN,
                    "this logout did not come from the operator page\n",
                )
                    .into_response(),
            );
        }
        // Who is logging out, for the audit log (before the session is gone).
        let operator = live_session(&state, &id).await.unwrap_or_default();
        if let Err(err) = state.cache.forget(&[session_key(&id)]).await {
            tracing::warn!(%err, "operator session not deleted: cache unavailable");
            return private(
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "logout failed, try again\n",
                )
                    .into_response(),
            );
        }
        let _ = super::audit::record(
            &state,
            super::audit::Action {
                operator: &operator,
                action: "session.logout",
                target: "",
                detail: "",
            },
        )
        .await;
        String::new()
    } else if let Some(operator) = state.tokens.operator(form.token.trim()) {
        let id = hex::encode(rand::random::<[u8; 32]>());
        if let Err(err) = state
            .cache
            .put(
                &session_key(&id),
                &session_value(now_unix(), &operator),
                IDLE,
            )
            .await
        {
            tracing::warn!(%err, "operator session not created: cache unavailable");
            return private(
                (StatusCode::SERVICE_UNAVAILABLE, "login failed, try again\n").into_response(),
            );
        }
        let _ = super::audit::record(
            &state,
            super::audit::Action {
                operator: &operator,
                action: "session.login",
                target: "",
                detail: "",
            },
        )
        .await;
        id
    } else {
        tracing::warn!("operator login refused");
        if !note_failure(&state).await {
            return too_many();
        }
        return login_page_for(
            StatusCode::UNAUTHORIZED,
            true,
            form.next.as_deref().unwrap_or("/admin/stats"),
        );
    };
    // A session's id, or empty (with no age) to delete the cookie.
    let attrs = platform::security::CookieAttrs {
        path: "/admin",
        max_age: if session.is_empty() {
            Duration::ZERO
        } else {
            ABSOLUTE
        },
        http_only: true,
        same_site: platform::security::SameSite::Strict,
    };
    let next = if session.is_empty() {
        "/admin/stats"
    } else {
        form.next.as_deref().unwrap_or("/admin/stats")
    };
    let mut response = see_other(next);
    platform::security::set_cookie(response.headers_mut(), ADMIN_COOKIE, &session, attrs, tls);
    private(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_in_constant_time_and_exactly() {
        assert!(platform::constant_time_eq(b"", b""));
        assert!(!platform::constant_time_eq(b"a", b"ab"));
        assert_eq!(session_value(12, "alice"), "12 alice");
    }

    #[test]
    fn logins_go_on_to_operator_pages_only() {
        for ok in [
            "/admin",
            "/admin/numbers",
            "/admin/messages?q=a%20b&number=%2B44",
        ] {
            assert_eq!(local_admin_path(ok), ok);
        }
        for bad in [
            "https://evil.example/admin",
            "//evil.example/admin",
            "/admin//evil",
            "/admin/\\evil",
            "/administrator",
            "/admin/../latest",
            "/admin/x y",
            "",
        ] {
            assert_eq!(local_admin_path(bad), "/admin", "{bad}");
        }
    }

    #[test]
    fn the_cache_holds_no_usable_session_id() {
        let id = "a".repeat(64);
        let key = session_key(&id);
        assert!(!key.contains(&id));
        assert_eq!(key, session_key(&id));
        assert_ne!(key, session_key(&"b".repeat(64)));
    }
}
