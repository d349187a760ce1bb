//! Finding the verification code in the body of an SMS.
//!
//! The analysis runs on a `Vec<char>` so that positions are character
//! positions and no string is ever sliced inside a multi-byte character.
//!
//! It works in three passes, stopping at the first that yields a code:
//!
//! 1. the code closest to a keyword such as "code", "verify", "OTP", "PIN",
//!    "验证码", "код", "código", "senha", "clave", "TAN" or "인증": a 4–8
//!    digit number (optionally written `123-456` or `123 456`) within a few
//!    words, or an upper-case alphanumeric code mixing letters and digits
//!    (`X7K9P2`, Steam's `F7K2M`) right next to the keyword;
//! 2. if the message has a keyword, a code written as letters, a dash and
//!    digits, the way Google writes `G-123456` and Facebook `FB-12345`;
//! 3. the only plausible 4–8 digit code of the message, if there is exactly
//!    one and it is not a year or a round number.
//!
//! Numbers that are part of a phone number, a date, a time, an amount of
//! money, a measurement, a percentage, an order, parcel, flight or card
//! number, a `【...】` signature, a link or a longer number are never taken
//! for a code. A number is such a number when the words before it say so,
//! even with filler words in between ("order number is 48291", "pedido nº
//! 482910", "Bestellung Nr. 4829104", "flight LH 1234", "ending in 0123").

use crate::text::{find_all, is_cjk, is_word_char, is_word_letter, lower};

/// Shortest code, in digits.
const MIN_LEN: usize = 4;
/// Longest code, in digits.
const MAX_LEN: usize = 8;
/// How far (in characters) a digit code may be from a keyword in the first
/// pass.
const KEYWORD_WINDOW: usize = 60;
/// How far (in characters) an alphanumeric code may be from a keyword: such
/// codes are only trusted right next to one.
const ALNUM_WINDOW: usize = 24;
/// Length bounds of an alphanumeric code.
const ALNUM_MIN_LEN: usize = 4;
const ALNUM_MAX_LEN: usize = 10;

/// Words (lower case) that announce a code.
const KEYWORDS_EXACT: &[&str] = &[
    // English (and words shared with other languages).
    "code",
    "codes",
    "otp",
    "pin",
    "passcode",
    "password",
    "token",
    "tan",
    "mtan",
    "smstan",
    "pushtan",
    // Spanish, Portuguese, Italian, Indonesian.
    "kode",
    "codigo",
    "código",
    "codice",
    "clave",
    "contraseña",
    "senha",
    // French ("mot de passe").
    "passe",
    "mdp",
    // German.
    "kennwort",
    // Russian.
    "код",
    "кода",
    "коду",
    "кодом",
    "пароль",
    "пароля",
    "паролем",
];
/// Word beginnings that announce a code ("verify", "verification", ...).
const KEYWORD_PREFIXES: &[&str] = &["verif", "vérif", "passcode", "código", "codigo"];
/// Word endings that announce a code (German compounds such as
/// "Bestätigungscode", "Sicherheitscode", "Einmalpasswort").
const KEYWORD_SUFFIXES: &[&str] = &["code", "codes", "kode", "passwort", "password", "tan"];
/// Words ending in "code" (or "tan") that are not about verification.
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
    "rabattcode",
    "gutscheincode",
    "gutscheincodes",
    "aktionscode",
    "satan",
    "sultan",
    "titan",
    "tartan",
    "spartan",
    "puritan",
    "charlatan",
    "rattan",
    "metropolitan",
    "cosmopolitan",
    "pakistan",
    "afghanistan",
    "kazakhstan",
    "uzbekistan",
    "turkmenistan",
    "kyrgyzstan",
    "tajikistan",
    "hindustan",
    "manhattan",
    "pelican",
];
/// Single words for a promotional code.
const PROMO_CODE_WORDS: &[&str] = &[
    "promocode",
    "rabattcode",
    "gutscheincode",
    "aktionscode",
    "промокод",
    "промокоду",
    "промокодом",
];
/// Words that turn a following "code" into something else ("promo code").
/// They also follow "código de" ("código de descuento").
const NOT_BEFORE_CODE: &[&str] = &[
    "promo",
    "promotion",
    "promotional",
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
    "invite",
    "invitation",
    "source",
    "short",
    "dial",
    "calling",
    "dress",
    "bonus",
    "promocional",
    "descuento",
    "cupón",
    "cupom",
    "desconto",
    "promo-code",
    "réduction",
    "reduction",
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
    "随机码",
    "口令",
    "驗證",
    "認證碼",
    "認証",
    "確認コード",
    "確認番号",
    "コード",
    "パスコード",
    "인증",
    "코드",
];

