//! Languages of the site. Every visible string lives in a catalogue
//! (`locales/<lang>.toml`); templates only name keys. The language comes from
//! page's path: English at `/…`, Chinese under `/zh-CN/…` (the page routes
//! are mounted once per language, see `crate::routes::Routes::nest`).
//! `?lang=` on a page is a switch: the site layer answers it with a redirect
//! to the page in that language and remembers the choice in a cookie. Where
//! no path says (`/`, the gate, feeds, error pages of unknown paths) the
//! language is negotiated: `?lang=`, else that cookie, else
//! `Accept-Language`, and the answer carries `Vary: Accept-Language, Cookie`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::LazyLock;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use crate::security::cookie;

/// Name of the cookie that remembers a chosen language.
pub const LANG_COOKIE: &str = "cloudsms_lang";

/// A language the site speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English (the fallback).
    En,
    /// Simplified Chinese.
    ZhCn,
}

impl Lang {
    /// Every language, in the order the switcher lists them.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::ZhCn];

    /// BCP 47 tag.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    /// The path prefix of this language's pages: `""` for English,
    /// `"/zh-CN"` for Chinese (`layout.root` in the templates).
    pub fn root(self) -> &'static str {
        match self {
            Lang::En => "",
            Lang::ZhCn => "/zh-CN",
        }
    }

    /// Open Graph's locale (`og:locale`).
    pub fn og_locale(self) -> &'static str {
        match self {
            Lang::En => "en_US",
            Lang::ZhCn => "zh_CN",
        }
    }

    /// The language a path's prefix names (`/zh-CN`, `/zh-CN/…`), if any.
    pub fn of_path(path: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| {
            !l.root().is_empty()
                && path
                    .strip_prefix(l.root())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }

    /// Parses a tag as used in `?lang=`, cookies and `Accept-Language`.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let tag = tag.trim().to_ascii_lowercase();
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        match primary {
            "en" => Some(Lang::En),
            // Traditional-script tags fall back to Simplified rather than English.
            "zh" => Some(Lang::ZhCn),
            _ => None,
        }
    }

    /// Best match for an `Accept-Language` header, by quality.
    pub fn negotiate(accept_language: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in accept_language.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or_default();
            let quality = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::from_tag(tag)
                && best.is_none_or(|(q, _)| quality > q)
            {
                best = Some((quality, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }

    fn catalogue(self) -> &'static HashMap<String, String> {
        match self {
            Lang::En => &EN,
            Lang::ZhCn => &ZH_CN,
        }
    }
}

fn load(source: &str) -> HashMap<String, String> {
    // The catalogues are compiled in and checked by tests; a broken one is a
    // build defect, shown as keys rather than a crash.
    toml::from_str(source).unwrap_or_default()
}

static COUNTRIES_ZH_CN: LazyLock<HashMap<String, String>> =
    LazyLock::new(|| load(include_str!("../locales/countries.zh-CN.toml")));

tokio::task_local! {
    /// The language of the request being handled (set by the site layer, `security::Visit`),
    /// for responses built without the request at hand (error pages).
    pub static REQUEST_LANG: Lang;
}

/// Translations for the request being handled; English outside a request.
pub fn current() -> Tr {
    Tr {
        lang: REQUEST_LANG.try_with(|lang| *lang).unwrap_or(Lang::En),
    }
}

static EN: LazyLock<HashMap<String, String>> =
    LazyLock::new(|| load(include_str!("../locales/en.toml")));
static ZH_CN: LazyLock<HashMap<String, String>> =
    LazyLock::new(|| load(include_str!("../locales/zh-CN.toml")));

/// Translations for one request.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    /// The request's language.
    pub lang: Lang,
}

