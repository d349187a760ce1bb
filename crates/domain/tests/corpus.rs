//! Table-driven test of [`domain::extract_code`] and
//! [`domain::recognise_service`] over realistic SMS messages.
//!
//! Each row is `(sender, body, expected service, expected code)`; an empty
//! string means "none". Codes are expected as the site shows them: digits
//! written in two halves (`123-456`, `123 456`) are joined, prefixed codes
//! (`G-123456`, `FB-12345`) and alphanumeric codes are kept as printed.
//!
//! Numbers that merely accompany a message — amounts, balances, dates,
//! times, phone numbers, percentages, years, order/parcel/flight numbers —
//! are never codes. Order numbers are never codes, in any language.
//!
//! The test checks every row and reports all mismatches at once.

type Row = (&'static str, &'static str, &'static str, &'static str);

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // ----------------------------------------------------------------
    // English, by the big services.
    // ----------------------------------------------------------------
    ("Google", "G-482913 is your Google verification code.", "Google", "G-482913"),
    ("22000", "G-719204 is your Google verification code. Don't share your code with anyone.", "Google", "G-719204"),
    ("GOOGLE", "Your Google verification code is 604219", "Google", "604219"),
    ("+13197450123", "G-300418 is your Google verification code.", "Google", "G-300418"),
    ("YouTube", "Your YouTube verification code is 512904", "Google", "512904"),
    ("WhatsApp", "Your WhatsApp code: 832-071\nYou can also tap on this link to verify your phone: v.whatsapp.com/832071\nDon't share this code with others", "WhatsApp", "832071"),
    ("+447860033120", "<#> Your WhatsApp Business code 419-277\nDon't share this code with others\n4sgLq1p5sV6", "WhatsApp", "419277"),
    ("VM-WHTSAP", "WhatsApp code 573-902. You can also tap on this link to verify your phone: v.whatsapp.com/573902", "WhatsApp", "573902"),
    ("Telegram", "Telegram code: 58213\n\nYou can also tap on this link to log in:\nhttps://t.me/login/58213", "Telegram", "58213"),
    ("Telegram", "Telegram code 73920\n\nDo not give this code to anyone, even if they say they are from Telegram!\n\nThis code can be used to log in to your Telegram account. We never ask it for anything else.\n\nIf you didn't request this code by trying to log in on another device, simply ignore this message.", "Telegram", "73920"),
    ("+12025550143", "Use 123456 to verify your Telegram account. Call +1 415 555 0123 if you did not request this.", "Telegram", "123456"),
    ("FACEBOOK", "123456 is your Facebook confirmation code", "Facebook", "123456"),
    ("32665", "FB-48213 is your Facebook confirmation code", "Facebook", "FB-48213"),
    ("32665", "<#> 719203 is your Facebook code Laz+nxCarLW", "Facebook", "719203"),
    ("Facebook", "Your Facebook password reset code is 28104930", "Facebook", "28104930"),
    ("Instagram", "Use 492 816 to verify your Instagram account.", "Instagram", "492816"),
    ("Instagram", "382 019 is your Instagram code. Don't share it.", "Instagram", "382019"),
    ("+14155550199", "Your Instagram code is 492 816. Don't share it.", "Instagram", "492816"),
    ("Microsoft", "Use 7391 as Microsoft account security code", "Microsoft", "7391"),
    ("Microsoft", "Microsoft account security code: 58291047", "Microsoft", "58291047"),
    ("+18555550100", "Your Microsoft Teams verification code is 284913", "Microsoft", "284913"),
    ("MSFT", "Your verification code for logging into your Microsoft account on a brand new device is:\n\n    5829", "Microsoft", "5829"),
    ("Outlook", "Use 603918 to verify your Outlook.com account", "Microsoft", "603918"),
    ("Apple", "Your Apple ID Code is: 304912. Don't share it with anyone.", "Apple", "304912"),
    ("Apple", "Your Apple Account code is: 618204. Do not share it with anyone.\n\n@apple.com #618204 %apple.com", "Apple", "618204"),
    ("+17752620134", "Apple ID: Your verification code is 920413.", "Apple", "920413"),
    ("AMAZON", "889201 is your Amazon OTP. Do not share it with anyone.", "Amazon", "889201"),
    ("AD-AMAZON", "Amazon: Your one-time password is 290418. Don't share it.", "Amazon", "290418"),
    ("Amazon", "Your Amazon verification code is: 481920. Don't share this code with anyone.", "Amazon", "481920"),
    ("AWS", "Your AWS verification code is 739281", "Amazon", "739281"),
    ("Uber", "Your Uber code: 4821. Never share this code. Reply STOP ALL to 89203 to unsubscribe.", "Uber", "4821"),
    ("89203", "Your Uber code is 7392", "Uber", "7392"),
    ("Discord", "Your Discord verification code is 902-113", "Discord", "902113"),
    ("88710", "Your Discord security code is: 481920", "Discord", "481920"),
    ("TikTok", "[TikTok] 482913 is your verification code, valid for 5 minutes. To keep your account safe, never forward this code.", "TikTok", "482913"),
    ("+12144900123", "[TikTok] 730125 is your verification code, valid for 5 minutes.", "TikTok", "730125"),
    ("Twitter", "Your Twitter confirmation code is 4821.", "X", "4821"),
    ("X", "593014 is your X verification code.", "X", "593014"),
    ("40404", "Your X verification code is 618203.", "X", "618203"),
    ("PayPal", "PayPal: Your security code is: 739104. Your code expires in 10 minutes. Please don't reply to this message.", "PayPal", "739104"),
    ("PayPal", "PayPal: 382910 is your security code. Don't share your code.", "PayPal", "382910"),
    ("Tinder", "Your Tinder code is 492018", "Tinder", "492018"),
    ("Signal", "Your Signal code: 284193\nDo not share this code\n\ndoDiFGKPO1r", "Signal", "284193"),
    ("+18332820123", "Your Signal verification code: 284-193", "Signal", "284193"),
    ("WeChat", "[WeChat] Your WeChat verification code is 482913. Do not share this code with anyone.", "WeChat", "482913"),
    ("Steam", "Your Steam Guard code: F7K2M", "Steam", "F7K2M"),
    ("+14255550111", "Steam Guard code: 9RT4K. Never share it.", "Steam", "9RT4K"),
    ("Netflix", "Netflix: Your verification code is 482910.", "Netflix", "482910"),
    ("LinkedIn", "Your LinkedIn verification code is 123456.", "LinkedIn", "123456"),
    ("Snapchat", "Snapchat code: 482 910. Happy Snapping!", "Snapchat", "482910"),
    ("Yahoo", "Use 58201 to verify your Yahoo account", "Yahoo", "58201"),
    ("Airbnb", "Your Airbnb verification code is: 5712. Don't share this code with anyone; our employees will never ask for the code.", "Airbnb", "5712"),
    ("BINANCE", "[Binance] Your verification code is: 482910. Do not share it with anyone.", "Binance", "482910"),
    ("Coinbase", "Your Coinbase verification code is: 7392841. Don't share this code with anyone; our employees will never ask for the code.", "Coinbase", "7392841"),
    ("Viber", "Your Viber code: 482910", "Viber", "482910"),
    ("LINE", "[LINE] Your verification code is 4829. Do not share it.", "Line", "4829"),
    ("Grab", "<#> Your Grab code is 4829. It expires in 3 minutes. Do not share this code with anyone. aBc12dEfG3h", "Grab", "4829"),
    ("+6531290123", "Your Grab verification code is 5120", "Grab", "5120"),
    ("Shopee", "Your Shopee OTP is 482910. DO NOT share this code with anyone, including Shopee staff.", "Shopee", "482910"),
    ("Revolut", "Revolut: 482-910 is your verification code. Never share it with anyone, not even Revolut staff.", "Revolut", "482910"),
    ("Wise", "482910 is your Wise verification code. Don't share it.", "Wise", "482910"),
    ("Booking", "Your Booking.com verification code is 482910.", "Booking", "482910"),
    ("+18885550123", "Use 302918 to sign in to Booking.com", "Booking", "302918"),
    ("Lyft", "Your Lyft code is 4829", "Lyft", "4829"),
    ("Bolt", "Bolt code: 4829. Do not share it with anyone.", "Bolt", "4829"),
    ("+37259120123", "Your Bolt verification code is 7731", "Bolt", "7731"),
    ("Glovo", "Your Glovo code is 4829", "Glovo", "4829"),
    ("OpenAI", "Your OpenAI verification code is: 482910", "OpenAI", "482910"),
    ("+14155550162", "Your ChatGPT code is 739201", "OpenAI", "739201"),
    ("Anthropic", "Your Anthropic verification code is 582019", "Claude", "582019"),
    ("+14155550177", "Your Claude verification code is: 204918", "Claude", "204918"),
    ("Twitch", "Your Twitch verification code is 482910", "Twitch", "482910"),
    ("Zoom", "Your Zoom verification code is 482910. Do not share this code.", "Zoom", "482910"),
    ("+16692190123", "Your Zoom code is 600182", "Zoom", "600182"),
    ("Slack", "Slack confirmation code: 482-910", "Slack", "482910"),
    ("Bumble", "Your Bumble code is 4829", "Bumble", "4829"),
    ("Hinge", "Your Hinge verification code is 482910", "Hinge", "482910"),
    ("+18005550144", "Hinge: your code is 3301", "Hinge", "3301"),
    ("Viber", "Viber code: 301-884. Don't share it.", "Viber", "301884"),
    // Alphanumeric codes.
    ("+14155550100", "Your code is AB12CD", "", "AB12CD"),
    ("+14155550101", "Your verification code is X7K9P2. It expires in 10 minutes.", "", "X7K9P2"),
    ("+14155550102", "Use code K8F2MZ to sign in. Do not share it.", "", "K8F2MZ"),
    ("+14155550103", "Your one-time passcode: 9AB3CD", "", "9AB3CD"),
    ("EpicGames", "Your Epic Games security code is: 7HJ2KD", "", "7HJ2KD"),
    // Codes next to numbers that are not codes.
    ("+14155550104", "Your card ending 1234 was charged $20.00. Your OTP is 556677.", "", "556677"),
    ("HDFCBK", "Dear Customer, 482910 is OTP for your txn of Rs.1,250.00 at Swiggy on card ending 1234. Valid for 5 mins.", "", "482910"),
    ("ICICIB", "OTP for transaction of INR 2,500.00 at FLIPKART is 739201. Valid till 10:45. Do not share with anyone.", "", "739201"),
    ("+14155550105", "Your verification code is 4829. Call 1-800-555-0199 if you didn't request this.", "", "4829"),
    ("+14155550106", "Use 482910 to confirm your payment of $12.50 on 11/29.", "", "482910"),
    ("+14155550107", "Your PIN for card ending 4321 is 8264", "", "8264"),
    ("+14155550108", "Enter code 482910 within 5 minutes. Ref 73920", "", "482910"),
    ("+14155550109", "Your code is 123456 and your backup code is 654321", "", "123456"),
    ("+14155550110", "Code 4821 valid until 2026", "", "4821"),
    ("+14155550111", "2024 is your Signal verification code", "Signal", "2024"),
    ("+14155550112", "Your login code is 391028. It expires at 10:30 on 2026-11-29.", "", "391028"),
    ("+14155550113", "Your verification code is 7782. Questions? Call 0800 123 456.", "", "7782"),
    ("+14155550114", "Your security code is 482 910. It is valid for 15 minutes. Account: ****1234", "", "482910"),
    // ----------------------------------------------------------------
    // Chinese (simplified), with 【brand】 signatures.
    // ----------------------------------------------------------------
    ("1069", "【腾讯科技】验证码：839201，5分钟内有效", "Tencent", "839201"),
    ("10690", "【腾讯】您的QQ验证码是 123456", "Tencent", "123456"),
    ("106575", "【微信】您的验证码是 482913，请勿泄露给他人。", "WeChat", "482913"),
    ("95188", "【支付宝】校验码 123456，您正在进行身份验证，打死不要告诉别人哦！", "Alibaba", "123456"),
    ("1069", "【淘宝】您的登录码为 771234，回复TD退订", "Alibaba", "771234"),
    ("1069", "【阿里云】您的短信验证码为 2468，该验证码 5 分钟内有效。", "Alibaba", "2468"),
    ("1069", "验证码 123456，用于微信登录。【腾讯科技】", "Tencent", "123456"),
    ("1069", "【抖音】验证码731920,10分钟内有效。如非本人操作请忽略", "Douyin", "731920"),
    ("1069", "您正在登录微信，验证码 123456", "WeChat", "123456"),
    ("1069", "【微博】您的验证码是482910，10分钟内有效，请勿泄露。", "Weibo", "482910"),
    ("1069", "【新浪微博】验证码：630129，请在5分钟内输入。", "Weibo", "630129"),
    ("1069", "【百度】验证码：482910，您正在登录百度账号，切勿将验证码泄露于他人，本条验证码有效期15分钟。", "Baidu", "482910"),
    ("1069", "【京东】验证码：482910，您正在登录，若非本人操作，请勿泄露。", "JD", "482910"),
    ("1069", "您的验证码为：6284，请在5分钟内完成验证。【京东】", "JD", "6284"),
    ("1069", "【美团】482910（登录验证码），请在5分钟内完成验证，打死都不能告诉别人哦！", "Meituan", "482910"),
    ("1069", "【小红书】验证码 482910，5分钟内有效，请勿泄露给他人。", "Xiaohongshu", "482910"),
    ("1069", "【抖音】您的验证码是 8820，用于手机号登录，5分钟内有效。", "Douyin", "8820"),
    ("1069", "【中国移动】您的短信验证码是 482910，有效期5分钟。", "", "482910"),
    ("1069", "验证码：391820，您正在使用短信验证码登录功能，该验证码仅用于身份验证，请勿泄露给他人使用。【哔哩哔哩】", "", "391820"),
    ("1069", "【拼多多】您的验证码是482910，5分钟内有效，请勿泄露。", "", "482910"),
    ("95555", "【招商银行】您的动态码为 5829，有效期10分钟，客服电话95555", "", "5829"),
    ("1069", "【滴滴出行】验证码4829，用于手机号登录，5分钟内有效。", "DiDi", "4829"),
    ("12306", "【12306】验证码：482910。您正在使用短信验证码登录，5分钟内有效。", "", "482910"),
    ("1069", "您的校验码是：482910，请勿告诉他人。", "", "482910"),
    ("95566", "【中国银行】动态密码：482910，您正在进行网上支付，金额 128.00元。", "", "482910"),
    ("1069", "您的登录验证码为 4829，5分钟内有效。如非本人操作，请致电 400-820-8820。", "", "4829"),
    ("1069", "【支付宝】您正在修改支付密码，校验码 930128，15分钟内有效。", "Alibaba", "930128"),
    ("1069", "【闲鱼】验证码 771203，您正在登录闲鱼。", "Alibaba", "771203"),
    ("1069", "【钉钉】您的验证码为 4021，用于登录钉钉。", "Alibaba", "4021"),
    ("1069", "【腾讯云】验证码：582019，5分钟内有效，为了保障您的账户安全，请勿向他人泄漏验证码信息。", "Tencent", "582019"),
    ("1069", "【微信支付】您的验证码是 739201，您正在进行绑卡操作。", "WeChat", "739201"),
    ("1069", "【美团外卖】您的验证码是 3920，请勿泄露。", "Meituan", "3920"),
    ("1069", "【京东金融】您的安全码为 820193，请勿告知他人。", "JD", "820193"),
    ("1069", "【百度网盘】您的验证码为 619283，有效期 10 分钟。", "Baidu", "619283"),
    ("1069", "【谷歌】您的验证码是 G-482019", "Google", "G-482019"),
    ("1069", "您的Google验证码是123456", "Google", "123456"),
    ("1069", "【天猫】您的验证码 503918，请勿泄露。", "Alibaba", "503918"),
    ("1069", "【小红书】您的验证码是 2938，请于 5 分钟内填写。", "Xiaohongshu", "2938"),
    ("1069", "【抖音】验证码 482019（10分钟有效），用于抖音账号登录。", "Douyin", "482019"),
    ("1069", "【微博】您的动态码 7291，客服热线 4006900000。", "Weibo", "7291"),
    // Chinese, no code.
    ("95588", "尊敬的客户，您尾号1234的储蓄卡消费人民币500.00元", "", ""),
    ("95555", "【招商银行】您账户0123于11月29日10:30消费支出人民币1,234.56元", "", ""),
    ("1069", "2026年11月29日会议，地点：3号楼1201室", "", ""),
    ("95588", "您尾号1234的卡于11月29日10:30消费人民币500.00元，余额12,345.67元。【工商银行】", "", ""),
    ("1069", "【京东】您的订单号 28301948 已发货，请注意查收。", "JD", ""),
    ("1069", "【美团】您的订单已送达，共计 38.50元，感谢使用。", "Meituan", ""),
    ("1069", "【微信支付】您已成功支付 ¥3000.00，商户：星巴克。", "WeChat", ""),
    ("1069", "【顺丰速运】您的快件 SF1234567890123 已签收，如有疑问请致电 95338。", "", ""),
    ("1069", "【淘宝】双11狂欢，满300减50，全场5折起，回复TD退订", "Alibaba", ""),
    ("1069", "【滴滴出行】您的行程已结束，车费 26.80 元，请为司机评分。", "DiDi", ""),
    // ----------------------------------------------------------------
    // Russian.
    // ----------------------------------------------------------------
    ("+79001234567", "Ваш код: 4821", "", "4821"),
    ("+79001234567", "Код подтверждения 583920. Никому не сообщайте.", "", "583920"),
    ("Telegram", "Код для входа в Telegram: 58213. Не давайте код никому, даже если его требуют от имени Telegram!", "Telegram", "58213"),
    ("Yandex", "Код подтверждения: 482910. Никому не говорите код, даже сотруднику Яндекса.", "Yandex", "482910"),
    ("+79001234568", "Ваш код для входа в Яндекс ID: 730182", "Yandex", "730182"),
    ("VK", "Ваш код подтверждения: 482913. Никому не давайте код, даже если его требуют от имени Службы поддержки ВКонтакте.", "VK", "482913"),
    ("+79001234569", "VK: 602918 — код для входа в аккаунт. Никому не сообщайте его.", "VK", "602918"),
    ("Mail.ru", "Код подтверждения Mail.ru: 482910", "Mail.ru", "482910"),
    ("+79001234570", "Ваш пароль для входа: 482910", "", "482910"),
    ("900", "Одноразовый пароль: 4829. Никому его не сообщайте. Списание 1500 руб. с карты *1234", "", "4829"),
    ("Yandex", "Пароль: 4829. Никому не сообщайте его! Яндекс ID", "Yandex", "4829"),
    ("Gosuslugi", "Код: 482910\nНикому не сообщайте код, даже если его требуют от имени Госуслуг", "", "482910"),
    ("+79001234571", "Ваш код для Wildberries: 482910", "", "482910"),
    ("WhatsApp", "Ваш код WhatsApp: 482-910\nНикому не сообщайте этот код", "WhatsApp", "482910"),
    ("+79001234572", "Код 5928 для подтверждения оплаты 2 450 ₽ в магазине OZON. Никому не говорите код!", "", "5928"),
    ("+79001234573", "Код подтверждения Apple ID: 829104", "Apple", "829104"),
    ("+79001234574", "Ваш код Google: G-482917", "Google", "G-482917"),
    ("Tinkoff", "Никому не говорите код 7392! Вход в Т-Банк с нового устройства.", "", "7392"),
    // Russian, no code.
    ("900", "Списание 1500 руб. Карта *1234. Баланс 12 345,67 руб.", "", ""),
    ("OZON", "Заказ №482910 передан в службу доставки. Сумма 2 450 ₽", "", ""),
    ("+79001234575", "Ваш заказ 48291 будет доставлен 29.11.2026 с 10:00 до 14:00", "", ""),
    ("MTS", "Ваш баланс: 1 234,56 ₽. Пополните счёт до 30.11.2026.", "", ""),
    ("+79001234576", "Звоните: 8 800 555-35-35, мы работаем с 9:00 до 21:00", "", ""),
    ("Beeline", "Скидка 30% на тариф до 31.12! Подробнее: +7 (495) 123-45-67", "", ""),
    // ----------------------------------------------------------------
    // Spanish.
    // ----------------------------------------------------------------
    ("+34600123456", "Tu código de verificación es 730194", "", "730194"),
    ("WhatsApp", "Tu código de WhatsApp: 482-910. No compartas este código con nadie.", "WhatsApp", "482910"),
    ("+34600123457", "Tu clave de acceso es 4829", "", "4829"),
    ("Uber", "Tu código de Uber es 4821. Nunca compartas este código. Responde STOP ALL al 89203 para cancelar.", "Uber", "4821"),
    ("Microsoft", "Utiliza 482910 como código de seguridad de la cuenta Microsoft", "Microsoft", "482910"),
    ("+34600123458", "Clave de un solo uso: 482910. No la compartas.", "", "482910"),
    ("Google", "G-482910 es tu código de verificación de Google.", "Google", "G-482910"),
    ("BBVA", "Código de confirmación 4829 para el pago de 1.250,00 € con tarjeta terminada en 1234", "", "4829"),
    ("+5215512345678", "Tu código de Facebook es 738201", "Facebook", "738201"),
    ("Glovo", "Tu código de Glovo es 3029. No lo compartas con nadie.", "Glovo", "3029"),
    ("+5491123456789", "Tu código de TikTok es 482019. Es válido por 5 minutos.", "TikTok", "482019"),
    ("Amazon", "Tu código de verificación de Amazon es 582019. No compartas este código.", "Amazon", "582019"),
    ("+34600123459", "Tu código es AB7K2P. Caduca en 10 minutos.", "", "AB7K2P"),
    // Spanish, no code.
    ("+34600123460", "Tu pedido 482910 ha sido enviado", "", ""),
    ("BBVA", "Se ha realizado un cargo de 1.234,56 € en tu tarjeta terminada en 1234", "", ""),
    ("Movistar", "Tu factura de 45,90 € vence el 29/11/2026", "", ""),
    ("+34600123461", "Su pedido número 482910 ha sido enviado", "", ""),
    ("Vodafone", "Recarga de 20,00 € realizada. Saldo: 35,50 €", "", ""),
    ("+5215512345679", "Pedido 48291 confirmado. Total: $1,250 MXN", "", ""),
    ("+34600123462", "Su cita del 29/11/2026 a las 10:30 está confirmada. Llame al 900 123 456 para cambiarla.", "", ""),
    // ----------------------------------------------------------------
    // Portuguese.
    // ----------------------------------------------------------------
    ("+5511912345678", "Seu código de verificação é 482910", "", "482910"),
    ("WhatsApp", "O seu código do WhatsApp: 482-910\nNão compartilhe este código com ninguém", "WhatsApp", "482910"),
    ("+5511912345679", "Sua senha temporária é 4829", "", "4829"),
    ("iFood", "Use o código 482910 para entrar no iFood. Não compartilhe.", "", "482910"),
    ("Nubank", "Código de segurança Nubank: 4829. Não compartilhe com ninguém.", "", "4829"),
    ("+351912345678", "O seu código de verificação Google é G-593018", "Google", "G-593018"),
    ("Uber", "Seu código Uber é 7291. Nunca compartilhe este código.", "Uber", "7291"),
    ("+5511912345680", "Instagram: 301 928 é o seu código de confirmação.", "Instagram", "301928"),
    ("+5511912345681", "Senha de acesso: 802913. Válida por 5 minutos.", "", "802913"),
    // Portuguese, no code.
    ("+5511912345682", "Seu pedido 48291 foi enviado. Valor: R$ 1.234,56", "", ""),
    ("Nubank", "Sua fatura de R$ 250,00 vence em 29/11.", "", ""),
    ("Claro", "Sua recarga de R$ 30,00 foi confirmada em 29/11/2026 às 10:30.", "", ""),
    ("+5511912345683", "Seu pedido nº 482910 saiu para entrega", "", ""),
    // ----------------------------------------------------------------
    // French.
    // ----------------------------------------------------------------
    ("+33612345678", "Votre code de vérification est 552019", "", "552019"),
    ("WhatsApp", "Votre code WhatsApp : 482-910\nNe partagez pas ce code", "WhatsApp", "482910"),
    ("Facebook", "482910 est votre code de confirmation Facebook", "Facebook", "482910"),
    ("+33612345679", "Code de sécurité : 4829. Ne le communiquez à personne.", "", "4829"),
    ("+33612345680", "Votre mot de passe temporaire : 4829", "", "4829"),
    ("Google", "G-302918 est votre code de validation Google.", "Google", "G-302918"),
    ("Microsoft", "Utilisez le code 8291 comme code de sécurité du compte Microsoft", "Microsoft", "8291"),
    ("+33612345681", "Votre code Uber : 5012. Ne partagez jamais ce code.", "Uber", "5012"),
    ("CreditAgri", "Votre code de validation pour le paiement de 49,99 EUR chez FNAC est 730192", "", "730192"),
    ("+33612345682", "Votre code d'accès à usage unique est le 291038.", "", "291038"),
    // French, no code.
    ("+33612345683", "Votre commande n° 482910 a été expédiée", "", ""),
    ("Free", "Votre facture de 49,99 € est disponible", "", ""),
    ("+33612345684", "Votre colis 6A12345678901 sera livré le 29/11", "", ""),
    ("+33612345685", "Votre rendez-vous du 29/11 à 10h30 est confirmé.", "", ""),
    ("+33612345686", "Solde de votre compte au 29/11 : 1 234,56 €", "", ""),
    // ----------------------------------------------------------------
    // German.
    // ----------------------------------------------------------------
    ("+491701234567", "Ihr Bestätigungscode lautet 382910", "", "382910"),
    ("WhatsApp", "Dein WhatsApp-Code: 482-910\nTeile diesen Code mit niemandem", "WhatsApp", "482910"),
    ("Sparkasse", "Ihre TAN für die Überweisung von 1.234,56 EUR an Max Mustermann lautet 482910", "", "482910"),
    ("+491701234568", "Ihr Sicherheitscode: 4829. Gültig für 10 Minuten.", "", "4829"),
    ("Postbank", "Ihre mTAN lautet 482910. Überweisung an DE89 3704 0044 0532 0130 00, Betrag 250,00 EUR", "", "482910"),
    ("Amazon", "Dein Anmeldecode für Amazon: 482910", "Amazon", "482910"),
    ("Google", "G-582019 ist dein Google-Bestätigungscode.", "Google", "G-582019"),
    ("+491701234569", "Dein Telegram-Code: 72910", "Telegram", "72910"),
    ("+491701234570", "Verwende 4829 als Sicherheitscode für dein Microsoft-Konto", "Microsoft", "4829"),
    ("+491701234571", "Ihr Einmalpasswort lautet 739102. Geben Sie es niemals weiter.", "", "739102"),
    ("+491701234572", "Ihr Code lautet: 29KX7T", "", "29KX7T"),
    // German, no code.
    ("+491701234573", "Deine Bestellung 482910 wurde versandt", "", ""),
    ("Amazon", "Bestellnummer 302-4829104-3928103: Dein Paket kommt am 29.11.2026.", "Amazon", ""),
    ("+491701234574", "Ihre Rechnung über 89,99 EUR ist fällig am 29.11.2026", "", ""),
    ("+491701234575", "Ihre Bestellung Nr. 4829104 wurde versandt.", "", ""),
    ("+491701234576", "Zahlung von 1.500,00 € eingegangen.", "", ""),
    ("+491701234577", "Ihr Termin am 29.11.2026 um 10:30 Uhr ist bestätigt.", "", ""),
    ("+491701234578", "Ihre Paketnummer ist 00340434161094042557", "", ""),
    ("DHL", "Ihre Sendungsnummer 48291034 wird heute zwischen 10:00 und 14:00 zugestellt.", "", ""),
    // ----------------------------------------------------------------
    // Japanese and Korean.
    // ----------------------------------------------------------------
    ("+819012345678", "認証コード：918273", "", "918273"),
    ("LINE", "【LINE】認証番号：4829\nこの番号を他人に教えないでください。", "Line", "4829"),
    ("KakaoTalk", "[카카오톡] 인증번호 [482913]를 입력해주세요.", "Kakao", "482913"),
    ("+821012345678", "[카카오] 인증번호 [482913]를 입력해주세요", "Kakao", "482913"),
    ("NAVER", "[네이버] 인증번호[482910]를 입력해 주세요.", "Naver", "482910"),
    ("+819012345679", "Amazon: 確認コード 482910 を入力してください。", "Amazon", "482910"),
    ("+821012345679", "[Web발신]\n[쿠팡] 인증번호 [7391]를 입력해주세요.", "", "7391"),
    // ----------------------------------------------------------------
    // English, no code.
    // ----------------------------------------------------------------
    ("+14155550120", "Your balance is $1234.56", "", ""),
    ("+14155550121", "Your card ending 1234 was charged $12.50 at STARBUCKS on 11/29.", "", ""),
    ("+14155550122", "Meeting at 10:30 on 2026-11-29", "", ""),
    ("+14155550123", "Your order #40312 has shipped and will arrive on 29/11/2026.", "", ""),
    ("Amazon", "Amazon: Your order #112-4829104-3928103 has shipped. Track at amzn.to/3xYz", "Amazon", ""),
    ("+14155550124", "Call us at (415) 555-0123 for help.", "", ""),
    ("+14155550125", "Call +1 415 555 0123 to confirm your appointment on 11/29 at 10:30.", "", ""),
    ("+447700900123", "Freephone 0800 123 456 - we are open 24/7", "", ""),
    ("+14155550126", "Happy new year 2026!", "", ""),
    ("+14155550127", "Save 20% today only! Use promo code SAVE20 at checkout.", "", ""),
    ("+14155550128", "Black Friday: up to 70% off, 1500 products on sale until 30.11.2026", "", ""),
    ("+14155550129", "Your parcel 48291034 is out for delivery. Track: https://t.co/abc123", "", ""),
    ("+14155550130", "Payment of ¥3000 received. Thank you!", "", ""),
    ("+14155550131", "Your appointment is confirmed for 29.11.2026 at 14:30. Reply C to cancel.", "", ""),
    ("Uber", "Uber: Your trip with Ahmed cost $23.45. Rate your trip.", "Uber", ""),
    ("Lyft", "Your Lyft ride is arriving in 3 minutes. Look for a white Toyota, plate 7ABC123.", "Lyft", ""),
    ("+14155550132", "Your data usage has reached 80% (4096 MB of 5120 MB)", "", ""),
    ("+14155550133", "You have 2500 points expiring on 2026-12-31", "", ""),
    ("+14155550134", "Your flight LH 1234 to Berlin departs at 10:30 from gate B22.", "", ""),
    ("+14155550135", "Reminder: your rent of $1,250.00 is due on 12/01.", "", ""),
    ("+14155550136", "Your order number is 48291. Thanks for shopping with us!", "", ""),
    ("+14155550137", "We sent a verification code to the number ending in 0123.", "", ""),
    ("+14155550138", "Sale! Call 1-800-555-0199 now", "", ""),
    ("Uber", "Your Uber Eats order from McDonald's is on its way. Estimated arrival 10:45.", "Uber", ""),
    ("+14155550139", "Tracking number 1Z999AA10123456784", "", ""),
    ("+14155550140", "You won 1000 free spins! Visit bit.ly/xyz", "", ""),
    ("+14155550141", "Sale ends 11/29! Get 50% off + free shipping over $35.", "", ""),
    ("+14155550142", "Your subscription renews on 2026-12-01 for 9.99 USD.", "", ""),
    ("+14155550143", "Reply STOP to 89203 to unsubscribe", "", ""),
    ("+14155550144", "Text HELP to 40404 for help.", "", ""),
    ("+14155550145", "Your package will arrive between 10:00 and 14:00 on 29.11.", "", ""),
    ("Google", "Google: Someone signed in to your account from Windows 11 on 29 Nov 2026.", "Google", ""),
    ("Telegram", "Telegram: new login from 185.12.34.56, Moscow, Russia.", "Telegram", ""),
    ("Netflix", "Your Netflix membership of $15.49 was renewed on 11/29/2026.", "Netflix", ""),
    ("PayPal", "Your PayPal payment of 12,50 € to John Smith was sent.", "PayPal", ""),
    ("Steam", "Your Steam wallet has been credited with $20.00", "Steam", ""),
    ("Apple", "Apple: Your iCloud storage is 95% full (4.8 GB of 5 GB).", "Apple", ""),
    ("Coinbase", "Coinbase: You received 0.0123 BTC ($1,234.56).", "Coinbase", ""),
    ("+14155550146", "Your WhatsApp account is being registered on a new device. If this wasn't you, ignore this message.", "WhatsApp", ""),
    ("+14155550147", "Your verification code has expired. Please request a new one.", "", ""),
    ("+14155550148", "Your ride: 12.3 km, 25 min, total €18.40", "", ""),
    ("+14155550149", "Happy Birthday! Enjoy 15% off until 12/31/2026.", "", ""),
    ("ICICIB", "Your ICICI Bank account XX1234 is debited with INR 500.00 on 29-Nov-26. Avl Bal INR 12,345.67", "", ""),
    ("+14155550150", "Win up to 5000 USD! Offer valid until 2026-12-24.", "", ""),
    ("+14155550151", "Your gym access PIN changed on 11/29. If not you, call 0800 123 456.", "", ""),
    ("+14155550152", "Order #123456 has shipped", "", ""),
    ("Google", "Your Google Play order GPA.3382-4829-1039-12345 receipt", "Google", ""),
    ("Apple", "Apple: Your subscription to Apple Music (£10.99/month) renews on 29 November 2026.", "Apple", ""),
    ("WeChat", "WeChat Pay: You paid ¥300.00 to Starbucks.", "WeChat", ""),
    ("+14155550153", "Limited offer: 2 for 1, only 1500 units left! Ends 11/30.", "", ""),
    ("+14155550154", "Your invoice 20481 for $89.00 is ready.", "", ""),
    ("+14155550155", "Our office: 221B Baker Street, London NW1 6XE. Tel 020 7946 0958", "", ""),
    ("+14155550156", "Your 4G data pack 2GB expires 2026-12-01", "", ""),
    ("+14155550157", "Grab a friend and save 20% this weekend!", "", ""),
    ("+14155550158", "Zoom in on savings: 30% off all lenses until 12/24.", "", ""),
    ("+14155550159", "Use code WELCOME50 for 50% off your first order.", "", ""),
    ("+14155550160", "Bolt from the blue: fares 25% lower until Sunday.", "", ""),
    ("+14155550161", "I ate an apple with a weak signal in the steam room", "", ""),
    ("+14155550162", "Your account balance is 2048.77 EUR as of 29.11.2026.", "", ""),
    ("+14155550163", "Congrats! Your table for 4 is booked for 11/29 at 7:30 PM. Confirmation number 48291.", "", ""),
    ("+14155550164", "Doors open at 19:00. Your seat: Row 12, Seat 1204.", "", ""),
    ("+14155550165", "Your ticket number 482910 for the 2026 finals has been issued.", "", ""),
    // Promotional codes and references next to real codes.
    ("+79001234577", "Ваш номер заказа 48291, код получения 5521", "", "5521"),
    ("DHL", "Paket 48291034 liegt bereit. Abholcode 7731", "", "7731"),
    ("1069", "【京东】您的订单 4829 已发货", "JD", ""),
    ("+491701234579", "Rabattcode 4829 gültig bis 31.12.2026", "", ""),
    ("+34600123463", "Tu código de descuento: 4829. ¡Válido hasta el 30/11!", "", ""),
    ("+14155550166", "Use promo code AB12CD for 10% off", "", ""),
    ("+79001234578", "Промокод 4829 даёт скидку 15% до 30.11", "", ""),
    ("+14155550167", "Thanks for your order. 4829 is your code to confirm delivery.", "", "4829"),
    ("+14155550168", "Your PIN for account 12345678 is 4321", "", "4321"),
    // Service names that are ordinary words, at the start of a sentence.
    ("+14155550169", "Twitch: 382019 is your verification code. Never share it.", "Twitch", "382019"),
    ("+14155550170", "Zoom: Your verification code is 482091.", "Zoom", "482091"),
    ("+14155550171", "Wise: your code is 739120", "Wise", "739120"),
    ("+821012345680", "[네이버] 로그인 인증번호 [7391] 입니다.", "Naver", "7391"),
    ("+819012345680", "【Yahoo! JAPAN】確認コード：394018", "Yahoo", "394018"),
    ("KakaoTalk", "[카카오톡] 결제 금액 15,000원이 승인되었습니다.", "Kakao", ""),
];

