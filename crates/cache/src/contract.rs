//! The behaviour every [`HotCache`] backend promises (claims, counters,
//! throttles, slots and values), checked against each backend by its tests.

use std::time::Duration;

use crate::HotCache;

/// Runs every check against `cache`. `expiry` is the shortest time to live
/// the backend honours for claims and windows (Redis counts those in whole
/// seconds); the other times of the checks are fractions of it. The checks
/// use disjoint keys, so they run at once.
pub(crate) async fn check(cache: &dyn HotCache, expiry: Duration) {
    tokio::join!(
        claim_is_true_once_then_false_until_it_expires(cache, expiry),
        claim_as_lets_only_its_owner_back_in(cache),
        throttle_refuses_past_the_burst_and_forget_resets(cache),
        incr_window_counts_and_restarts_after_the_window(cache, expiry),
        slots_are_limited_released_and_expire(cache, expiry),
        values_live_while_touched_and_are_forgotten(cache, expiry),
        forgotten_lists_are_gone_and_others_stay(cache),
        a_refill_read_before_a_push_is_refused(cache),
        a_batch_reaches_each_list_it_names(cache),
    );
}

/// Fills number `a`'s list with message 1 (at 10 ms) and `b`'s with 2 (20 ms).
async fn fill_numbers(cache: &dyn HotCache, a: &str, b: &str) {
    use crate::HotList;
    use crate::tests::msg;
    for (number, id) in [(a, 1), (b, 2)] {
        cache
            .fill(HotList::Number(number), &[msg(id, number, id * 10)])
            .await
            .unwrap();
    }
}

async fn forgotten_lists_are_gone_and_others_stay(cache: &dyn HotCache) {
    use crate::HotList;
    use crate::tests::msg;
    let (a, b) = ("+447700900101", "+447700900102");
    fill_numbers(cache, a, b).await;
    cache
        .fill(HotList::Latest, &[msg(2, b, 20), msg(1, a, 10)])
        .await
        .unwrap();
    cache
        .forget_lists(&[HotList::Number(a), HotList::Latest])
        .await
        .unwrap();
    assert!(cache.recent(HotList::Number(a)).await.unwrap().is_none());
    assert!(cache.recent(HotList::Latest).await.unwrap().is_none());
    let kept = cache.recent(HotList::Number(b)).await.unwrap().unwrap();
    assert_eq!(kept.iter().map(|m| m.id).collect::<Vec<_>>(), [2]);
    cache.forget_lists(&[]).await.unwrap();
}

async fn claim_is_true_once_then_false_until_it_expires(cache: &dyn HotCache, ttl: Duration) {
    assert!(cache.claim("claim:a", ttl).await.unwrap());
    assert!(!cache.claim("claim:a", ttl).await.unwrap());
    assert!(cache.claim("claim:b", ttl).await.unwrap());
    tokio::time::sleep(ttl * 3 / 2).await;
    assert!(cache.claim("claim:a", ttl).await.unwrap());
}

async fn claim_as_lets_only_its_owner_back_in(cache: &dyn HotCache) {
    let ttl = Duration::from_secs(5);
    assert!(cache.claim_as("owned:t", "k:x", ttl).await.unwrap());
    assert!(cache.claim_as("owned:t", "k:x", ttl).await.unwrap());
    assert!(!cache.claim_as("owned:t", "k:y", ttl).await.unwrap());
    assert!(!cache.claim("owned:t", ttl).await.unwrap());
    assert!(cache.claim("owned:u", ttl).await.unwrap());
    assert!(!cache.claim_as("owned:u", "k:x", ttl).await.unwrap());
}

async fn throttle_refuses_past_the_burst_and_forget_resets(cache: &dyn HotCache) {
    let interval = Duration::from_secs(60);
    for _ in 0..3 {
        assert_eq!(cache.throttle("rate:r", interval, 2).await.unwrap(), None);
    }
    let wait = cache
        .throttle("rate:r", interval, 2)
        .await
        .unwrap()
        .unwrap();
    assert!(
        wait > Duration::from_secs(50) && wait <= interval,
        "{wait:?}"
    );
    assert_eq!(
        cache.throttle("rate:other", interval, 2).await.unwrap(),
        None
    );
    let forgotten = ["rate:r".to_owned(), "rate:missing".to_owned()];
    assert_eq!(cache.forget(&forgotten).await.unwrap(), 1);
    assert_eq!(cache.throttle("rate:r", interval, 2).await.unwrap(), None);
}

async fn incr_window_counts_and_restarts_after_the_window(cache: &dyn HotCache, ttl: Duration) {
    assert_eq!(cache.incr_window("count:c", ttl).await.unwrap(), 1);
    assert_eq!(cache.incr_window("count:c", ttl).await.unwrap(), 2);
    assert_eq!(cache.incr_window("count:d", ttl).await.unwrap(), 1);
    tokio::time::sleep(ttl * 3 / 2).await;
    assert_eq!(cache.incr_window("count:c", ttl).await.unwrap(), 1);
}

