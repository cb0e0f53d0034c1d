//! Parallel, streaming read of a FOCUS file: the same rules as
//! [`FocusReader`](crate::reader::FocusReader), on every core.
//!
//! Design:
//! - The calling thread reads the input in blocks (4 MiB by default),
//!   hashes every byte (BLAKE3, for the import's content hash), and cuts
//!   each block after the last line end that lies outside a quoted field
//!   (the quote count before it is even), so chunks hold whole records even
//!   when a field (Tags JSON, a description) holds commas, quotes or line
//!   breaks. The partial record after the cut starts the next chunk. It
//!   also counts the line breaks in each chunk, so every chunk knows the
//!   file line it starts on.
//! - Worker threads check a chunk's UTF-8 once, then tokenize its plain
//!   RFC 4180 records (LF line ends, no blank lines, quotes around whole
//!   fields) without copying: each field is a range of the chunk (or of a
//!   scratch string, for quoted fields with `""` escapes), its end found
//!   eight bytes at a time or with memchr. Everything else (CRLF, blank
//!   lines, stray quotes, bad UTF-8) goes through `csv_core`, the state
//!   machine the sequential reader uses, so quoting, blank lines and CRLF
//!   behave the same. Then the field count and the shared row checks
//!   ([`check_row`](crate::reader)) on borrowed fields: no allocation per
//!   field or per row. Each valid row goes to the caller's `row`
//!   function, which folds it into a per-chunk state.
//! - Results are merged in file order, so the error reported is the first
//!   one in the file even though chunks finish in any order. At most
//!   `2 × threads + 1` chunks are in flight: memory stays flat whatever the
//!   file size.
//! - The quote-parity cut is exact for RFC 4180 files. A stray quote inside
//!   an unquoted field (which `csv_core` reads as a literal) can fool it;
//!   a worker then finds its chunk ends inside a record, and from that
//!   chunk on the file is read sequentially, with the same rules.
//!
//! "One file, one currency" needs the first row: the reader takes the
//! first record's BillingCurrency before starting the workers.

use std::collections::{BTreeMap, VecDeque};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use csv::StringRecord;

use crate::hash::ContentHash;
use crate::parse::RowCache;
use crate::reader::{
    Columns, Fields, FocusRow, ImportError, ReadOptions, Row, check_row, csv_error,
    currency_mismatch,
};

/// How to run a parallel read.
#[derive(Clone, Debug)]
pub struct ParallelOptions {
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Bytes read per block (a chunk is a block cut at a record boundary).
    pub block_size: usize,
    /// Compute the file's BLAKE3 content hash while reading.
    pub hash: bool,
}

impl Default for ParallelOptions {
    fn default() -> Self {
        ParallelOptions {
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            block_size: 4 << 20,
            hash: true,
        }
    }
}

/// What a parallel read saw of the file itself.
#[derive(Clone, Debug, PartialEq)]
pub struct FileInfo {
    /// BLAKE3 of the file's bytes (when [`ParallelOptions::hash`] is set).
    pub content_hash: Option<ContentHash>,
    /// Bytes read.
    pub bytes: u64,
    /// Records (rows after the header).
    pub records: u64,
    /// The file's single billing currency (`None` without records).
    pub billing_currency: Option<String>,
}

