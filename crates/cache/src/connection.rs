//! The connection to the Redis master: one address (the
//! `ConnectionManager` reconnects to it), or the master the Sentinels name,
//! followed across a failover without a restart.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{
    Cmd, ConnectionAddr, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult,
    ServerErrorKind, TlsMode, Value,
};

use crate::CacheError;

/// How often the Sentinels are asked for the master while nothing fails
/// (an idle process follows a failover too).
const POLL: Duration = Duration::from_secs(1);
/// Fewest time between two questions to the Sentinels after errors.
const AFTER_ERROR: Duration = Duration::from_millis(200);
/// Longest a question to the Sentinels (and the new master's connection) may take.
const ASK_TIMEOUT: Duration = Duration::from_secs(3);

/// What to do on the new master before any command of this process goes
/// to it (the cache drops its hot lists: replication is asynchronous).
pub(crate) type OnSwitch =
    Box<dyn Fn(ConnectionManager) -> BoxFuture<'static, RedisResult<()>> + Send + Sync>;

/// A Redis connection for commands: clone it per call, like a
/// `ConnectionManager`.
#[derive(Clone)]
pub(crate) enum Connection {
    /// One server.
    Direct(ConnectionManager),
    /// The master the Sentinels name.
    Followed(Arc<Followed>),
}

/// The current master and how to find the next one.
pub(crate) struct Followed {
    current: parking_lot::RwLock<Current>,
    sentinels: tokio::sync::Mutex<Asked>,
    config: ConnectionManagerConfig,
    on_switch: OnSwitch,
}

#[derive(Clone)]
struct Current {
    conn: ConnectionManager,
    /// `host:port` (compared to find a change).
    addr: String,
}

struct Asked {
    client: SentinelClient,
    last: Instant,
}

impl Connection {
    /// True when the master is found through Sentinels (and may change).
    pub(crate) fn follows_failover(&self) -> bool {
        matches!(self, Self::Followed(_))
    }

    /// Connects to `redis.url`, or to the master `redis.sentinels` name
    /// (see [`Connection::follow`]), with the credentials and TLS files of
    /// `redis`.
    pub(crate) async fn open(
        redis: &config::RedisSettings,
        on_switch: OnSwitch,
    ) -> Result<Self, CacheError> {
        // TCP_NODELAY: a request written while an earlier one is unanswered
        // must not wait for the server's delayed ACK (40 ms on Linux).
        let tcp = redis::io::tcp::TcpSettings::default().set_nodelay(true);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_number_of_retries(2);
        if !redis.sentinels.is_empty() {
            let sentinels = sentinel_client(redis, tcp)?;
            return Ok(Self::follow(sentinels, config, on_switch).await?);
        }
        let info = redis::IntoConnectionInfo::into_connection_info(redis.url.as_str())?
            .set_tcp_settings(tcp);
        let settings = credentials(redis, info.redis_settings().clone());
        let info = info.set_redis_settings(settings);
        let client = if redis.ca_file.is_empty() && redis.cert_file.is_empty() {
            redis::Client::open(info)?
        } else {
            redis::Client::build_with_tls(info, tls_files(redis)?)?
        };
        Ok(Self::Direct(
            ConnectionManager::new_with_config(client, config).await?,
        ))
    }

    /// The master `sentinels` name now; a task asks them again every
    /// second, and every command that meets a lost connection or a
    /// `READONLY` answer (the master became a replica) makes the next
    /// one ask at once. On a change `on_switch` runs on the new master
    /// before it is used.
    pub(crate) async fn follow(
        sentinels: SentinelClient,
        config: ConnectionManagerConfig,
        on_switch: OnSwitch,
    ) -> RedisResult<Self> {
        let mut asked = Asked {
            client: sentinels,
            last: Instant::now(),
        };
        let client = ask(&mut asked.client).await?;
        let addr = client.get_connection_info().addr().to_string();
        let conn = ConnectionManager::new_with_config(client, config.clone()).await?;
        let followed = Arc::new(Followed {
            current: parking_lot::RwLock::new(Current { conn, addr }),
            sentinels: tokio::sync::Mutex::new(asked),
            config,
            on_switch,
        });
        tokio::spawn(poll(Arc::downgrade(&followed)));
        Ok(Self::Followed(followed))
    }
}

