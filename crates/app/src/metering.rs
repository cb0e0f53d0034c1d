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

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, NaiveDate, Utc};
use makonis_db::metering as store;
use makonis_db::{catalogue as catalogue_store, commit, federation as federation_store};
use makonis_metering::focus::{ChargeCategory, FocusRecord, ServiceCategory};
use makonis_metering::rating::{PriceBook, PriceList as RatingPriceList, UsageKind, UsageRecord};
use makonis_metering::{ReadOptions, round_money};
use makonis_types::catalogue::{BillingUnit, HOURS_PER_MONTH, Offering, OfferingId, OfferingKind};
use makonis_types::federation::{Provider, ProviderId};
use makonis_types::metering::*;
use makonis_types::roles::Role;
use makonis_types::{FieldError, InformationSystemId, InstitutionId};
use rust_decimal::Decimal;

use crate::audit::{self, Change};
use crate::authz::{Action, Kind, Scope, authorize};
use crate::{App, Error, OpContext, Result, now};

/// The tag an institution's systems carry at commercial providers so their
/// bill lines map to the system: its Mākonis id or code.
pub const SYSTEM_TAG: &str = "makonis-information-system";

/// The only billing currency of the Latvian state's accounts.
pub const CURRENCY: &str = "EUR";

/// How far back collection looks the first time it meets a provider.
const FIRST_COLLECTION_WINDOW_DAYS: i64 = 35;

/// FOCUS ServiceCategory of an offering kind.
pub fn service_category(kind: OfferingKind) -> ServiceCategory {
    match kind {
        OfferingKind::Vm | OfferingKind::Kubernetes => ServiceCategory::Compute,
        OfferingKind::Volume | OfferingKind::Bucket | OfferingKind::Backup => {
            ServiceCategory::Storage
        }
        OfferingKind::Database => ServiceCategory::Databases,
        OfferingKind::Specialised => ServiceCategory::Other,
    }
}

/// Converts hourly usage into the offering's billing unit: monthly units
/// are charged by the hour at 1/730 of a month (the same month length the
/// catalogue's monthly estimates use).
pub fn to_billing_quantity(unit: BillingUnit, hourly_quantity: Decimal) -> Decimal {
    match unit {
        BillingUnit::InstanceHour | BillingUnit::PersonHour => hourly_quantity,
        BillingUnit::GbMonth | BillingUnit::UnitMonth => {
            hourly_quantity / Decimal::from(HOURS_PER_MONTH)
        }
    }
}

/// The cheapest commercial reference price valid at `at` for an offering:
/// same kind and unit, at least as many vCPUs and as much memory.
pub fn commercial_equivalent<'a>(
    prices: &'a [CommercialPrice],
    offering: &Offering,
    at: NaiveDate,
) -> Option<&'a CommercialPrice> {
    prices
        .iter()
        .filter(|p| {
            p.kind == offering.kind
                && p.unit == offering.unit
                && p.vcpu >= offering.vcpu
                && p.ram_gb >= offering.ram_gb
                && p.valid_from <= at
                && p.valid_until.is_none_or(|u| at <= u)
        })
        .min_by(|a, b| a.unit_price.cmp(&b.unit_price).then(a.sku.cmp(&b.sku)))
}

/// Splits `amount` (in cents) across `basis` in proportion, by the largest
/// remainder: every share is whole cents and the shares add up to `amount`
/// exactly. Ties go to the earlier key.
pub fn allocate_by_largest_remainder<K: Clone + Ord>(
    amount: Decimal,
    basis: &BTreeMap<K, Decimal>,
) -> BTreeMap<K, Decimal> {
    let total: Decimal = basis.values().copied().sum();
    if total <= Decimal::ZERO {
        return BTreeMap::new();
    }
    let cents = (amount * Decimal::ONE_HUNDRED).trunc();
    let mut shares: Vec<(K, Decimal, Decimal)> = basis
        .iter()
        .map(|(k, b)| {
            let exact = cents * *b / total;
            let floor = exact.floor();
            (k.clone(), floor, exact - floor)
        })
        .collect();
    let given: Decimal = shares.iter().map(|s| s.1).sum();
    let mut left = cents - given;
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|a, b| shares[*b].2.cmp(&shares[*a].2).then(a.cmp(b)));
    for i in order {
        if left <= Decimal::ZERO {
            break;
        }
        shares[i].1 += Decimal::ONE;
        left -= Decimal::ONE;
    }
    shares
        .into_iter()
        .map(|(k, c, _)| (k, c / Decimal::ONE_HUNDRED))
        .collect()
}

/// Groups charges into statement lines (one per system, agreement,
/// provider, service, charge category and price) and rounds each line once.
fn statement_lines(
    charges: &[Charge],
    systems: &HashMap<InformationSystemId, String>,
    providers: &HashMap<ProviderId, String>,
) -> Vec<StatementLine> {
    // Field order is the line order: by system, then provider, service…
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    struct Key {
        system_label: String,
        system: Option<InformationSystemId>,
        agreement: Option<makonis_types::order::AgreementId>,
        provider_label: String,
        provider: ProviderId,
        service_category: String,
        service_name: String,
        offering: Option<OfferingId>,
        charge_category: String,
        charge_class: Option<String>,
        unit: Option<String>,
        unit_price: Option<Decimal>,
        price_list_version: Option<String>,
    }
    #[derive(Default)]
    struct Acc {
        quantity: Option<Decimal>,
        exact: Decimal,
        commercial: Option<Decimal>,
        commercial_ref: Option<String>,
        charges: i64,
    }
    let mut groups: BTreeMap<Key, Acc> = BTreeMap::new();
    for c in charges {
        let system_label = c
            .information_system_id
            .map(|s| systems.get(&s).cloned().unwrap_or_else(|| s.to_string()))
            .unwrap_or_else(|| "(institution-wide)".to_owned());
        let provider = providers
            .get(&c.provider_id)
            .cloned()
            .unwrap_or_else(|| c.provider_id.to_string());
        let key = Key {
            system_label,
            system: c.information_system_id,
            agreement: c.agreement_id,
            provider_label: provider,
            provider: c.provider_id,
            service_category: c.service_category.clone(),
            service_name: c.service_name.clone(),
            offering: c.offering_id,
            charge_category: c.charge_category.clone(),
            charge_class: c.charge_class.clone(),
            unit: c.unit.clone(),
            unit_price: c.unit_price,
            price_list_version: c.price_list_version.clone(),
        };
        let acc = groups.entry(key).or_default();
        if let Some(q) = c.quantity {
            acc.quantity = Some(acc.quantity.unwrap_or_default() + q);
        }
        acc.exact += c.cost;
        if let Some(cc) = c.commercial_cost {
            acc.commercial = Some(acc.commercial.unwrap_or_default() + cc);
            acc.commercial_ref = c.commercial_ref.clone();
        }
        acc.charges += 1;
    }
    groups
        .into_iter()
        .enumerate()
        .map(|(i, (k, acc))| StatementLine {
            line_no: i as i64 + 1,
            information_system: k.system_label,
            information_system_id: k.system,
            agreement_id: k.agreement,
            provider: k.provider_label,
            provider_id: k.provider,
            service_category: k.service_category,
            service_name: k.service_name,
            offering_id: k.offering,
            charge_category: k.charge_category,
            charge_class: k.charge_class,
            unit: k.unit,
            unit_price: k.unit_price,
            price_list_version: k.price_list_version,
            quantity: acc.quantity.map(|q| q.normalize()),
            exact_amount: acc.exact.normalize(),
            amount: round_money(acc.exact),
            commercial_amount: acc.commercial.map(round_money),
            commercial_ref: acc.commercial_ref,
            charges: acc.charges,
        })
        .collect()
}

/// A BLAKE3 hash of a statement's lines as issued, so a printed copy can be
/// checked against the record.
fn lines_hash(lines: &[StatementLine]) -> String {
    let json = serde_json::to_vec(lines).unwrap_or_default();
    blake3::hash(&json).to_hex().to_string()
}

/// Who a bill line or usage record belongs to.
#[derive(Debug, Clone)]
struct Owner {
    institution_id: InstitutionId,
    information_system_id: Option<InformationSystemId>,
    agreement_id: Option<makonis_types::order::AgreementId>,
    offering_id: Option<OfferingId>,
    resource_id: Option<String>,
}

