//! Languages of the site. Every visible string lives in a catalogue
//! (`locales/<lang>.toml`); templates only name keys. The language comes from
//! `?lang=` (remembered in a cookie), else that cookie, else `Accept-Language`.

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

    /// Every language other than this one, for the switcher.
    pub fn others(&self) -> Vec<(&'static str, &'static str)> {
        Lang::ALL
            .into_iter()
            .filter(|l| *l != self.lang)
            .map(|l| (l.code(), Tr { lang: l }.t("lang.name")))
            .collect()
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

impl<S: Send + Sync> FromRequestParts<S> for Tr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Tr {
            lang: request_lang(parts.uri.query(), &parts.headers),
        })
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
