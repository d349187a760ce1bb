//! Explanations: `/faq` answers in both languages with the same questions
//! and answers as its schema.org `FAQPage` data; a number's page explains
//! how to use it, links to the FAQ and shows a QR code of its own address,
//! which a phone's camera opens (checked by rendering the SVG to pixels and
//! decoding them with a decoder of its own, not the encoder).

use cloudsms_tests::{Mode, TestApp, both_modes, content_type, send, unescape_html};

const NUMBER: &str = "+447700900461";

/// The JSON of the page's `application/ld+json` block.
fn json_ld(html: &str) -> serde_json::Value {
    let open = r#"<script type="application/ld+json">"#;
    let start = html.find(open).expect("a JSON-LD block") + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

async fn the_faq_answers_in_both_languages(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    for (lang, settings, questions) in [
        (
            "en",
            ["the newest 50", "after 183 days"],
            [
                "How does this site work?",
                "Why has my code not arrived, and what can I do?",
                "Which services refuse public numbers?",
                "How long are messages kept?",
            ],
        ),
        (
            "zh-CN",
            ["最新的 50 条", "在 183 天后删除"],
            [
                "本站是如何运作的？",
                "为什么收不到验证码？该怎么办？",
                "哪些服务拒绝公共号码？",
                "短信会保留多久？",
            ],
        ),
    ] {
        let root = if lang == "en" { "" } else { "/zh-CN" };
        let (status, html) = app.get(&format!("{root}/faq")).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains(&format!(r#"<html lang="{lang}">"#)), "{html}");
        let text = unescape_html(&html);
        for question in questions {
            assert!(text.contains(&format!("<h2>{question}</h2>")), "{question}");
        }
        let data = json_ld(&html);
        assert_eq!(data["@context"], "https://schema.org");
        assert_eq!(data["@type"], "FAQPage");
        assert_eq!(data["inLanguage"], lang);
        let entries = data["mainEntity"].as_array().unwrap();
        let shown = html.matches(r#"<section class="faq-item""#).count();
        assert!(shown >= 8, "{shown} questions");
        assert_eq!(entries.len(), shown, "every visible question, no other");
        for entry in entries {
            assert_eq!(entry["@type"], "Question");
            assert_eq!(entry["acceptedAnswer"]["@type"], "Answer");
            let question = entry["name"].as_str().unwrap();
            let answer = entry["acceptedAnswer"]["text"].as_str().unwrap();
            assert!(text.contains(&format!("<h2>{question}</h2>")), "{question}");
            assert!(text.contains(&format!("<p>{answer}</p>")), "{answer}");
        }
        // The answers state the real settings: the page size and the
        // server logs' retention (the privacy policy's six months).
        for setting in settings {
            assert!(text.contains(setting), "{setting}: {text}");
        }
        assert!(
            html.contains(&format!(r#"href="{root}/my-data""#))
                && html.contains(&format!(r#"href="{root}/privacy""#))
        );
    }
    // Listed for search engines, and linked from every page's footer.
    let (_, sitemap) = app.get("/sitemap.xml").await;
    assert!(
        sitemap.contains(&format!("<loc>{}/faq</loc>", app.gateway_url)),
        "{sitemap}"
    );
    let (_, home) = app.get("/").await;
    assert!(home.contains(r#"<a href="/faq">"#), "{home}");
    app.stop().await;
}
both_modes!(the_faq_answers_in_both_languages);

/// The text of the QR code drawn by `svg`, read back from its pixels.
fn decode_qr(svg: &str) -> String {
    use resvg::{tiny_skia, usvg};
    let tree = usvg::Tree::from_str(svg, &usvg::Options::default()).unwrap();
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    let (width, height) = (pixmap.width() as usize, pixmap.height() as usize);
    let pixels = pixmap.data();
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        pixels[(y * width + x) * 4]
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().unwrap().1
}

async fn the_number_page_explains_itself_and_opens_on_a_phone(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.add_number(NUMBER).await;
    let (status, html) = app.get(&format!("/numbers/{NUMBER}")).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"<details class="help""#), "{html}");
    assert!(html.contains("How to use this number"), "{html}");
    assert!(html.contains(r#"href="/faq""#) && html.contains(r#"href="/faq#no-code""#));
    let qr = format!("/numbers/{NUMBER}/qr.svg");
    assert!(
        html.contains(&format!(r#"<img src="{qr}""#)) && html.contains(r#"loading="lazy""#),
        "the QR code is an image loaded lazily, not inlined: {html}"
    );
    assert!(!html.contains("<svg"));
    let (_, zh) = app.get(&format!("/zh-CN/numbers/{NUMBER}")).await;
    assert!(
        zh.contains("如何使用这个号码") && zh.contains("在手机上打开"),
        "{zh}"
    );
    assert!(zh.contains(&format!(r#"<img src="/zh-CN{qr}""#)), "{zh}");

    // The code opens the page's absolute URL, built as its canonical link is.
    let page_url = format!("{}/numbers/{NUMBER}", app.gateway_url);
    assert!(html.contains(&format!(r#"<link rel="canonical" href="{page_url}">"#)));
    let response = send(app.gateway_get(&qr)).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(content_type(&headers), "image/svg+xml");
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    assert!(
        headers.get("set-cookie").is_none(),
        "an image sets no cookie"
    );
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let svg = response.text().await.unwrap();
    assert_eq!(decode_qr(&svg), page_url);

    // In Chinese it opens the Chinese page, and chooses no language for the visitor.
    let response = send(app.gateway_get(&format!("/zh-CN{qr}"))).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("set-cookie").is_none());
    let zh_etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(zh_etag, etag);
    assert_eq!(
        decode_qr(&response.text().await.unwrap()),
        format!("{}/zh-CN/numbers/{NUMBER}", app.gateway_url)
    );

    // Revalidation: the same code is not sent again.
    let response = send(app.gateway_get(&qr).header("if-none-match", &etag)).await;
    assert_eq!(response.status(), 304);
    assert_eq!(response.headers()["etag"].to_str().unwrap(), etag);
    assert!(response.text().await.unwrap().is_empty());
    let response = send(app.gateway_get(&qr).header("if-none-match", "\"other\"")).await;
    assert_eq!(response.status(), 200);

    // A number that is not on the site, or not a number: the page's 404.
    for number in ["+447700900999", "not-a-number"] {
        let (page_status, page) = app.get(&format!("/numbers/{number}")).await;
        let (status, body) = app.get(&format!("/numbers/{number}/qr.svg")).await;
        assert_eq!((page_status, status), (404, 404));
        assert_eq!(body, page, "the number page's 404");
    }
    app.stop().await;
}
both_modes!(the_number_page_explains_itself_and_opens_on_a_phone);