/// Reads and validates every row of a FOCUS file on `par.threads` threads,
/// folding the valid rows into states: `init` makes an empty state, `row`
/// adds a row to it (and may refuse the row with an error, e.g. a rating
/// error), `merge` adds one state into another. Returns the merged state,
/// or the first error in file order (the same error the sequential
/// [`FocusReader`](crate::FocusReader) reports first).
pub fn fold<R, S, I, F, M>(
    mut reader: R,
    options: &ReadOptions,
    par: &ParallelOptions,
    init: I,
    row: F,
    merge: M,
) -> Result<(FileInfo, S), ImportError>
where
    R: Read,
    S: Send,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, &FocusRow<'_>) -> Result<(), ImportError> + Sync,
    M: Fn(&mut S, S),
{
    let block_size = par.block_size.max(64);
    let mut input = Input {
        reader: &mut reader,
        hasher: par.hash.then(blake3::Hasher::new),
        bytes: 0,
        eof: false,
    };

    // The header and the first record, read with the csv crate itself.
    let mut buf = Vec::with_capacity(block_size + 64 * 1024);
    let (cols, data_start, first_line, file_currency) = loop {
        input.fill(&mut buf, block_size)?;
        if let Some(found) = header_and_currency(&buf, input.eof)? {
            break found;
        }
    };
    let ctx = Ctx {
        cols,
        header_len: header_len(&buf, data_start)?,
        expected_currency: options.expected_currency.clone(),
        file_currency: file_currency.clone(),
    };
    buf.drain(..data_start);

    let threads = par.threads.max(1);
    let max_in_flight = 2 * threads + 1;
    let cancel = AtomicBool::new(false);
    let (job_tx, job_rx) = crossbeam_channel::unbounded::<Job>();
    let (res_tx, res_rx) = crossbeam_channel::unbounded::<(u64, Outcome<S>)>();

    let result = std::thread::scope(|scope| {
        for _ in 0..threads {
            let job_rx = job_rx.clone();
            let res_tx = res_tx.clone();
            let (ctx, init, row, cancel) = (&ctx, &init, &row, &cancel);
            scope.spawn(move || {
                for job in job_rx {
                    if cancel.load(Ordering::Relaxed) {
                        continue;
                    }
                    let outcome = run_chunk(ctx, &job, init, row);
                    let seq = job.seq;
                    drop(job);
                    if res_tx.send((seq, outcome)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(res_tx);
        let r = coordinate(
            &mut input,
            buf,
            first_line,
            block_size,
            max_in_flight,
            &job_tx,
            &res_rx,
            &ctx,
            &init,
            &row,
            &merge,
        );
        cancel.store(true, Ordering::Relaxed);
        drop(job_tx);
        r
    })?;
    let (state, records) = result;
    let content_hash = input
        .hasher
        .take()
        .map(|h| ContentHash(*h.finalize().as_bytes()));
    Ok((
        FileInfo {
            content_hash,
            bytes: input.bytes,
            records,
            billing_currency: if records > 0 {
                file_currency.map(|(c, _)| c)
            } else {
                None
            },
        },
        state,
    ))
}

/// The input, hashed as it is read.
struct Input<'r, R> {
    reader: &'r mut R,
    hasher: Option<blake3::Hasher>,
    bytes: u64,
    eof: bool,
}

impl<R: Read> Input<'_, R> {
    /// Appends up to `want` bytes to `buf` (fewer only at the end).
    fn fill(&mut self, buf: &mut Vec<u8>, want: usize) -> Result<(), ImportError> {
        let start = buf.len();
        buf.reserve(want);
        // `read_to_end` reads into the spare capacity without zeroing it.
        let n = (&mut *self.reader)
            .take(want as u64)
            .read_to_end(buf)
            .map_err(ImportError::Io)?;
        if n < want {
            self.eof = true;
        }
        let filled = start + n;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[start..filled]);
        }
        self.bytes += (filled - start) as u64;
        Ok(())
    }
}

type Header = (Columns, usize, u64, Option<(String, u64)>);

/// Reads the header and the first record from the start of the file.
/// Returns the columns, where the data starts (byte and line), and the
/// first record's BillingCurrency with its line; `None` when `buf` does not
/// yet hold both (read more).
fn header_and_currency(buf: &[u8], eof: bool) -> Result<Option<Header>, ImportError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(buf);
    let header = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(_) if !eof => return Ok(None),
        Err(e) => return Err(csv_error(e)),
    };
    let data_pos = rdr.position().clone();
    if !eof && data_pos.byte() as usize >= buf.len() {
        return Ok(None);
    }
    let cols = Columns::from_header(&header)?;
    let mut first = StringRecord::new();
    let currency = match rdr.read_record(&mut first) {
        Ok(true) => {
            if !eof && rdr.position().byte() as usize >= buf.len() {
                return Ok(None);
            }
            let line = first.position().map_or(0, csv::Position::line);
            cols.billing_currency_of(&first)
                .map(|c| (c.to_owned(), line))
        }
        // A bad or missing first record: the workers report it.
        Ok(false) | Err(_) => None,
    };
    Ok(Some((
        cols,
        data_pos.byte() as usize,
        data_pos.line(),
        currency,
    )))
}

