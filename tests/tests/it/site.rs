//! The visitor site over HTTP: live updates, stable paging, the JSON API,
//! the latest feed, security headers and the visitor cookie.

use cloudsms_tests::{Mode, TestApp, both_modes, content_type, cookie_value, json, send, text};

const NUMBER: &str = "+447700900123";
const OTHER: &str = "+12025550177";

fn sms_at(to: &str, body: &str, id: &str, received_unix: i64) -> String {
    serde_json::json!({
        "to": to, "from": "Bank", "body": body, "id": id, "received_at": received_unix
    })
    .to_string()
}

async fn new_messages_arrive_on_the_open_event_stream(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let mut live = app.open_live(NUMBER).await;
    assert!(content_type(&live.headers).starts_with("text/event-stream"));
    let hostile = "<img src=x onerror=alert(1)> Telegram code 314159";
    app.accept_sms(NUMBER, "+14155550123", hostile, "live-1")
        .await;
    live.wait_for_message("314159").await;
    let event = &live.data()[0];
    assert_eq!(
        event["body"], hostile,
        "JSON carries the text; the page inserts it as text"
    );
    assert_eq!(event["code"], "314159");
    assert_eq!(event["service"], "Telegram");
    app.stop().await;
}
both_modes!(new_messages_arrive_on_the_open_event_stream);

