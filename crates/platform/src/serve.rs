//! Binding listeners and serving a router: connection limits, timeouts and
//! graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Binds `addr` with a message that names it.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
}

/// Runs `task` on the runtime's worker threads and waits for it (a panic in
/// it becomes an error). A service's `run` is awaited by `#[tokio::main]`'s
/// `block_on`, on the main thread, which is not one of the workers: a busy
/// loop there, such as a bus consumer, wakes a worker thread for each message
/// it hands the NATS connection task (one write per ack), where on a worker
/// the connection task is queued locally and takes them all in one write.
pub async fn spawn<F>(task: F) -> anyhow::Result<()>
where
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    match tokio::spawn(task).await {
        Ok(result) => result,
        Err(err) => Err(anyhow::anyhow!("task failed: {err}")),
    }
}

/// Serves `router` until `shutdown`, then lets open requests finish for at
/// most `grace`, within `limits`: at most `max_connections` open (past it
/// new ones wait in the backlog) and `max_connections_per_address` per
/// client address (past it closed at once), and `max_concurrent_streams`
/// HTTP/2 requests at once per connection; request heads must arrive within
/// `header_read_timeout_secs` and fit `max_header_bytes` (`431`); a request
/// must be answered within `request_timeout_secs` of its head, body upload
/// included (`408`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &config::HttpSettings,
    shutdown: CancellationToken,
    grace: Duration,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioTimer};

    let addr = listener.local_addr()?;
    tracing::info!(%addr, "http listening");
    let router = router.layer(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        Duration::from_secs(limits.request_timeout_secs.get()),
    ));
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_read_timeout_secs.get()))
        .max_buf_size(limits.max_header_bytes);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(limits.max_concurrent_streams.get())
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.get()));
    let per_address = Arc::new(PerAddress::new(limits.max_connections_per_address));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = shutdown.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(%addr, error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let Some(address_slot) = per_address.enter(peer.ip()) else {
            tracing::debug!(%addr, "connection refused: too many from one address");
            continue;
        };
        let _ = stream.set_nodelay(true);
        spawn_connection(
            &builder,
            &graceful,
            stream,
            router.clone(),
            Some(peer),
            move || {
                drop(address_slot);
                drop(permit);
            },
        );
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(grace) => {
            tracing::warn!(%addr, ?grace, "grace period over; closing open connections");
        }
    }
    Ok(())
}

/// Serves one accepted connection with `router` on its own task, watched by
/// `graceful` (a graceful shutdown waits for it); its requests carry `peer`
/// as `ConnectInfo` when known. `closed` runs when the connection ends.
pub(crate) fn spawn_connection(
    builder: &hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    graceful: &hyper_util::server::graceful::GracefulShutdown,
    stream: tokio::net::TcpStream,
    router: Router,
    peer: Option<SocketAddr>,
    closed: impl FnOnce() + Send + 'static,
) {
    use tower::ServiceExt as _;
    let service = hyper::service::service_fn(
        move |mut request: axum::http::Request<hyper::body::Incoming>| {
            if let Some(peer) = peer {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
            }
            router.clone().oneshot(request.map(axum::body::Body::new))
        },
    );
    let connection = builder
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .into_owned();
    let connection = graceful.watch(connection);
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!(error = %err, "connection closed with an error");
        }
        closed();
    });
}

/// Open connections per client address.
struct PerAddress {
    limit: usize,
    open: parking_lot::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
}

/// One open connection of an address; counted until dropped.
struct AddressSlot {
    owner: Arc<PerAddress>,
    ip: std::net::IpAddr,
}

impl PerAddress {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            open: parking_lot::Mutex::default(),
        }
    }

    fn counts(
        &self,
    ) -> parking_lot::MutexGuard<'_, std::collections::HashMap<std::net::IpAddr, usize>> {
        self.open.lock()
    }

    /// A slot for one more connection from `ip`, unless it has `limit` open.
    fn enter(self: &Arc<Self>, ip: std::net::IpAddr) -> Option<AddressSlot> {
        if self.limit > 0 {
            let mut counts = self.counts();
            let open = counts.entry(ip).or_insert(0);
            if *open >= self.limit {
                return None;
            }
            *open += 1;
        }
        Some(AddressSlot {
            owner: self.clone(),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if self.owner.limit == 0 {
            return;
        }
        let mut counts = self.owner.counts();
        if let Some(open) = counts.get_mut(&self.ip) {
            *open -= 1;
            if *open == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}
