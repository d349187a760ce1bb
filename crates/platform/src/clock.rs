//! Where a service reads the time: the system's clock in production, one a
//! test sets or advances instead of sleeping (the gateway's crawler gate
//! expiring passes and tickets, log-retention's sweep and partitions).

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// The current time, from the system or from a function a test controls;
/// cheap to clone.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self::from_fn(Utc::now)
    }

    /// A clock stopped at `at` (tests).
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self::from_fn(move || at)
    }

    /// A clock that reads `now` (a test's, which it may advance).
    pub fn from_fn(now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// Now.
    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }

    /// Now in Unix seconds (0 before 1970).
    pub fn unix_secs(&self) -> u64 {
        u64::try_from(self.now().timestamp()).unwrap_or(0)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Clock").field(&self.now()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_reads_its_instant_and_a_test_clock_moves() {
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let fixed = Clock::fixed(at);
        assert_eq!((fixed.now(), fixed.unix_secs()), (at, 1_700_000_000));

        let offset = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let moving = Clock::from_fn({
            let offset = offset.clone();
            move || at + chrono::Duration::seconds(offset.load(std::sync::atomic::Ordering::SeqCst))
        });
        offset.store(90, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(moving.unix_secs(), 1_700_000_090);
        assert_eq!(
            Clock::fixed(DateTime::UNIX_EPOCH - chrono::Duration::seconds(5)).unix_secs(),
            0
        );
    }
}
