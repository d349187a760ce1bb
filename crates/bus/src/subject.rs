/// NATS subject matching: `*` matches one token, `>` the rest (one or more).
pub fn subject_matches(filter: &str, subject: &str) -> bool {
    let mut subject_tokens = subject.split('.');
    for token in filter.split('.') {
        match (token, subject_tokens.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (want, Some(got)) if want == got => {}
            _ => return false,
        }
    }
    subject_tokens.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::subject_matches;

    #[test]
    fn wildcards_match_like_nats() {
        assert!(subject_matches("sms.received.>", "sms.received.us.1415"));
        assert!(!subject_matches("sms.received.>", "sms.received"));
        assert!(subject_matches("sms.*.us.>", "sms.received.us.1"));
        assert!(!subject_matches("sms.*", "sms.received.us"));
        assert!(subject_matches("logs.request", "logs.request"));
        assert!(!subject_matches("logs.request", "logs.requests"));
    }
}
