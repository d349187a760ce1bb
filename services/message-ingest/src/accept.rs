//! What every provider route does once it has verified and parsed an SMS.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use bus::Bus;
use chrono::{DateTime, Utc};
use domain::E164;
use proto::events::v1::SmsReceived;
use store::{Registration, Store};

use crate::error::IngestError;

/// Shared state of the webhook routes: one pointer, cheap to clone per request.
pub type AppState = Arc<Shared>;

/// What [`AppState`] points at.
pub struct Shared {
    /// Validated settings.
    pub settings: Arc<config::Settings>,
    /// Where accepted SMS go.
    pub bus: Bus,
    /// Number registry.
    pub store: Store,
    /// The registry's answers, remembered for `ingest.registry_cache_ms`.
    pub registry: Arc<store::Registry>,
    /// The cache every replica shares (single-use claims of signatures that
    /// do not cover the message, see `providers::smsforwarder`).
    pub cache: Arc<dyn cache::HotCache>,
}

impl Shared {
    /// State from the process's infrastructure.
    /// Its registry follows the operators' number changes on the bus (see
    /// [`crate::follow`]) for as long as the state lives.
    pub fn new(infra: &platform::Infra) -> AppState {
        let registry = Arc::new(store::Registry::new(
            std::time::Duration::from_millis(infra.settings.ingest.registry_cache_ms),
            false,
        ));
        crate::follow::spawn(infra.bus.clone(), &registry);
        Arc::new(Shared {
            settings: infra.settings.clone(),
            bus: infra.bus.clone(),
            store: infra.store.clone(),
            registry,
            cache: infra.cache.clone(),
        })
    }
}

/// An SMS as a provider described it, before normalisation.
#[derive(Debug, Clone)]
pub struct InboundSms {
    /// Provider route name.
    pub provider: &'static str,
    /// Provider's message id.
    pub provider_message_id: String,
    /// Receiving number as sent.
    pub to: String,
    /// Sender as sent.
    pub from: String,
    /// Text.
    pub body: String,
    /// Arrival time, when the provider says.
    pub received_at: Option<DateTime<Utc>>,
    /// Segments, when the provider says.
    pub segments: u32,
}

/// Result of accepting an SMS.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// Our event id.
    pub event_id: String,
    /// The bus had already accepted this provider message id.
    pub duplicate: bool,
}

/// Longest provider message id we store.
const MAX_ID_LEN: usize = 128;
/// Longest sender we store.
const MAX_SENDER_LEN: usize = 64;
/// Longest text we accept, in characters: above the longest SMS there is,
/// 255 concatenated segments of 153 GSM-7 characters (39,015; UCS-2 texts
/// are shorter, 255 × 67). Counted in characters, as SMS lengths are and as
/// the code finder's cost grows; a request's bytes are bounded apart, by
/// `ingest.max_body_bytes`. Documented in docs/providers.md.
pub const MAX_BODY_CHARS: usize = 40_000;

/// `text` without the characters no store accepts (U+0000, see
/// [`domain::storable_text`]), everything else byte for byte; the same
/// allocation when nothing had to go.
pub fn storable(text: String) -> String {
    if matches!(domain::storable_text(&text), Cow::Borrowed(_)) {
        text
    } else {
        domain::storable_text(&text).into_owned()
    }
}

/// Validates `sms`, checks the number is registered, publishes `SmsReceived`
/// and returns once the bus acknowledged it. The text it stores (id, sender,
/// body) is [`storable`]: what no store accepts is dropped here, so one
/// sender's U+0000 never reaches the database.
pub async fn accept(state: &AppState, sms: InboundSms) -> Result<Accepted, IngestError> {
    let id = storable(sms.provider_message_id);
    let id = id.trim();
    if id.is_empty() || id.chars().count() > MAX_ID_LEN {
        return Err(IngestError::BadRequest(format!(
            "id: must be 1 to {MAX_ID_LEN} characters"
        )));
    }
    let from = storable(sms.from);
    let from = from.trim();
    if from.is_empty() || from.chars().count() > MAX_SENDER_LEN {
        return Err(IngestError::BadRequest(format!(
            "from: must be 1 to {MAX_SENDER_LEN} characters"
        )));
    }
    // Every character takes a byte at least: a shorter text needs no count.
    if sms.body.len() > MAX_BODY_CHARS && sms.body.chars().count() > MAX_BODY_CHARS {
        return Err(IngestError::BadRequest(format!(
            "body: must be at most {MAX_BODY_CHARS} characters"
        )));
    }
    let to = E164::parse(&sms.to).map_err(|e| IngestError::Unprocessable(format!("to: {e}")))?;
    let registered = state
        .registry
        .lookup(&state.store, to.as_str())
        .await
        .map_err(|e| IngestError::Unavailable(format!("number registry unavailable: {e}")))?;
    match registered {
        Registration::Active => {}
        Registration::Retired => {
            return Err(IngestError::Unprocessable(format!(
                "to: {to} is retired and no longer receives messages"
            )));
        }
        Registration::Unknown if state.settings.ingest.auto_register_numbers => {
            state
                .store
                .add_number(&to, "auto-registered")
                .await
                .map_err(|e| {
                    IngestError::Unavailable(format!("number registry unavailable: {e}"))
                })?;
            state.registry.remember(to.as_str(), Registration::Active);
            tracing::info!(country = to.country().iso2, "number auto-registered");
        }
        Registration::Unknown => {
            return Err(IngestError::Unprocessable(format!(
                "to: {to} is not a number of this site"
            )));
        }
    }
    let now = Utc::now();
    let event = SmsReceived {
        event_id: uuid::Uuid::now_v7().to_string(),
        provider: sms.provider.to_owned(),
        provider_message_id: id.to_owned(),
        to: to.as_str().to_owned(),
        from: from.to_owned(),
        body: storable(sms.body),
        received_at: Some(proto::timestamp_from_unix_millis(
            sms.received_at.unwrap_or(now).timestamp_millis(),
        )),
        accepted_at: Some(proto::timestamp_from_unix_millis(now.timestamp_millis())),
        segments: sms.segments,
        country: to.country().iso2.to_owned(),
    };
    // A stream leader election acknowledges nothing for a few seconds: the
    // provider is answered 503 only once the publish has failed that long
    // (every try with the same Nats-Msg-Id, so stored once).
    let budget = Duration::from_secs(state.settings.ingest.publish_retry_secs);
    let published = state
        .bus
        .publish_within(&event, budget)
        .await
        .map_err(|e| {
            IngestError::Unavailable(format!("message bus unavailable, retry later ({e})"))
        })?;
    if published.duplicate {
        tracing::info!(provider = sms.provider, "provider retry dropped by dedupe");
    }
    Ok(Accepted {
        event_id: event.event_id,
        duplicate: published.duplicate,
    })
}

/// Infrastructure for unit tests: an in-process bus and cache and a
/// throw-away SQLite database (removed with the returned directory), with
/// `toml` over the default settings.
#[cfg(test)]
pub(crate) async fn test_infra(toml: &str) -> (platform::Infra, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let toml = format!("data_dir = {:?}\n{toml}", dir.path().display().to_string());
    let settings = config::Settings::from_toml_overrides(&toml).expect("valid test settings");
    let infra = platform::Infra::connect(settings)
        .await
        .expect("in-process infrastructure");
    (infra, dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storable_text_keeps_its_allocation_when_clean() {
        let clean = String::from("验证码 123456\r\n");
        let at = clean.as_ptr();
        let kept = storable(clean);
        assert_eq!(kept.as_ptr(), at);
        assert_eq!(storable("hello\0world\0".into()), "helloworld");
    }
}
