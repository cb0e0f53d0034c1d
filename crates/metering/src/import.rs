//! All-or-nothing import of a FOCUS file into a [`RecordSink`].
//!
//! [`import`] streams records from the reader into the sink and commits only
//! after the last line has been read and validated. The app implements the
//! sink with a database transaction: `write` inserts into the transaction,
//! `commit` records the file's content hash (unique) and commits, `rollback`
//! drops the transaction. A bad line near the end of a 2 GB file therefore
//! leaves nothing written, and the same file imported twice fails at the
//! hash. [`MemoryStore`] is the in-memory sink used in tests.
//!
//! The sink is synchronous. An async app runs the import on a blocking
//! thread (`spawn_blocking`) and bridges each call, or drives
//! [`FocusReader`] itself: it is an iterator of `(line, record)`.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use rust_decimal::Decimal;

use crate::focus::{FocusRecord, ServiceCategory};
use crate::hash::{ContentHash, HashingReader};
use crate::parallel::{FileInfo, ParallelOptions};
use crate::reader::{FocusReader, FocusRow, ImportError, ReadOptions};

/// Where imported records go. Implementations buffer or write inside a
/// transaction and make them visible only in `commit`.
pub trait RecordSink {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Accepts one validated record (with its line in the file).
    fn write(&mut self, line: u64, record: FocusRecord) -> Result<(), Self::Error>;

    /// Makes everything written visible, atomically. Refuse here a file
    /// whose content hash was imported before.
    fn commit(self, summary: &ImportSummary) -> Result<(), Self::Error>;

    /// Drops everything written.
    fn rollback(self);
}

/// What an import read, for the audit record and the user.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportSummary {
    /// BLAKE3 of the file's exact bytes.
    pub content_hash: ContentHash,
    /// Bytes read.
    pub bytes: u64,
    /// Records (rows after the header).
    pub records: u64,
    /// The file's single billing currency (`None` for a header-only file).
    pub billing_currency: Option<String>,
    /// Sum of BilledCost over all records.
    pub billed_cost: Decimal,
    /// Sum of EffectiveCost over all records.
    pub effective_cost: Decimal,
    /// Sum of BilledCost per (BillingAccountId, ServiceCategory).
    pub billed_by_account_category: BTreeMap<(String, ServiceCategory), Decimal>,
}

/// Reads the whole file, validating every line, and hands each record to
/// `sink`. Commits only when every line is valid; otherwise rolls the sink
/// back and returns the first error (with its line and column).
pub fn import<R: Read, S: RecordSink>(
    reader: R,
    sink: S,
    options: &ReadOptions,
) -> Result<ImportSummary, ImportError> {
    let mut sink = Some(sink);
    let result = import_inner(reader, &mut sink, options);
    match (result, sink) {
        (Ok(summary), Some(s)) => match s.commit(&summary) {
            Ok(()) => Ok(summary),
            Err(e) => Err(ImportError::Sink(Box::new(e))),
        },
        (Ok(summary), None) => Ok(summary),
        (Err(e), Some(s)) => {
            s.rollback();
            Err(e)
        }
        (Err(e), None) => Err(e),
    }
}

fn import_inner<R: Read, S: RecordSink>(
    reader: R,
    sink: &mut Option<S>,
    options: &ReadOptions,
) -> Result<ImportSummary, ImportError> {
    let mut hashing = HashingReader::new(reader);
    let mut records = 0u64;
    let mut billed = Decimal::ZERO;
    let mut effective = Decimal::ZERO;
    let mut by_key: BTreeMap<(String, ServiceCategory), Decimal> = BTreeMap::new();
    let currency;
    {
        let mut focus = FocusReader::new(&mut hashing, options.clone())?;
        while let Some(item) = focus.next_record() {
            let (line, record) = item?;
            records += 1;
            billed += record.billed_cost;
            effective += record.effective_cost;
            // Look up before inserting to avoid cloning the key on every row.
            if let Some(sum) =
                by_key.get_mut(&(record.billing_account_id.clone(), record.service_category))
            {
                *sum += record.billed_cost;
            } else {
                by_key.insert(
                    (record.billing_account_id.clone(), record.service_category),
                    record.billed_cost,
                );
            }
            if let Some(s) = sink.as_mut() {
                s.write(line, record)
                    .map_err(|e| ImportError::Sink(Box::new(e)))?;
            }
        }
        currency = focus.billing_currency().map(str::to_owned);
    }
    let (content_hash, bytes) = hashing.finish()?;
    Ok(ImportSummary {
        content_hash,
        bytes,
        records,
        billing_currency: currency,
        billed_cost: billed,
        effective_cost: effective,
        billed_by_account_category: by_key,
    })
}

