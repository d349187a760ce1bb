//! A number written as people of its country write it: `+44 7700 900461`
//! and `07700 900461` for the United Kingdom, `+33 6 39 98 12 34` and
//! `06 39 98 12 34` for France. The formats come from libphonenumber's
//! metadata (the `phonenumber` crate); a number it cannot format keeps our
//! own grouping ([`E164::display_international`]).
//!
//! Formatting a number costs some microseconds, and a page shows the same
//! few numbers over and over: the results are remembered, for at most
//! [`REMEMBERED`] numbers (then forgotten all at once and found again).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;
use phonenumber::Mode;

use crate::E164;

/// How many numbers' forms are remembered at most.
const REMEMBERED: usize = 4096;

/// The forms of one number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// International form, `+44 7700 900461`.
    pub international: String,
    /// National form, as dialled inside the country: `07700 900461`.
    pub national: String,
    /// What a sign-up form with a country picker wants: the national
    /// significant number's digits, no trunk prefix (`7700900461`).
    pub national_digits: String,
}

impl E164 {
    /// This number's international and national forms (see [`Written`]).
    pub fn written(&self) -> Arc<Written> {
        static CACHE: OnceLock<RwLock<HashMap<String, Arc<Written>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(|| RwLock::new(HashMap::new()));
        if let Some(found) = cache.read().get(self.as_str()) {
            return found.clone();
        }
        let written = Arc::new(format(self));
        let mut cache = cache.write();
        if cache.len() >= REMEMBERED {
            cache.clear();
        }
        cache.insert(self.as_str().to_owned(), written.clone());
        written
    }
}

fn format(number: &E164) -> Written {
    let national_digits = number.national_number().to_owned();
    let parsed = std::panic::catch_unwind(|| phonenumber::parse(None, number.as_str()).ok())
        .ok()
        .flatten();
    let (international, national) = match parsed {
        Some(parsed) => (
            parsed.format().mode(Mode::International).to_string(),
            parsed.format().mode(Mode::National).to_string(),
        ),
        None => (number.display_international(), national_digits.clone()),
    };
    // A format must still say the same number: digits only, in order.
    let same_digits = |text: &str, digits: &str| {
        let mut written = text.chars().filter(char::is_ascii_digit);
        digits.chars().all(|d| written.next() == Some(d)) && written.next().is_none()
    };
    let international = if same_digits(&international, number.digits()) {
        international
    } else {
        number.display_international()
    };
    let national = if national.chars().filter(char::is_ascii_digit).count() >= national_digits.len()
        && national
            .chars()
            .all(|c| c.is_ascii_digit() || " -()".contains(c))
    {
        national
    } else {
        national_digits.clone()
    };
    Written {
        international,
        national,
        national_digits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(number: &str) -> Arc<Written> {
        E164::parse(number)
            .map(|n| n.written())
            .unwrap_or_else(|e| panic!("{number}: {e}"))
    }

    #[test]
    fn numbers_are_written_by_their_countrys_conventions() {
        // (E.164, international, national, national digits)
        for (number, international, national, digits) in [
            (
                "+447700900461",
                "+44 7700 900461",
                "07700 900461",
                "7700900461",
            ),
            (
                "+33639981234",
                "+33 6 39 98 12 34",
                "06 39 98 12 34",
                "639981234",
            ),
            (
                "+14155550123",
                "+1 415-555-0123",
                "(415) 555-0123",
                "4155550123",
            ),
            (
                "+8613812345678",
                "+86 138 1234 5678",
                "138 1234 5678",
                "13812345678",
            ),
            (
                "+4915123456789",
                "+49 1512 3456789",
                "01512 3456789",
                "15123456789",
            ),
            (
                "+390612345678",
                "+39 06 1234 5678",
                "06 1234 5678",
                "0612345678",
            ),
        ] {
            let w = written(number);
            assert_eq!(
                (
                    w.international.as_str(),
                    w.national.as_str(),
                    w.national_digits.as_str()
                ),
                (international, national, digits),
                "{number}"
            );
        }
    }

    #[test]
    fn forms_are_remembered() {
        let number = E164::parse("+447700900461").unwrap_or_else(|e| panic!("{e}"));
        assert!(Arc::ptr_eq(&number.written(), &number.written()));
    }
}
