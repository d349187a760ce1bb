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

use crate::text::{find_all, is_cjk, is_word_char, is_word_letter, lower};

mod words;

use words::{
    CURRENCY, FILLER_WORDS, KEYWORD_PREFIXES, KEYWORD_SUFFIXES, KEYWORDS_CJK, KEYWORDS_EXACT,
    NOT_BEFORE_CODE, NOT_KEYWORDS, NUMBER_WORDS, PROMO_CODE_WORDS, REJECT_CJK_AFTER,
    REJECT_CJK_BEFORE, REJECT_SUFFIXES_BEFORE, REJECT_WORDS_AFTER, REJECT_WORDS_BEFORE,
};

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

/// Maximal runs of ASCII digits as `(start, end)`.
fn digit_runs(chars: &[char]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, c) in chars.iter().enumerate() {
        match (c.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, chars.len()));
    }
    runs
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\u{00A0}' | '\u{2009}' | '\u{202F}')
}

/// Whether two digit runs separated by `gap` belong to one written number
/// (phone number, date, time, amount, ...). `prev_len` and `next_len` are
/// the lengths of the runs, `after_next` the character after the second run.
fn joins(gap: &[char], prev_len: usize, next_len: usize, after_next: Option<char>) -> bool {
    let parenthesis_or_dash = |c: char| matches!(c, '(' | ')' | '-' | '–');
    match gap {
        [','] => {
            // Thousands grouping, or a decimal comma before cents that are
            // not followed by a CJK unit ("123456,5分钟" is a code and a
            // duration, not an amount).
            (prev_len <= 3 && next_len == 3) || (next_len == 2 && !after_next.is_some_and(is_cjk))
        }
        [c] => is_space(*c) || matches!(c, '-' | '–' | '.' | '/' | ':' | '(' | ')'),
        [a, b] => {
            (parenthesis_or_dash(*a) || parenthesis_or_dash(*b))
                && [*a, *b]
                    .iter()
                    .all(|&c| is_space(c) || parenthesis_or_dash(c) || c == '.')
        }
        _ => false,
    }
}

/// Every 4–8 digit number that could be a code, after ruling out numbers
/// that are plainly something else.
fn candidates(chars: &[char]) -> Vec<Candidate> {
    let runs = digit_runs(chars);

    // Group runs that form one written number.
    let mut clusters: Vec<Vec<(usize, usize)>> = Vec::new();
    for (i, &run) in runs.iter().enumerate() {
        let joined = match (
            clusters.last_mut(),
            i.checked_sub(1).and_then(|p| runs.get(p)),
        ) {
            (Some(cluster), Some(&(ps, pe))) => {
                let gap = chars.get(pe..run.0).unwrap_or(&[]);
                if joins(gap, pe - ps, run.1 - run.0, chars.get(run.1).copied()) {
                    cluster.push(run);
                    true
                } else {
                    false
                }
            }
            _ => false,
        };
        if !joined {
            clusters.push(vec![run]);
        }
    }

    let mut out = Vec::new();
    for cluster in &clusters {
        let (start, end, value) = match cluster.as_slice() {
            [(s, e)] if (MIN_LEN..=MAX_LEN).contains(&(e - s)) => (
                *s,
                *e,
                chars.get(*s..*e).unwrap_or(&[]).iter().collect::<String>(),
            ),
            [(s1, e1), (s2, e2)]
                if e1 - s1 == 3
                    && e2 - s2 == 3
                    && s2 - e1 == 1
                    && chars.get(*e1).is_some_and(|&c| c == '-' || is_space(c)) =>
            {
                let first = chars.get(*s1..*e1).unwrap_or(&[]);
                let second = chars.get(*s2..*e2).unwrap_or(&[]);
                let value: String = first.iter().chain(second).collect();
                (*s1, *e2, value)
            }
            _ => continue,
        };
        let single_run = cluster.len() == 1;
        if let Some(candidate) = judge(chars, start, end, value, single_run) {
            out.push(candidate);
        }
    }
    out
}

