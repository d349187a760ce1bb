#![doc = include_str!("../README.md")]

mod show;

pub use show::redact_url;
mod validate;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::{Deserialize, Serialize};

/// The documented defaults, compiled into every binary.
pub const DEFAULTS_TOML: &str = include_str!("../defaults.toml");

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A layer could not be read or a key has the wrong type or name.
    #[error("invalid configuration: {0}")]
    Figment(Box<figment::Error>),
    /// A value parsed but makes no sense.
    #[error("invalid configuration: {key}: {reason}")]
    Invalid {
        /// Dotted key of the offending value.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl From<figment::Error> for ConfigError {
    fn from(err: figment::Error) -> Self {
        Self::Figment(Box::new(err))
    }
}

/// Every setting of every service; each service reads its own section.
///
/// `Serialize` writes the effective configuration for people to read
/// (`cloudsms config check`): every secret is written as `<redacted>` (`""`
/// when unset) and passwords in URLs as `***`, as `Debug` hides them.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Folder for embedded-mode data.
    pub data_dir: PathBuf,
    /// `deployment.environment.name` in traces and metrics.
    pub environment: String,
    /// NATS JetStream connection.
    pub nats: NatsSettings,
    /// Redis connection.
    pub redis: RedisSettings,
    /// Database connection.
    pub database: DatabaseSettings,
    /// Stream, subject and consumer behaviour.
    pub bus: BusSettings,
    /// Hot message lists.
    pub cache: CacheSettings,
    /// Logs and traces.
    pub telemetry: TelemetrySettings,
    /// The gateway service.
    pub gateway: GatewaySettings,
    /// The message-ingest service.
    pub ingest: IngestSettings,
    /// The captcha-verification service.
    pub captcha: CaptchaSettings,
    /// The log-retention service.
    pub retention: RetentionSettings,
    /// Limits of every HTTP server (pages, webhooks, health).
    pub http: HttpSettings,
}

/// Limits every HTTP server applies to its clients: slow or oversized
/// requests cost a bounded amount and never starve other clients.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Open connections per server; past it new ones wait in the kernel's
    /// backlog.
    pub max_connections: usize,
    /// Open connections per client address; past it new ones from that
    /// address are closed at once. 0: no per-address limit.
    pub max_connections_per_address: usize,
    /// Seconds a client has to send a request's headers (also how long an
    /// idle keep-alive connection stays open).
    pub header_read_timeout_secs: u64,
    /// Seconds from the headers to the response's start, the body's upload
    /// included; past it `408`. Event streams are not cut.
    pub request_timeout_secs: u64,
    /// Largest request head (request line and headers); past it `431`.
    pub max_header_bytes: usize,
    /// Concurrent HTTP/2 streams per connection (what the server announces
    /// in `SETTINGS_MAX_CONCURRENT_STREAMS`): one connection cannot open more
    /// requests at once than this.
    pub max_concurrent_streams: u32,
}

/// NATS connection; an empty URL selects the in-process bus.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSettings {
    /// `nats://host:port` (`tls://host:port` requires TLS), or empty.
    #[serde(serialize_with = "show::url")]
    pub url: String,
    /// User name, with `password` (instead of credentials in the URL).
    pub user: String,
    /// Password of `user`.
    pub password: Secret,
    /// NKey seed (`SU...`) to authenticate with.
    pub nkey_seed: Secret,
    /// Path of a `.creds` file (JWT and NKey seed) to authenticate with.
    pub creds_file: String,
    /// PEM file of the CA that signed the server's certificate (else the
    /// system's roots); setting it requires TLS.
    pub ca_file: String,
    /// PEM client certificate for mutual TLS (with `key_file`).
    pub cert_file: String,
    /// PEM private key of `cert_file`.
    pub key_file: String,
}