/// The header's field count.
fn header_len(buf: &[u8], data_start: usize) -> Result<usize, ImportError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&buf[..data_start]);
    let mut rec = csv::ByteRecord::new();
    rdr.read_byte_record(&mut rec).map_err(csv_error)?;
    Ok(rec.len())
}

/// What every worker needs to know about the file.
struct Ctx {
    cols: Columns,
    header_len: usize,
    expected_currency: Option<String>,
    file_currency: Option<(String, u64)>,
}

struct Job {
    seq: u64,
    data: Arc<Vec<u8>>,
    first_line: u64,
    last: bool,
}

enum Outcome<S> {
    Done(S, u64),
    Failed(ImportError),
    /// The chunk does not end at a record boundary (a stray quote fooled
    /// the cut): read sequentially from this chunk on.
    Misaligned,
}

fn run_chunk<S, I, F>(ctx: &Ctx, job: &Job, init: &I, row: &F) -> Outcome<S>
where
    I: Fn() -> S,
    F: Fn(&mut S, &FocusRow<'_>) -> Result<(), ImportError>,
{
    let mut state = init();
    let mut parser = Parser::new(ctx, job.first_line);
    let data = &job.data[..];
    // The fast tokenizer for plain RFC 4180 chunks, csv_core for the rest
    // (from the first record the fast one does not take).
    let consumed = if memchr::memchr(b'\r', data).is_none() {
        match parser.fast_records(data, job.last, &mut state, row) {
            Ok(n) => n,
            Err(e) => return Outcome::Failed(e),
        }
    } else {
        0
    };
    if let Err(e) = parser.feed(&data[consumed..], job.last, &mut state, row) {
        return Outcome::Failed(e);
    }
    if !job.last && !parser.at_record_boundary() {
        return Outcome::Misaligned;
    }
    Outcome::Done(state, parser.records)
}

/// The reading and merging loop of the calling thread.
#[allow(clippy::too_many_arguments)]
fn coordinate<R, S, I, F, M>(
    input: &mut Input<'_, R>,
    mut buf: Vec<u8>,
    mut line: u64,
    block_size: usize,
    max_in_flight: usize,
    job_tx: &crossbeam_channel::Sender<Job>,
    res_rx: &crossbeam_channel::Receiver<(u64, Outcome<S>)>,
    ctx: &Ctx,
    init: &I,
    row: &F,
    merge: &M,
) -> Result<(S, u64), ImportError>
where
    R: Read,
    I: Fn() -> S,
    F: Fn(&mut S, &FocusRow<'_>) -> Result<(), ImportError>,
    M: Fn(&mut S, S),
{
    let mut total = init();
    let mut records = 0u64;
    let mut pool: Vec<Vec<u8>> = Vec::new();
    // Chunks sent and not yet merged, in file order.
    let mut in_flight: VecDeque<(u64, Arc<Vec<u8>>, u64)> = VecDeque::new();
    let mut done: BTreeMap<u64, Outcome<S>> = BTreeMap::new();
    let mut next_seq = 0u64;
    let mut sent_last = false;

    loop {
        // Merge whatever finished, in order.
        while let Some((seq, _, _)) = in_flight.front() {
            let Some(outcome) = done.remove(seq) else {
                break;
            };
            let (_, data, first_line) = in_flight.pop_front().unwrap_or_default();
            match outcome {
                Outcome::Done(state, n) => {
                    merge(&mut total, state);
                    records += n;
                    if let Ok(mut v) = Arc::try_unwrap(data) {
                        v.clear();
                        pool.push(v);
                    }
                }
                Outcome::Failed(e) => return Err(e),
                Outcome::Misaligned => {
                    // Sequential from this chunk on: its bytes, the later
                    // chunks', what is buffered, and the rest of the input.
                    let mut state = init();
                    let mut parser = Parser::new(ctx, first_line);
                    parser.feed(&data, false, &mut state, row)?;
                    for (_, later, _) in &in_flight {
                        parser.feed(later, false, &mut state, row)?;
                    }
                    parser.feed(&buf, false, &mut state, row)?;
                    while !input.eof {
                        buf.clear();
                        input.fill(&mut buf, block_size)?;
                        parser.feed(&buf, false, &mut state, row)?;
                    }
                    parser.feed(&[], true, &mut state, row)?;
                    merge(&mut total, state);
                    return Ok((total, records + parser.records));
                }
            }
        }
        if sent_last && in_flight.is_empty() {
            return Ok((total, records));
        }
        if sent_last || in_flight.len() >= max_in_flight {
            let (seq, outcome) = res_rx
                .recv()
                .map_err(|_| ImportError::Io(std::io::Error::other("a worker thread stopped")))?;
            done.insert(seq, outcome);
            continue;
        }
        // Read the next block and cut it after its last record.
        if !input.eof {
            input.fill(&mut buf, block_size)?;
        }
        let cut = if input.eof {
            Some(buf.len())
        } else {
            record_boundary(&buf)
        };
        let Some(cut) = cut else {
            continue; // one record longer than the block: read more
        };
        let last = input.eof;
        let mut next = pool
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(block_size + 64 * 1024));
        next.extend_from_slice(&buf[cut..]);
        buf.truncate(cut);
        let lines = count_byte(&buf, b'\n') as u64;
        let data = Arc::new(std::mem::replace(&mut buf, next));
        let job = Job {
            seq: next_seq,
            data: Arc::clone(&data),
            first_line: line,
            last,
        };
        in_flight.push_back((next_seq, data, line));
        line += lines;
        next_seq += 1;
        sent_last = last;
        job_tx
            .send(job)
            .map_err(|_| ImportError::Io(std::io::Error::other("the worker threads stopped")))?;
        // Pick up finished work without waiting.
        while let Ok((seq, outcome)) = res_rx.try_recv() {
            done.insert(seq, outcome);
        }
    }
}

fn count_byte(buf: &[u8], byte: u8) -> usize {
    // memchr counts with SIMD.
    memchr::memchr_iter(byte, buf).count()
}

/// The end of the last complete record in `buf` (which starts at a record
/// start): just after the last line break with an even number of quotes
/// before it. `None` when there is none.
fn record_boundary(buf: &[u8]) -> Option<usize> {
    let quotes = count_byte(buf, b'"');
    let mut end = buf.len();
    let mut quotes_after = 0;
    while let Some(nl) = memchr::memrchr(b'\n', &buf[..end]) {
        quotes_after += count_byte(&buf[nl..end], b'"');
        if (quotes - quotes_after) & 1 == 0 {
            return Some(nl + 1);
        }
        end = nl;
    }
    None
}

/// Borrowed fields of one record: its unescaped bytes and field ends, as
/// `csv_core` writes them.
struct SliceFields<'a> {
    text: &'a str,
    ends: &'a [usize],
}

