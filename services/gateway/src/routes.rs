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

pub use proto::events::v1::RouteKind;

/// A router being built, with the kind of each of its routes.
pub struct Routes<S> {
    router: Router<S>,
    kinds: HashMap<&'static str, RouteKind>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Self {
            router: Router::new(),
            kinds: HashMap::new(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    /// Adds `path` (as [`Router::route`]), serving `kind`.
    #[must_use]
    pub fn route(mut self, path: &'static str, kind: RouteKind, handler: MethodRouter<S>) -> Self {
        let before = self.kinds.insert(path, kind);
        debug_assert!(before.is_none(), "{path} is routed twice");
        self.router = self.router.route(path, handler);
        self
    }

    /// The router, and the kinds for [`RouteKinds::route`].
    pub fn into_parts(self) -> (Router<S>, RouteKinds) {
        (self.router, RouteKinds(Arc::new(self.kinds)))
    }
}

/// The kind of each route of a router; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct RouteKinds(Arc<HashMap<&'static str, RouteKind>>);

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
        let kind = self
            .0
            .get(template.as_str())
            .copied()
            .unwrap_or(RouteKind::NotFound);
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
}

impl Route {
    /// No route matched.
    fn not_found() -> Self {
        Self {
            kind: RouteKind::NotFound,
            template: None,
            number: None,
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
        format!("{:?} {template} {number}", route.kind).into_response()
    }

    async fn seen(path: &str) -> String {
        let (router, kinds) = Routes::default()
            .route("/latest", RouteKind::Page, get(|| async { "" }))
            .route(
                "/numbers/{e164}",
                RouteKind::NumberPage,
                get(|| async { "" }),
            )
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
    async fn unmatched_paths_are_not_found() {
        assert_eq!(seen("/nowhere").await, "NotFound  ");
        assert_eq!(seen("/latest/").await, "NotFound  ");
        assert_eq!(seen("/numbers/+447700900461/x").await, "NotFound  ");
    }
}
