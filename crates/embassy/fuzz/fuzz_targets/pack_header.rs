#![no_main]
//! Pack header parser and trailer-length check on arbitrary bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let data_len = u64::from_le_bytes(data[..8].try_into().unwrap());
    let _ = makonis_embassy::format::parse_pack_header("fuzz", &data[8..], data_len);
    let tail = &data[data.len().saturating_sub(4)..];
    let _ = makonis_embassy::format::pack_header_len("fuzz", tail, data_len);
});
