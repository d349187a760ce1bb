//! Catching up after the bus reconnected: `MessageStored` is a broadcast,
//! so what was announced while this gateway's NATS connection was away
//! (its server killed, a network blip) never reached it. The messages
//! stored meanwhile are read from the database and announced here, once:
//! open streams get them as if they had arrived live.

use std::time::Duration;

use proto::events::v1::MessageStored;
use tokio_util::sync::CancellationToken;

use super::Live;

/// Most messages read back after a reconnection (the newest across all
/// numbers): more than a site stores during any reconnection.
const CATCH_UP: u64 = 1000;

/// When to read again after a reconnection: a message committed while the
/// first read ran, or announced before the subscription was back, is found
/// by a later one (announcing is idempotent).
const READS_AFTER: [Duration; 3] = [
    Duration::from_millis(200),
    Duration::from_secs(2),
    Duration::from_secs(10),
];

impl Live {
    /// Reads the messages stored while the bus was away at every
    /// reconnection, until `shutdown`.
    pub(super) fn spawn_catch_up(
        &self,
        bus: &bus::Bus,
        store: store::Store,
        shutdown: CancellationToken,
    ) {
        let live = self.clone();
        let mut connections = bus.connections();
        connections.mark_unchanged();
        tokio::spawn(async move {
            live.set_baseline(&store).await;
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    changed = connections.changed() => {
                        if changed.is_err() {
                            // An in-process bus: never away.
                            return;
                        }
                    }
                }
                tracing::info!("bus reconnected; catching up on live updates");
                for wait in READS_AFTER {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(wait) => {}
                    }
                    live.catch_up(&store).await;
                }
            }
        });
    }

    /// The newest stored message at start: what came before it is not news.
    async fn set_baseline(&self, store: &store::Store) {
        if let Ok(rows) = store.latest_messages(1).await
            && let Some(row) = rows.first()
        {
            let mut recent = self.recent.lock();
            recent.newest = recent.newest.max(row.to_event().id);
        }
    }

    async fn catch_up(&self, store: &store::Store) {
        let stored = match store.latest_messages(CATCH_UP).await {
            Ok(rows) => rows.iter().map(store::MessageRow::to_event).collect(),
            Err(err) => {
                tracing::warn!(error = %err, "live updates not caught up");
                return;
            }
        };
        for message in self.unannounced(stored) {
            self.announce(&message);
        }
    }

    /// Of `stored`, the messages this process has not announced, oldest
    /// first: newer than the oldest frame it keeps (or, keeping none, than
    /// the newest it ever announced) and not kept. Older ones were sent
    /// when they came, or are too old to be news.
    pub(super) fn unannounced(&self, mut stored: Vec<MessageStored>) -> Vec<MessageStored> {
        let recent = self.recent.lock();
        let since = recent.ids.iter().min().copied().unwrap_or(recent.newest);
        stored.retain(|m| m.id > since && !recent.ids.contains(&m.id));
        stored.sort_by_key(|m| m.id);
        stored
    }
}
