//! A number's health on the console: its messages per day over 14 days as
//! a sparkline (inline SVG built here: no script, no inline style), and a
//! flag when it has gone quiet.
//!
//! "Usually" is the median of its daily counts over the 14 full UTC days
//! before today (days without a message count as 0). A number is flagged
//! when that median is at least 1 and its silence (since its newest
//! message, or since it was added) is at least three times the usual gap
//! between messages (24 h ÷ median), and at least [`MIN_QUIET_HOURS`]:
//! a number that gets 12 a day is flagged after 6 h, one that gets 1 a day
//! after 72 h. Hidden messages count: the number received them.

use chrono::{DateTime, Days, NaiveDate, Utc};

/// Days in the sparkline and in "usually".
pub const DAYS: u64 = 14;
/// Shortest silence flagged, in hours.
pub const MIN_QUIET_HOURS: i64 = 6;

const W: f64 = 140.0;
const H: f64 = 28.0;

/// One bar of the sparkline.
pub struct Spark {
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
    pub title: String,
}

/// The days of the sparkline, oldest first: the 13 days before `today`, and today.
pub fn days(today: NaiveDate) -> Vec<NaiveDate> {
    (0..DAYS)
        .rev()
        .filter_map(|back| today.checked_sub_days(Days::new(back)))
        .collect()
}

/// Bars for `counts` (one per day of `days`, oldest first).
pub fn sparkline(days: &[NaiveDate], counts: &[i64]) -> Vec<Spark> {
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = W / days.len().max(1) as f64;
    days.iter()
        .zip(counts)
        .enumerate()
        .map(|(i, (day, &n))| {
            // An empty day still shows a sliver, so the row reads as 14 days.
            let h = (n as f64 / max * (H - 2.0)).max(1.0);
            Spark {
                x: format!("{:.1}", i as f64 * step + step * 0.15),
                y: format!("{:.1}", H - h),
                w: format!("{:.1}", step * 0.7),
                h: format!("{h:.1}"),
                title: format!("{day}: {n}"),
            }
        })
        .collect()
}

/// The median of `counts` (the lower middle one for an even count).
pub fn median(counts: &[i64]) -> i64 {
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    sorted
        .get(sorted.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0)
}

/// "No SMS for N hours while it usually gets M a day", when it is quiet.
pub fn quiet_flag(
    usual_per_day: i64,
    quiet_since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<String> {
    if usual_per_day < 1 {
        return None;
    }
    let silent = (now - quiet_since).num_hours();
    let threshold = (3 * 24 / usual_per_day).max(MIN_QUIET_HOURS);
    (silent >= threshold)
        .then(|| format!("No SMS for {silent} hours while it usually gets {usual_per_day} a day"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_median_is_of_every_day() {
        assert_eq!(median(&[0, 0, 0, 5]), 0);
        assert_eq!(median(&[3, 1, 2]), 2);
        assert_eq!(median(&[4, 1, 3, 2]), 2);
        assert_eq!(median(&[]), 0);
    }

    #[test]
    fn quiet_numbers_are_flagged_by_their_usual_rate() {
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap();
        let ago = |h| now - chrono::Duration::hours(h);
        assert_eq!(quiet_flag(0, ago(500), now), None, "never busy: no flag");
        assert_eq!(quiet_flag(12, ago(5), now), None, "6 h at least");
        assert_eq!(
            quiet_flag(12, ago(6), now).unwrap(),
            "No SMS for 6 hours while it usually gets 12 a day"
        );
        assert_eq!(quiet_flag(1, ago(71), now), None);
        assert!(quiet_flag(1, ago(72), now).is_some());
    }

    #[test]
    fn the_sparkline_has_a_bar_per_day_scaled_to_the_busiest() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let d = days(today);
        assert_eq!(d.len(), 14);
        assert_eq!(d[13], today);
        let mut counts = vec![0; 14];
        counts[13] = 10;
        counts[12] = 5;
        let bars = sparkline(&d, &counts);
        assert_eq!(bars[13].h, "26.0");
        assert_eq!(bars[12].h, "13.0");
        assert_eq!(bars[0].h, "1.0");
        assert_eq!(bars[13].title, "2026-12-04: 10");
    }
}