/// Redis connection; an empty URL selects the in-process cache.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://host:port/db`, `rediss://` for TLS (`rediss://host:port/#insecure`
    /// skips certificate checks: development only), or empty.
    #[serde(serialize_with = "show::url")]
    pub url: String,
    /// ACL user name (instead of one in the URL).
    pub username: String,
    /// Password (instead of one in the URL).
    pub password: Secret,
    /// PEM file of the CA that signed the server's certificate (else the
    /// system's roots).
    pub ca_file: String,
    /// PEM client certificate for mutual TLS (with `key_file`).
    pub cert_file: String,
    /// PEM private key of `cert_file`.
    pub key_file: String,
}

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

/// Debug of a backend's settings: its URL without a password (the other
/// fields are paths, names, or [`Secret`]s, which redact themselves).
macro_rules! debug_redacting_url {
    ($name:ident { $($field:ident),* }) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("url", &redact_url(&self.url))
                    $(.field(stringify!($field), &self.$field))*
                    .finish()
            }
        }
    };
}

debug_redacting_url!(NatsSettings {
    user,
    password,
    nkey_seed,
    creds_file,
    ca_file,
    cert_file,
    key_file
});
debug_redacting_url!(RedisSettings {
    username,
    password,
    ca_file,
    cert_file,
    key_file
});
debug_redacting_url!(DatabaseSettings { max_connections });

/// How events move over the bus.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BusSettings {
    /// Prefix of stream names and subjects (isolation between installations).
    pub prefix: String,
    /// JetStream stream replicas.
    pub replicas: usize,
    /// Seconds before an unacknowledged message is delivered again.
    pub ack_wait_secs: u64,
    /// Deliveries before dead-lettering.
    pub max_deliver: i64,
    /// Seconds a repeated `Nats-Msg-Id` is dropped within.
    pub duplicate_window_secs: u64,
    /// Seconds to wait for a publish acknowledgement.
    pub publish_timeout_secs: u64,
}

/// Hot message lists.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// Prefix of every Redis key.
    pub key_prefix: String,
    /// Messages kept per list.
    pub hot_list_len: usize,
    /// Seconds a list filled from the database lives.
    pub fill_ttl_secs: u64,
}

/// Logs and traces.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// EnvFilter directives.
    pub log_filter: String,
    /// Output format of logs.
    pub log_format: LogFormat,
    /// OTLP gRPC endpoint, or empty.
    #[serde(serialize_with = "show::url")]
    pub otlp_endpoint: String,
    /// `service.instance.id` of this process in traces and metrics (the
    /// pod's name in the chart); empty: the host name.
    pub instance_id: String,
    /// PEM file of the CA that signed an `https://` OTLP endpoint's
    /// certificate (added to the system's roots); empty: the system's roots.
    pub otlp_ca_file: String,
    /// Address of a Prometheus scrape endpoint (`/metrics`), e.g.
    /// `127.0.0.1:9464`; empty: none.
    pub prometheus_listen: String,
    /// Continue a caller's W3C `traceparent` on the public HTTP servers
    /// (only behind a proxy that sets it); otherwise the caller's trace is
    /// linked, not continued.
    pub trust_incoming_traceparent: bool,
}

/// Output format of logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The gateway service.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySettings {
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// Absolute site URL for canonical links, or empty.
    pub public_url: String,
    /// Messages per page.
    pub page_size: u64,
    /// Send `Strict-Transport-Security` on responses served over TLS.
    pub hsts: bool,
    /// Seconds without a message after which a number shows as offline.
    pub offline_after_secs: u64,
    /// Milliseconds a number's registration (active, retired, unknown) is
    /// remembered per gateway process; 0 asks the database on every request.
    pub registry_cache_ms: u64,
    /// Most request-log events in one `RequestsLogged` message.
    pub request_log_batch: usize,
    /// Milliseconds a request-log batch waits for more events.
    pub request_log_linger_ms: u64,
    /// Proxies (addresses or CIDR blocks) whose `X-Forwarded-For`,
    /// `X-Forwarded-Proto` and `X-Forwarded-Host` are believed: the client is
    /// the rightmost `X-Forwarded-For` hop that is not one of them. Empty:
    /// forwarded headers are ignored and the client is the peer.
    pub trusted_proxies: Vec<String>,
    /// Live updates (Server-Sent Events): how many streams, for how long.
    pub live: LiveSettings,
    /// log-retention's gRPC address, for `/my-data` (export and delete).
    pub retention_url: String,
    /// Operator token for `/admin/stats` (bearer or login form); empty: the
    /// operator pages are off (404).
    pub admin_token: Secret,
    /// Advertising (off by default).
    pub ads: AdsSettings,
    /// The crawler gate: rate limits and the proof-of-work interstitial.
    pub gate: GateSettings,
    /// Seconds a graceful shutdown waits.
    pub shutdown_grace_secs: u64,
    /// Seconds between a stop signal and closing the listeners: `/readyz`
    /// answers 503 meanwhile and requests are still served, so load
    /// balancers stop sending first.
    pub shutdown_delay_secs: u64,
}

