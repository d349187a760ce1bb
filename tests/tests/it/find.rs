//! Find a number that works: which services sent codes to which numbers
//! (the store's aggregate, on SQLite and Postgres), search by digits
//! (international and national), country (English, Chinese, ISO code) and
//! service, on the page and in the JSON API; service pages ranking numbers
//! by recent codes; the counts on number cards; the "try another number"
//! links of a number page; and a retired number's page (410 Gone).

use chrono::{Duration, TimeZone, Utc};
use cloudsms_tests::{Mode, TestApp, both_modes, unescape_html};

const UK: &str = "+447700900461";
const UK_2: &str = "+447700900462";
const FR: &str = "+33639981234";
const RETIRED: &str = "+447700900463";

/// Reads the snapshot on every use, and the registry too: what a test
/// sent is found at once.
const FRESH: &str = "[gateway]\nactivity_refresh_secs = 0\nregistry_cache_ms = 0\n";

fn sms(
    number: &str,
    id: &str,
    from: &str,
    body: &str,
    at: chrono::DateTime<Utc>,
) -> store::NewMessage {
    store::NewMessage {
        number: domain::E164::parse(number).unwrap(),
        provider: "test".to_owned(),
        provider_message_id: id.to_owned(),
        sender: from.to_owned(),
        body: body.to_owned(),
        received_at: at,
    }
}

async fn codes_per_number_and_service_are_counted_in_the_window(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    for n in [UK, UK_2, RETIRED, FR] {
        app.add_number(n).await;
    }
    let now = Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap();
    let hour = Duration::hours(1);
    let store = &app.infra.store;
    store
        .insert_messages(&[
            sms(
                UK,
                "a1",
                "WhatsApp",
                "Your WhatsApp code: 111-222",
                now - hour,
            ),
            sms(
                UK,
                "a2",
                "WhatsApp",
                "Your WhatsApp code: 333-444",
                now - hour * 2,
            ),
            sms(
                UK,
                "a3",
                "Telegram",
                "Your Telegram code is 55555",
                now - hour * 3,
            ),
            sms(
                UK,
                "a4",
                "WhatsApp",
                "Your WhatsApp code: 666-777",
                now - hour * 25,
            ),
            sms(UK, "a5", "WhatsApp", "Welcome to WhatsApp", now - hour),
            sms(
                UK_2,
                "a6",
                "Telegram",
                "Your Telegram code is 12345",
                now - hour * 4,
            ),
            sms(
                RETIRED,
                "a7",
                "WhatsApp",
                "Your WhatsApp code: 999-000",
                now - hour,
            ),
        ])
        .await
        .unwrap();
    store
        .retire_number(&domain::E164::parse(RETIRED).unwrap())
        .await
        .unwrap();
    let activity = store.service_activity(now - hour * 24).await.unwrap();
    let codes: Vec<(&str, &str, i64)> = activity
        .codes
        .iter()
        .map(|c| (c.number.as_str(), c.service.as_str(), c.codes))
        .collect();
    assert_eq!(
        codes,
        [
            (UK, "WhatsApp", 2),
            (UK, "Telegram", 1),
            (UK_2, "Telegram", 1)
        ]
    );
    let totals: Vec<(&str, i64, i64)> = activity
        .numbers
        .iter()
        .map(|n| (n.e164.as_str(), n.total, n.recent))
        .collect();
    // Newest message first; FR has none.
    assert_eq!(totals, [(UK, 5, 4), (UK_2, 1, 1), (FR, 0, 0)]);
    assert_eq!(activity.numbers[0].last_at, Some(now - hour));
    let latest: Vec<String> = store
        .latest_codes("WhatsApp", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.provider_message_id)
        .collect();
    assert_eq!(latest, ["a7", "a1", "a2", "a4"]);
    app.stop().await;
}
both_modes!(codes_per_number_and_service_are_counted_in_the_window);

/// The four numbers, UK with WhatsApp ×3 and Telegram ×1, FR with
/// WhatsApp ×1, UK_2 with Telegram ×2; RETIRED retired.
async fn app_with_codes(mode: Mode) -> TestApp {
    let app = TestApp::spawn_with_config(mode, FRESH).await;
    for n in [UK, UK_2, FR, RETIRED] {
        app.add_number(n).await;
    }
    let sent = [
        (UK, "WhatsApp", "Your WhatsApp code: 111-222", "f1"),
        (UK, "WhatsApp", "Your WhatsApp code: 333-444", "f2"),
        (UK, "WhatsApp", "Your WhatsApp code: 555-666", "f3"),
        (UK, "Telegram", "Your Telegram code is 77777", "f4"),
        (UK, "Bank", "Your balance is low", "f5"),
        (FR, "WhatsApp", "Your WhatsApp code: 121-212", "f6"),
        (UK_2, "Telegram", "Your Telegram code is 24680", "f7"),
        (UK_2, "Telegram", "Your Telegram code is 13579", "f8"),
    ];
    for (to, from, body, id) in sent {
        app.accept_sms(to, from, body, id).await;
    }
    app.wait_for_stored(UK, 5).await;
    app.wait_for_stored(FR, 1).await;
    app.wait_for_stored(UK_2, 2).await;
    app.infra
        .store
        .retire_number(&domain::E164::parse(RETIRED).unwrap())
        .await
        .unwrap();
    app
}

