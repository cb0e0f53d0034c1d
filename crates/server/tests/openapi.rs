//! The committed `openapi.json` is the code's OpenAPI document, and every
//! API route is in it. Regenerate with `MAKONIS_UPDATE_OPENAPI=1 cargo test
//! -p makonis-server --test openapi`.

use makonis_server::routes::{self, Surface};

#[test]
fn committed_document_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");
    let generated = makonis_server::openapi::document_json();
    if std::env::var("MAKONIS_UPDATE_OPENAPI").is_ok() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.json differs from the code; regenerate it with MAKONIS_UPDATE_OPENAPI=1 cargo test -p makonis-server --test openapi"
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
}

#[test]
fn every_api_route_is_documented() {
    let doc: serde_json::Value =
        serde_json::from_str(&makonis_server::openapi::document_json()).unwrap();
    let mut missing = Vec::new();
    for r in routes::all()
        .list()
        .iter()
        .filter(|r| r.surface == Surface::Api)
    {
        let method = r.method.as_str().to_lowercase();
        if doc["paths"][r.path][&method].is_null() {
            missing.push(format!("{} {}", r.method, r.path));
        }
    }
    assert!(
        missing.is_empty(),
        "API routes missing from the OpenAPI document: {missing:?}"
    );
}

#[test]
fn every_documented_path_is_a_route() {
    let doc: serde_json::Value =
        serde_json::from_str(&makonis_server::openapi::document_json()).unwrap();
    let routes = routes::all();
    let mut phantom = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let registered = routes
                .list()
                .iter()
                .any(|r| r.path == path && r.method.as_str().eq_ignore_ascii_case(method));
            if !registered {
                phantom.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(phantom.is_empty(), "documented but not routed: {phantom:?}");
}
