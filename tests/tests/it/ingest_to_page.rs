//! An SMS pushed to message-ingest appears on the gateway's number page,
//! exactly once, whatever fails in between.

use std::time::Duration;

use bus::DeliveryInfo;
use cloudsms_tests::{Mode, TestApp, both_modes};
use message_ingest::persister::Outcome;
use proto::events::v1::SmsReceived;
use tokio_util::sync::CancellationToken;

const NUMBER: &str = "+447700900461";

async fn signed_webhook_appears_escaped_on_the_number_page(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let hostile = "<script>alert('x')</script> & your code is 482913";
    let resp = app.send_sms(NUMBER, "Google", hostile, "msg-1").await;
    assert_eq!(resp.status(), 202);
    let ack: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(ack["status"], "accepted");
    assert_eq!(ack["duplicate"], false);

    let html = app.wait_for_page(NUMBER, "your code is 482913").await;
    assert!(!html.contains("<script>alert"), "body must be escaped");
    assert!(
        cloudsms_tests::unescape_html(&html).contains(hostile),
        "the text reads as sent"
    );
    assert!(html.contains("482913"), "the code is shown");

    let (status, home) = app.get("/").await;
    assert_eq!(status, 200);
    assert!(
        home.contains("United Kingdom"),
        "numbers grouped by country"
    );
    assert!(home.contains("/numbers/+447700900461"));
    // The card's age is a <time> the page script keeps current.
    assert!(
        home.contains(r#"last SMS <time class="ago" datetime=""#)
            && home.contains(">just now</time>"),
        "{home}"
    );
    app.stop().await;
}
both_modes!(signed_webhook_appears_escaped_on_the_number_page);

async fn bad_signature_is_401_and_nothing_is_stored(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let body = TestApp::sms_json(NUMBER, "Mallory", "forged", "forged-1");

    let mut hook = app.signed(&body);
    hook.signature =
        message_ingest::providers::generic::sign("wrong-key", hook.timestamp, body.as_bytes());
    let resp = app.post(&hook).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 401).await,
        "signature does not match"
    );

    let mut stale = app.signed(&body);
    stale.timestamp -= 301;
    stale.signature =
        message_ingest::providers::generic::sign(app.secret(), stale.timestamp, body.as_bytes());
    let resp = app.post(&stale).await;
    assert_eq!(resp.status(), 401);

    let mut unsigned = app.signed(&body);
    unsigned.signature = String::new();
    assert_eq!(app.post(&unsigned).await.status(), 401);

    // A good message afterwards proves the pipeline ran past the bad ones.
    app.accept_sms(NUMBER, "Bank", "genuine", "good-1").await;
    let rows = app.wait_for_stored(NUMBER, 1).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(app.settled_bodies(NUMBER).await, ["genuine"]);
    let (_, html) = app.get(&format!("/numbers/{NUMBER}")).await;
    assert!(!html.contains("forged"));
    app.stop().await;
}
both_modes!(bad_signature_is_401_and_nothing_is_stored);

async fn provider_retry_with_the_same_id_is_shown_once(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let body = TestApp::sms_json(NUMBER, "WhatsApp", "Your WhatsApp code: 111-222", "retry-1");
    let first = app.post(&app.signed(&body)).await;
    assert_eq!(first.status(), 202);
    let retry = app.post(&app.signed(&body)).await;
    assert_eq!(
        retry.status(),
        202,
        "a retry is acknowledged so the provider stops"
    );
    let retry: serde_json::Value = retry.json().await.unwrap();
    assert_eq!(retry["duplicate"], true);

    // A different message after the retries: once it is stored, the retry had its chance.
    app.accept_sms(NUMBER, "Uber", "Your Uber code is 4821", "retry-2")
        .await;
    app.assert_shown_once(
        NUMBER,
        "Your Uber code is 4821",
        "Your WhatsApp code: 111-222",
        2,
    )
    .await;
    app.stop().await;
}
both_modes!(provider_retry_with_the_same_id_is_shown_once);

async fn malformed_input_gets_a_clear_400_or_422(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;

    let resp = app.post(&app.signed("{\"to\": \"+44")).await;
    let err = cloudsms_tests::error_of(resp, 400).await;
    assert!(err.starts_with("invalid JSON body"), "{err}");

    let resp = app
        .post(&app.signed(r#"{"from":"x","body":"y","id":"z"}"#))
        .await;
    let err = cloudsms_tests::error_of(resp, 400).await;
    assert!(err.contains("missing field `to`"), "{err}");

    let resp = app.send_sms("+44 12", "x", "y", "short").await;
    assert_eq!(resp.status(), 422);

    let resp = app.send_sms("+12025550100", "x", "y", "unregistered").await;
    let err = cloudsms_tests::error_of(resp, 422).await;
    assert!(err.contains("not a number of this site"), "{err}");

    let resp = app.send_sms(NUMBER, "x", "y", "").await;
    assert_eq!(resp.status(), 400);

    let huge = "x".repeat(70_000);
    let resp = app.send_sms(NUMBER, "x", &huge, "huge").await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 413).await,
        "body larger than 65536 bytes"
    );

    let resp =
        cloudsms_tests::send(app.client.post(format!("{}/webhooks/nope", app.ingest_url))).await;
    assert_eq!(
        cloudsms_tests::error_of(resp, 404).await,
        "no such endpoint"
    );

    let (status, _) = app.get("/numbers/not-a-number").await;
    assert_eq!(status, 404);
    let (status, _) = app.get("/numbers/+12025550100").await;
    assert_eq!(status, 404, "unregistered numbers have no page");
    assert!(app.stored(NUMBER).await.is_empty());
    app.stop().await;
}
both_modes!(malformed_input_gets_a_clear_400_or_422);

