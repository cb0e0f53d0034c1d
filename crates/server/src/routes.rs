//! The route registry. Every route goes through [`Routes::add`], which
//! records it, so [`all`] is both the router and the list tests walk.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{delete, get, patch, post, put};

use crate::{AppState, api, ops, portal};

/// Which face of the service a route belongs to; decides how "not signed
/// in" looks (401 JSON for the API, a redirect to the login page for the
/// portal) and whether it is public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Surface {
    /// JSON under `/api/v1`, bearer tokens.
    Api,
    /// HTML pages, session cookies.
    Portal,
    /// Public by design: health, metrics, login page, static files, docs.
    Public,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteInfo {
    pub method: Method,
    pub path: &'static str,
    pub surface: Surface,
}

pub struct Routes {
    router: Router<AppState>,
    list: Vec<RouteInfo>,
}

impl Routes {
    fn new() -> Self {
        Self {
            router: Router::new(),
            list: Vec::new(),
        }
    }

    fn add<H, T>(mut self, method: Method, path: &'static str, surface: Surface, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let method_router = match method.as_str() {
            "GET" => get(handler),
            "POST" => post(handler),
            "PUT" => put(handler),
            "PATCH" => patch(handler),
            "DELETE" => delete(handler),
            other => panic!("unsupported method {other}"),
        };
        self.router = self.router.route(path, method_router);
        self.list.push(RouteInfo {
            method,
            path,
            surface,
        });
        self
    }

    pub fn list(&self) -> &[RouteInfo] {
        &self.list
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

/// Every route of the service.
pub fn all() -> Routes {
    use Surface::*;
    let (g, p, u, d) = (Method::GET, Method::POST, Method::PUT, Method::DELETE);
    Routes::new()
        // Operations
        .add(g.clone(), "/healthz", Public, ops::healthz)
        .add(g.clone(), "/readyz", Public, ops::readyz)
        .add(g.clone(), "/metrics", Public, ops::metrics)
        .add(
            g.clone(),
            "/static/app.css",
            Public,
            portal::assets::stylesheet,
        )
        // API
        .add(
            g.clone(),
            "/api/v1/openapi.json",
            Public,
            api::docs::openapi_json,
        )
        .add(g.clone(), "/api/v1/docs", Public, api::docs::docs_page)
        .add(g.clone(), "/api/v1/me", Api, api::identity::me::me)
        .add(
            g.clone(),
            "/api/v1/institutions",
            Api,
            api::identity::institutions::list,
        )
        .add(
            p.clone(),
            "/api/v1/institutions",
            Api,
            api::identity::institutions::create,
        )
        .add(
            g.clone(),
            "/api/v1/institutions/{id}",
            Api,
            api::identity::institutions::get,
        )
        .add(
            u.clone(),
            "/api/v1/institutions/{id}",
            Api,
            api::identity::institutions::update,
        )
        .add(
            g.clone(),
            "/api/v1/institutions/{id}/information-systems",
            Api,
            api::systems::list_for_institution,
        )
        .add(
            p.clone(),
            "/api/v1/institutions/{id}/information-systems",
            Api,
            api::systems::create,
        )
        .add(
            g.clone(),
            "/api/v1/information-systems",
            Api,
            api::systems::list,
        )
        .add(
            g.clone(),
            "/api/v1/information-systems/{id}",
            Api,
            api::systems::get,
        )
        .add(
            u.clone(),
            "/api/v1/information-systems/{id}",
            Api,
            api::systems::update,
        )
        .add(g.clone(), "/api/v1/users", Api, api::identity::users::list)
        .add(
            p.clone(),
            "/api/v1/users",
            Api,
            api::identity::users::create,
        )
        .add(
            g.clone(),
            "/api/v1/users/{id}",
            Api,
            api::identity::users::get,
        )
        .add(
            u.clone(),
            "/api/v1/users/{id}",
            Api,
            api::identity::users::update,
        )
        .add(
            p.clone(),
            "/api/v1/users/{id}/roles",
            Api,
            api::identity::users::grant_role,
        )
        .add(
            d.clone(),
            "/api/v1/users/{id}/roles/{role_id}",
            Api,
            api::identity::users::revoke_role,
        )
        .add(g.clone(), "/api/v1/audit", Api, api::audit::list)
        .add(
            g.clone(),
            "/api/v1/providers",
            Api,
            api::federation::list_providers,
        )
        .add(
            p.clone(),
            "/api/v1/providers",
            Api,
            api::federation::create_provider,
        )
        .add(
            g.clone(),
            "/api/v1/providers/{id}",
            Api,
            api::federation::get_provider,
        )
        .add(
            u.clone(),
            "/api/v1/providers/{id}",
            Api,
            api::federation::update_provider,
        )
        .add(
            p.clone(),
            "/api/v1/providers/{id}/sites",
            Api,
            api::federation::add_site,
        )
        .add(
            p.clone(),
            "/api/v1/providers/{id}/certifications",
            Api,
            api::federation::add_certification,
        )
        .add(
            p.clone(),
            "/api/v1/providers/{id}/offerings",
            Api,
            api::catalogue::create_offering,
        )
        .add(
            p.clone(),
            "/api/v1/providers/{id}/catalogue-sync",
            Api,
            api::catalogue::sync_catalogue,
        )
        .add(
            g.clone(),
            "/api/v1/providers/{id}/price-lists",
            Api,
            api::catalogue::list_price_lists,
        )
        .add(
            p.clone(),
            "/api/v1/providers/{id}/price-lists",
            Api,
            api::catalogue::create_price_list,
        )
        .add(g.clone(), "/api/v1/catalogue", Api, api::catalogue::search)
        .add(
            g.clone(),
            "/api/v1/catalogue/compare",
            Api,
            api::catalogue::compare,
        )
        .add(
            p.clone(),
            "/api/v1/information-systems/{id}/placement",
            Api,
            api::catalogue::place,
        )
        .add(g.clone(), "/api/v1/orders", Api, api::orders::list)
        .add(p.clone(), "/api/v1/orders", Api, api::orders::create)
        .add(g.clone(), "/api/v1/orders/{id}", Api, api::orders::get)
        .add(
            g.clone(),
            "/api/v1/orders/{id}/resources",
            Api,
            api::sagas::resources,
        )
        .add(
            p.clone(),
            "/api/v1/orders/{id}/decommission",
            Api,
            api::sagas::decommission,
        )
        .add(
            p.clone(),
            "/api/v1/orders/{id}/modify",
            Api,
            api::sagas::modify,
        )
        .add(
            g.clone(),
            "/api/v1/providers/{id}/drift",
            Api,
            api::background::drift,
        )
        .add(
            g.clone(),
            "/api/v1/reconcilers",
            Api,
            api::background::reconcilers,
        )
        .add(
            p.clone(),
            "/api/v1/orders/{id}/submit",
            Api,
            api::orders::submit,
        )
        .add(
            p.clone(),
            "/api/v1/orders/{id}/decision",
            Api,
            api::orders::decide,
        )
        .add(
            p.clone(),
            "/api/v1/orders/{id}/cancel",
            Api,
            api::orders::cancel,
        )
        .add(g.clone(), "/api/v1/approvals", Api, api::orders::inbox)
        .add(
            g.clone(),
            "/api/v1/agreements",
            Api,
            api::orders::agreements::agreements,
        )
        .add(
            g.clone(),
            "/api/v1/agreements/reminders",
            Api,
            api::orders::agreements::reminders,
        )
        .add(
            g.clone(),
            "/api/v1/agreements/{id}",
            Api,
            api::orders::agreements::agreement,
        )
        .add(
            p.clone(),
            "/api/v1/agreements/{id}/sign",
            Api,
            api::orders::agreements::sign,
        )
        .add(
            g.clone(),
            "/api/v1/institutions/{id}/charges",
            Api,
            api::metering::charges,
        )
        .add(
            g.clone(),
            "/api/v1/institutions/{id}/charges/focus",
            Api,
            api::metering::charges_focus,
        )
        .add(
            g.clone(),
            "/api/v1/institutions/{id}/statement-preview",
            Api,
            api::metering::preview,
        )
        .add(
            g.clone(),
            "/api/v1/institutions/{id}/statements",
            Api,
            api::metering::statements,
        )
        .add(p.clone(), "/api/v1/statements", Api, api::metering::issue)
        .add(
            g.clone(),
            "/api/v1/statements/{id}",
            Api,
            api::metering::statement,
        )
        .add(
            g.clone(),
            "/api/v1/statements/{id}/export",
            Api,
            api::metering::export,
        )
        .add(
            p.clone(),
            "/api/v1/usage/imports",
            Api,
            api::metering::import,
        )
        .add(
            g.clone(),
            "/api/v1/usage/imports",
            Api,
            api::metering::imports,
        )
        .add(
            p.clone(),
            "/api/v1/usage/collect",
            Api,
            api::metering::collect,
        )
        .add(
            g.clone(),
            "/api/v1/usage/unmapped",
            Api,
            api::metering::unmapped,
        )
        .add(
            p.clone(),
            "/api/v1/usage/unmapped/{id}/resolve",
            Api,
            api::metering::resolve,
        )
        .add(
            g.clone(),
            "/api/v1/commercial-prices",
            Api,
            api::metering::commercial_prices,
        )
        .add(
            p.clone(),
            "/api/v1/commercial-prices",
            Api,
            api::metering::add_commercial_price,
        )
        .add(
            p.clone(),
            "/api/v1/shared-costs",
            Api,
            api::metering::shared_cost,
        )
        .add(
            g.clone(),
            "/api/v1/institutions/{id}/budgets",
            Api,
            api::metering::budgets,
        )
        .add(u.clone(), "/api/v1/budgets", Api, api::metering::set_budget)
        .add(
            g.clone(),
            "/api/v1/costs/providers",
            Api,
            api::metering::provider_split,
        )
        .add(
            g.clone(),
            "/api/v1/costs/usage-series",
            Api,
            api::metering::usage_series,
        )
        .add(
            g.clone(),
            "/api/v1/embassy/systems",
            Api,
            api::embassy::status,
        )
        .add(
            g.clone(),
            "/api/v1/embassy/systems/{id}",
            Api,
            api::embassy::report,
        )
        .add(
            u.clone(),
            "/api/v1/embassy/systems/{id}/protection",
            Api,
            api::embassy::protect,
        )
        .add(
            p.clone(),
            "/api/v1/embassy/systems/{id}/replicate",
            Api,
            api::embassy::replicate,
        )
        .add(
            p.clone(),
            "/api/v1/embassy/systems/{id}/drills",
            Api,
            api::embassy::drill,
        )
        .add(
            p.clone(),
            "/api/v1/embassy/systems/{id}/cold-copy",
            Api,
            api::embassy::cold_copy,
        )
        .add(
            g.clone(),
            "/api/v1/embassy/grants",
            Api,
            api::embassy::grants,
        )
        .add(
            p.clone(),
            "/api/v1/embassy/grants",
            Api,
            api::embassy::request_grant,
        )
        .add(
            p.clone(),
            "/api/v1/embassy/grants/{id}/approve",
            Api,
            api::embassy::approve_grant,
        )
        .add(
            p.clone(),
            "/api/v1/embassy/grants/{id}/key",
            Api,
            api::embassy::release_key,
        )
        .add(
            u.clone(),
            "/api/v1/embassy/systems/{id}/dr-plan",
            Api,
            api::embassy::put_dr_plan,
        )
        .add(
            g.clone(),
            "/api/v1/embassy/systems/{id}/dr-plan/versions",
            Api,
            api::embassy::dr_plan_versions,
        )
        .add(
            p.clone(),
            "/api/v1/embassy/grants/{id}/restore",
            Api,
            api::embassy::restore,
        )
        .add(
            p.clone(),
            "/api/v1/embassy/grants/{id}/dr-plan",
            Api,
            api::embassy::read_dr_plan,
        )
        .add(
            g.clone(),
            "/api/v1/sites/{id}/embassy-eligibility",
            Api,
            api::embassy::site_eligibility,
        )
        .add(
            g.clone(),
            "/api/v1/institutions/{id}/quotas",
            Api,
            api::orders::quotas::quotas,
        )
        .add(
            u.clone(),
            "/api/v1/institutions/{id}/quotas",
            Api,
            api::orders::quotas::set_quota,
        )
        .add(
            g.clone(),
            "/api/v1/notifications",
            Api,
            api::orders::notifications::notifications,
        )
        .add(
            p.clone(),
            "/api/v1/notifications/read",
            Api,
            api::orders::notifications::read_notifications,
        )
        .add(
            g.clone(),
            "/api/v1/tokens",
            Api,
            api::identity::tokens::list,
        )
        .add(
            d.clone(),
            "/api/v1/tokens/{id}",
            Api,
            api::identity::tokens::revoke,
        )
        // Portal: signing in
        .add(
            g.clone(),
            "/login",
            Public,
            portal::identity::auth::login_page,
        )
        .add(
            p.clone(),
            "/login",
            Public,
            portal::identity::auth::login_submit,
        )
        .add(p.clone(), "/logout", Portal, portal::identity::auth::logout)
        .add(g.clone(), "/mfa", Portal, portal::identity::auth::mfa_page)
        .add(
            p.clone(),
            "/mfa",
            Portal,
            portal::identity::auth::mfa_submit,
        )
        .add(
            g.clone(),
            "/mfa/enrol",
            Portal,
            portal::identity::auth::enrol_page,
        )
        .add(
            p.clone(),
            "/mfa/enrol",
            Portal,
            portal::identity::auth::enrol_submit,
        )
        .add(
            g.clone(),
            "/lang/{lang}",
            Public,
            portal::identity::auth::switch_language,
        )
        // Portal: pages
        .add(g.clone(), "/", Portal, portal::home::home)
        .add(
            g.clone(),
            "/institutions",
            Portal,
            portal::identity::institutions::list,
        )
        .add(
            g.clone(),
            "/institutions/new",
            Portal,
            portal::identity::institutions::new_form,
        )
        .add(
            p.clone(),
            "/institutions",
            Portal,
            portal::identity::institutions::create,
        )
        .add(
            g.clone(),
            "/institutions/{id}",
            Portal,
            portal::identity::institutions::detail,
        )
        .add(
            g.clone(),
            "/institutions/{id}/edit",
            Portal,
            portal::identity::institutions::edit_form,
        )
        .add(
            p.clone(),
            "/institutions/{id}",
            Portal,
            portal::identity::institutions::update,
        )
        .add(g.clone(), "/systems", Portal, portal::systems::list)
        .add(g.clone(), "/systems/new", Portal, portal::systems::new_form)
        .add(p.clone(), "/systems", Portal, portal::systems::create)
        .add(g.clone(), "/systems/{id}", Portal, portal::systems::detail)
        .add(
            g.clone(),
            "/systems/{id}/edit",
            Portal,
            portal::systems::edit_form,
        )
        .add(p.clone(), "/systems/{id}", Portal, portal::systems::update)
        .add(g.clone(), "/users", Portal, portal::identity::users::list)
        .add(
            g.clone(),
            "/users/new",
            Portal,
            portal::identity::users::new_form,
        )
        .add(p.clone(), "/users", Portal, portal::identity::users::create)
        .add(
            g.clone(),
            "/users/{id}",
            Portal,
            portal::identity::users::detail,
        )
        .add(
            p.clone(),
            "/users/{id}/roles",
            Portal,
            portal::identity::users::grant_role,
        )
        .add(
            p.clone(),
            "/users/{id}/roles/{role_id}/revoke",
            Portal,
            portal::identity::users::revoke_role,
        )
        .add(g.clone(), "/audit", Portal, portal::audit::list)
        .add(g.clone(), "/catalogue", Portal, portal::catalogue::search)
        .add(
            g.clone(),
            "/catalogue/compare",
            Portal,
            portal::catalogue::compare,
        )
        .add(
            g.clone(),
            "/providers",
            Portal,
            portal::federation::providers,
        )
        .add(
            g.clone(),
            "/providers/{id}",
            Portal,
            portal::federation::provider,
        )
        .add(
            g.clone(),
            "/systems/{id}/placement",
            Portal,
            portal::catalogue::placement,
        )
        .add(g.clone(), "/orders", Portal, portal::orders::list)
        .add(p.clone(), "/orders", Portal, portal::orders::create)
        .add(g.clone(), "/orders/{id}", Portal, portal::orders::detail)
        .add(
            p.clone(),
            "/orders/{id}/decision",
            Portal,
            portal::orders::decide,
        )
        .add(
            p.clone(),
            "/orders/{id}/cancel",
            Portal,
            portal::orders::cancel,
        )
        .add(
            p.clone(),
            "/orders/{id}/decommission",
            Portal,
            portal::sagas::decommission,
        )
        .add(
            p.clone(),
            "/orders/{id}/modify",
            Portal,
            portal::sagas::modify,
        )
        .add(g.clone(), "/costs", Portal, portal::metering::page)
        .add(
            g.clone(),
            "/costs/statements/{id}",
            Portal,
            portal::metering::statement,
        )
        .add(g.clone(), "/embassy", Portal, portal::embassy::registry)
        .add(
            g.clone(),
            "/embassy/systems/{id}",
            Portal,
            portal::embassy::system,
        )
        .add(
            p.clone(),
            "/embassy/systems/{id}/protection",
            Portal,
            portal::embassy::protect,
        )
        .add(
            p.clone(),
            "/embassy/systems/{id}/replicate",
            Portal,
            portal::embassy::replicate,
        )
        .add(
            p.clone(),
            "/embassy/systems/{id}/drills",
            Portal,
            portal::embassy::drill,
        )
        .add(
            p.clone(),
            "/embassy/grants",
            Portal,
            portal::embassy::request_grant,
        )
        .add(
            p.clone(),
            "/embassy/grants/{id}/approve",
            Portal,
            portal::embassy::approve_grant,
        )
        .add(
            g.clone(),
            "/providers/{id}/drift",
            Portal,
            portal::background::drift,
        )
        .add(
            p.clone(),
            "/providers/{id}/catalogue-sync",
            Portal,
            portal::catalogue::sync,
        )
        .add(
            g.clone(),
            "/operations",
            Portal,
            portal::background::operations,
        )
        .add(g.clone(), "/approvals", Portal, portal::orders::inbox)
        .add(
            g.clone(),
            "/agreements",
            Portal,
            portal::orders::agreements::agreements,
        )
        .add(
            g.clone(),
            "/agreements/{id}",
            Portal,
            portal::orders::agreements::agreement,
        )
        .add(
            p.clone(),
            "/agreements/{id}/sign",
            Portal,
            portal::orders::agreements::sign,
        )
        .add(
            g.clone(),
            "/notifications",
            Portal,
            portal::orders::notifications::notifications,
        )
        .add(
            p.clone(),
            "/notifications/read",
            Portal,
            portal::orders::notifications::read_notifications,
        )
        .add(
            p.clone(),
            "/institutions/{id}/quotas",
            Portal,
            portal::orders::quotas::set_quota,
        )
        .add(
            g.clone(),
            "/account",
            Portal,
            portal::identity::account::page,
        )
        .add(
            p.clone(),
            "/account/tokens",
            Portal,
            portal::identity::account::create_token,
        )
        .add(
            p,
            "/account/tokens/{id}/revoke",
            Portal,
            portal::identity::account::revoke_token,
        )
}
