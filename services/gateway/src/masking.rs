//! Masking rules (`gateway.masking`): matches of the operator's regular
//! expressions in a message's text are replaced before any visitor sees
//! it: the number page, `/latest`, card previews, the report form, the
//! Atom feed, the JSON API and live updates (SSE) all show
//! [`Masking::apply`]'s text. The stored text is kept; the operator
//! console shows it. The verification code was found in the stored text
//! when the message arrived and is shown as found, even when a rule masks
//! its digits in the text (the code is what visitors come for; a rule that
//! should hide it must be about the text around it, e.g. a card number).

use std::borrow::Cow;
use std::sync::Arc;

use regex::Regex;

/// The compiled rules, in order; cheap to clone.
#[derive(Clone, Default)]
pub struct Masking(Arc<Vec<(Regex, String)>>);

impl std::fmt::Debug for Masking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Masking").field(&self.0.len()).finish()
    }
}

impl Masking {
    /// The rules compiled once (the configuration checked that they
    /// compile; one that does not is left out and logged).
    pub fn new(rules: &[config::MaskingRule]) -> Self {
        let compiled = rules
            .iter()
            .filter_map(|rule| match rule.compile() {
                Ok(regex) => Some((regex, rule.replacement.clone())),
                Err(err) => {
                    tracing::error!(rule = %rule.name, %err, "masking rule left out");
                    None
                }
            })
            .collect();
        Self(Arc::new(compiled))
    }

    /// `body` as visitors see it: every rule's matches replaced, in order;
    /// borrowed as it is when nothing matched.
    pub fn apply<'a>(&self, body: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(body);
        for (regex, replacement) in self.0.iter() {
            if let Cow::Owned(masked) = regex.replace_all(&text, replacement.as_str()) {
                text = Cow::Owned(masked);
            }
        }
        text
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn example() -> Masking {
        Masking::new(&[
            config::MaskingRule {
                name: "cards".into(),
                pattern: r"\b(?:\d[ -]?){12,15}(\d{4})\b".into(),
                replacement: "•••• $1".into(),
            },
            config::MaskingRule {
                name: "email".into(),
                pattern: r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}".into(),
                replacement: "[e-mail hidden]".into(),
            },
        ])
    }

    #[test]
    fn cards_and_addresses_are_masked_codes_are_not() {
        let masking = example();
        assert_eq!(
            masking.apply("Card 4111 1111 1111 1234 charged; receipt to ann@example.org"),
            "Card •••• 1234 charged; receipt to [e-mail hidden]"
        );
        assert!(matches!(
            masking.apply("Your code is 123456"),
            Cow::Borrowed("Your code is 123456")
        ));
        assert_eq!(
            Masking::default().apply("ann@example.org"),
            "ann@example.org"
        );
    }
}
