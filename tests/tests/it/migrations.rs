//! Replicas starting together on a fresh database all come up: migrations
//! are serialised, not raced.

use cloudsms_tests::{Isolation, Mode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_on_a_fresh_database_all_succeed() {
    let iso = Isolation::new(Mode::Distributed).await;
    let url = iso.settings.database_url();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let store = store::Store::connect(&url, 2).await?;
            store.migrate().await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    iso.cleanup().await;
}

/// Messages of every kind the backfill meets: (sender, body).
const OLD_MESSAGES: [(&str, &str); 5] = [
    ("+14155550123", "Your Telegram code is 31415"),
    ("WhatsApp", "Your WhatsApp code: 123-456"),
    ("Bank", "Your balance is $12"),
    ("GOOGLE", "G-123456 is your Google verification code."),
    ("1069", "【腾讯科技】验证码：839201，5分钟内有效"),
];

/// Rows stored before the code columns existed get their code and service
/// from the migration, in chunks; a run cut short resumes without redoing
/// what it filled; rows an older version writes later are filled by the
/// next `migrate` (every start, every `cloudsms migrate`).
async fn the_code_migration_fills_rows_stored_before_it(mode: Mode) {
    use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
    use sea_orm_migration::MigratorTrait;
    use store::entities::message;

    let iso = Isolation::new(mode).await;
    let store = store::Store::connect(&iso.settings.database_url(), 2)
        .await
        .unwrap();
    let db = store.connection();
    // The schema as it was before the code columns.
    store::migration::Migrator::up(db, Some(2)).await.unwrap();
    let at = chrono::Utc::now();
    let old_row = |i: usize| {
        let (sender, body) = OLD_MESSAGES[i % OLD_MESSAGES.len()];
        message::ActiveModel {
            number: sea_orm::Set("+447700900123".into()),
            provider: sea_orm::Set("test".into()),
            provider_message_id: sea_orm::Set(format!("old-{i}")),
            sender: sea_orm::Set(sender.into()),
            body: sea_orm::Set(body.into()),
            received_at: sea_orm::Set(at),
            stored_at: sea_orm::Set(at),
            ..Default::default()
        }
    };
    // More rows than one chunk; inserted without the columns they lack.
    for chunk in (0..700).collect::<Vec<_>>().chunks(100) {
        message::Entity::insert_many(chunk.iter().map(|&i| old_row(i)))
            .exec_without_returning(db)
            .await
            .unwrap();
    }
    // An earlier run got as far as adding the columns and filling a few rows.
    for column in ["code", "service"] {
        db.execute_unprepared(&format!("ALTER TABLE messages ADD COLUMN {column} TEXT"))
            .await
            .unwrap();
    }
    db.execute_unprepared("UPDATE messages SET code = 'kept', service = 'kept' WHERE id <= 50")
        .await
        .unwrap();

    store.migrate().await.unwrap();

    let check = |rows: &[message::Model]| {
        for row in rows {
            if row.id <= 50 {
                assert_eq!(row.code.as_deref(), Some("kept"), "filled before, kept");
                continue;
            }
            let code = domain::extract_code(&row.body).unwrap_or_default();
            let service = domain::recognise_service(&row.sender, &row.body).unwrap_or_default();
            assert_eq!(row.code.as_deref(), Some(code.as_str()), "{}", row.body);
            assert_eq!(row.service.as_deref(), Some(service), "{}", row.body);
        }
    };
    let rows = message::Entity::find()
        .order_by_asc(message::Column::Id)
        .all(db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 700);
    check(&rows);
    let found: Vec<&str> = rows.iter().filter_map(|r| r.code.as_deref()).collect();
    assert!(found.contains(&"123456") && found.contains(&"839201") && found.contains(&""));

    // A version without the columns writes on during a rollout (or after a
    // rollback): the next migrate fills those rows too.
    message::Entity::insert(old_row(700))
        .exec_without_returning(db)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let late = message::Entity::find()
        .order_by_desc(message::Column::Id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(late.provider_message_id, "old-700");
    check(std::slice::from_ref(&late));
    assert!(late.code.is_some());
    iso.cleanup().await;
}
cloudsms_tests::both_modes!(the_code_migration_fills_rows_stored_before_it);