/// The registry as bill-line mapping needs it, loaded once per import.
struct MappingIndex {
    by_external: HashMap<String, store::ResourceOwner>,
    systems_by_id: HashMap<String, (InformationSystemId, InstitutionId)>,
    systems_by_code: HashMap<String, Vec<(InformationSystemId, InstitutionId)>>,
    institutions: HashMap<String, InstitutionId>,
    agreements: HashMap<InstitutionId, makonis_types::order::AgreementId>,
}

impl MappingIndex {
    async fn load(conn: &mut makonis_db::Conn, provider: ProviderId) -> Result<Self> {
        let owners = store::resource_owners(conn, provider).await?;
        let by_external = owners
            .into_iter()
            .map(|o| (o.external_id.clone(), o))
            .collect();
        let mut systems_by_id = HashMap::new();
        let mut systems_by_code: HashMap<String, Vec<_>> = HashMap::new();
        for (id, code, _, institution) in store::system_keys(conn).await? {
            systems_by_id.insert(id.to_string(), (id, institution));
            systems_by_code
                .entry(code.to_lowercase())
                .or_default()
                .push((id, institution));
        }
        let mut institutions = HashMap::new();
        for (id, short, reg, _) in store::institution_keys(conn).await? {
            institutions.insert(id.to_string(), id);
            institutions.insert(short.to_lowercase(), id);
            if let Some(r) = reg {
                institutions.insert(r.to_lowercase(), id);
            }
        }
        let mut agreements = HashMap::new();
        for a in makonis_db::orders::list_agreements(conn, None).await? {
            if a.provider_id == provider
                && a.status == makonis_types::order::AgreementStatus::Active
            {
                agreements.entry(a.institution_id).or_insert(a.id);
            }
        }
        Ok(Self {
            by_external,
            systems_by_id,
            systems_by_code,
            institutions,
            agreements,
        })
    }

    /// Maps a bill line: by resource, then by the system tag, then by the
    /// account ids naming an institution. `Err` says why it could not.
    fn map(&self, r: &FocusRecord) -> std::result::Result<Owner, String> {
        if let Some(o) = r
            .resource_id
            .as_deref()
            .and_then(|id| self.by_external.get(id))
        {
            return Ok(Owner {
                institution_id: o.institution_id,
                information_system_id: Some(o.information_system_id),
                agreement_id: o.agreement_id,
                offering_id: Some(o.offering_id),
                resource_id: Some(o.resource_id.clone()),
            });
        }
        let account_institution = [r.sub_account_id.as_deref(), Some(&*r.billing_account_id)]
            .into_iter()
            .flatten()
            .find_map(|k| self.institutions.get(&k.to_lowercase()).copied());
        let tag = r
            .tags
            .as_ref()
            .and_then(|t| t.get(SYSTEM_TAG))
            .and_then(|v| v.as_str());
        if let Some(tag) = tag {
            let system = self.systems_by_id.get(tag).copied().or_else(|| {
                let candidates = self.systems_by_code.get(&tag.to_lowercase())?;
                match account_institution {
                    Some(i) => candidates.iter().find(|c| c.1 == i).copied(),
                    None if candidates.len() == 1 => Some(candidates[0]),
                    None => None,
                }
            });
            return match system {
                Some((system, institution)) => Ok(Owner {
                    institution_id: institution,
                    information_system_id: Some(system),
                    agreement_id: self.agreements.get(&institution).copied(),
                    offering_id: None,
                    resource_id: r.resource_id.clone(),
                }),
                None => Err(format!(
                    "tag {SYSTEM_TAG}={tag:?} names no information system (or several; add the institution as SubAccountId)"
                )),
            };
        }
        if let Some(institution) = account_institution {
            return Ok(Owner {
                institution_id: institution,
                information_system_id: None,
                agreement_id: self.agreements.get(&institution).copied(),
                offering_id: None,
                resource_id: r.resource_id.clone(),
            });
        }
        Err(format!(
            "no resource {}, no {SYSTEM_TAG} tag, and neither BillingAccountId {:?} nor SubAccountId {:?} names an institution",
            r.resource_id.as_deref().unwrap_or("(none)"),
            r.billing_account_id,
            r.sub_account_id.as_deref().unwrap_or(""),
        ))
    }
}

/// A bill line as a charge, once its owner is known.
fn charge_from_focus(
    r: &FocusRecord,
    owner: &Owner,
    provider: ProviderId,
    import: ImportId,
    line: u64,
    at: DateTime<Utc>,
) -> Charge {
    Charge {
        id: uuid::Uuid::now_v7().to_string(),
        source: "import".into(),
        source_key: format!("{import}:{line}"),
        month: Month::of(r.billing_period_start),
        institution_id: owner.institution_id,
        information_system_id: owner.information_system_id,
        agreement_id: owner.agreement_id,
        provider_id: provider,
        offering_id: owner.offering_id,
        resource_id: owner.resource_id.clone(),
        service_category: r.service_category.as_str().to_owned(),
        service_name: r.service_name.clone(),
        charge_category: r.charge_category.as_str().to_owned(),
        charge_class: r.charge_class.map(|c| c.as_str().to_owned()),
        metric: None,
        unit: r.pricing_unit.clone(),
        quantity: r.pricing_quantity,
        unit_price: r.contracted_unit_price.or(r.list_unit_price),
        price_list_id: None,
        price_list_version: r.sku_price_id.clone(),
        cost: r.billed_cost,
        currency: r.billing_currency.clone(),
        commercial_cost: None,
        commercial_ref: None,
        period_start: r.charge_period_start,
        period_end: r.charge_period_end,
        description: r
            .charge_description
            .clone()
            .unwrap_or_else(|| format!("{} {}", r.charge_category, r.service_name)),
        import_id: Some(import),
        created_at: at,
    }
}

/// A file reader that reports how many bytes it has read.
struct ProgressReader<R> {
    inner: R,
    read: u64,
    progress: Arc<dyn Fn(u64) + Send + Sync>,
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        (self.progress)(self.read);
        Ok(n)
    }
}

/// Reports import progress in bytes of the file read (twice: validating,
/// then booking).
pub type Progress = Arc<dyn Fn(ImportPhase, u64) + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportPhase {
    Validating,
    Booking,
}

fn import_error(file_name: &str, e: &makonis_metering::ImportError) -> Error {
    let mut field = FieldError::new("file", "invalid_format", format!("{file_name}: {e}"));
    if let Some(line) = e.line() {
        field = field.with_param("line", line);
    }
    if let Some(column) = e.column() {
        field = field.with_param("column", column);
    }
    Error::invalid(field)
}

impl App {
    fn require_costs(&self, ctx: &OpContext, action: Action, scope: Scope) -> Result<()> {
        authorize(ctx, action, Kind::Costs, scope)
    }

