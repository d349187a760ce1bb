//! Pages stay light for visitors on a phone: the number page with a full
//! first page of messages (`gateway.page_size`, 50 by default) is at most
//! 16 KB gzipped, as it reaches the browser. The weight does not depend on
//! the storage mode, so one mode is enough.

use cloudsms_tests::http::send;
use std::time::Duration;

use cloudsms_tests::{Mode, TestApp, wait_until};

const NUMBER: &str = "+447700900461";
const BUDGET: usize = 16 * 1024;

/// Fifty messages as a busy public number receives them: codes of different
/// services, some with a validity, and plain texts; no two codes alike
/// (a page of identical messages would compress unrealistically well).
fn busy_inbox() -> Vec<(&'static str, String)> {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % 1_000_000
    };
    (0..50)
        .map(|i| {
            let code = next();
            match i % 5 {
                0 => ("WhatsApp", format!("Your WhatsApp code: {:03}-{:03}. Don't share this code with others. 4sgLq1p5sV6", code / 1000, code % 1000)),
                1 => ("Google", format!("G-{code:06} is your Google verification code.")),
                2 => ("Telegram", format!("Telegram code: {code:05}. You can also tap on this link to log in: https://t.me/login/{code}")),
                3 => ("Bank", format!("Your one-time passcode is {code:06}. It is valid for 5 minutes. Never share it, not even with bank staff.")),
                _ => ("+15550001111", format!("Hi, are we still on for {} o'clock? Ref {code}", i % 12 + 1)),
            }
        })
        .collect()
}

#[tokio::test]
async fn the_number_page_with_a_full_page_of_messages_is_at_most_16_kb_gzipped() {
    let app = TestApp::spawn(Mode::Embedded).await;
    app.add_number(NUMBER).await;
    let inbox = busy_inbox();
    for (i, (from, body)) in inbox.iter().enumerate() {
        app.accept_sms(NUMBER, from, body, &format!("w-{i}")).await;
    }
    let html = wait_until(
        "50 messages on the page",
        Duration::from_secs(20),
        async || {
            let (_, html) = app.get(&format!("/numbers/{NUMBER}")).await;
            let shown = html.matches(r#"<li class="msg"#).count();
            if shown == 50 {
                Ok(html)
            } else {
                Err(format!("{shown} shown"))
            }
        },
    )
    .await;

    let resp = send(
        app.gateway_get(&format!("/numbers/{NUMBER}"))
            .header("accept-encoding", "gzip"),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let sent = resp.bytes().await.unwrap().len();
    println!(
        "number page with 50 messages: {} bytes of HTML, {sent} bytes gzipped",
        html.len()
    );
    assert!(
        sent <= BUDGET,
        "{sent} bytes gzipped, over the {BUDGET}-byte budget"
    );
    app.stop().await;
}