/// A word right before a number (possibly with filler words in between)
/// that says the number is not a code.
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
    "transaction",
    "txn",
    // Other numbers.
    "ending",
    "ends",
    "order",
    "orders",
    "ref",
    "reference",
    "account",
    "acct",
    "a/c",
    "card",
    "invoice",
    "receipt",
    "tracking",
    "track",
    "room",
    "flight",
    "gate",
    "seat",
    "row",
    "platform",
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
    "package",
    "shipment",
    "waybill",
    "policy",
    "customer",
    "member",
    "confirmation",
    // Russian.
    "заказ",
    "заказа",
    "заказу",
    "заказе",
    "счёт",
    "счет",
    "счёта",
    "счета",
    "карта",
    "карты",
    "карте",
    "картой",
    "баланс",
    "сумма",
    "суммы",
    "сумму",
    "списание",
    "зачисление",
    "перевод",
    "рейс",
    "тел",
    "телефон",
    "телефону",
    "звоните",
    "трек",
    "посылка",
    "посылки",
    "отправление",
    "отправления",
    "договор",
    "договора",
    // Spanish.
    "pedido",
    "pedidos",
    "factura",
    "tarjeta",
    "cuenta",
    "saldo",
    "importe",
    "cargo",
    "envío",
    "envio",
    "seguimiento",
    "vuelo",
    "llama",
    "llame",
    "llámenos",
    "llamar",
    "teléfono",
    "telefono",
    "terminada",
    "terminación",
    "referencia",
    // Portuguese.
    "fatura",
    "cartão",
    "cartao",
    "conta",
    "valor",
    "rastreio",
    "encomenda",
    "voo",
    "ligue",
    "telefone",
    "final",
    "referência",
    "protocolo",
    // French.
    "commande",
    "facture",
    "carte",
    "compte",
    "solde",
    "montant",
    "colis",
    "suivi",
    "vol",
    "appelez",
    "téléphone",
    "tél",
    "réf",
    "référence",
    "dossier",
    // German.
    "bestellung",
    "rechnung",
    "karte",
    "konto",
    "kontostand",
    "betrag",
    "summe",
    "sendung",
    "paket",
    "flug",
    "telefon",
    "anrufen",
    "auftrag",
    "vorgang",
    "endet",
    "endend",
    "iban",
];
/// Endings of compound words before a number that say it is not a code
/// (German "Bestellnummer", "Sendungsnummer", "Kundennummer", ...).
const REJECT_SUFFIXES_BEFORE: &[&str] = &["nummer"];
/// Words that say "number": they make the following number a reference of
/// some kind, unless a code keyword comes right before them ("verification
/// number", "código número").
const NUMBER_WORDS: &[&str] = &[
    "number",
    "no",
    "nr",
    "num",
    "n",
    "nº",
    "número",
    "numero",
    "numéro",
    "nummer",
    "номер",
    "номера",
];
/// Words skipped when looking back from a number for a word that says
/// what the number is: "order number is 48291", "ending in 0123".
const FILLER_WORDS: &[&str] = &[
    "is",
    "was",
    "are",
    "in",
    "of",
    "the",
    "your",
    "id",
    "de",
    "del",
    "do",
    "da",
    "du",
    "der",
    "des",
    "von",
    "ist",
    "est",
    "es",
    "é",
    "lautet",
    "en",
    "em",
    "el",
    "la",
    "le",
    "с",
    "в",
    "на",
    "для",
    "ваш",
    "ваша",
    "вашего",
    "su",
    "tu",
    "seu",
    "sua",
    "votre",
    "ihr",
    "ihre",
    "dein",
    "deine",
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
    "快件",
    "运单",
    "车费",
    "注文番号",
    "お問い合わせ番号",
];
/// A word right after a number that says it is not a code.
const REJECT_WORDS_AFTER: &[&str] = &[
    // Money.
    "usd",
    "eur",
    "gbp",
    "rmb",
    "cny",
    "jpy",
    "rub",
    "inr",
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
    "dollars",
    "dollar",
    "euros",
    "euro",
    "pounds",
    "yuan",
    "rupees",
    "rubles",
    "yen",
    "won",
    "pesos",
    "reais",
    "руб",
    "рублей",
    "рубля",
    "рубль",
    "р",
    "тг",
    "грн",
    "коп",
    // Units and counts.
    "mb",
    "gb",
    "kb",
    "tb",
    "km",
    "kg",
    "mi",
    "miles",
    "m",
    "min",
    "mins",
    "minutes",
    "sec",
    "secs",
    "seconds",
    "h",
    "hr",
    "hrs",
    "hours",
    "days",
    "points",
    "pts",
    "steps",
    "years",
    "am",
    "pm",
    "users",
    "people",
    "times",
    "items",
    "sms",
    "messages",
    "uhr",
    "minuten",
    "stunden",
    "tage",
    "minutos",
    "horas",
    "días",
    "dias",
    "jours",
    "heures",
    "punkte",
    "puntos",
    "pontos",
    "мин",
    "минут",
    "минуты",
    "сек",
    "час",
    "часа",
    "часов",
    "дней",
    "дня",
    "шт",
    "км",
    "кг",
    "гб",
    "мб",
    "баллов",
    "бонусов",
];
/// CJK characters right after a number that make it a date, time, amount
/// or count.
const REJECT_CJK_AFTER: &[char] = &[
    '年', '月', '日', '号', '時', '时', '点', '點', '分', '秒', '元', '块', '圆', '円', '万', '亿',
    '個', '个', '次', '条', '笔', '位', '天', '小', '岁', '人', '张', '件', '㎡', '室', '楼', '层',
    '栋', '期', '届', '路', '원', '건', '개',
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
    /// Upper-case letters and digits mixed: `X7K9P2`.
    Alnum,
}

