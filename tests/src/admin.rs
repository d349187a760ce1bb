//! The operator's side in tests: the admin JSON API with a bearer token, a
//! second gateway beside the app's (its own registry and page cache), and
//! the audit events the actions publish.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use proto::events::v1::AdminActionLogged;
use reqwest::Method;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{Mode, TestApp};

/// The operator token the admin tests configure (`gateway.admin_token`).
pub const ADMIN_TOKEN: &str = "operator-token-0123456789abcdef";

/// Settings for the admin tests: the operator token, and registries that
/// remember for ten minutes, so only the bus's events can explain a change
/// seen within a second.
pub fn admin_config(extra: &str) -> String {
    format!(
        "[gateway]\nadmin_token = \"{ADMIN_TOKEN}\"\nregistry_cache_ms = 600000\n\
         [ingest]\nregistry_cache_ms = 600000\n{extra}"
    )
}

/// Another gateway on the same database, bus and cache: its own registry,
/// page cache and live fan-out, as a second replica has.
pub struct OtherGateway {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    stop: CancellationToken,
}

impl OtherGateway {
    /// Stops it.
    pub fn stop(self) {
        self.stop.cancel();
    }
}

/// What the audit log was sent so far (`AdminActionLogged` events).
#[derive(Clone, Default)]
pub struct AuditEvents(Arc<Mutex<Vec<AdminActionLogged>>>);

impl AuditEvents {
    /// `(operator, action, target)` of each event so far.
    pub fn actions(&self) -> Vec<(String, String, String)> {
        self.0
            .lock()
            .iter()
            .map(|e| (e.operator.clone(), e.action.clone(), e.target.clone()))
            .collect()
    }

    /// Waits until an event with `action` on `target` was published.
    pub async fn wait_for(&self, action: &str, target: &str) -> AdminActionLogged {
        crate::wait_until(
            format_args!("audit event {action} {target}"),
            Duration::from_secs(10),
            async || {
                self.0
                    .lock()
                    .iter()
                    .find(|e| e.action == action && e.target == target)
                    .cloned()
            },
        )
        .await
    }
}

impl TestApp {
    /// A request to the admin API at `path` with `token` (none: no
    /// `Authorization`), and `json` as the body when given.
    pub async fn admin_api(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        json: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.gateway_url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(json) = json {
            request = request.json(&json);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, json)
    }

    /// [`TestApp::admin_api`] with [`ADMIN_TOKEN`].
    pub async fn admin(
        &self,
        method: Method,
        path: &str,
        json: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        self.admin_api(method, path, Some(ADMIN_TOKEN), json).await
    }

    /// Starts another gateway replica (distributed: its own connections to
    /// NATS, Redis and Postgres, as another process has; embedded: the one
    /// in-process bus, which a second process could not share).
    pub async fn other_gateway(&self) -> OtherGateway {
        let infra = match self.mode {
            Mode::Embedded => self.infra.clone(),
            Mode::Distributed => platform::Infra::connect((*self.infra.settings).clone())
                .await
                .unwrap(),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let state = gateway::Shared::new(&infra);
        tokio::spawn(gateway::serve(infra, state, listener, stop.clone()));
        // Its subscriptions start with it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        OtherGateway { url, stop }
    }

    /// Collects the audit events published from now on.
    pub async fn audit_events(&self) -> AuditEvents {
        let events = AuditEvents::default();
        let sink = events.clone();
        let bus = self.infra.bus.clone();
        let stop = CancellationToken::new();
        let durable = format!("audit-test-{}", uuid::Uuid::new_v4().simple());
        tokio::spawn(async move {
            let _ = bus
                .run_consumer::<AdminActionLogged, _, _>(&durable, stop, move |event, _| {
                    sink.0.lock().push(event);
                    async { Ok(()) }
                })
                .await;
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        events
    }
}
