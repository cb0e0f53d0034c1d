#![no_main]
//! Index file parser on arbitrary bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = makonis_embassy::format::parse_index("fuzz", data);
});
