//! The life of a service process, so that pods start in any order and a
//! rolling update loses nothing:
//!
//! 1. **Starting.** The HTTP port answers at once — `/healthz` 200,
//!    `/readyz` and everything else 503 — while the database, cache and bus
//!    are connected, retried with backoff (1 s doubling to 30 s) for as long
//!    as it takes.
//! 2. **Serving.**
//! 3. **Draining**, at the first SIGTERM or SIGINT: `/readyz` answers 503 at
//!    once, and the service keeps serving for its `shutdown_delay_secs`, the
//!    time load balancers (an ingress, kube-proxy) take to stop sending to it.
//! 4. **Stopping**, after the delay (or at a second signal): listeners close,
//!    requests in flight finish within `shutdown_grace_secs`, consumers ack
//!    nothing unfinished.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use config::Settings;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{Infra, Storage};

/// Longest wait between two attempts to reach the backends.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where a process is in its life: draining (readiness off), stopping
/// (servers close). Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Lifecycle {
    draining: CancellationToken,
    stopping: CancellationToken,
}

impl Lifecycle {
    /// A lifecycle driven by the process's signals: draining at the first
    /// SIGTERM or SIGINT, stopping `delay` later, or at once on a second one.
    pub fn on_signal(delay: Duration) -> Self {
        let lifecycle = Self::default();
        let driven = lifecycle.clone();
        tokio::spawn(async move {
            stop_signal().await;
            tracing::info!(?delay, "stop signal received; draining");
            driven.draining.cancel();
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = stop_signal() => {}
            }
            tracing::info!("stopping: no new connections; finishing what is in flight");
            driven.stopping.cancel();
        });
        lifecycle
    }

    /// Cancelled once the process drains: readiness answers 503 from then.
    pub fn draining(&self) -> CancellationToken {
        self.draining.clone()
    }

    /// Cancelled once the process stops: servers close their listeners.
    pub fn stopping(&self) -> CancellationToken {
        self.stopping.clone()
    }

    /// Drains and stops now (tests, embedded tools).
    pub fn stop_now(&self) {
        self.draining.cancel();
        self.stopping.cancel();
    }
}

/// The next SIGTERM or SIGINT.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A service as a process: from the first stop signal it drains for
/// `shutdown_delay`; meanwhile `http` of its `listeners` answers as a
/// starting service until the backends of `S` are connected (retried until
/// they answer); then `run` serves with the infrastructure, the listeners and
/// the stopping signal.
pub async fn run_process<S, L, F, Fut>(
    settings: Settings,
    shutdown_delay: Duration,
    listeners: L,
    http: fn(&L) -> &TcpListener,
    run: F,
) -> anyhow::Result<()>
where
    S: Storage,
    F: FnOnce(Infra<S>, L, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let lifecycle = Lifecycle::on_signal(shutdown_delay);
    let Some(infra) = start::<S>(settings, &[http(&listeners)], &lifecycle).await else {
        return Ok(());
    };
    run(infra, listeners, lifecycle.stopping()).await
}

/// Connects the backends of `settings`, retrying with backoff until they
/// answer, while every listener of `answer_on` answers as a starting
/// service. `None` when the process was told to stop first. The returned
/// infrastructure's readiness follows `lifecycle` (503 once draining).
pub async fn start<S: Storage>(
    settings: Settings,
    answer_on: &[&TcpListener],
    lifecycle: &Lifecycle,
) -> Option<Infra<S>> {
    let answered = CancellationToken::new();
    let answering = answer_while_starting(answer_on, answered.clone());
    let connecting = async {
        let infra = connect_retrying(settings, lifecycle.stopping()).await;
        answered.cancel();
        infra
    };
    let (infra, ()) = tokio::join!(connecting, answering);
    let mut infra = infra?;
    infra.draining = lifecycle.draining();
    Some(infra)
}

/// [`Infra::connect`] until it succeeds (backoff 1 s doubling to
/// [`MAX_BACKOFF`]), or `None` once `stop` is cancelled.
async fn connect_retrying<S: Storage>(
    settings: Settings,
    stop: CancellationToken,
) -> Option<Infra<S>> {
    let mut wait = Duration::from_secs(1);
    loop {
        let attempt = tokio::select! {
            () = stop.cancelled() => return None,
            attempt = Infra::<S>::connect(settings.clone()) => attempt,
        };
        match attempt {
            Ok(infra) => return Some(infra),
            Err(err) => {
                tracing::warn!(error = %err, retry_in = ?wait, "backends not reachable yet; retrying");
            }
        }
        tokio::select! {
            () = stop.cancelled() => return None,
            () = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(MAX_BACKOFF);
    }
}

/// What a starting service answers: alive, not ready, nothing else yet.
/// Every answer closes its connection, so the next request reaches the
/// service proper.
fn starting_routes() -> Router {
    async fn not_yet() -> Response {
        let mut response = (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "starting" })),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        response
    }
    Router::new()
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({ "status": "ok" })) }),
        )
        .fallback(not_yet)
        .layer(axum::middleware::map_response(
            |mut response: Response| async {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                response
            },
        ))
}

/// Serves [`starting_routes`] on `listeners` until `done`, then lets the
/// connections it opened finish (at most 5 s).
async fn answer_while_starting(listeners: &[&TcpListener], done: CancellationToken) {
    use hyper_util::rt::TokioExecutor;

    let router = starting_routes();
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let accepting = listeners.iter().map(|listener| {
        let (router, builder, graceful, done) = (&router, &builder, &graceful, &done);
        async move {
            loop {
                let stream = tokio::select! {
                    () = done.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => stream,
                        Err(_) => {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                };
                crate::spawn_connection(builder, graceful, stream, router.clone(), None, || {});
            }
        }
    });
    futures::future::join_all(accepting).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_starting_service_is_alive_not_ready_and_closes_each_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let done = CancellationToken::new();
        let answering = tokio::spawn({
            let done = done.clone();
            async move { answer_while_starting(&[&listener], done).await }
        });
        let client = reqwest_like_get(addr, "/healthz").await;
        assert!(client.starts_with("HTTP/1.1 200"), "{client}");
        assert!(
            client.to_ascii_lowercase().contains("connection: close"),
            "{client}"
        );
        let ready = reqwest_like_get(addr, "/readyz").await;
        assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
        assert!(ready.contains("starting"), "{ready}");
        done.cancel();
        answering.await.unwrap();
    }

    /// One HTTP/1.1 GET over a raw connection: everything the server sent
    /// before closing.
    async fn reqwest_like_get(addr: std::net::SocketAddr, path: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(5), tcp.read_to_string(&mut answer))
            .await
            .expect("the server closes the connection")
            .unwrap();
        answer
    }

    #[tokio::test]
    async fn a_stop_while_starting_gives_up() {
        let mut settings = Settings::defaults().unwrap();
        // Nothing listens on port 1.
        settings.database.url = "postgres://nobody@127.0.0.1:1/none".into();
        let lifecycle = Lifecycle::default();
        lifecycle.stop_now();
        assert!(
            start::<store::Store>(settings, &[], &lifecycle)
                .await
                .is_none()
        );
    }
}
