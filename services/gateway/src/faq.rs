//! `/faq`: questions visitors ask (how the site works, how to use a number,
//! why a code does not come, what is kept), in the visitor's language, with
//! the same questions and answers as schema.org `FAQPage` structured data.
//! Answers that state a setting (page size, offline threshold, message
//! and log retention, ads) read it from the configuration, so they stay true.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Html;

use crate::i18n::Tr;
use crate::pages::{Layout, base_url};
use crate::{AppState, PageError};

/// One question and its answer, as the page shows them.
pub struct Entry {
    /// The fragment that links to it (`/faq#no-code`).
    pub id: &'static str,
    pub question: String,
    pub answer: String,
    /// Pages the answer points to: (path, label).
    pub links: Vec<(&'static str, String)>,
}

/// The questions, in the order the page lists them; the answers filled
/// with the settings they state.
pub fn entries(t: &Tr, settings: &config::Settings) -> Vec<Entry> {
    let entry = |id, key: &str, answer: String| Entry {
        id,
        question: t.t(&format!("faq.q.{key}")).to_owned(),
        answer,
        links: Vec::new(),
    };
    let offline_hours = settings.gateway.offline_after_secs.div_ceil(3600).max(1);
    let privacy_key = if settings.gateway.ads.enabled {
        "faq.a.privacy_ads"
    } else {
        "faq.a.privacy"
    };
    let mut privacy = entry(
        "privacy",
        "privacy",
        t.f1(privacy_key, "days", &settings.retention.retention_days),
    );
    privacy.links = vec![
        ("/privacy", t.t("footer.privacy").to_owned()),
        ("/my-data", t.t("footer.my_data").to_owned()),
    ];
    vec![
        entry("how", "how", t.t("faq.a.how").to_owned()),
        entry("use", "use", t.t("faq.a.use").to_owned()),
        entry(
            "no-code",
            "no_code",
            t.f1("faq.a.no_code", "hours", &offline_hours),
        ),
        entry("refused", "refused", t.t("faq.a.refused").to_owned()),
        entry("public", "public", t.t("faq.a.public").to_owned()),
        entry(
            "kept",
            "kept",
            t.fv(
                "faq.a.kept",
                &[
                    ("count", &settings.gateway.page_size),
                    ("days", &settings.messages.keep_days),
                ],
            ),
        ),
        entry("numbers", "numbers", t.t("faq.a.numbers").to_owned()),
        privacy,
    ]
}

/// schema.org `FAQPage` of `entries` as JSON for a
/// `<script type="application/ld+json">` data block: every `<` is written
/// `\u003c`, so no question or answer can close the element (or open a
/// comment) whatever it holds.
pub fn json_ld(entries: &[Entry], lang: &str) -> String {
    let questions: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "@type": "Question",
                "name": e.question,
                "acceptedAnswer": { "@type": "Answer", "text": e.answer },
            })
        })
        .collect();
    crate::seo::script_json(&serde_json::json!({
        "@context": "https://schema.org",
        "@type": "FAQPage",
        "inLanguage": lang,
        "mainEntity": questions,
    }))
}

#[derive(Template)]
#[template(path = "faq.html")]
struct FaqPage {
    t: Tr,
    layout: Layout,
    entries: Vec<Entry>,
}

/// `GET /faq`: the questions and answers in the visitor's language.
pub async fn page(
    State(state): State<AppState>,
    t: Tr,
    headers: HeaderMap,
) -> Result<Html<String>, PageError> {
    let entries = entries(&t, &state.settings);
    let mut layout = Layout::new(
        &t,
        &base_url(&state, &headers),
        "/faq",
        t.t("faq.title").to_owned(),
        t.t("faq.description").to_owned(),
    );
    layout.json_ld = Some(json_ld(&entries, t.lang.code()));
    Ok(Html(FaqPage { t, layout, entries }.render()?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    fn settings() -> config::Settings {
        config::Settings::from_toml_layers(&[]).unwrap()
    }

    #[test]
    fn no_answer_can_close_the_script_element() {
        let entries = vec![Entry {
            id: "x",
            question: "</script><script>alert(1)</script>".into(),
            answer: "<!-- & -->".into(),
            links: Vec::new(),
        }];
        let json = json_ld(&entries, "en");
        assert!(!json.contains('<') && !json.contains('>'), "{json}");
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            parsed["mainEntity"][0]["name"],
            "</script><script>alert(1)</script>"
        );
        assert_eq!(
            parsed["mainEntity"][0]["acceptedAnswer"]["text"],
            "<!-- & -->"
        );
    }

    #[test]
    fn answers_state_the_settings_in_both_languages() {
        let mut settings = settings();
        settings.gateway.page_size = 37;
        settings.retention.retention_days = std::num::NonZeroU32::new(99).unwrap();
        settings.messages.keep_days = std::num::NonZeroU32::new(23).unwrap();
        for lang in Lang::ALL {
            let entries = entries(&Tr { lang }, &settings);
            let all: String = entries.iter().map(|e| e.answer.as_str()).collect();
            assert!(all.contains("37") && all.contains("99"), "{all}");
            let kept = entries.iter().find(|e| e.id == "kept").unwrap();
            assert!(kept.answer.contains("23"), "{}", kept.answer);
            let policy = crate::pages::policy(lang, &settings);
            assert!(policy.contains(" 23 ") && !policy.contains('{'), "{policy}");
            assert!(!all.contains('{'), "a placeholder is left: {all}");
            assert!(entries.iter().all(|e| !e.question.starts_with("faq.")));
        }
    }
}
