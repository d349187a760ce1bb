//! HTTP endpoints: `GET /challenge` (the widget's `challengeurl`),
//! `POST /redeem` (solution → token) and `POST /siteverify` (the site's
//! backend checks a token, reCAPTCHA/hCaptcha/Turnstile style).

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::ErrorCode;
use crate::service::{Captcha, Requester};

/// Largest accepted request body.
const MAX_BODY: usize = 16 * 1024;

/// The captcha routes (without health).
pub fn routes(captcha: Captcha) -> Router {
    let public = Router::new()
        .route("/challenge", get(challenge))
        .route("/redeem", post(redeem))
        .layer(axum::middleware::from_fn(cors));
    Router::new()
        .merge(public)
        .route("/siteverify", post(siteverify))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(captcha)
}

/// The widget runs on the site's pages, another origin: allow any origin
/// (nothing here uses cookies or credentials).
async fn cors(request: Request, next: Next) -> Response {
    let mut response = if request.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    response
}

fn client(connect: Option<Extension<ConnectInfo<SocketAddr>>>) -> Requester {
    Requester {
        ip: connect.map(|Extension(ConnectInfo(addr))| addr.ip()),
        visitor_id: String::new(),
    }
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn codes_json(codes: &[ErrorCode]) -> Vec<&'static str> {
    codes.iter().map(|c| c.as_str()).collect()
}

async fn challenge(
    State(captcha): State<Captcha>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let site_key = query.get("sitekey").map_or("", String::as_str);
    let action = query.get("action").map_or("", String::as_str);
    match captcha.issue(site_key, action, &client(connect)).await {
        Ok(challenge) => no_store(Json(challenge).into_response()),
        Err(code) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error-codes": [code.as_str()] })),
        )
            .into_response(),
    }
}

/// The fields of a JSON object or form body (strings only, each once).
fn fields(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, ErrorCode> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    let mut out = HashMap::new();
    if is_json {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(body).map_err(|_| ErrorCode::BadRequest)?;
        for (key, value) in object {
            match value {
                serde_json::Value::String(s) => {
                    out.insert(key, s);
                }
                serde_json::Value::Null => {}
                _ => return Err(ErrorCode::BadRequest),
            }
        }
    } else {
        for (key, value) in form_urlencoded::parse(body) {
            if out.insert(key.into_owned(), value.into_owned()).is_some() {
                return Err(ErrorCode::BadRequest);
            }
        }
    }
    Ok(out)
}

fn field<'a>(fields: &'a HashMap<String, String>, names: &[&str]) -> &'a str {
    names
        .iter()
        .find_map(|n| fields.get(*n))
        .map_or("", |v| v.trim())
}

/// The host of the `Origin` header (the page the widget ran on), lower case
/// and without the port (IPv6 without brackets); empty without one, with
/// `Origin: null` or anything but a bare origin
/// (`platform::security::Origin`). A browser sets this header itself and a
/// page's script cannot change it, so it is the hostname a solution is bound
/// to; the request body never names it.
fn origin_host(headers: &HeaderMap) -> String {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| platform::security::Origin::parse(v.trim()))
        .map(|origin| origin.authority.host)
        .unwrap_or_default()
}

async fn redeem(
    State(captcha): State<Captcha>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = match fields(&headers, &body) {
        Ok(f) => {
            // `altcha` is the widget's form field name.
            let payload = field(&f, &["payload", "altcha", "response"]);
            // From the browser, never from the body (a `hostname` field is
            // ignored): a site's `hostnames` must hold against a page elsewhere
            // that relays solutions.
            let hostname = origin_host(&headers);
            captcha
                .redeem(
                    payload,
                    field(&f, &["sitekey"]),
                    &hostname,
                    field(&f, &["action"]),
                    &client(connect),
                )
                .await
        }
        Err(code) => Err(code),
    };
    let response = match result {
        Ok(token) => Json(json!({ "ok": true, "token": token })).into_response(),
        Err(code) => {
            let status = match code {
                ErrorCode::InternalError => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            (
                status,
                Json(json!({ "ok": false, "error-codes": [code.as_str()] })),
            )
                .into_response()
        }
    };
    no_store(response)
}

async fn siteverify(State(captcha): State<Captcha>, headers: HeaderMap, body: Bytes) -> Response {
    let result = match fields(&headers, &body) {
        Ok(f) => {
            let requester = Requester {
                ip: field(&f, &["remoteip"]).parse().ok(),
                visitor_id: String::new(),
            };
            captcha
                .verify(
                    field(&f, &["secret"]),
                    field(&f, &["response"]),
                    field(&f, &["idempotency_key"]),
                    &requester,
                )
                .await
        }
        Err(code) => Err(vec![code]),
    };
    // Like reCAPTCHA, the answer is always 200; `success` says it all.
    let body = match result {
        Ok(v) => {
            let ts = chrono::DateTime::from_timestamp(
                i64::try_from(v.claims.issued).unwrap_or_default(),
                0,
            )
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            json!({
                "success": true,
                "challenge_ts": ts,
                "hostname": v.claims.hostname,
                "action": v.claims.action,
                "score": 1.0,
                "error-codes": [],
            })
        }
        Err(codes) => json!({ "success": false, "error-codes": codes_json(&codes) }),
    };
    no_store(Json(body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_of(origin: &str) -> String {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(origin) {
            headers.insert(header::ORIGIN, value);
        }
        origin_host(&headers)
    }

    #[test]
    fn the_origin_gives_a_bare_lower_case_host() {
        assert_eq!(host_of("https://example.org"), "example.org");
        assert_eq!(host_of("HTTPS://Example.ORG:8443"), "example.org");
        assert_eq!(host_of("http://127.0.0.1:8082"), "127.0.0.1");
        assert_eq!(host_of("http://[::1]:8082"), "::1");
        assert_eq!(host_of("null"), "");
        assert_eq!(host_of("example.org"), "");
        assert_eq!(host_of("https://"), "");
        assert_eq!(host_of("https://example.org/page"), "");
        assert_eq!(host_of("https://user@example.org"), "");
        assert_eq!(origin_host(&HeaderMap::new()), "");
    }
}
