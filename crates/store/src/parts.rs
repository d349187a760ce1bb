//! Parts of concatenated SMS, held until every part has arrived (or the wait
//! times out). In the database rather than in memory, so the parts of one
//! message may reach different replicas and a restart loses nothing.
//!
//! A published group stays as a tombstone until the next sweep after the
//! timeout, so a part retried meanwhile is recognised instead of starting a
//! new group.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{Store, StoreError};

mod entity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "message_parts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub provider: String,
        pub to: String,
        pub from: String,
        pub concat_ref: String,
        pub part: i32,
        pub total: i32,
        #[sea_orm(column_type = "Text")]
        pub text: String,
        pub received_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        pub message_id: String,
        pub published_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use entity::{ActiveModel, Column, Entity};

/// A stored part of a concatenated SMS (`published_at` is set once its
/// message was published).
pub type MessagePart = entity::Model;

/// A part to store; a group is identified by (provider, to, from, concat_ref).
#[derive(Debug, Clone)]
pub struct NewMessagePart {
    /// Provider route.
    pub provider: String,
    /// Receiving number as the provider sent it.
    pub to: String,
    /// Sender as the provider sent it.
    pub from: String,
    /// The concatenation reference shared by the parts.
    pub concat_ref: String,
    /// 1-based position of this part.
    pub part: i32,
    /// Number of parts of the whole message.
    pub total: i32,
    /// Text of this part.
    pub text: String,
    /// When the provider says this part arrived.
    pub received_at: Option<DateTime<Utc>>,
    /// The provider's id of this part.
    pub message_id: String,
}

/// Where a group stands after a part was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartGroup {
    /// Parts are still missing.
    Pending,
    /// Every part is here (ordered by position): publish, then mark published.
    Complete(Vec<MessagePart>),
    /// The group's message was already published: this part was a retry.
    Published,
}

/// True when `parts` hold every position `1..=total` of the first part's total.
fn complete(parts: &[MessagePart]) -> bool {
    let Some(first) = parts.first() else {
        return false;
    };
    let have: BTreeSet<i32> = parts.iter().map(|p| p.part).collect();
    (1..=first.total).all(|n| have.contains(&n))
}

