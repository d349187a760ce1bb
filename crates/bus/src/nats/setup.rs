//! Stream and consumer set-up: created or updated by any replica of any
//! service at start, several at once, on one server or a cluster whose
//! meta leader may be changing.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, stream};

use super::{NatsTransport, consumer_error, stream_error};
use crate::{BusError, Cause};

impl NatsTransport {
    /// Creates stream `wanted.name`, or updates it where it differs from
    /// `wanted` in what we own (subjects, max age, duplicate window,
    /// replicas); its other settings (storage, limits an operator set) are
    /// kept. Any replica of any service runs this at start, several at
    /// once: a create that loses the race to another ("already in use")
    /// looks the stream up again, as does a request that found the cluster
    /// without a meta leader.
    pub(super) async fn ensure_stream(&self, wanted: stream::Config) -> Result<(), BusError> {
        let name = wanted.name.clone();
        let mut tries = 1;
        loop {
            let err: Cause = match self.js.get_stream(&name).await {
                Ok(handle) => {
                    let current = &handle.cached_info().config;
                    if !owned_differs(current, &wanted) {
                        return Ok(());
                    }
                    let mut updated = current.clone();
                    updated.subjects.clone_from(&wanted.subjects);
                    updated.max_age = wanted.max_age;
                    updated.duplicate_window = wanted.duplicate_window;
                    updated.num_replicas = wanted.num_replicas;
                    match self.js.update_stream(&updated).await {
                        Ok(_) => {
                            tracing::info!(
                                stream = %name,
                                replicas = updated.num_replicas,
                                max_age = ?updated.max_age,
                                duplicate_window = ?updated.duplicate_window,
                                "stream settings updated"
                            );
                            return Ok(());
                        }
                        Err(e) if retried(&e) => e.into(),
                        Err(e) => return Err(stream_error(&name, e)),
                    }
                }
                Err(e) if is_stream_not_found(&e) => {
                    match self.js.create_stream(wanted.clone()).await {
                        Ok(_) => return Ok(()),
                        Err(e) if retried(&e) => e.into(),
                        Err(e) => return Err(stream_error(&name, e)),
                    }
                }
                Err(e) if e.kind() == jetstream::context::GetStreamErrorKind::Request => e.into(),
                Err(e) => return Err(stream_error(&name, e)),
            };
            if tries >= SETUP_TRIES {
                return Err(BusError::ConsumeFailed {
                    what: format!("stream {name}"),
                    source: err,
                });
            }
            tracing::debug!(stream = %name, error = %err, "stream setup raced or was not answered; again");
            tokio::time::sleep(SETUP_PAUSE * tries).await;
            tries += 1;
        }
    }

    /// Creates durable consumer `config.durable_name` on `stream`, or
    /// updates it to `config` (create-or-update: the same call from every
    /// replica at once succeeds); a call the cluster did not answer, or
    /// that raced another, is made again.
    pub(super) async fn ensure_consumer(
        &self,
        stream: &stream::Stream,
        config: pull::Config,
    ) -> Result<jetstream::consumer::Consumer<pull::Config>, BusError> {
        let durable = config.durable_name.clone().unwrap_or_default();
        let mut tries = 1;
        loop {
            match stream.create_consumer(config.clone()).await {
                Ok(consumer) => return Ok(consumer),
                Err(e) if tries < SETUP_TRIES => {
                    tracing::debug!(consumer = %durable, error = %e, "consumer setup raced or was not answered; again");
                    tokio::time::sleep(SETUP_PAUSE * tries).await;
                    tries += 1;
                }
                Err(e) => return Err(consumer_error(&durable, e)),
            }
        }
    }
}

/// Tries of a stream's or consumer's setup, and the pause after the first
/// (growing linearly).
const SETUP_TRIES: u32 = 5;
const SETUP_PAUSE: Duration = Duration::from_millis(200);

/// True when `current` differs from `wanted` in what [`NatsTransport::ensure_stream`] keeps up to date.
fn owned_differs(current: &stream::Config, wanted: &stream::Config) -> bool {
    current.subjects != wanted.subjects
        || current.max_age != wanted.max_age
        || current.duplicate_window != wanted.duplicate_window
        || current.num_replicas != wanted.num_replicas
}

/// A stream lookup that found no such stream.
fn is_stream_not_found(err: &jetstream::context::GetStreamError) -> bool {
    matches!(
        err.kind(),
        jetstream::context::GetStreamErrorKind::JetStream(e)
            if e.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
    )
}

/// A stream create or update worth making again after a fresh lookup: it
/// lost a race to another replica's create of the same stream (the server
/// answers "stream name already in use" or, while the other create is
/// still being applied, "subjects overlap with an existing stream"), or
/// the cluster did not answer in time (a meta leader election). An overlap
/// with a different stream stays an overlap and fails after the last try.
fn retried(err: &jetstream::context::CreateStreamError) -> bool {
    use jetstream::context::CreateStreamErrorKind as Kind;
    match err.kind() {
        Kind::JetStream(e) => matches!(
            e.error_code(),
            jetstream::ErrorCode::STREAM_NAME_EXIST | jetstream::ErrorCode::STREAM_SUBJECT_OVERLAP
        ),
        Kind::TimedOut | Kind::JetStreamUnavailable | Kind::NotFound => true,
        _ => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn create_error(answer: &str) -> jetstream::context::CreateStreamError {
        let error: jetstream::Error = serde_json::from_str(answer).unwrap();
        jetstream::context::CreateStreamError::new(
            jetstream::context::CreateStreamErrorKind::JetStream(error),
        )
    }

    #[test]
    fn a_create_that_lost_the_race_is_looked_up_again() {
        // The answers nats-server gives the loser of two creates of one stream.
        for answer in [
            r#"{"code":400,"err_code":10058,"description":"stream name already in use with a different configuration"}"#,
            r#"{"code":400,"err_code":10065,"description":"subjects overlap with an existing stream"}"#,
        ] {
            assert!(retried(&create_error(answer)), "{answer}");
        }
    }

    #[test]
    fn a_refused_configuration_is_not_tried_again() {
        let answer = r#"{"code":400,"err_code":10052,"description":"replicas > 1 not supported in non-clustered mode"}"#;
        assert!(!retried(&create_error(answer)));
    }
}
