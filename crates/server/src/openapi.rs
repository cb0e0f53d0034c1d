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
        api::identity::me::me,
        api::identity::institutions::list,
        api::identity::institutions::create,
        api::identity::institutions::get,
        api::identity::institutions::update,
        api::systems::list,
        api::systems::list_for_institution,
        api::systems::create,
        api::systems::get,
        api::systems::update,
        api::identity::users::list,
        api::identity::users::create,
        api::identity::users::get,
        api::identity::users::update,
        api::identity::users::grant_role,
        api::identity::users::revoke_role,
        api::audit::list,
        api::identity::tokens::list,
        api::identity::tokens::revoke,
        api::federation::list_providers,
        api::federation::create_provider,
        api::federation::get_provider,
        api::federation::update_provider,
        api::federation::add_site,
        api::federation::add_certification,
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
        api::sagas::resources,
        api::sagas::decommission,
        api::sagas::modify,
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
        api::background::drift,
        api::background::reconcilers,
        api::orders::submit,
        api::orders::decide,
        api::orders::cancel,
        api::orders::inbox,
        api::orders::agreements::agreements,
        api::orders::agreements::reminders,
        api::orders::agreements::agreement,
        api::orders::agreements::sign,
        api::orders::quotas::quotas,
        api::orders::quotas::set_quota,
        api::orders::notifications::notifications,
        api::orders::notifications::read_notifications,
        api::metering::charges,
        api::metering::charges_focus,
        api::metering::preview,
        api::metering::statements,
        api::metering::issue,
        api::metering::statement,
        api::metering::export,
        api::metering::import,
        api::metering::imports,
        api::metering::collect,
        api::metering::unmapped,
        api::metering::resolve,
        api::metering::commercial_prices,
        api::metering::add_commercial_price,
        api::metering::shared_cost,
        api::metering::budgets,
        api::metering::set_budget,
        api::metering::provider_split,
        api::metering::usage_series,
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