impl Tr {
    /// The text of `key`, falling back to English, then to the key itself.
    pub fn t<'a>(&self, key: &'a str) -> &'a str
    where
        'static: 'a,
    {
        self.lang
            .catalogue()
            .get(key)
            .or_else(|| EN.get(key))
            .map_or(key, String::as_str)
    }

    /// `key` with `{name}` replaced by `value`.
    pub fn f1(&self, key: &str, name: &str, value: &dyn std::fmt::Display) -> String {
        self.t(key)
            .replace(&format!("{{{name}}}"), &value.to_string())
    }

    /// `key` with two substitutions.
    pub fn f2(
        &self,
        key: &str,
        name1: &str,
        value1: &dyn std::fmt::Display,
        name2: &str,
        value2: &dyn std::fmt::Display,
    ) -> String {
        self.t(key)
            .replace(&format!("{{{name1}}}"), &value1.to_string())
            .replace(&format!("{{{name2}}}"), &value2.to_string())
    }

    /// `key` with every `{name}` of `values` replaced.
    pub fn fv(&self, key: &str, values: &[(&str, &dyn std::fmt::Display)]) -> String {
        values
            .iter()
            .fold(self.t(key).to_owned(), |text, (name, value)| {
                text.replace(&format!("{{{name}}}"), &value.to_string())
            })
    }

    /// "3 min ago" in this language (the page script, `static/app.js`,
    /// counts the same way with the `data-age-*` formats of `base.html`).
    pub fn age(
        &self,
        then: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> String {
        let secs = now.signed_duration_since(then).num_seconds().max(0);
        match secs {
            0..10 => self.t("age.just_now").to_owned(),
            10..60 => self.f1("age.seconds", "n", &secs),
            60..3600 => self.f1("age.minutes", "n", &(secs / 60)),
            3600..86_400 => self.f1("age.hours", "n", &(secs / 3600)),
            86_400..172_800 => self.t("age.day").to_owned(),
            _ => self.f1("age.days", "n", &(secs / 86_400)),
        }
    }

    /// A country's name in this language (`english` when there is none).
    pub fn country(&self, country: &domain::Country) -> String {
        match self.lang {
            Lang::En => country.name.to_owned(),
            Lang::ZhCn => COUNTRIES_ZH_CN
                .get(country.iso2)
                .cloned()
                .unwrap_or_else(|| country.name.to_owned()),
        }
    }

    /// Every language other than this one, for the switcher: its code,
    /// name and the language-neutral `path` in it, with `?lang=` so the
    /// choice is remembered (the site layer redirects to the clean URL).
    pub fn others(&self, path: &str) -> Vec<Switch> {
        Lang::ALL
            .into_iter()
            .filter(|l| *l != self.lang)
            .map(|l| Switch {
                code: l.code(),
                name: Tr { lang: l }.t("lang.name"),
                href: format!("{}?lang={}", localized(l, path), l.code()),
            })
            .collect()
    }
}

/// A link of the language switcher.
#[derive(Debug, Clone)]
pub struct Switch {
    /// BCP 47 tag (`hreflang`, `lang`).
    pub code: &'static str,
    /// The language's own name.
    pub name: &'static str,
    /// The same page in that language.
    pub href: String,
}

/// The language-neutral `path` (`/`, `/numbers/+44…`) in `lang`: `/zh-CN/`,
/// `/zh-CN/numbers/+44…`.
pub fn localized(lang: Lang, path: &str) -> String {
    format!("{}{path}", lang.root())
}

/// The language-neutral path of a page path and its language:
/// `/zh-CN/latest` is `(ZhCn, "/latest")`, `/zh-CN` is `(ZhCn, "/")`.
pub fn split_path(path: &str) -> (Lang, &str) {
    match Lang::of_path(path) {
        Some(lang) => {
            let rest = &path[lang.root().len()..];
            (lang, if rest.is_empty() { "/" } else { rest })
        }
        None => (Lang::En, path),
    }
}

/// The `lang` query parameter, when it names a language we speak.
pub fn query_lang(query: Option<&str>) -> Option<Lang> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Lang::from_tag(&v))
}

/// The language of a request.
pub fn request_lang(query: Option<&str>, headers: &HeaderMap) -> Lang {
    query_lang(query)
        .or_else(|| cookie(headers, LANG_COOKIE).and_then(|c| Lang::from_tag(&c)))
        .unwrap_or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .map_or(Lang::En, Lang::negotiate)
        })
}

/// Negotiation where no path names the language (`/`, the gate, feeds,
/// unknown paths): the path's prefix when it has one, else as
/// [`request_lang`].
pub fn negotiated_lang(path: &str, query: Option<&str>, headers: &HeaderMap) -> Lang {
    Lang::of_path(path).unwrap_or_else(|| request_lang(query, headers))
}

impl<S: Send + Sync> FromRequestParts<S> for Tr {
    type Rejection = Infallible;

