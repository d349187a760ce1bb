//! A migrated SQLite store in a temporary file, for the crate's tests; the
//! file goes when the store does.

use std::ops::Deref;
use std::path::PathBuf;

use chrono::Utc;

use crate::Store;

/// A [`Store`] on its own SQLite file.
pub(crate) struct TempStore {
    store: Store,
    path: PathBuf,
}

impl TempStore {
    /// A fresh, migrated store whose file name says `name`.
    pub(crate) async fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "cloudsms-{name}-{}-{}.db",
            std::process::id(),
            Utc::now().timestamp_micros()
        ));
        let store = Store::connect(&format!("sqlite://{}?mode=rwc", path.display()), 1)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        Self { store, path }
    }
}

impl Deref for TempStore {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = self.path.clone().into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    }
}
