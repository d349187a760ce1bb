//! Which numbers are registered and active, remembered per process for a
//! short time: a page view or a webhook need not cost a database query (the
//! pool would queue every request behind a handful of connections), and a
//! retired number still disappears within that time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, MutexGuard};

use crate::{Store, StoreError};

/// Most numbers remembered; past it the memory starts over (unknown
/// numbers may be remembered too, so a scan cannot grow it without bound).
const MAX_ENTRIES: usize = 10_000;

/// What the registry says of a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// Registered and receiving.
    Active,
    /// Registered, then retired.
    Retired,
    /// Not a number of this site.
    Unknown,
}

/// Per-process memory of the number registry.
#[derive(Debug)]
pub struct Registry {
    ttl: Duration,
    remember_unknown: bool,
    entries: Mutex<HashMap<String, (Registration, Instant)>>,
}

impl Registry {
    /// Remembers answers for `ttl` (zero: never). With `remember_unknown`
    /// false, an unknown number is asked again on every lookup, so a number
    /// registered a moment ago is found at once.
    pub fn new(ttl: Duration, remember_unknown: bool) -> Self {
        Self {
            ttl,
            remember_unknown,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<String, (Registration, Instant)>> {
        self.entries.lock()
    }

    /// What the registry says of `e164`, from memory when fresh.
    pub async fn lookup(&self, store: &Store, e164: &str) -> Result<Registration, StoreError> {
        if let Some((registration, at)) = self.entries().get(e164)
            && at.elapsed() < self.ttl
        {
            return Ok(*registration);
        }
        let registration = match store.find_number(e164).await? {
            Some(number) if number.active => Registration::Active,
            Some(_) => Registration::Retired,
            None => Registration::Unknown,
        };
        if registration != Registration::Unknown || self.remember_unknown {
            self.remember(e164, registration);
        }
        Ok(registration)
    }

    /// True when `e164` is registered and active, from memory when fresh.
    pub async fn is_active(&self, store: &Store, e164: &str) -> Result<bool, StoreError> {
        Ok(self.lookup(store, e164).await? == Registration::Active)
    }

    /// Records what this process just learned or did (e.g. registered it).
    pub fn remember(&self, e164: &str, registration: Registration) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(e164) {
            entries.clear();
        }
        entries.insert(e164.to_owned(), (registration, Instant::now()));
    }

    /// Forgets what is remembered of `e164`: the next lookup asks the
    /// database (an event said the number changed elsewhere).
    pub fn forget(&self, e164: &str) {
        self.entries().remove(e164);
    }
}
