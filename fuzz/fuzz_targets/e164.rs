//! `E164::parse` on any text: no panic, and whatever it accepts is canonical
//! and reads back as the same number in every form we print it.
#![no_main]

use domain::E164;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(number) = E164::parse(text) else {
        return;
    };
    let canonical = number.as_str();
    let digits = number.digits();
    assert_eq!(canonical, format!("+{digits}"));
    assert!(
        (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()),
        "{text:?} gave {canonical}"
    );
    assert!(!digits.starts_with('0'), "{text:?} gave {canonical}");
    assert_eq!(number.to_string(), canonical);
    // The calling code is the start of the digits, the national number the rest.
    assert_eq!(
        format!("{}{}", number.calling_code(), number.national_number()),
        digits,
        "{text:?}"
    );
    assert!(!number.country().iso2.is_empty());
    for form in [canonical, digits, &number.display_international()] {
        assert_eq!(
            E164::parse(form).as_ref(),
            Ok(&number),
            "{text:?} gave {canonical}, but {form:?} does not read back"
        );
    }
});
