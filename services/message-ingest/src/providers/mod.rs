//! One module per provider: how its webhook is verified and parsed, as a
//! [`Provider`]; [`handle`] is the one handler that every route runs, from
//! the body limit to accepting the SMS (see [`crate::accept`]) and answering.

pub mod generic;
pub mod handle;
pub mod httpsms;
pub mod jasmin;
pub mod json;
pub mod plivo;
pub mod provider;
pub mod sms_gateway;
pub mod smsforwarder;
pub mod telnyx;
pub mod twilio;
pub mod vonage;

use axum::Router;
use axum::http::{HeaderMap, Uri};
use axum::routing::{any, post};

pub use provider::{Deliver, Parsed, Provider, Webhook};

use crate::accept::AppState;
use crate::error::IngestError;

/// The providers, each once: their routes and their names come from this list.
macro_rules! providers {
    ($($provider:ty),+ $(,)?) => {
        /// Every provider's name (`/webhooks/<name>`, the metrics label).
        pub const NAMES: &[&str] = &[$(<$provider as Provider>::NAME),+];

        /// Every provider route, under `/webhooks/<provider>`.
        pub fn routes() -> Router<AppState> {
            Router::new()
                $(.merge(route::<$provider>()))+
                .fallback(|| async {
                    let err = IngestError::NoRoute;
                    err.log(None);
                    err
                })
        }
    };
}

providers!(
    generic::Generic,
    twilio::Twilio,
    vonage::Vonage,
    telnyx::Telnyx,
    plivo::Plivo,
    sms_gateway::SmsGateway,
    httpsms::Httpsms,
    jasmin::Jasmin,
    smsforwarder::SmsForwarder,
);

/// `/webhooks/<P::NAME>` through [`handle::handle`]: `POST`, or any method
/// when the provider also calls with `GET`.
fn route<P: Provider>() -> Router<AppState> {
    let path = format!("/webhooks/{}", P::NAME);
    let method_router = if P::TAKES_GET {
        any(handle::handle::<P>)
    } else {
        post(handle::handle::<P>)
    };
    Router::new().route(&path, method_router)
}

/// The absolute URL the provider called: `ingest.public_url` + path and query
/// when configured (behind a proxy the local URL differs), else rebuilt from
/// `X-Forwarded-Proto` / `Host`.
pub fn public_url(settings: &config::IngestSettings, headers: &HeaderMap, uri: &Uri) -> String {
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let base = settings.public_url.trim_end_matches('/');
    if !base.is_empty() {
        return format!("{base}{path_and_query}");
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let scheme = header("x-forwarded-proto").unwrap_or("http");
    let host = header("x-forwarded-host")
        .or_else(|| header("host"))
        .unwrap_or("localhost");
    format!("{scheme}://{host}{path_and_query}")
}

/// Refuses a signed `timestamp` (Unix seconds) more than `tolerance_secs`
/// away from `now`. Called after the signature check, so the age of a forged
/// request tells nothing.
pub fn check_age(
    timestamp: i64,
    now: chrono::DateTime<chrono::Utc>,
    tolerance_secs: u64,
) -> Result<(), IngestError> {
    let age = now.timestamp().saturating_sub(timestamp).unsigned_abs();
    if age > tolerance_secs {
        return Err(IngestError::Unauthorized(format!(
            "timestamp is {age} s away from now; allowed: {tolerance_secs} s"
        )));
    }
    Ok(())
}

/// Form parameters in the order received (duplicates kept).
pub fn form_pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw).into_owned().collect()
}

/// The first value of `name` in `pairs`, or a 400 naming the field.
pub fn required<'a>(pairs: &'a [(String, String)], name: &str) -> Result<&'a str, IngestError> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| IngestError::BadRequest(format!("missing field `{name}`")))
}

/// The first value of `name` in `pairs`, if any.
pub fn optional<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
