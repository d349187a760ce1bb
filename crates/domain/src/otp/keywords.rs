//! Where a message announces a code: keywords such as "code", "verify" or
//! "验证码", and the promotional codes that are not verification codes.

use super::words::{
    KEYWORD_PREFIXES, KEYWORD_SUFFIXES, KEYWORDS_CJK, KEYWORDS_EXACT, NOT_BEFORE_CODE,
    NOT_KEYWORDS, PROMO_CODE_WORDS,
};
use crate::text::{find_all, is_cjk, is_word_letter, lower};

/// Positions `(start, end)` of every keyword in the message.
pub(super) fn keywords(chars: &[char]) -> Vec<(usize, usize)> {
    let words = words(chars);
    let mut found: Vec<(usize, usize)> = words
        .iter()
        .enumerate()
        .filter(|(n, (_, _, word))| {
            let previous = n
                .checked_sub(1)
                .and_then(|p| words.get(p))
                .map_or("", |(_, _, w)| w.as_str());
            is_keyword(word, previous) && !is_promo_code_at(&words, *n)
        })
        .map(|(_, &(start, end, _))| (start, end))
        .collect();

    // Every CJK keyword is CJK throughout: a text without a CJK character
    // (most of them) holds none.
    if !chars.iter().any(|&c| is_cjk(c)) {
        return found;
    }
    for needle in KEYWORDS_CJK {
        let needle: Vec<char> = needle.chars().collect();
        for at in find_all(chars, &needle, false) {
            found.push((at, at + needle.len()));
        }
    }
    found
}

/// Every space-separated word of the message, lower-cased, with its
/// position.
fn words(chars: &[char]) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars.get(i).is_some_and(|&c| is_word_letter(c)) {
            i += 1;
            continue;
        }
        let start = i;
        while chars.get(i).is_some_and(|&c| is_word_letter(c)) {
            i += 1;
        }
        out.push((start, i, lower(chars.get(start..i).unwrap_or(&[]))));
    }
    out
}

/// Whether word `n` names a promotional code: "promocode", "Rabattcode",
/// "promo code", "código de descuento".
fn is_promo_code_at(words: &[(usize, usize, String)], n: usize) -> bool {
    let word = |k: usize| words.get(k).map(|(_, _, w)| w.as_str());
    let Some(this) = word(n) else {
        return false;
    };
    let code_word = matches!(this, "code" | "codes" | "código" | "codigo" | "códigos");
    let promo_before = n
        .checked_sub(1)
        .and_then(word)
        .is_some_and(|w| NOT_BEFORE_CODE.contains(&w));
    let promo_after = word(n + 1).is_some_and(|w| matches!(w, "de" | "du"))
        && word(n + 2).is_some_and(|w| NOT_BEFORE_CODE.contains(&w));
    PROMO_CODE_WORDS.contains(&this) || (code_word && (promo_before || promo_after))
}

/// Whether the message speaks of a promotional code.
pub(super) fn mentions_promo_code(chars: &[char]) -> bool {
    let words = words(chars);
    (0..words.len()).any(|n| is_promo_code_at(&words, n))
}

pub(super) fn is_keyword(word: &str, previous_word: &str) -> bool {
    if NOT_KEYWORDS.contains(&word) {
        return false;
    }
    let announces = KEYWORDS_EXACT.contains(&word)
        || KEYWORD_PREFIXES.iter().any(|p| word.starts_with(p))
        || KEYWORD_SUFFIXES.iter().any(|s| word.ends_with(s));
    let spoilt = (word == "code" || word == "codes") && NOT_BEFORE_CODE.contains(&previous_word);
    announces && !spoilt
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `keywords` looks for the CJK keywords only in texts with a CJK
    /// character: that holds while each is CJK throughout.
    #[test]
    fn cjk_keywords_are_cjk_throughout() {
        for keyword in KEYWORDS_CJK {
            assert!(keyword.chars().all(is_cjk), "{keyword}");
        }
        let text: Vec<char> = "您的验证码是 889900".chars().collect();
        assert_eq!(keywords(&text), vec![(2, 4)]);
    }
}
