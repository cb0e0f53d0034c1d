//! Operations endpoints: liveness, readiness and Prometheus metrics.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::{AppState, metrics_layer};

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// The process can serve: the database answers.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.app.ready().await {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("not ready: {e}\n")),
    }
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let (open, idle) = state.app.datastore().pool_stats();
    metrics::gauge!("makonis_db_pool_connections").set(f64::from(open));
    metrics::gauge!("makonis_db_pool_idle_connections").set(idle as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics_layer::handle().render(),
    )
}
