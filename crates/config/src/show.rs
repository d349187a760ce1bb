//! How settings are written for people to read (`Serialize`, `Debug`):
//! never a secret, never a password in a URL.

use serde::{Serialize, Serializer};

use crate::Secret;

/// What a secret is written as: `""` when unset, else `<redacted>`.
fn shown(secret: &str) -> &'static str {
    if secret.is_empty() { "" } else { "<redacted>" }
}

/// `serialize_with` for secrets kept as plain strings.
pub(crate) fn secret<S: Serializer>(value: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(shown(value))
}

/// `serialize_with` for URLs that may carry credentials.
pub(crate) fn url<S: Serializer>(value: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&redact_url(value))
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(shown(self.expose()))
    }
}

/// Debug of a backend's settings: its URL without a password (the other
/// fields are paths, names, or [`Secret`]s, which redact themselves).
macro_rules! debug_redacting_url {
    ($name:ident { $($field:ident),* }) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("url", &$crate::redact_url(&self.url))
                    $(.field(stringify!($field), &self.$field))*
                    .finish()
            }
        }
    };
}
pub(crate) use debug_redacting_url;

/// Query parameters whose values are credentials (`?password=`,
/// `?sslpassword=`, `?token=`...).
fn is_credential(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["pass", "token", "secret", "key", "auth"]
        .iter()
        .any(|word| name.contains(word))
}

/// `url` with its credentials replaced by `***`: the password of
/// `user:password@` (a lone `token@`, as NATS takes, entirely) and the
/// values of credential query parameters. A comma-separated list of URLs
/// (`nats.url` of a cluster) has each one redacted; a comma not followed
/// by `scheme://` stays inside its URL (a query value, Postgres's hosts).
pub fn redact_url(url: &str) -> String {
    let mut urls: Vec<String> = Vec::new();
    for piece in url.split(',') {
        match urls.last_mut() {
            Some(last) if !starts_with_scheme(piece.trim_start()) => {
                last.push(',');
                last.push_str(piece);
            }
            _ => urls.push(piece.to_owned()),
        }
    }
    urls.iter()
        .map(|one| redact_one(one))
        .collect::<Vec<_>>()
        .join(",")
}

/// True when `text` begins with `scheme://` (RFC 3986 scheme characters).
fn starts_with_scheme(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// [`redact_url`] of one URL.
fn redact_one(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("***@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((query, fragment)) => (query, Some(fragment)),
                None => (query, None),
            };
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if is_credential(name) => format!("{name}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
            format!("{path}?{}{fragment}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn urls_lose_their_credentials_only() {
        for (url, shown) in [
            ("", ""),
            ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
            (
                "postgres://cloudsms:p@ss@db:5432/cloudsms",
                "postgres://cloudsms:***@db:5432/cloudsms",
            ),
            ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
            ("nats://t0ken@nats:4222", "nats://***@nats:4222"),
            (
                "postgres://db/cloudsms?user=app&password=s3cret&sslmode=require",
                "postgres://db/cloudsms?user=app&password=***&sslmode=require",
            ),
            (
                "rediss://cache:6380/#insecure",
                "rediss://cache:6380/#insecure",
            ),
            (
                "sqlite:///var/lib/cloudsms/a@b.db?mode=rwc",
                "sqlite:///var/lib/cloudsms/a@b.db?mode=rwc",
            ),
            (
                "nats://u:one@a:4222, nats://two@b:4222,tls://c:4222",
                "nats://u:***@a:4222, nats://***@b:4222,tls://c:4222",
            ),
            (
                "postgres://u:p@h1:5432,h2:5432/db?options=a,b&password=s,t",
                "postgres://u:***@h1:5432,h2:5432/db?options=a,b&password=***",
            ),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
