//! Snapshot metadata beyond files, modes and times: hard links, extended
//! attributes, and the tree format versions that carry them (old
//! version-1 trees must keep restoring; a version-1 repository keeps
//! getting version-1 trees until it is migrated).

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::*;
use makonis_embassy::format::{self, BlobType};
use makonis_embassy::id::Id;
use makonis_embassy::ops::{self, BackupOptions, CheckOptions, DiffKind, RestoreOptions};
use makonis_embassy::packer::PackSink;
use makonis_embassy::progress::CountingProgress;
use makonis_embassy::tree::{Node, NodeKind, Tree, Xattr};
use makonis_embassy::{Error, InitOptions, NoProgress, Repository, Snapshot};

const ATTR: &str = "user.makonis.test";

fn set_xattr(p: &Path, name: &str, value: &[u8]) -> std::io::Result<()> {
    rustix::fs::lsetxattr(p, name, value, rustix::fs::XattrFlags::empty()).map_err(Into::into)
}

fn get_xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 65536];
    let n = rustix::fs::lgetxattr(p, name, &mut buf[..]).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// A scratch directory on a file system that takes `user.*` attributes:
/// the system temp dir, else /var/tmp, else cargo's target tmp dir. `None`
/// (with the reason printed) when none does.
fn scratch() -> (tempfile::TempDir, bool) {
    let candidates = [
        std::env::temp_dir(),
        PathBuf::from("/var/tmp"),
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
    ];
    let mut reasons = Vec::new();
    for dir in &candidates {
        let Ok(t) = tempfile::tempdir_in(dir) else {
            continue;
        };
        let probe = t.path().join("probe");
        fs::write(&probe, b"").unwrap();
        match set_xattr(&probe, ATTR, b"probe") {
            Ok(()) => {
                fs::remove_file(&probe).unwrap();
                return (t, true);
            }
            Err(e) => reasons.push(format!("{}: {e}", dir.display())),
        }
    }
    eprintln!(
        "user extended attributes unsupported here ({}); testing hard links only",
        reasons.join("; ")
    );
    (tempfile::tempdir().unwrap(), false)
}

fn backup(repo: &Repository, src: &Path) -> ops::BackupResult {
    let r = ops::backup(
        repo,
        &[src.to_path_buf()],
        &BackupOptions::default(),
        &NoProgress,
    )
    .unwrap();
    assert!(r.summary.errors.is_empty(), "{:?}", r.summary.errors);
    r
}

fn restore(
    repo: &Repository,
    snap: &Snapshot,
    target: &Path,
    sub: Option<&str>,
) -> ops::RestoreSummary {
    let r = ops::restore(
        repo,
        snap,
        &RestoreOptions {
            target: target.to_path_buf(),
            subpath: sub.map(str::to_string),
            threads: 2,
        },
        &NoProgress,
    )
    .unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r
}

/// `src/data/a`, `src/data/b` and `src/other/c` are one inode (100 kB),
/// `src/plain.txt` a file of its own; with xattr support `plain.txt`, the
/// linked inode and the directory `other` carry attributes.
fn make_linked_tree(src: &Path, xattrs: bool) -> (Vec<u8>, Vec<u8>) {
    fs::create_dir_all(src.join("data")).unwrap();
    fs::create_dir_all(src.join("other")).unwrap();
    let linked = pseudo(100_000, 11);
    let plain = text(20_000, 12);
    fs::write(src.join("data/a"), &linked).unwrap();
    fs::hard_link(src.join("data/a"), src.join("data/b")).unwrap();
    fs::hard_link(src.join("data/a"), src.join("other/c")).unwrap();
    fs::write(src.join("plain.txt"), &plain).unwrap();
    if xattrs {
        set_xattr(&src.join("plain.txt"), ATTR, b"on a file").unwrap();
        set_xattr(&src.join("plain.txt"), "user.binary", &[0, 1, 2, 255]).unwrap();
        set_xattr(&src.join("other"), ATTR, b"on a directory").unwrap();
        set_xattr(&src.join("data/a"), ATTR, b"on the linked inode").unwrap();
    }
    (linked, plain)
}

