//! Secret values: read like any string, never shown by `Debug` nor written
//! by `Serialize`.

use serde::Deserialize;

/// A secret value: deserialised as a plain string, never shown by `Debug`
/// nor written by `Serialize` (which writes `<redacted>`, or `""` when unset).
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when unset.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(redacted(&self.0))
    }
}

/// What `Debug` shows of a secret: `<unset>` or `<redacted>`.
pub(crate) fn redacted(secret: &str) -> &'static str {
    if secret.is_empty() {
        "<unset>"
    } else {
        "<redacted>"
    }
}
