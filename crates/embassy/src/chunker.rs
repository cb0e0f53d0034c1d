//! Content-defined chunking with FastCDC (2020 variant) over any reader.
//!
//! The gear table is XORed with a per-repository seed derived from the id
//! key, so chunk boundaries depend on a secret and chunk sizes (which the
//! host sees only as pack sizes) do not fingerprint known files.

use std::io::Read;

use fastcdc::v2020::{Normalization, cut_gear, get_gear_with_seed, select_masks};

/// Chunk size limits (bytes). All must be even (FastCDC 2020 requirement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkerParams {
    pub min: usize,
    pub avg: usize,
    pub max: usize,
}

impl Default for ChunkerParams {
    /// 512 KiB / 1 MiB / 8 MiB: restic's proven sizes; 1 MiB keeps the index
    /// small (52 B per MiB stored) while small edits re-store ~1 MiB.
    fn default() -> Self {
        ChunkerParams {
            min: 512 * 1024,
            avg: 1024 * 1024,
            max: 8 * 1024 * 1024,
        }
    }
}

impl ChunkerParams {
    /// Why these sizes cannot be used, if they cannot. FastCDC 2020 needs
    /// even sizes with `64 ≤ min ≤ avg ≤ max` (an odd size trips its
    /// assertions or shifts cuts) and its mask table covers averages of
    /// 256 B–4 MiB (an average of 0 or above that indexes out of it).
    /// Applied by `init` and by the `config` reader.
    pub fn problem(&self) -> Option<String> {
        let c = self;
        if c.min % 2 != 0
            || c.avg % 2 != 0
            || c.max % 2 != 0
            || !(64..=c.avg).contains(&c.min)
            || c.avg > c.max
        {
            return Some(format!("bad chunker sizes {c:?}"));
        }
        if c.max > 16 * 1024 * 1024
            || c.avg > 4 * 1024 * 1024
            || c.min > 1024 * 1024
            || c.avg < 256
            || c.max < 1024
        {
            return Some(format!("chunker sizes {c:?} outside FastCDC limits"));
        }
        None
    }
}

/// Splits a stream into chunks.
pub struct Chunker<R: Read> {
    src: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    params: ChunkerParams,
    mask_s: u64,
    mask_l: u64,
    gear: std::borrow::Cow<'static, [u64]>,
    gear_ls: std::borrow::Cow<'static, [u64]>,
}

impl<R: Read> Chunker<R> {
    pub fn new(src: R, params: ChunkerParams, seed: u64) -> Self {
        let (mask_s, mask_l) = select_masks(params.avg, Normalization::Level1);
        let (gear, gear_ls) = get_gear_with_seed(seed);
        Chunker {
            src,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            params,
            mask_s,
            mask_l,
            gear,
            gear_ls,
        }
    }

