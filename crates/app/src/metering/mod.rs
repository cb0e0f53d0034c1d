//! Metering and chargeback use cases (REQUIREMENTS FED-5, FED-6): usage
//! collected from every provider's driver and rated with the price-list
//! version valid at the time, FOCUS 1.2 bills imported all-or-nothing,
//! lines nobody can be charged for listed for the Broker, shared platform
//! costs allocated, monthly statements issued as immutable versions with the
//! commercial equivalent beside every line, budgets with alerts, and FOCUS
//! export. The pure parts (reading, validating, rating, rounding, writing
//! FOCUS) live in `makonis-metering`; this module adds the registry, the
//! database and authorisation.
//!
//! Walkthrough and rules: `docs/metering.md` ("Chargeback in the app").
//!
//! Main flow: [`collect`] (drivers' usage, rated) and [`import`] (FOCUS
//! bills) write charges; [`unmapped`] lists the lines nobody owns yet;
//! [`allocation`] spreads shared costs; [`statements`] sums a month into an
//! immutable statement; [`budgets`] watch spending; [`export`] writes FOCUS;
//! [`reports`] feed the charts. [`arithmetic`] holds the pure rules they
//! share.
//!
//! Requirements: FED-5, FED-6, MON-3.

pub mod allocation;
pub mod arithmetic;
pub mod budgets;
pub mod collect;
pub mod export;
pub mod import;
pub(crate) mod policy;
pub mod reports;
pub mod statements;
pub mod unmapped;

pub use arithmetic::{
    allocate_by_largest_remainder, commercial_equivalent, service_category, to_billing_quantity,
};
pub use export::INVOICE_ISSUER;
pub use import::{ImportPhase, Progress};
pub use reports::CostGrouping;
pub use statements::statement_csv;

use std::collections::{BTreeMap, HashMap};

use chrono::Duration;
use makonis_db::catalogue as catalogue_store;
use makonis_metering::rating::{PriceBook, PriceList as RatingPriceList};
use makonis_types::catalogue::{Offering, OfferingId};
use makonis_types::federation::Provider;

use crate::authz::{Action, Kind, Scope, authorize};
use crate::{App, Error, OpContext, Result};

/// The tag an institution's systems carry at commercial providers so their
/// bill lines map to the system: its Mākonis id or code.
pub const SYSTEM_TAG: &str = "makonis-information-system";

/// The only billing currency of the Latvian state's accounts.
pub const CURRENCY: &str = "EUR";

impl App {
    pub(super) fn require_costs(
        &self,
        ctx: &OpContext,
        action: Action,
        scope: Scope,
    ) -> Result<()> {
        authorize(ctx, action, Kind::Costs, scope)
    }

    pub(super) async fn price_book(
        &self,
        conn: &mut makonis_db::Conn,
        provider: &Provider,
        offerings: &HashMap<OfferingId, Offering>,
    ) -> Result<PriceBook> {
        let lists = catalogue_store::price_lists(conn, provider.id).await?;
        let mut versions = Vec::new();
        for list in lists {
            for item in &list.items {
                let Some(offering) = offerings.get(&item.offering_id) else {
                    continue;
                };
                versions.push(RatingPriceList {
                    id: list.id.to_string(),
                    offering_id: item.offering_id.to_string(),
                    version: list.version.clone(),
                    valid_from: list.valid_from.and_time(chrono::NaiveTime::MIN).and_utc(),
                    // Registry dates are inclusive; rating periods end exclusive.
                    valid_until: list.valid_until.map(|d| {
                        (d + Duration::days(1))
                            .and_time(chrono::NaiveTime::MIN)
                            .and_utc()
                    }),
                    currency: list.currency.clone(),
                    unit_prices: BTreeMap::from([(
                        offering.unit.as_str().to_owned(),
                        item.unit_price,
                    )]),
                    units: BTreeMap::new(),
                });
            }
        }
        PriceBook::new(versions)
            .map_err(|e| Error::internal(format!("price lists of {}: {e}", provider.short_name)))
    }
}
