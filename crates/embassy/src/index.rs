//! The in-memory blob index: where each blob lives (pack, offset, length).
//!
//! Entries are kept in one `Vec` sorted by blob id and found by binary
//! search; packs are interned into a table so an entry is 52 bytes (32-byte
//! id, four `u32`s and the type, padded). A 1 TiB repository of 1 MiB
//! average chunks therefore needs about 52 MiB for its index, with no
//! per-entry heap allocation.

use std::collections::{HashMap, HashSet};

use crate::format::{BlobType, IndexFile, IndexPack, PackBlob};
use crate::id::Id;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    id: Id,
    pack: u32,
    offset: u32,
    length: u32,
    raw_len: u32,
    blob_type: BlobType,
}

/// Where one blob is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobLocation {
    pub pack: Id,
    pub blob_type: BlobType,
    pub offset: u32,
    pub length: u32,
    pub raw_len: u32,
}

#[derive(Debug, Default, Clone)]
pub struct Index {
    packs: Vec<Id>,
    pack_pos: HashMap<Id, u32>,
    entries: Vec<Entry>,
    sorted: bool,
    /// Index files this index was built from (after dropping superseded ones).
    pub files: Vec<Id>,
}

impl Index {
    /// Build from loaded index files, ignoring those superseded by others.
    pub fn from_files(files: Vec<(Id, IndexFile)>) -> Index {
        let superseded: HashSet<Id> = files
            .iter()
            .flat_map(|(_, f)| f.supersedes.iter().copied())
            .collect();
        let mut idx = Index::default();
        for (name, f) in files {
            if superseded.contains(&name) {
                continue;
            }
            idx.files.push(name);
            for p in &f.packs {
                idx.add_pack(p.pack, &p.blobs);
            }
        }
        idx.finish();
        idx
    }

    fn pack_no(&mut self, pack: Id) -> u32 {
        *self.pack_pos.entry(pack).or_insert_with(|| {
            self.packs.push(pack);
            (self.packs.len() - 1) as u32
        })
    }

    /// Record a pack's blobs. Call [`Index::finish`] before lookups.
    pub fn add_pack(&mut self, pack: Id, blobs: &[PackBlob]) {
        let no = self.pack_no(pack);
        self.entries.reserve(blobs.len());
        for b in blobs {
            self.entries.push(Entry {
                id: b.id,
                pack: no,
                offset: b.offset,
                length: b.length,
                raw_len: b.raw_len,
                blob_type: b.blob_type,
            });
        }
        self.sorted = false;
    }

    /// Sort for lookups, dropping exact duplicates (same blob listed twice
    /// for the same pack, as after an interrupted prune).
    pub fn finish(&mut self) {
        if !self.sorted {
            self.entries
                .sort_unstable_by_key(|e| (e.id, e.pack, e.offset));
            self.entries.dedup();
            self.entries.shrink_to_fit();
            self.sorted = true;
        }
    }

    fn range(&self, id: &Id) -> &[Entry] {
        debug_assert!(self.sorted, "Index::finish not called");
        let start = self.entries.partition_point(|e| e.id < *id);
        let end = start + self.entries[start..].partition_point(|e| e.id == *id);
        &self.entries[start..end]
    }

    fn loc(&self, e: &Entry) -> BlobLocation {
        BlobLocation {
            pack: self.packs[e.pack as usize],
            blob_type: e.blob_type,
            offset: e.offset,
            length: e.length,
            raw_len: e.raw_len,
        }
    }

    pub fn has(&self, id: &Id) -> bool {
        !self.range(id).is_empty()
    }

    pub fn get(&self, id: &Id) -> Option<BlobLocation> {
        self.range(id).first().map(|e| self.loc(e))
    }

    /// Every copy of a blob (it may sit in several packs).
    pub fn get_all(&self, id: &Id) -> Vec<BlobLocation> {
        self.range(id).iter().map(|e| self.loc(e)).collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Packs that have at least one indexed blob.
    pub fn packs(&self) -> impl Iterator<Item = &Id> {
        self.packs.iter()
    }

    /// Regroup entries per pack (for check, prune and index rewrites).
    pub fn by_pack(&self) -> HashMap<Id, Vec<PackBlob>> {
        let mut m: HashMap<Id, Vec<PackBlob>> = HashMap::new();
        for e in &self.entries {
            m.entry(self.packs[e.pack as usize])
                .or_default()
                .push(PackBlob {
                    blob_type: e.blob_type,
                    id: e.id,
                    offset: e.offset,
                    length: e.length,
                    raw_len: e.raw_len,
                });
        }
        for v in m.values_mut() {
            v.sort_by_key(|b| b.offset);
        }
        m
    }

    /// Iterate over all (id, location) pairs.
    pub fn iter(&self) -> impl Iterator<Item = (Id, BlobLocation)> + '_ {
        self.entries.iter().map(|e| (e.id, self.loc(e)))
    }

    /// Approximate heap bytes used, for the docs' memory claims and tests.
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.packs.capacity() * 32
            + self.pack_pos.capacity() * (32 + 4 + 8)
    }
}

/// Turn per-pack lists into index-file form.
pub fn to_index_packs(m: HashMap<Id, Vec<PackBlob>>) -> Vec<IndexPack> {
    let mut v: Vec<IndexPack> = m
        .into_iter()
        .map(|(pack, blobs)| IndexPack { pack, blobs })
        .collect();
    v.sort_by_key(|p| p.pack);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pb(i: u8, off: u32) -> PackBlob {
        PackBlob {
            blob_type: BlobType::Data,
            id: Id([i; 32]),
            offset: off,
            length: 50,
            raw_len: 70,
        }
    }

    #[test]
    fn superseded_files_are_ignored_and_lookups_work() {
        let old = IndexFile {
            supersedes: vec![],
            packs: vec![IndexPack {
                pack: Id([1; 32]),
                blobs: vec![pb(5, 0), pb(6, 50)],
            }],
        };
        let new = IndexFile {
            supersedes: vec![Id([0xaa; 32])],
            packs: vec![IndexPack {
                pack: Id([2; 32]),
                blobs: vec![pb(6, 0)],
            }],
        };
        let idx = Index::from_files(vec![
            (Id([0xaa; 32]), old.clone()),
            (Id([0xbb; 32]), new.clone()),
        ]);
        assert!(!idx.has(&Id([5; 32])));
        assert_eq!(idx.get(&Id([6; 32])).unwrap().pack, Id([2; 32]));
        assert_eq!(idx.files, vec![Id([0xbb; 32])]);

        let both = Index::from_files(vec![(Id([0xcc; 32]), old), (Id([0xbb; 32]), new)]);
        assert_eq!(both.get_all(&Id([6; 32])).len(), 2);
        assert_eq!(both.get(&Id([5; 32])).unwrap().offset, 0);
        assert_eq!(both.by_pack().len(), 2);
        assert!(std::mem::size_of::<Entry>() <= 52);
    }
}
