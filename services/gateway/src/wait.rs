//! The number page's "wait for my code" control (`templates/number_wait.html`,
//! `static/wait.js`): the services and senders a visitor can wait for, and
//! the script that watches the live messages for them.

use proto::events::v1::MessageStored;

use crate::assets;

/// Choices offered at most (besides "any code").
const MAX_CHOICES: usize = 30;

/// What the control needs: its choices and its script's URL.
pub struct WaitControl {
    /// Services and senders of this number's recent messages, the most
    /// recent first, each once (case-insensitively).
    pub choices: Vec<String>,
    /// `/static/wait.<hash>.js`.
    pub script: String,
}

impl WaitControl {
    /// From the page's messages (newest first: their services, then their
    /// senders) and the number's recent senders.
    pub fn new(messages: &[MessageStored], senders: &[String]) -> Self {
        let mut choices: Vec<String> = Vec::new();
        let named = messages
            .iter()
            .flat_map(|m| [m.service.as_str(), m.from.as_str()])
            .chain(senders.iter().map(String::as_str));
        for name in named {
            let name = name.trim();
            if choices.len() >= MAX_CHOICES {
                break;
            }
            if !name.is_empty() && !choices.iter().any(|c| c.eq_ignore_ascii_case(name)) {
                choices.push(name.to_owned());
            }
        }
        Self {
            choices,
            script: assets::url("wait.js"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(from: &str, service: &str) -> MessageStored {
        MessageStored {
            from: from.into(),
            service: service.into(),
            ..Default::default()
        }
    }

    #[test]
    fn choices_are_services_and_senders_once_newest_first() {
        let messages = [
            message("+15550100", "WhatsApp"),
            message("WHATSAPP", ""),
            message("Google", "Google"),
        ];
        let senders = ["google".to_owned(), "Bank".to_owned(), " ".to_owned()];
        let control = WaitControl::new(&messages, &senders);
        assert_eq!(control.choices, ["WhatsApp", "+15550100", "Google", "Bank"]);
        assert!(
            control.script.starts_with("/static/wait."),
            "{}",
            control.script
        );
    }
}