async fn search_finds_numbers_countries_and_services(mode: Mode) {
    let app = app_with_codes(mode).await;
    let search = async |q: &str| {
        let (status, html) = app.get(&format!("/search?q={}", urlencode(q))).await;
        assert_eq!(status, 200, "{q}: {html}");
        unescape_html(&html)
    };
    // Digits, international or national, any part of them.
    let found = search("07700 900461").await;
    assert!(
        found.contains(&format!("href=\"/numbers/{UK}\"")),
        "{found}"
    );
    assert!(
        !found.contains(&format!("href=\"/numbers/{UK_2}\"")),
        "{found}"
    );
    let found = search("+44 7700-900").await;
    assert!(
        found.contains(&format!("href=\"/numbers/{UK}\""))
            && found.contains(&format!("href=\"/numbers/{UK_2}\""))
    );
    assert!(!found.contains(&format!("href=\"/numbers/{FR}\"")));
    let found = search("06 39 98").await;
    assert!(
        found.contains(&format!("href=\"/numbers/{FR}\"")),
        "{found}"
    );
    // Countries in both languages and by ISO code; retired numbers never.
    for q in ["United Kingdom", "kingdom", "GB"] {
        let found = search(q).await;
        assert!(found.contains("href=\"/countries/gb\""), "{q}: {found}");
        assert!(found.contains(&format!("href=\"/numbers/{UK_2}\"")), "{q}");
        assert!(
            !found.contains(&format!("href=\"/numbers/{RETIRED}\"")),
            "{q}"
        );
    }
    let (_, zh) = app
        .get(&format!("/zh-CN/search?q={}", urlencode("英国")))
        .await;
    let zh = unescape_html(&zh);
    assert!(
        zh.contains("href=\"/zh-CN/countries/gb\"") && zh.contains(">英国</a>"),
        "{zh}"
    );
    let found = search("法国").await;
    assert!(
        found.contains("href=\"/countries/fr\"") && found.contains(">France</a>"),
        "{found}"
    );
    // Services, any case; Chinese names where the table has them.
    for q in ["whatsapp", "WhatsApp", "whats"] {
        let found = search(q).await;
        assert!(
            found.contains("href=\"/services/whatsapp\""),
            "{q}: {found}"
        );
        let uk = found.find(&format!("href=\"/numbers/{UK}\"")).unwrap();
        let fr = found.find(&format!("href=\"/numbers/{FR}\"")).unwrap();
        assert!(uk < fr, "most WhatsApp codes first");
        assert!(!found.contains(&format!("href=\"/numbers/{UK_2}\"")), "{q}");
    }
    let found = search("微信").await;
    assert!(found.contains("href=\"/services/wechat\""), "{found}");
    // Result pages are not for search engines; the form is.
    assert!(found.contains(r#"<meta name="robots" content="noindex, follow">"#));
    // Cards carry the counts.
    let found = search("07700 900461").await;
    assert!(
        found.contains("codes from WhatsApp ×3, Telegram ×1 in 24 h · 5 messages in all"),
        "{found}"
    );
    let found = search("nothing like this").await;
    assert!(
        found.contains("Nothing found for “nothing like this”."),
        "{found}"
    );
    // Empty: the form.
    let (status, empty) = app.get("/search").await;
    assert_eq!(status, 200);
    assert!(
        empty.contains(r#"<form class="search-page" action="/search""#)
            && empty.contains(r#"name="q""#)
    );
    assert!(!empty.contains("Nothing found for") && !empty.contains("noindex"));
    // ... and the services that sent codes lately, most first.
    let whatsapp = empty
        .find(r#"<a href="/services/whatsapp">WhatsApp</a>"#)
        .unwrap();
    let telegram = empty
        .find(r#"<a href="/services/telegram">Telegram</a>"#)
        .unwrap();
    assert!(
        whatsapp < telegram && empty.contains("4 codes in 24 h"),
        "{empty}"
    );
    // Too long: 400, with the form and why.
    let (status, long) = app.get(&format!("/search?q={}", "7".repeat(65))).await;
    assert_eq!(status, 400);
    assert!(
        long.contains("64 characters at most") && long.contains(r#"name="q""#),
        "{long}"
    );
    let (status, _) = app.get(&format!("/search?q={}", "7".repeat(64))).await;
    assert_eq!(status, 200);
    // Every page has the search box in its header.
    let (_, home) = app.get("/").await;
    assert!(home.contains(r#"<form class="search" action="/search" method="get" role="search" aria-label="Search numbers, countries and services">"#));
    app.stop().await;
}
both_modes!(search_finds_numbers_countries_and_services);

async fn the_search_api_answers_as_the_page(mode: Mode) {
    let app = app_with_codes(mode).await;
    let (status, body) = app.get("/api/v1/search?q=WhatsApp").await;
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["query"], "WhatsApp");
    assert_eq!(json["services"][0]["name"], "WhatsApp");
    assert_eq!(json["services"][0]["url"], "/services/whatsapp");
    assert_eq!(json["services"][0]["codes_last_day"], 4);
    let numbers = json["numbers"].as_array().unwrap();
    let e164s: Vec<&str> = numbers
        .iter()
        .map(|n| n["e164"].as_str().unwrap())
        .collect();
    assert_eq!(e164s, [UK, FR]);
    assert_eq!(numbers[0]["display"], "+44 7700 900461");
    assert_eq!(numbers[0]["national"], "07700 900461");
    assert_eq!(numbers[0]["url"], format!("/numbers/{UK}"));
    assert_eq!(numbers[0]["total_messages"], 5);
    assert_eq!(
        numbers[0]["codes_last_day"],
        serde_json::json!([{"service": "WhatsApp", "count": 3}, {"service": "Telegram", "count": 1}])
    );
    assert_eq!(
        numbers[0]["summary"],
        "codes from WhatsApp ×3, Telegram ×1 in 24 h · 5 messages in all"
    );
    let (_, body) = app.get("/api/v1/search?q=07700%20900462").await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["numbers"][0]["e164"], UK_2);
    assert_eq!(json["numbers"].as_array().unwrap().len(), 1);
    let resp = app
        .client
        .get(format!(
            "{}/api/v1/search?q={}",
            app.gateway_url,
            urlencode("英国")
        ))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(json["countries"][0]["iso2"], "GB");
    assert_eq!(json["countries"][0]["name"], "英国");
    assert_eq!(json["countries"][0]["numbers"], 2);
    let (status, body) = app.get("/api/v1/search").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        serde_json::json!({"query": "", "numbers": [], "countries": [], "services": []})
    );
    let resp = cloudsms_tests::send(app.client.get(format!(
        "{}/api/v1/search?q={}",
        app.gateway_url,
        "x".repeat(65)
    )))
    .await;
    let error = cloudsms_tests::error_of(resp, 400).await;
    assert!(error.contains("64 characters"), "{error}");
    let (status, _) = app.get("/api/v1/search?q=a&q=b").await;
    assert_eq!(status, 400);
    let (_, spec) = app.get("/api/openapi.json").await;
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    assert_eq!(
        spec["paths"]["/api/v1/search"]["get"]["parameters"][0]["schema"]["maxLength"],
        64
    );
    app.stop().await;
}
both_modes!(the_search_api_answers_as_the_page);

async fn service_pages_rank_numbers_by_recent_codes(mode: Mode) {
    let app = app_with_codes(mode).await;
    let (status, html) = app.get("/services/whatsapp").await;
    assert_eq!(status, 200, "{html}");
    let html = unescape_html(&html);
    assert!(html.contains("<h1>WhatsApp codes</h1>"), "{html}");
    let ranked = &html[html.find(r#"<ol class="ranked">"#).unwrap()..];
    let uk = ranked.find(&format!("href=\"/numbers/{UK}\"")).unwrap();
    let fr = ranked.find(&format!("href=\"/numbers/{FR}\"")).unwrap();
    assert!(uk < fr, "{ranked}");
    assert!(ranked.contains("3 codes in 24 h") && ranked.contains("1 codes in 24 h"));
    // The newest codes, newest first, with copy buttons.
    let codes = &html[html.find(r#"<ol class="codes">"#).unwrap()..];
    let newest = codes.find(">121212</button>").unwrap();
    let oldest = codes.find(">111222</button>").unwrap();
    assert!(newest < oldest, "{codes}");
    assert!(codes.contains(r#"data-copy="121212""#));
    assert!(!codes.contains("77777"), "Telegram's codes are elsewhere");

    let (_, telegram) = app.get("/services/telegram").await;
    let telegram = &telegram[telegram.find(r#"<ol class="ranked">"#).unwrap()..];
    assert!(
        telegram.find(&format!("/numbers/{UK_2}\"")).unwrap()
            < telegram.find(&format!("/numbers/{UK}\"")).unwrap(),
        "UK_2 has two Telegram codes, UK one"
    );
    let (_, zh) = app.get("/zh-CN/services/wechat").await;
    assert!(unescape_html(&zh).contains("<h1>微信 验证码</h1>"), "{zh}");
    let (status, _) = app.get("/services/no-such-service").await;
    assert_eq!(status, 404);
    // Search engines find the pages of the services that sent codes lately.
    let (_, sitemap) = app.get("/sitemap.xml").await;
    for path in ["/services/whatsapp", "/zh-CN/services/telegram"] {
        let loc = format!("<loc>{}{path}</loc>", app.gateway_url);
        assert!(sitemap.contains(&loc), "{loc}: {sitemap}");
    }
    assert!(
        !sitemap.contains("/services/wechat<"),
        "no codes from WeChat"
    );
    app.stop().await;
}
both_modes!(service_pages_rank_numbers_by_recent_codes);

async fn cards_count_codes_and_number_pages_lead_elsewhere(mode: Mode) {
    let app = app_with_codes(mode).await;
    let (_, home) = app.get("/").await;
    let home = unescape_html(&home);
    assert!(
        home.contains("codes from WhatsApp ×3, Telegram ×1 in 24 h · 5 messages in all"),
        "{home}"
    );
    assert!(home.contains("codes from Telegram ×2 in 24 h · 2 messages in all"));
    let (_, country) = app.get("/zh-CN/countries/fr").await;
    assert!(
        unescape_html(&country).contains("24 小时内验证码来自 WhatsApp ×1 · 共 1 条短信"),
        "{country}"
    );

    // UK's page: its country, then numbers that got codes from its
    // services (same country first), then the others.
    let (status, page) = app.get(&format!("/numbers/{UK}")).await;
    assert_eq!(status, 200);
    let page = unescape_html(&page);
    let related = &page[page.find(r#"<section class="related""#).unwrap()..];
    assert!(
        related.contains(r#"<a href="/countries/gb">All United Kingdom numbers</a>"#),
        "{related}"
    );
    let uk_2 = related.find(&format!("href=\"/numbers/{UK_2}\"")).unwrap();
    let fr = related.find(&format!("href=\"/numbers/{FR}\"")).unwrap();
    assert!(uk_2 < fr, "same country first: {related}");
    assert!(!related.contains(&format!("/numbers/{UK}\"")), "not itself");
    assert!(
        !related.contains(&format!("/numbers/{RETIRED}\"")),
        "no retired number"
    );
    let (_, zh) = app.get(&format!("/zh-CN/numbers/{FR}")).await;
    assert!(unescape_html(&zh).contains("所有法国号码"), "{zh}");
    app.stop().await;
}
both_modes!(cards_count_codes_and_number_pages_lead_elsewhere);

async fn a_retired_number_is_gone_and_an_unknown_one_not_found(mode: Mode) {
    let app = app_with_codes(mode).await;
    let (status, page) = app.get(&format!("/numbers/{RETIRED}")).await;
    assert_eq!(status, 410, "{page}");
    let page = unescape_html(&page);
    assert!(page.contains("+44 7700 900463 was retired"), "{page}");
    assert!(page.contains(r#"<meta name="robots" content="noindex">"#));
    let uk = page.find(&format!("href=\"/numbers/{UK}\"")).unwrap();
    let fr = page.find(&format!("href=\"/numbers/{FR}\"")).unwrap();
    assert!(uk < fr, "live numbers of its country first: {page}");
    assert!(page.contains(r#"href="/countries/gb""#));
    let (status, zh) = app.get(&format!("/zh-CN/numbers/{RETIRED}")).await;
    assert_eq!(status, 410);
    assert!(unescape_html(&zh).contains("已停用"));
    // Its messages are not served, by the API or live: 404 as before.
    let (status, _) = app
        .get(&format!("/api/v1/numbers/{RETIRED}/messages"))
        .await;
    assert_eq!(status, 404);
    let (status, _) = app.get(&format!("/numbers/{RETIRED}/events")).await;
    assert_eq!(status, 404);
    let (status, unknown) = app.get("/numbers/+447700900999").await;
    assert_eq!(status, 404);
    assert!(!unknown.contains("was retired"));
    let (status, _) = app.get("/numbers/not-a-number").await;
    assert_eq!(status, 404);
    app.stop().await;
}
both_modes!(a_retired_number_is_gone_and_an_unknown_one_not_found);

fn urlencode(q: &str) -> String {
    form_urlencoded::byte_serialize(q.as_bytes()).collect()
}
