//! Phone numbers in E.164 form.

use std::fmt;
use std::str::FromStr;

use crate::country::{Country, resolve_digits};

/// Fewest digits (calling code included) accepted as a phone number.
const MIN_DIGITS: usize = 7;
/// Most digits E.164 allows (calling code included).
const MAX_DIGITS: usize = 15;

/// Why a string could not be read as an international phone number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// The input is empty or only whitespace.
    #[error("phone number is empty")]
    Empty,
    /// The input holds only separators such as dashes or parentheses.
    #[error("phone number contains no digits")]
    NoDigits,
    /// A character that is neither a digit, a leading `+` nor a separator.
    #[error("phone number contains an invalid character {0:?}")]
    InvalidCharacter(char),
    /// More than one `+` sign.
    #[error("phone number contains more than one '+'")]
    MultiplePlus,
    /// A `+` sign somewhere other than at the very start.
    #[error("'+' may only appear at the start of a phone number")]
    MisplacedPlus,
    /// The country calling code would start with `0` (no such code exists;
    /// this usually means a national number was given without its country).
    #[error(
        "country calling code cannot start with 0; use the international format, e.g. +44 20 7946 0958"
    )]
    LeadingZero,
    /// Fewer digits than any real international number has.
    #[error("phone number has {digits} digits; at least {MIN_DIGITS} are required")]
    TooShort {
        /// Number of digits found.
        digits: usize,
    },
    /// More digits than E.164 allows.
    #[error("phone number has {digits} digits; E.164 allows at most {MAX_DIGITS}")]
    TooLong {
        /// Number of digits found.
        digits: usize,
    },
    /// The digits do not start with a country calling code in use.
    #[error("unknown country calling code in +{prefix}...")]
    UnknownCallingCode {
        /// The first (up to three) digits of the number.
        prefix: String,
    },
}

/// A validated international phone number in E.164 form, e.g.
/// `+14155550123`.
///
/// The only way to obtain one is [`E164::parse`] (or [`str::parse`]), so a
/// value always has 7–15 digits and a known country calling code. Equality,
/// hashing and ordering follow the canonical `+digits` string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164 {
    /// Canonical form: `+` followed by ASCII digits only.
    number: String,
    /// Country resolved from the digits at parse time.
    country: &'static Country,
}

/// Whether `c` may separate groups of digits in a written phone number.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '\u{00A0}' // no-break space
            | '\u{2009}' // thin space
            | '\u{202F}' // narrow no-break space
            | '-'
            | '\u{2010}' // hyphen
            | '\u{2011}' // non-breaking hyphen
            | '.'
            | '('
            | ')'
    )
}

impl E164 {
    /// Parses a phone number written in international form.
    ///
    /// Accepted: `"+14155550123"`, `"+1 (415) 555-0123"`, `"+1.415.555.0123"`,
    /// `"+44 20 7946 0958"`, `"0044 20 7946 0958"` (`00` is the international
    /// prefix) and bare digits such as `"14155550123"`, which are read as
    /// international. Spaces (including no-break spaces), dashes, dots and
    /// parentheses are ignored; surrounding whitespace is trimmed.
    ///
    /// Rejected: empty input, letters and other symbols, more than one `+`,
    /// a `+` anywhere but first, a calling code starting with `0`, fewer
    /// than 7 or more than 15 digits and calling codes that are not in use.
    pub fn parse(input: &str) -> Result<E164, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }

        let mut digits = String::new();
        let mut digit_count = 0usize;
        let mut plus_seen = false;
        for (index, ch) in trimmed.chars().enumerate() {
            match ch {
                '0'..='9' => {
                    digit_count += 1;
                    // Keep memory bounded on absurd inputs; the count still
                    // reports the real length.
                    if digits.len() <= MAX_DIGITS + 2 {
                        digits.push(ch);
                    }
                }
                '+' if plus_seen => return Err(PhoneError::MultiplePlus),
                '+' => {
                    plus_seen = true;
                    if index != 0 {
                        return Err(PhoneError::MisplacedPlus);
                    }
                }
                c if is_separator(c) => {}
                c => return Err(PhoneError::InvalidCharacter(c)),
            }
        }
        if digit_count == 0 {
            return Err(PhoneError::NoDigits);
        }

        if !plus_seen && digits.starts_with("00") {
            digits.drain(..2);
            digit_count -= 2;
        }
        if digits.starts_with('0') {
            return Err(PhoneError::LeadingZero);
        }
        if digit_count < MIN_DIGITS {
            return Err(PhoneError::TooShort {
                digits: digit_count,
            });
        }
        if digit_count > MAX_DIGITS {
            return Err(PhoneError::TooLong {
                digits: digit_count,
            });
        }

        let country = resolve_digits(&digits).ok_or_else(|| PhoneError::UnknownCallingCode {
            prefix: digits.chars().take(3).collect(),
        })?;
        Ok(E164 {
            number: format!("+{digits}"),
            country,
        })
    }

    /// The canonical form, `+` followed by digits: `"+14155550123"`.
    pub fn as_str(&self) -> &str {
        &self.number
    }

    /// The digits without the `+`: `"14155550123"`.
    pub fn digits(&self) -> &str {
        self.number.strip_prefix('+').unwrap_or(&self.number)
    }

    /// The country calling code: `1` for `+14155550123`.
    pub fn calling_code(&self) -> u16 {
        self.country.calling_code
    }

    /// The country or territory the number belongs to, resolved when the
    /// number was parsed (by NANP area code for +1, by prefix for other
    /// shared codes).
    pub fn country(&self) -> &'static Country {
        self.country
    }

    /// The digits after the calling code: `"4155550123"` for
    /// `+14155550123`.
    pub fn national_number(&self) -> &str {
        let digits = self.digits();
        digits.get(code_len(self.calling_code())..).unwrap_or("")
    }

    /// A readable rendering with spaces, e.g. `"+1 415 555 0123"` or
    /// `"+44 207 946 0958"`.
    ///
    /// NANP numbers use the familiar 3-3-4 grouping. Other numbers are
    /// split into groups of three digits from the left, with the last one
    /// or two groups holding four so that no group is shorter than three
    /// (`"+86 138 1234 5678"`, `"+49 301 234 5678"`). The grouping is simple
    /// and stable; it does not follow each country's own conventions.
    pub fn display_international(&self) -> String {
        let national: Vec<char> = self.national_number().chars().collect();
        let sizes = if self.calling_code() == 1 && national.len() == 10 {
            vec![3, 3, 4]
        } else {
            group_sizes(national.len())
        };
        let mut out = format!("+{}", self.calling_code());
        let mut rest = national.as_slice();
        for size in sizes {
            let (group, tail) = rest.split_at(size.min(rest.len()));
            if group.is_empty() {
                break;
            }
            out.push(' ');
            out.extend(group);
            rest = tail;
        }
        out
    }
}

