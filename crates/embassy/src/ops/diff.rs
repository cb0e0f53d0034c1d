//! Differences between two snapshots, by walking both trees together and
//! skipping identical subtrees by id. Link counts and inode numbers are not
//! compared (they change when unrelated paths are linked or a file is
//! rewritten in place); a snapshot of a version-1 tree has no extended
//! attributes, so comparing it with a newer one lists every path that has
//! some as changed metadata.

use crate::error::Result;
use crate::index::Index;
use crate::repo::Repository;
use crate::snapshot::Snapshot;
use crate::tree::{Node, NodeKind, Tree};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    Added,
    Removed,
    /// Content or type changed.
    Modified,
    /// Only permissions, owner, mtime or extended attributes (ACLs
    /// included) changed.
    Metadata,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DiffEntry {
    /// Path inside the snapshot; directories end with `/`.
    pub path: String,
    pub kind: DiffKind,
}

struct Differ<'a> {
    repo: &'a Repository,
    index: &'a Index,
    out: Vec<DiffEntry>,
}

fn display(prefix: &str, n: &Node) -> String {
    let mut p = format!("{prefix}{}", n.name_lossy());
    if n.is_dir() {
        p.push('/');
    }
    p
}

impl Differ<'_> {
    fn all(&mut self, prefix: &str, n: &Node, kind: DiffKind) -> Result<()> {
        let p = display(prefix, n);
        self.out.push(DiffEntry {
            path: p.clone(),
            kind,
        });
        if let NodeKind::Dir { subtree } = &n.kind {
            let t = self.repo.load_tree(self.index, subtree)?;
            for c in &t.nodes {
                self.all(&p, c, kind)?;
            }
        }
        Ok(())
    }

    fn trees(&mut self, prefix: &str, a: &Tree, b: &Tree) -> Result<()> {
        let (mut i, mut j) = (0, 0);
        while i < a.nodes.len() || j < b.nodes.len() {
            let ord = match (a.nodes.get(i), b.nodes.get(j)) {
                (Some(x), Some(y)) => x.name.cmp(&y.name),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match ord {
                std::cmp::Ordering::Less => {
                    self.all(prefix, &a.nodes[i], DiffKind::Removed)?;
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    self.all(prefix, &b.nodes[j], DiffKind::Added)?;
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    self.nodes(prefix, &a.nodes[i], &b.nodes[j])?;
                    i += 1;
                    j += 1;
                }
            }
        }
        Ok(())
    }

    fn nodes(&mut self, prefix: &str, x: &Node, y: &Node) -> Result<()> {
        let meta_same = x.mode == y.mode
            && x.uid == y.uid
            && x.gid == y.gid
            && x.mtime_ns == y.mtime_ns
            && x.xattrs == y.xattrs;
        match (&x.kind, &y.kind) {
            (NodeKind::Dir { subtree: s1 }, NodeKind::Dir { subtree: s2 }) => {
                if !meta_same {
                    self.out.push(DiffEntry {
                        path: display(prefix, y),
                        kind: DiffKind::Metadata,
                    });
                }
                if s1 != s2 {
                    let t1 = self.repo.load_tree(self.index, s1)?;
                    let t2 = self.repo.load_tree(self.index, s2)?;
                    self.trees(&display(prefix, y), &t1, &t2)?;
                }
            }
            (k1, k2) if k1 == k2 => {
                if !meta_same {
                    self.out.push(DiffEntry {
                        path: display(prefix, y),
                        kind: DiffKind::Metadata,
                    });
                }
            }
            (NodeKind::Dir { .. }, _) | (_, NodeKind::Dir { .. }) => {
                self.all(prefix, x, DiffKind::Removed)?;
                self.all(prefix, y, DiffKind::Added)?;
            }
            _ => self.out.push(DiffEntry {
                path: display(prefix, y),
                kind: DiffKind::Modified,
            }),
        }
        Ok(())
    }
}

/// What changed from `a` to `b`.
pub fn diff(repo: &Repository, a: &Snapshot, b: &Snapshot) -> Result<Vec<DiffEntry>> {
    let index = repo.load_index()?;
    let ta = repo.load_tree(&index, &a.tree)?;
    let tb = repo.load_tree(&index, &b.tree)?;
    let mut d = Differ {
        repo,
        index: &index,
        out: Vec::new(),
    };
    d.trees("", &ta, &tb)?;
    Ok(d.out)
}