async fn persister_killed_before_ack_stores_the_message_exactly_once(mode: Mode) {
    let mut app = TestApp::spawn_with(mode, false).await;
    app.add_number(NUMBER).await;
    app.accept_sms(NUMBER, "Telegram", "Telegram code: 55555", "crash-1")
        .await;

    // A persister that commits, then dies before its ack.
    let committed = CancellationToken::new();
    let crashing = tokio::spawn({
        let infra = app.infra.clone();
        let committed = committed.clone();
        async move {
            infra
                .bus
                .clone()
                .run_consumer::<SmsReceived, _, _>(
                    message_ingest::persister::CONSUMER,
                    CancellationToken::new(),
                    move |event, info: DeliveryInfo| {
                        let infra = infra.clone();
                        let committed = committed.clone();
                        async move {
                            message_ingest::persister::process(&infra, event, info)
                                .await
                                .unwrap();
                            committed.cancel();
                            std::future::pending::<()>().await;
                            Ok(())
                        }
                    },
                )
                .await
        }
    });
    tokio::time::timeout(Duration::from_secs(20), committed.cancelled())
        .await
        .expect("the crashing persister committed");
    crashing.abort();
    assert_eq!(app.stored(NUMBER).await.len(), 1);

    // The restarted persister gets the unacked message again (after ack_wait).
    app.start_persister();
    app.wait_for_page(NUMBER, "Telegram code: 55555").await;
    app.accept_sms(NUMBER, "Steam", "Your Steam login code: 77777", "crash-2")
        .await;
    let html = app
        .wait_for_page(NUMBER, "Your Steam login code: 77777")
        .await;
    assert_eq!(html.matches("Telegram code: 55555").count(), 1);
    // Longer than ack_wait: a message still unacked would have come back by now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(app.stored(NUMBER).await.len(), 2);
    app.kill_persister();
    app.stop().await;
}
both_modes!(persister_killed_before_ack_stores_the_message_exactly_once);

async fn flushed_cache_still_shows_every_message_from_the_database(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    for i in 1..=2 {
        app.accept_sms(
            NUMBER,
            "Bank",
            &format!("message number {i}"),
            &format!("f-{i}"),
        )
        .await;
    }
    app.wait_for_stored(NUMBER, 2).await;
    app.wait_for_page(NUMBER, "message number 2").await; // fills the hot list
    app.infra.cache.clear().await.unwrap();
    app.accept_sms(NUMBER, "Bank", "message number 3", "f-3")
        .await;
    app.wait_for_stored(NUMBER, 3).await;
    let html = app.wait_for_page(NUMBER, "message number 3").await;
    assert!(html.contains("message number 1"));
    assert!(html.contains("message number 2"));
    // Newest first.
    let pos = |s: &str| html.find(s).unwrap();
    assert!(pos("message number 3") < pos("message number 2"));
    assert!(pos("message number 2") < pos("message number 1"));

    // After a refill, new messages go to the hot list and still show.
    app.accept_sms(NUMBER, "Bank", "message number 4", "f-4")
        .await;
    let html = app.wait_for_page(NUMBER, "message number 4").await;
    assert!(html.contains("message number 1"));
    app.stop().await;
}
both_modes!(flushed_cache_still_shows_every_message_from_the_database);

/// A stored message is written onto its hot lists once, by the persister:
/// the gateway that announces it live does not write it again (each
/// gateway replica did, one more Redis write per replica per SMS). Lists
/// refilled from the database while it was being stored are kept right by
/// the lists' change counters (`HotCache::fill_unless_pushed`).
async fn a_stored_message_is_written_onto_the_hot_lists_once(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    app.wait_for_page(NUMBER, NUMBER).await; // fills the number's hot list
    let mut live = app.open_live(NUMBER).await;
    let list = cache::HotList::Number(NUMBER);
    let before = app.infra.cache.version(list).await.unwrap();
    app.accept_sms(NUMBER, "Bank", "written once", "once-1")
        .await;
    live.wait_for_message("written once").await;
    // A second write would follow the announcement within milliseconds.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.infra.cache.version(list).await.unwrap(), before + 1);
    let (_, html) = app.get(&format!("/numbers/{NUMBER}")).await;
    assert!(html.contains("written once"), "the hot list has it");
    app.stop().await;
}
both_modes!(a_stored_message_is_written_onto_the_hot_lists_once);

