//! A message's verification code and service are extracted once, when it is
//! stored, and every view shows the stored values (no extraction per view);
//! bodies are capped at accept; the sender filter is one grouped query.

use cache::HotList;
use chrono::Utc;
use cloudsms_tests::{Mode, TestApp, both_modes};
use proto::events::v1::MessageStored;
use sea_orm::ConnectionTrait;

const NUMBER: &str = "+447700900123";
const OTHER: &str = "+12025550177";

/// A value `domain::extract_code` never returns (it has an underscore), so a
/// view showing it shows the stored column, not a fresh extraction.
const STORED_CODE: &str = "stored_7";
/// Likewise a service outside the recogniser's table.
const STORED_SERVICE: &str = "Stored Service";

async fn a_webhook_stores_the_code_and_service_with_the_message(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    for (from, body, id) in [
        ("+14155550123", "Your Telegram code is 314159", "c-1"),
        ("Bank", "Your balance is $12", "c-2"),
        ("WhatsApp", "Your WhatsApp code: 123-456", "c-3"),
    ] {
        app.accept_sms(NUMBER, from, body, id).await;
    }
    let telegram = app.wait_for_provider_message(NUMBER, "c-1").await;
    assert_eq!(telegram.code.as_deref(), Some("314159"));
    assert_eq!(telegram.service.as_deref(), Some("Telegram"));
    // Extracted and found nothing: empty, not "not extracted yet" (NULL).
    let plain = app.wait_for_provider_message(NUMBER, "c-2").await;
    assert_eq!(plain.code.as_deref(), Some(""));
    assert_eq!(plain.service.as_deref(), Some(""));
    // The recognised service is stored even when the sender names it...
    let whatsapp = app.wait_for_provider_message(NUMBER, "c-3").await;
    assert_eq!(whatsapp.code.as_deref(), Some("123456"));
    assert_eq!(whatsapp.service.as_deref(), Some("WhatsApp"));
    // ...and the views leave it out then ("WhatsApp · WhatsApp" says nothing).
    let api = api_messages(&app).await;
    let shown = |id: i64| api.iter().find(|m| m["id"] == id).unwrap().clone();
    assert_eq!(shown(whatsapp.id)["service"], serde_json::Value::Null);
    assert_eq!(shown(telegram.id)["service"], "Telegram");
    assert_eq!(shown(plain.id)["code"], serde_json::Value::Null);
    app.stop().await;
}
both_modes!(a_webhook_stores_the_code_and_service_with_the_message);

/// `GET /api/v1/numbers/{NUMBER}/messages`'s messages.
async fn api_messages(app: &TestApp) -> Vec<serde_json::Value> {
    let (status, body) = app.get(&format!("/api/v1/numbers/{NUMBER}/messages")).await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["messages"].as_array().unwrap().clone()
}

async fn pages_api_and_latest_show_the_stored_code_not_a_new_extraction(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let body = "Your Telegram code is 111111";
    app.accept_sms(NUMBER, "Bank", body, "s-1").await;
    let row = app.wait_for_provider_message(NUMBER, "s-1").await;
    // What an extractor would never say, written straight into the row.
    app.infra
        .store
        .connection()
        .execute_unprepared(&format!(
            "UPDATE messages SET code = '{STORED_CODE}', service = '{STORED_SERVICE}' \
             WHERE id = {}",
            row.id
        ))
        .await
        .unwrap();
    // Nothing read the number yet, but make sure the views read the row.
    app.infra.cache.clear().await.unwrap();

    let api = api_messages(&app).await;
    assert_eq!(api[0]["body"], body);
    assert_eq!(api[0]["code"], STORED_CODE);
    assert_eq!(api[0]["service"], STORED_SERVICE);
    let (status, html) = app.get(&format!("/numbers/{NUMBER}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(&format!("data-copy=\"{STORED_CODE}\"")),
        "the number page shows the stored code"
    );
    assert!(html.contains(STORED_SERVICE));
    assert!(!html.contains("data-copy=\"111111\""));
    // The sender-filtered page is read from the database too.
    let (_, html) = app.get(&format!("/numbers/{NUMBER}?from=Bank")).await;
    assert!(html.contains(&format!("data-copy=\"{STORED_CODE}\"")));
    let (_, html) = app.get("/latest").await;
    assert!(html.contains(&format!("data-copy=\"{STORED_CODE}\"")));

    // A hot-list entry is shown as it is too (what the persister pushed).
    let event = MessageStored {
        id: row.id,
        number: NUMBER.into(),
        from: "Bank".into(),
        body: body.into(),
        received_at: Some(proto::timestamp_from_unix_millis(
            row.received_at.timestamp_millis(),
        )),
        code: "hot_8".into(),
        service: String::new(),
        ..Default::default()
    };
    app.infra
        .cache
        .fill(HotList::Number(NUMBER), std::slice::from_ref(&event))
        .await
        .unwrap();
    let api = api_messages(&app).await;
    assert_eq!(api[0]["code"], "hot_8");
    assert_eq!(api[0]["service"], serde_json::Value::Null);
    app.stop().await;
}
both_modes!(pages_api_and_latest_show_the_stored_code_not_a_new_extraction);