impl Kind {
    /// How far from a keyword a candidate of this kind is trusted in the
    /// first pass.
    fn window(self) -> Option<usize> {
        match self {
            Kind::Digits => Some(KEYWORD_WINDOW),
            Kind::Alnum => Some(ALNUM_WINDOW),
            Kind::Prefixed => None,
        }
    }
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
/// "OTP", "PIN", "验证码", "código", "senha", "код", "TAN", ...) or an
/// upper-case alphanumeric code right by one (`X7K9P2`); a code written in
/// two halves (`123-456`, `123 456`) is returned without the separator.
/// Falls back to a letters-dash-digits code such as Google's `G-123456`
/// (returned as printed), then to the only plausible 4–8 digit number in
/// the message. Phone numbers, dates, times, amounts, percentages,
/// measurements, card, order and parcel numbers and longer numbers are
/// ignored.
///
/// Returns `None` when no code is found or the message is ambiguous.
///
/// ```
/// use domain::extract_code;
/// assert_eq!(extract_code("Your WhatsApp code: 123-456").as_deref(), Some("123456"));
/// assert_eq!(extract_code("【腾讯科技】验证码：839201，5分钟内有效").as_deref(), Some("839201"));
/// assert_eq!(extract_code("Your Steam Guard code: F7K2M").as_deref(), Some("F7K2M"));
/// assert_eq!(extract_code("Your balance is $1234.56"), None);
/// assert_eq!(extract_code("Tu pedido 482910 ha sido enviado"), None);
/// ```
pub fn extract_code(body: &str) -> Option<String> {
    let chars: Vec<char> = body.chars().collect();
    let mut candidates = candidates(&chars);
    candidates.extend(alnum_candidates(&chars));
    let keywords = keywords(&chars);

    if let Some(found) = nearest(&candidates, &keywords, |kind| kind.window()) {
        return Some(found.value.clone());
    }
    if let Some(found) = nearest(&candidates, &keywords, |kind| {
        (kind == Kind::Prefixed).then_some(usize::MAX)
    }) {
        return Some(found.value.clone());
    }

    // A lone number in a message about a discount code is that code, not
    // a verification code.
    if mentions_promo_code(&chars) {
        return None;
    }
    let mut lone: Vec<&str> = candidates
        .iter()
        .filter(|c| c.kind == Kind::Digits && !looks_like_year(&c.value) && !is_round(&c.value))
        .map(|c| c.value.as_str())
        .collect();
    lone.sort_unstable();
    lone.dedup();
    match lone.as_slice() {
        [only] => Some((*only).to_owned()),
        _ => None,
    }
}

/// The candidate closest to any keyword, among the kinds for which `window`
/// gives a maximum distance (in characters). Ties go to a candidate after
/// its keyword, then to the earlier one.
fn nearest<'a>(
    candidates: &'a [Candidate],
    keywords: &[(usize, usize)],
    window: impl Fn(Kind) -> Option<usize>,
) -> Option<&'a Candidate> {
    let keywords = KeywordIndex::new(keywords);
    candidates
        .iter()
        .filter_map(|c| {
            let limit = window(c.kind)?;
            keywords
                .closest(c.start, c.end)
                .filter(|(distance, _)| *distance <= limit)
                .map(|(distance, side)| ((distance, side, c.start), c))
        })
        .min_by_key(|(key, _)| *key)
        .map(|(_, c)| c)
}

