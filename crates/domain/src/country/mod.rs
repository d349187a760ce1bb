//! Countries and their ITU-T E.164 country calling codes.
//!
//! The table in this module covers every country calling code that is in
//! use for a country or territory (international networks such as +800 or
//! +881 are deliberately left out). Several territories share a calling code
//! (all of the North American Numbering Plan shares +1, Kazakhstan shares +7
//! with Russia, the Crown Dependencies share +44 with the United Kingdom and
//! so on); number resolution decides which one a number belongs to by the
//! longest known prefix, falling back to the main country of the code.

/// A country or territory that has its own ITU country calling code, or
/// shares one with another country.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country {
    /// ISO 3166-1 alpha-2 code in upper case, e.g. `"US"`. Kosovo uses the
    /// widely adopted user-assigned code `"XK"` and Ascension Island the
    /// exceptionally reserved `"AC"`.
    pub iso2: &'static str,
    /// Common English short name, e.g. `"United States"`, `"South Korea"`.
    pub name: &'static str,
    /// Country calling code without the `+`, e.g. `1`, `44`, `852`.
    pub calling_code: u16,
}

impl Country {
    /// The flag emoji for this country, built from the two regional
    /// indicator symbols that spell its ISO code (`"US"` → `"🇺🇸"`).
    ///
    /// Characters outside `A`–`Z` are skipped, so the result is never
    /// malformed, merely shorter.
    pub fn flag(&self) -> String {
        self.iso2
            .chars()
            .filter_map(|c| {
                let upper = c.to_ascii_uppercase();
                if upper.is_ascii_uppercase() {
                    char::from_u32(0x1F1E6 + (u32::from(upper) - u32::from('A')))
                } else {
                    None
                }
            })
            .collect()
    }
}

mod table;

use table::{COUNTRIES, NANP_AREA_CODES, PRIMARY, SUB_PREFIXES};

/// All known countries and territories, ordered by calling code.
pub fn all_countries() -> &'static [Country] {
    COUNTRIES
}

/// Looks a country up by its ISO 3166-1 alpha-2 code, ignoring ASCII case
/// (`"gb"`, `"GB"` and `"Gb"` all find the United Kingdom).
pub fn country_by_iso2(code: &str) -> Option<&'static Country> {
    let at = *iso2_index().get(iso2_slot(code.trim())?)?;
    COUNTRIES.get(usize::from(at))
}

/// The slot of a two-letter code in [`iso2_index`] (`AA` = 0 ... `ZZ` =
/// 675), ignoring ASCII case; `None` for anything else.
fn iso2_slot(code: &str) -> Option<usize> {
    let letter = |b: u8| {
        let upper = b.to_ascii_uppercase();
        upper
            .is_ascii_uppercase()
            .then(|| usize::from(upper - b'A'))
    };
    match code.as_bytes() {
        [first, second] => Some(letter(*first)? * 26 + letter(*second)?),
        _ => None,
    }
}

/// Position in [`COUNTRIES`] of each two-letter code (`u16::MAX` when
/// none): every page and every webhook looks countries up by code, and a
/// scan of the table was a visible share of the page's CPU.
fn iso2_index() -> &'static [u16; 26 * 26] {
    static INDEX: std::sync::OnceLock<[u16; 26 * 26]> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = [u16::MAX; 26 * 26];
        for (at, country) in COUNTRIES.iter().enumerate() {
            if let (Some(slot), Ok(at)) = (iso2_slot(country.iso2), u16::try_from(at))
                && index[slot] == u16::MAX
            {
                index[slot] = at;
            }
        }
        index
    })
}

/// The main country for a calling code, if the code is in use.
fn primary_for_code(code: u16) -> Option<&'static Country> {
    if let Some((_, iso2)) = PRIMARY.iter().find(|(c, _)| *c == code) {
        return country_by_iso2(iso2);
    }
    COUNTRIES.iter().find(|c| c.calling_code == code)
}

