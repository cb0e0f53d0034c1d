//! The HTTP edge of Mākonis: the REST API under `/api/v1`, the portal
//! pages, and the operations endpoints. Handlers are a few lines each: parse
//! the request, call one `app` function, render the answer. Authentication
//! (session cookies, API tokens), CSRF checks, request ids, error mapping,
//! metrics and the OpenAPI document live here; authorisation and everything
//! that touches data live in `app`.
//!
//! Every route is registered through [`routes::Routes`], which records its
//! method, path and surface, so tests can enumerate the whole router and
//! check each route against each role.

pub mod api;
mod error;
mod extract;
mod i18n;
mod metrics_layer;
pub mod openapi;
mod ops;
pub mod portal;
pub mod routes;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use makonis_app::App;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use routes::{RouteInfo, Surface};

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Mark cookies `Secure`: set when the portal is served over TLS
    /// (directly or behind a TLS-terminating proxy).
    pub secure_cookies: bool,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            max_body_bytes: 1024 * 1024,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub config: Arc<ServerConfig>,
}

/// The date the server takes as today (UTC) for validity and price checks.
pub(crate) fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The whole service with its middleware.
pub fn router(app: App, config: ServerConfig) -> Router {
    let max_body = config.max_body_bytes;
    let state = AppState {
        app,
        config: Arc::new(config),
    };
    let request_id = header::HeaderName::from_static(REQUEST_ID_HEADER);
    routes::all()
        .into_router()
        .fallback(portal::not_found)
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn(metrics_layer::record))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req
                .headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
