//! Finding the verification code in the body of an SMS.
//!
//! The analysis runs on a `Vec<char>` so that positions are character
//! positions and no string is ever sliced inside a multi-byte character.
//!
//! It works in three passes, stopping at the first that yields a code:
//!
//! 1. a 4–8 digit code (optionally written `123-456` or `123 456`) close to a
//!    keyword such as "code", "verify", "OTP", "PIN", "验证码" or "код";
//! 2. if the message has a keyword, a code written as letters, a dash and
//!    digits, the way Google writes `G-123456`;
//! 3. the only plausible 4–8 digit code of the message, if there is exactly
//!    one.
//!
//! Numbers that are part of a phone number, a date, a time, an amount of
//! money, a measurement, an order or card number, a link or a longer number
//! are never taken for a code.

use crate::text::{find_all, is_cjk, is_word_char, is_word_letter, lower};

/// Shortest code, in digits.
const MIN_LEN: usize = 4;
/// Longest code, in digits.
const MAX_LEN: usize = 8;
/// How far (in characters) a code may be from a keyword in the first pass.
const KEYWORD_WINDOW: usize = 60;

/// Words (lower case) that announce a code.
const KEYWORDS_EXACT: &[&str] = &[
    "code",
    "codes",
    "otp",
    "pin",
    "passcode",
    "password",
    "kode",
    "codigo",
    "código",
    "codice",
    "token",
    "код",
    "кода",
    "коду",
    "кодом",
];
/// Word beginnings that announce a code ("verify", "verification", ...).
const KEYWORD_PREFIXES: &[&str] = &["verif", "vérif", "passcode", "código"];
/// Word endings that announce a code (German compounds such as
/// "Bestätigungscode", "Sicherheitscode").
const KEYWORD_SUFFIXES: &[&str] = &["code", "codes", "kode", "passwort", "password"];
/// Words ending in "code" that are not about verification.
const NOT_KEYWORDS: &[&str] = &[
    "barcode",
    "zipcode",
    "postcode",
    "promocode",
    "qrcode",
    "encode",
    "decode",
    "unicode",
    "geocode",
    "opcode",
    "shortcode",
    "sourcecode",
];
/// Words that turn a following "code" into something else ("promo code").
const NOT_BEFORE_CODE: &[&str] = &[
    "promo",
    "promotion",
    "discount",
    "coupon",
    "voucher",
    "gift",
    "zip",
    "postal",
    "post",
    "area",
    "country",
    "qr",
    "referral",
    "source",
    "short",
    "dial",
    "calling",
    "dress",
];
/// Keywords in scripts written without spaces; matched anywhere.
const KEYWORDS_CJK: &[&str] = &[
    "验证",
    "校验",
    "动态码",
    "动态密码",
    "确认码",
    "激活码",
    "安全码",
    "认证码",
    "登录码",
    "短信码",
    "驗證",
    "認證碼",
    "認証",
    "確認コード",
    "コード",
    "인증",
];