async fn live_updates_carry_the_announced_code(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let mut live = app.open_live(NUMBER).await;
    // Announced as the persister does, with a code no extractor would find.
    let event = MessageStored {
        id: 4242,
        number: NUMBER.into(),
        from: "Bank".into(),
        body: "Your Telegram code is 222222".into(),
        received_at: Some(proto::timestamp_from_unix_millis(
            Utc::now().timestamp_millis(),
        )),
        code: STORED_CODE.into(),
        service: STORED_SERVICE.into(),
        ..Default::default()
    };
    app.infra.bus.publish(&event).await.unwrap();
    live.wait_for_message("222222").await;
    let json = &live.data()[0];
    assert_eq!(json["code"], STORED_CODE);
    assert_eq!(json["service"], STORED_SERVICE);
    app.stop().await;
}
both_modes!(live_updates_carry_the_announced_code);

async fn bodies_longer_than_any_sms_are_refused_at_accept(mode: Mode) {
    // 255 concatenated segments of 153 GSM-7 characters are 39,015; the
    // documented cap is 40,000 characters.
    const CAP: usize = 40_000;
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let over = app
        .send_sms(NUMBER, "Bank", &"a".repeat(CAP + 1), "long-1")
        .await;
    assert_eq!(over.status(), 400);
    let answer: serde_json::Value = over.json().await.unwrap();
    assert_eq!(
        answer["error"], "body: must be at most 40000 characters",
        "{answer}"
    );
    // ASCII: the request as a whole is bounded by `ingest.max_body_bytes`.
    let at = app
        .send_sms(NUMBER, "Bank", &"b".repeat(CAP), "long-2")
        .await;
    assert_eq!(at.status(), 202);
    let rows = app.wait_for_stored(NUMBER, 1).await;
    assert_eq!(rows.len(), 1, "only the message at the cap is stored");
    assert_eq!(rows[0].body.chars().count(), CAP);
    app.stop().await;
}
both_modes!(bodies_longer_than_any_sms_are_refused_at_accept);

async fn the_sender_filter_lists_every_sender_newest_first(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    app.add_number(OTHER).await;
    // Inside `messages.keep_days`: only shown messages' senders are listed.
    let t0 = Utc::now() - chrono::Duration::days(1);
    let message = |number: &str, sender: &str, id: String, secs: i64| store::NewMessage {
        number: domain::E164::parse(number).unwrap(),
        provider: "test".into(),
        provider_message_id: id,
        sender: sender.into(),
        body: "hello".into(),
        received_at: t0 + chrono::Duration::seconds(secs),
    };
    // A sender whose only message is older than 500 newer ones from others.
    let mut batch = vec![message(NUMBER, "Old Sender", "old".into(), 0)];
    for i in 0..501 {
        let sender = ["Alpha", "Beta", "Gamma"][i % 3];
        let secs = i64::try_from(i).unwrap() + 1;
        batch.push(message(NUMBER, sender, format!("m-{i}"), secs));
    }
    // Another number's sender, newest of all, is not this number's.
    batch.push(message(OTHER, "Zeta", "z".into(), 10_000));
    app.infra.store.insert_messages(&batch).await.unwrap();

    let senders = app.infra.store.recent_senders(NUMBER, 30).await.unwrap();
    assert_eq!(senders, ["Gamma", "Beta", "Alpha", "Old Sender"]);
    assert_eq!(
        app.infra.store.recent_senders(NUMBER, 2).await.unwrap(),
        ["Gamma", "Beta"]
    );
    // The page's filter offers the same, each once.
    let (status, html) = app.get(&format!("/numbers/{NUMBER}")).await;
    assert_eq!(status, 200);
    let select = html
        .split_once("<select id=\"from\"")
        .and_then(|(_, rest)| rest.split_once("</select>"))
        .map(|(inside, _)| inside)
        .expect("the sender filter");
    let options: Vec<&str> = select
        .split("<option value=\"")
        .skip(1)
        .filter_map(|o| o.split_once('"').map(|(value, _)| value))
        .filter(|v| !v.is_empty())
        .collect();
    assert_eq!(options, ["Gamma", "Beta", "Alpha", "Old Sender"]);
    app.stop().await;
}
both_modes!(the_sender_filter_lists_every_sender_newest_first);
