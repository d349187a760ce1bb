//! The audit log (issue 23, part 1): operator actions published as
//! `AdminActionLogged` on the LOGS stream (and the console's logins and
//! logouts) are stored by log-retention once each, listed newest first by
//! `GET /admin/api/v1/audit` and `/admin/audit` with filters and paging,
//! and swept with the server logs' retention.

use std::time::Duration;

use chrono::{DateTime, Utc};
use cloudsms_tests::{Mode, TestApp, both_modes, json, no_redirects, send, text, wait_until};
use log_retention::LogStore;
use prost::Message as _;
use proto::events::v1::AdminActionLogged;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "operator-token-for-audit-tests-0123456789";
const NUMBER: &str = "+447700900123";

/// A gateway with an operator token and a log-retention beside it.
struct Setup {
    app: TestApp,
    store: LogStore,
    stop: CancellationToken,
}

impl Setup {
    async fn start(mode: Mode) -> Self {
        let (app, store, _url, stop) = cloudsms_tests::spawn_with_retention(
            mode,
            &format!("admin_token = \"{TOKEN}\""),
            false,
        )
        .await;
        Self { app, store, stop }
    }

    async fn stop(self) {
        self.stop.cancel();
        self.app.stop().await;
    }

    /// `GET /admin/api/v1/audit?<query>` with the operator's token.
    async fn list(&self, query: &str) -> (u16, Value) {
        let resp = send(
            self.app
                .gateway_get(&format!("/admin/api/v1/audit?{query}"))
                .bearer_auth(TOKEN),
        )
        .await;
        let status = resp.status().as_u16();
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        assert_eq!(resp.headers()["cache-control"], "no-store");
        (status, resp.json().await.unwrap())
    }

    /// Polls until the audit log holds `count` entries; panics after 20 s.
    async fn wait_for_entries(&self, count: u64) {
        wait_until(
            format_args!("{count} audit entries"),
            Duration::from_secs(20),
            async || {
                let n = self.store.count_audit().await.unwrap();
                if n >= count {
                    assert_eq!(n, count, "no more entries than expected");
                    Some(())
                } else {
                    None
                }
            },
        )
        .await;
    }
}

fn action(
    id: &str,
    at: DateTime<Utc>,
    operator: &str,
    what: &str,
    target: &str,
    detail: &str,
) -> AdminActionLogged {
    AdminActionLogged {
        event_id: id.into(),
        ts: Some(proto::timestamp_from_unix_millis(at.timestamp_millis())),
        operator: operator.into(),
        action: what.into(),
        target: target.into(),
        detail: detail.into(),
        trace_id: String::new(),
    }
}

/// `(operator, action, target, detail)` of each entry of an answer.
fn entries(page: &Value) -> Vec<(String, String, String, String)> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_owned();
            (s("operator"), s("action"), s("target"), s("detail"))
        })
        .collect()
}

fn actions(page: &Value) -> Vec<String> {
    entries(page).into_iter().map(|e| e.1).collect()
}

