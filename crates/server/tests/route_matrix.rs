//! Every route × every role: the authorisation outcome of each request is
//! stated here, and the test fails if a route of the router has no case
//! (or a case names a route that does not exist). Outcomes:
//! allowed (the handler ran: 2xx, 3xx elsewhere than the login page, or a
//! 409/422 about the input), 401 (API) or a redirect to the login page
//! (portal), 403 and 404. Runs on SQLite and, when configured, PostgreSQL.

mod common;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use common::{PRINCIPALS, Response, TestServer, system_input};
use makonis_server::routes::{self, Surface};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Allowed,
    Unauthenticated,
    Forbidden,
    NotFound,
}
use Outcome::*;

/// Who may read A's embassy records (cleared roles and A's owners).
const READ_EMBASSY_A: &[&str] = &[
    "admin", "sec", "aud", "cust", "iadmin", "owner", "iaud", "isec",
];
/// Who may protect A's systems and run replication and drills.
const WRITE_EMBASSY_A: &[&str] = &["admin", "cust", "iadmin", "owner"];
/// Who never sees A's embassy records.
const NO_EMBASSY_A: &[&str] = &["broker", "member", "prov", "outsider"];

const ALL: &[&str] = &[
    "admin", "broker", "sec", "aud", "cust", "iadmin", "owner", "member", "prov", "iaud", "isec",
    "outsider",
];
/// Who may read institution A and its systems.
const READ_A: &[&str] = &[
    "admin", "broker", "sec", "aud", "cust", "iadmin", "owner", "member", "prov", "iaud", "isec",
];
/// Who may read the users of A.
const READ_USERS_A: &[&str] = &[
    "admin", "broker", "sec", "aud", "iadmin", "owner", "member", "prov", "iaud", "isec",
];
const WRITE_SYSTEMS_A: &[&str] = &["admin", "iadmin", "owner"];
const MANAGE_A: &[&str] = &["admin", "iadmin"];
const READ_AUDIT: &[&str] = &["admin", "sec", "aud", "iaud", "isec"];
/// Who may read A's orders, agreements and quotas.
const READ_ORDERS_A: &[&str] = &[
    "admin", "broker", "sec", "aud", "iadmin", "owner", "member", "iaud", "isec",
];
/// Who may order for A's systems.
const ORDER_A: &[&str] = &["admin", "iadmin", "owner", "member"];
/// Who never sees A's orders.
const NO_ORDERS_A: &[&str] = &["cust", "prov", "outsider"];
/// Who may change provider A (run by institution A) and publish its offerings.
const MANAGE_PROVIDER_A: &[&str] = &["admin", "broker", "prov"];

/// The expected outcome for a route: who is allowed, who gets 404; every
/// other signed-in principal gets 403, anonymous gets 401.
struct Case {
    method: Method,
    path: &'static str,
    allowed: &'static [&'static str],
    not_found: &'static [&'static str],
}

fn case(
    method: Method,
    path: &'static str,
    allowed: &'static [&'static str],
    not_found: &'static [&'static str],
) -> Case {
    Case {
        method,
        path,
        allowed,
        not_found,
    }
}

