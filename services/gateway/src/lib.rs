//! gateway: the visitor site. Server-rendered pages read hot lists from the
//! cache and fall back to the database; message bodies are always escaped
//! (askama escapes every `{{ }}` in `.html` templates, the page script only
//! uses `textContent`). New messages arrive live over Server-Sent Events.

mod access_log;
mod activity;
mod admin;
mod api;
mod assets;
mod cards;
mod client;
mod error;
mod faq;
mod gate;
mod i18n;
mod keys;
mod language_urls;
mod latest;
mod layout;
mod live;
mod masking;
mod my_data;
mod page_cache;
mod pages;
mod qr;
mod related;
mod routes;
mod search;
mod security;
mod seo;
mod service_pages;
mod takedown;
#[cfg(test)]
mod tests;
mod ua;
mod views;
mod wait;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use platform::{Infra, Readiness};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use error::PageError;
pub use gate::{Gate, PASS_COOKIE};
pub use i18n::{LANG_COOKIE, Lang, Tr};
pub use live::Live;
pub use my_data::visitor_keys;
pub use security::VISITOR_COOKIE;

/// Shared state of the gateway's handlers: one pointer, cloned by every
/// middleware and handler of every request (cloning the fields themselves,
/// gRPC clients and cancellation tokens among them, cost more than the page).
pub type AppState = Arc<Shared>;

/// What [`AppState`] points at.
pub struct Shared {
    /// Validated settings.
    pub settings: Arc<config::Settings>,
    /// Database (numbers, older messages).
    pub store: store::Store,
    /// Hot lists.
    pub cache: Arc<dyn cache::HotCache>,
    /// Live fan-out of new messages.
    pub live: Live,
    /// The Content-Security-Policy header, built once.
    pub csp: Option<axum::http::HeaderValue>,
    /// Where request logs and crash reports go.
    pub bus: bus::Bus,
    /// Proxies whose forwarded headers are believed (`gateway.trusted_proxies`).
    pub proxies: client::Proxies,
    /// The crawler gate.
    pub gate: Gate,
    /// `gateway.masking`, compiled once: applied to every message text a
    /// visitor sees.
    pub masking: masking::Masking,
    /// The gateway's signing key (passes, tickets, CSRF tokens).
    pub keys: keys::Keys,
    /// Which services sent codes to which numbers, read every
    /// `gateway.activity_refresh_secs`.
    pub activity: activity::Activity,
    /// Which numbers are registered, remembered briefly.
    pub registry: Arc<store::Registry>,
    /// The operators' tokens, read again while the gateway runs.
    pub tokens: Arc<admin::tokens::Tokens>,
    /// Where request logs are queued, published in `RequestsLogged` batches
    /// (up to `gateway.request_log_batch` events or
    /// `gateway.request_log_linger_ms`): a page view costs a channel send.
    pub request_log: bus::Batcher<proto::events::v1::RequestLogged>,
    /// The request-log batch task, awaited (flushed) at shutdown.
    request_log_flush: bus::Flush,
    /// log-retention, for `/my-data` (none when `gateway.retention_url` is empty).
    pub retention: Option<
        proto::retention::v1::visitor_data_service_client::VisitorDataServiceClient<
            tonic::transport::Channel,
        >,
    >,
    /// log-retention's statistics, for `/admin/stats` (none when `gateway.retention_url` is empty).
    pub stats: Option<
        proto::retention::v1::stats_service_client::StatsServiceClient<tonic::transport::Channel>,
    >,
    /// log-retention's audit log, for `/admin/audit` and `/admin/api/v1/audit`
    /// (none when `gateway.retention_url` is empty).
    pub audit: Option<
        proto::retention::v1::audit_service_client::AuditServiceClient<tonic::transport::Channel>,
    >,
}

impl Shared {
    /// State from the process's infrastructure, with its own live fan-out.
    /// Must run inside a tokio runtime (it starts the request-log task).
    pub fn new(infra: &Infra) -> AppState {
        Self::with_gate_clock(infra, platform::Clock::system())
    }

