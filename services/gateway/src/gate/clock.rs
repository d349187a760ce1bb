//! The gate's clock: when passes expire and when a no-JavaScript ticket's
//! wait is over. The system's by default; tests give the gate one they
//! advance instead of sleeping through the wait.

use std::fmt;
use std::sync::Arc;

/// Unix seconds, from the system or from a function a test controls;
/// cheap to clone.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> u64 + Send + Sync>);

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self::from_fn(|| u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0))
    }

    /// A clock that reads `now` (a test's).
    pub fn from_fn(now: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// The time now, in Unix seconds.
    pub fn now(&self) -> u64 {
        (self.0)()
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