    async fn price_book(
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

    /// Collects usage from every provider with a driver, rates it and books
    /// it; records nobody can be charged for go to the unmapped list. Safe
    /// to run often and concurrently with itself: every record has a
    /// source key and is booked once. Then checks the budgets.
    pub async fn collect_usage(&self) -> Result<CollectionReport> {
        let ctx = OpContext::system("usage-collection");
        let mut report = CollectionReport::default();
        let (providers, offerings, commercial) = {
            let mut conn = self.datastore().conn().await?;
            let providers = federation_store::list_providers(&mut conn).await?;
            let offerings: HashMap<OfferingId, Offering> =
                catalogue_store::all_offerings(&mut conn)
                    .await?
                    .into_iter()
                    .map(|o| (o.id, o))
                    .collect();
            (
                providers,
                offerings,
                store::commercial_prices(&mut conn).await?,
            )
        };
        for provider in providers {
            if !crate::drivers::has_driver(&provider) {
                continue;
            }
            report.providers += 1;
            if let Err(e) = self
                .collect_from(&ctx, &provider, &offerings, &commercial, &mut report)
                .await
            {
                report
                    .failures
                    .push(format!("{}: {e}", provider.short_name));
            }
        }
        self.check_budgets().await?;
        Ok(report)
    }

    async fn collect_from(
        &self,
        ctx: &OpContext,
        provider: &Provider,
        offerings: &HashMap<OfferingId, Offering>,
        commercial: &[CommercialPrice],
        report: &mut CollectionReport,
    ) -> Result<()> {
        let driver = self.driver_for(provider).await?;
        let started = now();
        let (since, owners, book) = {
            let mut conn = self.datastore().conn().await?;
            let since = store::collected_until(&mut conn, provider.id)
                .await?
                .unwrap_or(started - Duration::days(FIRST_COLLECTION_WINDOW_DAYS));
            let owners: HashMap<String, store::ResourceOwner> =
                store::resource_owners(&mut conn, provider.id)
                    .await?
                    .into_iter()
                    .map(|o| (o.idempotency_key.clone(), o))
                    .collect();
            let book = self.price_book(&mut conn, provider, offerings).await?;
            (since, owners, book)
        };
        let usage = driver
            .usage_since(since)
            .await
            .map_err(|e| Error::Unavailable {
                message: format!("{}: usage could not be collected", provider.short_name),
                detail: e.to_string(),
            })?;
        let mut tx = self.datastore().begin().await?;
        let (mut charged, mut duplicates, mut unmapped) = (0i64, 0i64, 0i64);
        for u in &usage {
            let source_key = format!(
                "{}/{}/{}/{}",
                provider.id,
                u.idempotency_key,
                u.metric,
                makonis_db::time_text(u.period_start)
            );
            let month = Month::of(u.period_start);
            let booked = match owners.get(&u.idempotency_key) {
                None => Err((
                    format!(
                        "resource {} at {} is not in the registry (drift)",
                        u.resource_id, provider.short_name
                    ),
                    None,
                )),
                Some(owner) => match offerings.get(&owner.offering_id) {
                    None => Err((
                        format!("offering {} is gone", owner.offering_id),
                        Some(owner),
                    )),
                    Some(offering) => {
                        let quantity =
                            to_billing_quantity(offering.unit, Decimal::from(u.quantity));
                        let record = UsageRecord {
                            id: source_key.clone(),
                            billing_account_id: owner.institution_id.to_string(),
                            offering_id: offering.id.to_string(),
                            resource_id: Some(owner.resource_id.clone()),
                            metric: offering.unit.as_str().to_owned(),
                            quantity,
                            period_start: u.period_start,
                            period_end: u.period_end,
                            service_category: service_category(offering.kind),
                            service_name: offering.name.clone(),
                            provider: provider.short_name.clone(),
                            kind: UsageKind::Usage,
                        };
                        match makonis_metering::rate(&record, &book) {
                            Err(e) => Err((e.to_string(), Some(owner))),
                            Ok(rated) => {
                                let equivalent = commercial_equivalent(
                                    commercial,
                                    offering,
                                    u.period_start.date_naive(),
                                );
                                Ok(Charge {
                                    id: uuid::Uuid::now_v7().to_string(),
                                    source: "usage".into(),
                                    source_key: source_key.clone(),
                                    month,
                                    institution_id: owner.institution_id,
                                    information_system_id: Some(owner.information_system_id),
                                    agreement_id: owner.agreement_id,
                                    provider_id: provider.id,
                                    offering_id: Some(offering.id),
                                    resource_id: Some(owner.resource_id.clone()),
                                    service_category: rated.service_category.as_str().to_owned(),
                                    service_name: rated.service_name,
                                    charge_category: ChargeCategory::Usage.as_str().to_owned(),
                                    charge_class: None,
                                    metric: Some(u.metric.clone()),
                                    unit: Some(offering.unit.as_str().to_owned()),
                                    quantity: Some(quantity),
                                    unit_price: rated.unit_price,
                                    price_list_id: rated.price_list.as_ref().map(|p| p.0.clone()),
                                    price_list_version: rated.price_list.map(|p| p.1),
                                    cost: rated.cost,
                                    currency: rated.currency,
                                    commercial_cost: equivalent.map(|p| quantity * p.unit_price),
                                    commercial_ref: equivalent
                                        .map(|p| format!("{} {}", p.reference, p.sku)),
                                    period_start: u.period_start,
                                    period_end: u.period_end,
                                    description: rated.description,
                                    import_id: None,
                                    created_at: started,
                                })
                            }
                        }
                    }
                },
            };
            match booked {
                Ok(charge) => {
                    if store::insert_charge(&mut tx, &charge).await? {
                        charged += 1;
                    } else {
                        duplicates += 1;
                    }
                }
                Err((reason, owner)) => {
                    let line = UnmappedCharge {
                        id: uuid::Uuid::now_v7().to_string(),
                        source: "usage".into(),
                        source_key: source_key.clone(),
                        provider_id: provider.id,
                        import_id: None,
                        line: None,
                        reason,
                        billing_account_id: owner.map(|o| o.institution_id.to_string()),
                        sub_account_id: None,
                        resource_id: Some(u.resource_id.clone()),
                        month,
                        cost: Decimal::ZERO,
                        currency: CURRENCY.into(),
                        created_at: started,
                        resolved_at: None,
                        resolved_by: None,
                        charge_id: None,
                    };
                    let json = serde_json::to_string(u).map_err(Error::internal)?;
                    if store::insert_unmapped(&mut tx, &line, &json).await? {
                        unmapped += 1;
                    } else {
                        duplicates += 1;
                    }
                }
            }
        }
        // Every record the driver returned ended before now; the next run
        // starts at the current hour (a partial hour comes next time).
        let until = started
            .duration_trunc(Duration::hours(1))
            .map_err(Error::internal)?;
        store::set_collected_until(&mut tx, provider.id, until).await?;
        if charged + unmapped > 0 {
            audit::append(
                &mut tx,
                ctx,
                Change {
                    action: "usage.collected",
                    target_kind: "provider",
                    target_id: provider.id.to_string(),
                    target_institution: None,
                    before: None,
                    after: Some(serde_json::json!({
                        "since": since, "until": until, "charged": charged,
                        "unmapped": unmapped, "duplicates": duplicates,
                    })),
                },
            )
            .await?;
        }
        commit(tx).await?;
        report.charged += charged;
        report.duplicates += duplicates;
        report.unmapped += unmapped;
        Ok(())
    }

    /// Checks that the actor may import bills of `provider_id` (the Broker,
    /// or the provider's own operators), before an upload is even read.
    pub async fn authorize_import(
        &self,
        ctx: &OpContext,
        provider_id: ProviderId,
    ) -> Result<Provider> {
        let provider = {
            let mut conn = self.datastore().conn().await?;
            federation_store::get_provider(&mut conn, provider_id)
                .await?
                .ok_or(Error::NotFound { kind: "provider" })?
        };
        let scope = provider
            .institution_id
            .map(Scope::Institution)
            .unwrap_or(Scope::Platform);
        self.require_costs(ctx, Action::Create, scope)?;
        Ok(provider)
    }

    /// Collection on demand (the Broker), the same as the scheduled run.
    pub async fn collect_usage_now(&self, ctx: &OpContext) -> Result<CollectionReport> {
        self.require_costs(ctx, Action::Update, Scope::Platform)?;
        self.collect_usage().await
    }

    /// Runs usage collection every `every` in the background (with `serve`).
    pub fn spawn_usage_collection(&self, every: std::time::Duration) {
        let app = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match app.collect_usage().await {
                    Ok(r) if !r.failures.is_empty() => {
                        tracing::warn!(failures = ?r.failures, "usage collection: some providers failed");
                    }
                    Ok(r) => tracing::debug!(
                        charged = r.charged,
                        unmapped = r.unmapped,
                        "usage collected"
                    ),
                    Err(e) => tracing::warn!(error = %e, "usage collection failed"),
                }
            }
        });
    }

    /// Imports a provider's FOCUS 1.2 file: validates every line first
    /// (nothing is written if any line is bad), refuses a file imported
    /// before (by content hash), then books every line in one transaction:
    /// mapped lines as charges, the rest on the unmapped list.
    pub async fn import_focus(
        &self,
        ctx: &OpContext,
        provider_id: ProviderId,
        file_name: &str,
        path: &Path,
        progress: Option<Progress>,
    ) -> Result<FocusImport> {
        let provider = self.authorize_import(ctx, provider_id).await?;
        let options = ReadOptions {
            expected_currency: Some(CURRENCY.into()),
        };
        // Pass 1: validate everything and hash the bytes.
        let summary = {
            let path = path.to_owned();
            let options = options.clone();
            let progress = progress.clone();
            tokio::task::spawn_blocking(move || {
                let file = std::fs::File::open(&path)?;
                let reader = ProgressReader {
                    inner: std::io::BufReader::with_capacity(1 << 20, file),
                    read: 0,
                    progress: Arc::new(move |n| {
                        if let Some(p) = &progress {
                            p(ImportPhase::Validating, n);
                        }
                    }),
                };
                makonis_metering::import::validate(reader, &options)
            })
            .await
            .map_err(Error::internal)?
            .map_err(|e| import_error(file_name, &e))?
        };
        let hash = summary.content_hash.to_hex();
        let import = FocusImport {
            id: ImportId::new(),
            provider_id,
            file_name: file_name.to_owned(),
            content_hash: hash.clone(),
            bytes: summary.bytes as i64,
            records: summary.records as i64,
            mapped: 0,
            unmapped: 0,
            billing_currency: summary.billing_currency.clone(),
            billed_cost: summary.billed_cost,
            imported_by: ctx.user().map(|u| u.id),
            imported_at: now(),
        };
        let mut tx = self.datastore().begin().await?;
        if let Some(earlier) = store::import_by_hash(&mut tx, &hash).await? {
            return Err(Error::invalid(
                FieldError::new(
                    "file",
                    "duplicate",
                    format!(
                        "{file_name}: this file was imported on {} as {} (content hash {hash}); importing it again would charge twice",
                        earlier.imported_at.format("%Y-%m-%d %H:%M UTC"),
                        earlier.file_name
                    ),
                )
                .with_param("content_hash", &hash),
            ));
        }
        store::insert_import(&mut tx, &import).await?;
        let index = MappingIndex::load(&mut tx, provider_id).await?;
        // Pass 2: read again and book; a reader thread feeds batches.
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<(u64, FocusRecord)>>(4);
        let reader_task = {
            let path = path.to_owned();
            let options = options.clone();
            let progress = progress.clone();
            tokio::task::spawn_blocking(move || -> std::result::Result<String, String> {
                let file = std::fs::File::open(&path).map_err(|e| e.to_string())?;
                let mut hashing = makonis_metering::hash::HashingReader::new(ProgressReader {
                    inner: std::io::BufReader::with_capacity(1 << 20, file),
                    read: 0,
                    progress: Arc::new(move |n| {
                        if let Some(p) = &progress {
                            p(ImportPhase::Booking, n);
                        }
                    }),
                });
                {
                    let mut reader = makonis_metering::FocusReader::new(&mut hashing, options)
                        .map_err(|e| e.to_string())?;
                    let mut batch = Vec::with_capacity(512);
                    while let Some(item) = reader.next_record() {
                        batch.push(item.map_err(|e| e.to_string())?);
                        if batch.len() == 512 {
                            let full = std::mem::replace(&mut batch, Vec::with_capacity(512));
                            if sender.blocking_send(full).is_err() {
                                return Err("the import was cancelled".into());
                            }
                        }
                    }
                    if !batch.is_empty() && sender.blocking_send(batch).is_err() {
                        return Err("the import was cancelled".into());
                    }
                }
                let (hash, _) = hashing.finish().map_err(|e| e.to_string())?;
                Ok(hash.to_hex())
            })
        };
        let (mut mapped, mut unmapped) = (0i64, 0i64);
        let at = import.imported_at;
        while let Some(batch) = receiver.recv().await {
            for (line, record) in batch {
                match index.map(&record) {
                    Ok(owner) => {
                        let charge =
                            charge_from_focus(&record, &owner, provider_id, import.id, line, at);
                        store::insert_charge(&mut tx, &charge).await?;
                        mapped += 1;
                    }
                    Err(reason) => {
                        // Booked once the Broker names who pays; the nil
                        // institution is never stored as a charge.
                        let owner = Owner {
                            institution_id: InstitutionId(uuid::Uuid::nil()),
                            information_system_id: None,
                            agreement_id: None,
                            offering_id: None,
                            resource_id: record.resource_id.clone(),
                        };
                        let draft =
                            charge_from_focus(&record, &owner, provider_id, import.id, line, at);
                        let entry = UnmappedCharge {
                            id: uuid::Uuid::now_v7().to_string(),
                            source: "import".into(),
                            source_key: draft.source_key.clone(),
                            provider_id,
                            import_id: Some(import.id),
                            line: Some(line as i64),
                            reason,
                            billing_account_id: Some(record.billing_account_id.clone()),
                            sub_account_id: record.sub_account_id.clone(),
                            resource_id: record.resource_id.clone(),
                            month: draft.month,
                            cost: record.billed_cost,
                            currency: record.billing_currency.clone(),
                            created_at: at,
                            resolved_at: None,
                            resolved_by: None,
                            charge_id: None,
                        };
                        let json = serde_json::to_string(&draft).map_err(Error::internal)?;
                        store::insert_unmapped(&mut tx, &entry, &json).await?;
                        unmapped += 1;
                    }
                }
            }
        }
        let second_hash =
            reader_task
                .await
                .map_err(Error::internal)?
                .map_err(|e| Error::Conflict {
                    message: format!("{file_name}: the file could not be read a second time: {e}"),
                })?;
        if second_hash != hash {
            // Dropping the transaction rolls everything back.
            return Err(Error::Conflict {
                message: format!(
                    "{file_name}: the file changed while it was being imported; nothing was imported"
                ),
            });
        }
        store::set_import_counts(&mut tx, import.id, mapped, unmapped).await?;
        let import = FocusImport {
            mapped,
            unmapped,
            ..import
        };
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "usage.imported",
                target_kind: "focus_import",
                target_id: import.id.to_string(),
                target_institution: provider.institution_id,
                before: None,
                after: audit::summary(&import),
            },
        )
        .await?;
        commit(tx).await?;
        self.check_budgets().await?;
        Ok(import)
    }

    pub async fn focus_imports(&self, ctx: &OpContext) -> Result<Vec<FocusImport>> {
        self.require_costs(ctx, Action::Update, Scope::Platform)?;
        let mut conn = self.datastore().conn().await?;
        Ok(store::imports(&mut conn).await?)
    }

    /// Lines waiting for the Broker (or all, with `open_only` false).
    pub async fn unmapped_charges(
        &self,
        ctx: &OpContext,
        open_only: bool,
    ) -> Result<Vec<UnmappedCharge>> {
        self.require_costs(ctx, Action::Update, Scope::Platform)?;
        let mut conn = self.datastore().conn().await?;
        Ok(store::unmapped(&mut conn, open_only).await?)
    }

    /// The Broker decides who pays for an unmapped bill line; it is booked
    /// as a charge of that institution (and system).
    pub async fn resolve_unmapped(
        &self,
        ctx: &OpContext,
        id: &str,
        input: &ResolveUnmappedInput,
    ) -> Result<Charge> {
        self.require_costs(ctx, Action::Update, Scope::Platform)?;
        let me = ctx.user().ok_or(Error::Unauthenticated)?.id;
        let mut tx = self.datastore().begin().await?;
        let (line, json) = store::unmapped_one(&mut tx, id)
            .await?
            .ok_or(Error::NotFound {
                kind: "unmapped line",
            })?;
        if line.resolved_at.is_some() {
            return Err(Error::Conflict {
                message: "this line was resolved already".into(),
            });
        }
        if line.source != "import" {
            return Err(Error::Conflict {
                message: "usage of a resource missing from the registry is resolved by fixing the registry (drift), not by charging someone".into(),
            });
        }
        if makonis_db::institution::get(&mut tx, input.institution_id)
            .await?
            .is_none()
        {
            return Err(Error::invalid(FieldError::new(
                "institution_id",
                "not_found",
                "no such institution",
            )));
        }
        if let Some(system) = input.information_system_id {
            let is = makonis_db::information_system::get(&mut tx, system).await?;
            if is.is_none_or(|is| is.institution_id != input.institution_id) {
                return Err(Error::invalid(FieldError::new(
                    "information_system_id",
                    "mismatch",
                    "the information system does not belong to this institution",
                )));
            }
        }
        let mut charge: Charge = serde_json::from_str(&json)
            .map_err(|e| Error::internal(format!("unmapped line {id}: {e}")))?;
        charge.id = uuid::Uuid::now_v7().to_string();
        charge.institution_id = input.institution_id;
        charge.information_system_id = input.information_system_id;
        // Under the institution's active agreement with the provider, as a
        // line mapped on import would be.
        charge.agreement_id =
            makonis_db::orders::open_agreements(&mut tx, input.institution_id, line.provider_id)
                .await?
                .into_iter()
                .find(|a| a.status == makonis_types::order::AgreementStatus::Active)
                .map(|a| a.id);
        charge.created_at = now();
        if !store::insert_charge(&mut tx, &charge).await? {
            return Err(Error::Conflict {
                message: "this line was booked already".into(),
            });
        }
        if !store::resolve_unmapped(&mut tx, id, me, &charge.id, now()).await? {
            return Err(Error::Conflict {
                message: "this line was resolved already".into(),
            });
        }
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "usage.unmapped_resolved",
                target_kind: "unmapped_charge",
                target_id: id.to_owned(),
                target_institution: Some(input.institution_id),
                before: audit::summary(&line),
                after: audit::summary(&charge),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(charge)
    }

    pub async fn add_commercial_price(
        &self,
        ctx: &OpContext,
        input: &CommercialPriceInput,
    ) -> Result<CommercialPrice> {
        self.require_costs(ctx, Action::Update, Scope::Platform)?;
        input.validate().map_err(Error::Invalid)?;
        let price = CommercialPrice {
            id: uuid::Uuid::now_v7().to_string(),
            reference: input.reference.trim().to_owned(),
            sku: input.sku.trim().to_owned(),
            kind: input.kind,
            vcpu: input.vcpu,
            ram_gb: input.ram_gb,
            unit: input.unit,
            unit_price: input.unit_price,
            currency: CURRENCY.into(),
            valid_from: input.valid_from,
            valid_until: input.valid_until,
        };
        let mut tx = self.datastore().begin().await?;
        store::insert_commercial_price(&mut tx, &price, now()).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "commercial_price.created",
                target_kind: "commercial_price",
                target_id: price.id.clone(),
                target_institution: None,
                before: None,
                after: audit::summary(&price),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(price)
    }

    /// Reference prices are public within the federation, like the
    /// catalogue they are compared with: every signed-in person reads them.
    pub async fn commercial_prices(&self, ctx: &OpContext) -> Result<Vec<CommercialPrice>> {
        authorize(ctx, Action::Read, Kind::Catalogue, Scope::Platform)?;
        let mut conn = self.datastore().conn().await?;
        Ok(store::commercial_prices(&mut conn).await?)
    }

    /// Splits a provider's shared platform cost for a month across the
    /// institutions charged at that provider that month, in proportion to
    /// their charges there (the allocation key), in whole cents that add up
    /// to the amount exactly (largest remainder).
    pub async fn allocate_shared_cost(
        &self,
        ctx: &OpContext,
        input: &SharedCostInput,
    ) -> Result<Vec<Allocation>> {
        self.require_costs(ctx, Action::Update, Scope::Platform)?;
        input.validate().map_err(Error::Invalid)?;
        let mut tx = self.datastore().begin().await?;
        let provider = federation_store::get_provider(&mut tx, input.provider_id)
            .await?
            .ok_or_else(|| {
                Error::invalid(FieldError::new(
                    "provider_id",
                    "not_found",
                    "no such provider",
                ))
            })?;
        let charges = store::charges_at(&mut tx, input.provider_id, input.month).await?;
        let mut basis: BTreeMap<InstitutionId, Decimal> = BTreeMap::new();
        for c in charges.iter().filter(|c| c.source != "allocation") {
            *basis.entry(c.institution_id).or_default() += c.cost;
        }
        basis.retain(|_, v| *v > Decimal::ZERO);
        if basis.is_empty() {
            return Err(Error::invalid(FieldError::new(
                "month",
                "invalid",
                format!(
                    "nobody was charged at {} in {}: there is nothing to split by",
                    provider.short_name, input.month
                ),
            )));
        }
        let shared_id = uuid::Uuid::now_v7().to_string();
        if !store::insert_shared_cost(
            &mut tx,
            &shared_id,
            input,
            CURRENCY,
            ctx.user().map(|u| u.id),
            now(),
        )
        .await?
        {
            return Err(Error::invalid(FieldError::duplicate(
                "description",
                &input.description,
            )));
        }
        let shares = allocate_by_largest_remainder(input.amount, &basis);
        let mut out = Vec::new();
        for (institution, amount) in &shares {
            let charge = Charge {
                id: uuid::Uuid::now_v7().to_string(),
                source: "allocation".into(),
                source_key: format!("{shared_id}/{institution}"),
                month: input.month,
                institution_id: *institution,
                information_system_id: None,
                agreement_id: None,
                provider_id: provider.id,
                offering_id: None,
                resource_id: None,
                service_category: ServiceCategory::Other.as_str().to_owned(),
                service_name: format!("Shared platform cost: {}", input.description.trim()),
                charge_category: ChargeCategory::Usage.as_str().to_owned(),
                charge_class: None,
                metric: None,
                unit: Some("Allocation".into()),
                quantity: Some(Decimal::ONE),
                unit_price: Some(*amount),
                price_list_id: None,
                price_list_version: None,
                cost: *amount,
                currency: CURRENCY.into(),
                commercial_cost: None,
                commercial_ref: None,
                period_start: input.month.start(),
                period_end: input.month.end(),
                description: format!(
                    "Share of {} {CURRENCY} ({}), in proportion to charges of {} {CURRENCY} of {} {CURRENCY}",
                    input.amount,
                    input.description.trim(),
                    basis[institution].round_dp(2),
                    basis.values().copied().sum::<Decimal>().round_dp(2),
                ),
                import_id: None,
                created_at: now(),
            };
            store::insert_charge(&mut tx, &charge).await?;
            out.push(Allocation {
                institution_id: *institution,
                basis: basis[institution],
                amount: *amount,
            });
        }
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "shared_cost.allocated",
                target_kind: "shared_cost",
                target_id: shared_id,
                target_institution: None,
                before: None,
                after: Some(serde_json::json!({ "input": input, "allocations": out })),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(out)
    }

    async fn label_maps(
        &self,
        conn: &mut makonis_db::Conn,
    ) -> Result<(
        HashMap<InformationSystemId, String>,
        HashMap<ProviderId, String>,
    )> {
        let systems = store::system_keys(conn)
            .await?
            .into_iter()
            .map(|(id, code, name, _)| (id, format!("{code} {name}")))
            .collect();
        let providers = federation_store::list_providers(conn)
            .await?
            .into_iter()
            .map(|p| (p.id, p.short_name))
            .collect();
        Ok((systems, providers))
    }

    /// What an institution's statement for a month would say now, without
    /// issuing it.
    pub async fn preview_statement(
        &self,
        ctx: &OpContext,
        institution: InstitutionId,
        month: Month,
    ) -> Result<Statement> {
        self.require_costs(ctx, Action::Read, Scope::Institution(institution))?;
        let mut conn = self.datastore().conn().await?;
        if makonis_db::institution::get(&mut conn, institution)
            .await?
            .is_none()
        {
            return Err(Error::NotFound {
                kind: "institution",
            });
        }
        let charges = store::charges_of(&mut conn, institution, month).await?;
        let (systems, providers) = self.label_maps(&mut conn).await?;
        Ok(build_statement(
            institution,
            month,
            0,
            None,
            &charges,
            &systems,
            &providers,
            None,
        ))
    }

    /// Issues an institution's statement for a finished month. Statements
    /// are immutable; issuing again makes a new version and needs a reason.
    pub async fn issue_statement(
        &self,
        ctx: &OpContext,
        input: &IssueStatementInput,
    ) -> Result<Statement> {
        self.require_costs(ctx, Action::Update, Scope::Platform)?;
        if input.month.end() > now() {
            return Err(Error::invalid(
                FieldError::new(
                    "month",
                    "out_of_range",
                    format!("{} has not ended yet", input.month),
                )
                .with_param("max", Month::of(now()).previous()),
            ));
        }
        let mut tx = self.datastore().begin().await?;
        if makonis_db::institution::get(&mut tx, input.institution_id)
            .await?
            .is_none()
        {
            return Err(Error::invalid(FieldError::new(
                "institution_id",
                "not_found",
                "no such institution",
            )));
        }
        let latest =
            store::latest_statement_version(&mut tx, input.institution_id, input.month).await?;
        let reason = input
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
        if latest > 0 && reason.is_none() {
            return Err(Error::invalid(FieldError::new(
                "reason",
                "required",
                format!(
                    "version {latest} of this statement was issued; say why it is issued again"
                ),
            )));
        }
        if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
            return Err(Error::invalid(
                FieldError::new("reason", "too_long", "at most 500 characters")
                    .with_param("max", 500),
            ));
        }
        let charges = store::charges_of(&mut tx, input.institution_id, input.month).await?;
        let (systems, providers) = self.label_maps(&mut tx).await?;
        let statement = build_statement(
            input.institution_id,
            input.month,
            latest + 1,
            reason,
            &charges,
            &systems,
            &providers,
            ctx.user().map(|u| u.id),
        );
        store::insert_statement(&mut tx, &statement).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "statement.issued",
                target_kind: "statement",
                target_id: statement.summary.id.to_string(),
                target_institution: Some(input.institution_id),
                before: None,
                after: audit::summary(&statement.summary),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(statement)
    }

    /// Issued statements the actor may read: one institution's, or every
    /// institution's for the Broker and auditors.
    pub async fn statements(
        &self,
        ctx: &OpContext,
        institution: Option<InstitutionId>,
    ) -> Result<Vec<StatementSummary>> {
        match institution {
            Some(i) => self.require_costs(ctx, Action::Read, Scope::Institution(i))?,
            None => self.require_costs(ctx, Action::Read, Scope::Platform)?,
        }
        let mut conn = self.datastore().conn().await?;
        Ok(store::statements(&mut conn, institution).await?)
    }

    pub async fn statement(&self, ctx: &OpContext, id: StatementId) -> Result<Statement> {
        let mut conn = self.datastore().conn().await?;
        let statement = store::statement(&mut conn, id)
            .await?
            .ok_or(Error::NotFound { kind: "statement" })?;
        // Another tenant's statement is "not found" for them, not forbidden.
        self.require_costs(
            ctx,
            Action::Read,
            Scope::Institution(statement.summary.institution_id),
        )?;
        Ok(statement)
    }

    /// Sets the monthly budget of an institution or one of its systems.
    pub async fn set_budget(&self, ctx: &OpContext, input: &BudgetInput) -> Result<Budget> {
        self.require_costs(
            ctx,
            Action::Update,
            Scope::Institution(input.institution_id),
        )?;
        input.validate().map_err(Error::Invalid)?;
        let mut tx = self.datastore().begin().await?;
        if let Some(system) = input.information_system_id {
            let is = makonis_db::information_system::get(&mut tx, system).await?;
            if is.is_none_or(|is| is.institution_id != input.institution_id) {
                return Err(Error::invalid(FieldError::new(
                    "information_system_id",
                    "mismatch",
                    "the information system does not belong to this institution",
                )));
            }
        }
        let budget = store::put_budget(
            &mut tx,
            &Budget {
                id: BudgetId::new(),
                institution_id: input.institution_id,
                information_system_id: input.information_system_id,
                monthly_amount: input.monthly_amount,
                currency: CURRENCY.into(),
                thresholds: input.thresholds.clone(),
                updated_at: now(),
            },
            ctx.user().map(|u| u.id),
        )
        .await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "budget.set",
                target_kind: "budget",
                target_id: budget.id.to_string(),
                target_institution: Some(budget.institution_id),
                before: None,
                after: audit::summary(&budget),
            },
        )
        .await?;
        commit(tx).await?;
        self.check_budgets().await?;
        Ok(budget)
    }

    /// Budgets with this month's spending.
    pub async fn budgets(
        &self,
        ctx: &OpContext,
        institution: InstitutionId,
    ) -> Result<Vec<BudgetStatus>> {
        self.require_costs(ctx, Action::Read, Scope::Institution(institution))?;
        let mut conn = self.datastore().conn().await?;
        let month = Month::of(now());
        let budgets = store::budgets(&mut conn, Some(institution)).await?;
        let charges = store::charges_of(&mut conn, institution, month).await?;
        let mut out = Vec::new();
        for b in budgets {
            let crossed = store::crossed_thresholds(&mut conn, b.id, month).await?;
            out.push(budget_status(b, month, &charges, crossed));
        }
        Ok(out)
    }

    /// Raises each crossed budget threshold once a month: a notification to
    /// the institution's admins (and the system's owners for a system
    /// budget). Returns how many alerts went out.
    pub async fn check_budgets(&self) -> Result<usize> {
        let month = Month::of(now());
        let mut tx = self.datastore().begin().await?;
        let budgets = store::budgets(&mut tx, None).await?;
        let mut raised = 0;
        let mut charges_by_institution: HashMap<InstitutionId, Vec<Charge>> = HashMap::new();
        for b in budgets {
            if let std::collections::hash_map::Entry::Vacant(slot) =
                charges_by_institution.entry(b.institution_id)
            {
                slot.insert(store::charges_of(&mut tx, b.institution_id, month).await?);
            }
            let institution = b.institution_id;
            let status = budget_status(b, month, &charges_by_institution[&institution], Vec::new());
            let b = &status.budget;
            for threshold in b.thresholds.iter().filter(|t| status.used_pct >= **t) {
                if !store::record_budget_alert(
                    &mut tx,
                    b.id,
                    month,
                    *threshold,
                    status.spent,
                    now(),
                )
                .await?
                {
                    continue;
                }
                raised += 1;
                let mut recipients = makonis_db::orders::holders_of(
                    &mut tx,
                    Role::InstitutionAdmin.as_str(),
                    Some(b.institution_id),
                )
                .await?;
                if b.information_system_id.is_some() {
                    recipients.extend(
                        makonis_db::orders::holders_of(
                            &mut tx,
                            Role::IsOwner.as_str(),
                            Some(b.institution_id),
                        )
                        .await?,
                    );
                }
                recipients.sort();
                recipients.dedup();
                let detail = format!(
                    "{}% of the {} {} monthly budget used in {} ({} {} spent)",
                    threshold,
                    b.monthly_amount,
                    b.currency,
                    month,
                    round_money(status.spent),
                    b.currency
                );
                for user in recipients {
                    makonis_db::orders::notify_detail(
                        &mut tx,
                        user,
                        "budget.threshold",
                        b.information_system_id,
                        &detail,
                        now(),
                    )
                    .await?;
                }
            }
        }
        commit(tx).await?;
        Ok(raised)
    }
}

