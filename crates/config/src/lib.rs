#![doc = include_str!("../README.md")]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Folder for embedded-mode data.
    pub data_dir: PathBuf,
    /// `deployment.environment` in traces.
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
#[derive(Debug, Clone, Deserialize)]
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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSettings {
    /// `nats://host:port`, or empty.
    pub url: String,
}

/// Redis connection; an empty URL selects the in-process cache.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// `redis://host:port/db`, or empty.
    pub url: String,
}

/// Database connection; an empty URL selects SQLite in `data_dir`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://...` or `sqlite://...`, or empty.
    pub url: String,
    /// Largest connection pool per service.
    pub max_connections: u32,
}

/// How events move over the bus.
#[derive(Debug, Clone, Deserialize)]
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
#[derive(Debug, Clone, Deserialize)]
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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// EnvFilter directives.
    pub log_filter: String,
    /// Output format of logs.
    pub log_format: LogFormat,
    /// OTLP gRPC endpoint, or empty.
    pub otlp_endpoint: String,
}

/// Output format of logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The gateway service.
#[derive(Debug, Clone, Deserialize)]
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
}

/// Limits of the gateway's live-update streams (`/numbers/{e164}/events`).
#[derive(Debug, Clone, Deserialize)]
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
#[derive(Debug, Clone, Deserialize)]
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
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateRate {
    /// Sustained page views per minute.
    pub per_minute: u32,
    /// Page views allowed at once on top of the sustained rate.
    pub burst: u32,
}

