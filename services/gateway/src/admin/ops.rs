//! The operator's actions on numbers and messages, shared by the console
//! and the JSON API: each changes the database, announces the change on the
//! bus (`NumberRegistered`, `NumberRetired`, `MessageHidden`: every gateway
//! and message-ingest replica updates at once, see `follow`), applies it to
//! this process right away, and records it in the audit log.

use chrono::Utc;
use domain::E164;
use proto::events::v1::{MessageHidden, NumberRegistered, NumberRetired};
use store::{MessageRow, NumberRow, Registration, StoreError};

use super::audit;
use super::session::Operator;
use crate::AppState;

/// What adding a number did.
pub enum Added {
    /// Registered now.
    New(NumberRow),
    /// It was registered already (active or retired): nothing changed.
    Exists(NumberRow),
}

fn now() -> Option<proto::Timestamp> {
    Some(proto::timestamp_from_unix_millis(
        Utc::now().timestamp_millis(),
    ))
}

/// Publishes `event`; a failure is logged (the change is in the database,
/// other replicas see it after their registry cache time).
async fn announce<E: bus::Event>(state: &AppState, event: &E, what: &str) {
    if let Err(err) = state.bus.publish(event).await {
        tracing::warn!(error = %err, what, "operator change not announced on the bus");
    }
}

async fn audit(state: &AppState, operator: &Operator, action: &str, target: &str, detail: &str) {
    // A failure is logged by `record` with everything the event said.
    let _ = audit::record(
        state,
        audit::Action {
            operator: &operator.name,
            action,
            target,
            detail,
        },
    )
    .await;
}

/// This process learns that `e164` is now `registration`: its registry,
/// its rendered pages, its activity snapshot and the site-wide hot list,
/// which lists only active numbers' messages (also run for the events of
/// other replicas).
pub async fn number_changed(state: &AppState, e164: &str, registration: Registration) {
    state.registry.forget(e164);
    state.registry.remember(e164, registration);
    state.live.pages.invalidate(e164);
    state.live.pages.invalidate(crate::live::LATEST);
    state.activity.expire();
    if let Err(err) = state.cache.forget_lists(&[cache::HotList::Latest]).await {
        tracing::warn!(error = %err, "latest hot list not dropped after a number change");
    }
}

/// This process learns that message `id` of `number` was hidden (or shown
/// again): open pages drop it, rendered pages and the hot lists are dropped
/// (they refill from the database, which leaves hidden messages out).
pub async fn message_changed(state: &AppState, number: &str, id: i64, hidden: bool) {
    state.live.hide(number, id, hidden);
    state.activity.expire();
    let lists = [cache::HotList::Number(number), cache::HotList::Latest];
    if let Err(err) = state.cache.forget_lists(&lists).await {
        tracing::warn!(error = %err, "hot lists not dropped after a hidden message");
    }
}

/// Registers `e164` with `label` and `provider`, unless it is registered.
pub async fn add_number(
    state: &AppState,
    operator: &Operator,
    e164: &E164,
    label: &str,
    provider: &str,
) -> Result<Added, StoreError> {
    if let Some(existing) = state.store.find_number(e164.as_str()).await? {
        return Ok(Added::Exists(existing));
    }
    let row = state.store.add_number_from(e164, label, provider).await?;
    registered(state, &row).await;
    audit(state, operator, "number.add", e164.as_str(), label).await;
    Ok(Added::New(row))
}

async fn registered(state: &AppState, row: &NumberRow) {
    number_changed(state, &row.e164, Registration::Active).await;
    let event = NumberRegistered {
        e164: row.e164.clone(),
        label: row.label.clone(),
        provider: row.provider.clone(),
        at: now(),
    };
    announce(state, &event, "number registered").await;
}

/// Retires `e164`; `None` when it is not registered.
pub async fn retire(
    state: &AppState,
    operator: &Operator,
    e164: &E164,
) -> Result<Option<NumberRow>, StoreError> {
    if !state.store.retire_number(e164).await? {
        return Ok(None);
    }
    number_changed(state, e164.as_str(), Registration::Retired).await;
    let event = NumberRetired {
        e164: e164.as_str().to_owned(),
        at: now(),
    };
    announce(state, &event, "number retired").await;
    audit(state, operator, "number.retire", e164.as_str(), "").await;
    state.store.find_number(e164.as_str()).await
}

/// Makes a registered `e164` active again; `None` when it is not registered.
pub async fn reactivate(
    state: &AppState,
    operator: &Operator,
    e164: &E164,
) -> Result<Option<NumberRow>, StoreError> {
    if state.store.find_number(e164.as_str()).await?.is_none() {
        return Ok(None);
    }
    let row = state.store.add_number(e164, "").await?;
    registered(state, &row).await;
    audit(state, operator, "number.reactivate", e164.as_str(), "").await;
    Ok(Some(row))
}

/// Gives `e164` its own message period (`None`: `messages.keep_days`);
/// `None` when it is not registered. Pages follow within the store's
/// re-read of the periods (a second).
pub async fn set_keep_days(
    state: &AppState,
    operator: &Operator,
    e164: &E164,
    days: Option<u32>,
) -> Result<Option<NumberRow>, StoreError> {
    if !state.store.set_number_keep_days(e164, days).await? {
        return Ok(None);
    }
    state.live.pages.invalidate(e164.as_str());
    state.live.pages.invalidate(crate::live::LATEST);
    let detail = days.map_or_else(|| "default".to_owned(), |days| days.to_string());
    audit(state, operator, "number.keep_days", e164.as_str(), &detail).await;
    state.store.find_number(e164.as_str()).await
}

/// Sets the label of `e164`; `None` when it is not registered.
pub async fn relabel(
    state: &AppState,
    operator: &Operator,
    e164: &E164,
    label: &str,
) -> Result<Option<NumberRow>, StoreError> {
    if !state.store.set_number_label(e164, label).await? {
        return Ok(None);
    }
    state.live.pages.invalidate(e164.as_str());
    audit(state, operator, "number.label", e164.as_str(), label).await;
    state.store.find_number(e164.as_str()).await
}

/// Hides message `id` with `reason` (`None`: shows it again, `reason`
/// then only for the audit log); `None` when there is no such message.
pub async fn set_hidden(
    state: &AppState,
    operator: &Operator,
    id: i64,
    hide: bool,
    reason: &str,
) -> Result<Option<MessageRow>, StoreError> {
    let hidden = hide.then_some((reason, operator.name.as_str()));
    let Some(row) = state.store.set_message_hidden(id, hidden).await? else {
        return Ok(None);
    };
    message_changed(state, &row.number, row.id, hide).await;
    let event = MessageHidden {
        id: row.id,
        number: row.number.clone(),
        hidden: hide,
        reason: reason.to_owned(),
        at: now(),
    };
    announce(state, &event, "message hidden").await;
    let action = if hide {
        "message.hide"
    } else {
        "message.unhide"
    };
    audit(state, operator, action, &row.id.to_string(), reason).await;
    if hide {
        // A hidden message's open takedown reports are answered.
        let resolved = state
            .store
            .resolve_reports_of(row.id, &operator.name)
            .await?;
        if resolved > 0 {
            let detail = format!("{resolved} open report(s) of message {}", row.id);
            audit(
                state,
                operator,
                "report.resolve",
                &row.id.to_string(),
                &detail,
            )
            .await;
        }
    }
    Ok(Some(row))
}
