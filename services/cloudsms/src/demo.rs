//! `cloudsms all --demo`: a few numbers and a steady trickle of realistic
//! messages, sent through the real, signed webhook path: message-ingest's
//! router, called in-process (no HTTP client in the binary).

use std::time::Duration;

use domain::E164;
use platform::Infra;
use rand::Rng;
use rand::seq::IndexedRandom;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Numbers from ranges set aside for fiction and documentation.
const NUMBERS: &[(&str, &str)] = &[
    ("+12025550143", "demo"),
    ("+13125550178", "demo"),
    ("+14165550121", "demo"),
    ("+447700900461", "demo"),
    ("+447700900872", "demo"),
    ("+33639981234", "demo"),
    ("+61491570156", "demo"),
    ("+8613800138000", "demo"),
];

/// (sender, text with `{code}` where the code goes).
const MESSAGES: &[(&str, &str)] = &[
    (
        "WhatsApp",
        "Your WhatsApp code: {code3}-{code3b}. Don't share this code with others.",
    ),
    ("Google", "G-{code6} is your Google verification code."),
    (
        "Telegram",
        "Telegram code: {code5}. Do not give this code to anyone, even if they say they are from Telegram!",
    ),
    ("Uber", "Your Uber code is {code4}. Never share this code."),
    (
        "Microsoft",
        "Use {code6} as Microsoft account security code.",
    ),
    ("Discord", "Your Discord verification code is: {code6}"),
    ("+14155550199", "Hey, are we still on for lunch tomorrow?"),
    (
        "Amazon",
        "{code6} is your Amazon OTP. Do not share it with anyone.",
    ),
    (
        "TikTok",
        "[TikTok] {code6} is your verification code, valid for 5 minutes.",
    ),
    (
        "腾讯科技",
        "【腾讯科技】验证码：{code6}，5分钟内有效，请勿泄露。",
    ),
    (
        "PayPal",
        "PayPal: Your security code is {code6}. It expires in 10 minutes.",
    ),
    ("Steam", "Your Steam login code: {code5}"),
];

/// A random signing key for the demo's webhooks.
pub fn random_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn fill(template: &str, rng: &mut impl Rng) -> String {
    let mut text = template.to_owned();
    for (tag, digits) in [
        ("{code3}", 3),
        ("{code3b}", 3),
        ("{code4}", 4),
        ("{code5}", 5),
        ("{code6}", 6),
    ] {
        if text.contains(tag) {
            let low = 10u32.pow(digits - 1);
            let code = rng.random_range(low..low * 10);
            text = text.replace(tag, &code.to_string());
        }
    }
    text
}

/// Seeds the numbers, then posts a message every few seconds until `shutdown`.
pub async fn run(infra: &Infra, shutdown: CancellationToken) -> anyhow::Result<()> {
    for (e164, label) in NUMBERS {
        infra.store.add_number(&E164::parse(e164)?, label).await?;
    }
    let secret = infra.settings.ingest.providers.generic.secret.clone();
    let webhooks = message_ingest::router(infra);
    tracing::info!(numbers = NUMBERS.len(), "demo feeder started");
    let mut sent: u64 = 0;
    loop {
        let (body, pause) = {
            let mut rng = rand::rng();
            let (to, _) = NUMBERS.choose(&mut rng).copied().unwrap_or(NUMBERS[0]);
            let (from, template) = MESSAGES.choose(&mut rng).copied().unwrap_or(MESSAGES[0]);
            let body = serde_json::json!({
                "to": to,
                "from": from,
                "body": fill(template, &mut rng),
                "id": format!("demo-{}-{sent}", chrono::Utc::now().timestamp_millis()),
            });
            // A quick burst at start so every page has something, then a trickle.
            let pause = if sent < 16 {
                150
            } else {
                rng.random_range(2_000..7_000)
            };
            (body.to_string(), Duration::from_millis(pause))
        };
        let ts = chrono::Utc::now().timestamp();
        let signature = message_ingest::providers::generic::sign(&secret, ts, body.as_bytes());
        let request = http::Request::post("/webhooks/generic")
            .header("content-type", "application/json")
            .header("x-cloudsms-timestamp", ts.to_string())
            .header("x-cloudsms-signature", signature)
            .body(body)?;
        // The router answers every request (its error type is Infallible).
        let Ok(response) = webhooks.clone().oneshot(request).await;
        if response.status().is_success() {
            sent += 1;
        } else {
            tracing::warn!(status = %response.status(), "demo webhook refused");
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(pause) => {}
        }
    }
}
