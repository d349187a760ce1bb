//! The home page and `/latest`: a hero that says what the site is and its
//! privacy stance (the ads sentence follows `gateway.ads.enabled`), a grid
//! of number cards (both number forms, a copy button, the last message,
//! today's count) filtered by country and service on the server, `/latest`
//! paged by a stable cursor, and the site-wide live stream `/latest/events`.

use std::collections::HashSet;

use cloudsms_tests::{Mode, TestApp, both_modes, content_type, unescape_html};

const UK: &str = "+447700900461";
const FR: &str = "+33639981234";
const US: &str = "+12025550177";

/// The card of `e164` on a page.
fn card<'a>(html: &'a str, e164: &str) -> &'a str {
    let start = html
        .find(&format!(r#"data-number="{e164}""#))
        .unwrap_or_else(|| panic!("no card of {e164}: {html}"));
    let end = html[start..].find("</li>").unwrap() + start;
    &html[start..end]
}

/// The `data-id`s of the messages on a page, in order.
fn ids(html: &str) -> Vec<i64> {
    html.split(r#"<li class="msg" data-id=""#)
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].parse().unwrap())
        .collect()
}

/// The link of the next older page, if any.
fn next_page(html: &str) -> Option<String> {
    let end = html.find(r#"" rel="next""#)?;
    let start = html[..end].rfind("href=\"")? + "href=\"".len();
    Some(html[start..end].replace("&amp;", "&"))
}

async fn the_hero_says_what_the_site_is_in_both_languages(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (status, en) = app.get("/").await;
    assert_eq!(status, 200);
    assert!(en.contains("Free public phone numbers that receive SMS online"));
    assert!(en.contains("No trackers, no third-party scripts"), "{en}");
    assert!(
        en.contains("<li>No ads.</li>"),
        "ads are off by default: {en}"
    );
    assert!(en.contains(r#"<a href="/my-data">Your data</a>"#));
    let (_, zh) = app.get("/?lang=zh-CN").await;
    let zh = unescape_html(&zh);
    assert!(zh.contains("可在线接收短信的免费公共手机号码"), "{zh}");
    assert!(zh.contains("<li>没有广告。</li>") && zh.contains("没有跟踪器"));
    app.stop().await;

    // With ads on, the hero does not say "no ads".
    let app = TestApp::spawn_with_config(
        mode,
        "[gateway.ads]\nenabled = true\nslot_html = \"<div class='unit'>AD-UNIT</div>\"\n\
         csp_sources = [\"https://ads.example.com\"]\n",
    )
    .await;
    let (_, en) = app.get("/").await;
    assert!(!en.contains("No ads.") && !en.contains("no third-party scripts"));
    assert!(en.contains("Ads are on"), "{en}");
    let (_, zh) = app.get("/?lang=zh-CN").await;
    let zh = unescape_html(&zh);
    assert!(
        !zh.contains("没有广告") && zh.contains("本站展示广告"),
        "{zh}"
    );
    app.stop().await;
}
both_modes!(the_hero_says_what_the_site_is_in_both_languages);

async fn cards_show_both_forms_the_last_message_and_filter_on_the_server(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    for number in [UK, FR, US] {
        app.add_number(number).await;
    }
    app.accept_sms(UK, "+14155550123", "old one", "h-1").await;
    app.accept_sms(
        UK,
        "+14155550123",
        "<b>bold</b> Your Telegram code is 271828",
        "h-2",
    )
    .await;
    app.accept_sms(
        US,
        "GOOGLE",
        "G-717464 is your Google verification code.",
        "h-3",
    )
    .await;
    app.wait_for_stored(UK, 2).await;
    app.wait_for_stored(US, 1).await;

    let (status, home) = app.get("/").await;
    assert_eq!(status, 200);
    let uk = card(&home, UK);
    assert!(
        uk.contains("+44 7700 900461") && uk.contains("07700 900461"),
        "{uk}"
    );
    assert!(uk.contains(r#"data-copy="+447700900461""#), "{uk}");
    assert!(uk.contains(r#"data-country="gb""#) && uk.contains(r#"data-services="telegram""#));
    assert!(
        unescape_html(uk).contains("<b>bold</b> Your Telegram code is 271828"),
        "the preview is the newest message: {uk}"
    );
    assert!(!uk.contains("<b>"), "escaped: {uk}");
    assert!(
        uk.contains("+14155550123 · Telegram"),
        "sender and service: {uk}"
    );
    assert!(uk.contains(r#"<time class="ago" datetime=""#), "{uk}");
    assert!(uk.contains("2 today"), "{uk}");
    assert!(
        home.contains(r#"data-events="/latest/events?after="#),
        "the cards follow every number's messages from the newest shown: {home}"
    );
    let fr = card(&home, FR);
    assert!(fr.contains("+33 6 39 98 12 34") && fr.contains("06 39 98 12 34"));
    assert!(fr.contains("no SMS yet") && fr.contains("0 today"), "{fr}");
    assert!(card(&home, US).contains("GOOGLE"));
    // Countries stay findable, and the filter offers the services seen.
    assert!(home.contains(r#"href="/countries/gb""#) && home.contains(r#"href="/countries/fr""#));
    assert!(
        home.contains(r#"<option value="telegram">Telegram</option>"#),
        "{home}"
    );
    assert!(
        home.contains(r#"<option value="google">Google</option>"#),
        "{home}"
    );

    let (_, gb) = app.get("/?country=GB").await;
    assert!(gb.contains(r#"data-number="+447700900461""#));
    assert!(
        !gb.contains(r#"data-number="+12025550177""#)
            && !gb.contains(r#"data-number="+33639981234""#)
    );
    assert!(gb.contains(r#"<option value="gb" selected>"#), "{gb}");
    let (_, telegram) = app.get("/?service=telegram").await;
    assert!(telegram.contains(r#"data-number="+447700900461""#));
    assert!(!telegram.contains(r#"data-number="+12025550177""#));
    let (_, none) = app.get("/?country=us&service=telegram").await;
    assert!(!none.contains("data-number="), "{none}");
    assert!(none.contains("No number matches this filter."));
    assert!(!none.contains(r#"id="no-match" hidden"#), "{none}");
    let (_, zh) = app.get("/?country=fr&lang=zh-CN").await;
    assert!(zh.contains(r#"data-number="+33639981234""#) && !zh.contains(r#"data-number="+44"#));

    // The country page shows the same cards.
    let (_, country) = app.get("/countries/gb").await;
    assert!(card(&country, UK).contains("07700 900461"));
    app.stop().await;
}
both_modes!(cards_show_both_forms_the_last_message_and_filter_on_the_server);

async fn latest_pages_back_without_repeats_or_gaps_and_streams_live(mode: Mode) {
    let app = TestApp::spawn_with_config(mode, "[gateway]\npage_size = 3\n").await;
    for number in [UK, US] {
        app.add_number(number).await;
    }
    let mut live = app.open_events("/latest/events").await;
    assert!(content_type(&live.headers).starts_with("text/event-stream"));
    for i in 1..=8 {
        let to = if i % 2 == 0 { UK } else { US };
        app.accept_sms(to, "Bank", &format!("message {i:02}"), &format!("l-{i}"))
            .await;
    }
    // Every number's messages on the one stream.
    live.wait_for_message("message 08").await;
    let streamed: HashSet<String> = live
        .data()
        .iter()
        .map(|m| m["number"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(streamed, HashSet::from([UK.to_owned(), US.to_owned()]));
    app.wait_for_stored(UK, 4).await;
    app.wait_for_stored(US, 4).await;
    // A page names the newest message it shows: the stream first sends the
    // kept ones after it (what arrived while the page loaded).
    let seventh = app
        .stored(US)
        .await
        .into_iter()
        .find(|r| r.body == "message 07")
        .unwrap();
    let mut after = app
        .open_events(&format!("/latest/events?after={}", seventh.id))
        .await;
    after.wait_for_message("message 08").await;
    let replayed: Vec<String> = after
        .data()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(replayed, ["message 08"]);

    let (status, first) = app.get("/latest").await;
    assert_eq!(status, 200);
    assert!(
        first.contains(r#"data-events="/latest/events?after="#),
        "page 1 is live"
    );
    let mut seen = ids(&first);
    assert_eq!(seen.len(), 3);
    let mut link = next_page(&first);
    // New messages while paging do not shift the older pages.
    app.accept_sms(UK, "Bank", "message 09", "l-9").await;
    app.wait_for_stored(UK, 5).await;
    let mut pages = 1;
    while let Some(path) = link {
        assert!(path.starts_with("/latest?before="), "{path}");
        let (status, html) = app.get(&path).await;
        assert_eq!(status, 200);
        assert!(!html.contains("data-events="), "older pages are not live");
        assert!(html.contains(r#"<a href="/latest">Newest messages</a>"#));
        seen.extend(ids(&html));
        link = next_page(&html);
        pages += 1;
        assert!(pages < 10);
    }
    let mut all: Vec<i64> = app.stored(UK).await.into_iter().map(|r| r.id).collect();
    all.extend(app.stored(US).await.into_iter().map(|r| r.id));
    let newest = app.stored(UK).await[0].id;
    all.retain(|id| *id != newest);
    let unique: HashSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no message twice: {seen:?}");
    assert_eq!(unique, all.into_iter().collect(), "none missing");
    assert_eq!(pages, 3);

    let (status, _) = app.get("/latest?before=garbage").await;
    assert_eq!(status, 400);
    app.stop().await;
}
both_modes!(latest_pages_back_without_repeats_or_gaps_and_streams_live);

async fn the_home_page_stays_light(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let numbers: Vec<String> = (10..34).map(|i| format!("+4477009004{i}")).collect();
    for (i, number) in numbers.iter().enumerate() {
        app.add_number(number).await;
        let body = format!("Your Telegram code is {i:06}. Do not share it with anyone, ever.");
        app.accept_sms(number, "+14155550123", &body, &format!("w-{i}"))
            .await;
    }
    for number in &numbers {
        app.wait_for_stored(number, 1).await;
    }
    let gzipped = |path: &'static str| {
        let app = &app;
        async move {
            let resp =
                cloudsms_tests::send(app.gateway_get(path).header("accept-encoding", "gzip")).await;
            assert_eq!(resp.headers()["content-encoding"], "gzip");
            resp.bytes().await.unwrap().len()
        }
    };
    let home = gzipped("/").await;
    let (_, html) = app.get("/").await;
    assert_eq!(html.matches(r#"<li class="card""#).count(), 24);
    assert!(home <= 6 * 1024, "home with 24 cards: {home} bytes gzipped");
    app.stop().await;
}
both_modes!(the_home_page_stays_light);
