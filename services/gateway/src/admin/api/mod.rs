//! The operator's JSON API (`/admin/api/v1/...`), for scripts: a platform
//! team rotates numbers from its provider's API, a moderator hides a
//! message. Bearer token only (`Authorization: Bearer <token>` of one of
//! `gateway.admin_tokens`): a browser's session cookie is refused, so no
//! request can be forged cross-site and no CSRF token is needed. Errors are
//! `{"error": "..."}` with a 4xx/5xx status. Every action is audited.

pub mod messages;
pub mod numbers;

use axum::Json;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use super::session::{Access, Operator, access};
use crate::AppState;

/// Largest request body the API reads.
const MAX_BODY: usize = 16 * 1024;

/// An answer other than success: a status and what went wrong.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// An answer of `status` saying `message` (`{"error": message}`; a 401
    /// names the bearer scheme, a 429 says when to retry).
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400: the request cannot be read.
    pub fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 422: a field is readable but not acceptable.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// What went wrong, for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

impl From<store::StoreError> for ApiError {
    fn from(err: store::StoreError) -> Self {
        tracing::error!(error = %err, "admin api: database unavailable");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"cloudsms-admin\""),
            );
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        }
        super::private(response)
    }
}

/// A successful answer, private like every operator answer.
pub fn ok<T: serde::Serialize>(status: StatusCode, body: T) -> Response {
    super::private((status, Json(body)).into_response())
}

/// The operator behind the request's bearer token.
pub async fn operator(state: &AppState, headers: &HeaderMap) -> Result<Operator, ApiError> {
    match access(state, headers).await {
        Access::Disabled => Err(ApiError::not_found("no such page")),
        Access::Denied => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "operator token required (Authorization: Bearer <token>)",
        )),
        Access::Throttled => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many wrong tokens, wait a minute",
        )),
        Access::Allowed(operator) if operator.session.is_some() => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the API takes a bearer token, not the console's session",
        )),
        Access::Allowed(operator) => Ok(operator),
    }
}

/// The JSON body, or a 400 saying why it cannot be read.
pub fn body<T: DeserializeOwned>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(b)| b)
        .map_err(|rejection| ApiError::bad(rejection.body_text()))
}

/// Free text of at most `max` characters without control characters
/// (trimmed); `what` names the field in the error.
pub fn text(what: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(ApiError::invalid(format!(
            "{what}: at most {max} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::invalid(format!(
            "{what}: control characters are not allowed"
        )));
    }
    Ok(value.to_owned())
}

/// The E.164 number of a path or body.
pub fn number(raw: &str) -> Result<domain::E164, ApiError> {
    domain::E164::parse(raw.trim()).map_err(|err| ApiError::invalid(format!("e164: {err}")))
}

/// Time as RFC 3339 (UTC), as the API writes every time.
pub fn time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The API's routes.
pub fn routes() -> crate::routes::Routes<AppState> {
    use crate::routes::RouteKind as K;
    let limit = || DefaultBodyLimit::max(MAX_BODY);
    crate::routes::Routes::default()
        .route(
            "/admin/api/v1/numbers",
            K::Admin,
            get(numbers::list).post(numbers::add).layer(limit()),
        )
        .route(
            "/admin/api/v1/numbers/{e164}",
            K::Admin,
            get(numbers::one).patch(numbers::edit).layer(limit()),
        )
        .route(
            "/admin/api/v1/numbers/{e164}/retire",
            K::Admin,
            post(numbers::retire).layer(limit()),
        )
        .route(
            "/admin/api/v1/numbers/{e164}/reactivate",
            K::Admin,
            post(numbers::reactivate).layer(limit()),
        )
        .route("/admin/api/v1/messages", K::Admin, get(messages::search))
        .route(
            "/admin/api/v1/messages/{id}/hide",
            K::Admin,
            post(messages::hide).layer(limit()),
        )
        .route(
            "/admin/api/v1/messages/{id}/unhide",
            K::Admin,
            post(messages::unhide).layer(limit()),
        )
}
