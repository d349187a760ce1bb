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