fn cases() -> Vec<Case> {
    use Method as M;
    vec![
        // Public
        case(M::GET, "/healthz", ALL, &[]),
        case(M::GET, "/readyz", ALL, &[]),
        case(M::GET, "/metrics", ALL, &[]),
        case(M::GET, "/static/app.css", ALL, &[]),
        case(M::GET, "/api/v1/openapi.json", ALL, &[]),
        case(M::GET, "/api/v1/docs", ALL, &[]),
        case(M::GET, "/login", ALL, &[]),
        case(M::POST, "/login", ALL, &[]),
        case(M::GET, "/lang/{lang}", ALL, &[]),
        // API
        case(M::GET, "/api/v1/me", ALL, &[]),
        case(M::GET, "/api/v1/institutions", ALL, &[]),
        case(M::POST, "/api/v1/institutions", &["admin"], &[]),
        case(M::GET, "/api/v1/institutions/{id}", READ_A, &["outsider"]),
        case(M::PUT, "/api/v1/institutions/{id}", MANAGE_A, &["outsider"]),
        case(
            M::GET,
            "/api/v1/institutions/{id}/information-systems",
            READ_A,
            &["outsider"],
        ),
        case(
            M::POST,
            "/api/v1/institutions/{id}/information-systems",
            WRITE_SYSTEMS_A,
            &["outsider"],
        ),
        case(M::GET, "/api/v1/information-systems", ALL, &[]),
        case(
            M::GET,
            "/api/v1/information-systems/{id}",
            READ_A,
            &["outsider"],
        ),
        case(
            M::PUT,
            "/api/v1/information-systems/{id}",
            WRITE_SYSTEMS_A,
            &["outsider"],
        ),
        case(M::GET, "/api/v1/users", ALL, &[]),
        case(M::POST, "/api/v1/users", MANAGE_A, &["cust", "outsider"]),
        case(
            M::GET,
            "/api/v1/users/{id}",
            READ_USERS_A,
            &["cust", "outsider"],
        ),
        case(
            M::PUT,
            "/api/v1/users/{id}",
            MANAGE_A,
            &["cust", "outsider"],
        ),
        case(
            M::POST,
            "/api/v1/users/{id}/roles",
            MANAGE_A,
            &["cust", "outsider"],
        ),
        case(
            M::DELETE,
            "/api/v1/users/{id}/roles/{role_id}",
            MANAGE_A,
            &["cust", "outsider"],
        ),
        case(M::GET, "/api/v1/audit", READ_AUDIT, &[]),
        case(M::GET, "/api/v1/tokens", ALL, &[]),
        case(M::DELETE, "/api/v1/tokens/{id}", ALL, &[]),
        case(M::GET, "/api/v1/providers", ALL, &[]),
        case(M::POST, "/api/v1/providers", &["admin", "broker"], &[]),
        case(M::GET, "/api/v1/providers/{id}", ALL, &[]),
        case(M::PUT, "/api/v1/providers/{id}", MANAGE_PROVIDER_A, &[]),
        case(
            M::POST,
            "/api/v1/providers/{id}/sites",
            MANAGE_PROVIDER_A,
            &[],
        ),
        case(
            M::POST,
            "/api/v1/providers/{id}/certifications",
            MANAGE_PROVIDER_A,
            &[],
        ),
        case(
            M::POST,
            "/api/v1/providers/{id}/offerings",
            MANAGE_PROVIDER_A,
            &[],
        ),
        // Provider A runs on the simulator, which has no catalogue to
        // sync: 409 for those allowed.
        case(
            M::POST,
            "/api/v1/providers/{id}/catalogue-sync",
            MANAGE_PROVIDER_A,
            &[],
        ),
        case(M::GET, "/api/v1/providers/{id}/price-lists", ALL, &[]),
        case(
            M::POST,
            "/api/v1/providers/{id}/price-lists",
            MANAGE_PROVIDER_A,
            &[],
        ),
        case(M::GET, "/api/v1/catalogue", ALL, &[]),
        case(M::GET, "/api/v1/catalogue/compare", ALL, &[]),
        case(
            M::POST,
            "/api/v1/information-systems/{id}/placement",
            READ_A,
            &["outsider"],
        ),
        case(M::GET, "/api/v1/orders", ALL, &[]),
        case(M::POST, "/api/v1/orders", ORDER_A, &["outsider"]),
        case(M::GET, "/api/v1/orders/{id}", READ_ORDERS_A, NO_ORDERS_A),
        case(
            M::GET,
            "/api/v1/orders/{id}/resources",
            READ_ORDERS_A,
            NO_ORDERS_A,
        ),
        case(M::POST, "/api/v1/orders/{id}/submit", ORDER_A, NO_ORDERS_A),
        // Only the IS owner and institution admin of A take its step; the
        // requester (member) never approves their own order.
        case(
            M::POST,
            "/api/v1/orders/{id}/decision",
            &["iadmin", "owner"],
            NO_ORDERS_A,
        ),
        case(M::POST, "/api/v1/orders/{id}/cancel", ORDER_A, NO_ORDERS_A),
        case(
            M::POST,
            "/api/v1/orders/{id}/decommission",
            ORDER_A,
            NO_ORDERS_A,
        ),
        // Enlarging commits money: those who approve A's orders.
        case(
            M::POST,
            "/api/v1/orders/{id}/modify",
            &["iadmin", "owner"],
            NO_ORDERS_A,
        ),
        // Costs: A's readers see A's charges, statements and budgets; the
        // Broker runs chargeback; provider A's operators import its bills.
        case(
            M::GET,
            "/api/v1/institutions/{id}/charges",
            READ_ORDERS_A,
            NO_ORDERS_A,
        ),
        case(
            M::GET,
            "/api/v1/institutions/{id}/charges/focus",
            READ_ORDERS_A,
            NO_ORDERS_A,
        ),
        case(
            M::GET,
            "/api/v1/institutions/{id}/statement-preview",
            READ_ORDERS_A,
            NO_ORDERS_A,
        ),
        case(
            M::GET,
            "/api/v1/institutions/{id}/statements",
            READ_ORDERS_A,
            NO_ORDERS_A,
        ),
        case(
            M::GET,
            "/api/v1/institutions/{id}/budgets",
            READ_ORDERS_A,
            NO_ORDERS_A,
        ),
        case(
            M::PUT,
            "/api/v1/budgets",
            &["admin", "broker", "iadmin"],
            NO_ORDERS_A,
        ),
        case(M::POST, "/api/v1/statements", &["admin", "broker"], &[]),
        case(
            M::GET,
            "/api/v1/statements/{id}",
            READ_ORDERS_A,
            NO_ORDERS_A,
        ),
        case(
            M::GET,
            "/api/v1/statements/{id}/export",
            READ_ORDERS_A,
            NO_ORDERS_A,
        ),
        case(
            M::POST,
            "/api/v1/usage/imports",
            &["admin", "broker", "prov"],
            &["cust", "outsider"],
        ),
        case(M::GET, "/api/v1/usage/imports", &["admin", "broker"], &[]),
        case(M::POST, "/api/v1/usage/collect", &["admin", "broker"], &[]),
        case(M::GET, "/api/v1/usage/unmapped", &["admin", "broker"], &[]),
        // The first allowed resolves it; the rest are told it is resolved (409).
        case(
            M::POST,
            "/api/v1/usage/unmapped/{id}/resolve",
            &["admin", "broker"],
            &[],
        ),
        case(M::GET, "/api/v1/commercial-prices", ALL, &[]),
        case(
            M::GET,
            "/api/v1/costs/providers",
            &["admin", "broker", "sec", "aud"],
            &[],
        ),
        // Asked for A (`?institution_id=`): A's cost readers.
        case(
            M::GET,
            "/api/v1/costs/usage-series",
            READ_ORDERS_A,
            NO_ORDERS_A,
        ),
        case(
            M::POST,
            "/api/v1/commercial-prices",
            &["admin", "broker"],
            &[],
        ),
        // Nothing was charged at provider A this month: 422 for those allowed.
        case(M::POST, "/api/v1/shared-costs", &["admin", "broker"], &[]),
        // The embassy registry: the cleared, and owners of (possibly no)
        // protected systems; B's admin sees an empty list.
        case(
            M::GET,
            "/api/v1/embassy/systems",
            &[
                "admin", "sec", "aud", "cust", "iadmin", "owner", "iaud", "isec", "outsider",
            ],
            &[],
        ),
        case(
            M::GET,
            "/api/v1/embassy/systems/{id}",
            READ_EMBASSY_A,
            NO_EMBASSY_A,
        ),
        case(
            M::PUT,
            "/api/v1/embassy/systems/{id}/protection",
            WRITE_EMBASSY_A,
            NO_EMBASSY_A,
        ),
        case(
            M::POST,
            "/api/v1/embassy/systems/{id}/replicate",
            WRITE_EMBASSY_A,
            NO_EMBASSY_A,
        ),
        case(
            M::POST,
            "/api/v1/embassy/systems/{id}/drills",
            WRITE_EMBASSY_A,
            NO_EMBASSY_A,
        ),
        // The fixture has no cold location: 409 for those allowed.
        case(
            M::POST,
            "/api/v1/embassy/systems/{id}/cold-copy",
            WRITE_EMBASSY_A,
            NO_EMBASSY_A,
        ),
        case(M::GET, "/api/v1/embassy/grants", ALL, &[]),
        // Custodians, owners and admins of A, and platform security officers.
        case(
            M::POST,
            "/api/v1/embassy/grants",
            &["admin", "sec", "cust", "iadmin", "owner"],
            NO_EMBASSY_A,
        ),
        // Four eyes: only a platform custodian or security officer approves,
        // never the requester (the owner).
        case(
            M::POST,
            "/api/v1/embassy/grants/{id}/approve",
            &["sec", "cust"],
            NO_EMBASSY_A,
        ),
        // Only the grantee uses an active grant.
        case(
            M::POST,
            "/api/v1/embassy/grants/{id}/key",
            &["owner"],
            NO_EMBASSY_A,
        ),
        case(M::GET, "/api/v1/sites/{id}/embassy-eligibility", ALL, &[]),
        case(
            M::PUT,
            "/api/v1/embassy/systems/{id}/dr-plan",
            WRITE_EMBASSY_A,
            NO_EMBASSY_A,
        ),
        case(
            M::GET,
            "/api/v1/embassy/systems/{id}/dr-plan/versions",
            READ_EMBASSY_A,
            NO_EMBASSY_A,
        ),
        case(
            M::POST,
            "/api/v1/embassy/grants/{id}/restore",
            &["owner"],
            NO_EMBASSY_A,
        ),
        case(
            M::POST,
            "/api/v1/embassy/grants/{id}/dr-plan",
            &["owner"],
            NO_EMBASSY_A,
        ),
        // Operators of the platform's providers, and the supervisors.
        case(
            M::GET,
            "/api/v1/reconcilers",
            &["admin", "broker", "sec", "aud"],
            &[],
        ),
        case(
            M::GET,
            "/api/v1/providers/{id}/drift",
            MANAGE_PROVIDER_A,
            &[],
        ),
        case(M::GET, "/api/v1/approvals", ALL, &[]),
        case(M::GET, "/api/v1/agreements", ALL, &[]),
        case(M::GET, "/api/v1/agreements/reminders", ALL, &[]),
        case(
            M::GET,
            "/api/v1/agreements/{id}",
            READ_ORDERS_A,
            NO_ORDERS_A,
        ),
        case(
            M::POST,
            "/api/v1/agreements/{id}/sign",
            &["broker", "iadmin"],
            NO_ORDERS_A,
        ),
        case(
            M::GET,
            "/api/v1/institutions/{id}/quotas",
            READ_ORDERS_A,
            NO_ORDERS_A,
        ),
        case(
            M::PUT,
            "/api/v1/institutions/{id}/quotas",
            &["admin", "broker"],
            NO_ORDERS_A,
        ),
        case(M::GET, "/api/v1/notifications", ALL, &[]),
        case(M::POST, "/api/v1/notifications/read", ALL, &[]),
        // Portal
        case(M::GET, "/mfa", ALL, &[]),
        case(M::POST, "/mfa", ALL, &[]),
        case(M::GET, "/mfa/enrol", ALL, &[]),
        case(M::POST, "/mfa/enrol", ALL, &[]),
        case(M::GET, "/", ALL, &[]),
        case(M::GET, "/institutions", ALL, &[]),
        case(M::GET, "/institutions/new", &["admin"], &[]),
        case(M::POST, "/institutions", &["admin"], &[]),
        case(M::GET, "/institutions/{id}", READ_A, &["outsider"]),
        case(M::GET, "/institutions/{id}/edit", MANAGE_A, &["outsider"]),
        case(M::POST, "/institutions/{id}", MANAGE_A, &["outsider"]),
        case(M::GET, "/systems", ALL, &[]),
        // The outsider may register systems in their own institution B.
        case(
            M::GET,
            "/systems/new",
            &["admin", "iadmin", "owner", "outsider"],
            &[],
        ),
        case(M::POST, "/systems", WRITE_SYSTEMS_A, &["outsider"]),
        case(M::GET, "/systems/{id}", READ_A, &["outsider"]),
        case(M::GET, "/systems/{id}/edit", WRITE_SYSTEMS_A, &["outsider"]),
        case(M::POST, "/systems/{id}", WRITE_SYSTEMS_A, &["outsider"]),
        case(M::GET, "/users", ALL, &[]),
        case(M::GET, "/users/new", &["admin", "iadmin", "outsider"], &[]),
        // Creating a user in A: the outsider may create users, just not in A.
        case(M::POST, "/users", MANAGE_A, &["outsider"]),
        case(M::GET, "/users/{id}", READ_USERS_A, &["cust", "outsider"]),
        case(
            M::POST,
            "/users/{id}/roles",
            MANAGE_A,
            &["cust", "outsider"],
        ),
        case(
            M::POST,
            "/users/{id}/roles/{role_id}/revoke",
            MANAGE_A,
            &["cust", "outsider"],
        ),
        case(M::GET, "/audit", READ_AUDIT, &[]),
        case(M::GET, "/catalogue", ALL, &[]),
        case(M::GET, "/catalogue/compare", ALL, &[]),
        case(M::GET, "/providers", ALL, &[]),
        case(M::GET, "/providers/{id}", ALL, &[]),
        case(M::GET, "/systems/{id}/placement", READ_A, &["outsider"]),
        case(M::GET, "/orders", ALL, &[]),
        case(M::POST, "/orders", ORDER_A, &["outsider"]),
        case(M::GET, "/orders/{id}", READ_ORDERS_A, NO_ORDERS_A),
        case(
            M::POST,
            "/orders/{id}/decision",
            &["iadmin", "owner"],
            NO_ORDERS_A,
        ),
        case(M::POST, "/orders/{id}/cancel", ORDER_A, NO_ORDERS_A),
        case(M::POST, "/orders/{id}/decommission", ORDER_A, NO_ORDERS_A),
        case(
            M::GET,
            "/embassy",
            &[
                "admin", "sec", "aud", "cust", "iadmin", "owner", "iaud", "isec", "outsider",
            ],
            &[],
        ),
        case(
            M::GET,
            "/embassy/systems/{id}",
            READ_EMBASSY_A,
            NO_EMBASSY_A,
        ),
        case(
            M::POST,
            "/embassy/systems/{id}/protection",
            WRITE_EMBASSY_A,
            NO_EMBASSY_A,
        ),
        case(
            M::POST,
            "/embassy/systems/{id}/replicate",
            WRITE_EMBASSY_A,
            NO_EMBASSY_A,
        ),
        case(
            M::POST,
            "/embassy/systems/{id}/drills",
            WRITE_EMBASSY_A,
            NO_EMBASSY_A,
        ),
        case(
            M::POST,
            "/embassy/grants",
            &["admin", "sec", "cust", "iadmin", "owner"],
            NO_EMBASSY_A,
        ),
        case(
            M::POST,
            "/embassy/grants/{id}/approve",
            &["sec", "cust"],
            NO_EMBASSY_A,
        ),
        case(
            M::POST,
            "/orders/{id}/modify",
            &["iadmin", "owner"],
            NO_ORDERS_A,
        ),
        // Platform people choose an institution; provider operators may not
        // read their institution's costs.
        case(
            M::GET,
            "/costs",
            &[
                "admin", "broker", "sec", "aud", "cust", "iadmin", "owner", "member", "iaud",
                "isec", "outsider",
            ],
            &["prov"],
        ),
        case(M::GET, "/costs/statements/{id}", READ_ORDERS_A, NO_ORDERS_A),
        case(
            M::GET,
            "/operations",
            &["admin", "broker", "sec", "aud"],
            &[],
        ),
        case(M::GET, "/providers/{id}/drift", MANAGE_PROVIDER_A, &[]),
        // Provider A runs on the simulator: 409 for those allowed.
        case(
            M::POST,
            "/providers/{id}/catalogue-sync",
            MANAGE_PROVIDER_A,
            &[],
        ),
        case(M::GET, "/approvals", ALL, &[]),
        case(M::GET, "/agreements", ALL, &[]),
        case(M::GET, "/agreements/{id}", READ_ORDERS_A, NO_ORDERS_A),
        case(
            M::POST,
            "/agreements/{id}/sign",
            &["broker", "iadmin"],
            NO_ORDERS_A,
        ),
        case(M::GET, "/notifications", ALL, &[]),
        case(M::POST, "/notifications/read", ALL, &[]),
        case(
            M::POST,
            "/institutions/{id}/quotas",
            &["admin", "broker"],
            NO_ORDERS_A,
        ),
        case(M::GET, "/account", ALL, &[]),
        case(M::POST, "/account/tokens", ALL, &[]),
        case(M::POST, "/account/tokens/{id}/revoke", ALL, &[]),
        // Last: it ends the principal's session.
        case(M::POST, "/logout", ALL, &[]),
    ]
}

