//! Waiting for something to happen: [`wait_until`] polls a condition until it
//! holds or a timeout passes, then panics naming what never happened and what
//! the last poll saw, so tests never write their own `sleep` loop.
//!
//! ```ignore
//! let rows = wait_until(
//!     format!("{number} to have 2 messages"),
//!     Duration::from_secs(20),
//!     async || {
//!         let rows = app.stored(number).await;
//!         if rows.len() >= 2 { Ok(rows) } else { Err(format!("{} messages", rows.len())) }
//!     },
//! )
//! .await;
//! ```

use std::fmt::Display;
use std::time::{Duration, Instant};

/// How long [`wait_until`] sleeps between two polls.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// What one poll found: done (with a value), or not yet (with, perhaps, what
/// it saw instead, which the panic shows when the time is up).
pub trait Outcome {
    /// What the wait returns once it is over.
    type Ready;

    /// `Ok` when the wait is over; otherwise what was seen, if worth showing.
    ///
    /// # Errors
    /// Not yet: what this poll saw, if anything.
    fn ready(self) -> Result<Self::Ready, Option<String>>;
}

/// `true` when the condition holds.
impl Outcome for bool {
    type Ready = ();

    fn ready(self) -> Result<(), Option<String>> {
        if self { Ok(()) } else { Err(None) }
    }
}

/// `Some(value)` when it happened.
impl<T> Outcome for Option<T> {
    type Ready = T;

    fn ready(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

/// `Ok(value)` when it happened, `Err(what was seen instead)` until then.
impl<T, E: Display> Outcome for Result<T, E> {
    type Ready = T;

    fn ready(self) -> Result<T, Option<String>> {
        self.map_err(|seen| Some(seen.to_string()))
    }
}

/// Polls `poll` every [`POLL_INTERVAL`] until it reports done, and returns
/// its value. Polls at least once; panics when `timeout` has passed since the
/// start, with `what` (what should have happened) and the last poll's report.
pub async fn wait_until<O: Outcome>(
    what: impl Display,
    timeout: Duration,
    mut poll: impl AsyncFnMut() -> O,
) -> O::Ready {
    let deadline = Deadline::new(timeout);
    loop {
        match poll().await.ready() {
            Ok(ready) => return ready,
            Err(seen) => deadline.check(&what, seen),
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// [`wait_until`] for harness code that reports instead of panicking (the
/// cluster harness, the chaos runs): the same polls, an error naming `what`
/// and the last poll's report when `timeout` has passed.
///
/// # Errors
/// `timeout` passed without the poll reporting done.
pub async fn poll_until<O: Outcome>(
    what: impl Display,
    timeout: Duration,
    mut poll: impl AsyncFnMut() -> O,
) -> anyhow::Result<O::Ready> {
    let started = Instant::now();
    loop {
        match poll().await.ready() {
            Ok(ready) => return Ok(ready),
            Err(seen) if started.elapsed() > timeout => {
                let seen = seen
                    .map(|s| format!(" (last seen: {s})"))
                    .unwrap_or_default();
                anyhow::bail!("{what}: not within {timeout:?}{seen}");
            }
            Err(_) => {}
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// [`wait_until`] for code that cannot await (it blocks the thread between
/// polls).
pub fn wait_until_blocking<O: Outcome>(
    what: impl Display,
    timeout: Duration,
    mut poll: impl FnMut() -> O,
) -> O::Ready {
    let deadline = Deadline::new(timeout);
    loop {
        match poll().ready() {
            Ok(ready) => return ready,
            Err(seen) => deadline.check(&what, seen),
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// When a wait gives up.
struct Deadline {
    timeout: Duration,
    at: Instant,
}

impl Deadline {
    fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            at: Instant::now() + timeout,
        }
    }

    /// Panics, saying what did not happen and what was `seen`, once past.
    fn check(&self, what: &impl Display, seen: Option<String>) {
        if Instant::now() < self.at {
            return;
        }
        let timeout = self.timeout;
        match seen {
            Some(seen) => panic!("{what}: not within {timeout:?}; last seen: {seen}"),
            None => panic!("{what}: not within {timeout:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_value_once_ready() {
        let mut polls = 0;
        let value = wait_until("three polls", Duration::from_secs(5), async || {
            polls += 1;
            (polls == 3).then_some(polls)
        })
        .await;
        assert_eq!(value, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "the answer: not within 0ns; last seen: 41")]
    async fn names_what_never_happened_and_the_last_value_seen() {
        wait_until("the answer", Duration::ZERO, async || Err::<(), _>(41)).await;
    }

    #[test]
    #[should_panic(expected = "a miracle: not within 0ns")]
    fn blocking_waits_give_up_too() {
        wait_until_blocking("a miracle", Duration::ZERO, || false);
    }
}
