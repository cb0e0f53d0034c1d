//! The in-memory catalogue that placement decides on and catalogue search
//! reads: every provider, site, certification and offering, and the unit
//! prices valid on one day. It is
//! rebuilt only when the database's catalogue generation (bumped by
//! triggers on every catalogue write) or the day changed, so a placement
//! decision or a search costs one tiny query plus pure computation even with
//! tens of thousands of offerings, and several servers on one database never
//! answer from data older than the last write they could have seen. Search
//! here matches `db::catalogue::search` (the SQL reference) exactly; a test
//! holds the two together.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use makonis_db::{catalogue as store, federation, fold};
use makonis_types::catalogue::{CatalogueEntry, CatalogueFilter, OfferingId, OfferingKind};
use makonis_types::federation::{Certification, Provider, ProviderId, Site, SiteId};
use makonis_types::paging::{Page, PageRequest};
use rust_decimal::Decimal;

use crate::catalogue::placement::Candidate;
use crate::{App, Result};

/// One consistent view of the catalogue for one day.
#[derive(Debug)]
pub(crate) struct CatalogueSnapshot {
    generation: i64,
    day: NaiveDate,
    /// Every offering as the catalogue lists it, in the catalogue's order
    /// (provider, site, offering name, id).
    entries: Vec<Listed>,
    /// Positions in `entries` by kind, for placement.
    by_kind: HashMap<OfferingKind, Vec<usize>>,
    providers: HashMap<ProviderId, Provider>,
    sites: HashMap<SiteId, Site>,
    certifications: HashMap<ProviderId, Vec<Certification>>,
    prices: HashMap<OfferingId, Decimal>,
}

/// A catalogue entry with its folded search keys.
#[derive(Debug)]
struct Listed {
    entry: CatalogueEntry,
    offering_key: String,
    provider_key: String,
}

impl CatalogueSnapshot {
    /// The offerings of `kind` with everything placement needs about them.
    /// Offerings whose provider or site vanished are left out.
    pub(crate) fn candidates(&self, kind: OfferingKind) -> Vec<Candidate<'_>> {
        let Some(positions) = self.by_kind.get(&kind) else {
            return Vec::new();
        };
        positions
            .iter()
            .map(|&i| &self.entries[i].entry.offering)
            .filter_map(|o| {
                Some(Candidate {
                    offering: o,
                    provider: self.providers.get(&o.provider_id)?,
                    site: self.sites.get(&o.site_id)?,
                    certifications: self
                        .certifications
                        .get(&o.provider_id)
                        .map_or(&[][..], Vec::as_slice),
                    unit_price: self.prices.get(&o.id).copied(),
                })
            })
            .collect()
    }

    /// Active offerings matching `filter`, one page of them.
    pub(crate) fn search(
        &self,
        filter: &CatalogueFilter,
        page: PageRequest,
    ) -> Page<CatalogueEntry> {
        let words = filter
            .q
            .as_deref()
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(fold);
        let country = filter
            .country
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(str::to_uppercase);
        let matching = self.entries.iter().filter(|listed| {
            let e = &listed.entry;
            let o = &e.offering;
            o.active
                && words.as_deref().is_none_or(|w| {
                    listed.offering_key.contains(w) || listed.provider_key.contains(w)
                })
                && filter.kind.is_none_or(|k| o.kind == k)
                && filter.tier.is_none_or(|t| o.tier == t)
                && filter.provider_id.is_none_or(|p| o.provider_id == p)
                && country.as_deref().is_none_or(|c| e.country == c)
                && filter
                    .min_availability
                    .is_none_or(|a| o.sla.availability_pct >= a)
                && filter.min_vcpu.is_none_or(|v| o.vcpu >= v)
                && filter.min_ram_gb.is_none_or(|r| o.ram_gb >= r)
        });
        let (limit, offset) = (page.limit(), page.offset());
        let mut total = 0u64;
        let mut items = Vec::new();
        for listed in matching {
            if total >= u64::from(offset) && items.len() < limit as usize {
                items.push(listed.entry.clone());
            }
            total += 1;
        }
        Page {
            items,
            total,
            limit,
            offset,
        }
    }
}

/// The cached snapshot; replaced whole, never edited.
#[derive(Debug, Default)]
pub(crate) struct SnapshotCache(Mutex<Option<Arc<CatalogueSnapshot>>>);

impl App {
    /// The catalogue as of now for `day`, rebuilt if anything changed.
    pub(crate) async fn catalogue_snapshot(
        &self,
        day: NaiveDate,
    ) -> Result<Arc<CatalogueSnapshot>> {
        let mut conn = self.datastore().conn().await?;
        let generation = store::generation(&mut conn).await?;
        if let Some(current) = self
            .snapshot_cache()
            .0
            .lock()
            .expect("snapshot lock")
            .as_ref()
            && current.generation == generation
            && current.day == day
        {
            return Ok(Arc::clone(current));
        }
        // Read after the generation: the data is at least as new as the
        // number it is filed under, so a later write always forces a rebuild.
        let offerings = store::all_offerings(&mut conn).await?;
        let providers = federation::list_providers(&mut conn).await?;
        let sites = federation::list_sites(&mut conn, None).await?;
        let certifications = federation::list_certifications(&mut conn, None).await?;
        let prices = store::prices_on(&mut conn, day).await?;
        drop(conn);
        let providers: HashMap<ProviderId, Provider> =
            providers.into_iter().map(|p| (p.id, p)).collect();
        let sites: HashMap<SiteId, Site> = sites.into_iter().map(|s| (s.id, s)).collect();
        let prices: HashMap<OfferingId, Decimal> = prices.into_iter().collect();
        let mut entries: Vec<Listed> = offerings
            .into_iter()
            .filter_map(|offering| {
                let provider = providers.get(&offering.provider_id)?;
                let site = sites.get(&offering.site_id)?;
                Some(Listed {
                    offering_key: store::search_key(&offering),
                    provider_key: fold(&provider.short_name),
                    entry: CatalogueEntry {
                        provider_short_name: provider.short_name.clone(),
                        site_name: site.name.clone(),
                        country: site.country.clone(),
                        unit_price: prices.get(&offering.id).copied(),
                        offering,
                    },
                })
            })
            .collect();
        entries.sort_by(|a, b| {
            (
                &a.provider_key,
                &a.entry.site_name,
                &a.entry.offering.name,
                a.entry.offering.id,
            )
                .cmp(&(
                    &b.provider_key,
                    &b.entry.site_name,
                    &b.entry.offering.name,
                    b.entry.offering.id,
                ))
        });
        let mut by_kind: HashMap<OfferingKind, Vec<usize>> = HashMap::new();
        for (i, listed) in entries.iter().enumerate() {
            by_kind
                .entry(listed.entry.offering.kind)
                .or_default()
                .push(i);
        }
        let mut by_provider: HashMap<ProviderId, Vec<Certification>> = HashMap::new();
        for certification in certifications {
            by_provider
                .entry(certification.provider_id)
                .or_default()
                .push(certification);
        }
        let snapshot = Arc::new(CatalogueSnapshot {
            generation,
            day,
            entries,
            by_kind,
            providers,
            sites,
            certifications: by_provider,
            prices,
        });
        *self.snapshot_cache().0.lock().expect("snapshot lock") = Some(Arc::clone(&snapshot));
        Ok(snapshot)
    }
}
