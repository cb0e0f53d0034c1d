#![no_main]
//! Key file reader on arbitrary bytes. Key files are the one object a host
//! can plant that the client reads before any authentication.
//!
//! First byte selects the path: even: `KeyFile::parse` on the rest, then
//! the unlock steps after argon2 with a fixed key-encryption key (argon2
//! itself is skipped: it is slow by design); odd: the opened-payload
//! parser.
use libfuzzer_sys::fuzz_target;
use makonis_embassy::crypto::{KeyFile, parse_key_payload};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        if let Ok(kf) = KeyFile::parse("fuzz", rest) {
            let _ = kf.unlock_with_kek("fuzz", &[7; 32]);
        }
    } else {
        let _ = parse_key_payload("fuzz", rest);
    }
});
