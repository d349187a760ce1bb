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

const fn c(iso2: &'static str, name: &'static str, calling_code: u16) -> Country {
    Country {
        iso2,
        name,
        calling_code,
    }
}

/// Every known country, ordered by calling code (the main country of a
/// shared code comes first within its code).
static COUNTRIES: &[Country] = &[
    // Zone 1: North American Numbering Plan.
    c("US", "United States", 1),
    c("CA", "Canada", 1),
    c("AG", "Antigua and Barbuda", 1),
    c("AI", "Anguilla", 1),
    c("AS", "American Samoa", 1),
    c("BB", "Barbados", 1),
    c("BM", "Bermuda", 1),
    c("BS", "Bahamas", 1),
    c("DM", "Dominica", 1),
    c("DO", "Dominican Republic", 1),
    c("GD", "Grenada", 1),
    c("GU", "Guam", 1),
    c("JM", "Jamaica", 1),
    c("KN", "Saint Kitts and Nevis", 1),
    c("KY", "Cayman Islands", 1),
    c("LC", "Saint Lucia", 1),
    c("MP", "Northern Mariana Islands", 1),
    c("MS", "Montserrat", 1),
    c("PR", "Puerto Rico", 1),
    c("SX", "Sint Maarten", 1),
    c("TC", "Turks and Caicos Islands", 1),
    c("TT", "Trinidad and Tobago", 1),
    c("VC", "Saint Vincent and the Grenadines", 1),
    c("VG", "British Virgin Islands", 1),
    c("VI", "U.S. Virgin Islands", 1),
    // Zone 7.
    c("RU", "Russia", 7),
    c("KZ", "Kazakhstan", 7),
    // Zone 2: mostly Africa.
    c("EG", "Egypt", 20),
    c("SS", "South Sudan", 211),
    c("MA", "Morocco", 212),
    c("EH", "Western Sahara", 212),
    c("DZ", "Algeria", 213),
    c("TN", "Tunisia", 216),
    c("LY", "Libya", 218),
    c("GM", "Gambia", 220),
    c("SN", "Senegal", 221),
    c("MR", "Mauritania", 222),
    c("ML", "Mali", 223),
    c("GN", "Guinea", 224),
    c("CI", "Côte d'Ivoire", 225),
    c("BF", "Burkina Faso", 226),
    c("NE", "Niger", 227),
    c("TG", "Togo", 228),
    c("BJ", "Benin", 229),
    c("MU", "Mauritius", 230),
    c("LR", "Liberia", 231),
    c("SL", "Sierra Leone", 232),
    c("GH", "Ghana", 233),
    c("NG", "Nigeria", 234),
    c("TD", "Chad", 235),
    c("CF", "Central African Republic", 236),
    c("CM", "Cameroon", 237),
    c("CV", "Cape Verde", 238),
    c("ST", "São Tomé and Príncipe", 239),
    c("GQ", "Equatorial Guinea", 240),
    c("GA", "Gabon", 241),
    c("CG", "Republic of the Congo", 242),
    c("CD", "DR Congo", 243),
    c("AO", "Angola", 244),
    c("GW", "Guinea-Bissau", 245),
    c("IO", "British Indian Ocean Territory", 246),
    c("AC", "Ascension Island", 247),
    c("SC", "Seychelles", 248),
    c("SD", "Sudan", 249),
    c("RW", "Rwanda", 250),
    c("ET", "Ethiopia", 251),
    c("SO", "Somalia", 252),
    c("DJ", "Djibouti", 253),
    c("KE", "Kenya", 254),
    c("TZ", "Tanzania", 255),
    c("UG", "Uganda", 256),
    c("BI", "Burundi", 257),
    c("MZ", "Mozambique", 258),
    c("ZM", "Zambia", 260),
    c("MG", "Madagascar", 261),
    c("RE", "Réunion", 262),
    c("YT", "Mayotte", 262),
    c("ZW", "Zimbabwe", 263),
    c("NA", "Namibia", 264),
    c("MW", "Malawi", 265),
    c("LS", "Lesotho", 266),
    c("BW", "Botswana", 267),
    c("SZ", "Eswatini", 268),
    c("KM", "Comoros", 269),
    c("ZA", "South Africa", 27),
    c("SH", "Saint Helena", 290),
    c("ER", "Eritrea", 291),
    c("AW", "Aruba", 297),
    c("FO", "Faroe Islands", 298),
    c("GL", "Greenland", 299),
    // Zone 3: Europe.
    c("GR", "Greece", 30),
    c("NL", "Netherlands", 31),
    c("BE", "Belgium", 32),
    c("FR", "France", 33),
    c("ES", "Spain", 34),
    c("GI", "Gibraltar", 350),
    c("PT", "Portugal", 351),
    c("LU", "Luxembourg", 352),
    c("IE", "Ireland", 353),
    c("IS", "Iceland", 354),
    c("AL", "Albania", 355),
    c("MT", "Malta", 356),
    c("CY", "Cyprus", 357),
    c("FI", "Finland", 358),
    c("AX", "Åland Islands", 358),
    c("BG", "Bulgaria", 359),
    c("HU", "Hungary", 36),
    c("LT", "Lithuania", 370),
    c("LV", "Latvia", 371),
    c("EE", "Estonia", 372),
    c("MD", "Moldova", 373),
    c("AM", "Armenia", 374),
    c("BY", "Belarus", 375),
    c("AD", "Andorra", 376),
    c("MC", "Monaco", 377),
    c("SM", "San Marino", 378),
    c("UA", "Ukraine", 380),
    c("RS", "Serbia", 381),
    c("ME", "Montenegro", 382),
    c("XK", "Kosovo", 383),
    c("HR", "Croatia", 385),
    c("SI", "Slovenia", 386),
    c("BA", "Bosnia and Herzegovina", 387),
    c("MK", "North Macedonia", 389),
    c("IT", "Italy", 39),
    c("VA", "Vatican City", 39),
    // Zone 4: Europe.
    c("RO", "Romania", 40),
    c("CH", "Switzerland", 41),
    c("CZ", "Czechia", 420),
    c("SK", "Slovakia", 421),
    c("LI", "Liechtenstein", 423),
    c("AT", "Austria", 43),
    c("GB", "United Kingdom", 44),
    c("GG", "Guernsey", 44),
    c("IM", "Isle of Man", 44),
    c("JE", "Jersey", 44),
    c("DK", "Denmark", 45),
    c("SE", "Sweden", 46),
    c("NO", "Norway", 47),
    c("SJ", "Svalbard and Jan Mayen", 47),
    c("PL", "Poland", 48),
    c("DE", "Germany", 49),
    // Zone 5: South and Central America.
    c("FK", "Falkland Islands", 500),
    c("BZ", "Belize", 501),
    c("GT", "Guatemala", 502),
    c("SV", "El Salvador", 503),
    c("HN", "Honduras", 504),
    c("NI", "Nicaragua", 505),
    c("CR", "Costa Rica", 506),
    c("PA", "Panama", 507),
    c("PM", "Saint Pierre and Miquelon", 508),
    c("HT", "Haiti", 509),
    c("PE", "Peru", 51),
    c("MX", "Mexico", 52),
    c("CU", "Cuba", 53),
    c("AR", "Argentina", 54),
    c("BR", "Brazil", 55),
    c("CL", "Chile", 56),
    c("CO", "Colombia", 57),
    c("VE", "Venezuela", 58),
    c("GP", "Guadeloupe", 590),
    c("BL", "Saint Barthélemy", 590),
    c("MF", "Saint Martin", 590),
    c("BO", "Bolivia", 591),
    c("GY", "Guyana", 592),
    c("EC", "Ecuador", 593),
    c("GF", "French Guiana", 594),
    c("PY", "Paraguay", 595),
    c("MQ", "Martinique", 596),
    c("SR", "Suriname", 597),
    c("UY", "Uruguay", 598),
    c("CW", "Curaçao", 599),
    c("BQ", "Caribbean Netherlands", 599),
    // Zone 6: Southeast Asia and Oceania.
    c("MY", "Malaysia", 60),
    c("AU", "Australia", 61),
    c("CX", "Christmas Island", 61),
    c("CC", "Cocos (Keeling) Islands", 61),
    c("ID", "Indonesia", 62),
    c("PH", "Philippines", 63),
    c("NZ", "New Zealand", 64),
    c("PN", "Pitcairn Islands", 64),
    c("SG", "Singapore", 65),
    c("TH", "Thailand", 66),
    c("TL", "Timor-Leste", 670),
    c("NF", "Norfolk Island", 672),
    c("BN", "Brunei", 673),
    c("NR", "Nauru", 674),
    c("PG", "Papua New Guinea", 675),
    c("TO", "Tonga", 676),
    c("SB", "Solomon Islands", 677),
    c("VU", "Vanuatu", 678),
    c("FJ", "Fiji", 679),
    c("PW", "Palau", 680),
    c("WF", "Wallis and Futuna", 681),
    c("CK", "Cook Islands", 682),
    c("NU", "Niue", 683),
    c("WS", "Samoa", 685),
    c("KI", "Kiribati", 686),
    c("NC", "New Caledonia", 687),
    c("TV", "Tuvalu", 688),
    c("PF", "French Polynesia", 689),
    c("TK", "Tokelau", 690),
    c("FM", "Micronesia", 691),
    c("MH", "Marshall Islands", 692),
    // Zone 8: East Asia.
    c("JP", "Japan", 81),
    c("KR", "South Korea", 82),
    c("VN", "Vietnam", 84),
    c("KP", "North Korea", 850),
    c("HK", "Hong Kong", 852),
    c("MO", "Macao", 853),
    c("KH", "Cambodia", 855),
    c("LA", "Laos", 856),
    c("CN", "China", 86),
    c("BD", "Bangladesh", 880),
    c("TW", "Taiwan", 886),
    // Zone 9: West, Central and South Asia.
    c("TR", "Turkey", 90),
    c("IN", "India", 91),
    c("PK", "Pakistan", 92),
    c("AF", "Afghanistan", 93),
    c("LK", "Sri Lanka", 94),
    c("MM", "Myanmar", 95),
    c("MV", "Maldives", 960),
    c("LB", "Lebanon", 961),
    c("JO", "Jordan", 962),
    c("SY", "Syria", 963),
    c("IQ", "Iraq", 964),
    c("KW", "Kuwait", 965),
    c("SA", "Saudi Arabia", 966),
    c("YE", "Yemen", 967),
    c("OM", "Oman", 968),
    c("PS", "Palestine", 970),
    c("AE", "United Arab Emirates", 971),
    c("IL", "Israel", 972),
    c("BH", "Bahrain", 973),
    c("QA", "Qatar", 974),
    c("BT", "Bhutan", 975),
    c("MN", "Mongolia", 976),
    c("NP", "Nepal", 977),
    c("IR", "Iran", 98),
    c("TJ", "Tajikistan", 992),
    c("TM", "Turkmenistan", 993),
    c("AZ", "Azerbaijan", 994),
    c("GE", "Georgia", 995),
    c("KG", "Kyrgyzstan", 996),
    c("UZ", "Uzbekistan", 998),
];

