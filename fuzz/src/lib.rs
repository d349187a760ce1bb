//! What the webhook fuzz targets share: message-ingest's real router on an
//! in-process bus and a throw-away SQLite database, every provider enabled
//! with a known secret, and the input format and status checks.
//!
//! A webhook target's input is text-ish bytes: the first line is the query
//! string of the webhook URL, the rest is the request body. The target signs
//! the request itself (correctly, then with a wrong key), so the fuzzer
//! explores the parsers behind the signature check, not the check alone.

use std::path::PathBuf;
use std::sync::OnceLock;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
use tower::ServiceExt as _;

/// `ingest.public_url`: the URL providers are told to call.
pub const PUBLIC_URL: &str = "https://sms.example.test";
/// The one registered number; the seeds send to it, so the fuzzer reaches
/// `accept` and the bus.
pub const NUMBER: &str = "+447700900461";
/// Secrets of the enabled providers.
pub const GENERIC_SECRET: &str = "fuzz-generic-secret";
pub const TWILIO_TOKEN: &str = "fuzz-twilio-token";
pub const VONAGE_SECRET: &str = "fuzz-vonage-secret";
pub const PLIVO_TOKEN: &str = "fuzz-plivo-token";
pub const SMS_GATEWAY_KEY: &str = "fuzz-sms-gateway-key";
pub const HTTPSMS_KEY: &str = "fuzz-httpsms-key";
pub const JASMIN_SECRET: &str = "fuzz-jasmin-secret";
pub const SMSFORWARDER_SECRET: &str = "fuzz-smsforwarder-secret";
pub const JASMIN_USER: &str = "jasmin";
pub const JASMIN_PASSWORD: &str = "fuzz-jasmin-password";
/// Seed of the Telnyx signing key (its public half is configured).
pub const TELNYX_SEED: [u8; 32] = [7; 32];
/// The key every "wrong key" request is signed with.
pub const WRONG: &str = "not-the-configured-secret";

/// message-ingest in process.
pub struct Ingest {
    runtime: tokio::runtime::Runtime,
    router: Router,
}

/// The Telnyx public key, base64, as the operator configures it.
pub fn telnyx_public_key() -> String {
    use base64::Engine as _;
    let key = ed25519_dalek::SigningKey::from_bytes(&TELNYX_SEED);
    base64::engine::general_purpose::STANDARD.encode(key.verifying_key().as_bytes())
}

fn settings(dir: &std::path::Path) -> config::Settings {
    let toml = format!(
        "data_dir = {dir:?}\n\
         [ingest]\npublic_url = \"{PUBLIC_URL}\"\n\
         [ingest.providers.generic]\nsecret = \"{GENERIC_SECRET}\"\n\
         [ingest.providers.twilio]\nauth_token = \"{TWILIO_TOKEN}\"\n\
         [ingest.providers.vonage]\nsignature_secret = \"{VONAGE_SECRET}\"\n\
         [ingest.providers.plivo]\nauth_token = \"{PLIVO_TOKEN}\"\n\
         [ingest.providers.telnyx]\npublic_key = \"{telnyx}\"\n\
         [ingest.providers.sms_gateway]\nsigning_key = \"{SMS_GATEWAY_KEY}\"\n\
         [ingest.providers.httpsms]\nsigning_key = \"{HTTPSMS_KEY}\"\n\
         [ingest.providers.jasmin]\nshared_secret = \"{JASMIN_SECRET}\"\n\
         username = \"{JASMIN_USER}\"\npassword = \"{JASMIN_PASSWORD}\"\n\
         [ingest.providers.smsforwarder]\nsecret = \"{SMSFORWARDER_SECRET}\"\n",
        dir = dir.display().to_string(),
        telnyx = telnyx_public_key(),
    );
    config::Settings::from_toml_overrides(&toml)
        .unwrap_or_else(|e| panic!("fuzz settings are invalid: {e}"))
}

