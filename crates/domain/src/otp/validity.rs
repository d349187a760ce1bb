//! How long a code stays valid, when the SMS says so: "valid for 5
//! minutes", "expires in 10 min", "5分钟内有效", "有效期为10分钟", "válido por
//! 5 minutos", "gültig für 10 Minuten", "действителен 5 минут"...
//!
//! A duration is a number followed by a unit of time, with a word that
//! speaks of validity or expiry shortly before the number or right after the
//! unit. The first such duration of the text counts; one over a day, or of
//! nothing, is not believed.

use std::time::Duration;

/// Units of time, lower case, longest first where one begins another. Each
/// is a word of its own in scripts with spaces (so "5 m" is not "5 mins").
const UNITS: &[(&str, u64)] = &[
    // Seconds.
    ("seconds", 1),
    ("second", 1),
    ("secs", 1),
    ("sec", 1),
    ("segundos", 1),
    ("segundo", 1),
    ("secondes", 1),
    ("sekunden", 1),
    ("secondi", 1),
    ("секунд", 1),
    ("秒钟", 1),
    ("秒鐘", 1),
    ("秒", 1),
    ("s", 1),
    // Minutes.
    ("minutes", 60),
    ("minute", 60),
    ("minutos", 60),
    ("minuto", 60),
    ("minuten", 60),
    ("minuti", 60),
    ("minut", 60),
    ("mins", 60),
    ("min", 60),
    ("минуты", 60),
    ("минуту", 60),
    ("минут", 60),
    ("мин", 60),
    ("分钟", 60),
    ("分鐘", 60),
    ("分", 60),
    ("m", 60),
    // Hours.
    ("hours", 3600),
    ("hour", 3600),
    ("hrs", 3600),
    ("hr", 3600),
    ("horas", 3600),
    ("hora", 3600),
    ("heures", 3600),
    ("heure", 3600),
    ("stunden", 3600),
    ("stunde", 3600),
    ("ore", 3600),
    ("ora", 3600),
    ("часов", 3600),
    ("часа", 3600),
    ("час", 3600),
    ("小时", 3600),
    ("小時", 3600),
    ("h", 3600),
];

/// Words (or beginnings of words) that say a duration is how long the code
/// lasts, lower case.
const VALIDITY_WORDS: &[&str] = &[
    "valid",
    "expir",
    "within",
    "válid",
    "valabl",
    "gültig",
    "gultig",
    "läuft",
    "vence",
    "caduc",
    "scade",
    "scadr",
    "geldig",
    "berlaku",
    "действ",
    "истек",
    "течение",
    "有效",
    "过期",
    "過期",
    "失效",
];

/// How far before the number (in characters) a validity word may stand.
const BEFORE: usize = 40;
/// How far after the unit (in characters) a validity word may stand
/// ("5 minutes valid", "5分钟内有效").
const AFTER: usize = 12;
/// The longest validity believed.
const MAX: Duration = Duration::from_secs(24 * 3600);

/// How long the code of `body` stays valid, when the text says so.
pub fn validity(body: &str) -> Option<Duration> {
    let lower: Vec<char> = body.to_lowercase().chars().collect();
    let mut i = 0;
    while i < lower.len() {
        if !lower[i].is_ascii_digit() || (i > 0 && lower[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let start = i;
        while i < lower.len() && lower[i].is_ascii_digit() {
            i += 1;
        }
        let Some((unit_end, secs)) = unit_after(&lower, i) else {
            continue;
        };
        let Some(n) = lower[start..i]
            .iter()
            .collect::<String>()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
        else {
            continue;
        };
        let before = text(&lower, start.saturating_sub(BEFORE), start);
        let after = text(&lower, unit_end, (unit_end + AFTER).min(lower.len()));
        let says_validity = |near: &str| VALIDITY_WORDS.iter().any(|word| near.contains(word));
        if says_validity(&before) || says_validity(&after) {
            let duration = Duration::from_secs(n.saturating_mul(secs));
            return (duration <= MAX).then_some(duration);
        }
    }
    None
}

/// The unit of time starting at `at` (after optional spaces): where it
/// ends and how many seconds it is.
fn unit_after(text: &[char], at: usize) -> Option<(usize, u64)> {
    let mut at = at;
    while at < text.len() && text[at].is_whitespace() {
        at += 1;
    }
    UNITS.iter().find_map(|(unit, secs)| {
        let end = at + unit.chars().count();
        if !text.get(at..end)?.iter().copied().eq(unit.chars()) {
            return None;
        }
        let spaced = unit.chars().all(|c| c.is_alphabetic() && !is_cjk(c));
        let whole_word = !spaced || text.get(end).is_none_or(|c| !c.is_alphanumeric());
        whole_word.then_some((end, *secs))
    })
}

/// Ideographs: written without spaces, so their units need no word end.
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

fn text(chars: &[char], from: usize, to: usize) -> String {
    chars[from..to].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_is_read_in_the_languages_codes_come_in() {
        let minutes = |n: u64| Some(Duration::from_secs(n * 60));
        let cases = [
            ("Your code is 482913. Valid for 5 minutes.", minutes(5)),
            (
                "G-717464 is your Google verification code. It expires in 10 min",
                minutes(10),
            ),
            ("Use 4829 within 15 mins. Do not share it.", minutes(15)),
            (
                "Code: 1234 (expires after 1 hour)",
                Some(Duration::from_secs(3600)),
            ),
            (
                "Your OTP is 998877, valid for 30 seconds",
                Some(Duration::from_secs(30)),
            ),
            (
                "Your code 123456 is valid 2h",
                Some(Duration::from_secs(7200)),
            ),
            (
                "【腾讯科技】验证码123456，5分钟内有效，请勿泄露。",
                minutes(5),
            ),
            ("您的验证码是 889900，有效期为10分钟。", minutes(10)),
            ("您的驗證碼為 5566，10分鐘內有效", minutes(10)),
            ("Tu código es 443322. Válido por 5 minutos.", minutes(5)),
            ("Seu código: 112233. Expira em 3 minutos", minutes(3)),
            ("Votre code 667788 est valable 10 minutes.", minutes(10)),
            ("Ihr Code 5544 ist 15 Minuten gültig.", minutes(15)),
            (
                "Ihr Bestätigungscode 778899 ist gültig für 10 Minuten",
                minutes(10),
            ),
            ("Il codice 3344 scade tra 5 minuti", minutes(5)),
            ("Код 5566 действителен 5 минут", minutes(5)),
            ("Ваш код 7788. Действует в течение 10 минут", minutes(10)),
        ];
        for (body, expected) in cases {
            assert_eq!(validity(body), expected, "{body}");
        }
    }

    #[test]
    fn durations_that_are_not_a_validity_are_not_taken() {
        for body in [
            "Your code is 482913.",
            "Your code is 482913. Call us within the next days.",
            "Your parcel arrives in 30 minutes. Code 4411",
            "Code 1234 valid for 0 minutes",
            "Code 1234 valid for 90000 hours",
            "Code 1234 valid for 5 meters",
            "Order 5 mini pizzas, code 4455 valid today",
            "验证码 123456",
            "",
        ] {
            assert_eq!(validity(body), None, "{body}");
        }
    }
}