    /// The language the site layer chose (the page's path, else
    /// negotiation), kept in the request's extensions.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let lang = parts.extensions.get::<Lang>().copied().unwrap_or_else(|| {
            negotiated_lang(parts.uri.path(), parts.uri.query(), &parts.headers)
        });
        Ok(Tr { lang })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_has_every_english_key_and_the_same_placeholders() {
        assert!(EN.len() > 40, "the English catalogue parsed");
        for lang in Lang::ALL {
            let catalogue = lang.catalogue();
            for (key, english) in EN.iter() {
                let text = catalogue
                    .get(key)
                    .unwrap_or_else(|| panic!("{} lacks {key}", lang.code()));
                for placeholder in english.split('{').skip(1).filter_map(|p| p.split_once('}')) {
                    assert!(
                        text.contains(&format!("{{{}}}", placeholder.0)),
                        "{} {key} lacks {{{}}}",
                        lang.code(),
                        placeholder.0
                    );
                }
            }
            assert_eq!(
                catalogue.len(),
                EN.len(),
                "{} has keys English lacks",
                lang.code()
            );
        }
    }

    #[test]
    fn every_country_has_a_chinese_name() {
        for country in domain::all_countries() {
            let name = Tr { lang: Lang::ZhCn }.country(country);
            assert!(
                name.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{} has no Chinese name",
                country.iso2
            );
        }
        assert_eq!(COUNTRIES_ZH_CN.len(), domain::all_countries().len());
    }

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(Lang::negotiate("zh-CN,zh;q=0.9,en;q=0.8"), Lang::ZhCn);
        assert_eq!(Lang::negotiate("fr-FR,en;q=0.5,zh;q=0.4"), Lang::En);
        assert_eq!(Lang::negotiate("de-DE"), Lang::En);
        assert_eq!(Lang::negotiate("en;q=0.3, zh-TW;q=0.7"), Lang::ZhCn);
        assert_eq!(Lang::negotiate(""), Lang::En);
    }

    #[test]
    fn query_beats_cookie_beats_header() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, "zh-CN".parse().unwrap());
        assert_eq!(request_lang(None, &headers), Lang::ZhCn);
        headers.insert(header::COOKIE, format!("{LANG_COOKIE}=en").parse().unwrap());
        assert_eq!(request_lang(None, &headers), Lang::En);
        assert_eq!(request_lang(Some("lang=zh-CN"), &headers), Lang::ZhCn);
        assert_eq!(request_lang(Some("lang=xx"), &headers), Lang::En);
    }

    #[test]
    fn paths_name_their_language() {
        assert_eq!(split_path("/zh-CN/latest"), (Lang::ZhCn, "/latest"));
        assert_eq!(split_path("/zh-CN/"), (Lang::ZhCn, "/"));
        assert_eq!(split_path("/zh-CN"), (Lang::ZhCn, "/"));
        assert_eq!(split_path("/zh-CNx"), (Lang::En, "/zh-CNx"));
        assert_eq!(split_path("/numbers/+1"), (Lang::En, "/numbers/+1"));
        assert_eq!(localized(Lang::ZhCn, "/"), "/zh-CN/");
        assert_eq!(localized(Lang::En, "/privacy"), "/privacy");
        let zh = Tr { lang: Lang::ZhCn }.others("/latest");
        assert_eq!(zh[0].href, "/latest?lang=en");
    }

    #[test]
    fn ages_read_naturally_in_both_languages() {
        let now = chrono::Utc::now();
        let en = Tr { lang: Lang::En };
        let zh = Tr { lang: Lang::ZhCn };
        assert_eq!(en.age(now, now), "just now");
        assert_eq!(en.age(now - chrono::Duration::seconds(42), now), "42 s ago");
        assert_eq!(zh.age(now - chrono::Duration::seconds(42), now), "42 秒前");
        assert_eq!(
            en.age(now - chrono::Duration::seconds(185), now),
            "3 min ago"
        );
        assert_eq!(en.age(now - chrono::Duration::hours(2), now), "2 h ago");
        assert_eq!(en.age(now - chrono::Duration::days(1), now), "1 day ago");
        assert_eq!(en.age(now - chrono::Duration::days(5), now), "5 days ago");
        assert_eq!(
            zh.age(now - chrono::Duration::seconds(185), now),
            "3 分钟前"
        );
        assert_eq!(en.age(now + chrono::Duration::seconds(30), now), "just now");
        assert_eq!(en.age(now - chrono::Duration::seconds(9), now), "just now");
    }
}