/// Validates a file without storing anything: the same checks as
/// [`import`], and the same summary, on every core
/// ([`crate::parallel::fold`]). The first error in file order is the one
/// returned.
pub fn validate<R: Read>(reader: R, options: &ReadOptions) -> Result<ImportSummary, ImportError> {
    validate_with(reader, options, &ParallelOptions::default())
}

/// [`validate`] with explicit threads and block size.
pub fn validate_with<R: Read>(
    reader: R,
    options: &ReadOptions,
    par: &ParallelOptions,
) -> Result<ImportSummary, ImportError> {
    let par = ParallelOptions {
        hash: true,
        ..par.clone()
    };
    let (info, sums) = crate::parallel::fold(
        reader,
        options,
        &par,
        SummarySums::default,
        |s, row| {
            s.add(row);
            Ok(())
        },
        SummarySums::merge,
    )?;
    Ok(sums.into_summary(info))
}

/// Validates sequentially with [`FocusReader`] (one thread); the
/// reference [`validate`] is tested against.
pub fn validate_sequential<R: Read>(
    reader: R,
    options: &ReadOptions,
) -> Result<ImportSummary, ImportError> {
    import_inner::<R, MemorySink<'static>>(reader, &mut None, options)
}

/// The sums of an [`ImportSummary`], per chunk of a parallel read.
#[derive(Debug, Default)]
struct SummarySums {
    billed: Decimal,
    effective: Decimal,
    by_account: HashMap<String, BTreeMap<ServiceCategory, Decimal>>,
}

impl SummarySums {
    fn add(&mut self, row: &FocusRow<'_>) {
        self.billed += row.billed_cost;
        self.effective += row.effective_cost;
        let by_category = match self.by_account.get_mut(row.billing_account_id) {
            Some(m) => m,
            None => self
                .by_account
                .entry(row.billing_account_id.to_owned())
                .or_default(),
        };
        *by_category.entry(row.service_category).or_default() += row.billed_cost;
    }

    fn merge(&mut self, other: SummarySums) {
        self.billed += other.billed;
        self.effective += other.effective;
        for (account, categories) in other.by_account {
            let mine = self.by_account.entry(account).or_default();
            for (category, sum) in categories {
                *mine.entry(category).or_default() += sum;
            }
        }
    }

    fn into_summary(self, info: FileInfo) -> ImportSummary {
        let mut by_key = BTreeMap::new();
        for (account, categories) in self.by_account {
            for (category, sum) in categories {
                by_key.insert((account.clone(), category), sum);
            }
        }
        ImportSummary {
            content_hash: info
                .content_hash
                .unwrap_or(ContentHash(*blake3::hash(b"").as_bytes())),
            bytes: info.bytes,
            records: info.records,
            billing_currency: info.billing_currency,
            billed_cost: self.billed,
            effective_cost: self.effective,
            billed_by_account_category: by_key,
        }
    }
}

/// An in-memory store of committed imports, for tests and the demo.
#[derive(Debug, Default)]
pub struct MemoryStore {
    /// Committed records, in import order.
    pub records: Vec<FocusRecord>,
    /// Content hashes of committed files.
    pub hashes: Vec<ContentHash>,
}

impl MemoryStore {
    /// Starts a "transaction" on the store.
    pub fn begin(&mut self) -> MemorySink<'_> {
        MemorySink {
            store: self,
            pending: Vec::new(),
        }
    }
}

/// A pending import into a [`MemoryStore`]: records become visible on commit.
#[derive(Debug)]
pub struct MemorySink<'a> {
    store: &'a mut MemoryStore,
    pending: Vec<FocusRecord>,
}

/// Why the in-memory store refused an import.
#[derive(Debug, thiserror::Error)]
pub enum MemoryStoreError {
    #[error("this file was imported before ({0}): importing it again would charge twice")]
    Duplicate(ContentHash),
}

impl RecordSink for MemorySink<'_> {
    type Error = MemoryStoreError;

    fn write(&mut self, _line: u64, record: FocusRecord) -> Result<(), Self::Error> {
        self.pending.push(record);
        Ok(())
    }

    fn commit(self, summary: &ImportSummary) -> Result<(), Self::Error> {
        if self.store.hashes.contains(&summary.content_hash) {
            return Err(MemoryStoreError::Duplicate(summary.content_hash));
        }
        self.store.hashes.push(summary.content_hash);
        self.store.records.extend(self.pending);
        Ok(())
    }

    fn rollback(self) {}
}