/// A search engine's crawler.
#[derive(Debug, Clone, Deserialize)]
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
#[derive(Debug, Clone, Deserialize)]
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
#[derive(Debug, Clone, Deserialize)]
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
#[derive(Debug, Clone, Deserialize)]
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
        #[derive(Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fdoc])* pub $field: String,)+
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
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VonageSettings {
    /// Signature secret from the Vonage dashboard; empty disables the route.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JasminSettings {
    /// Shared secret expected in the `secret` query parameter; empty: not used.
    pub shared_secret: String,
    /// Basic-auth user; empty: not used.
    pub username: String,
    /// Basic-auth password.
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

/// A secret value: deserialised as a plain string, never shown by `Debug`.
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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptchaSettings {
    /// HTTP listen address (`/siteverify`, health).
    pub listen: SocketAddr,
    /// gRPC listen address.
    pub grpc_listen: SocketAddr,
    /// Seconds a graceful shutdown waits.
    pub shutdown_grace_secs: u64,
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
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptchaLevel {
    /// Requests per window at which this level starts.
    pub requests: u64,
    /// `maxnumber` of challenges at this level.
    pub max_number: u64,
}

/// A site using the captcha, like a reCAPTCHA site key and secret pair.
#[derive(Clone, Deserialize)]
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
#[derive(Debug, Clone, Deserialize)]
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

    fn validate(&self) -> Result<(), ConfigError> {
        if !self
            .bus
            .prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(ConfigError::Invalid {
                key: "bus.prefix",
                reason: "only letters, digits and '_' are allowed".into(),
            });
        }
        if self.bus.max_deliver < 1 {
            return Err(ConfigError::Invalid {
                key: "bus.max_deliver",
                reason: "must be at least 1".into(),
            });
        }
        if self.http.max_connections == 0 {
            return Err(ConfigError::Invalid {
                key: "http.max_connections",
                reason: "must be at least 1".into(),
            });
        }
        if self.http.header_read_timeout_secs == 0 || self.http.request_timeout_secs == 0 {
            return Err(ConfigError::Invalid {
                key: "http.header_read_timeout_secs",
                reason: "timeouts must be at least 1 second".into(),
            });
        }
        if !(8192..=1 << 20).contains(&self.http.max_header_bytes) {
            return Err(ConfigError::Invalid {
                key: "http.max_header_bytes",
                reason: "must be between 8192 and 1048576".into(),
            });
        }
        if self.http.max_concurrent_streams == 0 {
            return Err(ConfigError::Invalid {
                key: "http.max_concurrent_streams",
                reason: "must be at least 1".into(),
            });
        }
        if let Some(bad) = self
            .gateway
            .trusted_proxies
            .iter()
            .find(|p| parse_net(p).is_none())
        {
            return Err(ConfigError::Invalid {
                key: "gateway.trusted_proxies",
                reason: format!(
                    "{bad:?} is not an IP address or CIDR block (10.0.0.0/8, fd00::/8)"
                ),
            });
        }
        let live = &self.gateway.live;
        if live.max_streams == 0 || live.max_streams_per_network == 0 || live.max_stream_secs == 0 {
            return Err(ConfigError::Invalid {
                key: "gateway.live",
                reason: "max_streams, max_streams_per_network and max_stream_secs must be at \
                         least 1"
                    .into(),
            });
        }
        if self.cache.hot_list_len == 0 {
            return Err(ConfigError::Invalid {
                key: "cache.hot_list_len",
                reason: "must be at least 1".into(),
            });
        }
        if self.gateway.page_size == 0 || self.gateway.page_size > 500 {
            return Err(ConfigError::Invalid {
                key: "gateway.page_size",
                reason: "must be between 1 and 500".into(),
            });
        }
        let gate = &self.gateway.gate;
        if !(1..=16).contains(&gate.puzzles) {
            return Err(ConfigError::Invalid {
                key: "gateway.gate.puzzles",
                reason: "between 1 and 16".into(),
            });
        }
        if gate.enabled
            && (gate.pass_ttl_secs == 0
                || gate.nojs_pass_ttl_secs == 0
                || [gate.visitor, gate.network, gate.pass, gate.network_passed]
                    .iter()
                    .any(|r| r.per_minute == 0))
        {
            return Err(ConfigError::Invalid {
                key: "gateway.gate",
                reason: "pass_ttl_secs, nojs_pass_ttl_secs and every per_minute must be at \
                         least 1"
                    .into(),
            });
        }
        if gate.enabled
            && (gate.site_key.is_empty()
                || !gate
                    .site_key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            return Err(ConfigError::Invalid {
                key: "gateway.gate.site_key",
                reason: "letters, digits, '-' or '_'".into(),
            });
        }
        if self.captcha.default_max_number == 0
            || self.captcha.challenge_ttl_secs == 0
            || self.captcha.token_ttl_secs == 0
            || self.captcha.window_secs == 0
        {
            return Err(ConfigError::Invalid {
                key: "captcha",
                reason: "default_max_number, challenge_ttl_secs, token_ttl_secs and \
                         window_secs must be at least 1"
                    .into(),
            });
        }
        for site in &self.captcha.sites {
            if site.site_key.is_empty()
                || !site
                    .site_key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                || site.secret.expose().len() < 16
            {
                return Err(ConfigError::Invalid {
                    key: "captcha.sites",
                    reason: format!(
                        "site {:?}: site_key must be letters, digits, '-' or '_' and the \
                         secret at least 16 characters",
                        site.site_key
                    ),
                });
            }
        }
        if self.retention.retention_days == 0 {
            return Err(ConfigError::Invalid {
                key: "retention.retention_days",
                reason: "must be at least 1".into(),
            });
        }
        for (key, url) in [
            ("nats.url", &self.nats.url),
            ("redis.url", &self.redis.url),
            ("database.url", &self.database.url),
        ] {
            if !url.is_empty() && !url.contains("://") {
                return Err(ConfigError::Invalid {
                    key,
                    reason: format!("{url:?} is not a URL (scheme://...)"),
                });
            }
        }
        Ok(())
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
#[allow(clippy::unwrap_used, clippy::result_large_err)] // figment::Jail's signature
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn defaults_are_embedded_mode() {
        let s = Settings::defaults().unwrap();
        assert!(s.nats.url.is_empty());
        assert_eq!(s.gateway.listen.port(), 8080);
        assert_eq!(s.ingest.listen.port(), 8081);
        assert_eq!(s.ingest.grpc_listen.port(), 50051);
        assert_eq!(s.captcha.grpc_listen.port(), 50052);
        assert_eq!(s.captcha.listen.port(), 8082);
        assert_eq!(s.retention.grpc_listen.port(), 50053);
        assert_eq!(s.retention.retention_days, 183);
        assert!(s.database_url().starts_with("sqlite://"));
    }

    #[test]
    fn file_overrides_defaults_and_env_overrides_file() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file(
                "cloudsms.toml",
                "[gateway]\nlisten = \"0.0.0.0:9000\"\n[nats]\nurl = \"nats://file:4222\"\n",
            )?;
            jail.set_env("CLOUDSMS_NATS__URL", "nats://env:4222");
            jail.set_env("CLOUDSMS_INGEST__PROVIDERS__GENERIC__SECRET", "s3cret");
            let s = Settings::load(None).unwrap();
            assert_eq!(s.gateway.listen.port(), 9000);
            assert_eq!(s.nats.url, "nats://env:4222");
            assert_eq!(s.ingest.providers.generic.secret, "s3cret");
            assert!(
                !format!("{s:?}").contains("s3cret"),
                "secrets stay out of Debug"
            );
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_rejected_by_name() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            jail.set_env("CLOUDSMS_GATEWAY__LISTN", "0.0.0.0:1");
            let err = Settings::load(None).unwrap_err().to_string();
            assert!(err.contains("listn"), "{err}");
            Ok(())
        });
        let err = Settings::from_toml_overrides("[natz]\nurl='x'")
            .unwrap_err()
            .to_string();
        assert!(err.contains("natz"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = Settings::from_toml_overrides("[redis]\nurl = \"localhost\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("redis.url"), "{err}");
        let err = Settings::from_toml_overrides("[gateway]\nlisten = \"nope\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("listen"), "{err}");
        let err = Settings::from_toml_overrides("[bus]\nprefix = \"a.b\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bus.prefix"), "{err}");
    }

    #[test]
    fn trusted_proxies_come_as_a_list_of_addresses_or_blocks() {
        Jail::expect_with(|jail| {
            jail.clear_env();
            // What the chart's ConfigMap sets (a JSON list is a TOML array).
            jail.set_env(
                "CLOUDSMS_GATEWAY__TRUSTED_PROXIES",
                "[\"10.0.0.0/8\", \"fd00::1\"]",
            );
            let s = Settings::load(None).unwrap();
            assert_eq!(s.gateway.trusted_proxies, ["10.0.0.0/8", "fd00::1"]);
            Ok(())
        });
        assert!(
            Settings::defaults()
                .unwrap()
                .gateway
                .trusted_proxies
                .is_empty()
        );
        let net = parse_net("10.1.2.3/8").unwrap();
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert!(net.contains(&"10.200.0.1".parse::<std::net::IpAddr>().unwrap()));
        assert_eq!(parse_net(" ::1 ").unwrap().to_string(), "::1/128");
        for bad in ["ingress.local", "10.0.0.0/33", ""] {
            let err =
                Settings::from_toml_overrides(&format!("[gateway]\ntrusted_proxies = [{bad:?}]"))
                    .unwrap_err()
                    .to_string();
            assert!(err.contains("gateway.trusted_proxies"), "{bad}: {err}");
        }
        let err = Settings::from_toml_overrides("[gateway]\ntrust_forwarded_for = true")
            .unwrap_err()
            .to_string();
        assert!(err.contains("trust_forwarded_for"), "{err}");
    }

    #[test]
    fn captcha_sites_parse_and_hide_their_secrets() {
        let s = Settings::from_toml_overrides(
            "[captcha]\nhmac_key = \"hmac-key-value-1234\"\n\
             [[captcha.sites]]\nsite_key = \"site-a\"\nsecret = \"site-secret-abcdef-1234\"\n\
             hostnames = [\"example.org\"]\n",
        )
        .unwrap();
        assert_eq!(s.captcha.sites[0].hostnames, vec!["example.org".to_owned()]);
        assert_eq!(s.captcha.default_max_number, 100_000);
        assert_eq!(s.captcha.token_ttl_secs, 300);
        let debug = format!("{s:?}");
        assert!(!debug.contains("site-secret-abcdef"), "{debug}");
        assert!(!debug.contains("hmac-key-value"), "{debug}");
        let err = Settings::from_toml_overrides(
            "[[captcha.sites]]\nsite_key = \"a b\"\nsecret = \"x\"\nhostnames = []\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("captcha.sites"), "{err}");
    }

    #[test]
    fn missing_explicit_config_file_is_an_error() {
        let err = Settings::load(Some(Path::new("/nonexistent/cloudsms.toml")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
    }
}
