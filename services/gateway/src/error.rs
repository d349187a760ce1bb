//! Errors of the visitor pages, shown as small HTML pages.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Why a page could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// Nothing at this address.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed (a bad page link).
    #[error("{0}")]
    BadRequest(String),
    /// The database is unreachable.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// A template failed to render.
    #[error("render failed: {0}")]
    Render(#[from] askama::Error),
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: crate::pages::Layout,
    title: &'a str,
    detail: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, detail) = match &self {
            PageError::NotFound(detail) => {
                (StatusCode::NOT_FOUND, "Page not found", detail.as_str())
            }
            PageError::BadRequest(detail) => {
                (StatusCode::BAD_REQUEST, "Bad request", detail.as_str())
            }
            PageError::Unavailable(_) | PageError::Render(_) => {
                tracing::error!(error = %self, "page failed");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "We could not load this page. Please try again in a moment.",
                )
            }
        };
        let body = ErrorPage {
            layout: crate::pages::Layout::default(),
            title,
            detail,
        }
        .render()
        .unwrap_or_else(|_| title.to_owned());
        (status, Html(body)).into_response()
    }
}
