//! The OpenAPI document and a readable page generated from it on the
//! server, so the docs work without JavaScript or a CDN.

use axum::http::header;
use axum::response::IntoResponse;
use maud::{DOCTYPE, Markup, html};
use utoipa::OpenApi;

use crate::openapi::{ApiDoc, document_json};

pub async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
}

pub async fn docs_page() -> Markup {
    let doc = ApiDoc::openapi();
    let mut operations = Vec::new();
    for (path, item) in &doc.paths.paths {
        for (method, op) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ] {
            if let Some(op) = op {
                operations.push((method, path.clone(), op.clone()));
            }
        }
    }
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Mākonis API" }
                link rel="stylesheet" href="/static/app.css";
            }
            body {
                main id="main" class="container" {
                    h1 { (doc.info.title) " " (doc.info.version) }
                    p { (doc.info.description.clone().unwrap_or_default()) }
                    p { a href="/api/v1/openapi.json" { "OpenAPI 3.1 document (JSON)" } }
                    table {
                        caption { "Operations" }
                        thead { tr { th scope="col" { "Method" } th scope="col" { "Path" } th scope="col" { "Summary" } th scope="col" { "Responses" } } }
                        tbody {
                            @for (method, path, op) in &operations {
                                tr {
                                    td { code { (method) } }
                                    td { code { (path) } }
                                    td { (op.summary.clone().or(op.description.clone()).unwrap_or_default()) }
                                    td { (op.responses.responses.keys().cloned().collect::<Vec<_>>().join(", ")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
