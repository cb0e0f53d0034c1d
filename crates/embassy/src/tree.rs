//! Directory trees. A tree blob lists the entries of one directory, sorted
//! by name bytes; directories point at their subtree blob, files at their
//! chunk list. Trees are postcard-encoded, then compressed and sealed like
//! any blob, so unchanged directories deduplicate between snapshots.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::Id;

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeKind {
    File { size: u64, content: Vec<Id> },
    Dir { subtree: Id },
    Symlink { target: Vec<u8> },
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
    /// Inode and device, only used to detect unchanged files next time.
    pub inode: u64,
    pub dev: u64,
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
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("serialising to a Vec cannot fail")
    }

    pub fn decode(id: &Id, bytes: &[u8]) -> Result<Tree> {
        let t: Tree = postcard::from_bytes(bytes)
            .map_err(|e| Error::corrupt("tree", id, format!("undecodable: {e}")))?;
        Ok(t)
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
