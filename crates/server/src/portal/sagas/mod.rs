//! Decommissioning and resizing an active order (the sagas do the work).
//!
//! Area `sagas` (the saga log and provisioned resources; provision,
//! decommission and modify), portal pages layer: the use cases are in
//! `makonis_app::sagas`; the same area folder exists in `db/src/datastore`,
//! `server/src/api` and `server/src/portal`. Requirements: FED-4, FED-7.

use axum::extract::Path;
use axum::response::Response;
use makonis_app::Error;
use makonis_types::order::*;

use crate::portal::parse_id;
use crate::portal::{PortalForm, see_other};

pub async fn decommission(
    Path(raw): Path<String>,
    PortalForm { portal, .. }: PortalForm,
) -> Response {
    let id: OrderId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match portal.app.decommission_order(&portal.op, id).await {
        Ok(_) => see_other(&format!("/orders/{id}"), "decommissioning"),
        Err(e) => portal.fail(e),
    }
}

pub async fn modify(Path(raw): Path<String>, PortalForm { portal, form }: PortalForm) -> Response {
    let id: OrderId = match parse_id(&portal, &raw) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let mut errors = Vec::new();
    let quantity = form.int("quantity", &mut errors);
    let result = if errors.is_empty() {
        portal
            .app
            .modify_order(
                &portal.op,
                id,
                &makonis_app::sagas::modify::ModifyOrderInput { quantity },
            )
            .await
            .map(|_| ())
    } else {
        Err(Error::Invalid(errors))
    };
    match result {
        Ok(()) => see_other(&format!("/orders/{id}"), "modifying"),
        Err(e) => portal.fail(e),
    }
}
