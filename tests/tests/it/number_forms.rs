//! Numbers are shown as people of their country write them, with the
//! national form a second copy button copies for forms with a country
//! picker; a code printed with a letter prefix copies as the digits a form
//! accepts, and the page says so.

use cloudsms_tests::{Mode, TestApp, both_modes, unescape_html};

async fn numbers_and_codes_are_copied_as_forms_want_them(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    for number in ["+447700900461", "+33639981234"] {
        app.add_number(number).await;
    }
    let (status, uk) = app.get("/numbers/+447700900461").await;
    assert_eq!(status, 200);
    assert!(uk.contains("+44 7700 900461"), "{uk}");
    assert!(
        uk.contains(r#"<span class="national">07700 900461</span>"#),
        "{uk}"
    );
    assert!(
        uk.contains(r#"data-copy="7700900461""#) && uk.contains("Copy without +44"),
        "{uk}"
    );
    let (_, fr) = app.get("/numbers/+33639981234?lang=zh-CN").await;
    assert!(fr.contains("+33 6 39 98 12 34"), "{fr}");
    assert!(fr.contains(">06 39 98 12 34<") && fr.contains(r#"data-copy="639981234""#));
    assert!(unescape_html(&fr).contains("复制（不含 +33）"), "{fr}");
    let (_, home) = app.get("/").await;
    assert!(home.contains("+44 7700 900461") && home.contains("+33 6 39 98 12 34"));

    app.accept_sms(
        "+447700900461",
        "Google",
        "G-717464 is your Google verification code.",
        "g-1",
    )
    .await;
    app.accept_sms(
        "+447700900461",
        "WhatsApp",
        "Your WhatsApp code: 898-830",
        "w-1",
    )
    .await;
    app.wait_for_page("+447700900461", "G-717464").await;
    let html = app
        .wait_for_page("+447700900461", r#"data-copy="898830""#)
        .await;
    assert!(
        html.contains(r#"data-copy="717464""#) && html.contains(">G-717464</button>"),
        "the code is shown as printed and copied as digits: {html}"
    );
    assert!(html.contains("copies 717464"), "{html}");
    assert!(html.contains(r#"data-copy="898830""#) && !html.contains("copies 898830"));

    let (status, body) = app.get("/api/v1/numbers/+447700900461/messages").await;
    assert_eq!(status, 200);
    let api: serde_json::Value = serde_json::from_str(&body).unwrap();
    let google = api["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["code"] == "G-717464")
        .unwrap();
    assert_eq!(google["code_to_enter"], "717464");
    app.stop().await;
}
both_modes!(numbers_and_codes_are_copied_as_forms_want_them);