/// Limits of the gateway's live-update streams (`/numbers/{e164}/events`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LiveSettings {
    /// Open streams per client network (IPv4 /24, IPv6 /64), counted in the
    /// cache so every replica shares the count; past it `429`.
    pub max_streams_per_network: u64,
    /// Open streams per gateway process; past it `429`.
    pub max_streams: usize,
    /// Seconds a stream stays open; then it ends and the browser reconnects
    /// with `Last-Event-ID` (nothing is missed).
    pub max_stream_secs: u64,
}

/// The gateway's crawler gate (see `docs/captcha.md`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GateSettings {
    /// Count page views and challenge clients over the limits.
    pub enabled: bool,
    /// captcha-verification's gRPC address.
    pub captcha_url: String,
    /// Site key of the gate in captcha-verification (a built-in site there).
    pub site_key: String,
    /// Independent sub-puzzles per challenge (1..=16): the same expected
    /// work, but a solve time that varies much less.
    pub puzzles: u32,
    /// Key that signs pass cookies; every gateway replica must share it.
    /// Empty: a random key per process.
    pub pass_key: Secret,
    /// Seconds a pass earned by solving a challenge lasts.
    pub pass_ttl_secs: u64,
    /// Page views per visitor: sustained rate per minute and burst.
    pub visitor: GateRate,
    /// Page views per network (IPv4 /24, IPv6 /64).
    pub network: GateRate,
    /// Page views per pass: a pass is not a licence to crawl.
    pub pass: GateRate,
    /// Page views per network of every visitor holding a pass together:
    /// passes do not lift a network above this.
    pub network_passed: GateRate,
    /// Passes issued per network and hour (solved challenges redeemed).
    pub passes_per_network_hour: u64,
    /// Challenge HTML clients that look automated (no Accept-Language,
    /// scripting libraries, headless browsers) at their first page.
    pub challenge_automated: bool,
    /// Seconds a visitor without JavaScript waits for a pass.
    pub nojs_wait_secs: u64,
    /// Seconds a pass earned by waiting lasts.
    pub nojs_pass_ttl_secs: u64,
    /// Passes earned by waiting per network and hour.
    pub nojs_per_hour: u64,
    /// Search engines allowed through after their address verifies by
    /// reverse and forward DNS.
    pub crawlers: Vec<GateCrawler>,
}

/// A rate in the generic cell rate algorithm: `per_minute` sustained, `burst` at once.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GateRate {
    /// Sustained page views per minute.
    pub per_minute: u32,
    /// Page views allowed at once on top of the sustained rate.
    pub burst: u32,
}

/// A search engine's crawler.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GateCrawler {
    /// Name for logs.
    pub name: String,
    /// Substring of the User-Agent the crawler sends.
    pub user_agent: String,
    /// Domains its addresses resolve to (reverse DNS, confirmed forward).
    pub domains: Vec<String>,
}

