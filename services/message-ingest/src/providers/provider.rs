//! The [`Provider`] trait: what a provider module tells the one webhook
//! handler ([`super::handle::handle`]) about its webhook. A module is its
//! `verify` and `parse` (and its `answer`, when the provider does not take
//! JSON); reading the body, the enabled and content-type checks, accepting
//! the SMS and counting the outcome are the handler's, the same for all.

use std::future::Future;
use std::net::IpAddr;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, Utc};
use config::IngestSettings;

use crate::accept::{Accepted, AppState, InboundSms, accept};
use crate::error::IngestError;

/// The content type of JSON bodies.
pub const JSON: &str = "application/json";
/// The content type of form bodies.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// One provider's webhook. Implemented by a unit type in the provider's
/// module; the handler calls, in this order: [`enabled`](Self::enabled),
/// [`admit`](Self::admit), the method check (when [`TAKES_GET`](Self::TAKES_GET)),
/// the body limit, the content type, [`verify`](Self::verify),
/// [`parse`](Self::parse), [`Deliver::deliver`], [`answer`](Self::answer).
pub trait Provider: Send + Sync + 'static {
    /// Route segment (`/webhooks/<NAME>`), metrics and log label, and the
    /// `provider` of the events it publishes.
    const NAME: &'static str;
    /// Content types a body may have, compared case-insensitively as
    /// prefixes (parameters such as `; charset=utf-8` may follow); any other
    /// is a 415 that names them.
    const CONTENT_TYPES: &'static [&'static str];
    /// A request without any content type is read as the first of
    /// [`CONTENT_TYPES`](Self::CONTENT_TYPES) instead of refused.
    const CONTENT_TYPE_OPTIONAL: bool = false;
    /// The provider also calls with `GET` and a query string: the route
    /// takes any method and answers 405 to those other than `GET` and `POST`.
    const TAKES_GET: bool = false;
    /// An unreadable or oversize body is answered before the enabled and
    /// method checks (these routes always answered so; kept so their
    /// answers do not change).
    const BODY_CHECKED_FIRST: bool = false;

    /// What [`verify`](Self::verify) hands to [`parse`](Self::parse): the
    /// parameters the signature covered, or `()`.
    type Verified: Send;
    /// What [`parse`](Self::parse) makes of a request: an [`InboundSms`]
    /// for every provider but one with multi-part messages.
    type Message: Deliver;

    /// The provider is configured (its secret set); a 404 otherwise.
    fn enabled(settings: &IngestSettings) -> bool;

    /// Checks made before the body is read, on who calls (a client address
    /// list). Everyone by default.
    fn admit(settings: &IngestSettings, client: Option<IpAddr>) -> Result<(), IngestError> {
        let _ = (settings, client);
        Ok(())
    }

    /// Checks that the provider sent `webhook` (signature, shared secret,
    /// token) exactly as received, and its freshness.
    fn verify(settings: &IngestSettings, webhook: &Webhook) -> Result<Self::Verified, IngestError>;

    /// Reads a verified request: the SMS to accept, or an event that carries
    /// none. A 400 names what is missing or malformed.
    fn parse(
        webhook: &Webhook,
        verified: Self::Verified,
    ) -> Result<Parsed<Self::Message>, IngestError>;

    /// The answer the provider expects: `Some` once an SMS is accepted,
    /// `None` when nothing was published (an event without an SMS, a part
    /// held for the rest of its message). By default a 200 JSON answer and
    /// errors as their JSON error ([`json_answer`]).
    fn answer(
        settings: &IngestSettings,
        outcome: Result<Option<Accepted>, IngestError>,
    ) -> Response {
        let _ = settings;
        json_answer(StatusCode::OK, outcome)
    }
}

/// A header's text, `None` when it is absent; a header that is not text is
/// refused (401).
pub fn optional_header<'a>(
    headers: &'a HeaderMap,
    name: &str,
) -> Result<Option<&'a str>, IngestError> {
    headers
        .get(name)
        .map(|value| {
            value
                .to_str()
                .map_err(|_| IngestError::Unauthorized(format!("{name} header is not text")))
        })
        .transpose()
}

