//! Small character helpers shared by the message analysers.
//!
//! Everything here works on `char` slices so that no code ever slices a
//! `str` at a byte offset that might fall inside a multi-byte character.

/// Whether `c` belongs to a script written without spaces between words
/// (Chinese, Japanese kana, Korean Hangul) or is a full-width form. Such
/// characters never glue to Latin letters or digits to form one word.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(
        c,
        '\u{1100}'..='\u{11FF}'
            | '\u{2E80}'..='\u{2FDF}'
            | '\u{3000}'..='\u{303F}'
            | '\u{3040}'..='\u{30FF}'
            | '\u{3100}'..='\u{318F}'
            | '\u{31A0}'..='\u{31FF}'
            | '\u{3400}'..='\u{4DBF}'
            | '\u{4E00}'..='\u{9FFF}'
            | '\u{AC00}'..='\u{D7AF}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{FE30}'..='\u{FE4F}'
            | '\u{FF00}'..='\u{FFEF}'
            | '\u{20000}'..='\u{2FA1F}'
    )
}

/// A letter of a script that separates words with spaces (Latin, Cyrillic,
/// Greek, ...).
pub(crate) fn is_word_letter(c: char) -> bool {
    c.is_alphabetic() && !is_cjk(c)
}

/// A character that continues a space-separated word: a letter or any
/// digit, CJK excluded.
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

/// Case-insensitive comparison of two characters (full Unicode lower-casing,
/// compared character by character so positions never shift).
pub(crate) fn chars_eq_ci(a: char, b: char) -> bool {
    a == b || a.eq_ignore_ascii_case(&b) || a.to_lowercase().eq(b.to_lowercase())
}

/// Whether `needle` occurs in `hay` at position `at`.
pub(crate) fn matches_at(hay: &[char], at: usize, needle: &[char], ci: bool) -> bool {
    match hay.get(at..).and_then(|rest| rest.get(..needle.len())) {
        Some(window) => window
            .iter()
            .zip(needle)
            .all(|(&h, &n)| if ci { chars_eq_ci(h, n) } else { h == n }),
        None => false,
    }
}

/// Every start position of `needle` in `hay`.
pub(crate) fn find_all(hay: &[char], needle: &[char], ci: bool) -> Vec<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return Vec::new();
    }
    (0..=hay.len() - needle.len())
        .filter(|&at| matches_at(hay, at, needle, ci))
        .collect()
}

/// Every start position where `needle` occurs as a whole word: the
/// characters on either side (if any) are not word characters.
pub(crate) fn find_words(hay: &[char], needle: &[char], ci: bool) -> Vec<usize> {
    find_all(hay, needle, ci)
        .into_iter()
        .filter(|&at| {
            let before_ok = at
                .checked_sub(1)
                .and_then(|i| hay.get(i))
                .is_none_or(|&c| !is_word_char(c));
            let after_ok = hay.get(at + needle.len()).is_none_or(|&c| !is_word_char(c));
            before_ok && after_ok
        })
        .collect()
}

/// Lower-cases a run of characters into a `String`.
pub(crate) fn lower(chars: &[char]) -> String {
    chars.iter().flat_map(|c| c.to_lowercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn classes() {
        assert!(is_cjk('验'));
        assert!(is_cjk('：'));
        assert!(is_cjk('코'));
        assert!(is_cjk('コ'));
        assert!(!is_cjk('a'));
        assert!(!is_cjk('к'));
        assert!(is_word_letter('é'));
        assert!(is_word_letter('д'));
        assert!(!is_word_letter('验'));
        assert!(!is_word_letter('1'));
        assert!(is_word_char('1'));
        assert!(!is_word_char('-'));
    }

    #[test]
    fn searching() {
        assert_eq!(find_all(&v("abcabc"), &v("BC"), true), vec![1, 4]);
        assert_eq!(find_all(&v("abcabc"), &v("BC"), false), Vec::<usize>::new());
        assert_eq!(find_all(&v("ab"), &v("abc"), true), Vec::<usize>::new());
        assert_eq!(find_all(&v("ab"), &v(""), true), Vec::<usize>::new());
        assert_eq!(
            find_words(&v("Uber uberall uber."), &v("uber"), true),
            vec![0, 13]
        );
        assert_eq!(
            find_words(&v("您的Google验证码"), &v("google"), true),
            vec![2]
        );
        assert_eq!(find_all(&v("Ваш КОД"), &v("код"), true), vec![4]);
        assert!(!matches_at(&v("abc"), 5, &v("a"), true));
        assert_eq!(lower(&v("ÀBC")), "àbc");
    }
}