fn budget_status(b: Budget, month: Month, charges: &[Charge], crossed: Vec<i64>) -> BudgetStatus {
    let spent: Decimal = charges
        .iter()
        .filter(|c| {
            b.information_system_id.is_none() || c.information_system_id == b.information_system_id
        })
        .map(|c| c.cost)
        .sum();
    let used_pct = if b.monthly_amount > Decimal::ZERO {
        (spent * Decimal::ONE_HUNDRED / b.monthly_amount)
            .floor()
            .try_into()
            .unwrap_or(i64::MAX)
    } else {
        0
    };
    BudgetStatus {
        budget: b,
        month,
        spent,
        used_pct,
        crossed,
    }
}

fn build_statement(
    institution: InstitutionId,
    month: Month,
    version: i64,
    reason: Option<String>,
    charges: &[Charge],
    systems: &HashMap<InformationSystemId, String>,
    providers: &HashMap<ProviderId, String>,
    issued_by: Option<makonis_types::UserId>,
) -> Statement {
    let lines = statement_lines(charges, systems, providers);
    let total: Decimal = lines.iter().map(|l| l.amount).sum();
    let exact_total: Decimal = lines.iter().map(|l| l.exact_amount).sum();
    let commercial_total: Decimal = lines.iter().filter_map(|l| l.commercial_amount).sum();
    Statement {
        summary: StatementSummary {
            id: StatementId::new(),
            institution_id: institution,
            month,
            version,
            reason,
            currency: CURRENCY.into(),
            total,
            exact_total: exact_total.normalize(),
            commercial_total,
            charges: charges.len() as i64,
            content_hash: lines_hash(&lines),
            issued_by,
            // Stored with microseconds; keep what reads back identical.
            issued_at: chrono::SubsecRound::trunc_subsecs(now(), 6),
        },
        lines,
    }
}

