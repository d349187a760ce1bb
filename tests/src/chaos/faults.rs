//! When the faults of a chaos run land: at points of the load's progress
//! (a share of the webhooks sent), one at a time, each recorded with the
//! progress it landed at and the time it took to heal. A fault that lands
//! after the last webhook went out tested nothing, and fails the run.

use std::time::{Duration, Instant};

use crate::chaos::load::SendStats;

/// xorshift64*: enough randomness for the order and the pauses, repeatable
/// by seed.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A duration in `[from, to)` milliseconds.
    pub fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.next_u64() % (to - from).max(1))
    }

    /// `items` in a random order.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// The seed of `CHAOS_SEED`, else one from the clock (odd: never 0).
pub fn seed_from_env() -> u64 {
    crate::drive::env_or(
        "CHAOS_SEED",
        u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(1),
        ) | 1,
    )
}

/// `n` points of progress spread over 10 %..80 % of the load, so every
/// fault heals while the load still runs.
pub fn progress_points(n: usize) -> Vec<f64> {
    if n <= 1 {
        return vec![0.3; n];
    }
    (0..n)
        .map(|i| 0.1 + 0.7 * i as f64 / (n - 1) as f64)
        .collect()
}

/// One fault as it happened.
#[derive(Debug, Clone)]
pub struct Landed {
    /// What was done.
    pub fault: String,
    /// Since the load started.
    pub at: Duration,
    /// Share of the webhooks sent when it landed.
    pub sent: f64,
    /// Share of the webhooks accepted when it landed.
    pub accepted: f64,
    /// The last webhook had already gone out: the fault hit an idle system.
    pub after_load: bool,
    /// From the fault until the system served again (what "served" means
    /// is the fault's), when it did.
    pub healed: Option<Duration>,
    /// How it healed (e.g. "new leader n2").
    pub note: String,
}

/// The faults of a run, in order.
pub struct FaultLog {
    started: Instant,
    /// Every fault so far.
    pub landed: Vec<Landed>,
}

impl FaultLog {
    /// A log whose times count from `started` (the load's start).
    pub fn new(started: Instant) -> Self {
        Self {
            started,
            landed: Vec::new(),
        }
    }

    /// Marks fault `fault` as landing now; returns the instant to measure
    /// its heal time from.
    pub fn land(&mut self, fault: impl Into<String>, stats: &SendStats) -> Instant {
        let now = Instant::now();
        let landed = Landed {
            fault: fault.into(),
            at: now - self.started,
            sent: stats.sent(),
            accepted: stats.progress(),
            after_load: stats.all_dispatched(),
            healed: None,
            note: String::new(),
        };
        println!(
            "chaos: {:>6.1} s  {}  ({:.0} % of the webhooks sent, {:.0} % accepted)",
            landed.at.as_secs_f64(),
            landed.fault,
            landed.sent * 100.0,
            landed.accepted * 100.0
        );
        self.landed.push(landed);
        now
    }

    /// The last fault healed `since` its landing (`note`: how).
    pub fn healed(&mut self, since: Instant, note: impl Into<String>) {
        if let Some(last) = self.landed.last_mut() {
            last.healed = Some(since.elapsed());
            last.note = note.into();
            println!(
                "chaos:           healed in {:.2} s ({})",
                since.elapsed().as_secs_f64(),
                last.note
            );
        }
    }

    /// The last fault did not heal (`why`).
    pub fn not_healed(&mut self, why: impl Into<String>) {
        if let Some(last) = self.landed.last_mut() {
            last.note = why.into();
            println!("chaos:           NOT healed: {}", last.note);
        }
    }

    /// Why the faults make the run fail: one landed after the load, or
    /// one never healed.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.landed {
            if f.after_load {
                out.push(format!(
                    "{} landed after the last webhook was sent ({:.1} s): it hit an idle system",
                    f.fault,
                    f.at.as_secs_f64()
                ));
            }
            if f.healed.is_none() {
                out.push(format!("{} did not heal: {}", f.fault, f.note));
            }
        }
        out
    }

    /// The rows of the report table, one per fault.
    pub fn rows(&self) -> Vec<(String, String)> {
        self.landed
            .iter()
            .map(|f| {
                (
                    format!("fault: {}", f.fault),
                    format!(
                        "at {:.1} s, {:.0} % sent, {:.0} % accepted; healed {}{}",
                        f.at.as_secs_f64(),
                        f.sent * 100.0,
                        f.accepted * 100.0,
                        f.healed.map_or("never".to_owned(), |h| format!(
                            "in {:.2} s",
                            h.as_secs_f64()
                        )),
                        if f.note.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", f.note)
                        }
                    ),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;

    #[test]
    fn progress_points_stay_within_the_load() {
        let points = progress_points(5);
        assert_eq!(points.len(), 5);
        assert!(points.iter().all(|p| (0.1..=0.8).contains(p)), "{points:?}");
        assert!(points.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_fault_after_the_load_fails_the_run() {
        let stats = SendStats::new(10, 1);
        let mut log = FaultLog::new(Instant::now());
        let t = log.land("during", &stats);
        log.healed(t, "ok");
        assert!(log.failures().is_empty());
        stats.dispatched.store(10, Ordering::Relaxed);
        let t = log.land("after", &stats);
        log.healed(t, "ok");
        let failures = log.failures();
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].contains("after the last webhook"));
    }
}