/// A word right before a number that says the number is not a code.
const REJECT_WORDS_BEFORE: &[&str] = &[
    // Money.
    "usd",
    "eur",
    "gbp",
    "rmb",
    "cny",
    "jpy",
    "rub",
    "inr",
    "rs",
    "aud",
    "cad",
    "hkd",
    "sgd",
    "chf",
    "krw",
    "brl",
    "mxn",
    "idr",
    "thb",
    "vnd",
    "ngn",
    "kes",
    "zar",
    "aed",
    "sar",
    "balance",
    "amount",
    "total",
    "paid",
    "payment",
    "debited",
    "credited",
    "charged",
    // Other numbers.
    "ending",
    "order",
    "ref",
    "reference",
    "account",
    "acct",
    "a/c",
    "card",
    "no",
    "nr",
    "number",
    "id",
    "invoice",
    "tracking",
    "room",
    "flight",
    "gate",
    "seat",
    "ext",
    "call",
    "tel",
    "phone",
    "fax",
    "mobile",
    "dial",
    "text",
    "reply",
    "to",
    "sms",
    "at",
    "since",
    "year",
    "version",
    "ticket",
    "booking",
    "pnr",
    "parcel",
    "shipment",
    "waybill",
];
/// Ends of CJK text right before a number that say it is not a code.
const REJECT_CJK_BEFORE: &[&str] = &[
    "尾号",
    "电话",
    "热线",
    "拨打",
    "致电",
    "来电",
    "回复",
    "金额",
    "余额",
    "消费",
    "支出",
    "收入",
    "人民币",
    "共计",
    "合计",
    "订单",
    "单号",
    "账户",
    "账号",
    "卡号",
    "编号",
    "工号",
    "客服",
    "短信",
    "退订",
];
/// A word right after a number that says it is not a code.
const REJECT_WORDS_AFTER: &[&str] = &[
    // Money.
    "usd", "eur", "gbp", "rmb", "cny", "jpy", "rub", "inr", "aud", "cad", "hkd", "sgd", "chf",
    "krw", "brl", "mxn", "idr", "thb", "vnd", "ngn", "kes", "zar", "aed", "sar", "dollars",
    "dollar", "euros", "euro", "pounds", "yuan", "rupees", "rubles", "yen", "won", "pesos",
    // Units and counts.
    "mb", "gb", "kb", "tb", "km", "kg", "mi", "miles", "m", "min", "mins", "minutes", "sec", "secs",
    "seconds", "h", "hr", "hrs", "hours", "days", "points", "pts", "steps", "years", "am", "pm",
    "users", "people", "times", "items", "sms", "messages",
];
/// CJK characters right after a number that make it a date, time, amount
/// or count.
const REJECT_CJK_AFTER: &[char] = &[
    '年', '月', '日', '号', '時', '时', '点', '點', '分', '秒', '元', '块', '圆', '円', '万', '亿',
    '個', '个', '次', '条', '笔', '位', '天', '小', '岁', '人', '张', '件', '㎡',
];
/// Currency signs.
const CURRENCY: &[char] = &[
    '$', '€', '£', '¥', '￥', '₹', '₽', '₩', '₺', '₫', '₱', '₦', '₴', '฿', '₪', '₡', '¢', '₸', '₿',
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Only digits (a split code has had its separator removed).
    Digits,
    /// Letters, a dash and digits, as printed: `G-123456`.
    Prefixed,
}

#[derive(Clone, Debug)]
struct Candidate {
    /// First character (inclusive).
    start: usize,
    /// Last character (exclusive).
    end: usize,
    value: String,
    kind: Kind,
}

/// Finds the verification code in the body of an SMS.
///
/// Prefers a 4–8 digit code next to a keyword ("code", "verification",
/// "OTP", "PIN", "验证码", "código", "код", ...); a code written in two
/// halves (`123-456`, `123 456`) is returned without the separator. Falls
/// back to a letters-dash-digits code such as Google's `G-123456` (returned
/// as printed), then to the only plausible 4–8 digit number in the message.
/// Phone numbers, dates, times, amounts, measurements, card and order
/// numbers and longer numbers are ignored.
///
/// Returns `None` when no code is found or the message is ambiguous.
///
/// ```
/// use domain::extract_code;
/// assert_eq!(extract_code("Your WhatsApp code: 123-456").as_deref(), Some("123456"));
/// assert_eq!(extract_code("【腾讯科技】验证码：839201，5分钟内有效").as_deref(), Some("839201"));
/// assert_eq!(extract_code("Your balance is $1234.56"), None);
/// ```
pub fn extract_code(body: &str) -> Option<String> {
    let chars: Vec<char> = body.chars().collect();
    let candidates = candidates(&chars);
    let keywords = keywords(&chars);

    if let Some(found) = nearest(&candidates, &keywords, Kind::Digits, KEYWORD_WINDOW) {
        return Some(found.value.clone());
    }
    if let Some(found) = nearest(&candidates, &keywords, Kind::Prefixed, usize::MAX) {
        return Some(found.value.clone());
    }

    let mut lone: Vec<&str> = candidates
        .iter()
        .filter(|c| c.kind == Kind::Digits && !looks_like_year(&c.value))
        .map(|c| c.value.as_str())
        .collect();
    lone.sort_unstable();
    lone.dedup();
    match lone.as_slice() {
        [only] => Some((*only).to_owned()),
        _ => None,
    }
}

/// The candidate of `kind` closest to any keyword, within `window`
/// characters. Ties go to a candidate after its keyword, then to the
/// earlier one.
fn nearest<'a>(
    candidates: &'a [Candidate],
    keywords: &[(usize, usize)],
    kind: Kind,
    window: usize,
) -> Option<&'a Candidate> {
    candidates
        .iter()
        .filter(|c| c.kind == kind)
        .filter_map(|c| {
            keywords
                .iter()
                .map(|&(ks, ke)| {
                    if c.start >= ke {
                        (c.start - ke, 0u8)
                    } else if ks >= c.end {
                        (ks - c.end, 1u8)
                    } else {
                        (0, 0)
                    }
                })
                .min()
                .filter(|(distance, _)| *distance <= window)
                .map(|(distance, side)| ((distance, side, c.start), c))
        })
        .min_by_key(|(key, _)| *key)
        .map(|(_, c)| c)
}