impl Store {
    /// Stores a part once (a retried part changes nothing) and says whether
    /// its group is now complete. Its text fields are stored without the
    /// characters no store accepts ([`domain::storable_text`]): U+0000 in a
    /// part must not make the provider retry it forever.
    pub async fn insert_message_part(&self, new: NewMessagePart) -> Result<PartGroup, StoreError> {
        let storable = |text: String| domain::storable_text(&text).into_owned();
        let new = NewMessagePart {
            provider: storable(new.provider),
            to: storable(new.to),
            from: storable(new.from),
            concat_ref: storable(new.concat_ref),
            text: storable(new.text),
            message_id: storable(new.message_id),
            ..new
        };
        Entity::insert(ActiveModel {
            provider: Set(new.provider.clone()),
            to: Set(new.to.clone()),
            from: Set(new.from.clone()),
            concat_ref: Set(new.concat_ref.clone()),
            part: Set(new.part),
            total: Set(new.total),
            text: Set(new.text),
            received_at: Set(new.received_at),
            created_at: Set(Utc::now()),
            message_id: Set(new.message_id),
            published_at: Set(None),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([
                Column::Provider,
                Column::To,
                Column::From,
                Column::ConcatRef,
                Column::Part,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        let parts = Entity::find()
            .filter(Column::Provider.eq(&new.provider))
            .filter(Column::To.eq(&new.to))
            .filter(Column::From.eq(&new.from))
            .filter(Column::ConcatRef.eq(&new.concat_ref))
            .order_by_asc(Column::Part)
            .all(&self.db)
            .await?;
        Ok(if parts.iter().any(|p| p.published_at.is_some()) {
            PartGroup::Published
        } else if complete(&parts) {
            PartGroup::Complete(parts)
        } else {
            PartGroup::Pending
        })
    }

    /// Up to `limit` groups whose first part was stored before `cutoff`, each
    /// with all its parts ordered by position: incomplete ones to publish
    /// with markers, published ones (tombstones) to forget. Nothing is
    /// deleted here: the caller deletes with [`Store::delete_message_parts`]
    /// once done, so a failed publish is retried on the next sweep.
    pub async fn stale_message_part_groups(
        &self,
        cutoff: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Vec<MessagePart>>, StoreError> {
        let old = Entity::find()
            .filter(Column::CreatedAt.lt(cutoff))
            .order_by_asc(Column::CreatedAt)
            .limit(limit.saturating_mul(8).max(1))
            .all(&self.db)
            .await?;
        let mut keys: Vec<(String, String, String, String)> = Vec::new();
        for p in old {
            let key = (p.provider, p.to, p.from, p.concat_ref);
            if !keys.contains(&key) {
                keys.push(key);
            }
            if keys.len() as u64 >= limit {
                break;
            }
        }
        let mut groups = Vec::with_capacity(keys.len());
        for (provider, to, from, concat_ref) in keys {
            let parts = Entity::find()
                .filter(Column::Provider.eq(provider))
                .filter(Column::To.eq(to))
                .filter(Column::From.eq(from))
                .filter(Column::ConcatRef.eq(concat_ref))
                .order_by_asc(Column::Part)
                .all(&self.db)
                .await?;
            if !parts.is_empty() {
                groups.push(parts);
            }
        }
        Ok(groups)
    }

    /// Marks parts (by id) as published: they stay as a tombstone that
    /// recognises retries until the sweep deletes them.
    pub async fn mark_message_parts_published(&self, ids: &[i64]) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let result = Entity::update_many()
            .col_expr(Column::PublishedAt, Expr::value(Some(Utc::now())))
            .filter(Column::Id.is_in(ids.iter().copied()))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected)
    }

    /// Deletes parts by id; returns how many went.
    pub async fn delete_message_parts(&self, ids: &[i64]) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let result = Entity::delete_many()
            .filter(Column::Id.is_in(ids.iter().copied()))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::test_store::TempStore;

    fn part(n: i32, total: i32, text: &str) -> NewMessagePart {
        NewMessagePart {
            provider: "vonage".into(),
            to: "447700900123".into(),
            from: "447700900999".into(),
            concat_ref: "42".into(),
            part: n,
            total,
            text: text.into(),
            received_at: None,
            message_id: format!("id-{n}"),
        }
    }

    #[tokio::test]
    async fn parts_in_any_order_complete_once_and_retries_change_nothing() {
        let store = TempStore::new("parts-order").await;
        assert_eq!(
            store.insert_message_part(part(3, 3, "c")).await.unwrap(),
            PartGroup::Pending
        );
        assert_eq!(
            store.insert_message_part(part(1, 3, "a")).await.unwrap(),
            PartGroup::Pending
        );
        assert_eq!(
            store.insert_message_part(part(1, 3, "A?")).await.unwrap(),
            PartGroup::Pending
        );
        let PartGroup::Complete(all) = store.insert_message_part(part(2, 3, "b")).await.unwrap()
        else {
            panic!("complete expected");
        };
        let text: String = all.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(text, "abc");
        let ids: Vec<i64> = all.iter().map(|p| p.id).collect();
        assert_eq!(store.mark_message_parts_published(&ids).await.unwrap(), 3);
        assert_eq!(
            store.insert_message_part(part(2, 3, "b")).await.unwrap(),
            PartGroup::Published
        );
        assert_eq!(store.delete_message_parts(&ids).await.unwrap(), 3);
    }

    #[tokio::test]
    async fn parts_are_stored_without_nul() {
        let store = TempStore::new("parts-nul").await;
        let mut first = part(1, 2, "a\0b");
        first.concat_ref = "4\u{0}2".into();
        first.message_id = "id\0-1".into();
        assert_eq!(
            store.insert_message_part(first).await.unwrap(),
            PartGroup::Pending
        );
        let mut second = part(2, 2, "c\0");
        second.concat_ref = "42".into();
        let PartGroup::Complete(all) = store.insert_message_part(second).await.unwrap() else {
            panic!("one group, complete");
        };
        let text: String = all.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(text, "abc");
        assert_eq!(all[0].concat_ref, "42");
        assert_eq!(all[0].message_id, "id-1");
    }

    #[tokio::test]
    async fn stale_groups_are_listed_until_deleted() {
        let store = TempStore::new("parts-stale").await;
        store.insert_message_part(part(2, 3, "b")).await.unwrap();
        let none = store
            .stale_message_part_groups(Utc::now() - chrono::Duration::seconds(60), 10)
            .await
            .unwrap();
        assert!(none.is_empty());
        let groups = store
            .stale_message_part_groups(Utc::now() + chrono::Duration::seconds(1), 10)
            .await
            .unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0][0].part, 2);
        store
            .delete_message_parts(&[groups[0][0].id])
            .await
            .unwrap();
        assert!(
            store
                .stale_message_part_groups(Utc::now() + chrono::Duration::seconds(1), 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
