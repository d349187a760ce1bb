//! captcha-verification: ALTCHA-compatible proof-of-work challenges, single-use
//! tokens, and a reCAPTCHA/hCaptcha/Turnstile-compatible `/siteverify`, over
//! HTTP and gRPC (`cloudsms.captcha.v1.CaptchaService`). See `docs/captcha.md`.

pub mod grpc;
pub mod http;
pub mod pow;
pub mod service;
pub mod token;

use std::time::Duration;

use platform::{Infra, Readiness};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use service::Captcha;

/// The error codes of `/siteverify` and `/redeem` (reCAPTCHA's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No `secret`.
    MissingInputSecret,
    /// `secret` is not a configured site's.
    InvalidInputSecret,
    /// No `response` (token or payload).
    MissingInputResponse,
    /// The token or payload is malformed, forged, or for another site.
    InvalidInputResponse,
    /// Expired, or already used.
    TimeoutOrDuplicate,
    /// The request could not be read.
    BadRequest,
    /// The single-use store did not answer: refused, never let through.
    InternalError,
}

impl ErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingInputSecret => "missing-input-secret",
            Self::InvalidInputSecret => "invalid-input-secret",
            Self::MissingInputResponse => "missing-input-response",
            Self::InvalidInputResponse => "invalid-input-response",
            Self::TimeoutOrDuplicate => "timeout-or-duplicate",
            Self::BadRequest => "bad-request",
            Self::InternalError => "internal-error",
        }
    }
}

/// Listeners of the service, bound by the caller (tests bind port 0).
pub struct Listeners {
    /// Challenges, redemption, `/siteverify` and health.
    pub http: TcpListener,
    /// `CaptchaService`.
    pub grpc: TcpListener,
}

/// The HTTP router: `/challenge`, `/redeem`, `/siteverify` and health.
pub fn router(infra: &Infra<()>) -> axum::Router {
    router_with(infra, Captcha::new(infra))
}

/// The HTTP router over an existing [`Captcha`] (shared with gRPC).
pub fn router_with(infra: &Infra<()>, captcha: Captcha) -> axum::Router {
    http::routes(captcha).merge(platform::health_routes(Readiness::all(infra)))
}

/// The service as a process: binds its listeners, answers as a starting
/// service while the backends are connected (retried until they answer),
/// then serves until a stop signal, draining first for
/// `captcha.shutdown_delay_secs` (see [`platform::Lifecycle`]).
pub async fn run_process(settings: config::Settings) -> anyhow::Result<()> {
    let delay = Duration::from_secs(settings.captcha.shutdown_delay_secs);
    let listeners = Listeners {
        http: platform::bind(settings.captcha.listen).await?,
        grpc: platform::bind(settings.captcha.grpc_listen).await?,
    };
    platform::run_process::<(), _, _, _>(settings, delay, listeners, |l| &l.http, run).await
}

/// Serves HTTP and gRPC until `shutdown`.
pub async fn run(
    infra: Infra<()>,
    listeners: Listeners,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let grace = Duration::from_secs(infra.settings.captcha.shutdown_grace_secs);
    let captcha = Captcha::new(&infra);
    let events = captcha.events_flush();
    let http = platform::serve(
        listeners.http,
        router_with(&infra, captcha.clone()),
        &infra.settings.http,
        shutdown.clone(),
        grace,
    );
    let grpc = grpc::serve(captcha, listeners.grpc, shutdown.clone());
    let (http, grpc) = tokio::join!(http, grpc);
    // Every clone of the service is gone with its servers: the last batch
    // of events goes out now.
    events.wait(Duration::from_secs(5)).await;
    http?;
    grpc?;
    Ok(())
}