/// `1900`–`2099`: in a message without keywords, more likely a year.
fn looks_like_year(value: &str) -> bool {
    value.len() == 4 && (value.starts_with("19") || value.starts_with("20"))
}

/// Maximal runs of ASCII digits as `(start, end)`.
fn digit_runs(chars: &[char]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, c) in chars.iter().enumerate() {
        match (c.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, chars.len()));
    }
    runs
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\u{00A0}' | '\u{2009}' | '\u{202F}')
}

/// Whether two digit runs separated by `gap` belong to one written number
/// (phone number, date, time, amount, ...). `prev_len` and `next_len` are
/// the lengths of the runs, `after_next` the character after the second run.
fn joins(gap: &[char], prev_len: usize, next_len: usize, after_next: Option<char>) -> bool {
    let parenthesis_or_dash = |c: char| matches!(c, '(' | ')' | '-' | '–');
    match gap {
        [','] => {
            // Thousands grouping, or a decimal comma before cents that are
            // not followed by a CJK unit ("123456,5分钟" is a code and a
            // duration, not an amount).
            (prev_len <= 3 && next_len == 3) || (next_len == 2 && !after_next.is_some_and(is_cjk))
        }
        [c] => is_space(*c) || matches!(c, '-' | '–' | '.' | '/' | ':' | '(' | ')'),
        [a, b] => {
            (parenthesis_or_dash(*a) || parenthesis_or_dash(*b))
                && [*a, *b]
                    .iter()
                    .all(|&c| is_space(c) || parenthesis_or_dash(c) || c == '.')
        }
        _ => false,
    }
}

/// Every 4–8 digit number that could be a code, after ruling out numbers
/// that are plainly something else.
fn candidates(chars: &[char]) -> Vec<Candidate> {
    let runs = digit_runs(chars);

    // Group runs that form one written number.
    let mut clusters: Vec<Vec<(usize, usize)>> = Vec::new();
    for (i, &run) in runs.iter().enumerate() {
        let joined = match (
            clusters.last_mut(),
            i.checked_sub(1).and_then(|p| runs.get(p)),
        ) {
            (Some(cluster), Some(&(ps, pe))) => {
                let gap = chars.get(pe..run.0).unwrap_or(&[]);
                if joins(gap, pe - ps, run.1 - run.0, chars.get(run.1).copied()) {
                    cluster.push(run);
                    true
                } else {
                    false
                }
            }
            _ => false,
        };
        if !joined {
            clusters.push(vec![run]);
        }
    }

    let mut out = Vec::new();
    for cluster in &clusters {
        let (start, end, value) = match cluster.as_slice() {
            [(s, e)] if (MIN_LEN..=MAX_LEN).contains(&(e - s)) => (
                *s,
                *e,
                chars.get(*s..*e).unwrap_or(&[]).iter().collect::<String>(),
            ),
            [(s1, e1), (s2, e2)]
                if e1 - s1 == 3
                    && e2 - s2 == 3
                    && s2 - e1 == 1
                    && chars.get(*e1).is_some_and(|&c| c == '-' || is_space(c)) =>
            {
                let first = chars.get(*s1..*e1).unwrap_or(&[]);
                let second = chars.get(*s2..*e2).unwrap_or(&[]);
                let value: String = first.iter().chain(second).collect();
                (*s1, *e2, value)
            }
            _ => continue,
        };
        let single_run = cluster.len() == 1;
        if let Some(candidate) = judge(chars, start, end, value, single_run) {
            out.push(candidate);
        }
    }
    out
}

