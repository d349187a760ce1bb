//! The visitor site: hostile text stays text everywhere it is shown, the page
//! scripts never write markup, `/static/` serves only its compiled-in files,
//! cursors and sender filters are data and never SQL, and `next` / `lang`
//! never lead off the site.

use cloudsms_tests::{Mode, TestApp, both_modes, content_type, send, unescape_html};

use super::raw_get;

const NUMBER: &str = "+447700900777";
/// Markup, an attribute break-out, an SSE frame and element closers.
const BODY: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'><svg/onload=alert(3)> \
                    code 271828\n\nevent: forged\ndata: {\"x\":1}\n\n</textarea></title>]]>";
/// Sender ids are free text too (at most 64 characters).
const SENDER: &str = "\"><script>alert(4)</script>";

/// Raw markup of the hostile strings that must never reach a page.
const RAW: [&str; 5] = [
    "<script>alert",
    "<img src=x",
    "<svg/onload",
    "\"><script>",
    "</textarea></title>",
];

fn assert_strict_csp(path: &str, headers: &reqwest::header::HeaderMap) {
    let csp = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'self'",
        "script-src 'self';",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{path}: {directive} in {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{path}: {csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
}

async fn fetch(app: &TestApp, path: &str) -> (reqwest::header::HeaderMap, String) {
    let r = send(app.gateway_get(path)).await;
    assert_eq!(r.status(), 200, "{path}");
    (r.headers().clone(), r.text().await.unwrap())
}

async fn hostile_text_is_text_on_every_page_feed_api_and_stream(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let mut live = app.open_live(NUMBER).await;
    app.accept_sms(NUMBER, SENDER, BODY, "xss-1").await;
    app.wait_for_stored(NUMBER, 1).await;

    // The event stream: one event whose JSON carries the text; the blank
    // lines of the body cannot end the frame or start another event.
    live.wait_for_message("271828").await;
    let seen = &live.seen;
    assert!(
        !seen.lines().any(|l| l.starts_with("event: forged")),
        "{seen:?}"
    );
    let data = live.data();
    assert_eq!(data.len(), 1, "{seen:?}");
    let event = &data[0];
    assert_eq!(event["body"], BODY);
    assert_eq!(event["from"], SENDER);

    // Every page that shows messages or senders, with the strict policy.
    let filtered = format!(
        "/numbers/{NUMBER}?from={}",
        form_urlencoded::byte_serialize(SENDER.as_bytes()).collect::<String>()
    );
    for path in [
        "/".to_owned(),
        "/latest".to_owned(),
        "/countries/gb".to_owned(),
        format!("/numbers/{NUMBER}"),
        filtered.clone(),
    ] {
        let (headers, html) = fetch(&app, &path).await;
        assert_strict_csp(&path, &headers);
        for raw in RAW {
            assert!(!html.contains(raw), "{path}: {raw} unescaped");
        }
        if path.starts_with("/numbers/") || path == "/latest" {
            let text = unescape_html(&html);
            assert!(text.contains(BODY), "{path}: the body reads as sent");
            assert!(text.contains(SENDER), "{path}: the sender reads as sent");
        }
    }
    // The sender filter found the message by its hostile sender.
    assert!(fetch(&app, &filtered).await.1.contains("271828"));

    // The feed is XML with the text escaped.
    let (headers, feed) = fetch(&app, &format!("/numbers/{NUMBER}/feed.atom")).await;
    assert!(content_type(&headers).starts_with("application/atom+xml"));
    for raw in RAW {
        assert!(!feed.contains(raw), "feed: {raw} unescaped");
    }
    assert!(
        feed.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{feed}"
    );

    // The API is JSON, never sniffed as HTML, and carries the exact text.
    let (headers, json) = fetch(&app, &format!("/api/v1/numbers/{NUMBER}/messages")).await;
    assert!(content_type(&headers).starts_with("application/json"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["messages"][0]["body"], BODY);
    assert_eq!(json["messages"][0]["from"], SENDER);
    app.stop().await;
}
both_modes!(hostile_text_is_text_on_every_page_feed_api_and_stream);

async fn page_scripts_write_text_never_markup(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let (_, home) = fetch(&app, "/").await;
    let (_, gate) = fetch(&app, "/gate").await;
    // The number page also loads wait.js.
    let (_, number) = fetch(&app, &format!("/numbers/{NUMBER}")).await;
    let mut scripts: Vec<String> = Vec::new();
    for html in [&home, &gate, &number] {
        for part in html.split("src=\"/static/").skip(1) {
            scripts.push(part.split('"').next().unwrap().to_owned());
        }
        for part in html.split("data-worker=\"/static/").skip(1) {
            scripts.push(part.split('"').next().unwrap().to_owned());
        }
    }
    scripts.sort();
    scripts.dedup();
    for name in ["app.", "gate.", "gate-worker.", "wait."] {
        assert!(
            scripts.iter().any(|s| s.starts_with(name)),
            "{name} not found among {scripts:?}"
        );
    }
    let mut text_writes = 0;
    for script in &scripts {
        let (_, js) = fetch(&app, &format!("/static/{script}")).await;
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
            "setTimeout(\"",
            "setInterval(\"",
        ] {
            assert!(!js.contains(sink), "{script} uses {sink}");
        }
        text_writes += js.matches("textContent").count();
    }
    assert!(text_writes > 0, "the scripts write text with textContent");
    // No inline script or handler on the pages: the CSP would block it anyway.
    for html in [&home, &gate, &number] {
        assert!(!html.contains("<script>") && !html.contains(" onclick="));
    }
    app.stop().await;
}
both_modes!(page_scripts_write_text_never_markup);

async fn static_paths_never_leave_the_compiled_in_assets(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (_, home) = fetch(&app, "/").await;
    let css = cloudsms_tests::linked_asset(&home);
    let (status, _) = raw_get(&app.gateway_url, &format!("/static/{css}")).await;
    assert_eq!(status, 200, "the real asset is served");
    for path in [
        "/static/../../../../etc/passwd".to_owned(),
        "/static/..%2f..%2f..%2f..%2fetc%2fpasswd".to_owned(),
        "/static/%2e%2e%2f%2e%2e%2fCargo.toml".to_owned(),
        "/static/%2e%2e/%2e%2e/Cargo.toml".to_owned(),
        "/static/..%5c..%5cCargo.toml".to_owned(),
        "/static/....//....//etc/passwd".to_owned(),
        "/static//etc/passwd".to_owned(),
        "/static/%2fetc%2fpasswd".to_owned(),
        "/static/Cargo.toml".to_owned(),
        "/static/site.css".to_owned(),
        "/static/site.css%00.js".to_owned(),
        format!("/static/{css}/../../../../etc/passwd"),
        format!("/static/{css}%2f..%2f..%2fCargo.toml"),
    ] {
        let (status, answer) = raw_get(&app.gateway_url, &path).await;
        assert_eq!(status, 404, "{path}: {answer}");
        for leak in ["root:", "[package]", "[workspace]"] {
            assert!(!answer.contains(leak), "{path} leaked {leak}");
        }
    }
    app.stop().await;
}
both_modes!(static_paths_never_leave_the_compiled_in_assets);

async fn cursors_and_sender_filters_are_data_not_sql(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    for i in 1..=3 {
        app.accept_sms(NUMBER, "Bank", &format!("message {i}"), &format!("sql-{i}"))
            .await;
    }
    app.wait_for_stored(NUMBER, 3).await;
    let encode = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    for cursor in [
        "1' OR '1'='1",
        "1_1 OR 1=1",
        "1_1; DROP TABLE messages;--",
        "1780000000000000_1 UNION SELECT * FROM numbers",
        "0_0)--",
        "'",
        "1_",
        "_1",
        "9223372036854775807_1",
        "1_9223372036854775808",
    ] {
        for path in [
            format!("/numbers/{NUMBER}?before={}", encode(cursor)),
            format!(
                "/api/v1/numbers/{NUMBER}/messages?before={}",
                encode(cursor)
            ),
        ] {
            let (status, _) = app.get(&path).await;
            assert_eq!(status, 400, "{path}");
        }
    }
    for sender in [
        "' OR '1'='1",
        "Bank' --",
        "%",
        "Bank%",
        "Bank' OR sender LIKE '%",
    ] {
        let path = format!("/api/v1/numbers/{NUMBER}/messages?from={}", encode(sender));
        let (status, json) = app.get(&path).await;
        assert_eq!(status, 200, "{path}");
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json["messages"].as_array().unwrap().len(), 0, "{path}");
    }
    // The filter works, and the table is whole.
    let (_, json) = app
        .get(&format!("/api/v1/numbers/{NUMBER}/messages?from=Bank"))
        .await;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["messages"].as_array().unwrap().len(), 3);
    assert_eq!(app.stored(NUMBER).await.len(), 3);
    app.stop().await;
}
both_modes!(cursors_and_sender_filters_are_data_not_sql);

