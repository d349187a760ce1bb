//! Named operator tokens (`gateway.admin_tokens`), rotated without a
//! restart: the gateway reads its configuration file again every few
//! seconds; a removed token stops working and a new one starts, a list that
//! does not validate changes nothing. Wrong tokens are still throttled.

use std::time::Duration;

use cloudsms_tests::{Isolation, Mode, TestApp, both_modes, wait_until};
use reqwest::Method;
use sha2::{Digest, Sha256};

const ALICE: &str = "alice-token-5f1e0c8a9d7b4e2f";
const BOB: &str = "bob-token-0a9c7e5d3b1f2468";
const CAROL: &str = "carol-token-13579bdf02468ace";

fn tokens_toml(tokens: &[(&str, &str)]) -> String {
    let list: Vec<String> = tokens
        .iter()
        .map(|(name, token)| {
            format!(
                "{{ name = \"{name}\", token_sha256 = \"{}\" }}",
                hex::encode(Sha256::digest(token.as_bytes()))
            )
        })
        .collect();
    format!("[gateway]\nadmin_tokens = [{}]\n", list.join(", "))
}

async fn status(app: &TestApp, token: &str) -> u16 {
    app.admin_api(Method::GET, "/admin/api/v1/numbers", Some(token), None)
        .await
        .0
}

async fn named_tokens_rotate_without_a_restart(mode: Mode) {
    let initial = tokens_toml(&[("alice", ALICE), ("bob", BOB)]);
    let mut isolation = Isolation::with_overrides(mode, &initial).await;
    let file = isolation.dir.path().join("gateway.toml");
    std::fs::write(&file, &initial).unwrap();
    isolation.settings.source = config::Source::Loaded(Some(file.clone()));
    let app = TestApp::spawn_isolated(isolation, mode, true).await;
    let audit = app.audit_events().await;

    assert_eq!(status(&app, ALICE).await, 200);
    assert_eq!(status(&app, BOB).await, 200);
    assert_eq!(status(&app, CAROL).await, 401);
    let (code, _) = app
        .admin_api(
            Method::POST,
            "/admin/api/v1/numbers",
            Some(BOB),
            Some(serde_json::json!({"e164": "+447700900717"})),
        )
        .await;
    assert_eq!(code, 201);
    let added = audit.wait_for("number.add", "+447700900717").await;
    assert_eq!(
        added.operator, "bob",
        "the audit log names the token's operator"
    );

    // Bob's token leaves the file, Carol's comes: seen within seconds.
    std::fs::write(&file, tokens_toml(&[("alice", ALICE), ("carol", CAROL)])).unwrap();
    let within = Duration::from_secs(8);
    wait_until("bob's token to stop working", within, async || {
        status(&app, BOB).await == 401
    })
    .await;
    wait_until("carol's token to work", within, async || {
        status(&app, CAROL).await == 200
    })
    .await;
    assert_eq!(status(&app, ALICE).await, 200);

    // A list that does not validate changes nothing.
    std::fs::write(
        &file,
        "[gateway]\nadmin_tokens = [{ name = \"Mallory!\", token_sha256 = \"00\" }]\n",
    )
    .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(status(&app, ALICE).await, 200);
    assert_eq!(status(&app, CAROL).await, 200);
    app.stop().await;
}
both_modes!(named_tokens_rotate_without_a_restart);

async fn wrong_tokens_are_refused_and_throttled(mode: Mode) {
    let isolation = Isolation::with_overrides(mode, &tokens_toml(&[("alice", ALICE)])).await;
    let app = TestApp::spawn_isolated(isolation, mode, false).await;
    let (code, body) = app
        .admin_api(Method::GET, "/admin/api/v1/numbers", None, None)
        .await;
    assert_eq!(code, 401, "{body}");
    assert!(body["error"].is_string());
    let mut codes = Vec::new();
    for i in 0..25 {
        codes.push(status(&app, &format!("wrong-{i}")).await);
    }
    assert_eq!(codes[0], 401);
    assert_eq!(codes.last(), Some(&429), "{codes:?}");
    // The right token still gets in.
    assert_eq!(status(&app, ALICE).await, 200);
    app.stop().await;
}
both_modes!(wrong_tokens_are_refused_and_throttled);