fn none_if_empty(s: &str) -> Option<&str> {
    if s.is_empty() { None } else { Some(s) }
}

#[test]
fn corpus_has_enough_rows() {
    assert!(ROWS.len() >= 200, "only {} rows", ROWS.len());
    let not_codes = ROWS
        .iter()
        .filter(|(_, body, _, code)| code.is_empty() && body.chars().any(|c| c.is_ascii_digit()))
        .count();
    assert!(
        not_codes >= 50,
        "only {not_codes} rows with numbers that are not codes"
    );
}

#[test]
fn corpus_codes_and_services() {
    let mut failures = Vec::new();
    for (i, &(from, body, service, code)) in ROWS.iter().enumerate() {
        let got_code = domain::extract_code(body);
        let got_service = domain::recognise_service(from, body);
        let mut problems = Vec::new();
        if got_code.as_deref() != none_if_empty(code) {
            problems.push(format!(
                "code: expected {:?}, got {:?}",
                none_if_empty(code),
                got_code
            ));
        }
        if got_service != none_if_empty(service) {
            problems.push(format!(
                "service: expected {:?}, got {:?}",
                none_if_empty(service),
                got_service
            ));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "row {i} ({from:?}, {body:?}): {}",
                problems.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        ROWS.len(),
        failures.join("\n")
    );
}
