#![no_main]
//! Index file reader on arbitrary bytes.
//!
//! The input is an index plaintext (the AES-GCM tag cannot be forged, so
//! the parser is fuzzed after decryption). One that parses is re-encoded,
//! sealed and decoded again (must round-trip), then loaded into the
//! in-memory index and regrouped per pack as `check`/`prune` do.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use makonis_embassy::crypto::MasterKey;
use makonis_embassy::format::{decode_index, encode_index, parse_index};
use makonis_embassy::index::{Index, to_index_packs};
use makonis_embassy::Id;

fn key() -> &'static MasterKey {
    static KEY: OnceLock<MasterKey> = OnceLock::new();
    KEY.get_or_init(|| MasterKey::generate().expect("key"))
}

fuzz_target!(|data: &[u8]| {
    let _ = decode_index(key(), "fuzz", data);
    let Ok(f) = parse_index("fuzz", data) else {
        return;
    };
    let sealed = encode_index(key(), &f).expect("encode");
    assert_eq!(decode_index(key(), "fuzz", &sealed).expect("own index"), f);

    let name = Id::of_bytes(data);
    if f.supersedes.contains(&name) {
        return;
    }
    let idx = Index::from_files(vec![(name, f.clone())]);
    let total: usize = f.packs.iter().map(|p| p.blobs.len()).sum();
    assert!(idx.len() <= total);
    for p in &f.packs {
        for b in &p.blobs {
            assert!(idx.has(&b.id));
        }
    }
    let regrouped = to_index_packs(idx.by_pack());
    assert_eq!(regrouped.iter().map(|p| p.blobs.len()).sum::<usize>(), idx.len());
});
