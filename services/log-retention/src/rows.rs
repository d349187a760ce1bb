//! A log event decoded into the row its table keeps ([`LogRow`]): the
//! conversions from the LOGS stream's events, with their caps on text.

use chrono::{DateTime, Utc};
use proto::events::v1::{
    AdminActionLogged, CaptchaEvent, CaptchaOutcome, CrashReported, DeviceClass, RequestLogged,
    RouteKind,
};
use sea_orm::{EntityTrait, Iterable, ModelTrait, Value};

use crate::entities::{access_log, captcha_event, crash_report};
use crate::logstore::AuditRow;
use crate::schema::{KEY_COLUMNS, Kind};

/// What a `RequestLogged` carries for the statistics only (not kept in
/// `access_log`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestExtra {
    /// `utm_source` of the query string.
    pub utm_source: String,
    /// Host the request was addressed to.
    pub host: String,
    /// What the gateway's route serves (unspecified from older gateways).
    pub route_kind: RouteKind,
    /// The number the route names, in E.164 (at most 16 characters).
    pub number: String,
}

/// A decoded log event, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogRow {
    /// A request (and what the statistics need besides the log row).
    Request(access_log::Model, RequestExtra),
    /// A crash report.
    Crash(crash_report::Model),
    /// A captcha step.
    Captcha(captcha_event::Model),
}

impl LogRow {
    /// Which table.
    pub fn kind(&self) -> Kind {
        match self {
            LogRow::Request(..) => Kind::Request,
            LogRow::Crash(_) => Kind::Crash,
            LogRow::Captcha(_) => Kind::Captcha,
        }
    }

    /// Event time.
    pub fn ts(&self) -> DateTime<Utc> {
        match self {
            LogRow::Request(m, _) => m.ts,
            LogRow::Crash(m) => m.ts,
            LogRow::Captcha(m) => m.ts,
        }
    }

    /// Event id.
    pub fn event_id(&self) -> &str {
        match self {
            LogRow::Request(m, _) => &m.event_id,
            LogRow::Crash(m) => &m.event_id,
            LogRow::Captcha(m) => &m.event_id,
        }
    }

    /// Values after `event_id` and `ts`, in [`Kind::columns`] order (the
    /// entities declare their columns in table order: see `schema`'s tests).
    pub(crate) fn values(&self) -> Vec<Value> {
        match self {
            LogRow::Request(m, _) => values_after_key(m),
            LogRow::Crash(m) => values_after_key(m),
            LogRow::Captcha(m) => values_after_key(m),
        }
    }
}

/// The values of `model`'s columns after [`KEY_COLUMNS`], in declaration order.
fn values_after_key<M: ModelTrait>(model: &M) -> Vec<Value> {
    <M::Entity as EntityTrait>::Column::iter()
        .skip(KEY_COLUMNS.len())
        .map(|column| model.get(column))
        .collect()
}

/// Text fields are capped so a hostile client cannot bloat the log.
const MAX_TEXT: usize = 2048;

fn cap(text: String) -> String {
    cap_bytes(text, MAX_TEXT)
}

/// `text` without NUL, cut to at most `max` bytes on a character boundary.
pub(crate) fn cap_bytes(mut text: String, max: usize) -> String {
    // Postgres refuses NUL in text; one such event must not block a batch.
    if text.contains('\0') {
        text = text.replace('\0', "");
    }
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text
}

fn ts_of(ts: Option<&proto::Timestamp>, fallback: DateTime<Utc>) -> DateTime<Utc> {
    ts.and_then(|t| DateTime::from_timestamp_millis(proto::timestamp_to_unix_millis(t)))
        .unwrap_or(fallback)
}

fn device_class(raw: i32) -> &'static str {
    match DeviceClass::try_from(raw) {
        Ok(DeviceClass::Desktop) => "desktop",
        Ok(DeviceClass::Mobile) => "mobile",
        Ok(DeviceClass::Tablet) => "tablet",
        Ok(DeviceClass::Bot) => "bot",
        _ => "unspecified",
    }
}

