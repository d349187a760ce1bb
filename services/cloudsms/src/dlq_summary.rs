//! The line `cloudsms dlq list` prints for a dead letter's payload.

use bus::{DeadLetter, Event};
use bytes::Bytes;
use proto::events::v1::{
    CaptchaEvent, CaptchaEvents, CrashReported, RequestLogged, RequestsLogged, SmsReceived,
};

/// A dead letter's payload decoded by the event type its subject names,
/// reduced to a line an operator can read: identifiers, counts and at most
/// 64 characters of any text, escaped ([`domain::log_safe`]), never a body
/// in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Protobuf message name (`SmsReceived`), or `unknown` when no event
    /// type has this subject.
    pub kind: &'static str,
    /// The line.
    pub text: String,
}

fn is<E: Event>(subject: &str) -> bool {
    bus::subject_matches(E::subject_filter(), subject)
}

fn decoded<E: Event>(payload: &Bytes, line: impl FnOnce(E) -> String) -> String {
    match E::decode(payload.clone()) {
        Ok(event) => line(event),
        Err(err) => format!("undecodable: {err}"),
    }
}

/// Hostile text quoted: escaped, clipped, its quotes escaped too.
fn safe(text: &str) -> String {
    format!("\"{}\"", domain::log_safe(text).replace('"', "\\\""))
}

/// What `dead`'s payload is, decoded by the type its subject names.
pub fn summarise(dead: &DeadLetter) -> Summary {
    let (subject, payload) = (dead.subject.as_str(), &dead.payload);
    let (kind, text) = if is::<SmsReceived>(subject) {
        let text = decoded(payload, |e: SmsReceived| {
            format!(
                "provider={} id={} to={} from={} text={} ({} chars)",
                safe(&e.provider),
                safe(&e.provider_message_id),
                safe(&e.to),
                safe(&e.from),
                safe(&e.body),
                e.body.chars().count()
            )
        });
        ("SmsReceived", text)
    } else if is::<RequestsLogged>(subject) {
        let text = decoded(payload, |e: RequestsLogged| {
            format!("batch={} requests={}", safe(&e.batch_id), e.requests.len())
        });
        ("RequestsLogged", text)
    } else if is::<RequestLogged>(subject) {
        let text = decoded(payload, |e: RequestLogged| {
            format!(
                "event={} {} {} {}",
                safe(&e.event_id),
                safe(&e.method),
                safe(&e.path),
                e.status
            )
        });
        ("RequestLogged", text)
    } else if is::<CrashReported>(subject) {
        let text = decoded(payload, |e: CrashReported| {
            format!(
                "event={} page={} message={}",
                safe(&e.event_id),
                safe(&e.page),
                safe(&e.message)
            )
        });
        ("CrashReported", text)
    } else if is::<CaptchaEvents>(subject) {
        let text = decoded(payload, |e: CaptchaEvents| {
            format!("batch={} events={}", safe(&e.batch_id), e.events.len())
        });
        ("CaptchaEvents", text)
    } else if is::<CaptchaEvent>(subject) {
        let text = decoded(payload, |e: CaptchaEvent| {
            format!(
                "event={} outcome={} site={}",
                safe(&e.event_id),
                e.outcome().as_str_name(),
                safe(&e.site_key)
            )
        });
        ("CaptchaEvent", text)
    } else {
        ("unknown", format!("{} bytes", payload.len()))
    };
    Summary { kind, text }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashMap;

    use prost::Message as _;

    use super::*;

    fn dead(payload: Vec<u8>) -> DeadLetter {
        DeadLetter {
            seq: 1,
            subject: "sms.received.au.61491570156".into(),
            reason: None,
            time: std::time::SystemTime::now(),
            headers: HashMap::new(),
            payload: Bytes::from(payload),
        }
    }

    #[test]
    fn sms_text_is_escaped_and_clipped_never_printed_whole() {
        assert!(
            summarise(&dead(b"\xff\xff".to_vec()))
                .text
                .starts_with("undecodable")
        );
        let event = SmsReceived {
            provider: "generic".into(),
            provider_message_id: "m-1".into(),
            to: "+61491570156".into(),
            from: "Bank\u{1b}[31m".into(),
            body: format!("code 123456 {}", "x".repeat(500)),
            ..Default::default()
        };
        let summary = summarise(&dead(event.encode_to_vec()));
        assert_eq!(summary.kind, "SmsReceived");
        assert!(summary.text.contains("code 123456"), "{}", summary.text);
        assert!(
            !summary.text.contains('\u{1b}'),
            "escaped: {}",
            summary.text
        );
        assert!(
            summary.text.contains(r#"from="Bank\u{1b}[31m""#),
            "{}",
            summary.text
        );
        assert!(summary.text.len() < 300, "clipped: {}", summary.text);
    }

    #[test]
    fn unknown_subjects_are_counted_in_bytes() {
        let mut letter = dead(vec![1, 2, 3]);
        letter.subject = "other.thing".into();
        assert_eq!(
            summarise(&letter),
            Summary {
                kind: "unknown",
                text: "3 bytes".into()
            }
        );
    }
}