#[test]
fn hard_links_and_xattrs_survive_backup_and_restore() {
    let (t, xattrs) = scratch();
    let src = t.path().join("src");
    let (linked, plain) = make_linked_tree(&src, xattrs);
    assert_eq!(fs::metadata(src.join("data/a")).unwrap().nlink(), 3);
    let repo = init_repo(&t.path().join("repo"));
    let r = backup(&repo, &src);
    assert!(r.summary.warnings.is_empty(), "{:?}", r.summary.warnings);
    assert_eq!(r.summary.files_new, 4);
    // The linked inode is read once, not three times.
    assert_eq!(r.summary.bytes_read, (linked.len() + plain.len()) as u64);
    assert_eq!(
        r.summary.total_bytes,
        (3 * linked.len() + plain.len()) as u64
    );

    // Full restore: one inode at three paths, content and attributes equal.
    let out = t.path().join("out");
    let rs = restore(&repo, &r.snapshot, &out, None);
    assert!(rs.warnings.is_empty(), "{:?}", rs.warnings);
    assert_eq!((rs.files, rs.hardlinks), (4, 2));
    assert_eq!(rs.bytes, (linked.len() + plain.len()) as u64);
    let o = out.join("src");
    let ma = fs::metadata(o.join("data/a")).unwrap();
    let mb = fs::metadata(o.join("data/b")).unwrap();
    let mc = fs::metadata(o.join("other/c")).unwrap();
    assert_eq!(ma.ino(), mb.ino());
    assert_eq!(ma.ino(), mc.ino());
    assert_eq!(ma.nlink(), 3);
    let mp = fs::metadata(o.join("plain.txt")).unwrap();
    assert_ne!(mp.ino(), ma.ino());
    assert_eq!(mp.nlink(), 1);
    for p in ["data/a", "data/b", "other/c"] {
        assert!(fs::read(o.join(p)).unwrap() == linked, "content of {p}");
    }
    assert!(fs::read(o.join("plain.txt")).unwrap() == plain);
    // Modes and mtimes (the linked inode's too) as in the source.
    assert_same_tree(&src, &o);
    if xattrs {
        assert_eq!(get_xattr(&o.join("plain.txt"), ATTR).unwrap(), b"on a file");
        assert_eq!(
            get_xattr(&o.join("plain.txt"), "user.binary").unwrap(),
            [0, 1, 2, 255]
        );
        assert_eq!(
            get_xattr(&o.join("other"), ATTR).unwrap(),
            b"on a directory"
        );
        assert_eq!(
            get_xattr(&o.join("other/c"), ATTR).unwrap(),
            b"on the linked inode"
        );
        assert_eq!(get_xattr(&o.join("data"), ATTR), None);
    }
    check_ok(&repo);

    // Partial restore of one linked path: a regular file with the content.
    let part = t.path().join("part");
    let rs = restore(&repo, &r.snapshot, &part, Some("src/other/c"));
    assert_eq!((rs.files, rs.hardlinks), (1, 0));
    let m = fs::metadata(part.join("c")).unwrap();
    assert!(m.is_file());
    assert_eq!(m.nlink(), 1);
    assert!(fs::read(part.join("c")).unwrap() == linked);
    if xattrs {
        assert_eq!(
            get_xattr(&part.join("c"), ATTR).unwrap(),
            b"on the linked inode"
        );
    }
    // Partial restore of a directory holding two of the three paths: those
    // two are linked to each other.
    let part2 = t.path().join("part2");
    let rs = restore(&repo, &r.snapshot, &part2, Some("src/data"));
    assert_eq!((rs.files, rs.hardlinks), (2, 1));
    let (ma, mb) = (
        fs::metadata(part2.join("data/a")).unwrap(),
        fs::metadata(part2.join("data/b")).unwrap(),
    );
    assert_eq!(ma.ino(), mb.ino());
    assert_eq!(ma.nlink(), 2);

    // Restoring again over the first restore keeps the links intact.
    let rs = restore(&repo, &r.snapshot, &out, None);
    assert_eq!(rs.hardlinks, 2);
    assert_eq!(fs::metadata(o.join("data/a")).unwrap().nlink(), 3);
    assert!(fs::read(o.join("data/b")).unwrap() == linked);

    // An unchanged second backup reads nothing; an xattr change shows in diff.
    let second = backup(&repo, &src);
    assert_eq!(second.summary.bytes_read, 0);
    assert_eq!(second.snapshot.tree, r.snapshot.tree);
    if xattrs {
        set_xattr(&src.join("plain.txt"), ATTR, b"changed").unwrap();
        set_xattr(&src.join("other"), "user.added", b"new").unwrap();
        let third = backup(&repo, &src);
        assert_eq!(third.summary.bytes_read, 0, "content did not change");
        let d = ops::diff(&repo, &r.snapshot, &third.snapshot).unwrap();
        let mut got: Vec<(String, DiffKind)> = d.into_iter().map(|e| (e.path, e.kind)).collect();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            got,
            vec![
                ("src/other/".to_string(), DiffKind::Metadata),
                ("src/plain.txt".to_string(), DiffKind::Metadata),
            ]
        );
        let out3 = t.path().join("out3");
        restore(&repo, &third.snapshot, &out3, None);
        assert_eq!(
            get_xattr(&out3.join("src/plain.txt"), ATTR).unwrap(),
            b"changed"
        );
        assert_eq!(
            get_xattr(&out3.join("src/other"), "user.added").unwrap(),
            b"new"
        );
    }
}