/// Keyword spans sorted by start and by end, so the keyword nearest a
/// candidate is found by binary search: a long message can hold thousands of
/// keywords and candidates, and comparing every pair took quadratic time
/// (60 ms for 60 KB of "code 1234 ", on every render of the message).
struct KeywordIndex {
    starts: Vec<usize>,
    ends: Vec<usize>,
}

impl KeywordIndex {
    fn new(keywords: &[(usize, usize)]) -> Self {
        debug_assert!(keywords.iter().all(|&(start, end)| start < end));
        let mut starts: Vec<usize> = keywords.iter().map(|&(start, _)| start).collect();
        let mut ends: Vec<usize> = keywords.iter().map(|&(_, end)| end).collect();
        starts.sort_unstable();
        ends.sort_unstable();
        Self { starts, ends }
    }

    /// The smallest `(distance, side)` from the candidate `start..end` to a
    /// keyword: `(gap, 0)` for a keyword before it, `(gap, 1)` for one after
    /// it, `(0, 0)` for one overlapping it; `None` without keywords.
    fn closest(&self, start: usize, end: usize) -> Option<(usize, u8)> {
        // Keywords ending by `start` lie before, those starting from `end`
        // after (a keyword is never both); any other overlaps.
        let before = self.ends.partition_point(|&e| e <= start);
        let after_from = self.starts.partition_point(|&s| s < end);
        if before + (self.starts.len() - after_from) < self.starts.len() {
            return Some((0, 0));
        }
        let nearest_before = before
            .checked_sub(1)
            .and_then(|i| self.ends.get(i))
            .map(|&e| (start - e, 0u8));
        let nearest_after = self.starts.get(after_from).map(|&s| (s - end, 1u8));
        nearest_before.into_iter().chain(nearest_after).min()
    }
}

/// `1900`–`2099`: in a message without keywords, more likely a year.
fn looks_like_year(value: &str) -> bool {
    value.len() == 4 && (value.starts_with("19") || value.starts_with("20"))
}

