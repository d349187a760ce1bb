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
    fn every_pair(keywords: &[(usize, usize)], start: usize, end: usize) -> Option<(usize, u8)> {
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

#[test]
fn prefixed_codes_are_entered_as_digits() {
    for (code, entered) in [
        ("G-717464", "717464"),
        ("FB-12345", "12345"),
        ("898830", "898830"),
        ("X7K9P2", "X7K9P2"),
        ("F7K2M", "F7K2M"),
        ("-123", "-123"),
        ("G-", "G-"),
    ] {
        assert_eq!(super::code_to_enter(code), entered, "{code}");
    }
    // The finder's own prefixed codes become digits.
    let found =
        super::extract_code("G-717464 is your Google verification code.").unwrap_or_default();
    assert_eq!(super::code_to_enter(&found), "717464");
}
