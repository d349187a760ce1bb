//! Recognising which online service sent an SMS.

use crate::text::{find_all, find_words, lower};

/// How a service shows up in messages.
struct Service {
    /// Display name returned to callers.
    name: &'static str,
    /// Alphanumeric sender ids, lower case, letters and digits only.
    sender_ids: &'static [&'static str],
    /// Names matched as whole words in the body, ignoring case.
    body_words: &'static [&'static str],
    /// Names matched as whole words in the body, case-sensitively, because
    /// in lower case they are ordinary words ("signal", "steam", "apple").
    /// A single word at the start of a sentence only counts when followed
    /// by a colon or a word such as "code" (see [`names_service`]), so that
    /// "Grab a friend" or "Zoom in" name nothing.
    body_words_exact_case: &'static [&'static str],
    /// Names in scripts written without spaces; matched anywhere, and as
    /// the `【...】` signature that Chinese messages start or end with.
    cjk_names: &'static [&'static str],
}

const SERVICES: &[Service] = &[
    Service {
        name: "Google",
        sender_ids: &["google", "googl", "goog", "gmail", "youtube"],
        body_words: &["google", "gmail", "youtube"],
        body_words_exact_case: &[],
        cjk_names: &["谷歌"],
    },
    Service {
        name: "WhatsApp",
        sender_ids: &["whatsapp", "whtsap", "whatsap", "wtsapp"],
        body_words: &["whatsapp"],
        body_words_exact_case: &[],
        cjk_names: &[],
    },
    Service {
        name: "Telegram",
        sender_ids: &["telegram", "tlgrm"],
        body_words: &["telegram"],
        body_words_exact_case: &[],
        cjk_names: &[],
    },
    Service {
        name: "Facebook",
        sender_ids: &["facebook", "fb", "fbotp", "fbook", "meta"],
        body_words: &["facebook"],
        body_words_exact_case: &[],
        cjk_names: &["脸书"],
    },
    Service {
        name: "Instagram",
        sender_ids: &["instagram", "insta", "instgr", "igram"],
        body_words: &["instagram"],
        body_words_exact_case: &[],
        cjk_names: &[],
    },
    Service {
        name: "Microsoft",
        sender_ids: &["microsoft", "msft", "mcrsft", "outlook", "hotmail", "skype"],
        body_words: &["microsoft", "outlook", "outlook.com", "hotmail", "skype"],
        body_words_exact_case: &[],
        cjk_names: &["微软"],
    },
    Service {
        name: "Apple",
        sender_ids: &["apple", "icloud"],
        body_words: &["icloud"],
        body_words_exact_case: &["Apple", "APPLE"],
        cjk_names: &["苹果"],
    },
    Service {
        name: "Amazon",
        sender_ids: &["amazon", "amazn", "amzn", "amazonin", "aws"],
        body_words: &["amazon", "aws"],
        body_words_exact_case: &[],
        cjk_names: &["亚马逊", "アマゾン"],
    },
    Service {
        name: "Uber",
        sender_ids: &["uber"],
        body_words: &["uber"],
        body_words_exact_case: &[],
        cjk_names: &["优步"],
    },
    Service {
        name: "Discord",
        sender_ids: &["discord"],
        body_words: &[],
        body_words_exact_case: &["Discord", "DISCORD"],
        cjk_names: &[],
    },
    Service {
        name: "TikTok",
        sender_ids: &["tiktok", "tiktk"],
        body_words: &["tiktok"],
        body_words_exact_case: &[],
        cjk_names: &[],
    },
    Service {
        name: "Douyin",
        sender_ids: &["douyin"],
        body_words: &["douyin"],
        body_words_exact_case: &[],
        cjk_names: &["抖音"],
    },
    Service {
        name: "X",
        sender_ids: &["twitter", "twttr", "x"],
        body_words: &["twitter"],
        body_words_exact_case: &["X verification", "X account", "X code", "X confirmation"],
        cjk_names: &["推特"],
    },
    Service {
        name: "PayPal",
        sender_ids: &["paypal"],
        body_words: &["paypal"],
        body_words_exact_case: &[],
        cjk_names: &["贝宝"],
    },
    Service {
        name: "Tinder",
        sender_ids: &["tinder"],
        body_words: &["tinder"],
        body_words_exact_case: &[],
        cjk_names: &[],
    },
    Service {
        name: "Signal",
        sender_ids: &["signal"],
        body_words: &[],
        body_words_exact_case: &["Signal", "SIGNAL"],
        cjk_names: &[],
    },
    Service {
        name: "WeChat",
        sender_ids: &["wechat", "weixin"],
        body_words: &["wechat", "weixin"],
        body_words_exact_case: &[],
        cjk_names: &["微信"],
    },
    Service {
        name: "Tencent",
        sender_ids: &["tencent", "qq"],
        body_words: &["tencent"],
        body_words_exact_case: &["QQ"],
        cjk_names: &["腾讯科技", "腾讯云", "腾讯"],
    },
    Service {
        name: "Alibaba",
        sender_ids: &[
            "alibaba",
            "alipay",
            "taobao",
            "aliyun",
            "aliexpress",
            "tmall",
        ],
        body_words: &[
            "alibaba",
            "alipay",
            "taobao",
            "aliyun",
            "aliexpress",
            "tmall",
        ],
        body_words_exact_case: &[],
        cjk_names: &[
            "阿里巴巴",
            "支付宝",
            "淘宝",
            "阿里云",
            "天猫",
            "闲鱼",
            "钉钉",
        ],
    },
    Service {
        name: "Steam",
        sender_ids: &["steam", "valve"],
        body_words: &[],
        body_words_exact_case: &["Steam", "STEAM"],
        cjk_names: &[],
    },
    Service {
        name: "Netflix",
        sender_ids: &["netflix"],
        body_words: &["netflix"],
        body_words_exact_case: &[],
        cjk_names: &["网飞"],
    },
    Service {
        name: "LinkedIn",
        sender_ids: &["linkedin"],
        body_words: &["linkedin"],
        body_words_exact_case: &[],
        cjk_names: &["领英"],
    },
    Service {
        name: "Snapchat",
        sender_ids: &["snapchat", "snap"],
        body_words: &["snapchat"],
        body_words_exact_case: &[],
        cjk_names: &[],
    },
    Service {
        name: "Yahoo",
        sender_ids: &["yahoo"],
        body_words: &["yahoo"],
        body_words_exact_case: &[],
        cjk_names: &["雅虎"],
    },
    Service {
        name: "Airbnb",
        sender_ids: &["airbnb"],
        body_words: &["airbnb"],
        body_words_exact_case: &[],
        cjk_names: &["爱彼迎"],
    },
    Service {
        name: "Binance",
        sender_ids: &["binance"],
        body_words: &["binance"],
        body_words_exact_case: &[],
        cjk_names: &["币安"],
    },
    Service {
        name: "Coinbase",
        sender_ids: &["coinbase"],
        body_words: &["coinbase"],
        body_words_exact_case: &[],
        cjk_names: &[],
    },
    Service {
        name: "Viber",
        sender_ids: &["viber"],
        body_words: &["viber"],
        body_words_exact_case: &[],
        cjk_names: &[],
    },
    Service {
        name: "Line",
        sender_ids: &["line", "linecorp"],
        body_words: &[],
        body_words_exact_case: &["LINE"],
        cjk_names: &[],
    },
    Service {
        name: "Kakao",
        sender_ids: &["kakao", "kakaotalk"],
        body_words: &["kakao", "kakaotalk"],
        body_words_exact_case: &[],
        cjk_names: &["카카오톡", "카카오"],
    },
    Service {
        name: "Yandex",
        sender_ids: &["yandex", "yandexid"],
        body_words: &["yandex", "яндекс", "яндекса", "яндексе", "яндексом"],
        body_words_exact_case: &[],
        cjk_names: &[],
    },
    Service {
        name: "VK",
        sender_ids: &["vk", "vkontakte", "vkcom"],
        body_words: &["vkontakte", "вконтакте", "vk.com"],
        body_words_exact_case: &["VK", "ВК"],
        cjk_names: &[],
    },
    Service {
        name: "Mail.ru",
        sender_ids: &["mailru"],
        body_words: &["mail.ru"],
        body_words_exact_case: &[],
        cjk_names: &[],
    },
    Service {
        name: "Naver",
        sender_ids: &["naver"],
        body_words: &["naver"],
        body_words_exact_case: &[],
        cjk_names: &["네이버"],
    },
    Service {
        name: "Grab",
        sender_ids: &["grab"],
        body_words: &[],
        body_words_exact_case: &["Grab", "GRAB"],
        cjk_names: &[],
    },
    Service {
        name: "Shopee",
        sender_ids: &["shopee"],
        body_words: &["shopee"],
        body_words_exact_case: &[],
        cjk_names: &["虾皮"],
    },
    Service {
        name: "Revolut",
        sender_ids: &["revolut"],
        body_words: &["revolut"],
        body_words_exact_case: &[],
        cjk_names: &[],
    },
    Service {
        name: "Wise",
        sender_ids: &["wise", "transferwise"],
        body_words: &["transferwise"],
        body_words_exact_case: &["Wise"],
        cjk_names: &[],
    },
    Service {
        name: "Booking",
        sender_ids: &["booking", "bookingcom"],
        body_words: &["booking.com"],
        body_words_exact_case: &[],
        cjk_names: &["缤客"],
    },
    Service {
        name: "Lyft",
        sender_ids: &["lyft"],
        body_words: &["lyft"],
        body_words_exact_case: &[],
        cjk_names: &[],
    },
    Service {
        name: "Bolt",
        sender_ids: &["bolt"],
        body_words: &[],
        body_words_exact_case: &["Bolt"],
        cjk_names: &[],
    },
    Service {
        name: "Glovo",
        sender_ids: &["glovo"],
        body_words: &["glovo"],
        body_words_exact_case: &[],
        cjk_names: &[],
    },
    Service {
        name: "OpenAI",
        sender_ids: &["openai", "chatgpt"],
        body_words: &["openai", "chatgpt"],
        body_words_exact_case: &[],
        cjk_names: &[],
    },
    Service {
        name: "Claude",
        sender_ids: &["claude", "anthropic"],
        body_words: &["anthropic"],
        body_words_exact_case: &["Claude"],
        cjk_names: &[],
    },
    Service {
        name: "Twitch",
        sender_ids: &["twitch"],
        body_words: &[],
        body_words_exact_case: &["Twitch"],
        cjk_names: &[],
    },
    Service {
        name: "Zoom",
        sender_ids: &["zoom"],
        body_words: &[],
        body_words_exact_case: &["Zoom"],
        cjk_names: &[],
    },
    Service {
        name: "Slack",
        sender_ids: &["slack"],
        body_words: &[],
        body_words_exact_case: &["Slack"],
        cjk_names: &[],
    },
    Service {
        name: "Bumble",
        sender_ids: &["bumble"],
        body_words: &[],
        body_words_exact_case: &["Bumble"],
        cjk_names: &[],
    },
    Service {
        name: "Hinge",
        sender_ids: &["hinge"],
        body_words: &[],
        body_words_exact_case: &["Hinge"],
        cjk_names: &[],
    },
    Service {
        name: "Weibo",
        sender_ids: &["weibo", "sinaweibo"],
        body_words: &["weibo"],
        body_words_exact_case: &[],
        cjk_names: &["新浪微博", "微博"],
    },
    Service {
        name: "Baidu",
        sender_ids: &["baidu"],
        body_words: &["baidu"],
        body_words_exact_case: &[],
        cjk_names: &["百度"],
    },
    Service {
        name: "JD",
        sender_ids: &["jd", "jdcom", "jingdong"],
        body_words: &["jd.com", "jingdong"],
        body_words_exact_case: &[],
        cjk_names: &["京东"],
    },
    Service {
        name: "Meituan",
        sender_ids: &["meituan"],
        body_words: &["meituan"],
        body_words_exact_case: &[],
        cjk_names: &["美团"],
    },
    Service {
        name: "Xiaohongshu",
        sender_ids: &["xiaohongshu", "rednote"],
        body_words: &["xiaohongshu", "rednote"],
        body_words_exact_case: &[],
        cjk_names: &["小红书"],
    },
    Service {
        name: "DiDi",
        sender_ids: &["didi", "didiglobal"],
        body_words: &[],
        body_words_exact_case: &["DiDi", "DIDI"],
        cjk_names: &["滴滴"],
    },
];

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
    let chars: Vec<char> = body.chars().collect();
    let mut best: Option<(usize, &'static str)> = None;
    let mut consider = |positions: Vec<usize>, name: &'static str| {
        if let Some(&first) = positions.first()
            && best.is_none_or(|(at, _)| first < at)
        {
            best = Some((first, name));
        }
    };
    for service in SERVICES {
        for word in service.body_words {
            let needle: Vec<char> = word.chars().collect();
            consider(find_words(&chars, &needle, true), service.name);
        }
        for word in service.body_words_exact_case {
            let needle: Vec<char> = word.chars().collect();
            let single_word = !needle.iter().any(|c| c.is_whitespace());
            let found = find_words(&chars, &needle, false)
                .into_iter()
                .filter(|&at| !single_word || names_service(&chars, at, needle.len()))
                .collect();
            consider(found, service.name);
        }
        for name in service.cjk_names {
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
