//! Bad input never answers 500 and never half-writes: malformed bodies to
//! every JSON route, wrong types, unknown enum values, over-long strings,
//! duplicates, stale CSRF tokens, expired sessions, bad query strings and
//! ids. Each error names the field.

mod common;

use axum::http::{Method, StatusCode};
use makonis_server::routes::{self, Surface};
use serde_json::json;

fn concrete(s: &common::TestServer, path: &str) -> String {
    path.replace("/institutions/{id}", &format!("/institutions/{}", s.a.id))
        .replace(
            "/information-systems/{id}",
            &format!("/information-systems/{}", s.system_a),
        )
        .replace("/users/{id}", &format!("/users/{}", s.user_a))
        .replace("{role_id}", &uuid_like())
        .replace("/tokens/{id}", &format!("/tokens/{}", uuid_like()))
}

fn uuid_like() -> String {
    "01a1fea4-e5f3-74f0-90a0-000000000000".into()
}

#[tokio::test]
async fn malformed_bodies_to_every_json_route_are_4xx_with_fields_and_write_nothing() {
    let s = common::sqlite_server().await;
    let before = s.audit_count().await;
    let bodies: Vec<(&str, String, Option<&str>)> = vec![
        ("truncated JSON", "{\"name\": ".into(), Some("application/json")),
        ("not an object", "[1, 2, 3]".into(), Some("application/json")),
        ("empty body", String::new(), Some("application/json")),
        ("wrong types", json!({"name": 5, "code": [], "role": {}, "display_name": false, "kind": 1}).to_string(), Some("application/json")),
        ("unknown enum values", json!({"kind": "alien", "security_category": "Z", "role": "god", "lifecycle": "zombie"}).to_string(), Some("application/json")),
        ("huge strings", json!({"name": "x".repeat(100_000), "short_name": "y".repeat(5000)}).to_string(), Some("application/json")),
        ("text/plain", "name=x".into(), Some("text/plain")),
        ("no content type", "{}".into(), None),
        ("invalid UTF-8", String::from_utf8_lossy(&[0x7b, 0xff, 0xfe, 0x7d]).into_owned(), Some("application/json")),
        ("deep nesting", "[".repeat(10_000), Some("application/json")),
    ];
    let doc: serde_json::Value =
        serde_json::from_str(&makonis_server::openapi::document_json()).unwrap();
    let json_routes: Vec<_> = routes::all()
        .list()
        .iter()
        // JSON routes: those whose OpenAPI operation takes a request body.
        .filter(|r| {
            r.surface == Surface::Api
                && !doc["paths"][r.path][r.method.as_str().to_lowercase()]["requestBody"].is_null()
        })
        .cloned()
        .collect();
    assert!(
        json_routes.len() >= 7,
        "expected the JSON write routes, found {json_routes:?}"
    );
    for route in &json_routes {
        for (what, body, content_type) in &bodies {
            let mut builder = axum::http::Request::builder()
                .method(route.method.clone())
                .uri(concrete(&s, route.path))
                .header(
                    "authorization",
                    format!("Bearer {}", s.principals["admin"].token),
                );
            if let Some(ct) = content_type {
                builder = builder.header("content-type", *ct);
            }
            let r = s
                .send(builder.body(axum::body::Body::from(body.clone())).unwrap())
                .await;
            assert!(
                r.status.is_client_error(),
                "{} {} with {what}: expected 4xx, got {} {}",
                route.method,
                route.path,
                r.status,
                r.body
            );
            let v = r.json();
            assert!(
                v["error"]["code"].is_string() && v["error"]["request_id"].is_string(),
                "{what}: {v}"
            );
            if r.status != StatusCode::NOT_FOUND {
                assert!(
                    !v["error"]["fields"].as_array().unwrap().is_empty(),
                    "{} {} {what}: no field named: {v}",
                    route.method,
                    route.path
                );
            }
        }
    }
    assert_eq!(
        s.audit_count().await,
        before,
        "a malformed request changed something"
    );
}