    /// As [`Shared::new`], the crawler gate timing its passes and
    /// tickets by `clock` (tests advance it instead of sleeping).
    pub fn with_gate_clock(infra: &Infra, clock: platform::Clock) -> AppState {
        let (request_log, request_log_flush) = bus::Batcher::spawn(
            infra.bus.clone(),
            infra.settings.gateway.request_log_batch,
            Duration::from_millis(infra.settings.gateway.request_log_linger_ms),
            "request log",
            // Each event carries its request's trace id instead.
            false,
            |requests| proto::events::v1::RequestsLogged {
                batch_id: uuid::Uuid::now_v7().to_string(),
                requests,
            },
        );
        let keys = keys::Keys::new(&infra.settings.gateway.gate);
        let masking = masking::Masking::new(&infra.settings.gateway.masking);
        Arc::new(Shared {
            settings: infra.settings.clone(),
            store: infra.store.clone(),
            cache: infra.cache.clone(),
            live: Live::new(infra.settings.gateway.live.max_streams.get())
                .with_masking(masking.clone()),
            masking,
            bus: infra.bus.clone(),
            proxies: client::Proxies::new(&infra.settings.gateway.trusted_proxies),
            csp: security::csp_header(&infra.settings.gateway.ads),
            gate: Gate::new(&infra.settings.gateway.gate, keys.clone()).with_clock(clock),
            keys,
            activity: activity::Activity::new(Duration::from_secs(
                infra.settings.gateway.activity_refresh_secs,
            )),
            registry: Arc::new(store::Registry::new(
                Duration::from_millis(infra.settings.gateway.registry_cache_ms),
                true,
            )),
            tokens: Arc::new(admin::tokens::Tokens::new(&infra.settings.gateway)),
            request_log,
            request_log_flush,
            retention: my_data::client(&infra.settings.gateway.retention_url),
            stats: admin::client(&infra.settings.gateway.retention_url),
            audit: admin::audit_log::client(&infra.settings.gateway.retention_url),
        })
    }
}

/// The HTML pages, mounted once per language (English at `/…`, Chinese
/// under `/zh-CN/…`, see [`router`]): every page that speaks goes here.
fn pages_routes(lang: Lang) -> routes::Routes<AppState> {
    use routes::RouteKind as K;
    routes::Routes::default()
        .route("/", K::Page, get(cards::home))
        .route("/latest", K::Page, get(latest::latest))
        .route("/search", K::Page, get(search::page))
        .route("/services/{slug}", K::Page, get(service_pages::page))
        .route("/countries/{iso2}", K::CountryPage, get(cards::country))
        .route("/numbers/{e164}", K::NumberPage, get(pages::number))
        // An image of the page's own URL, loaded by the number page: like
        // the page's CSS, neither gated (a 429 page is no image) nor logged
        // nor given a cookie (the page view that shows it already was).
        // Under each language's root, it opens the page in that language.
        .route("/numbers/{e164}/qr.svg", K::Asset, get(qr::number_qr))
        .route(
            "/numbers/{e164}/messages/{id}/report",
            K::Report,
            get(takedown::page)
                .post(takedown::submit)
                .layer(DefaultBodyLimit::max(takedown::MAX_FORM_BYTES)),
        )
        .route("/faq", K::InfoPage, get(faq::page))
        .route("/privacy", K::InfoPage, get(pages::privacy))
        .route("/my-data", K::MyData, get(my_data::page))
        .route("/my-data/delete", K::MyData, post(my_data::delete))
        .speaking(lang)
}

/// The gateway's router: every route with the [`RouteKind`] it serves.
pub fn router(infra: &Infra, state: AppState) -> Router {
    use routes::RouteKind as K;
    let (router, kinds) = routes::Routes::default()
        .nest(Lang::En.root(), pages_routes(Lang::En))
        .nest(Lang::ZhCn.root(), pages_routes(Lang::ZhCn))
        .route(
            Lang::ZhCn.root(),
            K::Page,
            get(|| async { axum::response::Redirect::permanent("/zh-CN/") }),
        )
        .route("/latest/events", K::Live, get(live::all_events))
        .route("/numbers/{e164}/events", K::Live, get(live::events))
        .route("/numbers/{e164}/feed.atom", K::Feed, get(seo::feed))
        .route("/my-data/export", K::MyData, get(my_data::export))
        .route("/gate", K::Gate, get(gate::page))
        .route("/gate/challenge", K::Gate, post(gate::challenge))
        .route(
            "/gate/pass",
            K::Gate,
            post(gate::pass).layer(DefaultBodyLimit::max(8 * 1024)),
        )
        .route("/gate/wait", K::Gate, get(gate::wait))
        .route(
            "/admin/stats",
            K::Admin,
            get(admin::stats).post(admin::login),
        )
        .route("/admin/stats.csv", K::Admin, get(admin::csv))
        .route("/admin/audit", K::Admin, get(admin::audit_log::page))
        .route("/admin/api/v1/audit", K::Admin, get(admin::audit_log::api))
        .route("/admin/reports", K::Admin, get(admin::reports_page))
        .route(
            "/admin/reports/{id}/dismiss",
            K::Admin,
            post(admin::reports_page_dismiss).layer(DefaultBodyLimit::max(8 * 1024)),
        )
        .route(
            "/admin/api/v1/reports",
            K::Admin,
            get(admin::reports_api_list),
        )
        .route(
            "/admin/api/v1/reports/{id}/dismiss",
            K::Admin,
            post(admin::reports_api_dismiss).layer(DefaultBodyLimit::max(8 * 1024)),
        )
        .nest("", admin::api::routes())
        .nest("", admin::console::routes())
        .route("/robots.txt", K::SiteFile, get(seo::robots))
        .route("/ads.txt", K::SiteFile, get(seo::ads_txt))
        .route("/sitemap.xml", K::SiteFile, get(seo::sitemap))
        .route("/favicon.ico", K::SiteFile, get(assets::favicon))
        .route(
            "/apple-touch-icon.png",
            K::SiteFile,
            get(assets::touch_icon),
        )
        .route("/api/openapi.json", K::SiteFile, get(seo::openapi))
        .route(
            "/api/v1/crash",
            K::CrashBeacon,
            post(access_log::crash).layer(DefaultBodyLimit::max(access_log::MAX_CRASH_BYTES)),
        )
        .route("/api/v1/numbers", K::Api, get(api::numbers))
        .route("/api/v1/search", K::Api, get(search::api))
        .route(
            "/api/v1/numbers/{e164}/messages",
            K::Api,
            get(api::messages),
        )
        .route("/static/{file}", K::Asset, get(assets::serve))
        .into_parts();
    router
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            (state.clone(), kinds),
            site_layer,
        ))
        // Leaves event streams alone (tower-http's default predicate).
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(axum::middleware::from_fn(platform::trace_requests))
        .with_state(state)
        // Health checks are outside the site layer: never logged, gated or
        // given a cookie.
        .merge(platform::health_routes(Readiness::all(infra)))
}