async fn slots_are_limited_released_and_expire(cache: &dyn HotCache, expiry: Duration) {
    let long = Duration::from_secs(60);
    assert!(cache.acquire_slot("slot:s", "a", 2, long).await.unwrap());
    assert!(cache.acquire_slot("slot:s", "b", 2, long).await.unwrap());
    assert!(!cache.acquire_slot("slot:s", "c", 2, long).await.unwrap());
    assert!(cache.acquire_slot("slot:t", "c", 2, long).await.unwrap());
    cache.release_slot("slot:s", "a").await.unwrap();
    assert!(cache.acquire_slot("slot:s", "c", 2, long).await.unwrap());
    // A holder that never gives its slot back loses it after the ttl.
    assert!(
        cache
            .acquire_slot("slot:u", "gone", 1, expiry / 4)
            .await
            .unwrap()
    );
    assert!(!cache.acquire_slot("slot:u", "d", 1, long).await.unwrap());
    tokio::time::sleep(expiry / 2).await;
    assert!(cache.acquire_slot("slot:u", "d", 1, long).await.unwrap());
    // `forget` drops slots too.
    assert_eq!(cache.forget(&["slot:s".to_owned()]).await.unwrap(), 1);
}

async fn values_live_while_touched_and_are_forgotten(cache: &dyn HotCache, expiry: Duration) {
    let short = expiry * 5 / 8;
    cache.put("value:k", "v", short).await.unwrap();
    for _ in 0..3 {
        tokio::time::sleep(expiry * 3 / 8).await;
        assert_eq!(
            cache.get_touch("value:k", short).await.unwrap().as_deref(),
            Some("v")
        );
    }
    tokio::time::sleep(expiry).await;
    assert_eq!(cache.get_touch("value:k", short).await.unwrap(), None);
    cache.put("value:k", "v", short).await.unwrap();
    assert_eq!(cache.forget(&["value:k".to_owned()]).await.unwrap(), 1);
    assert_eq!(cache.get_touch("value:k", short).await.unwrap(), None);
}

/// A reader that misses a list reads the database and refills it; a message
/// pushed meanwhile (while the list was missing, so the push changed
/// nothing) must not be hidden by that older snapshot for the fill's TTL.
async fn a_refill_read_before_a_push_is_refused(cache: &dyn HotCache) {
    use crate::HotList;
    use crate::tests::msg;
    let n = "+447700900201";
    let list = HotList::Number(n);
    let seen = cache.version(list).await.unwrap();
    // (The reader queries the database here: it sees message 1 only.)
    cache.push(&msg(2, n, 20)).await.unwrap();
    assert!(
        !cache
            .fill_unless_pushed(list, &[msg(1, n, 10)], seen)
            .await
            .unwrap()
    );
    assert!(cache.recent(list).await.unwrap().is_none(), "no stale list");
    // The next reader sees both and fills.
    let seen = cache.version(list).await.unwrap();
    assert!(
        cache
            .fill_unless_pushed(list, &[msg(2, n, 20), msg(1, n, 10)], seen)
            .await
            .unwrap()
    );
    let ids: Vec<i64> = cache
        .recent(list)
        .await
        .unwrap()
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, [2, 1]);
    // The site-wide list counts the same pushes.
    let seen = cache.version(HotList::Latest).await.unwrap();
    cache.push(&msg(3, n, 30)).await.unwrap();
    assert!(
        !cache
            .fill_unless_pushed(HotList::Latest, &[msg(2, n, 20)], seen)
            .await
            .unwrap()
    );
    // Forgetting a list counts as a change too.
    let seen = cache.version(list).await.unwrap();
    cache.forget_lists(&[list]).await.unwrap();
    assert!(
        !cache
            .fill_unless_pushed(list, &[msg(1, n, 10)], seen)
            .await
            .unwrap()
    );
}

/// A batch of pushes: each message lands on its number's list where that
/// list is cached (a missing list stays missing, to be filled from the
/// database), every list the batch names counts a change, and a batch
/// longer than a list keeps the newest.
async fn a_batch_reaches_each_list_it_names(cache: &dyn HotCache) {
    use crate::HotList;
    use crate::tests::msg;
    let (a, b, c) = ("+447700900301", "+447700900302", "+447700900303");
    let ids = |list: Option<Vec<proto::events::v1::MessageStored>>| {
        list.map(|l| l.iter().map(|m| m.id).collect::<Vec<_>>())
    };
    fill_numbers(cache, a, b).await;
    let mut seen = Vec::new();
    for n in [a, b, c] {
        seen.push(cache.version(HotList::Number(n)).await.unwrap());
    }
    cache
        .push_many(&[msg(3, a, 30), msg(4, b, 40), msg(5, a, 50), msg(6, c, 60)])
        .await
        .unwrap();
    assert_eq!(
        ids(cache.recent(HotList::Number(a)).await.unwrap()),
        Some(vec![5, 3, 1])
    );
    assert_eq!(
        ids(cache.recent(HotList::Number(b)).await.unwrap()),
        Some(vec![4, 2])
    );
    assert_eq!(ids(cache.recent(HotList::Number(c)).await.unwrap()), None);
    for (n, before) in [a, b, c].into_iter().zip(seen) {
        let now = cache.version(HotList::Number(n)).await.unwrap();
        assert_ne!(now, before, "{n}: a push is a change, cached or not");
    }
    // More than any list holds, in one batch: the newest stay.
    let many: Vec<_> = (100..1100).map(|id| msg(id, a, id)).collect();
    cache.push_many(&many).await.unwrap();
    let kept = ids(cache.recent(HotList::Number(a)).await.unwrap()).unwrap();
    assert!(!kept.is_empty());
    let newest: Vec<i64> = (100..1100).rev().take(kept.len()).collect();
    assert_eq!(kept, newest);
}