#[tokio::test]
async fn field_errors_name_the_field_and_what_was_expected() {
    let s = common::sqlite_server().await;
    let a = s.a.id;
    let r = s
        .api(Method::POST, &format!("/api/v1/institutions/{a}/information-systems"), Some("admin"),
            Some(json!({"code": "X", "name": "X", "responsible_person": "P", "security_category": "D",
                "data_classification": "public", "rpo_minutes": 1, "rto_minutes": 1, "lifecycle": "planned"})))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let field = &r.json()["error"]["fields"][0];
    assert_eq!(field["field"], "security_category");
    assert_eq!(field["code"], "invalid_choice");
    assert!(
        field["message"].as_str().unwrap().contains("`A`, `B`, `C`"),
        "{field}"
    );

    let r = s
        .api(
            Method::POST,
            "/api/v1/institutions",
            Some("admin"),
            Some(json!({"short_name": "Q", "kind": "recipient"})),
        )
        .await;
    assert_eq!(r.json()["error"]["fields"][0]["field"], "name");
    assert_eq!(r.json()["error"]["fields"][0]["code"], "required");

    let r = s
        .api(
            Method::POST,
            "/api/v1/institutions",
            Some("admin"),
            Some(json!({"name": "N", "short_name": "Q", "kind": "recipient", "colour": "blue"})),
        )
        .await;
    assert_eq!(r.json()["error"]["fields"][0]["field"], "colour");
    assert_eq!(r.json()["error"]["fields"][0]["code"], "unknown_field");

    let r = s
        .api(
            Method::POST,
            "/api/v1/institutions",
            Some("admin"),
            Some(json!({"name": "N".repeat(201), "short_name": "", "kind": "recipient"})),
        )
        .await;
    let fields: Vec<_> = r.json()["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap().to_owned(),
                f["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("name".to_owned(), "too_long".to_owned()),
            ("short_name".to_owned(), "required".to_owned())
        ]
    );

    // Duplicates name the field, and the second write leaves nothing behind.
    let before = s.audit_count().await;
    let r = s
        .api(
            Method::POST,
            "/api/v1/institutions",
            Some("admin"),
            Some(json!({"name": "Cita", "short_name": "a", "kind": "recipient"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["fields"][0]["field"], "short_name");
    assert_eq!(r.json()["error"]["fields"][0]["code"], "duplicate");
    assert_eq!(s.audit_count().await, before);

    // A user with a bad role scope: nothing is created, not even the user.
    let r = s
        .api(
            Method::POST,
            "/api/v1/users",
            Some("admin"),
            Some(json!({"email": "half@a.lv", "display_name": "H",
        "password": "a-long-password-1", "roles": [{"role": "member"}]})),
        )
        .await;
    assert_eq!(
        r.json()["error"]["fields"][0]["field"],
        "roles[0].institution_id"
    );
    let r = s
        .api(
            Method::GET,
            "/api/v1/users?q=half%40a.lv",
            Some("admin"),
            None,
        )
        .await;
    assert_eq!(r.json()["total"], 0);

    // Bad query values and ids.
    let r = s
        .api(
            Method::GET,
            "/api/v1/information-systems?security_category=Q",
            Some("admin"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json()["error"]["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Q")
    );
    let r = s
        .api(
            Method::GET,
            "/api/v1/information-systems?limit=-5",
            Some("admin"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = s
        .api(
            Method::GET,
            "/api/v1/institutions/not-a-uuid",
            Some("admin"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = s
        .api(Method::GET, "/api/v1/no/such/route", Some("admin"), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error"]["code"], "not_found");
}

#[tokio::test]
async fn portal_forms_reject_stale_csrf_and_report_field_errors_in_latvian() {
    let s = common::sqlite_server().await;
    let before = s.audit_count().await;
    let p = &s.principals["admin"];
    let form = |csrf: &str| {
        serde_urlencoded::to_string([
            ("csrf", csrf),
            ("name", "Iestāde X"),
            ("short_name", "IX"),
            ("kind", "recipient"),
        ])
        .unwrap()
    };
    for csrf in ["", "stale-token", &p.csrf[..p.csrf.len() - 1]] {
        let r = s
            .send(
                axum::http::Request::post("/institutions")
                    .header("cookie", format!("makonis_session={}", p.session))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(axum::body::Body::from(form(csrf)))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "csrf '{csrf}' accepted");
        assert!(r.body.contains("Veidlapas derīgums beidzies"), "{}", r.body);
    }
    assert_eq!(
        s.audit_count().await,
        before,
        "a forged form changed something"
    );

    let r = s
        .portal(
            Method::POST,
            "/systems",
            Some("admin"),
            &[
                ("institution_id", s.a.id.to_string()),
                ("code", "OK1".into()),
                ("name", String::new()),
                ("responsible_person", "P".into()),
                ("security_category", "Z".into()),
                ("data_classification", "public".into()),
                ("rpo_minutes", "abc".into()),
                ("rto_minutes", "10".into()),
                ("lifecycle", "production".into()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for text in [
        "Nosaukums: obligāts lauks",
        "Drošības kategorija: izvēlieties vienu no: A, B, C",
        "Atjaunošanas punkta mērķis (RPO): jābūt veselam skaitlim",
    ] {
        assert!(r.body.contains(text), "missing '{text}' in the form page");
    }
    assert!(r.body.contains("aria-invalid=\"true\""));
    assert!(
        r.body.contains(r#"value="OK1""#),
        "the form must keep what was typed"
    );
    assert_eq!(s.audit_count().await, before);
}

#[tokio::test]
async fn expired_or_unknown_sessions_go_back_to_login() {
    let s = common::sqlite_server().await;
    let r = s
        .send(
            axum::http::Request::get("/systems")
                .header("cookie", "makonis_session=forged")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.location.as_deref(),
        Some("/login?next=%2Fsystems&expired=1")
    );
    let login = s
        .portal(Method::GET, "/login?next=%2Fsystems&expired=1", None, &[])
        .await;
    assert!(login.body.contains("Sesija beigusies"));
    // Open redirects are refused.
    let r = s
        .portal(Method::GET, "/lang/en?next=//evil.example/x", None, &[])
        .await;
    assert_eq!(r.location.as_deref(), Some("/"));
}

#[tokio::test]
async fn tenants_cannot_read_or_write_each_other() {
    let s = common::sqlite_server().await;
    let b_system = s
        .app
        .list_information_systems(
            &makonis_app::OpContext::system("t"),
            &Default::default(),
            Default::default(),
        )
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|x| x.institution_id == s.b.id)
        .unwrap();
    // The A admin lists only A's systems…
    let r = s
        .api(
            Method::GET,
            "/api/v1/information-systems",
            Some("iadmin"),
            None,
        )
        .await;
    let codes: Vec<_> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes, ["SYSA"]);
    // …even when asking for B's by filter…
    let r = s
        .api(
            Method::GET,
            &format!("/api/v1/information-systems?institution_id={}", s.b.id),
            Some("iadmin"),
            None,
        )
        .await;
    assert_eq!(r.json()["total"], 0);
    // …cannot read, change, or add to B's…
    let r = s
        .api(
            Method::GET,
            &format!("/api/v1/information-systems/{}", b_system.id),
            Some("iadmin"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let mut body = serde_json::to_value(common::system_input("HACK")).unwrap();
    body.as_object_mut().unwrap().retain(|_, v| !v.is_null());
    let r = s
        .api(
            Method::PUT,
            &format!("/api/v1/information-systems/{}", b_system.id),
            Some("iadmin"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = s
        .api(
            Method::POST,
            &format!("/api/v1/institutions/{}/information-systems", s.b.id),
            Some("iadmin"),
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // …cannot grant themselves a role in B…
    let me = s.principals["iadmin"].user_id;
    let r = s
        .api(
            Method::POST,
            &format!("/api/v1/users/{me}/roles"),
            Some("iadmin"),
            Some(json!({"role": "institution_admin", "institution_id": s.b.id})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // …or a platform role…
    let r = s
        .api(
            Method::POST,
            &format!("/api/v1/users/{me}/roles"),
            Some("iadmin"),
            Some(json!({"role": "platform_admin"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // …and B's system is unchanged.
    let after = s
        .app
        .get_information_system(&makonis_app::OpContext::system("t"), b_system.id)
        .await
        .unwrap();
    assert_eq!(after, b_system);
    // The portal shows the same.
    let r = s
        .portal(
            Method::GET,
            &format!("/systems/{}", b_system.id),
            Some("iadmin"),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = s.portal(Method::GET, "/systems", Some("iadmin"), &[]).await;
    assert!(r.body.contains("SYSA") && !r.body.contains("SYSB"));
}
