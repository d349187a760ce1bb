#![doc = include_str!("../README.md")]

mod bus;
mod cache;
mod captcha;
mod database;
mod gateway;
mod http;
mod ingest;
mod messages;
mod nats;
mod redis;
mod retention;
mod secret;
mod show;
mod telemetry;
mod validate;

pub use bus::BusSettings;
pub use cache::CacheSettings;
pub use captcha::{CaptchaLevel, CaptchaSettings, CaptchaSite};
pub use database::DatabaseSettings;
pub use gateway::{
    AdminToken, AdsSettings, DEFAULT_OPERATOR, GateCrawler, GateRate, GateSettings,
    GatewaySettings, LiveSettings, MAX_OPERATOR_NAME, MaskingRule, parse_net,
};
pub use http::HttpSettings;
pub use ingest::{
    GenericProviderSettings, HttpsmsSettings, IngestSettings, JasminSettings, PlivoSettings,
    ProvidersSettings, SmsForwarderSettings, SmsGatewaySettings, TelnyxSettings, TwilioSettings,
    VonageSettings, VonageSignatureMethod,
};
pub use messages::{MAX_KEEP_DAYS, MessagesSettings};
pub use nats::NatsSettings;
pub use redis::RedisSettings;
pub use retention::RetentionSettings;
pub use secret::Secret;
pub use show::redact_url;
pub use telemetry::{LogFormat, TelemetrySettings};

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
    /// How long public messages are shown and kept.
    pub messages: MessagesSettings,
    /// Limits of every HTTP server (pages, webhooks, health).
    pub http: HttpSettings,
    /// Where these settings came from, to read them again
    /// ([`Settings::reload`]); not a setting.
    #[serde(skip)]
    pub source: Source,
}

/// Where [`Settings`] came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Source {
    /// Built in code (defaults, TOML snippets): nothing to read again.
    #[default]
    Built,
    /// [`Settings::load`] with this file (or `cloudsms.toml` when it exists), and the environment.
    Loaded(Option<PathBuf>),
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
        let mut settings = Self::from_figment(
            figment.merge(Env::prefixed("CLOUDSMS_").split("__").ignore(&["config"])),
        )?;
        settings.source = Source::Loaded(file.map(Path::to_path_buf));
        Ok(settings)
    }

    /// The settings read again from the same sources as these (the same
    /// file and the environment, now); `None` when they were built in code.
    pub fn reload(&self) -> Option<Result<Self, ConfigError>> {
        match &self.source {
            Source::Built => None,
            Source::Loaded(file) => Some(Self::load(file.as_deref())),
        }
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
