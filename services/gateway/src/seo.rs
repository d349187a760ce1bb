//! What search engines and feed readers fetch: robots.txt, the sitemap
//! (every page in both languages, with `hreflang` alternates), each
//! number's Atom feed, and the home page's schema.org data.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::i18n::{Lang, Tr, localized};
use crate::pages::{base_url, recent, registered_number};
use crate::views::{MessageJson, received_at};
use crate::{AppState, PageError};

/// Escapes text for XML content and attributes.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 forbids are dropped, not passed on.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn with_type(body: String, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// `GET /robots.txt`: everything may be crawled but the live and API endpoints.
pub async fn robots(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = base_url(&state, &headers);
    with_type(
        format!(
            "User-agent: *\nAllow: /\nDisallow: /api/\nDisallow: /numbers/*/events\nDisallow: /latest/events\nDisallow: /my-data\nDisallow: /zh-CN/my-data\nDisallow: /gate\n\nSitemap: {base}/sitemap.xml\n"
        ),
        "text/plain; charset=utf-8",
    )
}

/// `GET /ads.txt`: the operator's authorised sellers, when configured.
pub async fn ads_txt(State(state): State<AppState>) -> Result<Response, PageError> {
    let body = &state.settings.gateway.ads.ads_txt;
    if body.trim().is_empty() {
        return Err(PageError::NotFound("error.no_page"));
    }
    Ok(with_type(
        format!("{}\n", body.trim_end()),
        "text/plain; charset=utf-8",
    ))
}

/// The language-neutral paths of the pages listed in the sitemap beside
/// the home page, the latest messages, countries and numbers.
const INFO_PAGES: &[&str] = &["/privacy", "/faq"];

/// `GET /sitemap.xml`: every indexable page in every language, each with
/// its `hreflang` alternates (`en`, `zh-CN`, `x-default`); service pages
/// of the services that sent codes in the last 24 hours.
pub async fn sitemap(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let base = base_url(&state, &headers);
    let numbers = state.store.numbers_overview().await?;
    let mut pages: Vec<(String, Option<String>)> =
        vec![("/".into(), None), ("/latest".into(), None)];
    pages.extend(INFO_PAGES.iter().map(|p| ((*p).to_owned(), None)));
    let mut countries: Vec<String> = numbers
        .iter()
        .map(|n| n.number.country.to_ascii_lowercase())
        .collect();
    countries.sort();
    countries.dedup();
    pages.extend(
        countries
            .into_iter()
            .map(|c| (format!("/countries/{c}"), None)),
    );
    let activity = state.activity.snapshot(&state.store).await;
    let mut services: Vec<String> = activity
        .numbers()
        .iter()
        .flat_map(|n| {
            n.services
                .iter()
                .map(|(name, _)| crate::activity::slug(name))
        })
        .filter(|slug| crate::activity::service_by_slug(slug).is_some())
        .collect();
    services.sort();
    services.dedup();
    pages.extend(
        services
            .into_iter()
            .map(|s| (format!("/services/{s}"), None)),
    );
    pages.extend(numbers.iter().map(|n| {
        (
            format!("/numbers/{}", n.number.e164),
            n.last_message_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        )
    }));
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" xmlns:xhtml=\"http://www.w3.org/1999/xhtml\">\n",
    );
    let url = |lang: Lang, path: &str| xml_escape(&format!("{base}{}", localized(lang, path)));
    for (path, lastmod) in &pages {
        let alternates: String = Lang::ALL
            .iter()
            .map(|l| (l.code(), *l))
            .chain([("x-default", Lang::En)])
            .map(|(code, l)| {
                format!(
                    "<xhtml:link rel=\"alternate\" hreflang=\"{code}\" href=\"{}\"/>",
                    url(l, path)
                )
            })
            .collect();
        for lang in Lang::ALL {
            xml.push_str(&format!("<url><loc>{}</loc>", url(lang, path)));
            if let Some(lastmod) = lastmod {
                xml.push_str(&format!("<lastmod>{lastmod}</lastmod>"));
            }
            xml.push_str(&alternates);
            xml.push_str("</url>\n");
        }
    }
    xml.push_str("</urlset>\n");
    Ok(with_type(xml, "application/xml; charset=utf-8"))
}

/// The home page's schema.org `WebSite`, with the `SearchAction` search
/// engines offer as a search box (`{base}/search?q=`).
pub fn website_json_ld(base: &str, t: &Tr) -> String {
    script_json(&serde_json::json!({
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": t.t("site.name"),
        "url": format!("{base}{}", localized(t.lang, "/")),
        "inLanguage": t.lang.code(),
        "description": t.t("home.h1"),
        "potentialAction": {
            "@type": "SearchAction",
            "target": {
                "@type": "EntryPoint",
                "urlTemplate": format!("{base}/search?q={{search_term_string}}"),
            },
            "query-input": "required name=search_term_string",
        },
    }))
}

/// JSON for a `<script type="application/ld+json">` data block: `<`, `>`
/// and `&` only occur inside JSON strings, where `\u003c` means the same,
/// so no value can close the element (`</script>`) or open a comment.
pub fn script_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// `GET /numbers/{e164}/feed.atom`: the number's newest messages as Atom.
pub async fn feed(
    State(state): State<AppState>,
    t: crate::i18n::Tr,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    let number = registered_number(&state, &raw).await?;
    let messages = recent(&state, number.as_str()).await?;
    let base = base_url(&state, &headers);
    let page = format!("{base}/numbers/{}", number.as_str());
    let updated = messages
        .first()
        .map_or_else(chrono::Utc::now, received_at)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{lang}\">\n\
         <title>{title}</title>\n<id>{page}</id>\n<link rel=\"alternate\" href=\"{page}\"/>\n\
         <link rel=\"self\" href=\"{page}/feed.atom\"/>\n<updated>{updated}</updated>\n\
         <author><name>cloudsms</name></author>\n",
        title = xml_escape(&t.f1("feed.title", "number", &number.written().international)),
        page = xml_escape(&page),
        lang = t.lang.code(),
    );
    for message in &messages {
        let json = MessageJson::from_event(message, &state.masking);
        xml.push_str(&format!(
            "<entry><id>{page}#m{id}</id><title>{title}</title><updated>{at}</updated>\
             <link rel=\"alternate\" href=\"{page}\"/><content type=\"text\">{body}</content></entry>\n",
            page = xml_escape(&page),
            id = json.id,
            title = xml_escape(&t.f1("feed.entry", "from", &json.from)),
            at = json.received_at,
            body = xml_escape(&json.body),
        ));
    }
    xml.push_str("</feed>\n");
    Ok(with_type(xml, "application/atom+xml; charset=utf-8"))
}

/// `GET /api/openapi.json`: the JSON API described for clients and checkers.
pub async fn openapi() -> Response {
    with_type(
        include_str!("../content/openapi.json").to_owned(),
        "application/json",
    )
}

#[cfg(test)]
mod tests {
    use super::{script_json, xml_escape};

    #[test]
    fn json_ld_cannot_close_its_script_element() {
        let value = serde_json::json!({"name": "</script><script>alert(1)</script> & <!--"});
        let json = script_json(&value);
        assert!(
            !json.contains('<') && !json.contains('>') && !json.contains('&'),
            "{json}"
        );
        let back: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, value);
    }

    #[test]
    fn xml_escape_covers_markup_and_control_characters() {
        assert_eq!(
            xml_escape("<a href=\"x\">&'</a>\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"
        );
    }
}