fn check_ok(repo: &Repository) {
    let r = ops::check(repo, &CheckOptions { read_data: true }, &NoProgress).unwrap();
    assert!(r.is_ok(), "check problems: {:?}", r.problems);
}

/// Store one blob in its own pack (and index file).
fn store(repo: &Repository, t: BlobType, plain: &[u8]) -> Id {
    let id = repo.key().blob_id(plain);
    let sealed = format::encode_blob(repo.key(), t, &id, plain, 3).unwrap();
    let mut sink = PackSink::new(repo, 1);
    sink.add(t, id, &sealed, plain.len() as u32).unwrap();
    sink.finish().unwrap();
    id
}

fn snapshot_of(repo: &Repository, tree: Id) -> Snapshot {
    let mut s = Snapshot::new(tree, vec!["/fixture".into()]);
    s.id = repo.save_snapshot(&s).unwrap();
    s
}

/// The version-1 tree layout, as the previous release declared it: an
/// independent copy, so the fixture does not depend on the code under test.
mod v1 {
    use makonis_embassy::id::Id;
    use serde::Serialize;

    #[derive(Serialize)]
    pub enum Kind {
        File { size: u64, content: Vec<Id> },
        Dir { subtree: Id },
        Symlink { target: Vec<u8> },
    }

    #[derive(Serialize)]
    pub struct Node {
        pub name: Vec<u8>,
        pub kind: Kind,
        pub mode: u32,
        pub uid: u32,
        pub gid: u32,
        pub mtime_ns: i64,
        pub inode: u64,
        pub dev: u64,
    }

    #[derive(Serialize)]
    pub struct Tree {
        pub nodes: Vec<Node>,
    }

    pub fn node(name: &str, kind: Kind, mode: u32, mtime_ns: i64) -> Node {
        Node {
            name: name.as_bytes().to_vec(),
            kind,
            mode,
            uid: 0,
            gid: 0,
            mtime_ns,
            inode: 1234,
            dev: 5,
        }
    }
}

