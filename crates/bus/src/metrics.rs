//! The bus's own metrics, for the operator's dashboards and alerts:
//! dead-lettered events, events dropped on the way to the bus, and how many
//! messages each JetStream consumer has still to process (polled).

use std::collections::HashMap;
use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Counter;
use parking_lot::Mutex;

/// `cloudsms.bus.dead_lettered`: events moved to the dead-letter stream.
pub(crate) fn dead_lettered(destination: &str) {
    static COUNTER: OnceLock<Counter<u64>> = OnceLock::new();
    COUNTER
        .get_or_init(|| {
            telemetry::meter()
                .u64_counter("cloudsms.bus.dead_lettered")
                .with_unit("{event}")
                .with_description(
                    "Events no handler could process, moved to the dead-letter stream",
                )
                .build()
        })
        .add(
            1,
            &[KeyValue::new(
                "messaging.destination.name",
                destination.to_owned(),
            )],
        );
}

/// `cloudsms.bus.events_dropped`: events that never reached the bus (a
/// full queue, or a batch the bus refused every time), by kind and reason.
pub(crate) fn events_dropped(what: &'static str, reason: &'static str, events: u64) {
    static COUNTER: OnceLock<Counter<u64>> = OnceLock::new();
    COUNTER
        .get_or_init(|| {
            telemetry::meter()
                .u64_counter("cloudsms.bus.events_dropped")
                .with_unit("{event}")
                .with_description(
                    "Events dropped before reaching the bus (request logs, captcha events)",
                )
                .build()
        })
        .add(
            events,
            &[
                KeyValue::new("cloudsms.events", what),
                KeyValue::new("error.type", reason),
            ],
        );
}

/// The latest pending count of each consumer, `(stream, consumer)`.
type Pending = HashMap<(String, String), u64>;

fn pending() -> &'static Mutex<Pending> {
    static PENDING: OnceLock<Mutex<Pending>> = OnceLock::new();
    PENDING.get_or_init(|| {
        // The gauge reads what the pollers last saw (observed at export).
        let _gauge = telemetry::meter()
            .u64_observable_gauge("cloudsms.bus.consumer.pending")
            .with_unit("{message}")
            .with_description(
                "Messages a durable consumer has not yet been delivered or not yet acked",
            )
            .with_callback(|observer| {
                let pending = pending().lock().clone();
                for ((stream, consumer), count) in pending {
                    observer.observe(
                        count,
                        &[
                            KeyValue::new("messaging.destination.name", stream),
                            KeyValue::new("messaging.consumer.group.name", consumer),
                        ],
                    );
                }
            })
            .build();
        Mutex::new(HashMap::new())
    })
}

/// Records what a consumer has still to process.
pub(crate) fn set_pending(stream: &str, consumer: &str, count: u64) {
    pending()
        .lock()
        .insert((stream.to_owned(), consumer.to_owned()), count);
}

/// The consumer stopped in this process: its count is no longer reported.
pub(crate) fn forget_pending(stream: &str, consumer: &str) {
    pending()
        .lock()
        .remove(&(stream.to_owned(), consumer.to_owned()));
}