/// `1000`, `1500`, `25000`: in a message without keywords, more likely a
/// count or an amount in a marketing text.
fn is_round(value: &str) -> bool {
    value.ends_with("00")
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
            '+' | '#' | '№' | '/' | '\\' | '@' | '_' | '%' | '‰' | '&' | '*' | '^' | '~'
        ) || CURRENCY.contains(&c)
            || c.is_numeric()
    };
    if before.is_some_and(bad_neighbour) || after.is_some_and(bad_neighbour) {
        return None;
    }
    // The signature of a Chinese message: "【12306】".
    if before == Some('【') && after == Some('】') {
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

/// Whether the words (or CJK phrase) right before `start` say the number
/// is not a code: "ending 1234", "Ref: 1234", "尾号1234", "order number is
/// 48291", "pedido nº 482910", "flight LH 1234"...
///
/// Looks back word by word: a code keyword ends the search (the number may
/// be a code), a reject word or a compound ending in "-nummer" rejects it,
/// a word meaning "number" rejects it unless a keyword precedes it, and
/// filler words ("is", "in", "de", "Nr", short upper-case designators such
/// as an airline's "LH") are skipped.
fn word_before_rejects(chars: &[char], start: usize) -> bool {
    let mut i = start;
    for _ in 0..4 {
        let (word_start, word_end, after_period) = match previous_word(chars, i) {
            PreviousWord::Word {
                start,
                end,
                after_period,
            } => (start, end, after_period),
            PreviousWord::Cjk(phrase) => {
                return REJECT_CJK_BEFORE.iter().any(|w| phrase.ends_with(w));
            }
            PreviousWord::None => return false,
        };
        let original = chars.get(word_start..word_end).unwrap_or(&[]);
        let word = lower(original);
        // Across a full stop only abbreviations ("Nr.", "Rs.", "Tel.")
        // still describe the number.
        if after_period && original.len() > 4 {
            return false;
        }
        if REJECT_WORDS_BEFORE.contains(&word.as_str())
            || REJECT_SUFFIXES_BEFORE.iter().any(|x| word.ends_with(x))
                && !NUMBER_WORDS.contains(&word.as_str())
        {
            return true;
        }
        if is_keyword(&word, "") {
            return false;
        }
        if NUMBER_WORDS.contains(&word.as_str()) {
            return !matches!(
                previous_word(chars, word_start),
                PreviousWord::Word { start, end, .. }
                    if is_keyword(&lower(chars.get(start..end).unwrap_or(&[])), "")
            );
        }
        let designator = original.len() <= 3 && original.iter().all(char::is_ascii_uppercase);
        if FILLER_WORDS.contains(&word.as_str()) || designator {
            i = word_start;
            continue;
        }
        return false;
    }
    false
}

enum PreviousWord {
    /// A space-separated word at `start..end`; `after_period` if a full stop
    /// separates it from the position looked back from.
    Word {
        start: usize,
        end: usize,
        after_period: bool,
    },
    /// The run of CJK characters before the position.
    Cjk(String),
    None,
}

/// The word (or CJK phrase) before position `at`, skipping a few spaces and
/// punctuation marks such as ':' '.' '(' '-' '°' '#' '№'.
fn previous_word(chars: &[char], at: usize) -> PreviousWord {
    let mut i = at;
    let mut skipped = 0;
    let mut after_period = false;
    while i > 0 && skipped < 4 {
        match chars.get(i - 1) {
            Some(&c)
                if is_space(c)
                    || matches!(
                        c,
                        ':' | '：' | '.' | '\t' | '(' | '-' | '\u{3000}' | '°' | '#' | '№'
                    ) =>
            {
                after_period |= c == '.';
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
            PreviousWord::Word {
                start: s,
                end: word_end,
                after_period,
            }
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
            PreviousWord::Cjk(chars.get(s..word_end).unwrap_or(&[]).iter().collect())
        }
        _ => PreviousWord::None,
    }
}

/// Upper-case alphanumeric codes such as `X7K9P2`, `F7K2M`, `29KX7T`:
/// 4–10 ASCII capitals and digits, with at least one of each, switching
/// between letters and digits at least twice (so that words with a number
/// glued on, such as `SAVE20` or `WELCOME50`, are left out), standing
/// alone (not part of a link, an e-mail address or a longer token).
fn alnum_candidates(chars: &[char]) -> Vec<Candidate> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars.get(i).is_some_and(char::is_ascii_alphanumeric) {
            i += 1;
            continue;
        }
        let start = i;
        while chars.get(i).is_some_and(char::is_ascii_alphanumeric) {
            i += 1;
        }
        let end = i;
        let token = chars.get(start..end).unwrap_or(&[]);
        if is_alnum_code(token) && alone(chars, start, end) {
            out.push(Candidate {
                start,
                end,
                value: token.iter().collect(),
                kind: Kind::Alnum,
            });
        }
    }
    out
}

