//! `[ingest]`: message-ingest's listeners, limits and the persister, with
//! the providers' secrets in a section of their own.

mod providers;

pub use providers::{
    GenericProviderSettings, HttpsmsSettings, JasminSettings, PlivoSettings, ProvidersSettings,
    SmsForwarderSettings, SmsGatewaySettings, TelnyxSettings, TwilioSettings, VonageSettings,
    VonageSignatureMethod,
};

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::Secret;

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
    /// Run the persister (the durable consumer that stores, caches and
    /// announces the messages) in this process. `false`: a webhook-only
    /// process, whose messages other processes with the persister store, so
    /// the two kinds of replica scale apart.
    pub persister: bool,
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
    /// Seconds a webhook's publish is retried (same `Nats-Msg-Id`, short
    /// back-off) while JetStream does not acknowledge it, e.g. during a
    /// stream leader election, before the webhook is answered 503. 0: one
    /// try.
    pub publish_retry_secs: u64,
    /// Per-provider secrets.
    pub providers: ProvidersSettings,
}