#[test]
fn snapshots_with_version_1_trees_still_restore() {
    let t = tempfile::tempdir().unwrap();
    let repo = init_repo(&t.path().join("repo"));
    // Below the minimum chunk size: one chunk, as a new backup would cut it.
    let content = text(3_000, 21);
    let chunk = store(&repo, BlobType::Data, &content);
    let mtime = 1_500_000_000_250_000_000i64;
    let sub = v1::Tree {
        nodes: vec![
            v1::node(
                "file.txt",
                v1::Kind::File {
                    size: content.len() as u64,
                    content: vec![chunk],
                },
                0o640,
                mtime,
            ),
            v1::node(
                "link",
                v1::Kind::Symlink {
                    target: b"file.txt".to_vec(),
                },
                0o777,
                mtime,
            ),
        ],
    };
    let sub_bytes = postcard::to_allocvec(&sub).unwrap();
    assert_eq!(Tree::version_of(&sub_bytes), 1);
    let sub_id = store(&repo, BlobType::Tree, &sub_bytes);
    let root = v1::Tree {
        nodes: vec![v1::node(
            "old",
            v1::Kind::Dir { subtree: sub_id },
            0o750,
            mtime,
        )],
    };
    let root_id = store(
        &repo,
        BlobType::Tree,
        &postcard::to_allocvec(&root).unwrap(),
    );
    let snap = snapshot_of(&repo, root_id);

    let decoded = repo
        .load_tree(&repo.load_index().unwrap(), &sub_id)
        .unwrap();
    assert_eq!(decoded.nodes[0].nlink, 0);
    assert!(decoded.nodes[0].xattrs.is_empty());

    let out = t.path().join("out");
    let rs = restore(&repo, &snap, &out, None);
    assert_eq!((rs.files, rs.dirs, rs.symlinks), (1, 1, 1));
    let f = out.join("old/file.txt");
    assert!(fs::read(&f).unwrap() == content);
    let m = fs::metadata(&f).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o640);
    assert_eq!((m.mtime(), m.mtime_nsec()), (1_500_000_000, 250_000_000));
    assert_eq!(
        fs::metadata(out.join("old")).unwrap().mode() & 0o7777,
        0o750
    );
    assert_eq!(
        fs::read_link(out.join("old/link")).unwrap(),
        Path::new("file.txt")
    );
    check_ok(&repo);

    // A new backup of the restored data next to it: diff walks both versions.
    let src = out.join("old");
    let new = backup(&repo, &src);
    assert_eq!(
        Tree::version_of(&read_tree_bytes(&repo, &new.snapshot.tree)),
        2
    );
    // Only the symlink differs: its mtime is not restored.
    let d = ops::diff(&repo, &snap, &new.snapshot).unwrap();
    let got: Vec<(&str, DiffKind)> = d.iter().map(|e| (e.path.as_str(), e.kind)).collect();
    assert_eq!(got, vec![("old/link", DiffKind::Metadata)]);
}

fn read_tree_bytes(repo: &Repository, id: &Id) -> Vec<u8> {
    repo.read_blob(&repo.load_index().unwrap(), BlobType::Tree, id)
        .unwrap()
}