/// Resolves the country of an international number given as ASCII digits
/// (calling code first, no `+`). Returns `None` when the digits do not start
/// with a known calling code.
///
/// Resolution uses the longest known prefix: NANP area codes for +1, the
/// Kazakh ranges of +7, territory prefixes of shared codes, then the
/// calling code itself.
pub(crate) fn resolve_digits(digits: &str) -> Option<&'static Country> {
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(national) = digits.strip_prefix('1') {
        let iso2 = national
            .get(..3)
            .and_then(|area| NANP_AREA_CODES.iter().find(|(a, _)| *a == area))
            .map_or("US", |(_, iso2)| *iso2);
        return country_by_iso2(iso2);
    }
    if let Some(national) = digits.strip_prefix('7') {
        let iso2 = if national.starts_with('6') || national.starts_with('7') {
            "KZ"
        } else {
            "RU"
        };
        return country_by_iso2(iso2);
    }
    if let Some((_, iso2)) = SUB_PREFIXES
        .iter()
        .filter(|(prefix, _)| digits.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
    {
        return country_by_iso2(iso2);
    }
    // ITU calling codes form a prefix-free set, so at most one length matches.
    (1..=3).rev().find_map(|len| {
        let code: u16 = digits.get(..len)?.parse().ok()?;
        primary_for_code(code)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn table_is_large_and_unique() {
        assert!(all_countries().len() >= 235, "{}", all_countries().len());
        let mut seen = BTreeSet::new();
        for c in all_countries() {
            assert_eq!(c.iso2.len(), 2, "{c:?}");
            assert!(c.iso2.bytes().all(|b| b.is_ascii_uppercase()), "{c:?}");
            assert!(!c.name.is_empty());
            assert!(c.calling_code > 0 && c.calling_code < 1000);
            assert!(seen.insert(c.iso2), "duplicate {}", c.iso2);
        }
    }

    #[test]
    fn ordered_by_calling_code_within_zones() {
        // Zone 7 follows zone 1 in the table on purpose; every other entry
        // is in ascending order of its leading digit.
        let zones: Vec<char> = all_countries()
            .iter()
            .map(|c| c.calling_code.to_string().chars().next().unwrap())
            .collect();
        let mut dedup = zones.clone();
        dedup.dedup();
        assert_eq!(dedup, vec!['1', '7', '2', '3', '4', '5', '6', '8', '9']);
    }

    #[test]
    fn calling_codes_are_prefix_free() {
        let codes: BTreeSet<String> = all_countries()
            .iter()
            .map(|c| c.calling_code.to_string())
            .collect();
        for a in &codes {
            for b in &codes {
                if a != b {
                    assert!(!b.starts_with(a.as_str()), "{a} is a prefix of {b}");
                }
            }
        }
    }

    #[test]
    fn every_shared_code_has_a_primary() {
        let mut by_code: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
        for c in all_countries() {
            by_code.entry(c.calling_code).or_default().push(c.iso2);
        }
        for (code, members) in by_code {
            let primary = primary_for_code(code).unwrap();
            assert_eq!(primary.calling_code, code);
            if members.len() > 1 {
                assert!(
                    PRIMARY.iter().any(|(c, _)| *c == code),
                    "+{code} shared by {members:?} has no explicit primary"
                );
                assert_eq!(primary.iso2, members[0]);
            }
        }
    }

    #[test]
    fn auxiliary_tables_refer_to_known_countries() {
        for (prefix, iso2) in SUB_PREFIXES {
            let c = country_by_iso2(iso2).unwrap();
            assert!(prefix.starts_with(&c.calling_code.to_string()));
            assert_eq!(
                resolve_digits(&format!("{prefix}1234")).unwrap().iso2,
                *iso2
            );
        }
        for (area, iso2) in NANP_AREA_CODES {
            let c = country_by_iso2(iso2).unwrap();
            assert_eq!(c.calling_code, 1);
            assert_eq!(area.len(), 3);
        }
        let areas: BTreeSet<&str> = NANP_AREA_CODES.iter().map(|(a, _)| *a).collect();
        assert_eq!(areas.len(), NANP_AREA_CODES.len(), "duplicate area code");
        for (code, iso2) in PRIMARY {
            assert_eq!(country_by_iso2(iso2).unwrap().calling_code, *code);
        }
    }

    #[test]
    fn every_country_except_sub_territories_resolves_to_itself_or_primary() {
        for c in all_countries() {
            let digits = format!("{}5550000", c.calling_code);
            let resolved = resolve_digits(&digits).unwrap();
            assert_eq!(resolved.calling_code, c.calling_code, "{c:?}");
        }
    }

    #[test]
    fn lookup_by_iso2_is_case_insensitive() {
        assert_eq!(country_by_iso2("us").unwrap().name, "United States");
        assert_eq!(country_by_iso2("Gb").unwrap().name, "United Kingdom");
        assert_eq!(country_by_iso2("KR").unwrap().name, "South Korea");
        assert_eq!(country_by_iso2("ru").unwrap().name, "Russia");
        assert_eq!(country_by_iso2(" de ").unwrap().calling_code, 49);
        assert!(country_by_iso2("").is_none());
        assert!(country_by_iso2("ZZ").is_none());
        assert!(country_by_iso2("USA").is_none());
        assert!(country_by_iso2("ü").is_none());
        assert!(country_by_iso2("🇺🇸").is_none());
        assert!(country_by_iso2("U1").is_none());
        assert!(country_by_iso2("[]").is_none());
        // Every country is found by its own code, in either case.
        for country in all_countries() {
            assert_eq!(country_by_iso2(country.iso2), Some(country));
            assert_eq!(
                country_by_iso2(&country.iso2.to_ascii_lowercase()),
                Some(country)
            );
        }
    }

    #[test]
    fn flags() {
        assert_eq!(country_by_iso2("US").unwrap().flag(), "🇺🇸");
        assert_eq!(country_by_iso2("GB").unwrap().flag(), "🇬🇧");
        assert_eq!(country_by_iso2("CN").unwrap().flag(), "🇨🇳");
        for c in all_countries() {
            assert_eq!(c.flag().chars().count(), 2);
        }
        let odd = Country {
            iso2: "a1é",
            name: "odd",
            calling_code: 1,
        };
        assert_eq!(odd.flag(), "🇦");
    }

    fn iso(digits: &str) -> &'static str {
        resolve_digits(digits).map_or("none", |c| c.iso2)
    }

    #[test]
    fn resolution() {
        assert_eq!(iso("14155550123"), "US");
        assert_eq!(iso("18005550123"), "US");
        assert_eq!(iso("14165550123"), "CA");
        assert_eq!(iso("16045550123"), "CA");
        assert_eq!(iso("18765550123"), "JM");
        assert_eq!(iso("16585550123"), "JM");
        assert_eq!(iso("17875550123"), "PR");
        assert_eq!(iso("19395550123"), "PR");
        assert_eq!(iso("18095550123"), "DO");
        assert_eq!(iso("12425550123"), "BS");
        assert_eq!(iso("14415550123"), "BM");
        assert_eq!(iso("77012345678"), "KZ");
        assert_eq!(iso("76012345678"), "KZ");
        assert_eq!(iso("79123456789"), "RU");
        assert_eq!(iso("74951234567"), "RU");
        assert_eq!(iso("442079460958"), "GB");
        assert_eq!(iso("447911123456"), "GB");
        assert_eq!(iso("441481123456"), "GG");
        assert_eq!(iso("441534123456"), "JE");
        assert_eq!(iso("441624123456"), "IM");
        assert_eq!(iso("4930123456"), "DE");
        assert_eq!(iso("8613812345678"), "CN");
        assert_eq!(iso("919876543210"), "IN");
        assert_eq!(iso("33612345678"), "FR");
        assert_eq!(iso("31612345678"), "NL");
        assert_eq!(iso("5511912345678"), "BR");
        assert_eq!(iso("390612345678"), "IT");
        assert_eq!(iso("390669812345"), "VA");
        assert_eq!(iso("4791234567"), "NO");
        assert_eq!(iso("61412345678"), "AU");
        assert_eq!(iso("262262123456"), "RE");
        assert_eq!(iso("262639123456"), "YT");
        assert_eq!(iso("590590123456"), "GP");
        assert_eq!(iso("59995123456"), "CW");
        assert_eq!(iso("5997123456"), "BQ");
        assert_eq!(iso("358401234567"), "FI");
        assert_eq!(iso("212612345678"), "MA");
        assert_eq!(iso("85291234567"), "HK");
        assert_eq!(iso("886912345678"), "TW");
        assert_eq!(iso("2348012345678"), "NG");
        assert_eq!(iso("3831234567"), "XK");
        assert_eq!(iso("99912345678"), "none");
        assert_eq!(iso("80012345678"), "none");
        assert_eq!(iso("0441234567"), "none");
        assert_eq!(iso(""), "none");
        assert_eq!(iso("1"), "US");
        assert_eq!(iso("7"), "RU");
        assert_eq!(iso("12a"), "none");
        assert_eq!(iso("４４"), "none");
    }
}