/// Decides from the surroundings whether the number at `start..end` may be
/// a code, and of which kind.
fn judge(
    chars: &[char],
    start: usize,
    end: usize,
    value: String,
    single_run: bool,
) -> Option<Candidate> {
    let at = |i: Option<usize>| i.and_then(|i| chars.get(i)).copied();
    let before = at(start.checked_sub(1));
    let after = at(Some(end));

    // Glued to letters: part of an identifier such as "ABC1234" or "v1234a".
    if before.is_some_and(is_word_letter) || after.is_some_and(is_word_letter) {
        return None;
    }
    // Phone numbers, order numbers, links, e-mail addresses, percentages.
    let bad_neighbour = |c: char| {
        matches!(
            c,
            '+' | '#' | '№' | '/' | '\\' | '@' | '_' | '%' | '‰' | '&' | '*' | '^' | '~'
        ) || CURRENCY.contains(&c)
            || c.is_numeric()
    };
    if before.is_some_and(bad_neighbour) || after.is_some_and(bad_neighbour) {
        return None;
    }
    // The signature of a Chinese message: "【12306】".
    if before == Some('【') && after == Some('】') {
        return None;
    }
    // Currency or unit one space away: "$ 1234", "1234 €", "1234 元".
    let before_spaced = before
        .filter(|&c| is_space(c))
        .and_then(|_| at(start.checked_sub(2)));
    let after_spaced = after
        .filter(|&c| is_space(c))
        .and_then(|_| at(Some(end + 1)));
    if before_spaced.is_some_and(|c| CURRENCY.contains(&c) || c == '+')
        || after_spaced.is_some_and(|c| CURRENCY.contains(&c) || REJECT_CJK_AFTER.contains(&c))
        || after.is_some_and(|c| REJECT_CJK_AFTER.contains(&c))
    {
        return None;
    }

    if before == Some('-') || before == Some('–') {
        // "G-123456" as Google writes it, or part of something like
        // "ref-12345" / "COVID-19".
        let dash = start.saturating_sub(1);
        let letters_end = dash;
        let mut letters_start = letters_end;
        while letters_start > 0 && at(Some(letters_start - 1)).is_some_and(is_word_letter) {
            letters_start -= 1;
        }
        let letters = chars.get(letters_start..letters_end).unwrap_or(&[]);
        if !letters.is_empty() {
            let prefixed = single_run
                && (1..=3).contains(&letters.len())
                && letters.iter().all(char::is_ascii_uppercase)
                && !at(letters_start.checked_sub(1)).is_some_and(is_word_char);
            if !prefixed {
                return None;
            }
            let mut printed: String = letters.iter().collect();
            printed.push('-');
            printed.push_str(&value);
            return Some(Candidate {
                start: letters_start,
                end,
                value: printed,
                kind: Kind::Prefixed,
            });
        }
    }

    if word_before_rejects(chars, start) || word_after_rejects(chars, end) {
        return None;
    }
    Some(Candidate {
        start,
        end,
        value,
        kind: Kind::Digits,
    })
}

/// Whether the words (or CJK phrase) right before `start` say the number
/// is not a code: "ending 1234", "Ref: 1234", "尾号1234", "order number is
/// 48291", "pedido nº 482910", "flight LH 1234"...
///
/// Looks back word by word: a code keyword ends the search (the number may
/// be a code), a reject word or a compound ending in "-nummer" rejects it,
/// a word meaning "number" rejects it unless a keyword precedes it, and
/// filler words ("is", "in", "de", "Nr", short upper-case designators such
/// as an airline's "LH") are skipped.
fn word_before_rejects(chars: &[char], start: usize) -> bool {
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
        if REJECT_WORDS_BEFORE.contains(&word.as_str())
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

/// Upper-case alphanumeric codes such as `X7K9P2`, `F7K2M`, `29KX7T`:
/// 4–10 ASCII capitals and digits, with at least one of each, switching
/// between letters and digits at least twice (so that words with a number
/// glued on, such as `SAVE20` or `WELCOME50`, are left out), standing
/// alone (not part of a link, an e-mail address or a longer token).
fn alnum_candidates(chars: &[char]) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars.get(i).is_some_and(char::is_ascii_alphanumeric) {
            i += 1;
            continue;
        }
        let start = i;
        while chars.get(i).is_some_and(char::is_ascii_alphanumeric) {
            i += 1;
        }
        let end = i;
        let token = chars.get(start..end).unwrap_or(&[]);
        if is_alnum_code(token) && alone(chars, start, end) {
            out.push(Candidate {
                start,
                end,
                value: token.iter().collect(),
                kind: Kind::Alnum,
            });
        }
    }
    out
}

fn is_alnum_code(token: &[char]) -> bool {
    let shape_ok = (ALNUM_MIN_LEN..=ALNUM_MAX_LEN).contains(&token.len())
        && token
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && token.iter().any(char::is_ascii_digit)
        && token.iter().any(char::is_ascii_uppercase);
    let switches = token
        .windows(2)
        .filter(|pair| match pair {
            [a, b] => a.is_ascii_digit() != b.is_ascii_digit(),
            _ => false,
        })
        .count();
    shape_ok && switches >= 2
}

/// Whether the token at `start..end` stands on its own.
fn alone(chars: &[char], start: usize, end: usize) -> bool {
    let glue = |c: char| {
        is_word_char(c)
            || matches!(
                c,
                '/' | '\\' | '@' | '_' | '-' | '–' | '#' | '=' | '&' | '?' | '+' | '%' | '*' | '.'
            )
    };
    let before_ok = start
        .checked_sub(1)
        .and_then(|i| chars.get(i))
        .is_none_or(|&c| !glue(c));
    let after_ok = match chars.get(end) {
        None => true,
        // A full stop ends the sentence unless a word follows it ("AB12.com").
        Some('.') => !chars.get(end + 1).is_some_and(|&c| is_word_char(c)),
        Some(&c) => !glue(c),
    };
    before_ok && after_ok
}

/// Whether the word right after `end` says the number is not a code:
/// "1234 MB", "2500 INR", "1440 minutes".
fn word_after_rejects(chars: &[char], end: usize) -> bool {
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
    REJECT_WORDS_AFTER.contains(&word.as_str())
}

/// Positions `(start, end)` of every keyword in the message.
fn keywords(chars: &[char]) -> Vec<(usize, usize)> {
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
fn mentions_promo_code(chars: &[char]) -> bool {
    let words = words(chars);
    (0..words.len()).any(|n| is_promo_code_at(&words, n))
}

fn is_keyword(word: &str, previous_word: &str) -> bool {
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
mod tests;
