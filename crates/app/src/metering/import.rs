//! FOCUS 1.2 bills imported all-or-nothing: each line is mapped to an
//! institution and system (or listed as unmapped) and stored as a charge.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use makonis_db::metering as store;
use makonis_db::{commit, federation as federation_store};
use makonis_metering::ReadOptions;
use makonis_metering::focus::FocusRecord;
use makonis_types::catalogue::OfferingId;
use makonis_types::federation::{Provider, ProviderId};
use makonis_types::metering::*;
use makonis_types::{FieldError, InformationSystemId, InstitutionId};

use crate::audit::{self, Change};
use crate::authz::{Action, Scope};
use crate::metering::{CURRENCY, SYSTEM_TAG};
use crate::{App, Error, OpContext, Result, now};

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
}
