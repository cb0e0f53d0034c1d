#![no_main]
//! `config` reader on arbitrary bytes.
//!
//! The whole input goes to the plaintext version gate and the decoder. Then
//! the input (after a version byte) is sealed with a fixed key as the body
//! of a config, so mutations reach the JSON parser; settings that decode
//! are used the way a backup uses them (chunker over a small buffer).
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use makonis_embassy::chunker::Chunker;
use makonis_embassy::crypto::MasterKey;
use makonis_embassy::format::{CONFIG_MAGIC, config_version, decode_config};

fn key() -> &'static MasterKey {
    static KEY: OnceLock<MasterKey> = OnceLock::new();
    KEY.get_or_init(|| MasterKey::generate().expect("key"))
}

static SAMPLE: [u8; 8192] = {
    let mut s = [0u8; 8192];
    let mut i = 0;
    let mut x: u32 = 1;
    while i < s.len() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s[i] = x as u8;
        i += 1;
    }
    s
};

fuzz_target!(|data: &[u8]| {
    let _ = config_version(data);
    let _ = decode_config(key(), data);
    let Some((&v, body)) = data.split_first() else {
        return;
    };
    let mut cfg = CONFIG_MAGIC.to_vec();
    cfg.extend_from_slice(&u32::from(v % 4).to_le_bytes());
    let sealed = key().seal(&cfg, body).expect("seal");
    cfg.extend_from_slice(&sealed);
    let Ok(Some(c)) = decode_config(key(), &cfg) else {
        return;
    };
    let mut ch = Chunker::new(&SAMPLE[..], c.chunker_params(), key().chunker_seed());
    let mut total = 0;
    while let Ok(Some(chunk)) = ch.next_chunk() {
        assert!(!chunk.is_empty());
        total += chunk.len();
    }
    assert_eq!(total, SAMPLE.len());
});
