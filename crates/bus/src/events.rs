use proto::events::v1::{
    AdminActionLogged, CaptchaEvent, CaptchaEvents, CrashReported, MessageHidden, MessageStored,
    NumberRegistered, NumberRetired, RequestLogged, RequestsLogged, SmsReceived,
};

/// The JetStream streams of cloudsms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    /// Received SMS, `sms.received.>`.
    Sms,
    /// Server logs, crash reports and captcha events, `logs.>`.
    Logs,
    /// Messages no handler could process, `dlq.>`.
    DeadLetter,
}

impl StreamKind {
    /// Every stream, for creation at start-up.
    pub const ALL: [StreamKind; 3] = [StreamKind::Sms, StreamKind::Logs, StreamKind::DeadLetter];

    /// Stream name with the installation prefix (`prefix` ends with '.').
    pub fn stream_name(self, prefix: &str) -> String {
        let base = match self {
            StreamKind::Sms => "SMS",
            StreamKind::Logs => "LOGS",
            StreamKind::DeadLetter => "DLQ",
        };
        let p = prefix.trim_end_matches('.').to_ascii_uppercase();
        if p.is_empty() {
            base.to_owned()
        } else {
            format!("{p}_{base}")
        }
    }

    /// Subjects the stream captures, without the installation prefix: the
    /// filter of a consumer that takes everything in it.
    pub fn filter(self) -> &'static str {
        match self {
            StreamKind::Sms => "sms.received.>",
            StreamKind::Logs => "logs.>",
            StreamKind::DeadLetter => "dlq.>",
        }
    }

    /// Subjects the stream captures, with the installation prefix.
    pub fn subjects(self, prefix: &str) -> String {
        format!("{prefix}{}", self.filter())
    }
}

/// How an event travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Stored in a JetStream stream, consumed by durable consumers.
    Stream(StreamKind),
    /// Fanned out to live subscribers only (core NATS).
    Broadcast,
}

/// A protobuf message that travels on the bus.
pub trait Event: prost::Message + Default + Send + Sync + 'static {
    /// Stream or broadcast.
    const ROUTE: Route;
    /// First tokens of the subject, shared by every event of this type.
    fn subject_root() -> &'static str;
    /// Subject pattern matching every event of this type.
    fn subject_filter() -> &'static str;
    /// Full subject (without installation prefix).
    fn subject(&self) -> String;
    /// `Nats-Msg-Id`: repeats within the duplicate window are dropped.
    fn dedupe_id(&self) -> Option<String> {
        None
    }
    /// Whether `subject` (without installation prefix) carries this type.
    fn matches(subject: &str) -> bool {
        crate::subject_matches(Self::subject_filter(), subject)
    }
}

/// Subject-safe token: keeps `[a-z0-9]`, the rest becomes '_'.
fn token(raw: &str) -> String {
    let t: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if t.is_empty() { "_".into() } else { t }
}

fn digits(e164: &str) -> String {
    token(e164.trim_start_matches('+'))
}

impl Event for SmsReceived {
    const ROUTE: Route = Route::Stream(StreamKind::Sms);
    fn subject_root() -> &'static str {
        "sms.received"
    }
    fn subject_filter() -> &'static str {
        "sms.received.>"
    }
    fn subject(&self) -> String {
        let country = if self.country.is_empty() {
            "xx".to_owned()
        } else {
            token(&self.country)
        };
        format!("sms.received.{country}.{}", digits(&self.to))
    }
    fn dedupe_id(&self) -> Option<String> {
        Some(format!("{}:{}", self.provider, self.provider_message_id))
    }
}

impl Event for MessageStored {
    const ROUTE: Route = Route::Broadcast;
    fn subject_root() -> &'static str {
        "sms.stored"
    }
    fn subject_filter() -> &'static str {
        "sms.stored.>"
    }
    fn subject(&self) -> String {
        format!("sms.stored.{}", digits(&self.number))
    }
}

impl Event for RequestsLogged {
    const ROUTE: Route = Route::Stream(StreamKind::Logs);
    fn subject_root() -> &'static str {
        "logs.requests"
    }
    fn subject_filter() -> &'static str {
        "logs.requests"
    }
    fn subject(&self) -> String {
        "logs.requests".into()
    }
    fn dedupe_id(&self) -> Option<String> {
        Some(self.batch_id.clone())
    }
}

impl Event for RequestLogged {
    const ROUTE: Route = Route::Stream(StreamKind::Logs);
    fn subject_root() -> &'static str {
        "logs.request"
    }
    fn subject_filter() -> &'static str {
        "logs.request"
    }
    fn subject(&self) -> String {
        "logs.request".into()
    }
    fn dedupe_id(&self) -> Option<String> {
        Some(self.event_id.clone())
    }
}

