//! The operators' tokens: `gateway.admin_token` (the operator `admin`) and
//! `gateway.admin_tokens` (names with the SHA-256 of their tokens), held as
//! hashes. Rotated without a restart: the gateway reads its configuration
//! again (the same file and environment as at start, through the config
//! crate's loader) every [`RELOAD_EVERY`] and on SIGHUP; a list that does
//! not validate is logged and the one in use kept. A removed token stops
//! working at once, and so do the sessions opened with it (see `session`).

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

/// How often the configuration is read again.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    sha256: [u8; 32],
}

/// The tokens in use; cheap to read from every request.
#[derive(Debug, Default)]
pub struct Tokens {
    entries: RwLock<Arc<Vec<Entry>>>,
}

fn entries(settings: &config::GatewaySettings) -> Vec<Entry> {
    let mut list = Vec::new();
    let token = settings.admin_token.expose();
    if !token.is_empty() {
        list.push(Entry {
            name: config::DEFAULT_OPERATOR.to_owned(),
            sha256: Sha256::digest(token.as_bytes()).into(),
        });
    }
    list.extend(settings.admin_tokens.iter().filter_map(|t| {
        Some(Entry {
            name: t.name.clone(),
            sha256: t.digest()?,
        })
    }));
    list
}

impl Tokens {
    /// The tokens `settings` configure.
    pub fn new(settings: &config::GatewaySettings) -> Self {
        Self {
            entries: RwLock::new(Arc::new(entries(settings))),
        }
    }

    /// Uses the tokens of `settings` from now on; true when they changed.
    pub fn set(&self, settings: &config::GatewaySettings) -> bool {
        let new = entries(settings);
        let mut current = self.entries.write();
        if **current == new {
            return false;
        }
        *current = Arc::new(new);
        true
    }

    fn current(&self) -> Arc<Vec<Entry>> {
        self.entries.read().clone()
    }

    /// No operator at all: the operator pages are off.
    pub fn is_empty(&self) -> bool {
        self.current().is_empty()
    }

    /// The name of the operator whose token `given` is. Compared through
    /// SHA-256 in constant time with every token (no early exit), so
    /// neither the token's length nor which one matched leaks by timing.
    pub fn operator(&self, given: &str) -> Option<String> {
        let digest: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        let mut found = None;
        for entry in self.current().iter() {
            if platform::constant_time_eq(&digest, &entry.sha256) && found.is_none() {
                found = Some(entry.name.clone());
            }
        }
        found
    }

    /// True while an operator named `name` has a token.
    pub fn knows(&self, name: &str) -> bool {
        self.current().iter().any(|e| e.name == name)
    }

    /// The operators' names, for the log.
    fn names(&self) -> Vec<String> {
        self.current().iter().map(|e| e.name.clone()).collect()
    }
}

/// Reads the configuration again; the tokens change only when it validates.
async fn reload(settings: &config::Settings, tokens: &Tokens, last_error: &mut Option<String>) {
    let current = settings.clone();
    let Ok(Some(loaded)) = tokio::task::spawn_blocking(move || current.reload()).await else {
        return;
    };
    match loaded {
        Ok(fresh) => {
            *last_error = None;
            if tokens.set(&fresh.gateway) {
                tracing::info!(operators = ?tokens.names(), "operator tokens reloaded");
            }
        }
        Err(err) => {
            let text = err.to_string();
            if last_error.as_deref() != Some(&text) {
                tracing::warn!(error = %text, "operator tokens not reloaded: the configuration does not validate; the previous ones stay");
                *last_error = Some(text);
            }
        }
    }
}

/// Re-reads the tokens every [`RELOAD_EVERY`] and on SIGHUP until
/// `shutdown`; nothing to do for settings built in code.
pub fn spawn_reload(
    settings: Arc<config::Settings>,
    tokens: Arc<Tokens>,
    shutdown: CancellationToken,
) {
    if settings.source == config::Source::Built {
        return;
    }
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut last_error = None;
        loop {
            #[cfg(unix)]
            let signalled = async {
                match hangup.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let signalled = std::future::pending::<()>();
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(RELOAD_EVERY) => {}
                () = signalled => tracing::info!("SIGHUP: reading the operator tokens again"),
            }
            reload(&settings, &tokens, &mut last_error).await;
        }
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn settings(toml: &str) -> config::Settings {
        config::Settings::from_toml_overrides(toml).unwrap()
    }

    #[test]
    fn named_tokens_and_the_admin_token_name_their_operators() {
        let alice = hex::encode(Sha256::digest(b"alice-token"));
        let s = settings(&format!(
            "[gateway]\nadmin_token = \"root-token\"\n\
             admin_tokens = [{{ name = \"alice\", token_sha256 = \"{}\" }}]\n",
            alice.to_uppercase()
        ));
        let tokens = Tokens::new(&s.gateway);
        assert_eq!(tokens.operator("root-token").as_deref(), Some("admin"));
        assert_eq!(tokens.operator("alice-token").as_deref(), Some("alice"));
        assert_eq!(tokens.operator("alice-token "), None);
        assert_eq!(tokens.operator(""), None);
        assert!(tokens.knows("alice"));
        assert!(!tokens.set(&s.gateway), "unchanged");
        assert!(tokens.set(&settings("").gateway));
        assert!(tokens.is_empty());
        assert_eq!(tokens.operator("alice-token"), None);
        assert!(!tokens.knows("alice"));
    }
}