/// A header's text; a missing header, or one that is not text, is refused (401).
pub fn required_header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, IngestError> {
    optional_header(headers, name)?
        .ok_or_else(|| IngestError::Unauthorized(format!("missing {name} header")))
}

/// A webhook request as received, for [`Provider::verify`] and [`Provider::parse`].
#[derive(Debug, Clone)]
pub struct Webhook {
    /// `GET` or `POST`.
    pub method: Method,
    /// Path and query as received.
    pub uri: Uri,
    /// The absolute URL the provider called (see [`super::public_url`]),
    /// which some providers sign.
    pub url: String,
    /// Request headers.
    pub headers: HeaderMap,
    /// Which of [`Provider::CONTENT_TYPES`] the body is; `None` for `GET`.
    pub content_type: Option<&'static str>,
    /// The raw body.
    pub body: Bytes,
    /// When the request arrived, for freshness checks.
    pub now: DateTime<Utc>,
}

impl Webhook {
    /// The body is JSON (else a form, or nothing for `GET`).
    pub fn is_json(&self) -> bool {
        self.content_type == Some(JSON)
    }

    /// The URL's query string, empty when there is none.
    pub fn query(&self) -> &str {
        self.uri.query().unwrap_or("")
    }

    /// Checks the signature headers of the body with `check` (a
    /// provider's `verify(key, headers, body, tolerance_secs, now)`),
    /// under `key` and the settings' freshness tolerance.
    pub fn signed_by(
        &self,
        settings: &IngestSettings,
        key: &str,
        check: HeaderSignature,
    ) -> Result<(), IngestError> {
        check(
            key,
            &self.headers,
            &self.body,
            settings.signature_tolerance_secs,
            self.now,
        )
    }
}

/// A check of a body signed in the headers, with a timestamp at most
/// `tolerance_secs` old at `now`.
pub type HeaderSignature =
    fn(&str, &HeaderMap, &[u8], u64, DateTime<Utc>) -> Result<(), IngestError>;

/// What a verified request asks of us.
#[derive(Debug)]
pub enum Parsed<M> {
    /// An SMS (or a part of one) to accept.
    Sms(M),
    /// An event that carries no SMS (a delivery report, a ping...), with
    /// what it was: acknowledged, nothing published.
    Ignored(String),
}

/// Accepting what a provider parsed.
pub trait Deliver: Send {
    /// Accepts `self`: `Some` once published, `None` when held for later.
    fn deliver(
        self,
        state: &AppState,
    ) -> impl Future<Output = Result<Option<Accepted>, IngestError>> + Send;
}

impl Deliver for InboundSms {
    async fn deliver(self, state: &AppState) -> Result<Option<Accepted>, IngestError> {
        accept(state, self).await.map(Some)
    }
}

/// `success` for an accepted (or ignored) request, errors as their JSON
/// error: the answer of providers that read no body back.
pub fn answer_with(
    outcome: Result<Option<Accepted>, IngestError>,
    success: impl IntoResponse,
) -> Response {
    match outcome {
        Ok(_) => success.into_response(),
        Err(err) => err.into_response(),
    }
}

/// `status` with `accepted` (our event id, and whether it was a retry) or
/// `ignored` (nothing published) in JSON; errors as their JSON error.
pub fn json_answer(status: StatusCode, outcome: Result<Option<Accepted>, IngestError>) -> Response {
    let body = match outcome {
        Ok(Some(accepted)) => serde_json::json!({
            "status": "accepted",
            "event_id": accepted.event_id,
            "duplicate": accepted.duplicate,
        }),
        Ok(None) => serde_json::json!({ "status": "ignored" }),
        Err(err) => return err.into_response(),
    };
    (status, Json(body)).into_response()
}
