//! How long a code stays valid, where its text says so, is found once when
//! the message is stored; the API gives the moment it expires and the
//! number page a countdown that ends with the code greyed out (`expired`
//! already in the HTML once it has passed).

use chrono::{DateTime, Utc};
use cloudsms_tests::{Mode, TestApp, both_modes, wait_until};

const NUMBER: &str = "+447700900177";

async fn a_code_says_how_long_it_is_valid(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    for (body, id) in [
        ("Your code is 482913. Valid for 5 minutes.", "v-5min"),
        ("您的验证码是 771122，2秒内有效。", "v-2s"),
        ("Your code is 334455.", "v-none"),
        ("Your balance is low. Valid for 5 minutes.", "v-nocode"),
    ] {
        assert_eq!(app.send_sms(NUMBER, "Bank", body, id).await.status(), 202);
    }
    let five = app.wait_for_provider_message(NUMBER, "v-5min").await;
    let two = app.wait_for_provider_message(NUMBER, "v-2s").await;
    let none = app.wait_for_provider_message(NUMBER, "v-none").await;
    let no_code = app.wait_for_provider_message(NUMBER, "v-nocode").await;
    assert_eq!(five.code_valid_secs, Some(300));
    assert_eq!(two.code_valid_secs, Some(2));
    assert_eq!(none.code_valid_secs, Some(0));
    assert_eq!(
        no_code.code_valid_secs,
        Some(0),
        "no code, nothing to expire"
    );

    let (status, body) = app.get(&format!("/api/v1/numbers/{NUMBER}/messages")).await;
    assert_eq!(status, 200, "{body}");
    let api: serde_json::Value = serde_json::from_str(&body).unwrap();
    let expires = |id: i64| {
        api["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()["code_expires_at"]
            .clone()
    };
    let at = |v: serde_json::Value| DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(
        at(expires(five.id)).timestamp(),
        five.received_at.timestamp() + 300
    );
    assert_eq!(expires(none.id), serde_json::Value::Null);
    assert_eq!(expires(no_code.id), serde_json::Value::Null);

    // Once the two seconds have passed, the page says so without JavaScript.
    let passed = two.received_at + chrono::Duration::seconds(2);
    wait_until(
        "the short code to expire",
        std::time::Duration::from_secs(10),
        async || Utc::now() > passed,
    )
    .await;
    let (status, html) = app.get(&format!("/numbers/{NUMBER}")).await;
    assert_eq!(status, 200);
    let item = |needle: &str| {
        let start = html
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} in {html}"));
        let end = start + html[start..].find("</li>").unwrap();
        html[start..end].to_owned()
    };
    let short = item(&format!(r#"data-id="{}""#, two.id));
    assert!(short.contains(r#"class="code expired""#), "{short}");
    assert!(short.contains(">expired</span>"), "{short}");
    let long = item(&format!(r#"data-id="{}""#, five.id));
    let five_at = (five.received_at + chrono::Duration::seconds(300))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(
        long.contains(&format!(r#"data-expires="{five_at}""#)),
        "{long}"
    );
    assert!(
        long.contains(r#"class="code""#) && long.contains("valid until <time"),
        "{long}"
    );
    assert!(!item(&format!(r#"data-id="{}""#, none.id)).contains("validity"));

    let (_, zh) = app.get(&format!("/numbers/{NUMBER}?lang=zh-CN")).await;
    assert!(
        zh.contains(">已过期</span>") && zh.contains("有效期至 <time"),
        "{zh}"
    );
    app.stop().await;
}
both_modes!(a_code_says_how_long_it_is_valid);
