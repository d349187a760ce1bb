//! The words around a number that say it is not a code: "order number is
//! 48291" before it, "1234 MB" after it.

use super::candidates::is_space;
use super::keywords::is_keyword;
use super::words::{
    CURRENCY_CODES, FILLER_WORDS, NUMBER_WORDS, REJECT_CJK_BEFORE, REJECT_SUFFIXES_BEFORE,
    REJECT_WORDS_AFTER, REJECT_WORDS_BEFORE,
};
use crate::text::{is_cjk, is_word_letter, lower};

/// Whether the words (or CJK phrase) right before `start` say the number
/// is not a code: "ending 1234", "Ref: 1234", "尾号1234", "order number is
/// 48291", "pedido nº 482910", "flight LH 1234"...
///
/// Looks back word by word: a code keyword ends the search (the number may
/// be a code), a reject word or a compound ending in "-nummer" rejects it,
/// a word meaning "number" rejects it unless a keyword precedes it, and
/// filler words ("is", "in", "de", "Nr", short upper-case designators such
/// as an airline's "LH") are skipped.
pub(super) fn word_before_rejects(chars: &[char], start: usize) -> bool {
    let mut i = start;
    for _ in 0..4 {
        let (word_start, word_end, after_period) = match previous_word(chars, i) {
            PreviousWord::Word {
                start,
                end,
                after_period,
            } => (start, end, after_period),
            PreviousWord::Cjk(phrase) => {
                return REJECT_CJK_BEFORE.iter().any(|w| phrase.ends_with(w));
            }
            PreviousWord::None => return false,
        };
        let original = chars.get(word_start..word_end).unwrap_or(&[]);
        let word = lower(original);
        // Across a full stop only abbreviations ("Nr.", "Rs.", "Tel.")
        // still describe the number.
        if after_period && original.len() > 4 {
            return false;
        }
        if CURRENCY_CODES.contains(&word.as_str())
            || REJECT_WORDS_BEFORE.contains(&word.as_str())
            || REJECT_SUFFIXES_BEFORE.iter().any(|x| word.ends_with(x))
                && !NUMBER_WORDS.contains(&word.as_str())
        {
            return true;
        }
        if is_keyword(&word, "") {
            return false;
        }
        if NUMBER_WORDS.contains(&word.as_str()) {
            return !matches!(
                previous_word(chars, word_start),
                PreviousWord::Word { start, end, .. }
                    if is_keyword(&lower(chars.get(start..end).unwrap_or(&[])), "")
            );
        }
        let designator = original.len() <= 3 && original.iter().all(char::is_ascii_uppercase);
        if FILLER_WORDS.contains(&word.as_str()) || designator {
            i = word_start;
            continue;
        }
        return false;
    }
    false
}

enum PreviousWord {
    /// A space-separated word at `start..end`; `after_period` if a full stop
    /// separates it from the position looked back from.
    Word {
        start: usize,
        end: usize,
        after_period: bool,
    },
    /// The run of CJK characters before the position.
    Cjk(String),
    None,
}

/// The word (or CJK phrase) before position `at`, skipping a few spaces and
/// punctuation marks such as ':' '.' '(' '-' '°' '#' '№'.
fn previous_word(chars: &[char], at: usize) -> PreviousWord {
    let mut i = at;
    let mut skipped = 0;
    let mut after_period = false;
    while i > 0 && skipped < 4 {
        match chars.get(i - 1) {
            Some(&c)
                if is_space(c)
                    || matches!(
                        c,
                        ':' | '：' | '.' | '\t' | '(' | '-' | '\u{3000}' | '°' | '#' | '№'
                    ) =>
            {
                after_period |= c == '.';
                i -= 1;
                skipped += 1;
            }
            _ => break,
        }
    }
    let word_end = i;
    match chars.get(word_end.wrapping_sub(1)) {
        Some(&c) if is_word_letter(c) || c == '/' => {
            let mut s = word_end;
            while s > 0
                && chars
                    .get(s - 1)
                    .is_some_and(|&c| is_word_letter(c) || c == '/')
            {
                s -= 1;
            }
            PreviousWord::Word {
                start: s,
                end: word_end,
                after_period,
            }
        }
        Some(&c) if is_cjk(c) => {
            let mut s = word_end;
            while s > 0
                && chars
                    .get(s - 1)
                    .is_some_and(|&c| is_cjk(c) && c.is_alphabetic())
            {
                s -= 1;
            }
            PreviousWord::Cjk(chars.get(s..word_end).unwrap_or(&[]).iter().collect())
        }
        _ => PreviousWord::None,
    }
}

/// Whether the word right after `end` says the number is not a code:
/// "1234 MB", "2500 INR", "1440 minutes".
pub(super) fn word_after_rejects(chars: &[char], end: usize) -> bool {
    let mut i = end;
    while i < end + 2 && chars.get(i).is_some_and(|&c| is_space(c)) {
        i += 1;
    }
    let mut e = i;
    while chars.get(e).is_some_and(|&c| is_word_letter(c)) {
        e += 1;
    }
    if e == i {
        return false;
    }
    let word = lower(chars.get(i..e).unwrap_or(&[]));
    CURRENCY_CODES.contains(&word.as_str()) || REJECT_WORDS_AFTER.contains(&word.as_str())
}
