//! `gateway.masking`: regular expressions whose matches in a message's
//! text are replaced before a visitor sees it. Checked at load: a pattern
//! that does not compile, or compiles too big, is refused naming the rule.

use serde::{Deserialize, Serialize};

use crate::ConfigError;
use crate::validate::invalid;

/// Most rules.
pub const MAX_RULES: usize = 32;
/// Longest pattern, in characters.
pub const MAX_PATTERN_CHARS: usize = 1000;
/// Longest replacement, in characters.
pub const MAX_REPLACEMENT_CHARS: usize = 200;
/// Largest compiled program of one rule, in bytes (the regex crate's
/// `size_limit`): bounds memory and the time to compile.
pub const MAX_COMPILED_BYTES: usize = 256 * 1024;

/// One masking rule.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MaskingRule {
    /// What it masks, for people (`cards`, `email`).
    pub name: String,
    /// A regular expression (the regex crate's syntax: no look-around or
    /// back-references, matching in linear time).
    pub pattern: String,
    /// What each match becomes; `$1` or `${name}` insert a capture group.
    pub replacement: String,
}

impl MaskingRule {
    /// The rule's compiled pattern, within [`MAX_COMPILED_BYTES`].
    pub fn compile(&self) -> Result<regex::Regex, regex::Error> {
        regex::RegexBuilder::new(&self.pattern)
            .size_limit(MAX_COMPILED_BYTES)
            .dfa_size_limit(MAX_COMPILED_BYTES)
            .build()
    }
}

/// Every rule named, bounded and compiling.
pub(crate) fn validate(rules: &[MaskingRule]) -> Result<(), ConfigError> {
    const KEY: &str = "gateway.masking";
    if rules.len() > MAX_RULES {
        return Err(invalid(KEY, format!("at most {MAX_RULES} rules")));
    }
    for (i, rule) in rules.iter().enumerate() {
        let name = &rule.name;
        if name.trim().is_empty() || name.chars().count() > 64 {
            return Err(invalid(
                KEY,
                format!("rule {}: name must be 1 to 64 characters", i + 1),
            ));
        }
        if rule.pattern.is_empty() || rule.pattern.chars().count() > MAX_PATTERN_CHARS {
            return Err(invalid(
                KEY,
                format!("rule {name:?}: pattern must be 1 to {MAX_PATTERN_CHARS} characters"),
            ));
        }
        if rule.replacement.chars().count() > MAX_REPLACEMENT_CHARS {
            return Err(invalid(
                KEY,
                format!(
                    "rule {name:?}: replacement is longer than {MAX_REPLACEMENT_CHARS} characters"
                ),
            ));
        }
        let regex = rule
            .compile()
            .map_err(|err| invalid(KEY, format!("rule {name:?}: pattern: {err}")))?;
        if regex.is_match("") {
            return Err(invalid(
                KEY,
                format!(
                    "rule {name:?}: pattern matches the empty text (it would mask between every character)"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rule(name: &str, pattern: &str) -> MaskingRule {
        MaskingRule {
            name: name.into(),
            pattern: pattern.into(),
            replacement: "x".into(),
        }
    }

    #[test]
    fn bad_rules_are_refused_naming_the_key_and_rule() {
        assert!(validate(&[rule("email", r"[a-z]+@[a-z]+\.[a-z]{2,}")]).is_ok());
        for (bad, says) in [
            (rule("cards", r"(\d{4"), "rule \"cards\": pattern"),
            (rule("", "a"), "rule 1: name"),
            (rule("empty", "a*"), "empty text"),
            (rule("huge", r"\w{1000}\w{1000}\w{1000}"), "rule \"huge\""),
            (rule("long", &"a".repeat(1001)), "1 to 1000"),
        ] {
            let err = validate(&[bad]).unwrap_err().to_string();
            assert!(err.contains("gateway.masking"), "{err}");
            assert!(err.contains(says), "{err}");
        }
        let many: Vec<MaskingRule> = (0..33).map(|i| rule(&i.to_string(), "a")).collect();
        assert!(validate(&many).is_err());
    }
}
