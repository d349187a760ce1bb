//! Sending a test's HTTP requests and reading their answers: a request that
//! cannot be sent, or an answer that cannot be read, fails the test at once.

use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, Response};

use crate::TestApp;

/// Sends `request`; panics when it cannot be sent.
pub async fn send(request: RequestBuilder) -> Response {
    request.send().await.unwrap()
}

/// Sends `request` and reads its answer as text (any status).
pub async fn text(request: RequestBuilder) -> String {
    send(request).await.text().await.unwrap()
}

/// Sends `request` and reads its answer as JSON (any status).
pub async fn json<T: serde::de::DeserializeOwned>(request: RequestBuilder) -> T {
    send(request).await.json().await.unwrap()
}

/// The `Content-Type` in `headers`; panics when there is none.
pub fn content_type(headers: &HeaderMap) -> &str {
    headers["content-type"].to_str().unwrap()
}

/// The value of the cookie a `Set-Cookie` header sets (`name=value; …`).
pub fn cookie_value(set_cookie: &str) -> &str {
    set_cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split('=').nth(1))
        .unwrap()
}

impl TestApp {
    /// A `GET` of the gateway's `path`, to send with [`send`], [`text`] or [`json`].
    pub fn gateway_get(&self, path: &str) -> RequestBuilder {
        self.client.get(format!("{}{path}", self.gateway_url))
    }

    /// A `GET` of the gateway's `path` by the visitor `visitor` (its id in
    /// the visitor cookie).
    pub fn visitor_get(&self, path: &str, visitor: &str) -> RequestBuilder {
        self.gateway_get(path)
            .header("cookie", format!("{}={visitor}", gateway::VISITOR_COOKIE))
    }
}

/// A client that shows redirects instead of following them.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The token in the hidden `csrf` field of the form on `html`.
pub fn csrf_token(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form with a CSRF token")
        .to_owned()
}

/// The CSRF token of an operator console page's own forms (the header's
/// logout form has its own, for another purpose).
pub fn console_csrf_token(html: &str) -> String {
    let main = html.find("<main").expect("a console page with <main>");
    csrf_token(&html[main..])
}

/// The name of the first `/static/` file `html` links with `href` (its
/// stylesheet).
pub fn linked_asset(html: &str) -> String {
    html.split("href=\"/static/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a link to a /static/ file")
        .to_owned()
}

/// Asserts `resp` has `status` and returns the `error` text of its JSON
/// body (the message-ingest and API error shape).
pub async fn error_of(resp: Response, status: u16) -> String {
    assert_eq!(resp.status(), status);
    let body: serde_json::Value = resp.json().await.unwrap();
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error text in {body}"))
        .to_owned()
}
