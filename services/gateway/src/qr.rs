//! "Open on your phone": a number page's absolute URL as a QR code, drawn
//! by the gateway as SVG (no external service), for a visitor who found a
//! number on a desktop and signs up on a phone.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use qrcode::QrCode;
use qrcode::render::svg;
use sha2::{Digest, Sha256};

use crate::i18n::{Lang, Tr, localized};
use crate::pages::{base_url, registered_number};
use crate::{AppState, PageError};

/// How long browsers and caches may keep a QR code: its URL names the
/// number (and the language), and it changes only with the site's base
/// URL, which the `ETag` catches on revalidation.
const CACHE_CONTROL: &str = "public, max-age=604800";

/// The URL a number's QR code encodes: its page's absolute URL, built from
/// the base URL as the page's canonical link is, in `lang`.
pub fn page_url(base: &str, e164: &str, lang: Lang) -> String {
    format!("{base}{}", localized(lang, &format!("/numbers/{e164}")))
}

/// `text` as a QR code in SVG: dark modules on a white square with the
/// quiet zone, so it scans on a dark page too.
pub fn svg_of(text: &str) -> Result<String, qrcode::types::QrError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .quiet_zone(true)
        .build())
}

/// `GET /numbers/{e164}/qr.svg` (and `/zh-CN/numbers/{e164}/qr.svg`):
/// the number page's URL in the route's language as a QR code; the
/// number page's 404 for a number that is not registered and active; `304` when the client holds it already (`If-None-Match`).
pub async fn number_qr(
    State(state): State<AppState>,
    t: Tr,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    let number = registered_number(&state, &raw).await?;
    let url = page_url(&base_url(&state, &headers), number.as_str(), t.lang);
    let body = match svg_of(&url) {
        Ok(body) => body,
        Err(err) => {
            // Only a URL longer than a QR code holds (thousands of bytes).
            tracing::error!(error = %err, "QR code not drawn");
            return Ok(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
    };
    let etag = format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(body.as_bytes()))[..32]
    );
    let Ok(etag) = HeaderValue::from_str(&etag) else {
        return Ok(StatusCode::INTERNAL_SERVER_ERROR.into_response());
    };
    Ok(crate::assets::revalidated(
        &headers,
        &etag,
        "image/svg+xml",
        CACHE_CONTROL,
        body.into_response(),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_url_is_the_pages_in_the_asked_language() {
        assert_eq!(
            page_url("https://sms.example", "+447700900461", Lang::En),
            "https://sms.example/numbers/+447700900461"
        );
        assert_eq!(
            page_url("https://sms.example", "+447700900461", Lang::ZhCn),
            "https://sms.example/zh-CN/numbers/+447700900461"
        );
    }

    #[test]
    fn the_svg_is_a_light_square_with_dark_modules() {
        let svg = svg_of("https://sms.example/numbers/+447700900461").unwrap();
        assert!(svg.contains("<svg") && svg.contains(r##"fill="#fff""##));
        assert!(svg.contains(r##"fill="#000""##));
        assert!(
            !svg.contains("sms.example"),
            "the URL is drawn, not written"
        );
    }
}
