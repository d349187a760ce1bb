//! Only registered numbers receive; retired ones stop; auto-registration when configured.

use std::time::{Duration, Instant};

use cloudsms_tests::{Mode, TestApp, both_modes, wait_until};

async fn retired_numbers_stop_receiving_and_disappear(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let number = "+447700900872";
    app.add_number(number).await;
    app.accept_sms(number, "Bank", "before retiring", "r-1")
        .await;
    app.wait_for_page(number, "before retiring").await;

    let e164 = domain::E164::parse(number).unwrap();
    assert!(app.infra.store.retire_number(&e164).await.unwrap());
    let retired_at = Instant::now();
    let left = || Duration::from_millis(1500).saturating_sub(retired_at.elapsed());
    // Ingest remembers registrations for `ingest.registry_cache_ms` (1 s):
    // webhooks are refused within that, and what slips through is dropped by
    // the persister, which asks the database.
    let mut attempt = 0;
    let refused = wait_until("the retired number to be refused", left(), async || {
        let resp = app
            .send_sms(number, "Bank", "after retiring", &format!("r-2-{attempt}"))
            .await;
        attempt += 1;
        if resp.status() == 422 {
            return Some(resp);
        }
        assert_eq!(resp.status(), 202);
        None
    })
    .await;
    let err: serde_json::Value = refused.json().await.unwrap();
    assert!(err["error"].as_str().unwrap().contains("retired"), "{err}");
    // Each gateway remembers registrations for `gateway.registry_cache_ms`
    // (1 s): the page is gone (410) within that.
    wait_until("the retired number's page to be gone", left(), async || {
        let (status, _) = app.get(&format!("/numbers/{number}")).await;
        if status == 410 {
            return true;
        }
        assert_eq!(status, 200);
        false
    })
    .await;
    let (_, home) = app.get("/").await;
    assert!(!home.contains(number));
    assert_eq!(app.stored(number).await.len(), 1, "old messages are kept");
    app.stop().await;
}
both_modes!(retired_numbers_stop_receiving_and_disappear);

async fn unknown_numbers_are_registered_when_configured(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, "[ingest]\nauto_register_numbers = true\n").await;
    let number = "+61491570999";
    app.accept_sms(
        number,
        "Google",
        "G-135790 is your Google verification code.",
        "a-1",
    )
    .await;
    app.wait_for_page(number, "G-135790").await;
    let (_, home) = app.get("/").await;
    assert!(home.contains("Australia"));
    app.stop().await;
}
both_modes!(unknown_numbers_are_registered_when_configured);
