//! What pages and the API show of a message, built in one place.

use chrono::{DateTime, Utc};
use proto::events::v1::MessageStored;
use serde::Serialize;

/// A message as the JSON API and live updates carry it.
#[derive(Debug, Clone, Serialize)]
pub struct MessageJson {
    /// Stable id (also the SSE event id).
    pub id: i64,
    /// Receiving number, E.164.
    pub number: String,
    /// Sender as the provider gave it.
    pub from: String,
    /// Text, as received (escape it when rendering).
    pub body: String,
    /// Arrival time, RFC 3339 UTC.
    pub received_at: String,
    /// The verification code found in the text when it was stored, if any.
    pub code: Option<String>,
    /// What to type or paste for the code: without a letter prefix
    /// (`G-717464` → `717464`), else the code itself.
    pub code_to_enter: Option<String>,
    /// When the code stops being valid (RFC 3339 UTC), where the text says
    /// how long it is valid.
    pub code_expires_at: Option<String>,
    /// The service recognised from sender and text when it was stored, if
    /// any and unless the sender names it already.
    pub service: Option<String>,
}

/// Arrival time of a message (now when missing).
pub fn received_at(message: &MessageStored) -> DateTime<Utc> {
    message
        .received_at
        .as_ref()
        .and_then(|t| DateTime::from_timestamp_millis(proto::timestamp_to_unix_millis(t)))
        .unwrap_or_else(Utc::now)
}

/// Whether `message` may be shown now: the one rule of
/// [`store::Cutoffs::oldest_shown`] (its number's period, else
/// `messages.keep_days`), for what the gateway reads from the hot lists
/// and the bus rather than the database (which filters itself).
pub fn within_period(cutoffs: &store::Cutoffs, message: &MessageStored) -> bool {
    cutoffs.shows(&message.number, received_at(message))
}

impl MessageJson {
    /// From the bus / cache form: code and service as stored, never
    /// extracted again here (that cost ~2 µs per character and view).
    /// The text is masked by `masking` (`gateway.masking`).
    pub fn from_event(message: &MessageStored, masking: &crate::masking::Masking) -> Self {
        Self {
            id: message.id,
            number: message.number.clone(),
            from: message.from.clone(),
            body: masking.apply(&message.body).into_owned(),
            received_at: received_at(message).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            code: code_of(message),
            code_to_enter: code_to_enter_of(message),
            code_expires_at: code_expires_at(message)
                .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            service: service_of(message),
        }
    }
}

/// The stored code of `message`, if any. An event from before the field
/// (a hot list filled by an older version) shows none until the list is
/// refilled (`cache.fill_ttl_secs`).
pub fn code_of(message: &MessageStored) -> Option<String> {
    Some(&message.code).filter(|c| !c.is_empty()).cloned()
}

/// What to type for the stored code of `message` (`G-717464` → `717464`).
pub fn code_to_enter_of(message: &MessageStored) -> Option<String> {
    Some(message.code.as_str())
        .filter(|c| !c.is_empty())
        .map(|c| domain::otp::code_to_enter(c).to_owned())
}

/// When the stored code of `message` stops being valid, where its text
/// says how long it is (`code_valid_secs`, found when it was stored).
pub fn code_expires_at(message: &MessageStored) -> Option<DateTime<Utc>> {
    if message.code.is_empty() || message.code_valid_secs == 0 {
        return None;
    }
    received_at(message).checked_add_signed(chrono::Duration::seconds(i64::from(
        message.code_valid_secs,
    )))
}

/// The stored service of `message`, unless the sender already says it
/// ("Google" from "GOOGLE"): a comparison, cheap at view time.
pub fn service_of(message: &MessageStored) -> Option<String> {
    Some(&message.service)
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case(message.from.trim()))
        .cloned()
}

/// The cursor after `message`, for "older messages".
pub fn cursor_after(message: &MessageStored) -> store::Cursor {
    store::Cursor {
        received_at: received_at(message),
        id: message.id,
    }
}
