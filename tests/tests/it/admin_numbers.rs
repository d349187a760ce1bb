//! The admin API's numbers: a number added through it receives at once, a
//! retired one is refused and gone from every page of two gateway replicas
//! within a second (their registries remember for ten minutes: only the
//! bus's events explain it), and every action is audited.

use std::time::Duration;

use cloudsms_tests::admin::{ADMIN_TOKEN, admin_config};
use cloudsms_tests::{Mode, TestApp, both_modes, wait_until};
use reqwest::Method;
use serde_json::json;

const NUMBER: &str = "+447700900515";

async fn status_of(client: &reqwest::Client, url: &str) -> u16 {
    client.get(url).send().await.unwrap().status().as_u16()
}

async fn numbers_added_and_retired_through_the_api_change_every_replica_at_once(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &admin_config("")).await;
    let audit = app.audit_events().await;
    let other = app.other_gateway().await;
    let page = format!("/numbers/{NUMBER}");

    // Unknown: both replicas say so, and remember it.
    assert_eq!(app.get(&page).await.0, 404);
    assert_eq!(
        status_of(&app.client, &format!("{}{page}", other.url)).await,
        404
    );

    let (status, number) = app
        .admin(
            Method::POST,
            "/admin/api/v1/numbers",
            Some(json!({"e164": NUMBER, "label": "rotation 1", "provider": "twilio"})),
        )
        .await;
    assert_eq!(status, 201, "{number}");
    assert_eq!(number["e164"], NUMBER);
    assert_eq!(number["label"], "rotation 1");
    assert_eq!(number["provider"], "twilio");
    assert_eq!(number["active"], true);
    audit.wait_for("number.add", NUMBER).await;

    // Accepted and shown at once, on both replicas.
    app.accept_sms(NUMBER, "Bank", "after the api added it", "an-1")
        .await;
    app.wait_for_page(NUMBER, "after the api added it").await;
    wait_until(
        "the other replica shows the number",
        Duration::from_secs(1),
        async || status_of(&app.client, &format!("{}{page}", other.url)).await == 200,
    )
    .await;
    // `/latest` lists it on both replicas (its page and hot list now cached).
    for base in [app.gateway_url.as_str(), other.url.as_str()] {
        wait_until(
            format_args!("{base}/latest lists it"),
            Duration::from_secs(5),
            async || {
                let body = app
                    .client
                    .get(format!("{base}/latest"))
                    .send()
                    .await
                    .unwrap();
                body.text().await.unwrap().contains(NUMBER)
            },
        )
        .await;
    }

    // Again: 409 with the number as it is.
    let (status, again) = app
        .admin(
            Method::POST,
            "/admin/api/v1/numbers",
            Some(json!({"e164": NUMBER})),
        )
        .await;
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["number"]["label"], "rotation 1");
    assert!(again["error"].as_str().unwrap().contains("registered"));

    // Retired: refused by ingest and gone from both replicas within a second.
    let (status, retired) = app
        .admin(
            Method::POST,
            &format!("/admin/api/v1/numbers/{NUMBER}/retire"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{retired}");
    assert_eq!(retired["active"], false);
    assert!(retired["retired_at"].is_string());
    let second = Duration::from_secs(1);
    let mut attempt = 0;
    wait_until("the retired number to be refused", second, async || {
        attempt += 1;
        let resp = app
            .send_sms(NUMBER, "Bank", "after retiring", &format!("an-2-{attempt}"))
            .await;
        resp.status() == 422
    })
    .await;
    for base in [app.gateway_url.as_str(), other.url.as_str()] {
        wait_until(format_args!("{base}{page} gone"), second, async || {
            status_of(&app.client, &format!("{base}{page}")).await == 410
        })
        .await;
        // `/latest` too: its messages would link to a page that is gone.
        for path in [
            "/",
            "/latest",
            "/api/v1/numbers",
            "/sitemap.xml",
            "/search?q=uk",
        ] {
            let body = app
                .client
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap();
            let body = body.text().await.unwrap();
            assert!(!body.contains(NUMBER), "{path} of {base} still names it");
        }
    }
    audit.wait_for("number.retire", NUMBER).await;

    // Reactivated: accepted again at once.
    let (status, back) = app
        .admin(
            Method::POST,
            &format!("/admin/api/v1/numbers/{NUMBER}/reactivate"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["active"], true);
    let mut attempt = 0;
    wait_until(
        "the reactivated number to be accepted",
        second,
        async || {
            attempt += 1;
            let resp = app
                .send_sms(NUMBER, "Bank", "back again", &format!("an-3-{attempt}"))
                .await;
            resp.status() == 202
        },
    )
    .await;
    wait_until("the other replica shows it again", second, async || {
        status_of(&app.client, &format!("{}{page}", other.url)).await == 200
    })
    .await;
    audit.wait_for("number.reactivate", NUMBER).await;

    // Relabelled.
    let (status, relabelled) = app
        .admin(
            Method::PATCH,
            &format!("/admin/api/v1/numbers/{NUMBER}"),
            Some(json!({"label": "rotation 2"})),
        )
        .await;
    assert_eq!(status, 200, "{relabelled}");
    assert_eq!(relabelled["label"], "rotation 2");
    let label = audit.wait_for("number.label", NUMBER).await;
    assert_eq!(
        (label.operator.as_str(), label.detail.as_str()),
        ("admin", "rotation 2")
    );

    // Its own message period, then back to the global one; the label stays.
    let path = format!("/admin/api/v1/numbers/{NUMBER}");
    let (status, kept) = app
        .admin(Method::PATCH, &path, Some(json!({"keep_days": 7})))
        .await;
    assert_eq!(status, 200, "{kept}");
    assert_eq!(
        (kept["keep_days"].as_i64(), kept["label"].as_str()),
        (Some(7), Some("rotation 2"))
    );
    let event = audit.wait_for("number.keep_days", NUMBER).await;
    assert_eq!(event.detail, "7");
    for bad in [
        json!({"keep_days": 0}),
        json!({"keep_days": 36501}),
        json!({}),
    ] {
        let (status, err) = app.admin(Method::PATCH, &path, Some(bad.clone())).await;
        assert_eq!(status, 422, "{bad}: {err}");
    }
    // A label is text: null is no label (the period alone may be null).
    let (status, err) = app
        .admin(
            Method::PATCH,
            &path,
            Some(json!({"label": null, "keep_days": 1})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    let (status, back) = app
        .admin(Method::PATCH, &path, Some(json!({"keep_days": null})))
        .await;
    assert_eq!(status, 200, "{back}");
    assert!(back["keep_days"].is_null(), "{back}");

    let (status, list) = app.admin(Method::GET, "/admin/api/v1/numbers", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["numbers"][0]["e164"], NUMBER);
    assert!(list["numbers"][0]["keep_days"].is_null());
    other.stop();
    app.stop().await;
}
both_modes!(numbers_added_and_retired_through_the_api_change_every_replica_at_once);

async fn the_numbers_api_refuses_what_it_cannot_use(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, &admin_config("")).await;
    let add = |body: serde_json::Value| {
        let app = &app;
        async move {
            app.admin(Method::POST, "/admin/api/v1/numbers", Some(body))
                .await
        }
    };
    let (status, err) = add(json!({"e164": "not a number"})).await;
    assert_eq!(status, 422, "{err}");
    assert!(err["error"].as_str().unwrap().starts_with("e164"));
    let (status, err) = add(json!({"e164": NUMBER, "label": "x".repeat(81)})).await;
    assert_eq!(
        (status, err["error"].as_str().unwrap()),
        (422, "label: at most 80 characters")
    );
    let (status, _) = add(json!({"e164": NUMBER, "provider": "no spaces"})).await;
    assert_eq!(status, 422);
    let (status, _) = add(json!({"e164": NUMBER, "surprise": 1})).await;
    assert_eq!(status, 400);
    let (status, err) = app
        .admin_api(
            Method::POST,
            "/admin/api/v1/numbers",
            Some(ADMIN_TOKEN),
            None,
        )
        .await;
    assert!(matches!(status, 400 | 415), "{status} {err}");
    assert!(err["error"].is_string());
    let (status, _) = app
        .admin(
            Method::POST,
            "/admin/api/v1/numbers/+447700900999/retire",
            None,
        )
        .await;
    assert_eq!(status, 404);

    // Without the token, with a wrong one, or with a cookie only: 401.
    let (status, err) = app
        .admin_api(Method::GET, "/admin/api/v1/numbers", None, None)
        .await;
    assert_eq!(status, 401, "{err}");
    let (status, _) = app
        .admin_api(Method::GET, "/admin/api/v1/numbers", Some("wrong"), None)
        .await;
    assert_eq!(status, 401);
    let resp = app
        .client
        .post(format!("{}/admin/api/v1/numbers", app.gateway_url))
        .header("cookie", format!("cloudsms_admin={}", "a".repeat(64)))
        .json(&json!({"e164": NUMBER}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert!(app.infra.store.find_number(NUMBER).await.unwrap().is_none());

    // Documented under its own tag, with the bearer scheme.
    let (_, spec) = app.get("/api/openapi.json").await;
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    let add = &spec["paths"]["/admin/api/v1/numbers"]["post"];
    assert_eq!(add["tags"][0], "admin");
    assert!(add["responses"]["201"].is_object() && add["responses"]["409"].is_object());
    assert_eq!(add["security"][0]["operatorBearer"], json!([]));
    assert_eq!(
        spec["components"]["securitySchemes"]["operatorBearer"]["scheme"],
        "bearer"
    );
    app.stop().await;
}
both_modes!(the_numbers_api_refuses_what_it_cannot_use);