#[test]
fn a_format_1_repository_keeps_version_1_trees_until_migrated() {
    let (t, xattrs) = scratch();
    let src = t.path().join("src");
    let (linked, _) = make_linked_tree(&src, xattrs);
    let dir = t.path().join("repo");
    let mut repo = Repository::init(
        backend(&dir),
        PW,
        InitOptions {
            format_version: 1,
            ..small_opts()
        },
    )
    .unwrap();
    assert_eq!(
        fs::read(dir.join("config")).unwrap()[8..12],
        1u32.to_le_bytes()
    );
    let prog = CountingProgress::default();
    let old = ops::backup(
        &repo,
        std::slice::from_ref(&src),
        &BackupOptions::default(),
        &prog,
    )
    .unwrap();
    assert!(old.summary.errors.is_empty(), "{:?}", old.summary.errors);
    // Version-1 trees only, and a warning that says what was lost.
    assert_eq!(
        Tree::version_of(&read_tree_bytes(&repo, &old.snapshot.tree)),
        1
    );
    // a, b, c (linked); with attributes also plain.txt and other/.
    let lost = if xattrs { 5 } else { 3 };
    assert_eq!(old.summary.warnings.len(), 1, "{:?}", old.summary.warnings);
    let w = &old.summary.warnings[0].1;
    assert!(
        w.contains(&format!("{lost} entries")) && w.contains("makonis embassy migrate"),
        "{w}"
    );
    assert_eq!(prog.warnings.load(std::sync::atomic::Ordering::Relaxed), 1);
    let out = t.path().join("out1");
    let rs = restore(&repo, &old.snapshot, &out, None);
    assert_eq!(rs.hardlinks, 0);
    let o = out.join("src");
    assert_ne!(
        fs::metadata(o.join("data/a")).unwrap().ino(),
        fs::metadata(o.join("data/b")).unwrap().ino()
    );
    assert!(fs::read(o.join("other/c")).unwrap() == linked);

    // Copying newer trees into it is refused before anything is sent.
    let newer = init_repo(&t.path().join("newer"));
    let n = backup(&newer, &src);
    let e = ops::copy(
        &newer,
        &repo,
        std::slice::from_ref(&n.snapshot),
        &NoProgress,
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(e.to_string().contains("makonis embassy migrate"), "{e}");
    assert!(e.to_string().contains("format version 1"), "{e}");
    assert_eq!(repo.list_snapshots().unwrap().len(), 1);

    // Migrate: config says 2, old snapshots restore, new ones keep links.
    assert_eq!(repo.migrate(std::time::Duration::ZERO).unwrap(), 1);
    assert_eq!(repo.format_version(), 2);
    assert_eq!(
        fs::read(dir.join("config")).unwrap()[8..12],
        2u32.to_le_bytes()
    );
    let repo = open_repo(&dir);
    assert_eq!(repo.format_version(), 2);
    let mut again = repo.clone();
    assert_eq!(again.migrate(std::time::Duration::ZERO).unwrap(), 2);
    let new = backup(&repo, &src);
    assert!(
        new.summary.warnings.is_empty(),
        "{:?}",
        new.summary.warnings
    );
    assert_eq!(
        Tree::version_of(&read_tree_bytes(&repo, &new.snapshot.tree)),
        2
    );
    let out2 = t.path().join("out2");
    let rs = restore(&repo, &new.snapshot, &out2, None);
    assert_eq!(rs.hardlinks, 2);
    assert_eq!(fs::metadata(out2.join("src/other/c")).unwrap().nlink(), 3);
    let out3 = t.path().join("out3");
    restore(&repo, &old.snapshot, &out3, None);
    assert!(fs::read(out3.join("src/data/b")).unwrap() == linked);
    ops::copy(
        &newer,
        &repo,
        std::slice::from_ref(&n.snapshot),
        &NoProgress,
    )
    .unwrap();
    check_ok(&repo);
}

fn node(name: &str, kind: NodeKind) -> Node {
    Node {
        name: name.as_bytes().to_vec(),
        kind,
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime_ns: 1_700_000_000_000_000_000,
        inode: 99,
        dev: 3,
        nlink: 0,
        xattrs: Vec::new(),
    }
}

#[test]
fn restore_is_best_effort_for_attributes_and_careful_with_links() {
    let (t, xattrs) = scratch();
    let repo = init_repo(&t.path().join("repo"));
    let one = b"first file".to_vec();
    let two = b"another file with the same inode number".to_vec();
    let (c1, c2) = (
        store(&repo, BlobType::Data, &one),
        store(&repo, BlobType::Data, &two),
    );
    let file = |name: &str, data: &[u8], id: Id| {
        let mut n = node(
            name,
            NodeKind::File {
                size: data.len() as u64,
                content: vec![id],
            },
        );
        n.nlink = 2;
        n
    };
    // Same (dev, inode) but different content: the inode number was reused
    // while the backup ran. Restoring them as links would be wrong.
    let a = file("a", &one, c1);
    let mut b = file("b", &two, c2);
    // An attribute no one can set (unknown namespace) and a valid one.
    b.xattrs = vec![
        Xattr {
            name: b"makonis.bogus".to_vec(),
            value: b"x".to_vec(),
        },
        Xattr {
            name: ATTR.as_bytes().to_vec(),
            value: b"kept".to_vec(),
        },
    ];
    let tree = Tree { nodes: vec![a, b] };
    let root = store(&repo, BlobType::Tree, &tree.encode());
    let snap = snapshot_of(&repo, root);
    let out = t.path().join("out");
    let rs = restore(&repo, &snap, &out, None);
    assert_eq!((rs.files, rs.hardlinks), (2, 0));
    assert!(fs::read(out.join("a")).unwrap() == one);
    assert!(fs::read(out.join("b")).unwrap() == two);
    assert_ne!(
        fs::metadata(out.join("a")).unwrap().ino(),
        fs::metadata(out.join("b")).unwrap().ino()
    );
    let bogus: Vec<_> = rs
        .warnings
        .iter()
        .filter(|(p, w)| p.ends_with("/b") && w.contains("makonis.bogus"))
        .collect();
    assert_eq!(bogus.len(), 1, "{:?}", rs.warnings);
    if xattrs {
        assert_eq!(rs.warnings.len(), 1, "{:?}", rs.warnings);
        assert_eq!(get_xattr(&out.join("b"), ATTR).unwrap(), b"kept");
    }
    // Mode and mtime are applied after the failed attribute.
    let m = fs::metadata(out.join("b")).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o644);
    assert_eq!(m.mtime(), 1_700_000_000);
}

