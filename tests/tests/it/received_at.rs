//! A provider's `received_at` orders the inbox, so it is believed only
//! within bounds: a time in the future (beyond the allowed clock skew) does
//! not pin a message on top, and none is older than its number's registration.

use cloudsms_tests::{Mode, TestApp, both_modes};

const NUMBER: &str = "+447700900491";

fn sms_at(body: &str, id: &str, received_at: &str) -> String {
    serde_json::json!({
        "to": NUMBER, "from": "Bank", "body": body, "id": id, "received_at": received_at
    })
    .to_string()
}

async fn a_claimed_future_does_not_pin_a_message_on_top(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let hook = app.signed(&sms_at(
        "claims to come from 2099",
        "future-1",
        "2099-01-01T00:00:00Z",
    ));
    assert_eq!(app.post(&hook).await.status(), 202);
    let future = app.wait_for_provider_message(NUMBER, "future-1").await;
    assert!(
        future.received_at <= future.stored_at,
        "{} is after it was stored ({})",
        future.received_at,
        future.stored_at
    );

    app.accept_sms(NUMBER, "Bank", "sent after it", "after-1")
        .await;
    let html = app.wait_for_page(NUMBER, "sent after it").await;
    let pos = |s: &str| html.find(s).unwrap();
    assert!(
        pos("sent after it") < pos("claims to come from 2099"),
        "the newer message is shown first"
    );
    let (status, body) = app.get(&format!("/api/v1/numbers/{NUMBER}/messages")).await;
    assert_eq!(status, 200, "{body}");
    let api: serde_json::Value = serde_json::from_str(&body).unwrap();
    let bodies: Vec<&str> = api["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["sent after it", "claims to come from 2099"]);
    app.stop().await;
}
both_modes!(a_claimed_future_does_not_pin_a_message_on_top);

async fn a_time_before_registration_is_the_registration_time(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let registered = app
        .infra
        .store
        .find_number(NUMBER)
        .await
        .unwrap()
        .unwrap()
        .created_at;
    let hook = app.signed(&sms_at(
        "claims to come from 2020",
        "past-1",
        "2020-01-01T00:00:00Z",
    ));
    assert_eq!(app.post(&hook).await.status(), 202);
    let row = app.wait_for_provider_message(NUMBER, "past-1").await;
    // Times are kept to the millisecond: the registration's, rounded up.
    assert!(
        row.received_at >= registered
            && row.received_at - registered < chrono::Duration::milliseconds(1),
        "stored at {}, registered at {registered}",
        row.received_at
    );

    // A time after the registration, within the clock skew, is kept.
    let within = (chrono::Utc::now() + chrono::Duration::seconds(60))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let hook = app.signed(&sms_at("a provider clock ahead", "ahead-1", &within));
    assert_eq!(app.post(&hook).await.status(), 202);
    let row = app.wait_for_provider_message(NUMBER, "ahead-1").await;
    assert_eq!(
        row.received_at,
        chrono::DateTime::parse_from_rfc3339(&within).unwrap()
    );
    app.stop().await;
}
both_modes!(a_time_before_registration_is_the_registration_time);
