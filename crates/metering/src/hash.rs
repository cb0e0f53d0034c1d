//! Content hashes of imported files (BLAKE3, streaming).
//!
//! The app stores the hash of every imported file with a unique constraint
//! and refuses a second import of the same bytes, so the same bill is never
//! charged twice. [`HashingReader`] computes the hash while the importer
//! reads, so an import reads the file once.

use std::fmt;
use std::io::{self, Read};

/// A BLAKE3-256 digest of a file's exact bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash(pub [u8; 32]);

impl ContentHash {
    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        blake3::Hash::from_bytes(self.0).to_hex().to_string()
    }

    /// Parses 64 hex characters.
    pub fn from_hex(text: &str) -> Option<Self> {
        blake3::Hash::from_hex(text)
            .ok()
            .map(|h| ContentHash(*h.as_bytes()))
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blake3:{}", self.to_hex())
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Hashes everything `reader` yields, in 64 KiB steps.
pub fn hash_reader(mut reader: impl Read) -> io::Result<ContentHash> {
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
    }
    Ok(ContentHash(*hasher.finalize().as_bytes()))
}

/// A reader that hashes the bytes passing through it.
#[derive(Debug)]
pub struct HashingReader<R> {
    inner: R,
    hasher: blake3::Hasher,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: blake3::Hasher::new(),
            bytes: 0,
        }
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Reads whatever is left (so the hash covers the whole input) and
    /// returns the hash and the total byte count.
    pub fn finish(mut self) -> io::Result<(ContentHash, u64)> {
        io::copy(
            &mut self.inner,
            &mut HashSink(&mut self.hasher, &mut self.bytes),
        )?;
        Ok((ContentHash(*self.hasher.finalize().as_bytes()), self.bytes))
    }
}

struct HashSink<'a>(&'a mut blake3::Hasher, &'a mut u64);

impl io::Write for HashSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        *self.1 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_reader_matches_hash_reader_and_blake3() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let direct = hash_reader(&data[..]).expect("hash");
        let mut r = HashingReader::new(&data[..]);
        let mut half = vec![0u8; 1000];
        r.read_exact(&mut half).expect("read");
        let (streamed, n) = r.finish().expect("finish");
        assert_eq!(direct, streamed);
        assert_eq!(n, data.len() as u64);
        assert_eq!(direct.0, *blake3::hash(&data).as_bytes());
        assert_eq!(ContentHash::from_hex(&direct.to_hex()), Some(direct));
        assert!(direct.to_string().starts_with("blake3:"));
    }
}
