//! The OpenAPI 3.1 document, generated from the handlers' annotations. The
//! committed `openapi.json` at the repository root is checked against it by
//! a test, so the published contract cannot drift from the code.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Mākonis API",
        description = "Control plane of the Latvian federated state cloud. Authenticate with an API token created in the portal (Account → API tokens): `Authorization: Bearer mk_…`. Errors share one body: `{\"error\": {\"code\", \"message\", \"request_id\", \"fields\": [{\"field\", \"code\", \"message\", \"params\"}]}}`. Lists take `limit` (1–500, default 50) and `offset`.",
        license(name = "EUPL-1.2"),
    ),
    paths(
        api::me::me,
        api::institutions::list,
        api::institutions::create,
        api::institutions::get,
        api::institutions::update,
        api::information_systems::list,
        api::information_systems::list_for_institution,
        api::information_systems::create,
        api::information_systems::get,
        api::information_systems::update,
        api::users::list,
        api::users::create,
        api::users::get,
        api::users::update,
        api::users::grant_role,
        api::users::revoke_role,
        api::audit::list,
        api::tokens::list,
        api::tokens::revoke,
        api::catalogue::list_providers,
        api::catalogue::create_provider,
        api::catalogue::get_provider,
        api::catalogue::update_provider,
        api::catalogue::add_site,
        api::catalogue::add_certification,
        api::catalogue::create_offering,
        api::catalogue::sync_catalogue,
        api::catalogue::list_price_lists,
        api::catalogue::create_price_list,
        api::catalogue::search,
        api::catalogue::compare,
        api::catalogue::place,
        api::orders::list,
        api::orders::create,
        api::orders::get,
        api::orders::resources,
        api::orders::decommission,
        api::orders::modify,
        api::embassy::status,
        api::embassy::report,
        api::embassy::protect,
        api::embassy::replicate,
        api::embassy::drill,
        api::embassy::cold_copy,
        api::embassy::grants,
        api::embassy::request_grant,
        api::embassy::approve_grant,
        api::embassy::release_key,
        api::embassy::site_eligibility,
        api::embassy::put_dr_plan,
        api::embassy::dr_plan_versions,
        api::embassy::read_dr_plan,
        api::embassy::restore,
        api::catalogue::drift,
        api::catalogue::reconcilers,
        api::orders::submit,
        api::orders::decide,
        api::orders::cancel,
        api::orders::inbox,
        api::orders::agreements,
        api::orders::reminders,
        api::orders::agreement,
        api::orders::sign,
        api::orders::quotas,
        api::orders::set_quota,
        api::orders::notifications,
        api::orders::read_notifications,
        api::costs::charges,
        api::costs::charges_focus,
        api::costs::preview,
        api::costs::statements,
        api::costs::issue,
        api::costs::statement,
        api::costs::export,
        api::costs::import,
        api::costs::imports,
        api::costs::collect,
        api::costs::unmapped,
        api::costs::resolve,
        api::costs::commercial_prices,
        api::costs::add_commercial_price,
        api::costs::shared_cost,
        api::costs::budgets,
        api::costs::set_budget,
        api::costs::provider_split,
        api::costs::usage_series,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("mk_…")
                    .build(),
            ),
        );
    }
}

/// The document as committed in `openapi.json`.
pub fn document_json() -> String {
    let mut text = ApiDoc::openapi()
        .to_pretty_json()
        .expect("OpenAPI serialises");
    text.push('\n');
    text
}