/// Decides from the surroundings whether the number at `start..end` may be
/// a code, and of which kind.
fn judge(
    chars: &[char],
    start: usize,
    end: usize,
    value: String,
    single_run: bool,
) -> Option<Candidate> {
    let at = |i: Option<usize>| i.and_then(|i| chars.get(i)).copied();
    let before = at(start.checked_sub(1));
    let after = at(Some(end));

    // Glued to letters: part of an identifier such as "ABC1234" or "v1234a".
    if before.is_some_and(is_word_letter) || after.is_some_and(is_word_letter) {
        return None;
    }
    // Phone numbers, order numbers, links, e-mail addresses, percentages.
    let bad_neighbour = |c: char| {
        matches!(
            c,
            '+' | '#' | '/' | '\\' | '@' | '_' | '%' | '‰' | '&' | '*' | '^' | '~'
        ) || CURRENCY.contains(&c)
            || c.is_numeric()
    };
    if before.is_some_and(bad_neighbour) || after.is_some_and(bad_neighbour) {
        return None;
    }
    // Currency or unit one space away: "$ 1234", "1234 €", "1234 元".
    let before_spaced = before
        .filter(|&c| is_space(c))
        .and_then(|_| at(start.checked_sub(2)));
    let after_spaced = after
        .filter(|&c| is_space(c))
        .and_then(|_| at(Some(end + 1)));
    if before_spaced.is_some_and(|c| CURRENCY.contains(&c) || c == '+')
        || after_spaced.is_some_and(|c| CURRENCY.contains(&c) || REJECT_CJK_AFTER.contains(&c))
        || after.is_some_and(|c| REJECT_CJK_AFTER.contains(&c))
    {
        return None;
    }

    if before == Some('-') || before == Some('–') {
        // "G-123456" as Google writes it, or part of something like
        // "ref-12345" / "COVID-19".
        let dash = start.saturating_sub(1);
        let letters_end = dash;
        let mut letters_start = letters_end;
        while letters_start > 0 && at(Some(letters_start - 1)).is_some_and(is_word_letter) {
            letters_start -= 1;
        }
        let letters = chars.get(letters_start..letters_end).unwrap_or(&[]);
        if !letters.is_empty() {
            let prefixed = single_run
                && (1..=3).contains(&letters.len())
                && letters.iter().all(char::is_ascii_uppercase)
                && !at(letters_start.checked_sub(1)).is_some_and(is_word_char);
            if !prefixed {
                return None;
            }
            let mut printed: String = letters.iter().collect();
            printed.push('-');
            printed.push_str(&value);
            return Some(Candidate {
                start: letters_start,
                end,
                value: printed,
                kind: Kind::Prefixed,
            });
        }
    }

    if word_before_rejects(chars, start) || word_after_rejects(chars, end) {
        return None;
    }
    Some(Candidate {
        start,
        end,
        value,
        kind: Kind::Digits,
    })
}

/// Whether the word (or CJK phrase) right before `start` says the number is
/// not a code: "ending 1234", "Ref: 1234", "尾号1234", "$1234"...
fn word_before_rejects(chars: &[char], start: usize) -> bool {
    let mut i = start;
    let mut skipped = 0;
    while i > 0 && skipped < 3 {
        match chars.get(i - 1) {
            Some(&c)
                if is_space(c) || matches!(c, ':' | '：' | '.' | '\t' | '(' | '-' | '\u{3000}') =>
            {
                i -= 1;
                skipped += 1;
            }
            _ => break,
        }
    }
    let word_end = i;
    match chars.get(word_end.wrapping_sub(1)) {
        Some(&c) if is_word_letter(c) || c == '/' => {
            let mut s = word_end;
            while s > 0
                && chars
                    .get(s - 1)
                    .is_some_and(|&c| is_word_letter(c) || c == '/')
            {
                s -= 1;
            }
            let word = lower(chars.get(s..word_end).unwrap_or(&[]));
            REJECT_WORDS_BEFORE.contains(&word.as_str())
        }
        Some(&c) if is_cjk(c) => {
            let mut s = word_end;
            while s > 0
                && chars
                    .get(s - 1)
                    .is_some_and(|&c| is_cjk(c) && c.is_alphabetic())
            {
                s -= 1;
            }
            let phrase: String = chars.get(s..word_end).unwrap_or(&[]).iter().collect();
            REJECT_CJK_BEFORE.iter().any(|w| phrase.ends_with(w))
        }
        _ => false,
    }
}

/// Whether the word right after `end` says the number is not a code:
/// "1234 MB", "2500 INR", "1440 minutes".
fn word_after_rejects(chars: &[char], end: usize) -> bool {
    let mut i = end;
    while i < end + 2 && chars.get(i).is_some_and(|&c| is_space(c)) {
        i += 1;
    }
    let mut e = i;
    while chars.get(e).is_some_and(|&c| is_word_letter(c)) {
        e += 1;
    }
    if e == i {
        return false;
    }
    let word = lower(chars.get(i..e).unwrap_or(&[]));
    REJECT_WORDS_AFTER.contains(&word.as_str())
}

