//! The gateway's routes and what each serves: the router is built here
//! with a [`RouteKind`] beside every path, so the site layer learns a
//! request's kind from the route that matched (axum's [`MatchedPath`]),
//! and the crawler gate, the request log and the visitor cookie decide by
//! the kind. Nothing else in the gateway reads a path to tell what it is.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, RawPathParams, Request};
use axum::routing::MethodRouter;
use domain::E164;

use crate::i18n::Lang;

pub use proto::events::v1::RouteKind;

/// A router being built, with the kind of each of its routes (and the
/// language of its pages, for the routes mounted once per language).
pub struct Routes<S> {
    routes: Vec<(String, RouteKind, Option<Lang>, MethodRouter<S>)>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Self { routes: Vec::new() }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    /// Adds `path` (as [`Router::route`]), serving `kind`.
    #[must_use]
    pub fn route(mut self, path: &str, kind: RouteKind, handler: MethodRouter<S>) -> Self {
        self.routes.push((path.to_owned(), kind, None, handler));
        self
    }

    /// These routes are pages in `lang`: the site layer takes their
    /// language from the route, not from negotiation.
    #[must_use]
    pub fn speaking(mut self, lang: Lang) -> Self {
        for route in &mut self.routes {
            route.2 = Some(lang);
        }
        self
    }

    /// Adds every route of `other` under `prefix` (`""` adds them as they
    /// are), keeping their kinds and languages: `/` under `/zh-CN` is
    /// `/zh-CN/`, `/latest` is `/zh-CN/latest`.
    #[must_use]
    pub fn nest(mut self, prefix: &str, other: Routes<S>) -> Self {
        self.routes.extend(
            other.routes.into_iter().map(|(path, kind, lang, handler)| {
                (format!("{prefix}{path}"), kind, lang, handler)
            }),
        );
        self
    }

    /// The router, and the kinds for [`RouteKinds::route`].
    pub fn into_parts(self) -> (Router<S>, RouteKinds) {
        let mut router = Router::new();
        let mut kinds = HashMap::new();
        for (path, kind, lang, handler) in self.routes {
            router = router.route(&path, handler);
            let before = kinds.insert(path, (kind, lang));
            debug_assert!(before.is_none(), "a path is routed twice");
        }
        (router, RouteKinds(Arc::new(kinds)))
    }
}

/// The kind of each route of a router; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct RouteKinds(Arc<HashMap<String, (RouteKind, Option<Lang>)>>);

impl RouteKinds {
    /// The route `request` matched. Middleware added with [`Router::layer`]
    /// runs after routing, so it sees the matched path and its parameters;
    /// the fallback (no route matched) has neither and is
    /// [`RouteKind::NotFound`].
    pub async fn route(&self, request: &mut Request) -> Route {
        use axum::RequestExt as _;
        let Some(template) = request.extensions().get::<MatchedPath>().cloned() else {
            return Route::not_found();
        };
        let (kind, lang) = self
            .0
            .get(template.as_str())
            .copied()
            .unwrap_or((RouteKind::NotFound, None));
        // A parameter that is not UTF-8 once decoded names no number.
        let number = request
            .extract_parts::<RawPathParams>()
            .await
            .ok()
            .and_then(|params| {
                params
                    .iter()
                    .find(|(name, _)| *name == "e164")
                    .and_then(|(_, value)| E164::parse(value).ok())
            });
        Route {
            kind,
            template: Some(template),
            number,
            lang,
        }
    }
}

/// The route a request matched, as the site layer found it.
#[derive(Clone, Debug)]
pub struct Route {
    /// What it serves.
    pub kind: RouteKind,
    /// The path as the router spells it (`/numbers/{e164}`); none for the
    /// fallback.
    pub template: Option<MatchedPath>,
    /// The number its `{e164}` parameter names, when it is a valid one.
    pub number: Option<E164>,
    /// The language of a page mounted once per language
    /// ([`Routes::speaking`]); none where the language is negotiated.
    pub lang: Option<Lang>,
}

impl Route {
    /// No route matched.
    fn not_found() -> Self {
        Self {
            kind: RouteKind::NotFound,
            template: None,
            number: None,
            lang: None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::middleware::Next;
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::*;

    /// Middleware like the site layer: answers with what it found.
    async fn report(
        axum::extract::State(kinds): axum::extract::State<RouteKinds>,
        mut request: Request,
        _next: Next,
    ) -> Response {
        let route = kinds.route(&mut request).await;
        let template = route.template.as_ref().map_or("", MatchedPath::as_str);
        let number = route.number.as_ref().map_or("", E164::as_str);
        let lang = route.lang.map_or("", Lang::code);
        format!("{:?} {template} {number}{lang}", route.kind).into_response()
    }

    fn pages() -> Routes<()> {
        Routes::default()
            .route("/", RouteKind::Page, get(|| async { "" }))
            .route("/latest", RouteKind::Page, get(|| async { "" }))
            .route(
                "/numbers/{e164}",
                RouteKind::NumberPage,
                get(|| async { "" }),
            )
    }

    async fn seen(path: &str) -> String {
        let (router, kinds) = Routes::default()
            .nest("", pages())
            .nest("/zh-CN", pages().speaking(Lang::ZhCn))
            .route(
                "/numbers/{e164}/events",
                RouteKind::Live,
                get(|| async { "" }),
            )
            .into_parts();
        let router = router
            .fallback(|| async { StatusCode::NOT_FOUND })
            .layer(axum::middleware::from_fn_with_state(kinds, report));
        let response = router
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn the_site_layer_sees_the_route_that_matched() {
        assert_eq!(seen("/latest").await, "Page /latest ");
        assert_eq!(
            seen("/numbers/%2B447700900461").await,
            "NumberPage /numbers/{e164} +447700900461"
        );
        assert_eq!(
            seen("/numbers/+447700900461/events").await,
            "Live /numbers/{e164}/events +447700900461"
        );
        assert_eq!(
            seen("/numbers/not-a-number").await,
            "NumberPage /numbers/{e164} "
        );
    }

    #[tokio::test]
    async fn nested_pages_keep_their_kinds_and_name_their_language() {
        assert_eq!(seen("/zh-CN/").await, "Page /zh-CN/ zh-CN");
        assert_eq!(seen("/zh-CN/latest").await, "Page /zh-CN/latest zh-CN");
        assert_eq!(
            seen("/zh-CN/numbers/+447700900461").await,
            "NumberPage /zh-CN/numbers/{e164} +447700900461zh-CN"
        );
        assert_eq!(
            seen("/zh-CN/numbers/+447700900461/events").await,
            "NotFound  "
        );
        assert_eq!(seen("/zh-CN/nowhere").await, "NotFound  ");
    }

    #[tokio::test]
    async fn unmatched_paths_are_not_found() {
        assert_eq!(seen("/nowhere").await, "NotFound  ");
        assert_eq!(seen("/latest/").await, "NotFound  ");
        assert_eq!(seen("/numbers/+447700900461/x").await, "NotFound  ");
    }
}