/// `settings` with the user name and password of `redis` (over the URL's).
fn credentials(
    redis: &config::RedisSettings,
    mut settings: redis::RedisConnectionInfo,
) -> redis::RedisConnectionInfo {
    if !redis.username.is_empty() {
        settings = settings.set_username(&redis.username);
    }
    if !redis.password.is_empty() {
        settings = settings.set_password(redis.password.expose());
    }
    settings
}

/// A client of the Sentinels of `redis` for its master: plain TCP to the
/// Sentinels (with `sentinel_password`); to the data nodes the scheme,
/// database and credentials of `redis.url` (when set), the user name,
/// password and TLS files of `redis`.
fn sentinel_client(
    redis: &config::RedisSettings,
    tcp: redis::io::tcp::TcpSettings,
) -> Result<SentinelClient, CacheError> {
    let mut sentinels = Vec::new();
    for address in &redis.sentinels {
        // Validated as host:port by the configuration.
        let (host, port) = address.rsplit_once(':').ok_or_else(|| {
            RedisError::from((
                ErrorKind::InvalidClientConfig,
                "redis.sentinels: not host:port",
            ))
        })?;
        let port = port.parse::<u16>().map_err(|_| {
            RedisError::from((ErrorKind::InvalidClientConfig, "redis.sentinels: bad port"))
        })?;
        sentinels.push(ConnectionAddr::Tcp(host.to_owned(), port));
    }
    let mut builder =
        SentinelClientBuilder::new(sentinels, &redis.master_name, SentinelServerType::Master)?
            .set_client_to_sentinel_tcp_settings(tcp.clone())
            .set_client_to_redis_tcp_settings(tcp);
    if !redis.sentinel_password.is_empty() {
        builder = builder.set_client_to_sentinel_password(redis.sentinel_password.expose());
    }
    let mut settings = redis::RedisConnectionInfo::default();
    if !redis.url.is_empty() {
        let info = redis::IntoConnectionInfo::into_connection_info(redis.url.as_str())?;
        if let ConnectionAddr::TcpTls { insecure, .. } = info.addr() {
            builder = builder.set_client_to_redis_tls_mode(if *insecure {
                TlsMode::Insecure
            } else {
                TlsMode::Secure
            });
            builder = builder.set_client_to_redis_certificates(tls_files(redis)?);
        }
        settings = info.redis_settings().clone();
    }
    let settings = credentials(redis, settings);
    builder = builder.set_client_to_redis_db(settings.db());
    if let Some(username) = settings.username() {
        builder = builder.set_client_to_redis_username(username);
    }
    if let Some(password) = settings.password() {
        builder = builder.set_client_to_redis_password(password);
    }
    Ok(builder.build()?)
}

/// The PEM files of `redis` read: the CA and a client certificate with its key.
fn tls_files(redis: &config::RedisSettings) -> Result<redis::TlsCertificates, CacheError> {
    let read = |key: &'static str, path: &str| {
        std::fs::read(path).map_err(|source| CacheError::File {
            key,
            path: path.to_owned(),
            source,
        })
    };
    let root_cert = (!redis.ca_file.is_empty())
        .then(|| read("redis.ca_file", &redis.ca_file))
        .transpose()?;
    let client_tls = if redis.cert_file.is_empty() {
        None
    } else {
        Some(redis::ClientTlsConfig {
            client_cert: read("redis.cert_file", &redis.cert_file)?,
            client_key: read("redis.key_file", &redis.key_file)?,
        })
    };
    Ok(redis::TlsCertificates {
        client_tls,
        root_cert,
    })
}