/// Middleware: what the site does around every request, in one layer (one
/// clone of the inner service per request instead of one per concern): the
/// route that matched and what it serves (`routes`), who the client is
/// (`client`: forwarded headers believed only from trusted proxies), the
/// visitor cookie, language and security headers (`security`), the request
/// log (`access_log`), and the crawler gate (`gate`), in that order from the
/// outside in, so a gate answer is logged and carries the headers too.
async fn site_layer(
    axum::extract::State((state, kinds)): axum::extract::State<(AppState, routes::RouteKinds)>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = kinds.route(&mut request).await;
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    // HTTP/2 names the host in the request's authority, not in `Host`.
    if !request.headers().contains_key(axum::http::header::HOST)
        && let Some(authority) = request
            .uri()
            .authority()
            .and_then(|a| axum::http::HeaderValue::from_str(a.as_str()).ok())
    {
        request
            .headers_mut()
            .insert(axum::http::header::HOST, authority);
    }
    let client = state.proxies.resolve(request.headers_mut(), peer);
    request.extensions_mut().insert(client);
    let visit = security::Visit::start(&state, &mut request, &route);
    let switch =
        language_urls::redirect(&route, request.method(), request.uri(), request.headers());
    let varies = language_urls::varies(&route, request.uri().path());
    let response = i18n::REQUEST_LANG
        .scope(visit.lang, async {
            let entry = access_log::Entry::start(&state, &request, &route);
            let response = if let Some(switch) = switch {
                switch
            } else if gate::applies(&state, route.kind) {
                let (parts, body) = request.into_parts();
                match gate::check(&state, &parts, route.kind).await {
                    Some(answer) => answer,
                    None => {
                        next.run(axum::extract::Request::from_parts(parts, body))
                            .await
                    }
                }
            } else {
                next.run(request).await
            };
            if let Some(entry) = entry {
                entry.finish(&state, &response);
            }
            response
        })
        .await;
    let mut response = visit.finish(&state, response);
    if varies {
        response.headers_mut().append(
            axum::http::header::VARY,
            axum::http::HeaderValue::from_static(language_urls::VARY),
        );
    }
    response
}

/// The gateway as a process: binds `gateway.listen`, answers as a starting
/// service while the backends are connected (retried until they answer),
/// then serves until a stop signal, draining first for
/// `gateway.shutdown_delay_secs` (see [`platform::Lifecycle`]).
pub async fn run_process(settings: config::Settings) -> anyhow::Result<()> {
    let delay = Duration::from_secs(settings.gateway.shutdown_delay_secs);
    let listener = platform::bind(settings.gateway.listen).await?;
    platform::run_process::<store::Store, _, _, _>(settings, delay, listener, |l| l, run).await
}

/// Serves the site until `shutdown`.
pub async fn run(
    infra: Infra,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let state = Shared::new(&infra);
    serve(infra, state, listener, shutdown).await
}

/// Serves the site with `state` (made by [`Shared::new`] from `infra`;
/// tests keep a clone to look inside) until `shutdown`.
pub async fn serve(
    infra: Infra,
    state: AppState,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let grace = Duration::from_secs(infra.settings.gateway.shutdown_grace_secs);
    let flush = state.request_log_flush.clone();
    state
        .live
        .spawn_forwarder(infra.bus.clone(), infra.store.clone(), shutdown.clone());
    admin::follow_changes(state.clone(), shutdown.clone());
    admin::tokens::spawn_reload(
        state.settings.clone(),
        state.tokens.clone(),
        shutdown.clone(),
    );
    platform::serve(
        listener,
        router(&infra, state),
        &infra.settings.http,
        shutdown,
        grace,
    )
    .await?;
    // Every sender is gone with the router: the last batch goes out now.
    flush.wait(Duration::from_secs(5)).await;
    Ok(())
}
