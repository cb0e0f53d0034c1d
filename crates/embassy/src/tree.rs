//! Directory trees. A tree blob lists the entries of one directory, sorted
//! by name bytes; directories point at their subtree blob, files at their
//! chunk list. Trees are postcard-encoded, then compressed and sealed like
//! any blob, so unchanged directories deduplicate between snapshots.
//!
//! **Versions.** postcard is positional, so a node can only gain fields
//! with a new tree version:
//!
//! * version 1 (repository format 1): the bare postcard encoding of a tree
//!   whose nodes end with `inode, dev`;
//! * version 2 (repository format 2): the header `FF×9 || 2`, then the
//!   postcard encoding of [`Tree`], whose nodes add `nlink` (hard links) and
//!   `xattrs` (extended attributes, ACLs).
//!
//! A version-1 tree starts with a postcard varint (the node count), and no
//! varint starts with nine `0xFF` bytes followed by a byte above 1 (that
//! would overflow 64 bits), so the header can never be mistaken for a
//! version-1 tree. [`Tree::decode`] reads both; version-1 nodes decode with
//! `nlink = 0` and no extended attributes. [`Tree::encode_version`] writes
//! either, so a version-1 repository keeps holding only version-1 trees
//! until it is migrated ([`crate::Repository::migrate`]).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::Id;

/// The tree version this build writes into current repositories.
pub const TREE_VERSION: u8 = 2;
/// The oldest tree version this build reads.
pub const MIN_TREE_VERSION: u8 = 1;

/// Bytes before the version byte of a versioned (≥ 2) tree blob.
const VERSIONED_PREFIX: [u8; 9] = [0xFF; 9];

/// The tree version a repository of format `repo_version` holds.
pub fn tree_version_for(repo_version: u32) -> u8 {
    if repo_version <= 1 { 1 } else { TREE_VERSION }
}

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeKind {
    File { size: u64, content: Vec<Id> },
    Dir { subtree: Id },
    Symlink { target: Vec<u8> },
}

/// One extended attribute: its full name (with namespace, e.g.
/// `user.comment`, `system.posix_acl_access`) and raw value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Xattr {
    pub name: Vec<u8>,
    pub value: Vec<u8>,
}

impl Xattr {
    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// One directory entry. Names and link targets are raw bytes: Linux file
/// names need not be UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub name: Vec<u8>,
    pub kind: NodeKind,
    /// Permission bits (and set-id/sticky bits), without the file type.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Inode and device: detect unchanged files next time, and (with
    /// `nlink > 1`) identify the paths of one hard-linked inode.
    pub inode: u64,
    pub dev: u64,
    /// Link count of a non-directory that had more than one link at backup
    /// time; 0 otherwise (single link, directory, stream, version-1 node).
    /// Nodes with `nlink > 1` and equal `(dev, inode)` are restored as hard
    /// links of one file.
    pub nlink: u64,
    /// Extended attributes (including POSIX ACLs), sorted by name.
    pub xattrs: Vec<Xattr>,
}

