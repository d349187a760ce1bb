//! What search engines and feed readers fetch: robots.txt, the sitemap and
//! each number's Atom feed.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

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
            "User-agent: *\nAllow: /\nDisallow: /api/\nDisallow: /numbers/*/events\nDisallow: /latest/events\nDisallow: /my-data\nDisallow: /gate\n\nSitemap: {base}/sitemap.xml\n"
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

/// `GET /sitemap.xml`: home, latest, the FAQ, every country and number page.
pub async fn sitemap(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let base = base_url(&state, &headers);
    let numbers = state.store.numbers_overview().await?;
    let mut urls = vec![
        (format!("{base}/"), None),
        (format!("{base}/latest"), None),
        (format!("{base}/faq"), None),
    ];
    let mut countries: Vec<String> = numbers
        .iter()
        .map(|n| n.number.country.to_ascii_lowercase())
        .collect();
    countries.sort();
    countries.dedup();
    urls.extend(
        countries
            .into_iter()
            .map(|c| (format!("{base}/countries/{c}"), None)),
    );
    urls.extend(numbers.iter().map(|n| {
        (
            format!("{base}/numbers/{}", n.number.e164),
            n.last_message_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        )
    }));
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for (loc, lastmod) in urls {
        xml.push_str(&format!("<url><loc>{}</loc>", xml_escape(&loc)));
        if let Some(lastmod) = lastmod {
            xml.push_str(&format!("<lastmod>{lastmod}</lastmod>"));
        }
        xml.push_str("</url>\n");
    }
    xml.push_str("</urlset>\n");
    Ok(with_type(xml, "application/xml; charset=utf-8"))
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
        let json = MessageJson::from_event(message);
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
    use super::xml_escape;

    #[test]
    fn xml_escape_covers_markup_and_control_characters() {
        assert_eq!(
            xml_escape("<a href=\"x\">&'</a>\u{1}"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;"
        );
    }
}
