//! Forged pass cookies: a pass is an HMAC over its kind, expiry, id and the
//! visitor it was earned by; any change to it, or another visitor, and the
//! gate asks again.

use std::time::Duration;

use cloudsms_tests::{Isolation, Mode, TestApp, both_modes, unescape_html};

const PAGE: &str = "/numbers/+15555550123";
const VISITOR: &str = "0123456789abcdef0123456789abcdef";
const OTHER_VISITOR: &str = "fedcba9876543210fedcba9876543210";
/// Looks automated: the gate asks at once, so only a pass lets it read.
const CURL: &str = "curl/8.5.0";

async fn get(app: &TestApp, visitor: &str, pass: Option<&str>, path: &str) -> reqwest::Response {
    let mut cookie = format!("{}={visitor}", gateway::VISITOR_COOKIE);
    if let Some(pass) = pass {
        cookie.push_str(&format!("; {}={pass}", gateway::PASS_COOKIE));
    }
    cloudsms_tests::no_redirects()
        .get(format!("{}{path}", app.gateway_url))
        .header("user-agent", CURL)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

/// A genuine pass, earned the way a browser without JavaScript does.
async fn earn_pass(app: &TestApp) -> String {
    let page = get(app, VISITOR, None, PAGE).await;
    assert_eq!(page.status(), 429);
    let page = page.text().await.unwrap();
    let start = page.find(";url=").unwrap() + 5;
    let end = start + page[start..].find('"').unwrap();
    let wait = unescape_html(&page[start..end]);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let waited = get(app, VISITOR, None, &wait).await;
    assert_eq!(waited.status(), 303);
    waited
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{}=", gateway::PASS_COOKIE)))
        .and_then(|c| c.split(';').next())
        .expect("a pass cookie")
        .to_owned()
}

/// `text` with its last character changed.
fn last_changed(text: &str) -> String {
    let mut out = text[..text.len() - 1].to_owned();
    out.push(if text.ends_with('0') { '1' } else { '0' });
    out
}

async fn forged_pass_cookies_do_not_open_the_gate(mode: Mode) {
    let iso = Isolation::with_overrides(
        mode,
        "[gateway.gate]\nenabled = true\ncaptcha_url = \"\"\npass_key = \"test-pass-key\"\n\
         nojs_wait_secs = 1\n",
    )
    .await;
    let app = TestApp::spawn_isolated(iso, mode, false).await;
    app.add_number("+15555550123").await;
    let pass = earn_pass(&app).await;
    assert_eq!(get(&app, VISITOR, Some(&pass), PAGE).await.status(), 200);

    let parts: Vec<&str> = pass.split('.').collect();
    assert_eq!(parts.len(), 5, "v1.<kind>.<expires>.<id>.<mac>: {pass}");
    let with = |i: usize, value: &str| {
        let mut p = parts.clone();
        p[i] = value;
        p.join(".")
    };
    let later = (parts[2].parse::<u64>().unwrap() + 86_400).to_string();
    let other_kind = if parts[1] == "s" { "w" } else { "s" };
    let forged = [
        with(0, "v2"),
        with(1, other_kind),
        with(2, &later),
        with(2, "99999999999"),
        with(3, &last_changed(parts[3])),
        with(4, &last_changed(parts[4])),
        with(4, &parts[4][..parts[4].len() - 2]),
        with(4, &"0".repeat(parts[4].len())),
        with(4, ""),
        parts[..4].join("."),
        format!("{pass}.x"),
        format!("v1.s.99999999999.{}.{}", "0".repeat(16), "0".repeat(32)),
        String::new(),
        "x".repeat(10_000),
    ];
    for cookie in &forged {
        let r = get(&app, VISITOR, Some(cookie), PAGE).await;
        assert_eq!(r.status(), 429, "{cookie}");
    }
    // A genuine pass is worth nothing to another visitor.
    assert_eq!(
        get(&app, OTHER_VISITOR, Some(&pass), PAGE).await.status(),
        429
    );
    // And it still opens the gate for its own.
    assert_eq!(get(&app, VISITOR, Some(&pass), PAGE).await.status(), 200);
    app.stop().await;
}
both_modes!(forged_pass_cookies_do_not_open_the_gate);