async fn the_audit_log_lists_every_action_newest_first(mode: Mode) {
    let setup = Setup::start(mode).await;
    let base = setup.app.gateway_url.clone();
    let client = no_redirects();

    // Without the token: 401, as JSON.
    let resp = send(setup.app.gateway_get("/admin/api/v1/audit")).await;
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].is_string(), "{body}");
    let resp = send(
        setup
            .app
            .gateway_get("/admin/api/v1/audit")
            .bearer_auth("not-the-token"),
    )
    .await;
    assert_eq!(resp.status(), 401);
    let resp = send(setup.app.gateway_get("/admin/audit")).await;
    assert_eq!(resp.status(), 401, "the page asks for the login");

    // A login through the form is the first entry.
    let resp = send(
        client
            .post(format!("{base}/admin/stats"))
            .form(&[("token", TOKEN)]),
    )
    .await;
    assert_eq!(resp.status(), 303);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    let session = cookie.split(';').next().unwrap().to_owned();
    setup.wait_for_entries(1).await;

    // Four actions of two operators, a second apart, after the login.
    let start = Utc::now() + chrono::Duration::seconds(10);
    let at = |i: i64| start + chrono::Duration::seconds(i);
    let published = [
        action("e1", at(0), "alice", "number.add", NUMBER, "label: UK 1"),
        action(
            "e2",
            at(1),
            "bob",
            "number.retire",
            NUMBER,
            "weekly rotation",
        ),
        action(
            "e3",
            at(2),
            "alice",
            "message.hide",
            "42",
            "<script>alert(1)</script>",
        ),
        action("e4", at(3), "alice", "report.dismiss", "7", ""),
    ];
    for event in &published {
        setup.app.infra.bus.publish(event).await.unwrap();
    }
    setup.wait_for_entries(5).await;

    let (status, all) = setup.list("").await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(
        actions(&all),
        [
            "report.dismiss",
            "message.hide",
            "number.retire",
            "number.add",
            "session.login"
        ]
    );
    assert_eq!(all["next"], Value::Null);
    let first = &all["entries"][3];
    assert_eq!(
        entries(&all)[3],
        (
            "alice".to_owned(),
            "number.add".to_owned(),
            NUMBER.to_owned(),
            "label: UK 1".to_owned()
        )
    );
    let when = DateTime::parse_from_rfc3339(first["at"].as_str().unwrap()).unwrap();
    assert_eq!(when.timestamp_millis(), at(0).timestamp_millis());
    assert!(first["id"].as_i64().unwrap() > 0);
    let login = &entries(&all)[4];
    assert_eq!(
        (login.0.as_str(), login.1.as_str()),
        ("admin", "session.login")
    );

    // Filters.
    let (_, alice) = setup.list("operator=alice").await;
    assert_eq!(
        actions(&alice),
        ["report.dismiss", "message.hide", "number.add"]
    );
    let (_, retired) = setup.list("action=number.retire").await;
    assert_eq!(
        entries(&retired),
        [(
            "bob".to_owned(),
            "number.retire".to_owned(),
            NUMBER.to_owned(),
            "weekly rotation".to_owned()
        )]
    );
    let (_, number) = setup
        .list(&format!("target={}", NUMBER.replace('+', "%2B")))
        .await;
    assert_eq!(actions(&number), ["number.retire", "number.add"]);
    let (_, range) = setup
        .list(&format!(
            "from={}&to={}",
            at(1).timestamp(),
            at(3).timestamp()
        ))
        .await;
    assert_eq!(
        actions(&range),
        ["message.hide", "number.retire"],
        "from included, to excluded"
    );
    let (_, nobody) = setup.list("operator=mallory").await;
    assert_eq!(nobody["entries"], serde_json::json!([]));

    // Paging: two at a time, every entry once, in order.
    let mut seen = Vec::new();
    let mut query = "limit=2".to_owned();
    let mut pages = 0;
    loop {
        let (status, page) = setup.list(&query).await;
        assert_eq!(status, 200);
        pages += 1;
        seen.extend(actions(&page));
        match page["next"].as_i64() {
            Some(next) => query = format!("limit=2&before={next}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, actions(&all));

    // Bad parameters: a clear 400.
    for bad in [
        "from=2026-13-01",
        "from=yesterday",
        &format!("from={}&to={}", at(3).timestamp(), at(1).timestamp()),
        "limit=0",
        "limit=5000",
        "before=abc",
        "before=-3",
        &format!("operator={}", "a".repeat(300)),
    ] {
        let (status, body) = setup.list(bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"].is_string(), "{bad}: {body}");
    }

    // The console page, with the session: the table, escaped, paged.
    let resp = send(
        client
            .get(format!("{base}/admin/audit?operator=alice&limit=2"))
            .header("cookie", &session),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-robots-tag"], "noindex, nofollow");
    let html = resp.text().await.unwrap();
    assert!(
        !html.contains("<script") && !html.contains("style="),
        "{html}"
    );
    assert!(
        cloudsms_tests::unescape_html(&html).contains("<script>alert(1)</script>"),
        "escaped, shown as text: {html}"
    );
    assert!(html.contains("<td>report.dismiss</td>") && !html.contains("<td>number.add</td>"));
    assert!(html.contains("href=\"/admin/audit\""), "the console's nav");
    assert!(html.contains("name=\"csrf\""), "a logout form");
    let (before_link, _) = html
        .split_once("\" rel=\"next\">Older entries")
        .expect("a link to older entries");
    let older = cloudsms_tests::unescape_html(before_link.rsplit("href=\"").next().unwrap());
    assert!(
        older.starts_with("/admin/audit?operator=alice&limit=2&before="),
        "{older}"
    );
    let html = text(
        client
            .get(format!("{base}{older}"))
            .header("cookie", &session),
    )
    .await;
    assert!(
        html.contains("<td>number.add</td>") && !html.contains("<td>report.dismiss</td>"),
        "{html}"
    );
    assert!(!html.contains("rel=\"next\""), "the last page");
    let resp = send(
        client
            .get(format!("{base}/admin/audit?to=2026-13-40"))
            .header("cookie", &session),
    )
    .await;
    assert_eq!(resp.status(), 400);

    // A logout through the form is recorded too.
    let csrf = cloudsms_tests::csrf_token(&html);
    let resp = send(
        client
            .post(format!("{base}/admin/stats"))
            .header("cookie", &session)
            .form(&[("logout", "1"), ("csrf", csrf.as_str())]),
    )
    .await;
    assert_eq!(resp.status(), 303);
    setup.wait_for_entries(6).await;
    let (_, sessions) = setup.list("operator=admin").await;
    assert_eq!(actions(&sessions), ["session.logout", "session.login"]);
    setup.stop().await;
}
both_modes!(the_audit_log_lists_every_action_newest_first);

async fn old_entries_are_swept_and_a_redelivery_is_stored_once(mode: Mode) {
    let setup = Setup::start(mode).await;
    let now = Utc::now();
    let old = action(
        "old",
        now - chrono::Duration::days(100),
        "alice",
        "number.add",
        NUMBER,
        "",
    );
    let new = action("new", now, "bob", "message.hide", "9", "personal data");
    setup.app.infra.bus.publish(&old).await.unwrap();
    setup.app.infra.bus.publish(&new).await.unwrap();
    setup.wait_for_entries(2).await;

    // The same event again: published once more, and delivered twice to
    // the consumer (as after a crash between its commit and its ack).
    setup.app.infra.bus.publish(&new).await.unwrap();
    let delivery = || bus::BatchMessage {
        subject: "logs.admin".into(),
        payload: new.encode_to_vec().into(),
        delivered: 2,
        span: tracing::Span::none(),
    };
    for _ in 0..2 {
        let outcomes =
            log_retention::consumer::handle_batch(&setup.store, vec![delivery()], now, 183).await;
        assert!(outcomes[0].is_ok(), "{outcomes:?}");
    }
    // A later event is stored after the repeat: the repeat was handled.
    let marker = action("marker", now, "bob", "report.resolve", "3", "");
    setup.app.infra.bus.publish(&marker).await.unwrap();
    setup.wait_for_entries(3).await;

    // 90 days on (clock injected), with the default 183-day retention: the
    // 190-day-old entry is gone, the others stay, once.
    let days = setup.app.infra.settings.retention.retention_days.get();
    assert_eq!(days, 183);
    let later = platform::Clock::fixed(now + chrono::Duration::days(90));
    let report = log_retention::sweep::sweep_once(&setup.store, &later, days)
        .await
        .unwrap();
    assert_eq!(report.audit_deleted_rows, 1);
    let (status, page) = setup.list("").await;
    assert_eq!(status, 200);
    assert_eq!(actions(&page), ["report.resolve", "message.hide"]);
    let again = log_retention::sweep::sweep_once(&setup.store, &later, days)
        .await
        .unwrap();
    assert_eq!(again.audit_deleted_rows, 0);
    assert_eq!(setup.store.count_audit().await.unwrap(), 2);
    setup.stop().await;
}
both_modes!(old_entries_are_swept_and_a_redelivery_is_stored_once);

async fn without_log_retention_the_audit_log_is_unavailable_and_without_a_token_absent(mode: Mode) {
    let app = TestApp::spawn_with_config(
        mode,
        &format!("[gateway]\nadmin_token = \"{TOKEN}\"\nretention_url = \"http://127.0.0.1:9\"\n"),
    )
    .await;
    let resp = send(app.gateway_get("/admin/api/v1/audit").bearer_auth(TOKEN)).await;
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("not available"));
    let resp = send(app.gateway_get("/admin/audit").bearer_auth(TOKEN)).await;
    assert_eq!(resp.status(), 503);
    // Bad parameters are refused before log-retention is asked.
    let body: Value = json(
        app.gateway_get("/admin/api/v1/audit?limit=0")
            .bearer_auth(TOKEN),
    )
    .await;
    assert!(body["error"].as_str().unwrap().starts_with("limit"));
    app.stop().await;

    // Without an operator token the console and its API do not exist.
    let app = TestApp::spawn(mode).await;
    let resp = send(
        app.gateway_get("/admin/api/v1/audit")
            .bearer_auth("anything"),
    )
    .await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].is_string());
    assert_eq!(send(app.gateway_get("/admin/audit")).await.status(), 404);
    app.stop().await;
}
both_modes!(without_log_retention_the_audit_log_is_unavailable_and_without_a_token_absent);

/// The operator `alice`'s actions through the admin API (a named token):
/// each is in the audit log under her name, with what and on what.
async fn admin_api_actions_reach_the_audit_log_under_the_tokens_name(mode: Mode) {
    use sha2::{Digest, Sha256};
    let alice = "alice-token-0123456789abcdef0123456789";
    let hash = hex::encode(Sha256::digest(alice.as_bytes()));
    let (app, store, _url, stop) = cloudsms_tests::spawn_with_retention(
        mode,
        &format!("admin_tokens = [{{ name = \"alice\", token_sha256 = \"{hash}\" }}]"),
        true,
    )
    .await;
    let setup = Setup { app, store, stop };
    let app = &setup.app;
    let number = "+447700900777";
    let (status, _) = app
        .admin_api(
            reqwest::Method::POST,
            "/admin/api/v1/numbers",
            Some(alice),
            Some(serde_json::json!({ "e164": number, "label": "SIM 7" })),
        )
        .await;
    assert_eq!(status, 201);
    app.accept_sms(number, "Shop", "Your order for Ann Lee", "au-1")
        .await;
    let id = app.wait_for_provider_message(number, "au-1").await.id;
    let (status, _) = app
        .admin_api(
            reqwest::Method::POST,
            &format!("/admin/api/v1/messages/{id}/hide"),
            Some(alice),
            Some(serde_json::json!({ "reason": "personal data" })),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .admin_api(
            reqwest::Method::POST,
            &format!("/admin/api/v1/numbers/{number}/retire"),
            Some(alice),
            None,
        )
        .await;
    assert_eq!(status, 200);
    setup.wait_for_entries(3).await;
    let resp = send(
        app.gateway_get("/admin/api/v1/audit?operator=alice")
            .bearer_auth(alice),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let page: Value = resp.json().await.unwrap();
    let entries: Vec<(String, String, String, String)> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["operator"].as_str().unwrap().to_owned(),
                e["action"].as_str().unwrap().to_owned(),
                e["target"].as_str().unwrap().to_owned(),
                e["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let who =
        |action: &str, target: &str| ("alice".to_owned(), action.to_owned(), target.to_owned());
    let seen: Vec<_> = entries
        .iter()
        .map(|(o, a, t, _)| (o.clone(), a.clone(), t.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            who("number.retire", number),
            who("message.hide", &id.to_string()),
            who("number.add", number),
        ],
        "newest first: {entries:?}"
    );
    assert_eq!(entries[1].3, "personal data");
    setup.stop().await;
}
both_modes!(admin_api_actions_reach_the_audit_log_under_the_tokens_name);
