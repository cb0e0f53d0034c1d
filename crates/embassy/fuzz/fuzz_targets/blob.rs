#![no_main]
//! Blob decoder after decryption on arbitrary bytes.
//!
//! Input: `raw_len u32 LE || opened blob` (encoding byte, then the raw or
//! zstd payload). Whatever decodes must have exactly `raw_len` bytes.
use libfuzzer_sys::fuzz_target;
use makonis_embassy::format::parse_blob_plaintext;
use makonis_embassy::Id;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let raw_len = u32::from_le_bytes(data[..4].try_into().unwrap());
    if let Ok(out) = parse_blob_plaintext(&Id::default(), &data[4..], raw_len) {
        assert_eq!(out.len(), raw_len as usize);
    }
});