    /// Ensure `look` bytes are buffered (or the stream ended).
    fn fill(&mut self, look: usize) -> std::io::Result<()> {
        if self.eof || self.end - self.start >= look {
            return Ok(());
        }
        if self.start > 0 && self.buf.len() - self.start < look {
            // Moves less than `look` bytes per `look` consumed: at most one
            // extra copy of the stream.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while !self.eof && self.end - self.start < look {
            if self.end == self.buf.len() {
                // Grow lazily: most files are far smaller than a chunk.
                let n = (self.buf.len() * 2).clamp(64 * 1024, (look * 2).max(64 * 1024));
                self.buf.resize(n.max(self.end + 1), 0);
            }
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The next chunk, or `None` at end of stream.
    ///
    /// FastCDC needs up to `max` bytes of look-ahead, but almost every cut
    /// falls within `2 × avg`. So the scan starts on a `2 × avg` window and
    /// only widens (doubling, up to `max`) when no cut was found inside it.
    /// A cut found inside a window is exactly the cut a full window would
    /// give, so boundaries do not depend on buffering; memory stays at a few
    /// MiB per reader instead of `2 × max`.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let max = self.params.max;
        let mut look = (self.params.avg * 2).min(max);
        loop {
            self.fill(look)?;
            let avail = self.end - self.start;
            if avail == 0 {
                return Ok(None);
            }
            let window = avail.min(look);
            let data = &self.buf[self.start..self.start + window];
            let n = if window <= self.params.min {
                window
            } else {
                let (_, n) = cut_gear(
                    data,
                    self.params.min,
                    self.params.avg,
                    max,
                    self.mask_s,
                    self.mask_l,
                    self.mask_s << 1,
                    self.mask_l << 1,
                    &self.gear,
                    &self.gear_ls,
                );
                n.clamp(1, window)
            };
            let at_end = self.eof && avail == window;
            if n == window && window < max && !at_end {
                look = (look * 2).min(max);
                continue;
            }
            let chunk = data[..n].to_vec();
            self.start += n;
            return Ok(Some(chunk));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> ChunkerParams {
        ChunkerParams {
            min: 2048,
            avg: 8192,
            max: 32768,
        }
    }

    fn pseudo(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn chunks(data: &[u8], seed: u64) -> Vec<Vec<u8>> {
        let mut c = Chunker::new(data, params(), seed);
        let mut v = Vec::new();
        while let Some(x) = c.next_chunk().unwrap() {
            v.push(x);
        }
        v
    }

    #[test]
    fn chunks_reassemble_and_respect_limits() {
        let data = pseudo(500_000, 7);
        let cs = chunks(&data, 1);
        assert_eq!(cs.concat(), data);
        assert!(cs.len() > 20);
        for c in &cs[..cs.len() - 1] {
            assert!(c.len() >= 2048 && c.len() <= 32768, "{}", c.len());
        }
        assert!(chunks(&[], 1).is_empty());
        assert_eq!(chunks(b"tiny", 1), vec![b"tiny".to_vec()]);
    }

    /// Hands out data in small, uneven reads.
    struct Dribble<'a>(&'a [u8], usize);
    impl Read for Dribble<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            self.1 += 1;
            let n = out.len().min(self.0.len()).min(1 + (self.1 * 7919) % 9000);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn windowed_scan_matches_fastcdc_reference() {
        // Random data, long constant runs (where cuts are rare and the
        // window must widen to max) and a short tail.
        let mut data = pseudo(300_000, 3);
        data.extend(std::iter::repeat_n(0u8, 200_000));
        data.extend(pseudo(100_000, 4));
        data.extend(std::iter::repeat_n(0xAAu8, 90_001));
        data.extend(pseudo(777, 5));
        let p = params();
        let reference: Vec<usize> = fastcdc::v2020::FastCDC::with_level_and_seed(
            &data,
            p.min,
            p.avg,
            p.max,
            Normalization::Level1,
            42,
        )
        .map(|c| c.length)
        .collect();
        let mut ch = Chunker::new(Dribble(&data, 0), p, 42);
        let mut got = Vec::new();
        while let Some(c) = ch.next_chunk().unwrap() {
            got.push(c.len());
        }
        assert_eq!(got, reference);
        assert!(
            got.iter().filter(|&&n| n == p.max).count() >= 2,
            "constant runs must force max-size cuts"
        );
    }

    #[test]
    fn boundaries_resync_after_insert_and_depend_on_seed() {
        let data = pseudo(400_000, 9);
        let mut edited = data[..1000].to_vec();
        edited.extend_from_slice(b"INSERTED BYTES");
        edited.extend_from_slice(&data[1000..]);
        let a = chunks(&data, 1);
        let b = chunks(&edited, 1);
        let shared = b.iter().filter(|c| a.contains(c)).count();
        assert!(
            shared >= a.len() - 3,
            "only {shared} of {} chunks shared",
            a.len()
        );
        let other_seed = chunks(&data, 2);
        assert_ne!(a, other_seed, "the seed must move boundaries");
    }
}