fn outcome(raw: i32) -> &'static str {
    match CaptchaOutcome::try_from(raw) {
        Ok(CaptchaOutcome::Issued) => "issued",
        Ok(CaptchaOutcome::Solved) => "solved",
        Ok(CaptchaOutcome::Failed) => "failed",
        Ok(CaptchaOutcome::Verified) => "verified",
        Ok(CaptchaOutcome::Replayed) => "replayed",
        _ => "unspecified",
    }
}

impl LogRow {
    /// From a `RequestLogged`; `now` stands in for a missing timestamp.
    pub fn from_request(e: RequestLogged, now: DateTime<Utc>) -> Self {
        let extra = RequestExtra {
            utm_source: e.utm_source.chars().take(64).collect(),
            host: e.host.chars().take(255).collect(),
            // A kind this release does not know yet counts as unspecified.
            route_kind: RouteKind::try_from(e.route_kind).unwrap_or_default(),
            number: e.number.chars().take(16).collect(),
        };
        LogRow::Request(
            access_log::Model {
                ts: ts_of(e.ts.as_ref(), now),
                event_id: cap(e.event_id),
                visitor_id: cap(e.visitor_id),
                ip: cap(e.ip),
                method: cap(e.method),
                path: cap(e.path),
                status: i64::from(e.status),
                latency_us: i64::from(e.latency_us),
                referrer: cap(e.referrer),
                browser_family: cap(e.browser_family),
                browser_version: cap(e.browser_version),
                os_family: cap(e.os_family),
                device_class: device_class(e.device_class).to_owned(),
                language: cap(e.language),
                trace_id: cap(e.trace_id),
            },
            extra,
        )
    }

    /// From a `CrashReported`.
    pub fn from_crash(e: CrashReported, now: DateTime<Utc>) -> Self {
        LogRow::Crash(crash_report::Model {
            ts: ts_of(e.ts.as_ref(), now),
            event_id: cap(e.event_id),
            visitor_id: cap(e.visitor_id),
            page: cap(e.page),
            message: cap(e.message),
            source: cap(e.source),
            line: i64::from(e.line),
            column: i64::from(e.column),
            stack: cap(e.stack),
            browser_family: cap(e.browser_family),
            os_family: cap(e.os_family),
        })
    }

    /// From a `CaptchaEvent`.
    pub fn from_captcha(e: CaptchaEvent, now: DateTime<Utc>) -> Self {
        LogRow::Captcha(captcha_event::Model {
            ts: ts_of(e.ts.as_ref(), now),
            event_id: cap(e.event_id),
            visitor_id: cap(e.visitor_id),
            ip: cap(e.ip),
            outcome: outcome(e.outcome).to_owned(),
            max_number: i64::try_from(e.max_number).unwrap_or(i64::MAX),
            site_key: cap(e.site_key),
        })
    }
}

impl AuditRow {
    /// From an `AdminActionLogged`; `now` stands in for a missing timestamp.
    pub fn from_event(e: AdminActionLogged, now: DateTime<Utc>) -> Self {
        AuditRow {
            ts: ts_of(e.ts.as_ref(), now),
            event_id: cap(e.event_id),
            operator: cap(e.operator),
            action: cap(e.action),
            target: cap(e.target),
            detail: cap(e.detail),
            trace_id: cap(e.trace_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_capped_on_a_char_boundary() {
        let text = "é".repeat(MAX_TEXT);
        let capped = cap(text);
        assert!(capped.len() <= MAX_TEXT);
        assert!(capped.chars().all(|c| c == 'é'));
    }

    #[test]
    fn value_lists_match_the_column_lists() {
        let now = Utc::now();
        for row in [
            LogRow::from_request(RequestLogged::default(), now),
            LogRow::from_crash(CrashReported::default(), now),
            LogRow::from_captcha(CaptchaEvent::default(), now),
        ] {
            row.kind().spec().assert_fits(&row.values());
            assert_eq!(row.ts(), now);
        }
    }
}
