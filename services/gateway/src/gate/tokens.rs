//! The gate's signed tokens: pass cookies (earned by solving or waiting,
//! bound to the visitor, expiring) and the no-JavaScript path's tickets.

use super::Gate;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PassKind {
    /// Earned by solving a challenge.
    Solved,
    /// Earned by waiting without JavaScript.
    Waited,
}

impl PassKind {
    pub(super) fn code(self) -> &'static str {
        match self {
            PassKind::Solved => "s",
            PassKind::Waited => "w",
        }
    }

    pub(super) fn from_code(code: &str) -> Option<Self> {
        match code {
            "s" => Some(PassKind::Solved),
            "w" => Some(PassKind::Waited),
            _ => None,
        }
    }
}

impl Gate {
    /// A pass for `visitor` until `expires` (unix seconds).
    pub(super) fn pass(&self, kind: PassKind, expires: u64, visitor: &str) -> String {
        let id = hex::encode(rand::random::<[u8; 8]>());
        let kind = kind.code();
        let expires = expires.to_string();
        let mac = self.keys.sign(&["pass", kind, &expires, &id, visitor]);
        format!("v1.{kind}.{expires}.{id}.{mac}")
    }

    /// The pass's id when `cookie` is a valid, unexpired pass of `visitor`.
    pub(super) fn check_pass(&self, cookie: &str, visitor: &str, now: u64) -> Option<String> {
        let mut parts = cookie.split('.');
        let (Some("v1"), Some(kind), Some(expires), Some(id), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let valid = self.keys.verify(&["pass", kind, expires, id, visitor], mac)
            && PassKind::from_code(kind).is_some()
            && expires.parse::<u64>().is_ok_and(|e| e > now);
        valid.then(|| id.to_owned())
    }

    /// A ticket a visitor without JavaScript can turn into a pass after the wait.
    pub(super) fn ticket(&self, issued: u64, visitor: &str) -> String {
        let nonce = hex::encode(rand::random::<[u8; 8]>());
        let issued = issued.to_string();
        let mac = self.keys.sign(&["ticket", &issued, &nonce, visitor]);
        format!("{issued}.{nonce}.{mac}")
    }

    /// The ticket's issue time and nonce when it is this visitor's.
    pub(super) fn check_ticket(&self, ticket: &str, visitor: &str) -> Option<(u64, String)> {
        let mut parts = ticket.split('.');
        let (Some(issued), Some(nonce), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if !self.keys.verify(&["ticket", issued, nonce, visitor], mac) {
            return None;
        }
        Some((issued.parse().ok()?, nonce.to_owned()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn gate() -> Gate {
        let mut settings = config::Settings::defaults().unwrap().gateway.gate;
        settings.pass_key = "test-pass-key".into();
        settings.captcha_url = String::new();
        Gate::new(&settings, crate::keys::Keys::new(&settings))
    }

    #[test]
    fn passes_are_bound_to_the_visitor_and_expire() {
        let gate = gate();
        let pass = gate.pass(PassKind::Solved, 1_000, "a".repeat(32).as_str());
        assert!(gate.check_pass(&pass, &"a".repeat(32), 999).is_some());
        assert!(gate.check_pass(&pass, &"a".repeat(32), 1_000).is_none());
        assert!(gate.check_pass(&pass, &"b".repeat(32), 999).is_none());
        // Another key, or any changed field, is refused.
        let mut other = config::Settings::defaults().unwrap().gateway.gate;
        other.pass_key = "another-key".into();
        other.captcha_url = String::new();
        assert!(
            Gate::new(&other, crate::keys::Keys::new(&other))
                .check_pass(&pass, &"a".repeat(32), 999)
                .is_none()
        );
        let longer = pass.replacen(".1000.", ".100000.", 1);
        assert!(gate.check_pass(&longer, &"a".repeat(32), 999).is_none());
        let kind = pass.replacen("v1.s.", "v1.w.", 1);
        assert!(gate.check_pass(&kind, &"a".repeat(32), 999).is_none());
        assert!(gate.check_pass("v1.s.1000", "", 0).is_none());
        assert!(gate.check_pass("", "", 0).is_none());
    }

    #[test]
    fn tickets_are_bound_to_the_visitor() {
        let gate = gate();
        let ticket = gate.ticket(500, "v");
        assert_eq!(gate.check_ticket(&ticket, "v").map(|t| t.0), Some(500));
        assert!(gate.check_ticket(&ticket, "w").is_none());
        assert!(
            gate.check_ticket(&ticket.replacen("500", "400", 1), "v")
                .is_none()
        );
    }
}
