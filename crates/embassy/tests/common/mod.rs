//! Shared helpers for the integration tests: small repositories, source
//! trees with every node type, and a full comparison of restored trees.
#![allow(dead_code)]

pub mod moto;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use makonis_embassy::chunker::ChunkerParams;
use makonis_embassy::{InitOptions, KdfParams, LocalBackend, Repository};

pub const PW: &str = "correct horse battery staple";

/// Small chunks and packs so tests exercise many of both with little data.
pub fn small_opts() -> InitOptions {
    InitOptions {
        kdf: KdfParams::insecure_fast(),
        chunker: ChunkerParams {
            min: 4 * 1024,
            avg: 16 * 1024,
            max: 64 * 1024,
        },
        pack_size: 128 * 1024,
        zstd_level: 3,
        share_ids_with: None,
        format_version: makonis_embassy::format::FORMAT_VERSION,
    }
}

pub fn backend(dir: &Path) -> Arc<LocalBackend> {
    Arc::new(LocalBackend::new(dir).without_fsync())
}

pub fn init_repo(dir: &Path) -> Repository {
    Repository::init(backend(dir), PW, small_opts()).unwrap()
}

pub fn open_repo(dir: &Path) -> Repository {
    Repository::open(backend(dir), PW).unwrap()
}

/// Deterministic pseudo-random bytes (xorshift).
pub fn pseudo(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub fn text(n: usize, seed: u64) -> Vec<u8> {
    let words = [
        "embassy",
        "latvija",
        "mākonis",
        "backup",
        "pack",
        "index",
        "chunk",
        "rīga\n",
        "fn main() {}\n",
    ];
    let r = pseudo(n / 4 + 1, seed);
    let mut out = Vec::with_capacity(n + 16);
    for b in r {
        out.extend_from_slice(words[b as usize % words.len()].as_bytes());
        out.push(b' ');
        if out.len() >= n {
            break;
        }
    }
    out.truncate(n);
    out
}

/// A source tree with text, random, empty and duplicate files, nested
/// directories, a symlink and unusual permissions.
pub fn make_tree(root: &Path) {
    fs::create_dir_all(root.join("src/deep/er")).unwrap();
    fs::create_dir_all(root.join("media")).unwrap();
    fs::create_dir_all(root.join("empty-dir")).unwrap();
    fs::write(root.join("src/main.rs"), text(50_000, 1)).unwrap();
    fs::write(root.join("src/deep/er/notes.txt"), text(3_000, 2)).unwrap();
    fs::write(root.join("media/photo.jpg"), pseudo(300_000, 3)).unwrap();
    fs::write(root.join("media/copy-of-photo.jpg"), pseudo(300_000, 3)).unwrap();
    fs::write(root.join("db.sql"), text(400_000, 4)).unwrap();
    fs::write(root.join("empty"), b"").unwrap();
    fs::write(root.join("nīks ünicode.txt"), b"sveiki").unwrap();
    std::os::unix::fs::symlink("src/main.rs", root.join("link-to-main")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/target", root.join("dangling")).unwrap();
    fs::set_permissions(root.join("db.sql"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::set_permissions(root.join("src/deep"), fs::Permissions::from_mode(0o750)).unwrap();
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000);
    fs::File::options()
        .write(true)
        .open(root.join("src/main.rs"))
        .unwrap()
        .set_modified(old)
        .unwrap();
}

/// Assert two trees are equal in content, type, permissions and mtimes.
pub fn assert_same_tree(a: &Path, b: &Path) {
    let mut names_a: Vec<_> = fs::read_dir(a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let mut names_b: Vec<_> = fs::read_dir(b)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names_a.sort();
    names_b.sort();
    assert_eq!(
        names_a,
        names_b,
        "entries differ in {} vs {}",
        a.display(),
        b.display()
    );
    for n in names_a {
        let (pa, pb) = (a.join(&n), b.join(&n));
        let (ma, mb) = (
            fs::symlink_metadata(&pa).unwrap(),
            fs::symlink_metadata(&pb).unwrap(),
        );
        assert_eq!(ma.file_type(), mb.file_type(), "type of {}", pa.display());
        if ma.file_type().is_symlink() {
            assert_eq!(fs::read_link(&pa).unwrap(), fs::read_link(&pb).unwrap());
            continue;
        }
        assert_eq!(
            ma.mode() & 0o7777,
            mb.mode() & 0o7777,
            "mode of {}",
            pa.display()
        );
        assert_eq!(ma.mtime(), mb.mtime(), "mtime of {}", pa.display());
        assert_eq!(
            ma.mtime_nsec(),
            mb.mtime_nsec(),
            "mtime ns of {}",
            pa.display()
        );
        if ma.is_dir() {
            assert_same_tree(&pa, &pb);
        } else {
            assert!(
                fs::read(&pa).unwrap() == fs::read(&pb).unwrap(),
                "content of {}",
                pa.display()
            );
        }
    }
}

/// Total bytes of all files under a directory.
pub fn dir_size(p: &Path) -> u64 {
    let mut n = 0;
    for e in fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        n += if m.is_dir() {
            dir_size(&e.path())
        } else {
            m.len()
        };
    }
    n
}

/// Every pack file of a local repository.
pub fn pack_files(repo: &Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for d in fs::read_dir(repo.join("data")).unwrap() {
        for f in fs::read_dir(d.unwrap().path()).unwrap() {
            let p = f.unwrap().path();
            if !p.file_name().unwrap().to_string_lossy().starts_with('.') {
                v.push(p);
            }
        }
    }
    v.sort();
    v
}
