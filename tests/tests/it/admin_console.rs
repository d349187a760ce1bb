//! The operator console's pages: a login goes back to the page asked for;
//! numbers are added, retired and relabelled, and messages hidden, with
//! forms that take the session's CSRF token and refuse other sites; a
//! session ends when its operator's token leaves the configuration.

use std::time::Duration;

use cloudsms_tests::admin::{ADMIN_TOKEN, admin_config};
use cloudsms_tests::{
    Isolation, Mode, TestApp, both_modes, console_csrf_token, no_redirects, wait_until,
};
use sha2::{Digest, Sha256};

const NUMBER: &str = "+447700900818";

/// Logs in through `/admin/login` going on to `next`; the session cookie.
async fn login(app: &TestApp, token: &str, next: &str) -> String {
    let resp = no_redirects()
        .post(format!("{}/admin/login", app.gateway_url))
        .form(&[("token", token), ("next", next)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], next);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

async fn get(app: &TestApp, path: &str, session: &str) -> (u16, String) {
    let resp = no_redirects()
        .get(format!("{}{path}", app.gateway_url))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn post(
    app: &TestApp,
    path: &str,
    session: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    no_redirects()
        .post(format!("{}{path}", app.gateway_url))
        .header("cookie", session)
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn the_console_manages_numbers_and_messages(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &admin_config("")).await;
    let audit = app.audit_events().await;

    // Not logged in: the login form, going on to the page asked for.
    let (status, html) = get(&app, "/admin/numbers", "").await;
    assert_eq!(status, 401);
    assert!(
        html.contains("name=\"next\" value=\"/admin/numbers\""),
        "{html}"
    );
    let resp = no_redirects()
        .get(format!("{}/admin", app.gateway_url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    // A login cannot be sent to another site.
    let resp = no_redirects()
        .post(format!("{}/admin/login", app.gateway_url))
        .form(&[("token", ADMIN_TOKEN), ("next", "https://evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["location"], "/admin");
    let session = login(&app, ADMIN_TOKEN, "/admin/numbers").await;

    let (status, html) = get(&app, "/admin/numbers", &session).await;
    assert_eq!(status, 200);
    let csrf = console_csrf_token(&html);
    // Without the token, or from another site: refused, nothing added.
    let resp = post(&app, "/admin/numbers", &session, &[("e164", NUMBER)]).await;
    assert_eq!(resp.status(), 403);
    let resp = no_redirects()
        .post(format!("{}/admin/numbers", app.gateway_url))
        .header("cookie", &session)
        .header("origin", "https://evil.example")
        .form(&[("e164", NUMBER), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(app.infra.store.find_number(NUMBER).await.unwrap().is_none());
    let resp = post(
        &app,
        "/admin/numbers",
        &session,
        &[("e164", "12345"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), 422);

    let resp = post(
        &app,
        "/admin/numbers",
        &session,
        &[
            ("e164", NUMBER),
            ("label", "SIM 3"),
            ("provider", "twilio"),
            ("csrf", &csrf),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"], "/admin/numbers?done=added");
    let added = audit.wait_for("number.add", NUMBER).await;
    assert_eq!(added.operator, "admin");
    app.accept_sms(
        NUMBER,
        "Google",
        "G-246810 is your Google verification code.",
        "c-1",
    )
    .await;
    app.accept_sms(
        NUMBER,
        "Bank",
        "Transfer to IBAN GB33BUKB20201555555555",
        "c-2",
    )
    .await;
    app.wait_for_page(NUMBER, "GB33BUKB").await;
    let (_, html) = get(&app, "/admin/numbers?done=added", &session).await;
    assert!(html.contains("Number added."));
    assert!(html.contains("SIM 3") && html.contains("twilio"));
    assert!(html.contains("<svg class=\"spark\""), "a sparkline");
    assert!(
        html.contains("Messages per day over 14 days: 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2")
    );

    // Relabel, then retire.
    let path = format!("/admin/numbers/{NUMBER}");
    let resp = post(
        &app,
        &path,
        &session,
        &[("action", "label"), ("label", "SIM 4"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let resp = post(
        &app,
        &path,
        &session,
        &[("action", "retire"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), 303);
    audit.wait_for("number.retire", NUMBER).await;
    assert_eq!(app.get(&format!("/numbers/{NUMBER}")).await.0, 410);
    let (_, html) = get(&app, "/admin/numbers", &session).await;
    assert!(html.contains("SIM 4") && html.contains("Reactivate"));
    let resp = post(
        &app,
        &path,
        &session,
        &[("action", "reactivate"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), 303);

    // Messages: found by text, hidden with a reason, gone from the page.
    let (status, html) = get(&app, "/admin/messages?q=iban", &session).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("GB33BUKB") && !html.contains("G-246810"),
        "{html}"
    );
    let id = app.wait_for_provider_message(NUMBER, "c-2").await.id;
    let csrf = console_csrf_token(&html);
    let target = format!("/admin/messages/{id}");
    let resp = post(
        &app,
        &target,
        &session,
        &[("action", "hide"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), 422, "a reason is required");
    let resp = post(
        &app,
        &target,
        &session,
        &[
            ("action", "hide"),
            ("reason", "bank details"),
            ("back", "/admin/messages?q=iban"),
            ("csrf", &csrf),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()["location"],
        "/admin/messages?q=iban&done=hidden"
    );
    let (_, html) = get(&app, "/admin/messages?q=iban&done=hidden", &session).await;
    assert!(
        html.contains("Hidden ") && html.contains("by admin: bank details"),
        "{html}"
    );
    let (_, page) = app.get(&format!("/numbers/{NUMBER}")).await;
    assert!(!page.contains("GB33BUKB") && page.contains("G-246810"));
    audit.wait_for("message.hide", &id.to_string()).await;
    app.stop().await;
}
both_modes!(the_console_manages_numbers_and_messages);

async fn a_session_ends_with_its_operators_token(mode: Mode) {
    let alice = "alice-console-token-8c2e4a6f";
    let tokens = |list: &str| format!("[gateway]\nadmin_tokens = [{list}]\n");
    let entry = format!(
        "{{ name = \"alice\", token_sha256 = \"{}\" }}",
        hex::encode(Sha256::digest(alice.as_bytes()))
    );
    let mut isolation = Isolation::with_overrides(mode, &tokens(&entry)).await;
    let file = isolation.dir.path().join("gateway.toml");
    std::fs::write(&file, tokens(&entry)).unwrap();
    isolation.settings.source = config::Source::Loaded(Some(file.clone()));
    let app = TestApp::spawn_isolated(isolation, mode, false).await;
    let session = login(&app, alice, "/admin/messages").await;
    assert_eq!(get(&app, "/admin/messages", &session).await.0, 200);
    std::fs::write(&file, tokens("")).unwrap();
    wait_until(
        "alice's session to end",
        Duration::from_secs(8),
        async || get(&app, "/admin/messages", &session).await.0 == 404,
    )
    .await;
    // Another operator comes: alice's session stays ended.
    let bob = "bob-console-token-1f3e5d7c";
    std::fs::write(
        &file,
        tokens(&format!(
            "{{ name = \"bob\", token_sha256 = \"{}\" }}",
            hex::encode(Sha256::digest(bob.as_bytes()))
        )),
    )
    .unwrap();
    wait_until("bob's token to work", Duration::from_secs(8), async || {
        get(&app, "/admin/messages", &session).await.0 == 401
    })
    .await;
    let bobs = login(&app, bob, "/admin/numbers").await;
    assert_eq!(get(&app, "/admin/numbers", &bobs).await.0, 200);
    app.stop().await;
}
both_modes!(a_session_ends_with_its_operators_token);