/// The main country of every calling code that several countries share.
/// Codes used by a single country need no entry.
const PRIMARY: &[(u16, &str)] = &[
    (1, "US"),
    (7, "RU"),
    (39, "IT"),
    (44, "GB"),
    (47, "NO"),
    (61, "AU"),
    (64, "NZ"),
    (212, "MA"),
    (262, "RE"),
    (358, "FI"),
    (590, "GP"),
    (599, "CW"),
];

/// Digit prefixes (calling code included) that identify a territory sharing
/// a calling code with its main country. +1 and +7 are handled separately.
const SUB_PREFIXES: &[(&str, &str)] = &[
    ("3906698", "VA"),
    ("441481", "GG"),
    ("441534", "JE"),
    ("441624", "IM"),
    ("4779", "SJ"),
    ("6189162", "CC"),
    ("6189164", "CX"),
    ("262269", "YT"),
    ("262639", "YT"),
    ("35818", "AX"),
    ("5993", "BQ"),
    ("5994", "BQ"),
    ("5997", "BQ"),
];

/// NANP area codes that belong to a member other than the United States.
const NANP_AREA_CODES: &[(&str, &str)] = &[
    // Canada.
    ("204", "CA"),
    ("226", "CA"),
    ("236", "CA"),
    ("249", "CA"),
    ("250", "CA"),
    ("263", "CA"),
    ("289", "CA"),
    ("306", "CA"),
    ("343", "CA"),
    ("354", "CA"),
    ("365", "CA"),
    ("367", "CA"),
    ("368", "CA"),
    ("382", "CA"),
    ("403", "CA"),
    ("416", "CA"),
    ("418", "CA"),
    ("428", "CA"),
    ("431", "CA"),
    ("437", "CA"),
    ("438", "CA"),
    ("450", "CA"),
    ("468", "CA"),
    ("474", "CA"),
    ("506", "CA"),
    ("514", "CA"),
    ("519", "CA"),
    ("548", "CA"),
    ("579", "CA"),
    ("581", "CA"),
    ("584", "CA"),
    ("587", "CA"),
    ("604", "CA"),
    ("613", "CA"),
    ("639", "CA"),
    ("647", "CA"),
    ("672", "CA"),
    ("683", "CA"),
    ("705", "CA"),
    ("709", "CA"),
    ("742", "CA"),
    ("753", "CA"),
    ("778", "CA"),
    ("780", "CA"),
    ("782", "CA"),
    ("807", "CA"),
    ("819", "CA"),
    ("825", "CA"),
    ("867", "CA"),
    ("873", "CA"),
    ("879", "CA"),
    ("902", "CA"),
    ("905", "CA"),
    // Caribbean and Pacific members and territories.
    ("242", "BS"),
    ("246", "BB"),
    ("264", "AI"),
    ("268", "AG"),
    ("284", "VG"),
    ("340", "VI"),
    ("345", "KY"),
    ("441", "BM"),
    ("473", "GD"),
    ("649", "TC"),
    ("658", "JM"),
    ("664", "MS"),
    ("670", "MP"),
    ("671", "GU"),
    ("684", "AS"),
    ("721", "SX"),
    ("758", "LC"),
    ("767", "DM"),
    ("784", "VC"),
    ("787", "PR"),
    ("809", "DO"),
    ("829", "DO"),
    ("849", "DO"),
    ("868", "TT"),
    ("869", "KN"),
    ("876", "JM"),
    ("939", "PR"),
];

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
