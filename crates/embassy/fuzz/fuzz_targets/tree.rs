#![no_main]
//! Tree blob decoder (both tree versions) on arbitrary bytes.
//!
//! The input is a tree blob's plaintext (after decryption and
//! decompression). A tree that decodes must re-encode in its version and
//! decode to the same tree.
use libfuzzer_sys::fuzz_target;
use makonis_embassy::tree::Tree;
use makonis_embassy::Id;

fuzz_target!(|data: &[u8]| {
    let id = Id::default();
    let _ = Tree::version_of(data);
    let Ok((tree, version)) = Tree::decode_versioned(&id, data) else {
        return;
    };
    let again = tree.encode_version(version);
    let (back, v2) = Tree::decode_versioned(&id, &again).expect("re-encoded tree decodes");
    assert_eq!(v2, version);
    assert_eq!(back, tree);
    for n in &tree.nodes {
        let _ = n.hardlink_key();
        let _ = n.size();
        let _ = n.name_lossy();
    }
    let _ = tree.lossy_in_v1();
});
