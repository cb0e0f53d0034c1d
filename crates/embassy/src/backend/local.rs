//! Local filesystem backend. Writes go to a uniquely named temporary file in
//! the destination directory, are fsynced, then renamed into place and the
//! directory fsynced: a crash leaves either the old state or the complete
//! file, never a torn one. Temporary files start with `.tmp-` and are
//! invisible to `list`.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use super::{Backend, FileInfo, FileType};
use crate::error::{Error, Result};

const TMP_PREFIX: &str = ".tmp-";

/// Process-wide, so several backends on one directory in one process
/// (two concurrent backups) never pick the same temporary name.
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// A repository in a local directory.
#[derive(Debug)]
pub struct LocalBackend {
    root: PathBuf,
    /// Skip fsync (tests and benchmarks on throwaway data only).
    sync: bool,
}

impl LocalBackend {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalBackend {
            root: root.into(),
            sync: true,
        }
    }

    /// Disable fsync. Crash safety against power loss is gone; crash safety
    /// against a killed process is kept (rename is still atomic).
    pub fn without_fsync(mut self) -> Self {
        self.sync = false;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn full(&self, t: FileType, name: &str) -> PathBuf {
        self.root.join(t.path(name))
    }

    fn dirs(&self, t: FileType) -> Vec<PathBuf> {
        match t {
            FileType::Config => vec![self.root.clone()],
            FileType::Pack => (0..=255u8)
                .map(|i| self.root.join("data").join(format!("{i:02x}")))
                .collect(),
            t => vec![self.root.join(t.dir())],
        }
    }
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Backend for LocalBackend {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn create(&self) -> Result<()> {
        for t in FileType::ALL {
            for d in self.dirs(t) {
                fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
            }
        }
        Ok(())
    }

    fn list(&self, t: FileType) -> Result<Vec<FileInfo>> {
        let mut out = Vec::new();
        for d in self.dirs(t) {
            let rd = match fs::read_dir(&d) {
                Ok(rd) => rd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::io(&d, e)),
            };
            for ent in rd {
                let ent = ent.map_err(|e| Error::io(&d, e))?;
                let name = ent.file_name().to_string_lossy().into_owned();
                if name.starts_with(TMP_PREFIX) {
                    continue;
                }
                if t == FileType::Config && name != "config" {
                    continue;
                }
                let md = match ent.metadata() {
                    Ok(m) => m,
                    // Deleted between readdir and stat by a concurrent prune.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(Error::io(ent.path(), e)),
                };
                if md.is_file() {
                    out.push(FileInfo {
                        name,
                        size: md.len(),
                    });
                }
            }
        }
        Ok(out)
    }

    fn read(&self, t: FileType, name: &str) -> Result<Vec<u8>> {
        let p = self.full(t, name);
        fs::read(&p).map_err(|e| not_found_or(e, t, name, &p))
    }

    fn read_range(&self, t: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let p = self.full(t, name);
        let mut f = File::open(&p).map_err(|e| not_found_or(e, t, name, &p))?;
        let size = f.metadata().map_err(|e| Error::io(&p, e))?.len();
        if offset.checked_add(len).is_none_or(|end| end > size) {
            return Err(Error::corrupt(
                kind_name(t),
                name,
                format!("range {offset}+{len} beyond end of file ({size} bytes); truncated?"),
            ));
        }
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io(&p, e))?;
        let mut buf = vec![0u8; len as usize];
        f.read_exact(&mut buf).map_err(|e| Error::io(&p, e))?;
        Ok(buf)
    }

    fn write(&self, t: FileType, name: &str, data: &[u8]) -> Result<()> {
        let dest = self.full(t, name);
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        let tmp = dir.join(format!(
            "{TMP_PREFIX}{}-{}-{name}",
            std::process::id(),
            TMP_SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let res = (|| -> std::io::Result<()> {
            let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            f.write_all(data)?;
            if self.sync {
                f.sync_all()?;
            }
            drop(f);
            fs::rename(&tmp, &dest)?;
            if self.sync {
                sync_dir(&dir)?;
            }
            Ok(())
        })();
        if let Err(e) = res {
            let _ = fs::remove_file(&tmp);
            return Err(Error::io(&dest, e));
        }
        Ok(())
    }

    fn delete(&self, t: FileType, name: &str) -> Result<()> {
        let p = self.full(t, name);
        match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&p, e)),
        }
    }

    fn exists(&self, t: FileType, name: &str) -> Result<bool> {
        let p = self.full(t, name);
        match fs::metadata(&p) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(&p, e)),
        }
    }

    fn size(&self, t: FileType, name: &str) -> Result<u64> {
        let p = self.full(t, name);
        fs::metadata(&p)
            .map(|m| m.len())
            .map_err(|e| not_found_or(e, t, name, &p))
    }

    fn create_spool(&self) -> Result<Option<super::Spool>> {
        let dir = self.root.join("data");
        let path = dir.join(format!(
            "{TMP_PREFIX}pack-{}-{}",
            std::process::id(),
            TMP_SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(Some(super::Spool { file, path }))
    }

    fn commit_spool(&self, spool: super::Spool, name: &str) -> Result<()> {
        let dest = self.full(FileType::Pack, name);
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        let res = (|| -> std::io::Result<()> {
            if self.sync {
                spool.file.sync_all()?;
            }
            drop(spool.file);
            fs::rename(&spool.path, &dest)?;
            if self.sync {
                sync_dir(&dir)?;
            }
            Ok(())
        })();
        if let Err(e) = res {
            let _ = fs::remove_file(&spool.path);
            return Err(Error::io(&dest, e));
        }
        Ok(())
    }

    /// One writer keeps up with a local disk (a pack is 16 MiB written
    /// sequentially) and keeps memory low; reads still use all CPUs.
    fn concurrency(&self) -> usize {
        1
    }

    fn cleanup_temp(&self, age: Duration) -> Result<usize> {
        let mut n = 0;
        // Spool files live directly in data/.
        let spool_dir = vec![self.root.join("data")];
        for t in FileType::ALL {
            for d in self.dirs(t).into_iter().chain(if t == FileType::Pack {
                spool_dir.clone()
            } else {
                Vec::new()
            }) {
                let Ok(rd) = fs::read_dir(&d) else { continue };
                for ent in rd.flatten() {
                    let name = ent.file_name();
                    if !name.to_string_lossy().starts_with(TMP_PREFIX) {
                        continue;
                    }
                    let old = ent
                        .metadata()
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|m| SystemTime::now().duration_since(m).ok())
                        .is_some_and(|a| a >= age);
                    if old && fs::remove_file(ent.path()).is_ok() {
                        n += 1;
                    }
                }
            }
        }
        Ok(n)
    }
}

pub(crate) fn kind_name(t: FileType) -> &'static str {
    match t {
        FileType::Config => "config",
        FileType::Key => "key file",
        FileType::Pack => "pack",
        FileType::Index => "index",
        FileType::Snapshot => "snapshot",
        FileType::Lock => "lock",
    }
}

fn not_found_or(e: std::io::Error, t: FileType, name: &str, p: &Path) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        Error::Missing {
            kind: kind_name(t),
            id: name.to_string(),
        }
    } else {
        Error::io(p, e)
    }
}
