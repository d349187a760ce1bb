//! Public message retention: how long a message may be shown, and the
//! sweep that deletes what is past it.
//!
//! One function says when a message of a number stops being shown:
//! [`Cutoffs::oldest_shown`] (the number's own period, `numbers.keep_days`,
//! else the global `messages.keep_days`, counted back from the injected
//! clock's now). Every read of messages in this crate filters with it
//! ([`Cutoffs::condition`], [`Cutoffs::number_condition`]), and the gateway
//! filters what it reads from the hot lists and the bus with it, so a
//! message past its period is never shown, even before the sweep ran.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use domain::E164;
use parking_lot::Mutex;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entities::{message, number};
use crate::{Store, StoreError};

/// How long the numbers' own periods are remembered per process: a page
/// view reads them from memory, and a change shows within this time.
const OVERRIDES_TTL: Duration = Duration::from_secs(1);

/// The oldest arrival time still shown at `now` when messages are kept
/// `keep_days`: exactly `keep_days` × 24 hours back (a message that
/// arrived at that instant is still shown, one a microsecond older is not).
pub fn oldest_shown(now: DateTime<Utc>, keep_days: u32) -> DateTime<Utc> {
    now.checked_sub_signed(TimeDelta::days(i64::from(keep_days)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

type Now = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The numbers' own periods (E.164 → days), shared.
type Overrides = Arc<HashMap<String, u32>>;

/// The retention of a store: the global period, the clock, and the
/// numbers' own periods remembered briefly. Cheap to clone (shared).
#[derive(Clone)]
pub struct Retention {
    inner: Arc<Inner>,
}

struct Inner {
    keep_days: Option<u32>,
    now: Now,
    overrides: Mutex<Option<(Instant, Overrides)>>,
    /// A request is reading them: the others use the last known meanwhile.
    refreshing: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retention")
            .field("keep_days", &self.inner.keep_days)
            .finish_non_exhaustive()
    }
}

impl Retention {
    /// Messages kept `keep_days` (`messages.keep_days`) unless their number
    /// says otherwise, by the time `now` reads (tests pass a clock they
    /// move; services the system's).
    pub fn new(keep_days: u32, now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        Self::build(Some(keep_days), Arc::new(now))
    }

    /// No global period (a store opened by a tool): only the numbers' own
    /// periods apply.
    pub fn unbounded() -> Self {
        Self::build(None, Arc::new(Utc::now))
    }

    fn build(keep_days: Option<u32>, now: Now) -> Self {
        Self {
            inner: Arc::new(Inner {
                keep_days,
                now,
                overrides: Mutex::new(None),
                refreshing: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// The global period in days (`None`: unbounded).
    pub fn keep_days(&self) -> Option<u32> {
        self.inner.keep_days
    }

    /// Now, by this retention's clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.inner.now)()
    }

    fn remembered(&self) -> Option<Arc<HashMap<String, u32>>> {
        self.inner
            .overrides
            .lock()
            .as_ref()
            .filter(|(at, _)| at.elapsed() < OVERRIDES_TTL)
            .map(|(_, map)| map.clone())
    }

    fn last_known(&self) -> Arc<HashMap<String, u32>> {
        self.known().unwrap_or_default()
    }

    fn known(&self) -> Option<Overrides> {
        self.inner
            .overrides
            .lock()
            .as_ref()
            .map(|(_, map)| map.clone())
    }

    fn remember(&self, map: Arc<HashMap<String, u32>>) {
        *self.inner.overrides.lock() = Some((Instant::now(), map));
    }

    /// Forgets the remembered periods (this process just changed one).
    pub fn forget(&self) {
        *self.inner.overrides.lock() = None;
    }

    fn cutoffs_with(&self, overrides: Arc<HashMap<String, u32>>) -> Cutoffs {
        Cutoffs {
            now: self.now(),
            keep_days: self.inner.keep_days,
            overrides,
        }
    }
}

/// What may be shown at one instant: the global period and the numbers'
/// own ones.
#[derive(Debug, Clone)]
pub struct Cutoffs {
    now: DateTime<Utc>,
    keep_days: Option<u32>,
    overrides: Arc<HashMap<String, u32>>,
}

impl Cutoffs {
    /// Cut-offs at `now` with the global period `keep_days` and the
    /// numbers' own periods `overrides` (E.164 → days).
    pub fn new(
        now: DateTime<Utc>,
        keep_days: Option<u32>,
        overrides: HashMap<String, u32>,
    ) -> Self {
        Self {
            now,
            keep_days,
            overrides: Arc::new(overrides),
        }
    }

    /// The instant these cut-offs are for.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Days the messages of `number` are kept: its own period, else the
    /// global one (`None`: unbounded).
    pub fn keep_days_of(&self, number: &str) -> Option<u32> {
        self.overrides.get(number).copied().or(self.keep_days)
    }

    /// THE rule: the oldest arrival time a message of `number` may be shown
    /// (and kept) with. Older ones are hidden everywhere and swept.
    pub fn oldest_shown(&self, number: &str) -> DateTime<Utc> {
        match self.keep_days_of(number) {
            Some(days) => oldest_shown(self.now, days),
            None => DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    /// Whether a message of `number` that arrived at `received_at` may be shown.
    pub fn shows(&self, number: &str, received_at: DateTime<Utc>) -> bool {
        received_at >= self.oldest_shown(number)
    }

    /// The most recent of the cut-offs (of the shortest period): every
    /// message at or after it is shown, whatever its number.
    fn newest_cutoff(&self) -> Option<DateTime<Utc>> {
        let days = self
            .overrides
            .values()
            .copied()
            .chain(self.keep_days)
            .min()?;
        Some(oldest_shown(self.now, days))
    }

    /// SQL: the messages of `number` that may be shown.
    pub(crate) fn number_condition(&self, number: &str) -> Condition {
        Condition::all().add(message::Column::ReceivedAt.gte(self.oldest_shown(number)))
    }

    /// SQL: the messages of any number that may be shown. Numbers with a
    /// period of their own are grouped by period (a handful of `IN` lists).
    pub(crate) fn condition(&self) -> Condition {
        let mut by_days: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
        for (number, days) in self.overrides.iter() {
            by_days.entry(*days).or_default().push(number.as_str());
        }
        let mut global = Condition::all();
        if let Some(days) = self.keep_days {
            global = global.add(message::Column::ReceivedAt.gte(oldest_shown(self.now, days)));
        }
        if !self.overrides.is_empty() {
            global = global
                .add(message::Column::Number.is_not_in(self.overrides.keys().map(String::as_str)));
        }
        by_days
            .into_iter()
            .fold(Condition::any().add(global), |any, (days, numbers)| {
                any.add(
                    Condition::all()
                        .add(message::Column::Number.is_in(numbers))
                        .add(message::Column::ReceivedAt.gte(oldest_shown(self.now, days))),
                )
            })
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swept {
    /// Messages deleted.
    pub deleted: u64,
    /// Statements run (each deleting at most one batch).
    pub batches: u64,
    /// Numbers that lost messages (their hot lists are stale).
    pub numbers: BTreeSet<String>,
}

impl Store {
    /// The retention this store reads with.
    pub fn retention(&self) -> &Retention {
        &self.retention
    }

    /// This store, reading and sweeping with `retention`.
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = retention;
        self
    }

    /// The numbers with a period of their own (E.164 → days).
    pub async fn keep_days_overrides(&self) -> Result<HashMap<String, u32>, StoreError> {
        let rows = number::Entity::find()
            .select_only()
            .column(number::Column::E164)
            .column(number::Column::KeepDays)
            .filter(number::Column::KeepDays.is_not_null())
            .into_tuple::<(String, Option<i32>)>()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(e164, days)| Some((e164, u32::try_from(days?).ok()?)))
            .collect())
    }

    /// What may be shown now, the numbers' own periods read at most once a
    /// second per process. When the database does not answer, the last
    /// periods read are used (none before the first read).
    pub async fn cutoffs(&self) -> Cutoffs {
        use std::sync::atomic::Ordering;
        if let Some(map) = self.retention.remembered() {
            return self.retention.cutoffs_with(map);
        }
        let refreshing = &self.retention.inner.refreshing;
        // One request reads them; the others keep the last known meanwhile.
        if refreshing.swap(true, Ordering::AcqRel)
            && let Some(map) = self.retention.known()
        {
            return self.retention.cutoffs_with(map);
        }
        // Reset when done, or when the request reading is dropped midway.
        struct Done<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let done = Done(refreshing);
        let read = self.keep_days_overrides().await;
        drop(done);
        match read {
            Ok(map) => {
                let map = Arc::new(map);
                self.retention.remember(map.clone());
                self.retention.cutoffs_with(map)
            }
            Err(err) => {
                tracing::warn!(error = %err, "numbers' message periods not read; using the last known");
                self.retention.cutoffs_with(self.retention.last_known())
            }
        }
    }

    /// As [`Store::cutoffs`], read from the database now (the sweep).
    pub async fn fresh_cutoffs(&self) -> Result<Cutoffs, StoreError> {
        let map = Arc::new(self.keep_days_overrides().await?);
        self.retention.remember(map.clone());
        Ok(self.retention.cutoffs_with(map))
    }

    /// Gives `number` its own message period in days (`None`: the global
    /// `messages.keep_days` again). Returns false when it is not
    /// registered. Days must be 1 to [`config::MAX_KEEP_DAYS`].
    pub async fn set_number_keep_days(
        &self,
        number: &E164,
        keep_days: Option<u32>,
    ) -> Result<bool, StoreError> {
        let value = match keep_days {
            None => None,
            Some(days) if (1..=config::MAX_KEEP_DAYS).contains(&days) => {
                Some(i32::try_from(days).map_err(|_| StoreError::KeepDays(days))?)
            }
            Some(days) => return Err(StoreError::KeepDays(days)),
        };
        let result = number::Entity::update_many()
            .col_expr(number::Column::KeepDays, Expr::value(value))
            .filter(number::Column::E164.eq(number.as_str()))
            .exec(&self.db)
            .await?;
        self.retention.forget();
        Ok(result.rows_affected > 0)
    }

    /// Deletes the messages past their period, oldest first, at most
    /// `batch` per statement with a `pause` between statements: each
    /// statement is a short transaction on rows nobody writes, so the
    /// persister keeps storing meanwhile. Walks the `(received_at, id)`
    /// index from its oldest entry up to the most recent cut-off only, with
    /// a keyset cursor: the rows of numbers kept longer are read once per
    /// sweep, never again by the next batch.
    pub async fn sweep_expired(&self, batch: u64, pause: Duration) -> Result<Swept, StoreError> {
        let cutoffs = self.fresh_cutoffs().await?;
        let mut swept = Swept::default();
        let Some(until) = cutoffs.newest_cutoff() else {
            return Ok(swept);
        };
        let batch = Ord::max(batch, 1);
        let mut after: Option<(DateTime<Utc>, i64)> = None;
        loop {
            let mut query = message::Entity::find()
                .select_only()
                .column(message::Column::Id)
                .column(message::Column::Number)
                .column(message::Column::ReceivedAt)
                .filter(message::Column::ReceivedAt.lt(until));
            if let Some((at, id)) = after {
                query = query.filter(
                    message::Column::ReceivedAt
                        .gt(at)
                        .or(message::Column::ReceivedAt
                            .eq(at)
                            .and(message::Column::Id.gt(id))),
                );
            }
            let rows = query
                .order_by_asc(message::Column::ReceivedAt)
                .order_by_asc(message::Column::Id)
                .limit(batch)
                .into_tuple::<(i64, String, DateTime<Utc>)>()
                .all(&self.db)
                .await?;
            let Some((last_id, _, last_at)) = rows.last().cloned() else {
                break;
            };
            after = Some((last_at, last_id));
            let full = u64::try_from(rows.len()).unwrap_or(u64::MAX) >= batch;
            let expired: Vec<(i64, String)> = rows
                .into_iter()
                .filter(|(_, number, at)| !cutoffs.shows(number, *at))
                .map(|(id, number, _)| (id, number))
                .collect();
            if !expired.is_empty() {
                let result = message::Entity::delete_many()
                    .filter(message::Column::Id.is_in(expired.iter().map(|(id, _)| *id)))
                    .exec(&self.db)
                    .await?;
                swept.deleted += result.rows_affected;
                swept.batches += 1;
                swept.numbers.extend(expired.into_iter().map(|(_, n)| n));
            }
            if !full {
                break;
            }
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
        }
        Ok(swept)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone;

    use super::*;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 1, day, hour, 0, 0).unwrap()
    }

    #[test]
    fn the_oldest_shown_is_exactly_the_period_back() {
        let now = at(31, 12);
        assert_eq!(oldest_shown(now, 30), at(1, 12));
        assert_eq!(oldest_shown(now, 1), at(30, 12));
        // Never out of range, whatever the days.
        assert!(oldest_shown(now, u32::MAX) < now);
    }

    #[test]
    fn a_number_s_own_period_wins_over_the_global_one() {
        let now = at(31, 12);
        let cutoffs = Cutoffs::new(
            now,
            Some(30),
            HashMap::from([
                ("+447700900001".to_owned(), 2),
                ("+447700900002".to_owned(), 60),
            ]),
        );
        assert_eq!(cutoffs.oldest_shown("+447700900099"), at(1, 12));
        assert_eq!(cutoffs.oldest_shown("+447700900001"), at(29, 12));
        assert_eq!(
            cutoffs.oldest_shown("+447700900002"),
            now - TimeDelta::days(60)
        );
        // The boundary is shown, a second before it is not.
        assert!(cutoffs.shows("+447700900099", at(1, 12)));
        assert!(!cutoffs.shows("+447700900099", at(1, 12) - TimeDelta::seconds(1)));
        assert!(!cutoffs.shows("+447700900001", at(20, 0)));
        assert!(cutoffs.shows("+447700900002", at(1, 0)));
        assert_eq!(cutoffs.newest_cutoff(), Some(at(29, 12)));
    }

    #[test]
    fn without_a_global_period_only_own_periods_apply() {
        let now = at(31, 12);
        let cutoffs = Cutoffs::new(now, None, HashMap::from([("+1".to_owned(), 1)]));
        assert!(cutoffs.shows("+2", DateTime::<Utc>::UNIX_EPOCH));
        assert!(!cutoffs.shows("+1", at(29, 0)));
        assert_eq!(
            Cutoffs::new(now, None, HashMap::new()).newest_cutoff(),
            None
        );
    }

    fn sms(number: &E164, id: &str, at: DateTime<Utc>) -> crate::NewMessage {
        crate::NewMessage {
            number: number.clone(),
            provider: "test".into(),
            provider_message_id: id.into(),
            sender: "Sender".into(),
            body: format!("message {id}"),
            received_at: at,
        }
    }

    #[tokio::test]
    async fn reads_hide_and_the_sweep_deletes_what_is_past_each_period() {
        let store = crate::test_store::TempStore::new("retention").await;
        let now = at(31, 12);
        let store = (*store)
            .clone()
            .with_retention(Retention::new(30, move || now));
        let global = E164::parse("+447700900001").unwrap();
        let short = E164::parse("+447700900002").unwrap();
        let long = E164::parse("+447700900003").unwrap();
        for n in [&global, &short, &long] {
            store.add_number(n, "").await.unwrap();
        }
        assert!(store.set_number_keep_days(&short, Some(2)).await.unwrap());
        assert!(store.set_number_keep_days(&long, Some(60)).await.unwrap());
        assert!(matches!(
            store.set_number_keep_days(&long, Some(0)).await,
            Err(StoreError::KeepDays(0))
        ));
        let old = now - TimeDelta::days(40);
        let mut batch = Vec::new();
        for i in 0..7 {
            batch.push(sms(
                &global,
                &format!("g-old-{i}"),
                old + TimeDelta::minutes(i),
            ));
        }
        batch.push(sms(&global, "g-new", now - TimeDelta::days(29)));
        batch.push(sms(&short, "s-old", now - TimeDelta::days(3)));
        batch.push(sms(&short, "s-new", now - TimeDelta::days(1)));
        batch.push(sms(&long, "l-old", now - TimeDelta::days(61)));
        batch.push(sms(&long, "l-kept", old));
        store.insert_messages(&batch).await.unwrap();

        let ids = |rows: Vec<crate::MessageRow>| {
            rows.into_iter()
                .map(|r| r.provider_message_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(store
                .recent_messages(global.as_str(), 50, None)
                .await
                .unwrap()),
            ["g-new"]
        );
        assert_eq!(
            ids(store
                .recent_messages(short.as_str(), 50, None)
                .await
                .unwrap()),
            ["s-new"]
        );
        assert_eq!(
            ids(store
                .recent_messages(long.as_str(), 50, None)
                .await
                .unwrap()),
            ["l-kept"]
        );
        assert_eq!(
            ids(store.latest_messages(50).await.unwrap()),
            ["s-new", "g-new", "l-kept"]
        );
        let overview = store.numbers_overview().await.unwrap();
        let last = |n: &E164| {
            overview
                .iter()
                .find(|o| o.number.e164 == n.as_str())
                .and_then(|o| o.last_message_at)
        };
        assert_eq!(last(&global), Some(now - TimeDelta::days(29)));
        assert_eq!(last(&long), Some(old));
        let activity = store
            .service_activity(now - TimeDelta::days(1000))
            .await
            .unwrap();
        let total = |n: &E164| {
            activity
                .numbers
                .iter()
                .find(|t| t.e164 == n.as_str())
                .map(|t| t.total)
        };
        assert_eq!(
            (total(&global), total(&short), total(&long)),
            (Some(1), Some(1), Some(1))
        );

        // Batches of 3: seven old ones of the global number, one of each other.
        let swept = store.sweep_expired(3, Duration::ZERO).await.unwrap();
        assert_eq!(swept.deleted, 9);
        assert!(swept.batches >= 3, "{swept:?}");
        assert_eq!(
            swept.numbers,
            BTreeSet::from([global.to_string(), short.to_string(), long.to_string()])
        );
        // Nothing inside its period was touched; unfiltered, only they remain.
        let left = crate::entities::message::Entity::find()
            .order_by_asc(message::Column::ProviderMessageId)
            .all(store.connection())
            .await
            .unwrap();
        assert_eq!(ids(left), ["g-new", "l-kept", "s-new"]);
        assert_eq!(
            store
                .sweep_expired(3, Duration::ZERO)
                .await
                .unwrap()
                .deleted,
            0
        );

        // Back to the global period: the long-kept one is past it.
        assert!(store.set_number_keep_days(&long, None).await.unwrap());
        assert!(
            store
                .recent_messages(long.as_str(), 50, None)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store
                .sweep_expired(100, Duration::ZERO)
                .await
                .unwrap()
                .deleted,
            1
        );
    }
}