fn classify(surface: Surface, path: &str, r: &Response) -> Outcome {
    // A signed-out visitor is sent to `/login?next=…`; a completed logout
    // lands on plain `/login`.
    let to_login = r
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with("/login") && (path != "/logout" || l != "/login"));
    match r.status {
        StatusCode::UNAUTHORIZED => Unauthenticated,
        StatusCode::FORBIDDEN => Forbidden,
        StatusCode::NOT_FOUND => NotFound,
        StatusCode::SEE_OTHER | StatusCode::FOUND | StatusCode::TEMPORARY_REDIRECT
            if to_login && surface == Surface::Portal =>
        {
            Unauthenticated
        }
        s if s.is_success()
            || s.is_redirection()
            || s == StatusCode::CONFLICT
            || s == StatusCode::UNPROCESSABLE_ENTITY =>
        {
            Allowed
        }
        s => panic!("{path}: unexpected status {s}: {}", r.body),
    }
}

/// Sends the request for `case` as `who`, preparing fresh targets for the
/// routes that consume them.
async fn exercise(s: &TestServer, case: &Case, surface: Surface, who: Option<&str>) -> Response {
    let n = s.next();
    let a = s.a.id;
    let mut path = case.path.replace("{lang}", "en");
    let mut body = None;
    let mut form: Vec<(&str, String)> = Vec::new();
    let user_target = if path.contains("/users/{id}") {
        if case.path.contains("{role_id}") {
            let (user, role) = s.fresh_role_in_a().await;
            path = path.replace("{role_id}", &role.to_string());
            user
        } else if case.method == Method::GET {
            s.user_a
        } else {
            s.fresh_user_in_a().await
        }
    } else {
        s.user_a
    };
    if path.contains("/tokens/{id}") {
        let id = who.map_or_else(
            || s.principals["admin"].spare_tokens[0].to_string(),
            |w| {
                let p = &s.principals[w];
                p.spare_tokens[if surface == Surface::Api { 0 } else { 1 }].to_string()
            },
        );
        path = path.replace("{id}", &id);
    }
    if path.contains("/embassy/grants/{id}") {
        // Pending grants to approve; active ones to use.
        let purpose = if path.ends_with("/dr-plan") {
            makonis_types::embassy::GrantPurpose::Access
        } else if path.ends_with("/restore") {
            makonis_types::embassy::GrantPurpose::RestoreProduction
        } else {
            makonis_types::embassy::GrantPurpose::KeyRelease
        };
        let grant = s.fresh_grant(!path.ends_with("/approve"), purpose).await;
        path = path.replace("/embassy/grants/{id}", &format!("/embassy/grants/{grant}"));
    }
    path = path.replace("/sites/{id}", &format!("/sites/{}", s.embassy_site));
    if path.contains("/orders/{id}") {
        // Drafts for submit, orders waiting for approval for the rest.
        let order = s.fresh_order(!path.ends_with("/submit")).await;
        path = path.replace("/orders/{id}", &format!("/orders/{order}"));
    }
    if path == "/api/v1/costs/usage-series" {
        path = format!("{path}?institution_id={a}");
    }
    if case.method == Method::POST && path == "/api/v1/usage/imports" {
        // An empty upload: those allowed get 422 (no header line).
        path = format!("{path}?provider_id={}", s.provider_a);
    }
    path = path
        .replace(
            "/statements/{id}",
            &format!("/statements/{}", s.statement_a),
        )
        .replace(
            "/usage/unmapped/{id}",
            &format!("/usage/unmapped/{}", s.unmapped_line),
        );
    path = path
        .replace(
            "/agreements/{id}",
            &format!("/agreements/{}", s.agreement_a),
        )
        .replace("/providers/{id}", &format!("/providers/{}", s.provider_a))
        .replace(
            "/catalogue/compare",
            &format!("/catalogue/compare?ids={}", s.offering_a),
        )
        .replace("/institutions/{id}", &format!("/institutions/{a}"))
        .replace(
            "/information-systems/{id}",
            &format!("/information-systems/{}", s.system_a),
        )
        .replace("/systems/{id}", &format!("/systems/{}", s.system_a))
        .replace("/users/{id}", &format!("/users/{user_target}"));
    let system = system_input(&format!("S{n}"));
    let system_json = serde_json::to_value(json!({
        "code": system.code, "name": system.name, "responsible_person": system.responsible_person,
        "security_category": "B", "data_classification": "restricted", "rpo_minutes": 60, "rto_minutes": 240,
        "lifecycle": "production"
    }))
    .unwrap();
    let system_form = vec![
        ("institution_id", a.to_string()),
        ("code", format!("P{n}")),
        ("name", format!("Portāla sistēma {n}")),
        ("responsible_person", "Jānis Ozols".into()),
        ("security_category", "B".into()),
        ("data_classification", "restricted".into()),
        ("rpo_minutes", "60".into()),
        ("rto_minutes", "240".into()),
        ("lifecycle", "production".into()),
    ];
    match (case.method.as_str(), case.path) {
        ("POST", "/api/v1/institutions") => {
            body = Some(
                json!({"name": format!("Jauna iestāde {n}"), "short_name": format!("J{n}"), "kind": "recipient"}),
            );
        }
        ("POST", "/api/v1/statements") => {
            let month = makonis_types::metering::Month::of(chrono::Utc::now()).previous();
            body = Some(json!({"institution_id": a, "month": month}));
        }
        ("POST", "/api/v1/usage/unmapped/{id}/resolve") => {
            body = Some(json!({"institution_id": a}))
        }
        ("POST", "/api/v1/commercial-prices") => {
            body = Some(
                json!({"reference": "Ref", "sku": format!("sku{n}"), "kind": "vm", "vcpu": 2,
                "ram_gb": 4, "unit": "instance_hour", "unit_price": "0.05", "valid_from": "2026-01-01"}),
            );
        }
        ("POST", "/api/v1/shared-costs") => {
            let month = makonis_types::metering::Month::of(chrono::Utc::now());
            body = Some(
                json!({"provider_id": s.provider_a, "month": month, "amount": "1.00",
                "description": format!("shared {n}")}),
            );
        }
        ("PUT", "/api/v1/budgets") => {
            body = Some(json!({"institution_id": a, "monthly_amount": "100.00"}))
        }
        ("PUT", "/api/v1/institutions/{id}") => {
            body =
                Some(json!({"name": s.a.name, "short_name": s.a.short_name, "kind": "recipient"}));
        }
        ("POST", "/api/v1/institutions/{id}/information-systems")
        | ("PUT", "/api/v1/information-systems/{id}") => {
            body = Some(system_json);
        }
        ("POST", "/api/v1/users") => {
            body = Some(
                json!({"email": format!("new{n}@a.lv"), "display_name": "Jauns", "institution_id": a,
                "password": "a-long-password-1", "roles": [{"role": "member", "institution_id": a}]}),
            );
        }
        ("PUT", "/api/v1/users/{id}") => {
            body = Some(json!({"display_name": format!("Pārdēvēts {n}"), "active": true}))
        }
        ("POST", "/api/v1/users/{id}/roles") => {
            body = Some(json!({"role": "is_owner", "institution_id": a}))
        }
        ("POST", "/api/v1/providers") => {
            body = Some(
                json!({"name": format!("Sniedzējs {n}"), "short_name": format!("SN{n}"), "kind": "commercial", "platform": "aws"}),
            );
        }
        ("PUT", "/api/v1/providers/{id}") => {
            body = Some(
                json!({"name": "A mākonis", "short_name": "PA", "institution_id": a, "kind": "state", "platform": "sim"}),
            );
        }
        ("POST", "/api/v1/providers/{id}/sites") => {
            body = Some(
                json!({"name": format!("DC {n}"), "country": "LV", "latitude": 56.9, "longitude": 24.1, "uptime_tier": 3}),
            );
        }
        ("POST", "/api/v1/providers/{id}/certifications") => {
            body = Some(
                json!({"kind": "iso27001", "issuer": "LATAK", "valid_from": "2026-01-01", "valid_until": "2028-01-01"}),
            );
        }
        ("POST", "/api/v1/providers/{id}/offerings") => {
            body = Some(
                serde_json::to_value(common::offering_input(s.site_a, &format!("o{n}"))).unwrap(),
            );
        }
        ("POST", "/api/v1/providers/{id}/catalogue-sync") => {
            body = Some(json!({"site_id": s.site_a}));
        }
        ("POST", "/api/v1/providers/{id}/price-lists") => {
            let year = 2100 + n;
            body = Some(
                json!({"version": format!("v{n}"), "valid_from": format!("{year}-01-01"), "valid_until": format!("{year}-12-31"),
                "items": [{"offering_id": s.offering_a, "unit_price": "0.0210"}]}),
            );
        }
        ("POST", "/api/v1/information-systems/{id}/placement") => {
            body = Some(json!({"kind": "vm", "quantity": 1}))
        }
        ("POST", "/api/v1/orders") => {
            body = Some(
                json!({"information_system_id": s.system_a, "offering_id": s.offering_a, "quantity": 1, "submit": true}),
            );
        }
        ("POST", "/api/v1/orders/{id}/decision") => body = Some(json!({"decision": "approve"})),
        ("POST", "/api/v1/orders/{id}/cancel") => body = Some(json!({"reason": "vairs nevajag"})),
        ("POST", "/api/v1/orders/{id}/modify") => body = Some(json!({"quantity": 2})),
        // Rīga is no embassy site: the handler runs and answers 422.
        ("PUT", "/api/v1/embassy/systems/{id}/protection") => {
            body = Some(
                json!({"site_id": s.site_a, "primary_location": "/nonexistent/p", "replica_location": "/nonexistent/r",
                "primary_password": "matrix-password-1", "replica_password": "matrix-password-2"}),
            );
        }
        ("PUT", "/api/v1/embassy/systems/{id}/dr-plan") => {
            body = Some(json!({"text": format!("# plan {n}\n")}));
        }
        ("POST", "/api/v1/embassy/grants/{id}/dr-plan") => body = Some(json!({})),
        ("POST", "/api/v1/embassy/grants/{id}/restore") => {
            let target = s.state.path().join(format!("restore-{n}"));
            body = Some(json!({"target": target.display().to_string()}));
        }
        ("POST", "/api/v1/embassy/grants") => {
            body = Some(
                json!({"information_system_id": s.system_a, "purpose": "access", "reason": "route matrix", "hours": 1}),
            );
        }
        ("POST", "/embassy/systems/{id}/protection") => {
            form = vec![
                ("site_id", s.site_a.to_string()),
                ("primary_location", "/nonexistent/p".into()),
                ("replica_location", "/nonexistent/r".into()),
                ("primary_password", "matrix-password-1".into()),
                ("replica_password", "matrix-password-2".into()),
                ("hot_interval_minutes", "15".into()),
                ("drill_interval_days", "30".into()),
            ];
        }
        ("POST", "/embassy/grants") => {
            form = vec![
                ("information_system_id", s.system_a.to_string()),
                ("purpose", "access".into()),
                ("reason", "route matrix".into()),
                ("hours", "1".into()),
            ];
        }
        ("POST", "/api/v1/agreements/{id}/sign") => body = Some(json!({"document_ref": "VDAA/1"})),
        ("PUT", "/api/v1/institutions/{id}/quotas") => body = Some(json!({"vcpu": 100000})),
        ("POST", "/orders") => {
            form = vec![
                ("information_system_id", s.system_a.to_string()),
                ("offering_id", s.offering_a.to_string()),
                ("quantity", "1".into()),
            ];
        }
        ("POST", "/orders/{id}/decision") => form = vec![("decision", "approve".into())],
        ("POST", "/orders/{id}/modify") => form = vec![("quantity", "2".into())],
        ("POST", "/institutions/{id}/quotas") => form = vec![("vcpu", "100000".into())],
        ("POST", "/login") => {
            // The login form's own CSRF is cookie-bound; see csrf tests.
            return s.portal(Method::GET, "/login", None, &[]).await;
        }
        ("POST", "/mfa") => form = vec![("code", "000000".into()), ("next", "/".into())],
        ("POST", "/mfa/enrol") => form = vec![("code", "000000".into())],
        ("POST", "/institutions") => {
            form = vec![
                ("name", format!("Portāla iestāde {n}")),
                ("short_name", format!("PI{n}")),
                ("kind", "recipient".into()),
            ];
        }
        ("POST", "/institutions/{id}") => {
            form = vec![
                ("name", s.a.name.clone()),
                ("short_name", s.a.short_name.clone()),
                ("kind", "recipient".into()),
            ];
        }
        ("POST", "/systems") | ("POST", "/systems/{id}") => form = system_form,
        ("POST", "/users") => {
            form = vec![
                ("email", format!("pnew{n}@a.lv")),
                ("display_name", "Jauns".into()),
                ("home_institution_id", a.to_string()),
                ("password", "a-long-password-1".into()),
                ("role", "member".into()),
                ("institution_id", a.to_string()),
            ];
        }
        ("POST", "/users/{id}/roles") => {
            form = vec![
                ("role", "is_owner".into()),
                ("institution_id", a.to_string()),
            ]
        }
        ("POST", "/account/tokens") => {
            form = vec![("name", format!("t{n}")), ("scope", "read".into())]
        }
        _ => {}
    }
    match surface {
        Surface::Api => s.api(case.method.clone(), &path, who, body).await,
        Surface::Portal | Surface::Public => s.portal(case.method.clone(), &path, who, &form).await,
    }
}