/// Positions `(start, end)` of every keyword in the message.
fn keywords(chars: &[char]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();

    let mut previous_word = String::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars.get(i).is_some_and(|&c| is_word_letter(c)) {
            i += 1;
            continue;
        }
        let start = i;
        while chars.get(i).is_some_and(|&c| is_word_letter(c)) {
            i += 1;
        }
        let word = lower(chars.get(start..i).unwrap_or(&[]));
        if is_keyword(&word, &previous_word) {
            found.push((start, i));
        }
        previous_word = word;
    }

    for needle in KEYWORDS_CJK {
        let needle: Vec<char> = needle.chars().collect();
        for at in find_all(chars, &needle, false) {
            found.push((at, at + needle.len()));
        }
    }
    found
}

fn is_keyword(word: &str, previous_word: &str) -> bool {
    if NOT_KEYWORDS.contains(&word) {
        return false;
    }
    let announces = KEYWORDS_EXACT.contains(&word)
        || KEYWORD_PREFIXES.iter().any(|p| word.starts_with(p))
        || KEYWORD_SUFFIXES.iter().any(|s| word.ends_with(s));
    let spoilt = (word == "code" || word == "codes") && NOT_BEFORE_CODE.contains(&previous_word);
    announces && !spoilt
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &str) -> Option<String> {
        extract_code(body)
    }

    fn assert_code(body: &str, expected: &str) {
        assert_eq!(code(body).as_deref(), Some(expected), "{body:?}");
    }

    fn assert_none(body: &str) {
        assert_eq!(code(body), None, "{body:?}");
    }

    #[test]
    fn english_messages() {
        assert_code("Your WhatsApp code: 123-456", "123456");
        assert_code(
            "Your WhatsApp code: 832-071\nYou can also tap on this link to verify your phone: v.whatsapp.com/832071\nDon't share this code with others",
            "832071",
        );
        assert_code("G-482913 is your Google verification code.", "G-482913");
        assert_code("Your Uber code is 4821", "4821");
        assert_code(
            "Your Uber code: 4821. Never share this code. Reply STOP ALL to 89203 to unsubscribe.",
            "4821",
        );
        assert_code(
            "Use 123456 to verify your Telegram account. Call +1 415 555 0123 if you did not request this.",
            "123456",
        );
        assert_code(
            "Telegram code 58213\n\nDo not give this code to anyone, even if they say they are from Telegram!",
            "58213",
        );
        assert_code("Your Instagram code is 492 816. Don't share it.", "492816");
        assert_code("Your Microsoft account verification code is: 7391", "7391");
        assert_code(
            "Your card ending 1234 was charged $20.00. Your OTP is 556677.",
            "556677",
        );
        assert_code(
            "Amazon: Your one-time password is 889201. Don't share it.",
            "889201",
        );
        assert_code("123456 is your Facebook confirmation code", "123456");
        assert_code("Your Discord verification code is 902-113", "902113");
        assert_code(
            "Your Airbnb verification code is: 5712. Don't share this code with anyone; our employees will never ask for the code.",
            "5712",
        );
        assert_code(
            "[TikTok] 482913 is your verification code, valid for 5 minutes.",
            "482913",
        );
        assert_code("Your PIN is 0042", "0042");
        assert_code("<#> Your ExampleApp code is: 123456 FA+9qCX9VSu", "123456");
        assert_code(
            "Your code is 123456 and your backup code is 654321",
            "123456",
        );
        assert_code(
            "Your PayPal code is 739104. Your code expires in 10 minutes.",
            "739104",
        );
        assert_code(
            "Your Apple ID Code is: 304912. Don't share it with anyone.",
            "304912",
        );
        assert_code("Code 4821 valid until 2026", "4821");
        assert_code("Steam Guard: 48215", "48215");
        assert_code("2024 is your Signal verification code", "2024");
        assert_code(
            "Your verification code for logging into your Microsoft account on a brand new device is:\n\n    58291047",
            "58291047",
        );
    }

    #[test]
    fn chinese_messages() {
        assert_code("【腾讯科技】验证码：839201，5分钟内有效", "839201");
        assert_code("【微信】您的验证码是 482913，请勿泄露给他人。", "482913");
        assert_code(
            "【支付宝】校验码 123456，您正在进行身份验证，打死不要告诉别人哦！",
            "123456",
        );
        assert_code("您的动态码为5829，有效期10分钟，客服电话95188", "5829");
        assert_code("您的验证码为：6284，请在5分钟内完成验证。【京东】", "6284");
        assert_code(
            "【抖音】验证码731920,10分钟内有效。如非本人操作请忽略",
            "731920",
        );
        assert_code("验证码123456,5分钟内有效", "123456");
        assert_code(
            "【阿里云】您的短信验证码为 2468，该验证码 5 分钟内有效。",
            "2468",
        );
        assert_code("【淘宝】您的登录码为 771234，回复TD退订", "771234");
        assert_none("尊敬的客户，您尾号1234的储蓄卡消费人民币500.00元");
        assert_none("【招商银行】您账户0123于11月29日10:30消费支出人民币1,234.56元");
        assert_none("2026年11月29日会议");
    }

    #[test]
    fn other_languages() {
        assert_code("Ваш код: 4821", "4821");
        assert_code("Код подтверждения 583920. Никому не сообщайте.", "583920");
        assert_code("Tu código de verificación es 730194", "730194");
        assert_code("Ihr Bestätigungscode lautet 382910", "382910");
        assert_code("Votre code de vérification est 552019", "552019");
        assert_code("認証コード：918273", "918273");
        assert_code("[카카오] 인증번호 [482913]를 입력해주세요", "482913");
    }

    #[test]
    fn not_codes() {
        assert_none("Your balance is $1234.56");
        assert_none("Your balance is $1234");
        assert_none("Meeting at 10:30 on 2026-11-29");
        assert_none("Your order #40312 has shipped and will arrive on 29/11/2026.");
        assert_none("Call us at 415-555-0123 for help.");
        assert_none("Call us at (415) 555-0123 for help.");
        assert_none("Happy new year 2026!");
        assert_none("Pay 2500 INR to complete your booking");
        assert_none("Download 5000 MB free today");
        assert_none("Your verification code is 1234567890");
        assert_none("No code here, just words.");
        assert_none("Flight AA-1234 departs at 10:30");
        assert_none("Save 1500 € on your next trip");
        assert_none("50% off, use promo code 2025");
        assert_none("Reply STOP to 89203 to unsubscribe");
        assert_none("Your card ending 1234 was charged");
        assert_none("Visit https://example.com/verify/123456 now");
        assert_none("Send money to user_12345@example.com");
        assert_none("Totals: 1234 and 5678 are both ready");
        assert_none("Your number is +44 20 7946 0958");
        assert_none("Version 1.2.3456 is available");
        assert_none("Account ABC12345 updated");
        assert_none("");
    }

    #[test]
    fn lone_code() {
        assert_code("4821", "4821");
        assert_code("Welcome! 582013", "582013");
        assert_code("Telegram: 48291", "48291");
    }

    #[test]
    fn keyword_recognition() {
        let words = |s: &str| keywords(&s.chars().collect::<Vec<_>>()).len();
        assert_eq!(words("your code"), 1);
        assert_eq!(words("VERIFICATION"), 1);
        assert_eq!(words("barcode zipcode"), 0);
        assert_eq!(words("promo code"), 0);
        assert_eq!(words("Pinterest spinning"), 0);
        assert_eq!(words("验证码"), 1);
        assert_eq!(words("Код"), 1);
    }

    #[test]
    fn never_panics() {
        let samples = [
            "",
            " ",
            "-",
            "G-",
            "-1234",
            "G-1234",
            "ab-1234",
            "1234-",
            "123-",
            "123 456 789",
            "１２３４５６",
            "٤٥٦٧٨٩ code",
            "code 𝟏𝟐𝟑𝟒",
            "验证码：",
            "验证码：１２３４５６",
            "код",
            "🙂1234🙂",
            "code🙂1234",
            "é1234é",
            "e\u{301}1234",
            "\u{0}1234\u{0}",
            "1234\u{FEFF}",
            "$",
            "$ ",
            "1234 ",
            " 1234",
            "(",
            "((((1234))))",
            "1,2,3,4,5,6,7",
            "code code code code",
            "İstanbul kodu 1234",
            "ǅ1234",
            "ß code 1234 ß",
            "ﬃ code 4321",
            "a/c 1234",
            "12345678901234567890123456789",
            "-–—‐‑ 1234 –",
            "\u{202E}code 1234",
        ];
        for s in samples {
            let _ = extract_code(s);
        }
        let long: String = "code 1234 验证码 ".repeat(500);
        let _ = extract_code(&long);
    }
}