async fn health_and_readiness_answer(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, 200);
    assert!(body.contains("ok"));
    let (status, body) = app.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["checks"]["database"], true);
    assert_eq!(ready["checks"]["cache"], true);
    assert_eq!(ready["checks"]["bus"], true);
    let resp = cloudsms_tests::send(app.client.get(format!("{}/readyz", app.ingest_url))).await;
    assert_eq!(resp.status(), 200);
    app.stop().await;
}
both_modes!(health_and_readiness_answer);

async fn a_message_stored_before_is_settled_not_retried(mode: Mode) {
    let app = TestApp::spawn_with(mode, false).await;
    app.add_number(NUMBER).await;
    let event = SmsReceived {
        event_id: "evt-settle-1".into(),
        provider: "generic".into(),
        provider_message_id: "settle-1".into(),
        to: NUMBER.into(),
        from: "Bank".into(),
        body: "Your code is 246810".into(),
        ..Default::default()
    };
    let process = |delivered| {
        message_ingest::persister::process(&app.infra, event.clone(), DeliveryInfo { delivered })
    };
    let Ok(Outcome::Stored(id)) = process(1).await else {
        panic!("first delivery stores");
    };
    // Redelivered after a crash between commit and ack: side effects redone, acked.
    assert_eq!(process(2).await.unwrap(), Outcome::Restored(id));
    // The same provider message again later (outside the dedupe window): nothing to do.
    assert_eq!(process(1).await.unwrap(), Outcome::Duplicate(id));
    assert_eq!(app.stored(NUMBER).await.len(), 1);
    app.stop().await;
}
both_modes!(a_message_stored_before_is_settled_not_retried);

async fn a_batch_gets_one_outcome_per_message_in_order(mode: Mode) {
    use prost::Message as _;
    let app = TestApp::spawn_with(mode, false).await;
    app.add_number(NUMBER).await;
    let event = |id: &str, to: &str, body: &str| SmsReceived {
        event_id: format!("evt-{id}"),
        provider: "generic".into(),
        provider_message_id: id.into(),
        to: to.into(),
        from: "Bank".into(),
        body: body.into(),
        ..Default::default()
    };
    // Stored before the batch (a provider retry outside the dedupe window).
    let Ok(Outcome::Stored(earlier)) = message_ingest::persister::process(
        &app.infra,
        event("batch-0", NUMBER, "Your code is 100000"),
        DeliveryInfo { delivered: 1 },
    )
    .await
    else {
        panic!("stored");
    };
    let message = |payload: Vec<u8>, delivered: i64| bus::BatchMessage {
        subject: "sms.received.gb.x".into(),
        payload: payload.into(),
        delivered,
        span: tracing::Span::none(),
    };
    let batch = vec![
        message(
            event("batch-1", NUMBER, "Your code is 111111").encode_to_vec(),
            1,
        ),
        message(
            event("batch-0", NUMBER, "Your code is 100000").encode_to_vec(),
            1,
        ),
        message(b"\xff\xff not protobuf".to_vec(), 1),
        message(
            event("batch-2", "+447700900999", "unregistered").encode_to_vec(),
            1,
        ),
        message(
            event("batch-1", NUMBER, "Your code is 111111").encode_to_vec(),
            1,
        ),
        message(event("batch-3", "not a number", "bad").encode_to_vec(), 1),
        message(
            event("batch-0", NUMBER, "Your code is 100000").encode_to_vec(),
            2,
        ),
    ];
    let outcomes = message_ingest::persister::process_batch(&app.infra, &batch).await;
    assert_eq!(outcomes.len(), batch.len());
    let Ok(Outcome::Stored(first)) = outcomes[0] else {
        panic!("new message stored: {outcomes:?}");
    };
    assert_eq!(
        outcomes[1].as_ref().ok(),
        Some(&Outcome::Duplicate(earlier))
    );
    assert!(
        matches!(outcomes[2], Err(bus::HandlerError::Permanent(_))),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[3].as_ref().ok(), Some(&Outcome::UnknownNumber));
    assert_eq!(outcomes[4].as_ref().ok(), Some(&Outcome::Duplicate(first)));
    assert!(
        matches!(outcomes[5], Err(bus::HandlerError::Permanent(_))),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[6].as_ref().ok(), Some(&Outcome::Restored(earlier)));
    let stored = app.stored(NUMBER).await;
    assert_eq!(stored.len(), 2, "each message once");
    app.wait_for_page(NUMBER, "Your code is 111111").await;
    app.stop().await;
}
both_modes!(a_batch_gets_one_outcome_per_message_in_order);