impl Fields for SliceFields<'_> {
    fn field(&self, i: usize) -> Option<&str> {
        let start = if i == 0 { 0 } else { *self.ends.get(i - 1)? };
        self.text.get(start..*self.ends.get(i)?)
    }
}

/// An incremental CSV parser feeding validated rows to a fold.
struct Parser<'c> {
    ctx: &'c Ctx,
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    outlen: usize,
    endlen: usize,
    /// The line the current record starts on (csv's `Position::line`).
    record_line: Option<u64>,
    /// Only line breaks consumed since the last record ended.
    only_blank: bool,
    records: u64,
    dates: RowCache,
}

impl<'c> Parser<'c> {
    fn new(ctx: &'c Ctx, first_line: u64) -> Self {
        let mut core = csv_core::ReaderBuilder::new().build();
        core.set_line(first_line);
        Parser {
            ctx,
            core,
            out: vec![0; 4096],
            ends: vec![0; 64],
            outlen: 0,
            endlen: 0,
            record_line: None,
            only_blank: true,
            records: 0,
            dates: RowCache::default(),
        }
    }

    /// Parses the records of `input` (which starts at a record start)
    /// that are plain RFC 4180: LF line ends, no blank lines, quotes only
    /// around whole fields. Stops before the first record that is not, and
    /// returns the bytes consumed; `feed` (csv_core) takes the rest. For
    /// such records the result is what csv_core gives: the same fields,
    /// unescaped, and the same line numbers.
    ///
    /// The chunk's UTF-8 is checked once, up front; only the records wholly
    /// inside its valid prefix are taken here (csv_core reports the bad
    /// bytes with their field). Fields are not copied: each is a range of
    /// the chunk's text, or of a scratch string for a quoted field with
    /// `""` escapes.
    fn fast_records<S, F>(
        &mut self,
        input: &[u8],
        last: bool,
        state: &mut S,
        row: &F,
    ) -> Result<usize, ImportError>
    where
        F: Fn(&mut S, &FocusRow<'_>) -> Result<(), ImportError>,
    {
        let (text, last) = match std::str::from_utf8(input) {
            Ok(text) => (text, last),
            Err(e) => (
                std::str::from_utf8(&input[..e.valid_up_to()]).unwrap_or_default(),
                false,
            ),
        };
        let bytes = text.as_bytes();
        let delims = Three::new(b',', b'\n', b'"');
        let quotes = Two::new(b'"', b'\n');
        let mut spans: Vec<(usize, usize)> = Vec::with_capacity(self.ctx.header_len.max(8));
        let mut scratch = String::new();
        let mut line = self.core.line();
        let mut consumed = 0;
        let mut pos = 0;
        'records: while pos < bytes.len() {
            if bytes[pos] == b'\n' {
                break; // a blank line
            }
            spans.clear();
            scratch.clear();
            let mut inner_lines = 0u64;
            loop {
                if bytes.get(pos) == Some(&b'"') {
                    // A quoted field: up to the quote that is not doubled,
                    // counting the line breaks inside; `""` pairs are
                    // unescaped into the scratch string.
                    let start = pos + 1;
                    let from = scratch.len();
                    let mut seg = start;
                    let mut j = start;
                    let mut escaped = false;
                    let close = loop {
                        let Some(k) = find_near(bytes, j, [b'"', b'\n'])
                            .or_else(|| quotes.find(&bytes[j..]).map(|k| j + k))
                        else {
                            break 'records; // unterminated
                        };
                        if bytes[k] == b'\n' {
                            inner_lines += 1;
                            j = k + 1;
                        } else if bytes.get(k + 1) == Some(&b'"') {
                            scratch.push_str(&text[seg..=k]);
                            escaped = true;
                            seg = k + 2;
                            j = k + 2;
                        } else {
                            break k;
                        }
                    };
                    if escaped {
                        scratch.push_str(&text[seg..close]);
                        spans.push((from | IN_SCRATCH, scratch.len()));
                    } else {
                        spans.push((start, close));
                    }
                    pos = close + 1;
                } else {
                    // No CR in the chunk (checked before the fast path).
                    let j = match find_near(bytes, pos, [b',', b'"', b'\n']) {
                        Some(j) => j,
                        None => delims.find(&bytes[pos..]).map_or(bytes.len(), |k| pos + k),
                    };
                    spans.push((pos, j));
                    pos = j;
                }
                match bytes.get(pos) {
                    Some(b',') => pos += 1,
                    Some(b'\n') => {
                        pos += 1;
                        break;
                    }
                    None if last => break,
                    // A stray quote, text after a closing quote, a CR, or
                    // a record cut by the chunk's end: csv_core decides.
                    _ => break 'records,
                }
            }
            if spans.len() != self.ctx.header_len {
                return Err(field_count_error(self.ctx.header_len, spans.len(), line));
            }
            let fields = SpanFields {
                text,
                scratch: &scratch,
                spans: &spans,
            };
            self.emit(&fields, line, state, row)?;
            line += 1 + inner_lines;
            consumed = pos;
        }
        self.core.set_line(line);
        Ok(consumed)
    }