fn is_alnum_code(token: &[char]) -> bool {
    let shape_ok = (ALNUM_MIN_LEN..=ALNUM_MAX_LEN).contains(&token.len())
        && token
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && token.iter().any(char::is_ascii_digit)
        && token.iter().any(char::is_ascii_uppercase);
    let switches = token
        .windows(2)
        .filter(|pair| match pair {
            [a, b] => a.is_ascii_digit() != b.is_ascii_digit(),
            _ => false,
        })
        .count();
    shape_ok && switches >= 2
}

/// Whether the token at `start..end` stands on its own.
fn alone(chars: &[char], start: usize, end: usize) -> bool {
    let glue = |c: char| {
        is_word_char(c)
            || matches!(
                c,
                '/' | '\\' | '@' | '_' | '-' | '–' | '#' | '=' | '&' | '?' | '+' | '%' | '*' | '.'
            )
    };
    let before_ok = start
        .checked_sub(1)
        .and_then(|i| chars.get(i))
        .is_none_or(|&c| !glue(c));
    let after_ok = match chars.get(end) {
        None => true,
        // A full stop ends the sentence unless a word follows it ("AB12.com").
        Some('.') => !chars.get(end + 1).is_some_and(|&c| is_word_char(c)),
        Some(&c) => !glue(c),
    };
    before_ok && after_ok
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
    let words = words(chars);
    let mut found: Vec<(usize, usize)> = words
        .iter()
        .enumerate()
        .filter(|(n, (_, _, word))| {
            let previous = n
                .checked_sub(1)
                .and_then(|p| words.get(p))
                .map_or("", |(_, _, w)| w.as_str());
            is_keyword(word, previous) && !is_promo_code_at(&words, *n)
        })
        .map(|(_, &(start, end, _))| (start, end))
        .collect();

    for needle in KEYWORDS_CJK {
        let needle: Vec<char> = needle.chars().collect();
        for at in find_all(chars, &needle, false) {
            found.push((at, at + needle.len()));
        }
    }
    found
}

/// Every space-separated word of the message, lower-cased, with its
/// position.
fn words(chars: &[char]) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
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
        out.push((start, i, lower(chars.get(start..i).unwrap_or(&[]))));
    }
    out
}

/// Whether word `n` names a promotional code: "promocode", "Rabattcode",
/// "promo code", "código de descuento".
fn is_promo_code_at(words: &[(usize, usize, String)], n: usize) -> bool {
    let word = |k: usize| words.get(k).map(|(_, _, w)| w.as_str());
    let Some(this) = word(n) else {
        return false;
    };
    let code_word = matches!(this, "code" | "codes" | "código" | "codigo" | "códigos");
    let promo_before = n
        .checked_sub(1)
        .and_then(word)
        .is_some_and(|w| NOT_BEFORE_CODE.contains(&w));
    let promo_after = word(n + 1).is_some_and(|w| matches!(w, "de" | "du"))
        && word(n + 2).is_some_and(|w| NOT_BEFORE_CODE.contains(&w));
    PROMO_CODE_WORDS.contains(&this) || (code_word && (promo_before || promo_after))
}

