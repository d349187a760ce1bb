//! Search engines and link previews: every page has a URL per language
//! (English at `/…`, Chinese under `/zh-CN/…`) that is its own canonical,
//! with `hreflang` alternates; `?lang=` is a switch that redirects; the
//! sitemap lists both URLs with alternates; icons and the Open Graph image
//! are served; the home page carries schema.org `WebSite` data; error pages
//! are `noindex` without a canonical.

use cloudsms_tests::{Mode, TestApp, both_modes, content_type, no_redirects, send};

const UK: &str = "+447700900123";
const UK2: &str = "+447700900124";
const US: &str = "+12025550177";

/// The value of the attribute that follows `prefix` (`<link rel="canonical" href="`).
fn after<'a>(html: &'a str, prefix: &str) -> Option<&'a str> {
    html.split(prefix)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
}

/// Every `href="/…"` and `action="/…"` of `html`.
fn local_links(html: &str) -> Vec<&str> {
    ["href=\"/", "action=\"/"]
        .iter()
        .flat_map(|attr| html.split(attr).skip(1))
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

/// The answer says it depends on the language cookie and `Accept-Language`
/// (compression adds its own `Vary: accept-encoding` everywhere).
fn varies_by_language(headers: &reqwest::header::HeaderMap) -> bool {
    let vary: Vec<&str> = headers
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let all = vary.join(", ");
    let language = all.contains("accept-language");
    assert_eq!(language, all.contains("cookie"), "{all}");
    language
}

/// The width and height of a PNG (its IHDR chunk).
fn png_size(png: &[u8]) -> (u32, u32) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    let word = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

async fn every_page_is_its_own_canonical_in_each_language(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    for number in [UK, UK2, US] {
        app.add_number(number).await;
    }
    app.accept_sms(UK, "Bank", "Your code is 123456", "seo-1")
        .await;
    app.wait_for_stored(UK, 1).await;
    let base = &app.gateway_url;
    let client = no_redirects();
    let pages = [
        "/".to_owned(),
        "/latest".to_owned(),
        "/countries/gb".to_owned(),
        format!("/numbers/{UK}"),
        "/privacy".to_owned(),
        "/my-data".to_owned(),
    ];
    for path in &pages {
        for (lang, root) in [("en", ""), ("zh-CN", "/zh-CN")] {
            let url = format!("{base}{root}{path}");
            let resp = client.get(&url).send().await.unwrap();
            assert_eq!(resp.status(), 200, "{url}");
            // One URL, one language: only `/` still negotiates.
            assert_eq!(
                varies_by_language(resp.headers()),
                path == "/" && lang == "en",
                "{url}"
            );
            let html = resp.text().await.unwrap();
            assert!(html.contains(&format!("<html lang=\"{lang}\">")), "{url}");
            assert_eq!(
                after(&html, "<link rel=\"canonical\" href=\""),
                Some(url.as_str())
            );
            assert_eq!(
                after(&html, "<meta property=\"og:url\" content=\""),
                Some(url.as_str())
            );
            let en = format!("{base}{path}");
            let zh = format!("{base}/zh-CN{path}");
            for (hreflang, href) in [("en", &en), ("zh-CN", &zh), ("x-default", &en)] {
                assert_eq!(
                    after(
                        &html,
                        &format!("<link rel=\"alternate\" hreflang=\"{hreflang}\" href=\"")
                    ),
                    Some(href.as_str()),
                    "{url} {hreflang}"
                );
            }
            let locale = if lang == "en" { "en_US" } else { "zh_CN" };
            assert!(
                html.contains(&format!(
                    "<meta property=\"og:locale\" content=\"{locale}\">"
                )),
                "{url}"
            );
            assert!(html.contains("<meta name=\"twitter:card\" content=\"summary_large_image\">"));
            assert!(!html.contains("name=\"robots\""), "{url} is indexable");
            let description = after(&html, "<meta name=\"description\" content=\"").unwrap();
            assert!(description.len() > 60, "{url}: {description}");
            // Links stay in the page's language; the switcher leads to the
            // other one; files, feeds and the API have one URL.
            for link in local_links(&html) {
                let neutral = link.starts_with("static/")
                    || link.starts_with("api/")
                    || link.starts_with("favicon.ico")
                    || link.starts_with("my-data/export")
                    || link.ends_with("/feed.atom");
                let switcher = link.ends_with("?lang=en") || link.ends_with("?lang=zh-CN");
                let chinese = link.starts_with("zh-CN/");
                assert!(
                    neutral || switcher || chinese == (lang == "zh-CN"),
                    "{url} links to /{link}"
                );
            }
            let other = if lang == "en" { "zh-CN" } else { "en" };
            let switch = if other == "en" {
                format!("{path}?lang=en")
            } else {
                format!("/zh-CN{path}?lang=zh-CN")
            };
            assert!(
                html.contains(&format!("href=\"{switch}\" hreflang=\"{other}\"")),
                "{url} switches to {switch}"
            );
        }
    }

    // Real descriptions, in both languages.
    let description = |path: &'static str| {
        let client = client.clone();
        let url = format!("{base}{path}");
        async move {
            let html = client.get(url).send().await.unwrap().text().await.unwrap();
            after(&html, "<meta name=\"description\" content=\"")
                .unwrap()
                .to_owned()
        }
    };
    let home = description("/").await;
    assert!(
        home.contains("3 free phone numbers in 2 countries"),
        "{home}"
    );
    let home = description("/zh-CN/").await;
    assert!(home.contains("2 个国家和地区的 3 个免费手机号码"), "{home}");
    let gb = description("/countries/gb").await;
    assert!(
        gb.contains("2 free United Kingdom numbers") && gb.contains("+44 7700 900123"),
        "{gb}"
    );
    let number = cloudsms_tests::unescape_html(&description("/zh-CN/numbers/+447700900123").await);
    assert!(
        number.contains("+44 7700 900123")
            && number.contains("英国")
            && number.contains("最近 1 条"),
        "{number}"
    );
    assert!(number.contains(&chrono::Utc::now().format("%Y-%m-%d").to_string()));

    // A paged or filtered view is canonical to the newest page.
    let html = client
        .get(format!("{base}/zh-CN/numbers/{UK}?from=Bank"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        after(&html, "<link rel=\"canonical\" href=\""),
        Some(format!("{base}/zh-CN/numbers/{UK}").as_str())
    );

    // The home page describes the site for search engines, as data.
    for (root, lang) in [("", "en"), ("/zh-CN", "zh-CN")] {
        let html = client
            .get(format!("{base}{root}/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let json = html
            .split("<script type=\"application/ld+json\">")
            .nth(1)
            .and_then(|rest| rest.split("</script>").next())
            .expect("JSON-LD on the home page");
        let data: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(data["@type"], "WebSite");
        assert_eq!(data["inLanguage"], lang);
        assert_eq!(data["url"], format!("{base}{root}/"));
        let action = &data["potentialAction"];
        assert_eq!(action["@type"], "SearchAction");
        assert_eq!(
            action["target"]["urlTemplate"],
            format!("{base}/search?q={{search_term_string}}")
        );
        assert_eq!(action["query-input"], "required name=search_term_string");
        // Data, not script: the CSP still allows no inline script.
        let csp =
            send(app.gateway_get(&format!("{root}/"))).await.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_owned();
        assert!(!csp.contains("unsafe-inline"), "{csp}");
    }
    app.stop().await;
}
both_modes!(every_page_is_its_own_canonical_in_each_language);

async fn lang_switches_redirect_and_negotiation_varies(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(UK).await;
    let base = &app.gateway_url;
    let client = no_redirects();
    let get = |path: String, headers: Vec<(&'static str, &'static str)>| {
        let mut request = client.get(format!("{base}{path}"));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move { request.send().await.unwrap() }
    };
    let location = |r: &reqwest::Response| {
        r.headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
    };

    // `?lang=` on a page: 303 to the page in that language, remembered.
    let r = get(format!("/numbers/{UK}?lang=zh-CN"), vec![]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        location(&r).as_deref(),
        Some(format!("/zh-CN/numbers/{UK}").as_str())
    );
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("cloudsms_lang=zh-CN;"), "{cookie}");
    let r = get(format!("/numbers/{UK}?from=Bank&lang=zh-CN"), vec![]).await;
    assert_eq!(
        location(&r).as_deref(),
        Some(format!("/zh-CN/numbers/{UK}?from=Bank").as_str())
    );
    let r = get("/zh-CN/latest?lang=en".into(), vec![]).await;
    assert_eq!(
        (r.status().as_u16(), location(&r).as_deref()),
        (303, Some("/latest"))
    );
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("cloudsms_lang=en;")
    );
    let r = get("/zh-CN/?lang=en".into(), vec![]).await;
    assert_eq!(location(&r).as_deref(), Some("/"));
    let r = get("/zh-CN".into(), vec![]).await;
    assert_eq!(
        (r.status().as_u16(), location(&r).as_deref()),
        (308, Some("/zh-CN/"))
    );

    // Following the switch ends on the Chinese page.
    let zh = cloudsms_tests::text(app.gateway_get("/latest?lang=zh-CN")).await;
    assert!(zh.contains("<html lang=\"zh-CN\">") && zh.contains("<h1>最新短信</h1>"));

    // A page's URL is its language, whatever the browser prefers.
    let r = get(
        "/latest".into(),
        vec![
            ("accept-language", "zh-CN"),
            ("cookie", "cloudsms_lang=zh-CN"),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(!varies_by_language(r.headers()));
    assert!(r.text().await.unwrap().contains("<html lang=\"en\">"));

    // `/` sends a visitor who prefers Chinese to `/zh-CN/`; crawlers get English.
    let r = get(
        "/".into(),
        vec![("accept-language", "zh-CN,zh;q=0.9,en;q=0.5")],
    )
    .await;
    assert_eq!(
        (r.status().as_u16(), location(&r).as_deref()),
        (302, Some("/zh-CN/"))
    );
    assert!(varies_by_language(r.headers()));
    let r = get("/".into(), vec![("cookie", "cloudsms_lang=zh-CN")]).await;
    assert_eq!(location(&r).as_deref(), Some("/zh-CN/"));
    for headers in [
        vec![],
        vec![("accept-language", "en-GB,en")],
        vec![("accept-language", "zh-CN"), ("cookie", "cloudsms_lang=en")],
    ] {
        let r = get("/".into(), headers.clone()).await;
        assert_eq!(r.status(), 200, "{headers:?}");
        assert!(varies_by_language(r.headers()));
        assert!(r.text().await.unwrap().contains("<html lang=\"en\">"));
    }

    // Error pages: not indexed, no canonical, no alternates; where the
    // path names no language, negotiated (and said so).
    for (path, lang, varies) in [
        ("/nowhere", "en", true),
        ("/zh-CN/nowhere", "zh-CN", true),
        ("/numbers/+12025550100", "en", false),
        ("/zh-CN/numbers/+12025550100", "zh-CN", false),
        ("/zh-CN/countries/xx", "zh-CN", false),
    ] {
        let r = get(path.into(), vec![]).await;
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(varies_by_language(r.headers()), varies, "{path}");
        let html = r.text().await.unwrap();
        assert!(html.contains(&format!("<html lang=\"{lang}\">")), "{path}");
        assert!(
            html.contains("<meta name=\"robots\" content=\"noindex\">"),
            "{path}"
        );
        assert!(!html.contains("rel=\"canonical\""), "{path}");
        assert!(!html.contains("rel=\"alternate\" hreflang"), "{path}");
        assert!(!html.contains("og:url"), "{path}");
    }
    app.stop().await;
}
both_modes!(lang_switches_redirect_and_negotiation_varies);

async fn the_sitemap_lists_both_languages_with_alternates(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    for number in [UK, US] {
        app.add_number(number).await;
    }
    let base = &app.gateway_url;
    let resp = send(app.gateway_get("/sitemap.xml")).await;
    assert!(content_type(resp.headers()).starts_with("application/xml"));
    let xml = resp.text().await.unwrap();
    // (loc, [(hreflang, href)]) of every <url>, read by an XML parser.
    let mut urls: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut in_loc = false;
    loop {
        match reader.read_event().expect("the sitemap is well-formed XML") {
            quick_xml::events::Event::Start(e) if e.name().as_ref() == b"url" => {
                urls.push((String::new(), Vec::new()));
            }
            quick_xml::events::Event::Start(e) if e.name().as_ref() == b"loc" => in_loc = true,
            quick_xml::events::Event::End(e) if e.name().as_ref() == b"loc" => in_loc = false,
            quick_xml::events::Event::Text(t) if in_loc => {
                urls.last_mut().unwrap().0 = String::from_utf8_lossy(&t).into_owned();
            }
            quick_xml::events::Event::Empty(e) if e.name().as_ref() == b"xhtml:link" => {
                let attr = |name: &[u8]| {
                    e.attributes()
                        .map(Result::unwrap)
                        .find(|a| a.key.as_ref() == name)
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                        .unwrap()
                };
                assert_eq!(attr(b"rel"), "alternate");
                urls.last_mut()
                    .unwrap()
                    .1
                    .push((attr(b"hreflang"), attr(b"href")));
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert!(xml.contains("xmlns:xhtml=\"http://www.w3.org/1999/xhtml\""));
    let paths = [
        "/".to_owned(),
        "/latest".to_owned(),
        "/privacy".to_owned(),
        "/faq".to_owned(),
        "/countries/gb".to_owned(),
        "/countries/us".to_owned(),
        format!("/numbers/{UK}"),
        format!("/numbers/{US}"),
    ];
    assert_eq!(urls.len(), paths.len() * 2, "{xml}");
    for path in &paths {
        let en = format!("{base}{path}");
        let zh = format!("{base}/zh-CN{path}");
        let alternates = vec![
            ("en".to_owned(), en.clone()),
            ("zh-CN".to_owned(), zh.clone()),
            ("x-default".to_owned(), en.clone()),
        ];
        for loc in [&en, &zh] {
            let url = urls
                .iter()
                .find(|(l, _)| l == loc)
                .unwrap_or_else(|| panic!("{loc} is not listed: {xml}"));
            assert_eq!(url.1, alternates, "{loc}");
        }
    }
    assert!(!xml.contains("my-data"), "private pages are not listed");
    let robots = cloudsms_tests::text(app.gateway_get("/robots.txt")).await;
    assert!(
        robots.contains("Disallow: /my-data\n") && robots.contains("Disallow: /zh-CN/my-data\n"),
        "{robots}"
    );
    app.stop().await;
}
both_modes!(the_sitemap_lists_both_languages_with_alternates);

async fn icons_and_the_preview_image_are_served(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let html = cloudsms_tests::text(app.gateway_get("/")).await;
    let favicon = send(app.gateway_get("/favicon.ico")).await;
    assert_eq!(favicon.status(), 200);
    assert_eq!(content_type(favicon.headers()), "image/x-icon");
    let etag = favicon.headers()["etag"].clone();
    let ico = favicon.bytes().await.unwrap();
    assert_eq!(&ico[..4], b"\0\0\x01\0", "an ICO file");
    let again = send(
        app.gateway_get("/favicon.ico")
            .header("if-none-match", etag),
    )
    .await;
    assert_eq!(again.status(), 304);

    let touch = send(app.gateway_get("/apple-touch-icon.png")).await;
    assert_eq!(touch.status(), 200);
    assert_eq!(content_type(touch.headers()), "image/png");
    assert_eq!(png_size(&touch.bytes().await.unwrap()), (180, 180));
    let linked = after(&html, "<link rel=\"apple-touch-icon\" href=\"").unwrap();
    let touch = send(app.gateway_get(linked)).await;
    assert_eq!(png_size(&touch.bytes().await.unwrap()), (180, 180));

    let svg = after(&html, "<link rel=\"icon\" href=\"/static/").unwrap();
    let svg = send(app.gateway_get(&format!("/static/{svg}"))).await;
    assert_eq!(content_type(svg.headers()), "image/svg+xml");

    let image = after(&html, "<meta property=\"og:image\" content=\"").unwrap();
    assert!(
        image.starts_with(&format!("{}/static/og-image.", app.gateway_url)),
        "{image}"
    );
    let image = send(app.client.get(image)).await;
    assert_eq!(image.status(), 200);
    assert_eq!(content_type(image.headers()), "image/png");
    assert!(
        image.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(png_size(&image.bytes().await.unwrap()), (1200, 630));
    app.stop().await;
}
both_modes!(icons_and_the_preview_image_are_served);