    fn at_record_boundary(&self) -> bool {
        self.outlen == 0 && self.endlen == 0 && self.only_blank
    }

    /// Parses `input`; with `eof`, also ends the last record.
    fn feed<S, F>(
        &mut self,
        mut input: &[u8],
        eof: bool,
        state: &mut S,
        row: &F,
    ) -> Result<(), ImportError>
    where
        F: Fn(&mut S, &FocusRow<'_>) -> Result<(), ImportError>,
    {
        use csv_core::ReadRecordResult as R;
        loop {
            if input.is_empty() && !eof {
                return Ok(());
            }
            if self.record_line.is_none() {
                self.record_line = Some(self.core.line());
            }
            let (res, nin, nout, nend) = self.core.read_record(
                input,
                &mut self.out[self.outlen..],
                &mut self.ends[self.endlen..],
            );
            if self.only_blank && input[..nin].iter().any(|&b| b != b'\n' && b != b'\r') {
                self.only_blank = false;
            }
            input = &input[nin..];
            self.outlen += nout;
            self.endlen += nend;
            match res {
                R::InputEmpty => {
                    if !eof {
                        return Ok(());
                    }
                }
                R::OutputFull => {
                    let n = self.out.len();
                    self.out.resize(n * 2, 0);
                }
                R::OutputEndsFull => {
                    let n = self.ends.len();
                    self.ends.resize(n * 2, 0);
                }
                R::Record => {
                    let line = self.record_line.take().unwrap_or(0);
                    let result = self.record(line, state, row);
                    self.outlen = 0;
                    self.endlen = 0;
                    self.only_blank = true;
                    result?;
                }
                R::End => return Ok(()),
            }
        }
    }

    fn record<S, F>(&mut self, line: u64, state: &mut S, row: &F) -> Result<(), ImportError>
    where
        F: Fn(&mut S, &FocusRow<'_>) -> Result<(), ImportError>,
    {
        let ends = &self.ends[..self.endlen];
        // The same checks, in the same order, as the csv crate's
        // StringRecord reader: field count, then UTF-8.
        if ends.len() != self.ctx.header_len {
            return Err(field_count_error(self.ctx.header_len, ends.len(), line));
        }
        let bytes = &self.out[..self.outlen];
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let field = ends
                .iter()
                .position(|&end| end > e.valid_up_to())
                .unwrap_or(0);
            ImportError::Csv {
                line,
                message: format!(
                    "expected UTF-8 text, got invalid bytes in field {}",
                    field + 1
                ),
            }
        })?;
        let fields = SliceFields { text, ends };
        Self::check(
            self.ctx,
            &mut self.dates,
            &mut self.records,
            &fields,
            line,
            state,
            row,
        )
    }

