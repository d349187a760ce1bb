//! `make bench`: the floor of the services' HTTP stack, what any page or
//! webhook served on it costs at least. It serves HTTP through what every
//! cloudsms service serves it with (`platform::serve`: hyper's HTTP/1.1 and
//! HTTP/2 connection handling with the configured limits and timeouts, an
//! axum `Router`; mimalloc, tokio's multi-threaded runtime) and does only
//! one of two things, measured with the same `wrk` as the real service:
//!
//! - pages (`BENCH_STATIC_FILE`): answers every request with the bytes of
//!   that file, from memory: no routing of the site, no cookie, no request
//!   log;
//! - webhooks (`BENCH_STATIC_NATS`, a NATS URL): publishes each request's
//!   body to a file-backed JetStream stream made for the run with a
//!   `Nats-Msg-Id` of its own (the deduplication message-ingest asks for; a
//!   new id per request, so a webhook `wrk` posts again is stored again, as
//!   a new one would be), and answers `202` after the ack: no form parsing,
//!   no signature check, no number lookup, no event encoding. The stream is
//!   deleted on `SIGTERM`/`SIGINT`.
//!
//! Environment: one of the two above, `BENCH_STATIC_LISTEN` (the address,
//! required); the HTTP limits are the shipped `[http]` defaults.

use std::time::Duration;

use anyhow::Context;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::IntoResponse;
use bytes::Bytes;
use cloudsms_tests::drive::{bench_stream, required};

platform::mimalloc!();

fn main() -> anyhow::Result<()> {
    let listen: std::net::SocketAddr = required("BENCH_STATIC_LISTEN")?
        .parse()
        .context("BENCH_STATIC_LISTEN: not an address")?;
    let limits = config::Settings::load(None)?.http;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let shutdown = tokio_util::sync::CancellationToken::new();
            let (router, stream) = match std::env::var("BENCH_STATIC_NATS") {
                Ok(url) => {
                    let (router, stream) = publisher(&url).await?;
                    (router, Some(stream))
                }
                Err(_) => (file_server()?, None),
            };
            let listener = platform::bind(listen).await?;
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
                stop.cancel();
                anyhow::Ok(())
            });
            platform::serve(listener, router, &limits, shutdown, Duration::ZERO).await?;
            if let Some((js, name)) = stream {
                js.delete_stream(&name).await?;
            }
            Ok(())
        })
}

/// Every request answered with `BENCH_STATIC_FILE`'s bytes.
fn file_server() -> anyhow::Result<axum::Router> {
    let file = required("BENCH_STATIC_FILE")?;
    let body = Bytes::from(std::fs::read(&file).with_context(|| format!("reading {file}"))?);
    Ok(axum::Router::new().fallback(move || {
        let body = body.clone();
        async move {
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                )],
                body,
            )
                .into_response()
        }
    }))
}

/// Every request's body published (deduplicated) to a stream made for the
/// run, answered `202` after the ack; the stream, to delete at the end.
async fn publisher(
    url: &str,
) -> anyhow::Result<(axum::Router, (async_nats::jetstream::Context, String))> {
    let (js, name, subject) = bench_stream(url).await?;
    let publisher = js.clone();
    let router = axum::Router::new().fallback(move |method: Method, body: Bytes| {
        let js = publisher.clone();
        let subject = subject.clone();
        async move {
            if method != Method::POST {
                return StatusCode::METHOD_NOT_ALLOWED.into_response();
            }
            let mut msg_headers = async_nats::HeaderMap::new();
            msg_headers.insert(
                "Nats-Msg-Id",
                uuid::Uuid::now_v7().hyphenated().to_string().as_str(),
            );
            match js.publish_with_headers(subject, msg_headers, body).await {
                Ok(ack) => match ack.await {
                    Ok(_) => StatusCode::ACCEPTED.into_response(),
                    Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
                },
                Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
            }
        }
    });
    Ok((router, (js, name)))
}