/// Advertising slots, filled with the operator's ad network snippet.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdsSettings {
    /// Show the slots.
    pub enabled: bool,
    /// HTML of one ad unit, pasted from the ad network (trusted, not escaped).
    pub slot_html: String,
    /// Body of `/ads.txt`; empty: 404.
    pub ads_txt: String,
    /// Origins the snippet loads from, added to the Content-Security-Policy
    /// (e.g. `https://pagead2.googlesyndication.com`).
    pub csp_sources: Vec<String>,
}

/// The message-ingest service.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSettings {
    /// Webhook HTTP listen address.
    pub listen: SocketAddr,
    /// gRPC listen address.
    pub grpc_listen: SocketAddr,
    /// Public URL providers call.
    pub public_url: String,
    /// Largest accepted webhook body.
    pub max_body_bytes: usize,
    /// Allowed clock difference for signed timestamps.
    pub signature_tolerance_secs: u64,
    /// Seconds a graceful shutdown waits.
    pub shutdown_grace_secs: u64,
    /// Seconds between a stop signal and closing the listeners: `/readyz`
    /// answers 503 meanwhile and requests are still served, so load
    /// balancers stop sending first.
    pub shutdown_delay_secs: u64,
    /// Register unknown receiving numbers on first message instead of rejecting them.
    pub auto_register_numbers: bool,
    /// Milliseconds a number's registration (active, retired) is remembered
    /// per process; unknown numbers are always asked again. 0 asks the
    /// database on every webhook.
    pub registry_cache_ms: u64,
    /// Most messages the persister stores in one transaction (it takes
    /// what has arrived, up to this; pages order messages by arrival).
    pub persister_batch: usize,
    /// Bearer token for `IngestService`; empty disables the gRPC API.
    pub grpc_token: Secret,
    /// Most messages in one `IngestService/Submit` batch.
    pub max_batch: usize,
    /// Seconds a multi-part SMS waits for its missing parts before it is shown
    /// with a marker where they belong.
    pub concat_timeout_secs: u64,
    /// Per-provider secrets.
    pub providers: ProvidersSettings,
}

/// Secrets per provider; a provider without a secret is disabled.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProvidersSettings {
    /// Our own signed JSON webhook.
    pub generic: GenericProviderSettings,
    /// Twilio Programmable Messaging.
    pub twilio: TwilioSettings,
    /// Vonage SMS API.
    pub vonage: VonageSettings,
    /// Telnyx Messaging.
    pub telnyx: TelnyxSettings,
    /// Plivo.
    pub plivo: PlivoSettings,
    /// The Android SMS Gateway app (capcom6/android-sms-gateway).
    pub sms_gateway: SmsGatewaySettings,
    /// httpSMS.
    pub httpsms: HttpsmsSettings,
    /// Jasmin SMS gateway.
    pub jasmin: JasminSettings,
}

macro_rules! secret_settings {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Deserialize, Serialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fdoc])* #[serde(serialize_with = "show::secret")] pub $field: String,)+
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    $(.field(stringify!($field), &redacted(&self.$field)))+
                    .finish()
            }
        }
    };
}

secret_settings!(
    /// The generic provider.
    GenericProviderSettings {
        /// HMAC-SHA256 key; empty disables the route.
        secret
    }
);
secret_settings!(
    /// Twilio: requests are signed with the account's auth token.
    TwilioSettings {
        /// Auth token; empty disables the route.
        auth_token
    }
);
secret_settings!(
    /// Telnyx: requests are signed with Ed25519.
    TelnyxSettings {
        /// The account's public key (base64), from the Telnyx portal; empty disables the route.
        public_key
    }
);
secret_settings!(
    /// Plivo: requests are signed with the account's auth token (V3 signature).
    PlivoSettings {
        /// Auth token; empty disables the route.
        auth_token
    }
);
secret_settings!(
    /// Android SMS Gateway: webhooks signed with the app's signing key.
    SmsGatewaySettings {
        /// Signing key set in the app; empty disables the route.
        signing_key
    }
);
secret_settings!(
    /// httpSMS: webhooks carry an HS256 JWT signed with this key.
    HttpsmsSettings {
        /// Webhook signing key; empty disables the route.
        signing_key
    }
);

