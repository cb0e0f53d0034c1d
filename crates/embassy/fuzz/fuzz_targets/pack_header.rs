#![no_main]
//! Pack trailer and header readers on arbitrary bytes.
//!
//! Input: `data_len u64 LE || header plaintext`. The plaintext goes to the
//! header parser directly (a fuzzer cannot forge the AES-GCM tag), and a
//! header that parses is sealed with a fixed key and read back the way
//! `Repository::read_pack_header` does (trailer, length check, open,
//! parse), then loaded into an in-memory index like `rebuild_index` does.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use makonis_embassy::crypto::MasterKey;
use makonis_embassy::format::{
    decode_pack_header, encode_pack_header, pack_header_len, parse_pack_header,
};
use makonis_embassy::index::Index;
use makonis_embassy::Id;

fn key() -> &'static MasterKey {
    static KEY: OnceLock<MasterKey> = OnceLock::new();
    KEY.get_or_init(|| MasterKey::generate().expect("key"))
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let data_len = u64::from_le_bytes(data[..8].try_into().unwrap());
    let plain = &data[8..];
    // The trailer of a pack whose last bytes are the input's.
    let tail = &data[data.len().saturating_sub(4)..];
    let _ = pack_header_len("fuzz", tail, data_len);
    let _ = decode_pack_header(key(), "fuzz", plain, data_len);

    let Ok(blobs) = parse_pack_header("fuzz", plain, data_len) else {
        return;
    };
    // Blobs lie back to back from offset 0 and cover the data exactly.
    let mut off = 0u64;
    for b in &blobs {
        assert_eq!(u64::from(b.offset), off);
        off += u64::from(b.length);
    }
    assert_eq!(off, data_len);
    // Sealed round trip through the reader's steps.
    let sealed = encode_pack_header(key(), &blobs).expect("encode");
    let n = sealed.len();
    let pack_size = data_len + n as u64;
    let hlen = pack_header_len("fuzz", &sealed[n - 4..], pack_size).expect("own trailer");
    assert_eq!(hlen as usize, n - 4);
    let start = pack_size - 4 - u64::from(hlen);
    assert_eq!(start, data_len);
    let back = decode_pack_header(key(), "fuzz", &sealed[..n - 4], start).expect("own header");
    assert_eq!(back, blobs);
    // Into the in-memory index.
    let mut idx = Index::default();
    idx.add_pack(Id([1; 32]), &blobs);
    idx.finish();
    for b in &blobs {
        assert!(idx.get_all(&b.id).iter().any(|l| l.offset == b.offset));
    }
    let _ = idx.by_pack();
});
