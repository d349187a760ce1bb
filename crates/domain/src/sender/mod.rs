//! Recognising which online service sent an SMS.

use crate::text::{find_all, find_words, lower};

mod candidates;
mod services;

use candidates::Name;
use services::SERVICES;

/// Recognises the online service an SMS comes from.
///
/// Looks first at the sender: an alphanumeric sender id such as `"GOOGLE"`,
/// `"WhatsApp"` or the Indian-style `"VM-AMAZON"` (case, spaces and
/// punctuation are ignored; numeric senders never match). Then at the body:
/// a Chinese signature such as `【腾讯科技】` (Tencent), `【微信】` (WeChat)
/// or `【支付宝】` (Alibaba), and finally the earliest clear mention of a
/// service name as a whole word ("Use 123456 to verify your Telegram
/// account" → `"Telegram"`). Twitter is reported as `"X"`.
///
/// Returns `None` when nothing matches.
///
/// ```
/// use domain::recognise_service;
/// assert_eq!(recognise_service("GOOGLE", ""), Some("Google"));
/// assert_eq!(recognise_service("+14155550123", "【微信】验证码：123456"), Some("WeChat"));
/// assert_eq!(recognise_service("12345", "hello"), None);
/// ```
pub fn recognise_service(from: &str, body: &str) -> Option<&'static str> {
    by_sender(from)
        .or_else(|| by_signature(body))
        .or_else(|| by_mention(body))
}

/// A service [`recognise_service`] can name, for lists and search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownService {
    /// The name [`recognise_service`] returns (`"WhatsApp"`, `"X"`).
    pub name: &'static str,
    /// Its names in scripts written without spaces (`"微信"`), if any.
    pub cjk_names: &'static [&'static str],
}

impl KnownService {
    /// Its Chinese name: the first of [`KnownService::cjk_names`] written
    /// in Han characters only (not a Korean or Japanese one).
    pub fn chinese_name(&self) -> Option<&'static str> {
        self.cjk_names
            .iter()
            .copied()
            .find(|n| !n.is_empty() && n.chars().all(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)))
    }
}

/// Every service [`recognise_service`] can name, in a fixed order.
///
/// ```
/// let wechat = domain::known_services().find(|s| s.name == "WeChat").unwrap();
/// assert_eq!(wechat.chinese_name(), Some("微信"));
/// ```
pub fn known_services() -> impl Iterator<Item = KnownService> {
    SERVICES.iter().map(|s| KnownService {
        name: s.name,
        cjk_names: s.cjk_names,
    })
}

/// Matches an alphanumeric sender id.
fn by_sender(from: &str) -> Option<&'static str> {
    let trimmed = from.trim();
    // Indian DLT headers prefix the id with an operator/region code: "VM-GOOGLE".
    let chars: Vec<char> = trimmed.chars().collect();
    let id_chars = match chars.as_slice() {
        [a, b, '-', rest @ ..]
            if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() && rest.len() >= 3 =>
        {
            rest
        }
        all => all,
    };
    let id: String = lower(id_chars)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    if !id.chars().any(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    SERVICES
        .iter()
        .find(|s| s.sender_ids.contains(&id.as_str()))
        .map(|s| s.name)
}

/// Matches the `【...】` or `[...]` signature of a message against service
/// names.
fn by_signature(body: &str) -> Option<&'static str> {
    let mut inside: Option<String> = None;
    for c in body.chars() {
        match c {
            '【' | '[' => inside = Some(String::new()),
            '】' | ']' => {
                if let Some(tag) = inside.take()
                    && let Some(name) = signature_service(tag.trim())
                {
                    return Some(name);
                }
            }
            _ => {
                if let Some(tag) = inside.as_mut() {
                    if tag.chars().count() >= 40 {
                        inside = None;
                    } else {
                        tag.push(c);
                    }
                }
            }
        }
    }
    None
}

fn signature_service(tag: &str) -> Option<&'static str> {
    if tag.is_empty() {
        return None;
    }
    let lowered = tag.to_lowercase();
    SERVICES
        .iter()
        .find(|s| {
            s.cjk_names.contains(&tag)
                || s.body_words.contains(&lowered.as_str())
                || s.body_words_exact_case.contains(&tag)
                || (s.sender_ids.contains(&lowered.as_str()) && lowered.chars().count() > 2)
        })
        .map(|s| s.name)
}

/// The service whose name appears earliest in the body.
fn by_mention(body: &str) -> Option<&'static str> {
    mention_among(body, &candidates::candidates(body))
}