/// Vonage SMS API: signed webhooks.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VonageSettings {
    /// Signature secret from the Vonage dashboard; empty disables the route.
    #[serde(serialize_with = "show::secret")]
    pub signature_secret: String,
    /// How `sig` is computed, as set in the dashboard.
    pub signature_method: VonageSignatureMethod,
}

impl std::fmt::Debug for VonageSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VonageSettings")
            .field("signature_secret", &redacted(&self.signature_secret))
            .field("signature_method", &self.signature_method)
            .finish()
    }
}

/// Vonage's signature methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VonageSignatureMethod {
    /// Legacy: MD5 of the parameters followed by the secret.
    Md5hash,
    /// HMAC-MD5.
    Md5,
    /// HMAC-SHA1.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// Jasmin: no signature; authenticated by a shared secret and/or basic auth.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JasminSettings {
    /// Shared secret expected in the `secret` query parameter; empty: not used.
    #[serde(serialize_with = "show::secret")]
    pub shared_secret: String,
    /// Basic-auth user; empty: not used.
    pub username: String,
    /// Basic-auth password.
    #[serde(serialize_with = "show::secret")]
    pub password: String,
    /// Client addresses allowed to call (IPs or CIDRs); empty: any.
    pub allowed_ips: Vec<String>,
}

impl JasminSettings {
    /// True when some credential is configured (otherwise the route is off).
    pub fn enabled(&self) -> bool {
        !self.shared_secret.is_empty() || !self.username.is_empty()
    }
}

impl std::fmt::Debug for JasminSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JasminSettings")
            .field("shared_secret", &redacted(&self.shared_secret))
            .field("username", &self.username)
            .field("password", &redacted(&self.password))
            .field("allowed_ips", &self.allowed_ips)
            .finish()
    }
}

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

/// An address (`10.1.2.3`, `::1`) or CIDR block (`10.0.0.0/8`) of
/// `gateway.trusted_proxies`; an address is a block of one.
pub fn parse_net(text: &str) -> Option<ipnet::IpNet> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .ok()
        .map(|net| net.trunc())
        .or_else(|| {
            text.parse::<std::net::IpAddr>()
                .ok()
                .map(ipnet::IpNet::from)
        })
}

fn redacted(secret: &str) -> &'static str {
    if secret.is_empty() {
        "<unset>"
    } else {
        "<redacted>"
    }
}

/// The captcha-verification service.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaptchaSettings {
    /// HTTP listen address (`/siteverify`, health).
    pub listen: SocketAddr,
    /// gRPC listen address.
    pub grpc_listen: SocketAddr,
    /// Seconds a graceful shutdown waits.
    pub shutdown_grace_secs: u64,
    /// Seconds between a stop signal and closing the listeners: `/readyz`
    /// answers 503 meanwhile and requests are still served, so load
    /// balancers stop sending first.
    pub shutdown_delay_secs: u64,
    /// Key that signs challenges and tokens (every replica needs the same
    /// one); empty: a random key per process, with a warning.
    pub hmac_key: Secret,
    /// `maxnumber` of a challenge when no traffic level applies.
    pub default_max_number: u64,
    /// Seconds a challenge can be solved in.
    pub challenge_ttl_secs: u64,
    /// Seconds a token from `/redeem` stays valid for `/siteverify`.
    pub token_ttl_secs: u64,
    /// Length in seconds of the windows that count requests for difficulty.
    pub window_secs: u64,
    /// Difficulty steps by requests of one source (IP /24 or /64, visitor)
    /// per window; the highest step reached applies.
    pub source_levels: Vec<CaptchaLevel>,
    /// Difficulty steps by requests of everyone per window.
    pub global_levels: Vec<CaptchaLevel>,
    /// Sites that may use the captcha.
    pub sites: Vec<CaptchaSite>,
    /// Most captcha events in one `CaptchaEvents` message (0 counts as 1).
    pub event_batch: usize,
    /// Milliseconds a captcha-event batch waits for more events.
    pub event_linger_ms: u64,
}

