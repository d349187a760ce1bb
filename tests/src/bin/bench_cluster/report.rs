//! The Markdown tables of the three rounds.

use anyhow::bail;

use crate::replica::Counts;
use crate::{EVENTS_PER_MESSAGE, Round};

/// A figure of a round.
type Figure = fn(&Round) -> f64;

/// `part` of `whole` as "n (p %)".
fn share(part: f64, whole: f64) -> String {
    if whole > 0.0 {
        format!("{part:.0} ({:.0} %)", 100.0 * part / whole)
    } else {
        format!("{part:.0}")
    }
}

pub(crate) fn report(
    rounds: &[Round],
    webhooks: usize,
    log_events: usize,
    in_flight: usize,
) -> anyhow::Result<()> {
    let [one_a, two, one_b] = rounds else {
        bail!("three rounds expected");
    };
    let one = |f: Figure| (f(one_a) + f(one_b)) / 2.0;
    println!(
        "| per second, {webhooks} webhooks and {log_events} log events a round | 1 replica (before, after) | 2 replicas | **ratio 2 : 1** |"
    );
    println!("|---|---:|---:|---:|");
    let webhooks_row = format!(
        "signed Twilio webhooks accepted (202 after the JetStream ack), alternating between the message-ingest replicas, {in_flight} in flight"
    );
    let rows: [(&str, Figure); 3] = [
        (&webhooks_row, |r| r.webhooks_per_s),
        (
            "messages stored by the persisters (first webhook to the shared consumer's last ack)",
            |r| r.stored_per_s,
        ),
        (
            "request-log events stored by log-retention (first publish to the shared consumer's last ack)",
            |r| r.logs_per_s,
        ),
    ];
    for (what, f) in rows {
        println!(
            "| {what} | {:.0} ({:.0}, {:.0}) | {:.0} | **{:.2}** |",
            one(f),
            f(one_a),
            f(one_b),
            f(two),
            f(two) / one(f)
        );
    }
    println!();
    println!(
        "The split between the two replicas ({} of each), from each one's `/metrics`:",
        two.replicas
    );
    println!();
    println!("| 2 replicas | replica 1 | replica 2 |");
    println!("|---|---:|---:|");
    let (a, b) = (two.split[0], two.split[1]);
    let total = |f: fn(&Counts) -> f64| f(&a) + f(&b);
    println!(
        "| webhooks accepted (message-ingest) | {} | {} |",
        share(a.accepted, total(|c| c.accepted)),
        share(b.accepted, total(|c| c.accepted))
    );
    println!(
        "| messages stored (its persister, one durable consumer) | {} | {} |",
        share(a.stored, total(|c| c.stored)),
        share(b.stored, total(|c| c.stored))
    );
    let events = |c: &Counts| c.log_messages * EVENTS_PER_MESSAGE as f64;
    println!(
        "| log events stored (log-retention, one durable consumer; {EVENTS_PER_MESSAGE} per message) | {} | {} |",
        share(events(&a), events(&a) + events(&b)),
        share(events(&b), events(&a) + events(&b))
    );
    let messages = log_events.div_ceil(EVENTS_PER_MESSAGE) as f64;
    let redelivered = total(|c| c.log_messages) - messages;
    println!();
    println!(
        "Every webhook was answered 2xx and stored once (rows counted); every log event stored once; {} log message(s) redelivered between the replicas.",
        redelivered.max(0.0)
    );
    Ok(())
}