/// The Broker as FOCUS InvoiceIssuerName and ProviderName: its official
/// abbreviation (the validator wants these names in ASCII).
pub const INVOICE_ISSUER: &str = "VDAA";

fn parse_category(text: &str) -> ServiceCategory {
    ServiceCategory::parse(text).unwrap_or(ServiceCategory::Other)
}

fn parse_charge_category(text: &str) -> ChargeCategory {
    ChargeCategory::parse(text).unwrap_or(ChargeCategory::Adjustment)
}

fn focus_unit(unit: Option<&str>) -> Option<String> {
    // FOCUS UnitFormat spellings of the catalogue's billing units.
    unit.map(|u| match u {
        "instance_hour" => "Instance-Hours".to_owned(),
        "gb_month" => "GB-Months".to_owned(),
        "unit_month" => "Units-Months".to_owned(),
        "person_hour" => "Hours".to_owned(),
        other => other.to_owned(),
    })
}

fn charge_to_rated(c: &Charge, provider: &str) -> makonis_metering::RatedRecord {
    makonis_metering::RatedRecord {
        id: c.id.clone(),
        billing_account_id: c.institution_id.to_string(),
        offering_id: c.offering_id.map(|o| o.to_string()),
        resource_id: c.resource_id.clone(),
        metric: c.unit.clone(),
        unit: focus_unit(c.unit.as_deref()),
        quantity: c.quantity,
        period_start: c.period_start,
        period_end: c.period_end,
        service_category: parse_category(&c.service_category),
        service_name: c.service_name.clone(),
        provider: provider.to_owned(),
        price_list: c.price_list_id.clone().zip(c.price_list_version.clone()),
        unit_price: c.unit_price,
        currency: c.currency.clone(),
        cost: c.cost,
        charge_category: parse_charge_category(&c.charge_category),
        charge_class: c
            .charge_class
            .as_deref()
            .and_then(makonis_metering::ChargeClass::parse),
        corrects: None,
        description: c.description.clone(),
    }
}

