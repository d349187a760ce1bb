//! Durable publishes retried within a budget: a stream that elects a new
//! leader (a JetStream node lost) acknowledges nothing for a few seconds,
//! and a caller that can wait that long (a webhook, whose provider would
//! otherwise retry or give up) should not fail meanwhile.

use std::time::Duration;

use tokio::time::Instant;

use crate::{Bus, BusError, Event, Published};

/// Pause after the first failed try; doubled after each, up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(50);
const MAX_PAUSE: Duration = Duration::from_millis(500);
/// The least time one try is given, however little of the budget is left.
const MIN_TRY: Duration = Duration::from_millis(500);

impl Bus {
    /// As [`Bus::publish`], tried again while the stream does not
    /// acknowledge (no leader, no responders, a timeout, a lost connection)
    /// until `budget` has passed, with a short back-off; then the last
    /// error. Every try carries the event's same dedupe id (`Nats-Msg-Id`),
    /// so a try whose acknowledgement was lost and the next one store it
    /// once (the second is answered `duplicate`). One try takes at most a
    /// third of the budget, so a try that hangs on a lost leader leaves
    /// time for one on the new one. A zero budget is one plain try.
    pub async fn publish_within<E: Event>(
        &self,
        event: &E,
        budget: Duration,
    ) -> Result<Published, BusError> {
        if budget.is_zero() {
            return self.publish(event).await;
        }
        let deadline = Instant::now() + budget;
        let per_try = (budget / 3).max(MIN_TRY);
        let mut pause = FIRST_PAUSE;
        let mut tries = 1u32;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let outcome =
                match tokio::time::timeout(per_try.min(left).max(MIN_TRY), self.publish(event))
                    .await
                {
                    Ok(outcome) => outcome,
                    Err(elapsed) => Err(BusError::PublishFailed(Box::new(elapsed))),
                };
            let err = match outcome {
                Ok(published) => {
                    if tries > 1 {
                        tracing::info!(
                            tries,
                            subject = E::subject_root(),
                            "publish acknowledged after retries"
                        );
                    }
                    return Ok(published);
                }
                // Turned down by the bus itself: no later try differs.
                Err(err @ BusError::Publish(_)) => return Err(err),
                Err(err) => err,
            };
            if Instant::now() + pause >= deadline {
                tracing::warn!(tries, error = %err, subject = E::subject_root(), "publish not acknowledged within its budget");
                return Err(err);
            }
            tracing::debug!(tries, error = %err, ?pause, "publish not acknowledged; retrying");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_PAUSE);
            tries += 1;
        }
    }
}
