//! Finding the verification code in the body of an SMS.
//!
//! The analysis runs on a `Vec<char>` so that positions are character
//! positions and no string is ever sliced inside a multi-byte character.
//!
//! It works in three passes, stopping at the first that yields a code:
//!
//! 1. the code closest to a keyword such as "code", "verify", "OTP", "PIN",
//!    "验证码", "код", "código", "senha", "clave", "TAN" or "인증": a 4–8
//!    digit number (optionally written `123-456` or `123 456`) within a few
//!    words, or an upper-case alphanumeric code mixing letters and digits
//!    (`X7K9P2`, Steam's `F7K2M`) right next to the keyword;
//! 2. if the message has a keyword, a code written as letters, a dash and
//!    digits, the way Google writes `G-123456` and Facebook `FB-12345`;
//! 3. the only plausible 4–8 digit code of the message, if there is exactly
//!    one and it is not a year or a round number.
//!
//! Numbers that are part of a phone number, a date, a time, an amount of
//! money, a measurement, a percentage, an order, parcel, flight or card
//! number, a `【...】` signature, a link or a longer number are never taken
//! for a code. A number is such a number when the words before it say so,
//! even with filler words in between ("order number is 48291", "pedido nº
//! 482910", "Bestellung Nr. 4829104", "flight LH 1234", "ending in 0123").

mod candidates;
mod keywords;
mod surroundings;
mod validity;
mod words;

pub use validity::validity;

use candidates::{alnum_candidates, candidates};
use keywords::{keywords, mentions_promo_code};

/// What a sign-up form accepts for `code`: the digits of a code written
/// with a letter prefix (Google's `G-717464` → `717464`, Facebook's
/// `FB-12345` → `12345`), any other code as it is. Pages show the code as
/// printed and copy this.
pub fn code_to_enter(code: &str) -> &str {
    match code.split_once('-') {
        Some((prefix, digits))
            if !prefix.is_empty()
                && prefix.chars().all(|c| c.is_ascii_alphabetic())
                && !digits.is_empty()
                && digits.chars().all(|c| c.is_ascii_digit()) =>
        {
            digits
        }
        _ => code,
    }
}

/// Shortest code, in digits.
const MIN_LEN: usize = 4;
/// Longest code, in digits.
const MAX_LEN: usize = 8;
/// How far (in characters) a digit code may be from a keyword in the first
/// pass.
const KEYWORD_WINDOW: usize = 60;
/// How far (in characters) an alphanumeric code may be from a keyword: such
/// codes are only trusted right next to one.
const ALNUM_WINDOW: usize = 24;
/// Length bounds of an alphanumeric code.
const ALNUM_MIN_LEN: usize = 4;
const ALNUM_MAX_LEN: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Only digits (a split code has had its separator removed).
    Digits,
    /// Letters, a dash and digits, as printed: `G-123456`.
    Prefixed,
    /// Upper-case letters and digits mixed: `X7K9P2`.
    Alnum,
}

impl Kind {
    /// How far from a keyword a candidate of this kind is trusted in the
    /// first pass.
    fn window(self) -> Option<usize> {
        match self {
            Kind::Digits => Some(KEYWORD_WINDOW),
            Kind::Alnum => Some(ALNUM_WINDOW),
            Kind::Prefixed => None,
        }
    }
}

#[derive(Clone, Debug)]
struct Candidate {
    /// First character (inclusive).
    start: usize,
    /// Last character (exclusive).
    end: usize,
    value: String,
    kind: Kind,
}

