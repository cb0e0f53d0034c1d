//! Extended attributes (Linux xattrs: `user.*`, `security.*`, `trusted.*`
//! when readable, and POSIX ACLs, which live in `system.posix_acl_access`
//! and `system.posix_acl_default`).
//!
//! Calls go through `rustix` (the crate forbids `unsafe`), never following
//! a symlink in the last path component. Reading is written for a live
//! file system: an attribute that disappears between listing and reading
//! is skipped, one that grows is read again, and a file system without
//! xattr support simply has none. Problems with one attribute are reported
//! per attribute and never stop a backup or restore.

use std::fs::File;
use std::io;
use std::path::Path;

use rustix::fs::XattrFlags;
use rustix::io::Errno;

use crate::tree::Xattr;

/// How often a value or list that keeps changing size is re-read.
const RETRIES: usize = 8;

/// Attributes read, and those that could not be read (name, why).
pub(crate) type ReadXattrs = (Vec<Xattr>, Vec<(String, io::Error)>);

/// Attributes of `path` (not following a final symlink), sorted by name,
/// and the attributes that could not be read, with why. `Err` when the
/// list itself cannot be read; a file system without extended attributes
/// yields an empty list.
pub(crate) fn read(path: &Path) -> io::Result<ReadXattrs> {
    let names = match list(path) {
        Ok(n) => n,
        Err(e) if is_unsupported(e) => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e.into()),
    };
    let mut attrs = Vec::new();
    let mut problems = Vec::new();
    for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        match get(path, name) {
            Ok(Some(value)) => attrs.push(Xattr {
                name: name.to_vec(),
                value,
            }),
            // Removed since it was listed: it is simply not there any more.
            Ok(None) => {}
            Err(e) => problems.push((String::from_utf8_lossy(name).into_owned(), e.into())),
        }
    }
    attrs.sort();
    attrs.dedup_by(|a, b| a.name == b.name);
    Ok((attrs, problems))
}

fn is_unsupported(e: Errno) -> bool {
    e == Errno::NOTSUP || e == Errno::OPNOTSUPP
}

/// The NUL-separated name list.
fn list(path: &Path) -> Result<Vec<u8>, Errno> {
    for _ in 0..RETRIES {
        let n = rustix::fs::llistxattr_query(path)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        // Room for an attribute added in between.
        let mut buf = vec![0u8; n + 256];
        match rustix::fs::llistxattr(path, &mut buf[..]) {
            Ok(len) => {
                buf.truncate(len);
                return Ok(buf);
            }
            Err(Errno::RANGE) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Errno::RANGE)
}

/// One value; `None` when the attribute no longer exists.
fn get(path: &Path, name: &[u8]) -> Result<Option<Vec<u8>>, Errno> {
    for _ in 0..RETRIES {
        let n = match rustix::fs::lgetxattr_query(path, name) {
            Ok(n) => n,
            Err(Errno::NODATA) => return Ok(None),
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(Some(Vec::new()));
        }
        let mut buf = vec![0u8; n + 64];
        match rustix::fs::lgetxattr(path, name, &mut buf[..]) {
            Ok(len) => {
                buf.truncate(len);
                return Ok(Some(buf));
            }
            Err(Errno::NODATA) => return Ok(None),
            Err(Errno::RANGE) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Errno::RANGE)
}

/// Set one attribute on an open file or directory.
pub(crate) fn set_fd(f: &File, x: &Xattr) -> io::Result<()> {
    check_name(x)?;
    rustix::fs::fsetxattr(f, &x.name[..], &x.value, XattrFlags::empty()).map_err(io::Error::from)
}

/// Set one attribute on `path` itself (a symlink is not followed).
pub(crate) fn set_path(path: &Path, x: &Xattr) -> io::Result<()> {
    check_name(x)?;
    rustix::fs::lsetxattr(path, &x.name[..], &x.value, XattrFlags::empty()).map_err(io::Error::from)
}

/// A name from a (possibly damaged) tree: non-empty, no NUL.
fn check_name(x: &Xattr) -> io::Result<()> {
    if x.name.is_empty() || x.name.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "invalid extended attribute name",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_set_and_odd_names() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"x").unwrap();
        let f = File::open(&p).unwrap();
        let x = Xattr {
            name: b"user.makonis.unit".to_vec(),
            value: vec![0, 1, 2, 255],
        };
        if let Err(e) = set_fd(&f, &x) {
            eprintln!("skipping: user xattrs unsupported here: {e}");
            return;
        }
        let (attrs, problems) = read(&p).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert!(attrs.contains(&x), "{attrs:?}");
        let bad = Xattr {
            name: b"user.a\0b".to_vec(),
            value: Vec::new(),
        };
        assert_eq!(
            set_path(&p, &bad).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        // No such namespace: an error, not a panic.
        let bogus = Xattr {
            name: b"makonis.bogus".to_vec(),
            value: b"1".to_vec(),
        };
        assert!(set_path(&p, &bogus).is_err());
        // A missing file is an error of the list.
        assert!(read(&d.path().join("missing")).is_err());
    }
}
