//! Masking rules (`gateway.masking`): a card number or an e-mail address
//! in a message's text is masked on the number page, `/latest`, the Atom
//! feed, the JSON API and the live stream, while the stored text is kept;
//! without rules nothing changes; a bad pattern is refused at load.

use cloudsms_tests::{Isolation, Mode, TestApp, both_modes, unescape_html};

const NUMBER: &str = "+447700900461";
const TEXT: &str =
    "Card 4111 1111 1111 1234 was charged. Receipt sent to ann.lee@example.org. Code 482913";

const RULES: &str = r#"
[gateway]
masking = [
  { name = "cards", pattern = '\b(?:\d[ -]?){12,15}(\d{4})\b', replacement = "[card ending $1]" },
  { name = "email", pattern = '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}', replacement = "[e-mail hidden]" },
]
"#;

const MASKED: &str =
    "Card [card ending 1234] was charged. Receipt sent to [e-mail hidden]. Code 482913";

fn assert_masked(what: &str, text: &str) {
    assert!(
        text.contains(MASKED),
        "{what} shows the masked text: {text}"
    );
    assert!(!text.contains("4111 1111"), "{what} leaks the card number");
    assert!(
        !text.contains("ann.lee@example.org"),
        "{what} leaks the address"
    );
}

async fn bodies_are_masked_everywhere_visitors_look_and_kept_in_the_store(mode: Mode) {
    let app =
        TestApp::spawn_isolated(Isolation::with_overrides(mode, RULES).await, mode, true).await;
    app.add_number(NUMBER).await;
    let mut live = app.open_live(NUMBER).await;
    assert_eq!(
        app.send_sms(NUMBER, "Bank", TEXT, "mask-1").await.status(),
        202
    );
    live.wait_for_message("[e-mail hidden]").await;
    assert_masked("the live frame", &live.seen);
    // An open stream would hold the shutdown for its grace period.
    drop(live);

    let stored = app.wait_for_stored(NUMBER, 1).await;
    assert_eq!(stored[0].body, TEXT, "the stored text is kept");
    let code = stored[0].code.clone().unwrap_or_default();
    assert!(!code.is_empty(), "a code was found in {TEXT:?}");
    let page = unescape_html(&app.wait_for_page(NUMBER, "[e-mail hidden]").await);
    assert_masked("the number page", &page);
    // The code was found in the stored text and is still offered.
    assert!(page.contains(&format!("data-copy=\"{code}\"")), "{page}");
    let (status, latest) = app.get("/latest").await;
    assert_eq!(status, 200);
    assert_masked("/latest", &unescape_html(&latest));
    let (status, home) = app.get("/").await;
    assert_eq!(status, 200);
    assert!(
        !unescape_html(&home).contains("ann.lee@example.org"),
        "home card preview"
    );
    let (status, feed) = app.get(&format!("/numbers/{NUMBER}/feed.atom")).await;
    assert_eq!(status, 200);
    assert_masked("the feed", &unescape_html(&feed));
    let (status, api) = app.get(&format!("/api/v1/numbers/{NUMBER}/messages")).await;
    assert_eq!(status, 200);
    let api: serde_json::Value = serde_json::from_str(&api).unwrap();
    assert_eq!(api["messages"][0]["body"], MASKED);
    assert_eq!(api["messages"][0]["code"], code.as_str());
    app.stop().await;
}
both_modes!(bodies_are_masked_everywhere_visitors_look_and_kept_in_the_store);

async fn without_rules_texts_are_shown_as_received(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    assert_eq!(
        app.send_sms(NUMBER, "Bank", TEXT, "plain-1").await.status(),
        202
    );
    let page = unescape_html(&app.wait_for_page(NUMBER, "ann.lee@example.org").await);
    assert!(page.contains(TEXT));
    let (_, api) = app.get(&format!("/api/v1/numbers/{NUMBER}/messages")).await;
    let api: serde_json::Value = serde_json::from_str(&api).unwrap();
    assert_eq!(api["messages"][0]["body"], TEXT);
    app.stop().await;
}
both_modes!(without_rules_texts_are_shown_as_received);

#[test]
fn a_bad_pattern_is_refused_when_the_configuration_loads() {
    let bad =
        "[gateway]\nmasking = [ { name = \"cards\", pattern = '(\\d{4', replacement = \"x\" } ]\n";
    let err = config::Settings::from_toml_layers(&[bad])
        .unwrap_err()
        .to_string();
    assert!(err.contains("gateway.masking"), "{err}");
    assert!(err.contains("cards"), "{err}");
    let good = RULES;
    let settings = config::Settings::from_toml_layers(&[good]).unwrap();
    assert_eq!(settings.gateway.masking.len(), 2);
    assert!(
        config::Settings::from_toml_layers(&[""])
            .unwrap()
            .gateway
            .masking
            .is_empty()
    );
}