async fn older_pages_are_stable_while_new_messages_arrive(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, "[gateway]\npage_size = 3\n").await;
    app.add_number(NUMBER).await;
    let base = 1_780_000_000;
    for i in 1..=7 {
        let hook = app.signed(&sms_at(
            NUMBER,
            &format!("message {i:02}"),
            &format!("p-{i}"),
            base + i,
        ));
        assert_eq!(app.post(&hook).await.status(), 202);
    }
    app.wait_for_stored(NUMBER, 7).await;

    let api = |before: Option<String>| {
        let app = &app;
        async move {
            let mut url = format!("{}/api/v1/numbers/{NUMBER}/messages", app.gateway_url);
            if let Some(b) = before {
                url.push_str(&format!("?before={b}"));
            }
            json::<serde_json::Value>(app.client.get(url)).await
        }
    };
    let bodies = |v: &serde_json::Value| -> Vec<String> {
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = api(None).await;
    assert_eq!(bodies(&first), ["message 07", "message 06", "message 05"]);
    let cursor = first["next_before"].as_str().unwrap().to_owned();

    // A new message arrives between page loads: the older pages do not shift.
    let hook = app.signed(&sms_at(NUMBER, "message 08", "p-8", base + 8));
    assert_eq!(app.post(&hook).await.status(), 202);
    app.wait_for_stored(NUMBER, 8).await;

    let second = api(Some(cursor.clone())).await;
    assert_eq!(bodies(&second), ["message 04", "message 03", "message 02"]);
    let third = api(second["next_before"].as_str().map(str::to_owned)).await;
    assert_eq!(bodies(&third), ["message 01"]);
    assert!(third["next_before"].is_null());

    // The HTML pages follow the same cursor.
    let (status, html) = app.get(&format!("/numbers/{NUMBER}?before={cursor}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("message 04") && html.contains("message 02"));
    assert!(!html.contains("message 05") && !html.contains("message 08"));
    assert!(html.contains("Newest messages"));
    let (status, _) = app.get(&format!("/numbers/{NUMBER}?before=garbage")).await;
    assert_eq!(status, 400);
    app.stop().await;
}
both_modes!(older_pages_are_stable_while_new_messages_arrive);

async fn api_and_latest_list_every_number(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    app.add_number(OTHER).await;
    app.accept_sms(
        NUMBER,
        "Google",
        "G-111222 is your Google verification code.",
        "l-1",
    )
    .await;
    app.accept_sms(OTHER, "Uber", "Your Uber code is 3344", "l-2")
        .await;
    app.wait_for_stored(NUMBER, 1).await;
    app.wait_for_stored(OTHER, 1).await;

    let numbers: serde_json::Value = json(app.gateway_get("/api/v1/numbers")).await;
    let list = numbers.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let uk = list.iter().find(|n| n["e164"] == NUMBER).unwrap();
    assert_eq!(uk["country"], "GB");
    assert_eq!(uk["messages_last_day"], 1);

    let (status, html) = app.get("/latest").await;
    assert_eq!(status, 200);
    assert!(html.contains("G-111222") && html.contains("Your Uber code is 3344"));
    assert!(html.contains(&format!("/numbers/{OTHER}")));

    let resp = send(app.gateway_get("/api/v1/numbers/+19999/messages")).await;
    assert_eq!(resp.status(), 404);
    let err: serde_json::Value = resp.json().await.unwrap();
    assert!(err["error"].is_string());
    app.stop().await;
}
both_modes!(api_and_latest_list_every_number);

async fn pages_carry_security_headers_and_a_visitor_cookie(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let resp = send(app.gateway_get("/")).await;
    let headers = resp.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers.contains_key("referrer-policy"));
    assert!(headers.contains_key("permissions-policy"));
    let cookie = headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with(&format!("{}=", gateway::VISITOR_COOKIE)),
        "{cookie}"
    );
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let id = cookie_value(&cookie);
    assert_eq!(id.len(), 32);

    // A returning visitor keeps the id: no new cookie.
    let resp = send(app.visitor_get("/", id)).await;
    assert!(!resp.headers().contains_key("set-cookie"));

    // Assets are fingerprinted and cached for a year.
    let html = resp.text().await.unwrap();
    let css = cloudsms_tests::linked_asset(&html);
    let asset = send(app.gateway_get(&format!("/static/{css}"))).await;
    assert_eq!(asset.status(), 200);
    assert!(
        asset.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(content_type(asset.headers()).starts_with("text/css"));
    let missing = send(app.gateway_get("/static/site.css")).await;
    assert_eq!(missing.status(), 404);
    app.stop().await;
}
both_modes!(pages_carry_security_headers_and_a_visitor_cookie);

async fn the_site_speaks_english_and_chinese_and_remembers_the_choice(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let get = |path: &str, headers: Vec<(&'static str, String)>| {
        let mut req = app.gateway_get(path);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req
    };
    let en = text(get("/", vec![])).await;
    assert!(en.contains("<html lang=\"en\">") && en.contains("Free numbers to receive SMS online"));

    let zh = text(get(
        "/",
        vec![("accept-language", "zh-CN,zh;q=0.9,en;q=0.5".into())],
    ))
    .await;
    assert!(
        zh.contains("<html lang=\"zh-CN\">") && zh.contains("免费号码，在线接收短信"),
        "{zh}"
    );
    assert!(zh.contains("英国"), "country names are translated");
    let missing = send(get("/numbers/+12025550100?lang=zh-CN", vec![])).await;
    assert_eq!(missing.status(), 404);
    assert!(
        missing.text().await.unwrap().contains("页面不存在"),
        "error pages speak the visitor's language"
    );

    // ?lang= switches (a redirect to the page's Chinese URL) and is
    // remembered in a cookie.
    let resp = cloudsms_tests::no_redirects()
        .get(format!("{}/numbers/{NUMBER}?lang=zh-CN", app.gateway_url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()["location"],
        format!("/zh-CN/numbers/{NUMBER}")
    );
    let cookies: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let lang_cookie = cookies
        .iter()
        .find(|c| c.starts_with("cloudsms_lang="))
        .expect("language cookie");
    assert!(lang_cookie.starts_with("cloudsms_lang=zh-CN"));
    let zh_number = text(get(&format!("/zh-CN/numbers/{NUMBER}"), vec![])).await;
    assert!(zh_number.contains("最新短信在前"));
    // The remembered choice takes the visitor from `/` to the Chinese pages.
    let remembered = text(get(
        "/",
        vec![
            ("cookie", "cloudsms_lang=zh-CN".into()),
            ("accept-language", "en".into()),
        ],
    ))
    .await;
    assert!(remembered.contains("<html lang=\"zh-CN\">"));
    let privacy = text(get("/privacy?lang=zh-CN", vec![])).await;
    assert!(privacy.contains("服务器日志保存六个月"));
    assert!(privacy.contains("href=\"/zh-CN/my-data\""));
    let privacy = text(get("/privacy", vec![])).await;
    assert!(privacy.contains("Server logs are kept for six months"));
    assert!(privacy.contains("href=\"/my-data\""));
    app.stop().await;
}
both_modes!(the_site_speaks_english_and_chinese_and_remembers_the_choice);

async fn country_pages_feeds_sitemap_and_robots_list_the_numbers(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    app.add_number(OTHER).await;
    app.accept_sms(NUMBER, "Bank", "feed & <test> 1", "f-1")
        .await;
    app.accept_sms(NUMBER, "Shop", "from the shop", "f-2").await;
    app.wait_for_stored(NUMBER, 2).await;

    let (status, gb) = app.get("/countries/gb").await;
    assert_eq!(status, 200);
    assert!(gb.contains(NUMBER) && !gb.contains(OTHER));
    assert!(gb.contains("online"));
    let (status, _) = app.get("/countries/zz").await;
    assert_eq!(status, 404);
    let (status, _) = app.get("/countries/fr").await;
    assert_eq!(status, 404, "no numbers there");

    let (status, feed) = app.get(&format!("/numbers/{NUMBER}/feed.atom")).await;
    assert_eq!(status, 200);
    assert!(
        feed.starts_with("<?xml") && feed.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\"")
    );
    assert!(feed.contains("feed &amp; &lt;test&gt; 1"), "{feed}");

    let (_, sitemap) = app.get("/sitemap.xml").await;
    assert!(sitemap.contains(&format!("/numbers/{NUMBER}</loc>")));
    assert!(sitemap.contains("/countries/us</loc>") && sitemap.contains("/countries/gb</loc>"));
    let (_, robots) = app.get("/robots.txt").await;
    assert!(robots.contains("Sitemap: http://") && robots.contains("Disallow: /api/"));

    let (status, spec) = app.get("/api/openapi.json").await;
    assert_eq!(status, 200);
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    assert!(spec["paths"]["/api/v1/numbers/{e164}/messages"].is_object());

    // The sender filter keeps one sender.
    let (_, filtered) = app.get(&format!("/numbers/{NUMBER}?from=Shop")).await;
    assert!(filtered.contains("from the shop") && !filtered.contains("feed &amp;"));
    let (_, page) = app.get(&format!("/numbers/{NUMBER}")).await;
    assert!(page.contains("<option value=\"Shop\">"));

    let (status, my_data) = app.get("/my-data").await;
    assert_eq!(status, 200);
    assert!(my_data.contains("Your identifier"));
    app.stop().await;
}
both_modes!(country_pages_feeds_sitemap_and_robots_list_the_numbers);

async fn ad_slots_are_off_by_default_and_never_above_the_inbox(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let (_, page) = app.get(&format!("/numbers/{NUMBER}")).await;
    assert!(!page.contains("class=\"ad\""));
    let (status, _) = app.get("/ads.txt").await;
    assert_eq!(status, 404);
    app.stop().await;

    let app = TestApp::spawn_with_config(
        mode,
        "[gateway.ads]\nenabled = true\nslot_html = \"<div class='unit'>AD-UNIT</div>\"\n\
         ads_txt = \"example.com, pub-0000000000000000, DIRECT\"\n\
         csp_sources = [\"https://ads.example.com\"]\n",
    )
    .await;
    app.add_number(NUMBER).await;
    app.accept_sms(NUMBER, "Bank", "inbox first", "ad-1").await;
    let page = app.wait_for_page(NUMBER, "inbox first").await;
    let ad = page.find("AD-UNIT").expect("the unit is shown");
    assert!(
        page.find("inbox first").unwrap() < ad,
        "the inbox comes before the ad"
    );
    let (status, ads_txt) = app.get("/ads.txt").await;
    assert_eq!(status, 200);
    assert_eq!(ads_txt.trim(), "example.com, pub-0000000000000000, DIRECT");
    let resp = send(app.gateway_get("/")).await;
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self' https://ads.example.com"),
        "{csp}"
    );
    let (_, privacy) = app.get("/privacy").await;
    assert!(!privacy.contains("AD-UNIT"), "no ads on the privacy page");
    app.stop().await;
}
both_modes!(ad_slots_are_off_by_default_and_never_above_the_inbox);

async fn pages_are_compressed_for_clients_that_ask(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let resp = send(
        app.gateway_get("/privacy")
            .header("accept-encoding", "gzip"),
    )
    .await;
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let plain = send(app.gateway_get("/privacy")).await;
    assert!(!plain.headers().contains_key("content-encoding"));
    app.stop().await;
}
both_modes!(pages_are_compressed_for_clients_that_ask);