async fn next_and_lang_never_lead_off_the_site(mode: Mode) {
    // The gate is off in tests: `/gate/wait` redirects to `next` at once.
    let app = TestApp::spawn(mode).await;
    let no_redirects = cloudsms_tests::no_redirects();
    let wait = |next: &str| {
        no_redirects
            .get(format!("{}/gate/wait?next={next}", app.gateway_url))
            .send()
    };
    let good = wait("%2Flatest%3Fx%3D1").await.unwrap();
    assert_eq!(good.status(), 303);
    assert_eq!(good.headers()["location"], "/latest?x=1");
    for next in [
        "%2F%2Fevil.example",
        "%2F%5Cevil.example",
        "%5C%5Cevil.example",
        "https%3A%2F%2Fevil.example",
        "%2F%09%2Fevil.example",
        "%2F%0D%0ALocation%3A%20https%3A%2F%2Fevil.example",
        "javascript%3Aalert(1)",
        "evil.example",
        "%2F%2F%2Fevil.example",
    ] {
        let r = wait(next).await.unwrap();
        assert_eq!(r.status(), 303, "{next}");
        let locations: Vec<_> = r.headers().get_all("location").iter().collect();
        assert_eq!(locations, ["/"], "{next}");
    }
    // The interstitial's script gets only a local path.
    let (_, page) = fetch(&app, "/gate?next=%2F%2Fevil.example").await;
    assert!(page.contains("data-next=\"/\""), "{page}");
    assert!(!page.contains("evil.example"));

    // `lang` switches language with a redirect to our own page in that
    // language, and is never a URL or a header.
    let r = no_redirects
        .get(format!("{}/latest?lang=zh-CN", app.gateway_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/zh-CN/latest");
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("cloudsms_lang=zh-CN;")
    );
    for lang in [
        "https%3A%2F%2Fevil.example",
        "%2F%2Fevil.example",
        "zh-CN%0D%0ASet-Cookie%3A%20pwned%3D1",
        "zh-CN%0D%0ALocation%3A%20https%3A%2F%2Fevil.example",
        "%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    ] {
        let r = no_redirects
            .get(format!("{}/latest?lang={lang}", app.gateway_url))
            .send()
            .await
            .unwrap();
        // A tag we read as Chinese switches to our Chinese page; anything
        // else is ignored.
        let location: Vec<_> = r.headers().get_all("location").iter().collect();
        match r.status().as_u16() {
            303 => assert_eq!(location, ["/zh-CN/latest"], "{lang}"),
            status => {
                assert_eq!(status, 200, "{lang}");
                assert!(location.is_empty(), "{lang}");
            }
        }
        // The cookie holds our own code for the language, never the input.
        for (name, value) in r.headers() {
            let value = value.to_str().unwrap();
            assert!(
                !value.contains("pwned") && !value.contains("evil"),
                "{lang}: {name}: {value}"
            );
            if name == "set-cookie" && value.starts_with("cloudsms_lang=") {
                assert!(
                    value.starts_with("cloudsms_lang=zh-CN; "),
                    "{lang}: {value}"
                );
            }
        }
        let redirected = r.status() == 303;
        let html = r.text().await.unwrap();
        assert!(
            redirected
                || html.contains("<html lang=\"en\">")
                || html.contains("<html lang=\"zh-CN\">"),
            "{lang}"
        );
        assert!(
            !html.contains("evil.example") && !html.contains("<script>alert"),
            "{lang}"
        );
    }
    // Language links stay on this site, even on a page asked for as `//host`.
    let (status, answer) = raw_get(&app.gateway_url, "//evil.example/?lang=zh-CN").await;
    assert_eq!(status, 404);
    assert!(answer.contains("hreflang=\"en\""), "{answer}");
    assert!(!answer.contains("href=\"//"), "{answer}");
    assert!(!answer.contains("evil.example"), "{answer}");
    app.stop().await;
}
both_modes!(next_and_lang_never_lead_off_the_site);
