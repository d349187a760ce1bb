//! Every gateway process follows the operators' changes announced on the
//! bus (core NATS fan-out: each replica gets each event): a registered or
//! retired number updates the registry and the rendered pages at once,
//! whatever `gateway.registry_cache_ms`; a hidden message leaves the page
//! caches, the hot lists and the open pages of its number.

use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use proto::events::v1::{MessageHidden, NumberRegistered, NumberRetired};
use store::Registration;
use tokio_util::sync::CancellationToken;

use super::ops;
use crate::AppState;

enum Change {
    Registered(NumberRegistered),
    Retired(NumberRetired),
    Hidden(MessageHidden),
}

async fn changes(bus: &bus::Bus) -> Result<BoxStream<'static, Change>, bus::BusError> {
    let registered = bus.subscribe::<NumberRegistered>().await?;
    let retired = bus.subscribe::<NumberRetired>().await?;
    let hidden = bus.subscribe::<MessageHidden>().await?;
    Ok(futures::stream::select(
        futures::stream::select(
            registered.map(Change::Registered),
            retired.map(Change::Retired),
        ),
        hidden.map(Change::Hidden),
    )
    .boxed())
}

async fn apply(state: &AppState, change: Change) {
    match change {
        Change::Registered(event) => {
            ops::number_changed(state, &event.e164, Registration::Active).await;
        }
        Change::Retired(event) => {
            ops::number_changed(state, &event.e164, Registration::Retired).await;
        }
        Change::Hidden(event) => {
            ops::message_changed(state, &event.number, event.id, event.hidden).await;
        }
    }
}

/// Follows the changes until `shutdown`, subscribing again after a bus failure.
pub fn spawn(state: AppState, shutdown: CancellationToken) {
    tokio::spawn(async move {
        loop {
            match changes(&state.bus).await {
                Ok(mut events) => loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        next = events.next() => match next {
                            Some(change) => apply(&state, change).await,
                            None => break,
                        },
                    }
                },
                Err(err) => {
                    tracing::warn!(error = %err, "operator changes not followed; retrying");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    });
}
