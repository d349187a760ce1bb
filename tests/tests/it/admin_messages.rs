//! The admin API's messages: a hidden message is gone from the page, the
//! feed, the API, `/latest` and the open live streams within a second,
//! while the operator's search still finds it with its state; unhidden, it
//! comes back. Every action is audited.

use std::time::Duration;

use cloudsms_tests::admin::admin_config;
use cloudsms_tests::{Mode, TestApp, both_modes, wait_until};
use futures::StreamExt;
use reqwest::Method;
use serde_json::json;

const NUMBER: &str = "+447700900616";
const SECRET: &str = "card 4111 1111 1111 1111 exp 12/29";

async fn every_public_view(app: &TestApp, base: &str) -> Vec<(String, String)> {
    let mut views = Vec::new();
    for path in [
        format!("/numbers/{NUMBER}"),
        format!("/numbers/{NUMBER}/feed.atom"),
        format!("/api/v1/numbers/{NUMBER}/messages"),
        "/latest".to_owned(),
        "/".to_owned(),
        format!("/zh-CN/numbers/{NUMBER}"),
    ] {
        let body = app
            .client
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        views.push((path, body.text().await.unwrap()));
    }
    views
}

async fn hidden_messages_leave_every_public_view_at_once(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &admin_config("")).await;
    let audit = app.audit_events().await;
    let other = app.other_gateway().await;
    app.add_number(NUMBER).await;
    app.accept_sms(NUMBER, "Bank", "an ordinary code 424242", "hm-1")
        .await;
    app.accept_sms(NUMBER, "Shop", SECRET, "hm-2").await;
    app.wait_for_page(NUMBER, "4111 1111").await;
    let id = app.wait_for_provider_message(NUMBER, "hm-2").await.id;
    // Pages rendered and cached, streams open on both replicas.
    for base in [&app.gateway_url, &other.url] {
        let views = every_public_view(&app, base).await;
        assert!(views[0].1.contains("4111 1111"));
    }
    let mut number_stream = app.open_live(NUMBER).await;
    let other_stream = app
        .client
        .get(format!("{}/latest/events", other.url))
        .send()
        .await
        .unwrap();
    assert_eq!(other_stream.status(), 200);
    let mut other_stream = other_stream.bytes_stream();

    // Hide needs a reason.
    let hide = format!("/admin/api/v1/messages/{id}/hide");
    let (status, err) = app.admin(Method::POST, &hide, Some(json!({}))).await;
    assert_eq!(
        (status, err["error"].as_str().unwrap()),
        (422, "reason: required")
    );
    let (status, _) = app
        .admin(
            Method::POST,
            &hide,
            Some(json!({"reason": "r".repeat(501)})),
        )
        .await;
    assert_eq!(status, 422);
    let (status, _) = app
        .admin(
            Method::POST,
            "/admin/api/v1/messages/999999/hide",
            Some(json!({"reason": "x"})),
        )
        .await;
    assert_eq!(status, 404);

    let (status, hidden) = app
        .admin(
            Method::POST,
            &hide,
            Some(json!({"reason": "a card number"})),
        )
        .await;
    assert_eq!(status, 200, "{hidden}");
    assert_eq!(hidden["hidden"], true);
    assert_eq!(hidden["hidden_reason"], "a card number");
    assert_eq!(hidden["hidden_by"], "admin");

    // Open streams are told to remove it, on both replicas.
    let second = Duration::from_secs(1);
    let frame = format!("event: hidden\ndata: {{\"id\":{id}}}");
    let told = tokio::time::timeout(second, async {
        while !number_stream.seen.contains(&frame) {
            number_stream.next_chunk().await;
        }
    })
    .await;
    assert!(told.is_ok(), "number stream: {:?}", number_stream.seen);
    let mut seen = String::new();
    let told = tokio::time::timeout(second, async {
        while !seen.contains(&frame) {
            let chunk = other_stream.next().await.unwrap().unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(told.is_ok(), "other replica's /latest stream: {seen:?}");

    // Gone from every public view of both replicas within the second.
    for base in [&app.gateway_url, &other.url] {
        wait_until(format_args!("hidden on {base}"), second, async || {
            let views = every_public_view(&app, base).await;
            views
                .iter()
                .find(|(_, body)| body.contains("4111 1111"))
                .map_or(Ok(()), |(path, _)| Err(format!("{path} still shows it")))
        })
        .await;
        let views = every_public_view(&app, base).await;
        assert!(views[0].1.contains("424242"), "the other message stays");
    }
    // A stream reopened after the message is not replayed it.
    let replay = app
        .client
        .get(format!("{}/numbers/{NUMBER}/events", app.gateway_url))
        .header("last-event-id", "0")
        .send()
        .await
        .unwrap();
    let mut replay = replay.bytes_stream();
    let first = tokio::time::timeout(Duration::from_millis(500), replay.next()).await;
    if let Ok(Some(Ok(chunk))) = first {
        assert!(!String::from_utf8_lossy(&chunk).contains("4111"));
    }
    audit.wait_for("message.hide", &id.to_string()).await;

    // The operator still finds it, with its state.
    let (status, found) = app
        .admin(
            Method::GET,
            &format!("/admin/api/v1/messages?number=%2B{}&q=4111", &NUMBER[1..]),
            None,
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["messages"][0]["id"], id);
    assert_eq!(found["messages"][0]["hidden"], true);
    assert_eq!(found["messages"][0]["hidden_reason"], "a card number");

    // Shown again.
    let (status, shown) = app
        .admin(
            Method::POST,
            &format!("/admin/api/v1/messages/{id}/unhide"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["hidden"], false);
    for base in [&app.gateway_url, &other.url] {
        wait_until(format_args!("shown again on {base}"), second, async || {
            let (path, body) = every_public_view(&app, base).await.swap_remove(0);
            body.contains("4111 1111").then_some(()).ok_or(path)
        })
        .await;
    }
    audit.wait_for("message.unhide", &id.to_string()).await;
    drop((number_stream, other_stream, replay));
    other.stop();
    app.stop().await;
}
both_modes!(hidden_messages_leave_every_public_view_at_once);

async fn the_messages_api_searches_and_checks_its_parameters(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &admin_config("")).await;
    app.add_number(NUMBER).await;
    for i in 0..3 {
        app.accept_sms(
            NUMBER,
            "Bank",
            &format!("50%_off code {i}"),
            &format!("s-{i}"),
        )
        .await;
    }
    app.accept_sms(NUMBER, "Shop", "500 off", "s-3").await;
    app.wait_for_stored(NUMBER, 4).await;
    let get = |query: &str| {
        let app = &app;
        let path = format!("/admin/api/v1/messages?{query}");
        async move { app.admin(Method::GET, &path, None).await }
    };
    let (status, page) = get("q=0%25_&limit=2").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["messages"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (_, rest) = get(&format!("q=0%25_&limit=2&cursor={cursor}")).await;
    assert_eq!(
        rest["messages"].as_array().unwrap().len(),
        1,
        "the shop's 500 is not 0%_"
    );
    assert!(rest["next_cursor"].is_null());
    let (_, shop) = get("sender=Shop&after=2000-01-01T00:00:00Z").await;
    assert_eq!(shop["messages"][0]["body"], "500 off");
    let (_, none) = get("before=2000-01-01T00:00:00Z").await;
    assert!(none["messages"].as_array().unwrap().is_empty());
    for (query, want) in [
        ("limit=0", 400),
        ("limit=201", 400),
        ("after=yesterday", 400),
        ("number=12", 422),
        ("cursor=x", 400),
    ] {
        let (status, err) = get(query).await;
        assert_eq!(status, want, "{query}: {err}");
        assert!(err["error"].is_string());
    }
    app.stop().await;
}
both_modes!(the_messages_api_searches_and_checks_its_parameters);