impl Ingest {
    fn start() -> Self {
        // One process, one database: under `$TMPDIR`, which scripts/fuzz.sh
        // points at a directory it removes afterwards.
        let dir: PathBuf =
            std::env::temp_dir().join(format!("cloudsms-fuzz-{}", std::process::id()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
        let router = runtime.block_on(async {
            let infra: platform::Infra = platform::Infra::connect(settings(&dir))
                .await
                .unwrap_or_else(|e| panic!("in-process infrastructure: {e}"));
            let number =
                domain::E164::parse(NUMBER).unwrap_or_else(|e| panic!("fuzz number {NUMBER}: {e}"));
            infra
                .store
                .add_number(&number, "fuzz")
                .await
                .unwrap_or_else(|e| panic!("registering {NUMBER}: {e}"));
            message_ingest::router(&infra)
        });
        Self { runtime, router }
    }

    /// Sends `request` through the router; status and body of the answer.
    pub fn send(&self, request: Request<Body>) -> (StatusCode, Bytes) {
        self.runtime.block_on(async {
            let response = match self.router.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap_or_else(|e| panic!("reading the answer: {e}"));
            (status, body)
        })
    }
}

/// The process's message-ingest, started on first use.
pub fn ingest() -> &'static Ingest {
    static INGEST: OnceLock<Ingest> = OnceLock::new();
    INGEST.get_or_init(Ingest::start)
}

/// A webhook input: the query's parameters (first line) and the body (the rest).
pub struct Input<'a> {
    /// Decoded query parameters.
    pub query: Vec<(String, String)>,
    /// Raw body.
    pub body: &'a [u8],
}

impl<'a> Input<'a> {
    /// Splits `data` at its first newline.
    pub fn parse(data: &'a [u8]) -> Self {
        let (line, body) = match data.iter().position(|&b| b == b'\n') {
            Some(i) => (&data[..i], &data[i + 1..]),
            None => (data, &[][..]),
        };
        Self {
            query: form_urlencoded::parse(line).into_owned().collect(),
            body,
        }
    }

    /// True when the body looks like JSON (the targets then send it as JSON).
    pub fn is_json(&self) -> bool {
        matches!(self.body.trim_ascii_start().first(), Some(b'{' | b'['))
    }
}

/// `pairs` url-encoded (always a valid query or form body).
pub fn encode(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// `path` with `query` appended when there is one.
pub fn path_and_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// Current Unix seconds.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A correctly signed request is never answered with a server error or "no
/// such provider", and authentication passes (401 only where `may_401`
/// says the input itself spoils it).
pub fn check_signed(provider: &str, status: StatusCode, body: &[u8], may_401: bool) {
    let allowed = matches!(status.as_u16(), 200 | 202 | 204 | 400 | 413 | 422)
        || (may_401 && status == StatusCode::UNAUTHORIZED);
    assert!(
        allowed,
        "{provider}: correctly signed request answered {status}: {}",
        String::from_utf8_lossy(body)
    );
}

/// A request signed with the wrong key is never accepted, whatever it holds.
pub fn check_refused(provider: &str, status: StatusCode, body: &[u8]) {
    assert!(
        matches!(status.as_u16(), 400 | 401 | 403 | 413 | 415),
        "{provider}: request with a wrong signature answered {status}: {}",
        String::from_utf8_lossy(body)
    );
}

/// A POST request.
pub fn post(
    uri: &str,
    content_type: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Request<Body> {
    request("POST", uri, content_type, headers, body)
}

/// Any request; panics only on a header the harness itself made invalid.
pub fn request(
    method: &str,
    uri: &str,
    content_type: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if !content_type.is_empty() {
        builder = builder.header("content-type", content_type);
    }
    for (name, value) in headers {
        builder = builder.header(*name, value.as_str());
    }
    builder
        .body(Body::from(body))
        .unwrap_or_else(|e| panic!("harness built an invalid request to {uri}: {e}"))
}

/// Headers from `(name, value)` pairs; a value a header cannot carry (the
/// fuzzer's bytes) is left out, as a client could not send it.
pub fn header_map(pairs: &[(&'static str, String)]) -> HeaderMap {
    pairs
        .iter()
        .filter_map(|(name, value)| {
            Some((
                HeaderName::from_static(name),
                HeaderValue::from_str(value).ok()?,
            ))
        })
        .collect()
}