fn write_focus(
    rows: impl Iterator<Item = (makonis_metering::RatedRecord, Month)>,
    account_names: &BTreeMap<String, String>,
    invoice_id: Option<String>,
) -> Result<Vec<u8>> {
    let mut writer = makonis_metering::FocusWriter::with_optional_columns(
        Vec::new(),
        &makonis_metering::writer::RATED_EXPORT_COLUMNS,
    )
    .map_err(Error::internal)?;
    for (rated, month) in rows {
        let ctx = makonis_metering::writer::ExportContext {
            billing_period_start: month.start(),
            billing_period_end: month.end(),
            invoice_issuer_name: INVOICE_ISSUER.into(),
            account_names: account_names.clone(),
            invoice_id: invoice_id.clone(),
        };
        writer
            .write(&makonis_metering::rated_to_focus(&rated, &ctx))
            .map_err(Error::internal)?;
    }
    writer.finish().map_err(Error::internal)
}

/// Plain CSV of a statement: one row per line, rounded amounts as charged.
pub fn statement_csv(s: &Statement) -> String {
    let mut out = csv_writer();
    let _ = out.write_record([
        "line",
        "month",
        "version",
        "information_system",
        "provider",
        "service_category",
        "service",
        "charge_category",
        "charge_class",
        "unit",
        "quantity",
        "unit_price",
        "price_list_version",
        "amount_eur",
        "commercial_eur",
        "commercial_reference",
        "saving_eur",
    ]);
    for l in &s.lines {
        let opt = |d: Option<Decimal>| d.map(|d| d.to_string()).unwrap_or_default();
        let _ = out.write_record([
            l.line_no.to_string(),
            s.summary.month.to_string(),
            s.summary.version.to_string(),
            l.information_system.clone(),
            l.provider.clone(),
            l.service_category.clone(),
            l.service_name.clone(),
            l.charge_category.clone(),
            l.charge_class.clone().unwrap_or_default(),
            l.unit.clone().unwrap_or_default(),
            opt(l.quantity),
            opt(l.unit_price),
            l.price_list_version.clone().unwrap_or_default(),
            l.amount.to_string(),
            opt(l.commercial_amount),
            l.commercial_ref.clone().unwrap_or_default(),
            opt(l.saving()),
        ]);
    }
    let _ = out.write_record([
        "",
        "",
        "",
        "TOTAL",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        &s.summary.total.to_string(),
        &s.summary.commercial_total.to_string(),
        "",
        "",
    ]);
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().from_writer(Vec::new())
}