    /// Row checks, the file's currency and the fold, for a record whose
    /// field count and UTF-8 are already checked.
    fn emit<S, F, X: Fields>(
        &mut self,
        fields: &X,
        line: u64,
        state: &mut S,
        row: &F,
    ) -> Result<(), ImportError>
    where
        F: Fn(&mut S, &FocusRow<'_>) -> Result<(), ImportError>,
    {
        Self::check(
            self.ctx,
            &mut self.dates,
            &mut self.records,
            fields,
            line,
            state,
            row,
        )
    }

    fn check<S, F, X: Fields>(
        ctx: &Ctx,
        dates: &mut RowCache,
        records: &mut u64,
        fields: &X,
        line: u64,
        state: &mut S,
        row: &F,
    ) -> Result<(), ImportError>
    where
        F: Fn(&mut S, &FocusRow<'_>) -> Result<(), ImportError>,
    {
        let r = Row {
            record: fields,
            cols: &ctx.cols,
            line,
        };
        let view = check_row(&r, ctx.expected_currency.as_deref(), dates).map_err(|e| *e)?;
        if let Some((currency, first)) = &ctx.file_currency
            && view.billing_currency != currency
        {
            return Err(currency_mismatch(&r, currency, *first));
        }
        row(state, &view)?;
        *records += 1;
        Ok(())
    }
}

fn field_count_error(header_len: usize, got: usize, line: u64) -> ImportError {
    ImportError::Csv {
        line,
        message: format!("expected {header_len} fields like the header, got {got}"),
    }
}

/// Marks a span of [`SpanFields::scratch`] rather than of the text.
const IN_SCRATCH: usize = 1 << (usize::BITS - 1);

/// Borrowed fields of one record of the fast tokenizer: ranges of the
/// chunk's text, or of the scratch string (unescaped quoted fields).
struct SpanFields<'a> {
    text: &'a str,
    scratch: &'a str,
    spans: &'a [(usize, usize)],
}

impl Fields for SpanFields<'_> {
    #[inline(always)]
    fn field(&self, i: usize) -> Option<&str> {
        let &(start, end) = self.spans.get(i)?;
        if start & IN_SCRATCH == 0 {
            self.text.get(start..end)
        } else {
            self.scratch.get(start & !IN_SCRATCH..end)
        }
    }
}

