//! Errors of the visitor pages, shown as small HTML pages.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::i18n::Tr;
use crate::pages::Layout;

/// Why a page could not be shown. Messages are catalogue keys.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Nothing at this address.
    #[error("{0}")]
    NotFound(&'static str),
    /// The request is malformed (a bad page link).
    #[error("{0}")]
    BadRequest(&'static str),
    /// The database is unreachable (the cause is logged, never shown).
    #[error("storage unavailable: {0}")]
    Unavailable(#[from] store::StoreError),
    /// A template failed to render.
    #[error("render failed: {0}")]
    Render(#[from] askama::Error),
}

impl PageError {
    /// Status, title key and detail key.
    pub fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            PageError::NotFound(detail) => (StatusCode::NOT_FOUND, "error.not_found", detail),
            PageError::BadRequest(detail) => (StatusCode::BAD_REQUEST, "error.bad_request", detail),
            PageError::Unavailable(_) | PageError::Render(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "error.unavailable",
                "error.try_again",
            ),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    t: Tr,
    layout: Layout,
    detail: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, detail) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self, "page failed");
        }
        // Errors carry no request: they speak the language the security
        // layer found for it.
        let t = crate::i18n::current();
        // Not indexed, and no canonical: an error is no page of its own.
        let layout =
            Layout::new(&t, "", "/", t.t(title).to_owned(), t.t(title).to_owned()).noindex();
        let body = ErrorPage {
            detail: t.t(detail),
            t,
            layout,
        }
        .render()
        .unwrap_or_else(|_| title.to_owned());
        (status, Html(body)).into_response()
    }
}