/// Whether the message speaks of a promotional code.
fn mentions_promo_code(chars: &[char]) -> bool {
    let words = words(chars);
    (0..words.len()).any(|n| is_promo_code_at(&words, n))
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
    fn alphanumeric_codes() {
        assert_code("Your Steam Guard code: F7K2M", "F7K2M");
        assert_code("Your code is AB12CD", "AB12CD");
        assert_code("Ihr Code lautet: 29KX7T", "29KX7T");
        assert_code("Código: A1B2C3", "A1B2C3");
        assert_code("FB-12345 is your Facebook confirmation code", "FB-12345");
        // Words with a number glued on, mixed case, links, no keyword.
        assert_none("Use code WELCOME50 for 50% off");
        assert_none("Use promo code AB12CD for 10% off");
        assert_none("<#> Your code: FA+9qCX9VSu");
        assert_none("Your code is at example.com/AB12CD");
        assert_none("Look for plate 7ABC123");
        assert_none("Your code: ABCD");
    }

    #[test]
    fn words_before_a_number_say_what_it_is() {
        assert_none("Your order number is 48291. Thanks!");
        assert_none("We sent a code to the number ending in 0123.");
        assert_none("Your flight LH 1234 departs at 10:30");
        assert_none("Su pedido número 482910 ha sido enviado");
        assert_none("Seu pedido nº 482910 saiu para entrega");
        assert_none("Votre commande n° 482910 a été expédiée");
        assert_none("Ihre Bestellung Nr. 4829104 wurde versandt.");
        assert_none("Ihre Sendungsnummer 48291034 kommt heute");
        assert_none("Заказ №482910 передан в доставку");
        assert_none("Ваш заказ 48291 будет доставлен завтра");
        assert_none("Confirmation number 48291");
        assert_code("Your verification number is 4829", "4829");
        assert_code("Thanks for your order. 4829 is your code", "4829");
        assert_code("Your PIN for account 12345678 is 4321", "4321");
        assert_code("Ваш номер заказа 48291, код получения 5521", "5521");
        assert_code("Ваш код для входа в Яндекс ID: 730182", "730182");
        assert_code("Card PIN 4829", "4829");
    }

    #[test]
    fn lone_numbers_that_are_not_codes() {
        assert_none("You won 1000 free spins!");
        assert_none("Only 1500 units left!");
        assert_none("Rabattcode 4829 gültig bis 2026");
        assert_none("Tu código de descuento: 4829");
        assert_none("【12306】您的车票已出票");
        assert_none("地点：3号楼1201室");
        assert_none("Списание 1500 руб. Баланс 12 345,67 руб.");
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
        assert_eq!(words("Ihre TAN"), 1);
        assert_eq!(words("Pakistan Manhattan"), 0);
        assert_eq!(words("пароль senha clave Einmalpasswort"), 4);
        assert_eq!(words("인증번호"), 1);
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
            "code AB12",
            "code A1B2C3D4E5F6",
            "code 1A.",
            "code A1B2.",
            "code A1B2.c",
            "【1234】",
            "【1234",
            "1234】",
            "n° 1234",
            "№",
            "order №",
            "number",
            "code number 1234",
            "Nr.",
            ". 1234",
            "LH 1234",
            "промокод 1234",
            "code de",
        ];
        for s in samples {
            let _ = extract_code(s);
        }
        let long: String = "code 1234 验证码 ".repeat(500);
        let _ = extract_code(&long);
    }

    #[test]
    fn the_keyword_index_finds_what_comparing_every_pair_finds() {
        // The nearest keyword by comparing every pair, as `nearest` once did.
        fn every_pair(
            keywords: &[(usize, usize)],
            start: usize,
            end: usize,
        ) -> Option<(usize, u8)> {
            keywords
                .iter()
                .map(|&(ks, ke)| {
                    if start >= ke {
                        (start - ke, 0u8)
                    } else if ks >= end {
                        (ks - end, 1u8)
                    } else {
                        (0, 0)
                    }
                })
                .min()
        }
        // Deterministic pseudo-random spans, overlapping and nested included.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % below as u64).unwrap_or(0)
        };
        for _ in 0..300 {
            let keywords: Vec<(usize, usize)> = (0..next(8))
                .map(|_| {
                    let start = next(60);
                    (start, start + 1 + next(6))
                })
                .collect();
            let index = KeywordIndex::new(&keywords);
            for start in 0..70 {
                for len in 1..5 {
                    assert_eq!(
                        index.closest(start, start + len),
                        every_pair(&keywords, start, start + len),
                        "{keywords:?} {start}..{}",
                        start + len
                    );
                }
            }
        }
    }

    #[test]
    fn long_messages_full_of_keywords_and_codes_keep_the_first_code() {
        // 60 KB: thousands of keywords and candidates (quadratic before).
        assert_code(&"code 1234 ".repeat(6000), "1234");
        assert_code(&"X7K9P2 code ".repeat(5000), "X7K9P2");
    }
}
