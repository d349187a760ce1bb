#![doc = include_str!("../README.md")]

pub mod country;
mod csv;
mod hostile;
pub mod otp;
pub mod phone;
pub mod sender;
mod text;
mod written;

pub use country::{Country, all_countries, country_by_iso2};
pub use csv::csv_cell;
pub use hostile::{log_safe, log_safe_clipped, storable_text};
pub use otp::extract_code;
pub use phone::{E164, PhoneError};
pub use sender::{KnownService, known_services, recognise_service};
pub use written::Written;

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds every pair and triple of awkward fragments (multi-byte UTF-8,
    /// combining marks, separators, digits in other scripts, ...) to every
    /// public function. The test passes if nothing panics.
    #[test]
    fn nothing_panics_on_odd_input() {
        let fragments = [
            "",
            " ",
            "+",
            "-",
            "00",
            "0",
            "1",
            "7",
            "44",
            "4155550123",
            "123456",
            "123-456",
            "G-",
            "code",
            "验证码",
            "：",
            "，",
            "【",
            "】",
            "[",
            "]",
            "$",
            "€",
            "é",
            "e\u{301}",
            "🙂",
            "🇺🇸",
            "\u{0}",
            "\u{FEFF}",
            "\u{00A0}",
            "\u{202E}",
            "١٢٣",
            "１２３",
            "İ",
            "ß",
            "ǅ",
            ".",
            "(",
            ")",
            "/",
            "#",
            "%",
            "Google",
            "微信",
            "код",
        ];
        let mut inputs = Vec::new();
        for a in fragments {
            for b in fragments {
                inputs.push(format!("{a}{b}"));
                for c in ["", "1", "🙂", " 4821", "+1 876 555 0123"] {
                    inputs.push(format!("{a}{b}{c}"));
                    inputs.push(format!("{c}{a}{b}"));
                }
            }
        }
        for input in &inputs {
            if let Ok(number) = E164::parse(input) {
                let _ = number.display_international();
                let _ = number.national_number();
                let _ = number.country().flag();
            }
            let _ = extract_code(input);
            let _ = recognise_service(input, input);
            let _ = country_by_iso2(input);
        }
        assert!(!all_countries().is_empty());
    }
}