/// Number of decimal digits in a calling code.
fn code_len(code: u16) -> usize {
    match code {
        0..=9 => 1,
        10..=99 => 2,
        _ => 3,
    }
}

/// Group sizes for `n` national digits: threes, then up to two fours at the
/// end; a single group for four digits or fewer; `2 + 3` for five.
fn group_sizes(n: usize) -> Vec<usize> {
    if n <= 4 {
        return vec![n];
    }
    if n == 5 {
        return vec![2, 3];
    }
    let fours = match n % 3 {
        0 => 0,
        1 => 1,
        _ => 2,
    };
    let threes = (n - 4 * fours) / 3;
    let mut sizes = vec![3; threes];
    sizes.extend(std::iter::repeat_n(4, fours));
    sizes
}

impl fmt::Display for E164 {
    /// Writes the canonical form, `+14155550123`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.number)
    }
}

impl FromStr for E164 {
    type Err = PhoneError;

    /// Same as [`E164::parse`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        E164::parse(s)
    }
}

impl AsRef<str> for E164 {
    fn as_ref(&self) -> &str {
        &self.number
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ok(input: &str) -> E164 {
        E164::parse(input).unwrap_or_else(|e| panic!("{input:?} should parse: {e}"))
    }

    fn err(input: &str) -> PhoneError {
        match E164::parse(input) {
            Ok(n) => panic!("{input:?} should be rejected, got {n}"),
            Err(e) => e,
        }
    }

    #[test]
    fn accepts_common_spellings() {
        for input in [
            "+14155550123",
            "+1 (415) 555-0123",
            "+1.415.555.0123",
            "+1-415-555-0123",
            "14155550123",
            "001 415 555 0123",
            "  +1 415 555 0123 \n",
            "+1\u{00A0}415\u{00A0}555\u{00A0}0123",
            "+1\u{202F}415\u{2011}555\u{2010}0123",
            "\t+1(415)5550123",
        ] {
            assert_eq!(ok(input).as_str(), "+14155550123", "{input:?}");
        }
        assert_eq!(ok("+44 20 7946 0958").as_str(), "+442079460958");
        assert_eq!(ok("0044 20 7946 0958").as_str(), "+442079460958");
        assert_eq!(ok("0044-20-7946-0958").as_str(), "+442079460958");
    }

    #[test]
    fn accessors() {
        let n = ok("+1 (415) 555-0123");
        assert_eq!(n.as_str(), "+14155550123");
        assert_eq!(n.digits(), "14155550123");
        assert_eq!(n.calling_code(), 1);
        assert_eq!(n.national_number(), "4155550123");
        assert_eq!(n.country().iso2, "US");
        assert_eq!(n.to_string(), "+14155550123");
        assert_eq!(n.as_ref(), "+14155550123");
        assert_eq!("+14155550123".parse::<E164>().unwrap(), n);

        let uk = ok("+44 20 7946 0958");
        assert_eq!(uk.calling_code(), 44);
        assert_eq!(uk.national_number(), "2079460958");
        assert_eq!(uk.country().name, "United Kingdom");

        let hk = ok("+852 9123 4567");
        assert_eq!(hk.calling_code(), 852);
        assert_eq!(hk.national_number(), "91234567");
    }

    #[test]
    fn countries() {
        let cases = [
            ("+1 415 555 0123", "US", 1),
            ("+1 416 555 0123", "CA", 1),
            ("+1 876 555 0123", "JM", 1),
            ("+1 787 555 0123", "PR", 1),
            ("+7 701 234 5678", "KZ", 7),
            ("+7 912 345 6789", "RU", 7),
            ("+44 7911 123456", "GB", 44),
            ("+44 1481 123456", "GG", 44),
            ("+49 30 12345678", "DE", 49),
            ("+86 138 1234 5678", "CN", 86),
            ("+91 98765 43210", "IN", 91),
            ("+33 6 12 34 56 78", "FR", 33),
            ("+31 6 12345678", "NL", 31),
            ("+55 11 91234 5678", "BR", 55),
            ("+39 06 1234 5678", "IT", 39),
            ("+61 4 1234 5678", "AU", 61),
            ("+358 40 123 4567", "FI", 358),
            ("+852 9123 4567", "HK", 852),
            ("+234 801 234 5678", "NG", 234),
            ("+380 50 123 4567", "UA", 380),
        ];
        for (input, iso2, code) in cases {
            let n = ok(input);
            assert_eq!(n.country().iso2, iso2, "{input}");
            assert_eq!(n.calling_code(), code, "{input}");
            assert!(n.digits().starts_with(&code.to_string()));
        }
    }

    #[test]
    fn digit_limits() {
        // 15 digits is the E.164 maximum.
        let n = ok("+86 1381234567890");
        assert_eq!(n.digits().len(), 15);
        assert_eq!(
            err("+86 13812345678901"),
            PhoneError::TooLong { digits: 16 }
        );
        assert_eq!(
            err("+86 13812345678901").to_string(),
            "phone number has 16 digits; E.164 allows at most 15"
        );
        // 7 digits is the minimum.
        assert_eq!(ok("+683 4002").digits(), "6834002");
        assert_eq!(err("+683 400"), PhoneError::TooShort { digits: 6 });
        assert_eq!(
            err("0012345678901234567890"),
            PhoneError::TooLong { digits: 20 }
        );
        assert_eq!(err("+1234"), PhoneError::TooShort { digits: 4 });
        let huge = "1".repeat(10_000);
        assert_eq!(err(&huge), PhoneError::TooLong { digits: 10_000 });
    }

    #[test]
    fn rejections() {
        assert_eq!(err(""), PhoneError::Empty);
        assert_eq!(err("   \n\t"), PhoneError::Empty);
        assert_eq!(err("()-. "), PhoneError::NoDigits);
        assert_eq!(err("+"), PhoneError::NoDigits);
        assert_eq!(err("+1 415 555 CALL"), PhoneError::InvalidCharacter('C'));
        assert_eq!(
            err("+1 415 555 0123 x12"),
            PhoneError::InvalidCharacter('x')
        );
        assert_eq!(err("+1/415/555/0123"), PhoneError::InvalidCharacter('/'));
        assert_eq!(err("+1 415 555 0123#"), PhoneError::InvalidCharacter('#'));
        assert_eq!(
            err("+1 415 ５５５ 0123"),
            PhoneError::InvalidCharacter('５')
        );
        assert_eq!(err("tel:+14155550123"), PhoneError::InvalidCharacter('t'));
        assert_eq!(err("++14155550123"), PhoneError::MultiplePlus);
        assert_eq!(err("+1415+5550123"), PhoneError::MultiplePlus);
        assert_eq!(err("1415+5550123"), PhoneError::MisplacedPlus);
        assert_eq!(err("(+1) 415 555 0123"), PhoneError::MisplacedPlus);
        assert_eq!(err("+0 415 555 0123"), PhoneError::LeadingZero);
        assert_eq!(err("020 7946 0958"), PhoneError::LeadingZero);
        assert_eq!(err("000 44 20 7946 0958"), PhoneError::LeadingZero);
        assert_eq!(err("+0044 20 7946 0958"), PhoneError::LeadingZero);
        assert_eq!(
            err("+999 123 456 789"),
            PhoneError::UnknownCallingCode {
                prefix: "999".into()
            }
        );
        assert_eq!(
            err("+800 1234 5678"),
            PhoneError::UnknownCallingCode {
                prefix: "800".into()
            }
        );
        assert_eq!(
            err("+28 123 456 789"),
            PhoneError::UnknownCallingCode {
                prefix: "281".into()
            }
        );
    }

    #[test]
    fn error_messages() {
        assert_eq!(PhoneError::Empty.to_string(), "phone number is empty");
        assert_eq!(
            PhoneError::InvalidCharacter('x').to_string(),
            "phone number contains an invalid character 'x'"
        );
        assert_eq!(
            PhoneError::InvalidCharacter('\n').to_string(),
            "phone number contains an invalid character '\\n'"
        );
        assert_eq!(
            err("+999123456789").to_string(),
            "unknown country calling code in +999..."
        );
        assert_eq!(
            PhoneError::TooShort { digits: 3 }.to_string(),
            "phone number has 3 digits; at least 7 are required"
        );
        for e in [
            PhoneError::NoDigits,
            PhoneError::MultiplePlus,
            PhoneError::MisplacedPlus,
            PhoneError::LeadingZero,
        ] {
            let msg = e.to_string();
            assert!(msg.chars().next().unwrap().is_lowercase() || msg.starts_with('\''));
        }
    }

    #[test]
    fn display_international() {
        let cases = [
            ("+14155550123", "+1 415 555 0123"),
            ("+18765550123", "+1 876 555 0123"),
            ("+1415555012", "+1 415 555 012"),
            ("+442079460958", "+44 207 946 0958"),
            ("+8613812345678", "+86 138 1234 5678"),
            ("+4930123456", "+49 3012 3456"),
            ("+493012345678", "+49 301 234 5678"),
            ("+4930123456789", "+49 301 2345 6789"),
            ("+79123456789", "+7 912 345 6789"),
            ("+85291234567", "+852 9123 4567"),
            ("+6834002", "+683 4002"),
            ("+3361234", "+33 61 234"),
            ("+33612345", "+33 612 345"),
            ("+33612345678", "+33 612 345 678"),
            ("+919876543210", "+91 987 654 3210"),
            ("+861381234567890", "+86 138 123 456 7890"),
        ];
        for (input, expected) in cases {
            let n = ok(input);
            let shown = n.display_international();
            assert_eq!(shown, expected, "{input}");
            let digits: String = shown.chars().filter(char::is_ascii_digit).collect();
            assert_eq!(digits, n.digits(), "{input}");
        }
    }

    #[test]
    fn group_sizes_cover_every_length() {
        for n in 0..=14 {
            let sizes = group_sizes(n);
            assert_eq!(sizes.iter().sum::<usize>(), n, "{n}");
            if n >= 6 {
                assert!(sizes.iter().all(|s| *s == 3 || *s == 4), "{n}: {sizes:?}");
            }
        }
        assert_eq!(group_sizes(10), vec![3, 3, 4]);
        assert_eq!(group_sizes(11), vec![3, 4, 4]);
        assert_eq!(group_sizes(8), vec![4, 4]);
        assert_eq!(group_sizes(9), vec![3, 3, 3]);
    }

    #[test]
    fn ordering_and_hashing_follow_the_string() {
        use std::collections::HashSet;
        let a = ok("+1 415 555 0123");
        let b = ok("14155550123");
        let c = ok("+44 20 7946 0958");
        assert_eq!(a, b);
        assert!(a < c);
        let set: HashSet<E164> = [a, b, c].into_iter().collect();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn never_panics() {
        let inputs = [
            "+",
            "00",
            "0",
            "+0",
            "++",
            "+-",
            "-+1",
            "()",
            "+()",
            "٣٣٣٣٣٣٣",
            "+١٤١٥٥٥٥٠١٢٣",
            "＋14155550123",
            "+1 415 555 0123 🇺🇸",
            "验证码",
            "+86 １３８",
            "\u{0}",
            "\u{FEFF}+14155550123",
            "+1\u{200B}4155550123",
            "+ 1 4 1 5 5 5 5 0 1 2 3",
            "000000000",
            "00+14155550123",
            "+7",
            "+76",
            "+1 242",
            "+4414811",
            "+5997",
            "é+1",
            "+é",
            "e\u{301}",
            "𝟙𝟜𝟙𝟝",
            "+1\u{00A0}\u{00A0}\u{00A0}4155550123",
        ];
        for input in inputs {
            if let Ok(n) = E164::parse(input) {
                let _ = n.display_international();
                let _ = n.national_number();
                let _ = n.country().flag();
            }
        }
        assert_eq!(
            err("\u{FEFF}+14155550123"),
            PhoneError::InvalidCharacter('\u{FEFF}')
        );
        assert_eq!(ok("+ 1 4 1 5 5 5 5 0 1 2 3").as_str(), "+14155550123");
    }
}
