//! The frame every visitor page shares (`templates/base.html`): assets,
//! language and its links, title, and what search engines and link
//! previews read in the head (canonical, `hreflang` alternates, Open Graph,
//! icons, schema.org data; see docs/seo.md).

use axum::http::HeaderMap;

use crate::i18n::Tr;
use crate::{AppState, assets};

/// What every page's frame needs: assets, language, title, links and what
/// search engines and link previews read in the head.
pub struct Layout {
    pub(crate) css: String,
    pub(crate) js: String,
    pub(crate) title: String,
    pub(crate) description: String,
    /// The page's own URL in its language (`rel=canonical`, `og:url`);
    /// none on pages that must not be indexed (errors, the gate).
    pub(crate) canonical: Option<String>,
    /// `hreflang` alternates: `en`, `zh-CN` and `x-default` (English).
    pub(crate) alternates: Vec<(&'static str, String)>,
    /// The prefix of every internal page link: `""` for English,
    /// `"/zh-CN"` for Chinese (`{{ layout.root }}/latest`).
    pub(crate) root: &'static str,
    /// The language-neutral path (`/`, `/numbers/+44…`).
    pub(crate) path: String,
    pub(crate) others: Vec<crate::i18n::Switch>,
    pub(crate) ad: Option<String>,
    /// `<meta name="robots">`, on pages that must not be indexed.
    pub(crate) robots: Option<&'static str>,
    pub(crate) og_locale: &'static str,
    pub(crate) og_image: String,
    pub(crate) icon_svg: String,
    pub(crate) touch_icon: String,
    /// schema.org data as JSON, `<` escaped (`crate::seo::json_ld`).
    pub(crate) json_ld: Option<String>,
}

impl Layout {
    /// A frame for the language-neutral `path` in the request's language,
    /// absolute links from `base`.
    pub fn new(t: &Tr, base: &str, path: &str, title: String, description: String) -> Self {
        use crate::i18n::{Lang, localized};
        let url = |lang: Lang| format!("{base}{}", localized(lang, path));
        Self {
            css: assets::url("site.css"),
            js: assets::url("app.js"),
            title,
            description,
            canonical: Some(url(t.lang)),
            alternates: vec![
                ("en", url(Lang::En)),
                ("zh-CN", url(Lang::ZhCn)),
                ("x-default", url(Lang::En)),
            ],
            root: t.lang.root(),
            path: path.to_owned(),
            others: t.others(path),
            ad: None,
            robots: None,
            og_locale: t.lang.og_locale(),
            og_image: format!("{base}{}", assets::url("og-image.png")),
            icon_svg: assets::url("favicon.svg"),
            touch_icon: assets::url("apple-touch-icon.png"),
            json_ld: None,
        }
    }

    /// A page search engines must not index (errors, the gate): `noindex`,
    /// no canonical, no alternates.
    #[must_use]
    pub fn noindex(mut self) -> Self {
        self.canonical = None;
        self.alternates.clear();
        self.robots = Some("noindex");
        self
    }

    /// A page with one URL for every language (the gate): the switcher
    /// asks for the language with `?lang=` on the same URL.
    #[must_use]
    pub fn negotiated(mut self) -> Self {
        for other in &mut self.others {
            other.href = format!("{}?lang={}", self.path, other.code);
        }
        self
    }

    /// Adds the operator's ad unit when advertising is on.
    pub fn with_ads(mut self, state: &AppState) -> Self {
        let ads = &state.settings.gateway.ads;
        if ads.enabled && !ads.slot_html.trim().is_empty() {
            self.ad = Some(ads.slot_html.clone());
        }
        self
    }
}

/// The site's absolute base URL: `gateway.public_url`, else from the request.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let configured = state.settings.gateway.public_url.trim_end_matches('/');
    if !configured.is_empty() {
        return configured.to_owned();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let scheme = header("x-forwarded-proto").unwrap_or("http");
    let host = header("x-forwarded-host")
        .or_else(|| header("host"))
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}