#[tokio::test]
async fn every_route_has_a_case_for_every_role() {
    let table = cases();
    let registered: BTreeSet<(String, String)> = routes::all()
        .list()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    let covered: BTreeSet<(String, String)> = table
        .iter()
        .map(|c| (c.method.to_string(), c.path.to_owned()))
        .collect();
    let missing: Vec<_> = registered.difference(&covered).collect();
    let stale: Vec<_> = covered.difference(&registered).collect();
    assert!(
        missing.is_empty(),
        "routes without an authorisation case: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "cases for routes that do not exist: {stale:?}"
    );
    for c in &table {
        for name in c.allowed.iter().chain(c.not_found) {
            assert!(
                PRINCIPALS.iter().any(|(p, ..)| p == name),
                "{} {}: unknown principal {name}",
                c.method,
                c.path
            );
        }
    }

    for server in common::servers().await {
        let label = server.store.label;
        let surfaces: std::collections::HashMap<(String, &str), Surface> = routes::all()
            .list()
            .iter()
            .map(|r| ((r.method.to_string(), r.path), r.surface))
            .collect();
        let mut failures = Vec::new();
        for c in &table {
            let surface = surfaces[&(c.method.to_string(), c.path)];
            // Anonymous first: public routes answer, the rest ask for credentials.
            let r = exercise(&server, c, surface, None).await;
            let expected = if surface == Surface::Public {
                Allowed
            } else {
                Unauthenticated
            };
            let got = classify(surface, c.path, &r);
            if got != expected {
                failures.push(format!(
                    "{label} anonymous {} {}: expected {expected:?}, got {got:?} ({})",
                    c.method, c.path, r.status
                ));
            }
            for (name, ..) in PRINCIPALS {
                let expected = if c.allowed.contains(name) {
                    Allowed
                } else if c.not_found.contains(name) {
                    NotFound
                } else {
                    Forbidden
                };
                let r = exercise(&server, c, surface, Some(name)).await;
                let got = classify(surface, c.path, &r);
                if got != expected {
                    failures.push(format!(
                        "{label} {name} {} {}: expected {expected:?}, got {got:?} ({} {})",
                        c.method,
                        c.path,
                        r.status,
                        r.body.chars().take(160).collect::<String>()
                    ));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} authorisation mismatches:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}