impl Node {
    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
    pub fn is_dir(&self) -> bool {
        matches!(self.kind, NodeKind::Dir { .. })
    }
    pub fn size(&self) -> u64 {
        match &self.kind {
            NodeKind::File { size, .. } => *size,
            _ => 0,
        }
    }
    /// The `(dev, inode)` shared by the paths of a hard-linked inode, when
    /// this node is one of them.
    pub fn hardlink_key(&self) -> Option<(u64, u64)> {
        (self.nlink > 1 && !self.is_dir()).then_some((self.dev, self.inode))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

/// The version-1 node layout (no link count, no extended attributes).
#[derive(Serialize, Deserialize)]
struct NodeV1 {
    name: Vec<u8>,
    kind: NodeKind,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime_ns: i64,
    inode: u64,
    dev: u64,
}

#[derive(Serialize, Deserialize)]
struct TreeV1 {
    nodes: Vec<NodeV1>,
}

impl Tree {
    /// Encode in the current version ([`TREE_VERSION`]).
    pub fn encode(&self) -> Vec<u8> {
        self.encode_version(TREE_VERSION)
    }

    /// Encode as tree version `version` (1 or 2; anything else is encoded
    /// as the current version). Version 1 drops `nlink` and `xattrs`; use
    /// [`Tree::lossy_in_v1`] to tell whether that loses anything.
    pub fn encode_version(&self, version: u8) -> Vec<u8> {
        if version == 1 {
            let v1 = TreeV1 {
                nodes: self
                    .nodes
                    .iter()
                    .map(|n| NodeV1 {
                        name: n.name.clone(),
                        kind: n.kind.clone(),
                        mode: n.mode,
                        uid: n.uid,
                        gid: n.gid,
                        mtime_ns: n.mtime_ns,
                        inode: n.inode,
                        dev: n.dev,
                    })
                    .collect(),
            };
            return postcard::to_allocvec(&v1).expect("serialising to a Vec cannot fail");
        }
        let mut out = VERSIONED_PREFIX.to_vec();
        out.push(TREE_VERSION);
        postcard::to_extend(self, out).expect("serialising to a Vec cannot fail")
    }

    /// Number of nodes whose hard-link or extended-attribute information a
    /// version-1 encoding would drop.
    pub fn lossy_in_v1(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| n.nlink > 1 || !n.xattrs.is_empty())
            .count()
    }

    /// The version of an encoded tree (without decoding it).
    pub fn version_of(bytes: &[u8]) -> u8 {
        match bytes.split_at_checked(VERSIONED_PREFIX.len()) {
            Some((head, rest)) if head == VERSIONED_PREFIX => rest.first().copied().unwrap_or(0),
            _ => 1,
        }
    }

    /// Decode a tree blob of any supported version.
    pub fn decode(id: &Id, bytes: &[u8]) -> Result<Tree> {
        Self::decode_versioned(id, bytes).map(|(t, _)| t)
    }

    /// Decode a tree blob and tell its version.
    pub fn decode_versioned(id: &Id, bytes: &[u8]) -> Result<(Tree, u8)> {
        let undecodable =
            |e: postcard::Error| Error::corrupt("tree", id, format!("undecodable: {e}"));
        match Self::version_of(bytes) {
            1 => {
                let t: TreeV1 = postcard::from_bytes(bytes).map_err(undecodable)?;
                let nodes = t
                    .nodes
                    .into_iter()
                    .map(|n| Node {
                        name: n.name,
                        kind: n.kind,
                        mode: n.mode,
                        uid: n.uid,
                        gid: n.gid,
                        mtime_ns: n.mtime_ns,
                        inode: n.inode,
                        dev: n.dev,
                        nlink: 0,
                        xattrs: Vec::new(),
                    })
                    .collect();
                Ok((Tree { nodes }, 1))
            }
            2 => {
                let t: Tree = postcard::from_bytes(&bytes[VERSIONED_PREFIX.len() + 1..])
                    .map_err(undecodable)?;
                Ok((t, 2))
            }
            v => Err(Error::UnsupportedVersion {
                object: format!("tree {id}"),
                found: u32::from(v),
                min: u32::from(MIN_TREE_VERSION),
                max: u32::from(TREE_VERSION),
            }),
        }
    }

    pub fn find(&self, name: &[u8]) -> Option<&Node> {
        self.nodes
            .binary_search_by(|n| n.name.as_slice().cmp(name))
            .ok()
            .map(|i| &self.nodes[i])
    }

    pub fn sort(&mut self) {
        self.nodes.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, kind: NodeKind) -> Node {
        Node {
            name: name.as_bytes().to_vec(),
            kind,
            mode: 0o644,
            uid: 1000,
            gid: 100,
            mtime_ns: 1_600_000_000_123_456_789,
            inode: 42,
            dev: 7,
            nlink: 0,
            xattrs: Vec::new(),
        }
    }

    fn sample() -> Tree {
        let mut linked = node(
            "a",
            NodeKind::File {
                size: 3,
                content: vec![Id([1; 32])],
            },
        );
        linked.nlink = 3;
        linked.xattrs = vec![Xattr {
            name: b"user.makonis.test".to_vec(),
            value: b"v\0binary".to_vec(),
        }];
        Tree {
            nodes: vec![
                linked,
                node(
                    "d",
                    NodeKind::Dir {
                        subtree: Id([2; 32]),
                    },
                ),
                node(
                    "l",
                    NodeKind::Symlink {
                        target: b"../x".to_vec(),
                    },
                ),
            ],
        }
    }

    #[test]
    fn v2_roundtrip_keeps_links_and_xattrs() {
        let t = sample();
        let b = t.encode();
        assert_eq!(
            &b[..10],
            &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 2]
        );
        assert_eq!(Tree::version_of(&b), 2);
        let (d, v) = Tree::decode_versioned(&Id::default(), &b).unwrap();
        assert_eq!(v, 2);
        assert_eq!(d, t);
        assert_eq!(d.nodes[0].hardlink_key(), Some((7, 42)));
        assert_eq!(d.nodes[1].hardlink_key(), None);
    }

    #[test]
    fn v1_encoding_is_the_old_layout_and_decodes_with_defaults() {
        let t = sample();
        assert_eq!(t.lossy_in_v1(), 1);
        let b = t.encode_version(1);
        assert_eq!(Tree::version_of(&b), 1);
        // The old layout: node count, then the first node's name.
        assert_eq!(&b[..3], &[3, 1, b'a']);
        let (d, v) = Tree::decode_versioned(&Id::default(), &b).unwrap();
        assert_eq!(v, 1);
        assert_eq!(d.nodes.len(), 3);
        assert_eq!(d.nodes[0].nlink, 0);
        assert!(d.nodes[0].xattrs.is_empty());
        assert_eq!(d.nodes[0].mtime_ns, t.nodes[0].mtime_ns);
        assert_eq!(d.nodes[2].kind, t.nodes[2].kind);
        // An empty version-1 tree is one zero byte.
        assert_eq!(Tree::default().encode_version(1), vec![0]);
        assert_eq!(Tree::decode(&Id::default(), &[0]).unwrap(), Tree::default());
    }

    #[test]
    fn the_v2_header_is_not_a_valid_v1_tree() {
        let mut b = VERSIONED_PREFIX.to_vec();
        b.push(2);
        b.extend_from_slice(&[0; 64]);
        assert!(postcard::from_bytes::<TreeV1>(&b).is_err());
    }

    #[test]
    fn unknown_versions_and_junk_are_errors_not_panics() {
        let mut b = VERSIONED_PREFIX.to_vec();
        b.push(9);
        let e = Tree::decode(&Id::default(), &b).unwrap_err();
        assert!(
            matches!(e, Error::UnsupportedVersion { found: 9, .. }),
            "{e}"
        );
        // Prefix without a version byte, truncations and byte flips.
        assert!(Tree::decode(&Id::default(), &VERSIONED_PREFIX).is_err());
        let good = sample().encode();
        for cut in 0..good.len() {
            let _ = Tree::decode(&Id::default(), &good[..cut]);
        }
        for i in 0..good.len() {
            let mut m = good.clone();
            m[i] ^= 0x55;
            let _ = Tree::decode(&Id::default(), &m);
        }
    }
}