/// [`by_mention`], looking for the names `present` allows only.
fn mention_among(body: &str, present: &candidates::Candidates) -> Option<&'static str> {
    let chars: Vec<char> = body.chars().collect();
    let mut best: Option<(usize, &'static str)> = None;
    let mut consider = |positions: Vec<usize>, name: &'static str| {
        if let Some(&first) = positions.first()
            && best.is_none_or(|(at, _)| first < at)
        {
            best = Some((first, name));
        }
    };
    for (s, service) in SERVICES.iter().enumerate() {
        for (w, word) in service.body_words.iter().enumerate() {
            if !present.has(Name::Word(s, w)) {
                continue;
            }
            let needle: Vec<char> = word.chars().collect();
            consider(find_words(&chars, &needle, true), service.name);
        }
        for (w, word) in service.body_words_exact_case.iter().enumerate() {
            if !present.has(Name::ExactWord(s, w)) {
                continue;
            }
            let needle: Vec<char> = word.chars().collect();
            let single_word = !needle.iter().any(|c| c.is_whitespace());
            let found = find_words(&chars, &needle, false)
                .into_iter()
                .filter(|&at| !single_word || names_service(&chars, at, needle.len()))
                .collect();
            consider(found, service.name);
        }
        for (w, name) in service.cjk_names.iter().enumerate() {
            if !present.has(Name::Cjk(s, w)) {
                continue;
            }
            let needle: Vec<char> = name.chars().collect();
            consider(find_all(&chars, &needle, false), service.name);
        }
    }
    best.map(|(_, name)| name)
}

/// Words that, right after a capitalised name at the start of a sentence,
/// show that the name is the service ("Bolt code: ...", "Steam Guard ...")
/// rather than an ordinary word ("Grab a friend", "Zoom in on ...").
const SERVICE_CONTEXT_AFTER: &[&str] = &[
    "code",
    "codes",
    "verification",
    "security",
    "confirmation",
    "login",
    "account",
    "id",
    "guard",
    "otp",
    "pin",
    "password",
    "app",
    "pay",
    "wallet",
    "team",
    "support",
    "here",
];