/// memchr's searchers for two and three bytes, built once per chunk: the
/// AVX2 ones where the CPU has AVX2 (no dispatch per call), else memchr's
/// own choice.
#[derive(Clone, Copy)]
enum Three {
    #[cfg(target_arch = "x86_64")]
    Avx2(memchr::arch::x86_64::avx2::memchr::Three),
    Any(u8, u8, u8),
}

impl Three {
    fn new(a: u8, b: u8, c: u8) -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = memchr::arch::x86_64::avx2::memchr::Three::new(a, b, c) {
            return Three::Avx2(t);
        }
        Three::Any(a, b, c)
    }

    #[inline]
    fn find(&self, haystack: &[u8]) -> Option<usize> {
        match self {
            #[cfg(target_arch = "x86_64")]
            Three::Avx2(t) => t.find(haystack),
            Three::Any(a, b, c) => memchr::memchr3(*a, *b, *c, haystack),
        }
    }
}

#[derive(Clone, Copy)]
enum Two {
    #[cfg(target_arch = "x86_64")]
    Avx2(memchr::arch::x86_64::avx2::memchr::Two),
    Any(u8, u8),
}

impl Two {
    fn new(a: u8, b: u8) -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(t) = memchr::arch::x86_64::avx2::memchr::Two::new(a, b) {
            return Two::Avx2(t);
        }
        Two::Any(a, b)
    }

    #[inline]
    fn find(&self, haystack: &[u8]) -> Option<usize> {
        match self {
            #[cfg(target_arch = "x86_64")]
            Two::Avx2(t) => t.find(haystack),
            Two::Any(a, b) => memchr::memchr2(*a, *b, haystack),
        }
    }
}

/// The first of `needles` in `b[pos..pos + 16]`, found eight bytes at a
/// time without a call: most fields (and the gaps between the quotes of
/// a Tags field) are short. `None`: not there (or too near the end), look
/// further.
#[inline(always)]
fn find_near<const N: usize>(b: &[u8], pos: usize, needles: [u8; N]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Bytes equal to c become zero; the lowest zero byte's high bit is
    // exact (higher ones may be false positives, never lower).
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let found = |at: usize| -> Option<u64> {
        let w = u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?);
        Some(
            needles
                .iter()
                .fold(0, |m, &c| m | zero(w ^ (LO * u64::from(c)))),
        )
    };
    let m = found(pos)?;
    if m != 0 {
        return Some(pos + (m.trailing_zeros() / 8) as usize);
    }
    let m = found(pos + 8)?;
    (m != 0).then(|| pos + 8 + (m.trailing_zeros() / 8) as usize)
}
