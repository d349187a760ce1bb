//! Which services' names a message body may contain, found in one pass:
//! two Aho-Corasick automatons over the body (the names matched ignoring
//! case over its lower-cased characters, the others over the body as
//! written). `by_mention`'s word-by-word checks then run for those names
//! only, instead of every name of every service over the whole body (which
//! was most of the persister's time per message).
//!
//! A prefilter: every name that `by_mention` finds is among the candidates.
//! Its case-insensitive match compares characters by their lower-cased
//! forms, so a match's lower-cased characters spell the lower-cased name,
//! a substring of the lower-cased body.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use super::services::SERVICES;

/// One name of one service: (index in `SERVICES`, index in its list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Name {
    /// `body_words`, matched ignoring case.
    Word(usize, usize),
    /// `body_words_exact_case`.
    ExactWord(usize, usize),
    /// `cjk_names`.
    Cjk(usize, usize),
}

/// The names that may occur in a body.
pub(super) enum Candidates {
    /// Any name (the automatons could not be built).
    All,
    /// Only these.
    Only(Vec<Name>),
}

impl Candidates {
    /// Whether `name` may occur.
    pub(super) fn has(&self, name: Name) -> bool {
        match self {
            Self::All => true,
            Self::Only(names) => names.contains(&name),
        }
    }
}

/// Lower-cases character by character, as the matching does (no
/// word-final sigma, unlike `str::to_lowercase`).
fn folded(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

struct Automatons {
    folded: AhoCorasick,
    folded_names: Vec<Name>,
    exact: AhoCorasick,
    exact_names: Vec<Name>,
}

static AUTOMATONS: LazyLock<Option<Automatons>> = LazyLock::new(|| {
    let mut folded_patterns = Vec::new();
    let mut folded_names = Vec::new();
    let mut exact_patterns = Vec::new();
    let mut exact_names = Vec::new();
    for (s, service) in SERVICES.iter().enumerate() {
        for (w, word) in service.body_words.iter().enumerate() {
            folded_patterns.push(folded(word));
            folded_names.push(Name::Word(s, w));
        }
        for (w, word) in service.body_words_exact_case.iter().enumerate() {
            exact_patterns.push((*word).to_owned());
            exact_names.push(Name::ExactWord(s, w));
        }
        for (w, name) in service.cjk_names.iter().enumerate() {
            exact_patterns.push((*name).to_owned());
            exact_names.push(Name::Cjk(s, w));
        }
    }
    Some(Automatons {
        folded: AhoCorasick::new(&folded_patterns).ok()?,
        folded_names,
        exact: AhoCorasick::new(&exact_patterns).ok()?,
        exact_names,
    })
});

/// The names `body` may contain.
pub(super) fn candidates(body: &str) -> Candidates {
    let Some(automatons) = AUTOMATONS.as_ref() else {
        return Candidates::All;
    };
    let mut names = Vec::new();
    let mut add = |name: Name| {
        if !names.contains(&name) {
            names.push(name);
        }
    };
    for found in automatons.folded.find_overlapping_iter(&folded(body)) {
        if let Some(&name) = automatons.folded_names.get(found.pattern().as_usize()) {
            add(name);
        }
    }
    for found in automatons.exact.find_overlapping_iter(body) {
        if let Some(&name) = automatons.exact_names.get(found.pattern().as_usize()) {
            add(name);
        }
    }
    Candidates::Only(names)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn service(name: &str) -> usize {
        SERVICES.iter().position(|s| s.name == name).unwrap()
    }

    #[test]
    fn names_in_any_case_and_script_are_candidates_and_others_are_not() {
        let google = service("Google");
        let found = candidates("Your GOOGLE verification code is 123456");
        assert!(found.has(Name::Word(google, 0)));
        assert!(!found.has(Name::Word(service("WhatsApp"), 0)));
        let wechat = service("WeChat");
        let found = candidates("【微信】验证码：123456");
        let cjk = SERVICES[wechat]
            .cjk_names
            .iter()
            .position(|n| *n == "微信")
            .unwrap();
        assert!(found.has(Name::Cjk(wechat, cjk)));
        assert!(matches!(candidates("hello 123456"), Candidates::Only(n) if n.is_empty()));
    }

    #[test]
    fn the_prefilter_finds_what_a_search_of_every_name_finds() {
        // Case folding beyond ASCII (Turkish dotted I, final sigma, the
        // Kelvin sign), names at the edges, repeats, and a miss.
        for body in [
            "Use 123456 to verify your TELEGRAM account",
            "İnstagram kodunuz: 123456",
            "ΚΩΔΙΚΟΣ Viber: 4411",
            "\u{212A}akaoTalk code 5512",
            "whatsapp",
            "Signal: 1234 — not signal, Signal",
            "Grab a friend. Zoom in. Your Steam Guard code is F4K3",
            "【支付宝】验证码 123456，淘宝 too",
            "nothing to see here 42",
            "",
        ] {
            assert_eq!(
                super::super::mention_among(body, &candidates(body)),
                super::super::mention_among(body, &Candidates::All),
                "{body}"
            );
        }
    }
}