impl App {
    async fn account_names(&self, conn: &mut makonis_db::Conn) -> Result<BTreeMap<String, String>> {
        Ok(store::institution_keys(conn)
            .await?
            .into_iter()
            .map(|(id, _, _, name)| (id.to_string(), name))
            .collect())
    }

    /// Charges of one institution in a month, at full precision.
    pub async fn charges(
        &self,
        ctx: &OpContext,
        institution: InstitutionId,
        month: Month,
    ) -> Result<Vec<Charge>> {
        self.require_costs(ctx, Action::Read, Scope::Institution(institution))?;
        let mut conn = self.datastore().conn().await?;
        Ok(store::charges_of(&mut conn, institution, month).await?)
    }

    /// A statement as FOCUS 1.2 CSV: one row per statement line, costs at
    /// full precision (so quantity × unit price = cost holds exactly), the
    /// statement id and version as InvoiceId.
    pub async fn statement_focus(&self, ctx: &OpContext, id: StatementId) -> Result<Vec<u8>> {
        let s = self.statement(ctx, id).await?;
        let mut conn = self.datastore().conn().await?;
        let names = self.account_names(&mut conn).await?;
        let month = s.summary.month;
        let rows = s.lines.iter().map(|l| {
            let rated = makonis_metering::RatedRecord {
                id: format!("{}-{}", s.summary.id, l.line_no),
                billing_account_id: s.summary.institution_id.to_string(),
                offering_id: l.offering_id.map(|o| o.to_string()),
                resource_id: None,
                metric: l.unit.clone(),
                unit: focus_unit(l.unit.as_deref()),
                quantity: l.quantity,
                period_start: month.start(),
                period_end: month.end(),
                service_category: parse_category(&l.service_category),
                service_name: l.service_name.clone(),
                provider: l.provider.clone(),
                price_list: l
                    .price_list_version
                    .clone()
                    .map(|v| ("price-list".to_owned(), v)),
                unit_price: l.unit_price,
                currency: s.summary.currency.clone(),
                cost: l.exact_amount,
                charge_category: parse_charge_category(&l.charge_category),
                charge_class: l
                    .charge_class
                    .as_deref()
                    .and_then(makonis_metering::ChargeClass::parse),
                corrects: None,
                description: format!("{}: {}", l.information_system, l.service_name),
            };
            (rated, month)
        });
        write_focus(
            rows,
            &names,
            Some(format!("{}-v{}", s.summary.id, s.summary.version)),
        )
    }