impl Event for CrashReported {
    const ROUTE: Route = Route::Stream(StreamKind::Logs);
    fn subject_root() -> &'static str {
        "logs.crash"
    }
    fn subject_filter() -> &'static str {
        "logs.crash"
    }
    fn subject(&self) -> String {
        "logs.crash".into()
    }
    fn dedupe_id(&self) -> Option<String> {
        Some(self.event_id.clone())
    }
}

impl Event for CaptchaEvent {
    const ROUTE: Route = Route::Stream(StreamKind::Logs);
    fn subject_root() -> &'static str {
        "logs.captcha"
    }
    fn subject_filter() -> &'static str {
        "logs.captcha"
    }
    fn subject(&self) -> String {
        "logs.captcha".into()
    }
    fn dedupe_id(&self) -> Option<String> {
        Some(self.event_id.clone())
    }
}

impl Event for CaptchaEvents {
    const ROUTE: Route = Route::Stream(StreamKind::Logs);
    fn subject_root() -> &'static str {
        "logs.captchas"
    }
    fn subject_filter() -> &'static str {
        "logs.captchas"
    }
    fn subject(&self) -> String {
        "logs.captchas".into()
    }
    fn dedupe_id(&self) -> Option<String> {
        Some(self.batch_id.clone())
    }
}

impl Event for NumberRegistered {
    const ROUTE: Route = Route::Broadcast;
    fn subject_root() -> &'static str {
        "numbers.registered"
    }
    fn subject_filter() -> &'static str {
        "numbers.registered.>"
    }
    fn subject(&self) -> String {
        format!("numbers.registered.{}", digits(&self.e164))
    }
}

impl Event for NumberRetired {
    const ROUTE: Route = Route::Broadcast;
    fn subject_root() -> &'static str {
        "numbers.retired"
    }
    fn subject_filter() -> &'static str {
        "numbers.retired.>"
    }
    fn subject(&self) -> String {
        format!("numbers.retired.{}", digits(&self.e164))
    }
}

impl Event for MessageHidden {
    const ROUTE: Route = Route::Broadcast;
    fn subject_root() -> &'static str {
        "sms.hidden"
    }
    fn subject_filter() -> &'static str {
        "sms.hidden.>"
    }
    fn subject(&self) -> String {
        format!("sms.hidden.{}", digits(&self.number))
    }
}

impl Event for AdminActionLogged {
    const ROUTE: Route = Route::Stream(StreamKind::Logs);
    fn subject_root() -> &'static str {
        "logs.admin"
    }
    fn subject_filter() -> &'static str {
        "logs.admin"
    }
    fn subject(&self) -> String {
        "logs.admin".into()
    }
    fn dedupe_id(&self) -> Option<String> {
        Some(self.event_id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sms_subject_names_its_country_and_number() {
        let mut sms = SmsReceived {
            to: "+61491570156".into(),
            country: "AU".into(),
            ..Default::default()
        };
        assert_eq!(sms.subject(), "sms.received.au.61491570156");
        assert!(SmsReceived::matches(&sms.subject()));
        assert!(!RequestLogged::matches(&sms.subject()));
        // From a sender that does not set the country.
        sms.country.clear();
        assert_eq!(sms.subject(), "sms.received.xx.61491570156");
        // Hostile text cannot add tokens or wildcards.
        sms.country = "a.>".into();
        sms.to = "+1 *.9".into();
        assert_eq!(sms.subject(), "sms.received.a__.1___9");
    }

    #[test]
    fn each_log_event_matches_only_its_own_subject() {
        let request = RequestLogged::default().subject();
        let batch = RequestsLogged::default().subject();
        assert!(RequestLogged::matches(&request) && !RequestLogged::matches(&batch));
        assert!(RequestsLogged::matches(&batch) && !RequestsLogged::matches(&request));
        assert!(crate::subject_matches(StreamKind::Logs.filter(), &request));
        assert_eq!(StreamKind::Logs.subjects("t1."), "t1.logs.>");
    }

    #[test]
    fn operator_events_have_their_own_subjects() {
        let registered = NumberRegistered {
            e164: "+447700900461".into(),
            ..Default::default()
        };
        let retired = NumberRetired {
            e164: "+447700900461".into(),
            ..Default::default()
        };
        let hidden = MessageHidden {
            number: "+447700900461".into(),
            ..Default::default()
        };
        assert_eq!(registered.subject(), "numbers.registered.447700900461");
        assert!(NumberRegistered::matches(&registered.subject()));
        assert!(!NumberRegistered::matches(&retired.subject()));
        assert!(NumberRetired::matches(&retired.subject()));
        assert_eq!(hidden.subject(), "sms.hidden.447700900461");
        assert!(!MessageStored::matches(&hidden.subject()));
        // Not captured by the SMS stream, which holds `sms.received.>` only.
        assert!(!crate::subject_matches(
            StreamKind::Sms.filter(),
            &hidden.subject()
        ));
        let audit = AdminActionLogged::default().subject();
        assert!(crate::subject_matches(StreamKind::Logs.filter(), &audit));
        assert!(!RequestLogged::matches(&audit));
    }
}