/// One traffic level: from `requests` per window on, `max_number` applies.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaptchaLevel {
    /// Requests per window at which this level starts.
    pub requests: u64,
    /// `maxnumber` of challenges at this level.
    pub max_number: u64,
}

/// A site using the captcha, like a reCAPTCHA site key and secret pair.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaptchaSite {
    /// Public key the page embeds (`sitekey`).
    pub site_key: String,
    /// Secret the site's backend presents to `/siteverify`.
    pub secret: Secret,
    /// Hostnames the captcha may be solved on; empty: any.
    pub hostnames: Vec<String>,
}

impl std::fmt::Debug for CaptchaSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptchaSite")
            .field("site_key", &self.site_key)
            .field("secret", &self.secret)
            .field("hostnames", &self.hostnames)
            .finish()
    }
}

/// The log-retention service.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// HTTP listen address (health only).
    pub listen: SocketAddr,
    /// gRPC listen address.
    pub grpc_listen: SocketAddr,
    /// Days server logs are kept.
    pub retention_days: u32,
    /// Seconds between two retention sweeps (one also runs at start-up).
    pub sweep_interval_secs: u64,
    /// Most log events written in one multi-row insert.
    pub batch_size: usize,
    /// CSV of address ranges (`first_ip,last_ip,country`, e.g. DB-IP's
    /// "IP to Country Lite") for the statistics' countries; empty: none.
    pub geoip_csv: String,
    /// Seconds a graceful shutdown waits.
    pub shutdown_grace_secs: u64,
    /// Seconds between a stop signal and closing the listeners: `/readyz`
    /// answers 503 meanwhile and requests are still served, so load
    /// balancers stop sending first.
    pub shutdown_delay_secs: u64,
}

impl Settings {
    /// Loads defaults < `file` (when it exists, or always when `required`) < env.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let (path, required) = match file {
            Some(path) => (path.to_path_buf(), true),
            None => (PathBuf::from("cloudsms.toml"), false),
        };
        if required && !path.is_file() {
            return Err(ConfigError::Invalid {
                key: "--config",
                reason: format!("file {} does not exist", path.display()),
            });
        }
        let mut figment = Figment::from(Toml::string(DEFAULTS_TOML));
        if path.is_file() {
            figment = figment.merge(Toml::file_exact(path));
        }
        Self::from_figment(
            figment.merge(Env::prefixed("CLOUDSMS_").split("__").ignore(&["config"])),
        )
    }

    /// Built-in defaults only (tests and tools start from these).
    pub fn defaults() -> Result<Self, ConfigError> {
        Self::from_figment(Figment::from(Toml::string(DEFAULTS_TOML)))
    }

    /// Defaults overlaid with a TOML snippet (tests).
    pub fn from_toml_overrides(toml: &str) -> Result<Self, ConfigError> {
        Self::from_toml_layers(&[toml])
    }

    /// Defaults overlaid with TOML snippets, later ones winning (tests).
    pub fn from_toml_layers(layers: &[&str]) -> Result<Self, ConfigError> {
        let figment = layers
            .iter()
            .fold(Figment::from(Toml::string(DEFAULTS_TOML)), |f, layer| {
                f.merge(Toml::string(layer))
            });
        Self::from_figment(figment)
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract()?;
        settings.validate()?;
        Ok(settings)
    }

    /// The database URL to use: the configured one, or SQLite in `data_dir`.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("cloudsms.db").display()
            )
        } else {
            self.database.url.clone()
        }
    }

    /// The OTLP endpoint: configured, else `OTEL_EXPORTER_OTLP_ENDPOINT`, else none.
    pub fn otlp_endpoint(&self) -> Option<String> {
        if !self.telemetry.otlp_endpoint.is_empty() {
            return Some(self.telemetry.otlp_endpoint.clone());
        }
        std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
            .ok()
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests;