    /// Every charge of an institution (or, for the Broker, all) in months
    /// `from..=to` as FOCUS 1.2 CSV.
    pub async fn export_focus(
        &self,
        ctx: &OpContext,
        institution: Option<InstitutionId>,
        from: Month,
        to: Month,
    ) -> Result<Vec<u8>> {
        match institution {
            Some(i) => self.require_costs(ctx, Action::Read, Scope::Institution(i))?,
            None => self.require_costs(ctx, Action::Read, Scope::Platform)?,
        }
        if to < from {
            return Err(Error::invalid(
                FieldError::new("to", "out_of_range", "`to` must not be before `from`")
                    .with_param("min", from),
            ));
        }
        let mut conn = self.datastore().conn().await?;
        let names = self.account_names(&mut conn).await?;
        let (_, providers) = self.label_maps(&mut conn).await?;
        let charges = store::charges_between(&mut conn, institution, from, to).await?;
        let rows = charges.iter().map(|c| {
            let provider = providers
                .get(&c.provider_id)
                .map(String::as_str)
                .unwrap_or("unknown");
            (charge_to_rated(c, provider), c.month)
        });
        write_focus(rows, &names, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn largest_remainder_gives_whole_cents_that_add_up() {
        let basis = BTreeMap::from([("a", d("1")), ("b", d("1")), ("c", d("1"))]);
        let shares = allocate_by_largest_remainder(d("100.00"), &basis);
        assert_eq!(shares["a"], d("33.34"));
        assert_eq!(shares["b"], d("33.33"));
        assert_eq!(shares["c"], d("33.33"));
        let basis = BTreeMap::from([("x", d("0.123")), ("y", d("999.877")), ("z", d("55.5"))]);
        for amount in ["0.01", "0.02", "17.77", "1000000.00", "12345.67"] {
            let shares = allocate_by_largest_remainder(d(amount), &basis);
            assert_eq!(
                shares.values().copied().sum::<Decimal>(),
                d(amount),
                "{amount}"
            );
            assert!(
                shares
                    .values()
                    .all(|s| s.scale() <= 2 && *s >= Decimal::ZERO)
            );
        }
        // Proportional: the biggest user pays the most.
        let shares = allocate_by_largest_remainder(d("10.00"), &basis);
        assert!(shares["y"] > shares["z"] && shares["z"] > shares["x"]);
        assert!(
            allocate_by_largest_remainder(d("1"), &BTreeMap::<&str, Decimal>::new()).is_empty()
        );
    }

    #[test]
    fn hourly_usage_becomes_monthly_units_at_730_hours() {
        assert_eq!(
            to_billing_quantity(BillingUnit::InstanceHour, d("3")),
            d("3")
        );
        assert_eq!(to_billing_quantity(BillingUnit::GbMonth, d("730")), d("1"));
        // 1/730 has no finite decimal expansion: the quantity keeps 28
        // significant digits, far below the cent a statement line rounds to.
        let back = to_billing_quantity(BillingUnit::GbMonth, d("100")) * Decimal::from(730);
        assert!(
            (back - d("100")).abs() < d("0.000000000000000000001"),
            "{back}"
        );
    }
}

/// How a cost series is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostGrouping {
    /// By information system (institution-wide lines as one group).
    System,
    Provider,
    ServiceCategory,
}

impl App {
    /// Cost per month and group for an institution, months `from..=to`,
    /// exact sums (charts round for display only).
    pub async fn cost_series(
        &self,
        ctx: &OpContext,
        institution: InstitutionId,
        from: Month,
        to: Month,
        grouping: CostGrouping,
    ) -> Result<Vec<CostPoint>> {
        self.require_costs(ctx, Action::Read, Scope::Institution(institution))?;
        let mut conn = self.datastore().conn().await?;
        let rows = store::cost_rows(&mut conn, Some(institution), from, to).await?;
        let labels = self.group_labels(&mut conn, false).await?;
        let mut sums: BTreeMap<(Month, String), (Decimal, Option<Decimal>)> = BTreeMap::new();
        for r in rows {
            let group = labels.group(
                grouping,
                r.institution_id,
                r.information_system_id,
                r.provider_id,
                &r.service_category,
            );
            let e = sums.entry((r.month, group)).or_default();
            e.0 += r.cost;
            if let Some(c) = r.commercial_cost {
                e.1 = Some(e.1.unwrap_or_default() + c);
            }
        }
        Ok(sums
            .into_iter()
            .map(|((month, group), (cost, commercial_cost))| CostPoint {
                month,
                group,
                cost,
                commercial_cost,
            })
            .collect())
    }

    /// Usage quantity per month, billing unit and group, months
    /// `from..=to`, exact sums: of one institution (its readers and the
    /// platform's, as for [`App::cost_series`]) or, with `None`, of the whole
    /// federation (the platform's readers only). Usage charges count with
    /// their corrections; purchases, taxes, credits, adjustments and shared
    /// costs have no usage quantity. Units are grouped as written, with
    /// Mākonis' own in FOCUS spelling (`instance_hour` → `Instance-Hours`),
    /// so collected and billed hours of one unit add up.
    pub async fn usage_series(
        &self,
        ctx: &OpContext,
        institution: Option<InstitutionId>,
        from: Month,
        to: Month,
        grouping: CostGrouping,
    ) -> Result<Vec<UsagePoint>> {
        let scope = match institution {
            Some(i) => Scope::Institution(i),
            None => Scope::Platform,
        };
        self.require_costs(ctx, Action::Read, scope)?;
        if from > to {
            return Err(Error::invalid(FieldError::new(
                "from",
                "range",
                format!("the first month ({from}) is after the last ({to})"),
            )));
        }
        let mut conn = self.datastore().conn().await?;
        let rows = store::usage_rows(&mut conn, institution, from, to).await?;
        let labels = self.group_labels(&mut conn, institution.is_none()).await?;
        let mut sums: BTreeMap<(Month, String, String), Decimal> = BTreeMap::new();
        for r in rows {
            let group = labels.group(
                grouping,
                r.institution_id,
                r.information_system_id,
                r.provider_id,
                &r.service_category,
            );
            let unit = focus_unit(Some(&r.unit)).unwrap_or_default();
            *sums.entry((r.month, unit, group)).or_default() += r.quantity;
        }
        Ok(sums
            .into_iter()
            .map(|((month, unit, group), quantity)| UsagePoint {
                month,
                unit,
                group,
                quantity,
            })
            .collect())
    }

    /// The labels series are grouped by. Across institutions a system is
    /// `INSTITUTION/CODE` (codes are unique only within an institution).
    async fn group_labels(
        &self,
        conn: &mut makonis_db::Conn,
        across_institutions: bool,
    ) -> Result<GroupLabels> {
        let (systems, providers) = self.label_maps(conn).await?;
        let codes = systems
            .iter()
            .map(|(id, label)| (*id, label.split(' ').next().unwrap_or(label).to_owned()))
            .collect();
        let institutions = if across_institutions {
            store::institution_keys(conn)
                .await?
                .into_iter()
                .map(|(id, short_name, _, _)| (id, short_name))
                .collect()
        } else {
            HashMap::new()
        };
        Ok(GroupLabels {
            codes,
            providers,
            institutions,
        })
    }
}

/// System codes, provider and (across institutions) institution short
/// names, for grouping series.
struct GroupLabels {
    codes: HashMap<InformationSystemId, String>,
    providers: HashMap<ProviderId, String>,
    institutions: HashMap<InstitutionId, String>,
}

impl GroupLabels {
    fn group(
        &self,
        grouping: CostGrouping,
        institution: InstitutionId,
        system: Option<InformationSystemId>,
        provider: ProviderId,
        service_category: &str,
    ) -> String {
        match grouping {
            CostGrouping::System => {
                let code = system
                    .and_then(|s| self.codes.get(&s).cloned())
                    .unwrap_or_else(|| "—".to_owned());
                match self.institutions.get(&institution) {
                    Some(short) => format!("{short}/{code}"),
                    None => code,
                }
            }
            CostGrouping::Provider => self
                .providers
                .get(&provider)
                .cloned()
                .unwrap_or_else(|| provider.to_string()),
            CostGrouping::ServiceCategory => service_category.to_owned(),
        }
    }
}

impl App {
    /// Every provider's charges in a month, split between its own
    /// institution's use and everyone else's (the federation's view).
    pub async fn provider_split(
        &self,
        ctx: &OpContext,
        month: Month,
    ) -> Result<Vec<ProviderSplit>> {
        self.require_costs(ctx, Action::Read, Scope::Platform)?;
        let mut conn = self.datastore().conn().await?;
        let providers = federation_store::list_providers(&mut conn).await?;
        let rows = store::cost_rows(&mut conn, None, month, month).await?;
        let mut out = Vec::new();
        for p in providers {
            let mine: Vec<_> = rows.iter().filter(|r| r.provider_id == p.id).collect();
            let mut institutions: Vec<InstitutionId> =
                mine.iter().map(|r| r.institution_id).collect();
            institutions.sort();
            institutions.dedup();
            let internal: Decimal = mine
                .iter()
                .filter(|r| Some(r.institution_id) == p.institution_id)
                .map(|r| r.cost)
                .sum();
            let total: Decimal = mine.iter().map(|r| r.cost).sum();
            out.push(ProviderSplit {
                provider_id: p.id,
                provider: p.short_name,
                month,
                internal,
                shared: total - internal,
                institutions: institutions.len() as i64,
            });
        }
        Ok(out)
    }
}
