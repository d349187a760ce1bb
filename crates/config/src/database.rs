//! `[database]`: the SMS database connection.

use serde::{Deserialize, Serialize};

use crate::show::{self, debug_redacting_url};
use crate::{ConfigError, validate};

/// Database connection; an empty URL selects SQLite in `data_dir`.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://...` or `sqlite://...`, or empty.
    #[serde(serialize_with = "show::url")]
    pub url: String,
    /// Largest connection pool per service.
    pub max_connections: u32,
}

debug_redacting_url!(DatabaseSettings { max_connections });

impl DatabaseSettings {
    /// A URL.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        validate::url("database.url", &self.url)
    }
}