/// Asks the Sentinels again every [`POLL`] while the connection lives.
async fn poll(followed: Weak<Followed>) {
    loop {
        tokio::time::sleep(POLL).await;
        let Some(followed) = followed.upgrade() else {
            return;
        };
        followed.check(Duration::ZERO).await;
    }
}

/// The client of the master the Sentinels name (checked to answer `ROLE`
/// as a master).
async fn ask(sentinels: &mut SentinelClient) -> RedisResult<redis::Client> {
    tokio::time::timeout(ASK_TIMEOUT, sentinels.async_get_client())
        .await
        .map_err(|_| {
            RedisError::from((ErrorKind::Io, "the Redis Sentinels did not answer in time"))
        })?
}

impl Followed {
    /// Runs `op` on the current master; after an error that says the
    /// master may have changed, a task asks the Sentinels (the error is
    /// returned at once: the command is not repeated, it may have been
    /// applied).
    async fn run<'a, T, F>(
        self: &'a Arc<Self>,
        op: impl FnOnce(ConnectionManager) -> F,
    ) -> RedisResult<T>
    where
        F: Future<Output = RedisResult<T>> + 'a,
    {
        let conn = self.current.read().conn.clone();
        let result = op(conn).await;
        if let Err(err) = &result
            && master_may_have_changed(err)
        {
            let followed = Arc::clone(self);
            tokio::spawn(async move { followed.check(AFTER_ERROR).await });
        }
        result
    }

    /// Asks the Sentinels for the master unless another task is asking or
    /// they were asked less than `since` ago, and switches to it when it
    /// changed.
    async fn check(&self, since: Duration) {
        let Ok(mut asked) = self.sentinels.try_lock() else {
            return;
        };
        if asked.last.elapsed() < since {
            return;
        }
        asked.last = Instant::now();
        let client = match ask(&mut asked.client).await {
            Ok(client) => client,
            Err(err) => {
                tracing::debug!(%err, "redis: the Sentinels name no master now");
                return;
            }
        };
        let addr = client.get_connection_info().addr().to_string();
        if addr == self.current.read().addr {
            return;
        }
        match self.switch(client).await {
            Ok(conn) => {
                let old = std::mem::replace(
                    &mut *self.current.write(),
                    Current {
                        conn,
                        addr: addr.clone(),
                    },
                );
                tracing::warn!(from = %old.addr, to = %addr, "redis: the Sentinels name a new master; switched to it");
            }
            Err(err) => {
                tracing::warn!(%err, to = %addr, "redis: cannot switch to the new master yet");
            }
        }
    }

    /// A connection to the new master, `on_switch` run on it.
    async fn switch(&self, client: redis::Client) -> RedisResult<ConnectionManager> {
        let conn = tokio::time::timeout(
            ASK_TIMEOUT,
            ConnectionManager::new_with_config(client, self.config.clone()),
        )
        .await
        .map_err(|_| {
            RedisError::from((ErrorKind::Io, "the new Redis master did not answer in time"))
        })??;
        (self.on_switch)(conn.clone()).await?;
        Ok(conn)
    }
}

/// A lost or refused connection, a timeout, or `READONLY` (the server is a
/// replica now).
fn master_may_have_changed(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
        || matches!(
            err.kind(),
            ErrorKind::Server(ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown)
        )
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Direct(conn) => conn.req_packed_command(cmd),
            Self::Followed(followed) => followed
                .run(move |mut conn| async move { conn.send_packed_command(cmd).await })
                .boxed(),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Direct(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Followed(followed) => followed
                .run(move |mut conn| async move {
                    conn.send_packed_commands(pipeline, offset, count).await
                })
                .boxed(),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Direct(conn) => conn.get_db(),
            Self::Followed(followed) => followed.current.read().conn.get_db(),
        }
    }
}