/// A POSIX ACL in the kernel's xattr encoding: version 2, then
/// (tag u16, perm u16, id u32) entries sorted by tag and id.
fn acl(entries: &[(u16, u16, u32)]) -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in entries {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&perm.to_le_bytes());
        v.extend_from_slice(&id.to_le_bytes());
    }
    v
}

#[test]
fn posix_acls_are_backed_up_and_restored() {
    const USER_OBJ: u16 = 0x01;
    const USER: u16 = 0x02;
    const GROUP_OBJ: u16 = 0x04;
    const MASK: u16 = 0x10;
    const OTHER: u16 = 0x20;
    const NONE: u32 = u32::MAX;
    let (t, _) = scratch();
    let src = t.path().join("src");
    fs::create_dir_all(src.join("shared")).unwrap();
    let f = src.join("shared/report.txt");
    fs::write(&f, b"acl test").unwrap();
    let access = acl(&[
        (USER_OBJ, 6, NONE),
        (USER, 4, 1234),
        (GROUP_OBJ, 4, NONE),
        (MASK, 4, NONE),
        (OTHER, 0, NONE),
    ]);
    let default = acl(&[
        (USER_OBJ, 7, NONE),
        (USER, 5, 1234),
        (GROUP_OBJ, 5, NONE),
        (MASK, 5, NONE),
        (OTHER, 0, NONE),
    ]);
    if let Err(e) = set_xattr(&f, "system.posix_acl_access", &access)
        .and_then(|()| set_xattr(&src.join("shared"), "system.posix_acl_default", &default))
    {
        eprintln!("POSIX ACLs unsupported here ({e}); skipping");
        return;
    }
    let want_access = get_xattr(&f, "system.posix_acl_access").unwrap();
    let want_default = get_xattr(&src.join("shared"), "system.posix_acl_default").unwrap();
    assert_eq!(fs::metadata(&f).unwrap().mode() & 0o777, 0o640);

    let repo = init_repo(&t.path().join("repo"));
    let r = backup(&repo, &src);
    assert!(r.summary.warnings.is_empty(), "{:?}", r.summary.warnings);
    let out = t.path().join("out");
    let rs = restore(&repo, &r.snapshot, &out, None);
    assert!(rs.warnings.is_empty(), "{:?}", rs.warnings);
    let rf = out.join("src/shared/report.txt");
    assert_eq!(
        get_xattr(&rf, "system.posix_acl_access").unwrap(),
        want_access
    );
    assert_eq!(
        get_xattr(&out.join("src/shared"), "system.posix_acl_default").unwrap(),
        want_default
    );
    // The mode (its group bits are the ACL mask) survives the ACL.
    assert_eq!(fs::metadata(&rf).unwrap().mode() & 0o777, 0o640);
    assert_same_tree(&src, &out.join("src"));
}

#[test]
fn hard_linked_symlinks_stay_linked() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    fs::create_dir_all(&src).unwrap();
    std::os::unix::fs::symlink("../somewhere", src.join("s1")).unwrap();
    // linkat without AT_SYMLINK_FOLLOW: a second name for the symlink itself.
    fs::hard_link(src.join("s1"), src.join("s2")).unwrap();
    assert_eq!(fs::symlink_metadata(src.join("s2")).unwrap().nlink(), 2);
    let repo = init_repo(&t.path().join("repo"));
    let r = backup(&repo, &src);
    let out = t.path().join("out");
    let rs = restore(&repo, &r.snapshot, &out, None);
    assert_eq!((rs.symlinks, rs.hardlinks), (2, 1));
    let (m1, m2) = (
        fs::symlink_metadata(out.join("src/s1")).unwrap(),
        fs::symlink_metadata(out.join("src/s2")).unwrap(),
    );
    assert!(m2.file_type().is_symlink());
    assert_eq!(m1.ino(), m2.ino());
    assert_eq!(m1.nlink(), 2);
    assert_eq!(
        fs::read_link(out.join("src/s2")).unwrap(),
        Path::new("../somewhere")
    );
}
