//! What can go wrong on the bus, and why a handler did not finish a message.

/// The error a NATS client or server call gave, kept as the cause.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What can go wrong on the bus.
///
/// A failure of NATS keeps its error as the [`source`](std::error::Error::source);
/// a request the bus itself turns down carries only its message.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The server at `url` (credentials redacted) could not be reached or
    /// refused the connection.
    #[error("bus connection failed: {url}: {source}")]
    Connect {
        /// The server's address, without credentials.
        url: String,
        /// Why.
        #[source]
        source: Cause,
    },
    /// The bus turned the message down (no stream takes its subject, a dead
    /// letter that may not be replayed).
    #[error("bus publish failed: {0}")]
    Publish(String),
    /// The stream did not acknowledge in time, or the server refused the
    /// message.
    #[error("bus publish failed: {0}")]
    PublishFailed(#[source] Cause),
    /// The bus has no such stream or consumer, or cannot serve the request.
    #[error("bus consumer failed: {0}")]
    Consume(String),
    /// The server could not create or read `what` (a stream, a consumer, a
    /// subscription).
    #[error("bus consumer failed: {what}: {source}")]
    ConsumeFailed {
        /// What was being created or read, e.g. `stream SMS`.
        what: String,
        /// Why.
        #[source]
        source: Cause,
    },
    /// An ack or nak could not be sent.
    #[error("bus acknowledgement failed: {0}")]
    Ack(#[source] Cause),
}

/// Why a handler did not finish a message.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Worth retrying (a dependency was down).
    #[error("transient: {0}")]
    Transient(String),
    /// Will never succeed: dead-letter it at once.
    #[error("permanent: {0}")]
    Permanent(String),
}
