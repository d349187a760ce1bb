//! The numbers and tokens of a message that could be a code: 4–8 digit
//! numbers that are not part of a longer written number, letters-dash-digits
//! codes such as `G-123456`, and upper-case alphanumeric codes.

use super::surroundings::{word_after_rejects, word_before_rejects};
use super::words::{CURRENCY, REJECT_CJK_AFTER};
use super::{ALNUM_MAX_LEN, ALNUM_MIN_LEN, Candidate, Kind, MAX_LEN, MIN_LEN};
use crate::text::{is_cjk, is_word_char, is_word_letter};

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

pub(super) fn is_space(c: char) -> bool {
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
pub(super) fn candidates(chars: &[char]) -> Vec<Candidate> {
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

/// Upper-case alphanumeric codes such as `X7K9P2`, `F7K2M`, `29KX7T`:
/// 4–10 ASCII capitals and digits, with at least one of each, switching
/// between letters and digits at least twice (so that words with a number
/// glued on, such as `SAVE20` or `WELCOME50`, are left out), standing
/// alone (not part of a link, an e-mail address or a longer token).
pub(super) fn alnum_candidates(chars: &[char]) -> Vec<Candidate> {
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