/// Whether the case-sensitive match of an ordinary-looking word at
/// `at..at + len` names the service. Inside a sentence a capitalised word
/// is a name; at the start of a sentence it only counts when followed by a
/// colon, a dash, a closing bracket or a word such as "code" or "account".
fn names_service(chars: &[char], at: usize, len: usize) -> bool {
    let mut i = at;
    while i > 0 && chars.get(i - 1).is_some_and(|c| c.is_whitespace()) {
        i -= 1;
    }
    let sentence_start = i == 0
        || chars
            .get(i - 1)
            .is_some_and(|&c| matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '"' | '>'));
    if !sentence_start {
        return true;
    }
    let mut j = at + len;
    while chars.get(j).is_some_and(|&c| c == ' ') {
        j += 1;
    }
    match chars.get(j) {
        None => true,
        Some(&(':' | '：' | '-' | '–' | ']' | '】' | ',' | '\n')) => true,
        Some(&c) if c.is_alphabetic() => {
            let mut e = j;
            while chars.get(e).is_some_and(|c| c.is_alphabetic()) {
                e += 1;
            }
            let word = lower(chars.get(j..e).unwrap_or(&[]));
            SERVICE_CONTEXT_AFTER.contains(&word.as_str())
        }
        Some(_) => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sender_ids() {
        assert_eq!(recognise_service("GOOGLE", ""), Some("Google"));
        assert_eq!(recognise_service("Google", ""), Some("Google"));
        assert_eq!(recognise_service("WhatsApp", ""), Some("WhatsApp"));
        assert_eq!(recognise_service("VM-WHTSAP", ""), Some("WhatsApp"));
        assert_eq!(recognise_service("AD-AMAZON", ""), Some("Amazon"));
        assert_eq!(recognise_service(" telegram ", ""), Some("Telegram"));
        assert_eq!(recognise_service("FACEBOOK", ""), Some("Facebook"));
        assert_eq!(recognise_service("Instagram", ""), Some("Instagram"));
        assert_eq!(recognise_service("Microsoft", ""), Some("Microsoft"));
        assert_eq!(recognise_service("Apple", ""), Some("Apple"));
        assert_eq!(recognise_service("Uber", ""), Some("Uber"));
        assert_eq!(recognise_service("Discord", ""), Some("Discord"));
        assert_eq!(recognise_service("TikTok", ""), Some("TikTok"));
        assert_eq!(recognise_service("Twitter", ""), Some("X"));
        assert_eq!(recognise_service("X", ""), Some("X"));
        assert_eq!(recognise_service("PayPal", ""), Some("PayPal"));
        assert_eq!(recognise_service("Tinder", ""), Some("Tinder"));
        assert_eq!(recognise_service("Signal", ""), Some("Signal"));
        assert_eq!(recognise_service("WeChat", ""), Some("WeChat"));
        assert_eq!(recognise_service("Tencent", ""), Some("Tencent"));
        assert_eq!(recognise_service("Alipay", ""), Some("Alibaba"));
        assert_eq!(recognise_service("STEAM", ""), Some("Steam"));
        assert_eq!(recognise_service("Netflix", ""), Some("Netflix"));
        assert_eq!(recognise_service("LinkedIn", ""), Some("LinkedIn"));
        assert_eq!(recognise_service("Snapchat", ""), Some("Snapchat"));
        assert_eq!(recognise_service("Yahoo!", ""), Some("Yahoo"));
        assert_eq!(recognise_service("Airbnb", ""), Some("Airbnb"));
        assert_eq!(recognise_service("BINANCE", ""), Some("Binance"));
        assert_eq!(recognise_service("Coinbase", ""), Some("Coinbase"));
        assert_eq!(recognise_service("Pay Pal", ""), Some("PayPal"));
    }

    #[test]
    fn every_service_is_recognised_by_its_own_name() {
        for service in SERVICES {
            assert_eq!(recognise_service(service.name, ""), Some(service.name));
        }
        assert_eq!(SERVICES.len(), 55);
    }

    #[test]
    fn unknown_or_numeric_senders_fall_back_to_the_body() {
        assert_eq!(recognise_service("+14155550123", "hello"), None);
        assert_eq!(recognise_service("32665", "hi"), None);
        assert_eq!(recognise_service("", ""), None);
        assert_eq!(recognise_service("MYBANK", "Your balance is $12"), None);
        assert_eq!(recognise_service("Googler", ""), None);
        assert_eq!(
            recognise_service("+14155550123", "Your WhatsApp code: 123-456"),
            Some("WhatsApp")
        );
    }

    #[test]
    fn body_mentions() {
        let cases = [
            ("G-482913 is your Google verification code.", Some("Google")),
            (
                "Use 123456 to verify your Telegram account. Call +1 415 555 0123 if...",
                Some("Telegram"),
            ),
            ("Your Uber code is 4821", Some("Uber")),
            ("Your Apple ID Code is: 304912", Some("Apple")),
            ("Your Discord verification code is 902-113", Some("Discord")),
            ("Your Steam Guard code: F7K2M", Some("Steam")),
            ("2024 is your Signal verification code", Some("Signal")),
            ("[TikTok] 482913 is your verification code", Some("TikTok")),
            ("Your Twitter confirmation code is 4821", Some("X")),
            ("Your PayPal code is 739104", Some("PayPal")),
            (
                "Your LinkedIn verification code is 123456",
                Some("LinkedIn"),
            ),
            ("Binance: code 123456", Some("Binance")),
            ("Sign in to Google, not Microsoft", Some("Google")),
            ("您的Google验证码是123456", Some("Google")),
            ("Amazon's code: 123456", Some("Amazon")),
            // Ordinary words are not services.
            ("I ate an apple with a weak signal in the steam room", None),
            ("Uberall ist es schön", None),
            ("googled it", None),
            ("Your code is 4821", None),
        ];
        for (body, expected) in cases {
            assert_eq!(
                recognise_service("+10000000000", body),
                expected,
                "{body:?}"
            );
        }
    }

    #[test]
    fn chinese_signatures() {
        let cases = [
            ("【腾讯科技】验证码：839201，5分钟内有效", "Tencent"),
            ("【腾讯】您的QQ验证码是 123456", "Tencent"),
            ("【微信】您的验证码是 482913，请勿泄露给他人。", "WeChat"),
            ("【支付宝】校验码 123456，您正在进行身份验证", "Alibaba"),
            ("【淘宝】您的登录码为 771234", "Alibaba"),
            ("【阿里云】您的短信验证码为 2468", "Alibaba"),
            ("验证码 123456，用于微信登录。【腾讯科技】", "Tencent"),
            ("【抖音】验证码731920", "Douyin"),
            ("您正在登录微信，验证码 123456", "WeChat"),
            ("[WeChat] Your code is 123456", "WeChat"),
        ];
        for (body, expected) in cases {
            assert_eq!(recognise_service("1069", body), Some(expected), "{body:?}");
        }
        assert_eq!(
            recognise_service("1069", "【京东】验证码 123456"),
            Some("JD")
        );
        assert_eq!(recognise_service("1069", "【中国移动】验证码 123456"), None);
    }

    #[test]
    fn sender_wins_over_body() {
        assert_eq!(
            recognise_service("Google", "Your Telegram code is 12345"),
            Some("Google")
        );
    }

    #[test]
    fn never_panics() {
        let samples = [
            "",
            "-",
            "--",
            "A-",
            "AB-",
            "AB-C",
            "é-éé",
            "【",
            "】",
            "【【】】",
            "[",
            "]]",
            "[]",
            "【】",
            "🙂",
            "ǅ-ǅǅǅ",
            "\u{0}",
            "İİİ",
            "ß",
            "【腾讯",
            "腾讯】",
        ];
        for from in samples {
            for body in samples {
                let _ = recognise_service(from, body);
            }
        }
        let long = "【".repeat(1000) + &"x".repeat(1000) + "】";
        let _ = recognise_service(&long, &long);
    }
}