/// Finds the verification code in the body of an SMS.
///
/// Prefers a 4–8 digit code next to a keyword ("code", "verification",
/// "OTP", "PIN", "验证码", "código", "senha", "код", "TAN", ...) or an
/// upper-case alphanumeric code right by one (`X7K9P2`); a code written in
/// two halves (`123-456`, `123 456`) is returned without the separator.
/// Falls back to a letters-dash-digits code such as Google's `G-123456`
/// (returned as printed), then to the only plausible 4–8 digit number in
/// the message. Phone numbers, dates, times, amounts, percentages,
/// measurements, card, order and parcel numbers and longer numbers are
/// ignored.
///
/// Returns `None` when no code is found or the message is ambiguous.
///
/// ```
/// use domain::extract_code;
/// assert_eq!(extract_code("Your WhatsApp code: 123-456").as_deref(), Some("123456"));
/// assert_eq!(extract_code("【腾讯科技】验证码：839201，5分钟内有效").as_deref(), Some("839201"));
/// assert_eq!(extract_code("Your Steam Guard code: F7K2M").as_deref(), Some("F7K2M"));
/// assert_eq!(extract_code("Your balance is $1234.56"), None);
/// assert_eq!(extract_code("Tu pedido 482910 ha sido enviado"), None);
/// ```
pub fn extract_code(body: &str) -> Option<String> {
    let chars: Vec<char> = body.chars().collect();
    let mut candidates = candidates(&chars);
    candidates.extend(alnum_candidates(&chars));
    let keywords = keywords(&chars);

    if let Some(found) = nearest(&candidates, &keywords, |kind| kind.window()) {
        return Some(found.value.clone());
    }
    if let Some(found) = nearest(&candidates, &keywords, |kind| {
        (kind == Kind::Prefixed).then_some(usize::MAX)
    }) {
        return Some(found.value.clone());
    }

    // A lone number in a message about a discount code is that code, not
    // a verification code.
    if mentions_promo_code(&chars) {
        return None;
    }
    let mut lone: Vec<&str> = candidates
        .iter()
        .filter(|c| c.kind == Kind::Digits && !looks_like_year(&c.value) && !is_round(&c.value))
        .map(|c| c.value.as_str())
        .collect();
    lone.sort_unstable();
    lone.dedup();
    match lone.as_slice() {
        [only] => Some((*only).to_owned()),
        _ => None,
    }
}

/// The candidate closest to any keyword, among the kinds for which `window`
/// gives a maximum distance (in characters). Ties go to a candidate after
/// its keyword, then to the earlier one.
fn nearest<'a>(
    candidates: &'a [Candidate],
    keywords: &[(usize, usize)],
    window: impl Fn(Kind) -> Option<usize>,
) -> Option<&'a Candidate> {
    let keywords = KeywordIndex::new(keywords);
    candidates
        .iter()
        .filter_map(|c| {
            let limit = window(c.kind)?;
            keywords
                .closest(c.start, c.end)
                .filter(|(distance, _)| *distance <= limit)
                .map(|(distance, side)| ((distance, side, c.start), c))
        })
        .min_by_key(|(key, _)| *key)
        .map(|(_, c)| c)
}

/// Keyword spans sorted by start and by end, so the keyword nearest a
/// candidate is found by binary search: a long message can hold thousands of
/// keywords and candidates, and comparing every pair took quadratic time
/// (60 ms for 60 KB of "code 1234 ", on every render of the message).
struct KeywordIndex {
    starts: Vec<usize>,
    ends: Vec<usize>,
}

impl KeywordIndex {
    fn new(keywords: &[(usize, usize)]) -> Self {
        debug_assert!(keywords.iter().all(|&(start, end)| start < end));
        let mut starts: Vec<usize> = keywords.iter().map(|&(start, _)| start).collect();
        let mut ends: Vec<usize> = keywords.iter().map(|&(_, end)| end).collect();
        starts.sort_unstable();
        ends.sort_unstable();
        Self { starts, ends }
    }

    /// The smallest `(distance, side)` from the candidate `start..end` to a
    /// keyword: `(gap, 0)` for a keyword before it, `(gap, 1)` for one after
    /// it, `(0, 0)` for one overlapping it; `None` without keywords.
    fn closest(&self, start: usize, end: usize) -> Option<(usize, u8)> {
        // Keywords ending by `start` lie before, those starting from `end`
        // after (a keyword is never both); any other overlaps.
        let before = self.ends.partition_point(|&e| e <= start);
        let after_from = self.starts.partition_point(|&s| s < end);
        if before + (self.starts.len() - after_from) < self.starts.len() {
            return Some((0, 0));
        }
        let nearest_before = before
            .checked_sub(1)
            .and_then(|i| self.ends.get(i))
            .map(|&e| (start - e, 0u8));
        let nearest_after = self.starts.get(after_from).map(|&s| (s - end, 1u8));
        nearest_before.into_iter().chain(nearest_after).min()
    }
}

/// `1900`–`2099`: in a message without keywords, more likely a year.
fn looks_like_year(value: &str) -> bool {
    value.len() == 4 && (value.starts_with("19") || value.starts_with("20"))
}

/// `1000`, `1500`, `25000`: in a message without keywords, more likely a
/// count or an amount in a marketing text.
fn is_round(value: &str) -> bool {
    value.ends_with("00")
}

#[cfg(test)]
mod tests;
