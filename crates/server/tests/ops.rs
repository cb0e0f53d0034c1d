//! Operations endpoints and cross-cutting headers.

mod common;

use axum::http::{Method, StatusCode};

#[tokio::test]
async fn health_readiness_metrics_and_request_ids() {
    let s = common::sqlite_server().await;
    assert_eq!(
        s.portal(Method::GET, "/healthz", None, &[]).await.status,
        StatusCode::OK
    );
    let ready = s.portal(Method::GET, "/readyz", None, &[]).await;
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (StatusCode::OK, "ready\n")
    );
    s.api(
        Method::GET,
        "/api/v1/information-systems",
        Some("admin"),
        None,
    )
    .await;
    let metrics = s.portal(Method::GET, "/metrics", None, &[]).await.body;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("http_requests_total{")
                && l.contains(r#"route="/api/v1/information-systems""#)
                && l.contains(r#"status="200""#)),
        "{metrics}"
    );
    assert!(metrics.contains("http_request_duration_seconds_bucket"));
    assert!(metrics.contains("makonis_db_pool_connections"));

    // Errors carry the request id the client sent, and headers harden pages.
    let request = axum::http::Request::get("/api/v1/me")
        .header("x-request-id", "trace-me-42")
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(s.router.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'none'")
    );
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"]["request_id"], "trace-me-42");
    assert_eq!(v["error"]["code"], "unauthenticated");
}
