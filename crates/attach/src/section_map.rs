//! The shape of a section map, checked block by block before anything is
//! stored or served: what a node of the section HAMT may hold, and how many
//! nodes a map of a declared number of sections can have.
//!
//! A section map is a tau-hamt HAMT (`[bitfield, pointers]` nodes, each
//! pointer a DAG-CBOR link to a child or a bucket of `[key, value]` entries)
//! whose keys are 8-byte section numbers and whose values are links to raw
//! chunks. The downloader walks it node by node from untrusted peers, so
//! every node is checked here against that shape and the manifest's
//! declared size, and the walk is bounded by [`MapLimits`].

use cid::Cid;
use ipld_core::ipld::Ipld;
use tau_ipld::block::{DAG_CBOR, RAW};
use tau_ipld::Blockstore;

use crate::config::Config;
use crate::manifest::Manifest;
use crate::{Error, Result};

/// Bits of the key hash: a HAMT is never deeper than this many bits allow.
const HASH_BITS: u32 = 256;

/// One checked node of a section map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapNode {
    /// Links to child nodes (DAG-CBOR).
    pub children: Vec<Cid>,
    /// The entries held in this node's buckets: section number and chunk CID.
    pub sections: Vec<(u64, Cid)>,
}

/// How far a walk of one attachment's section map may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapLimits {
    /// Sections the manifest declares: entries the map must hold, and the
    /// bound of every section number (`0..sections`).
    pub sections: u64,
    /// Most nodes a canonical HAMT of `sections` entries can have.
    pub max_nodes: u64,
    /// Most levels below the root (the key hash runs out after that).
    pub max_depth: u32,
}

impl MapLimits {
    /// The limits for the map of `manifest` under `config`'s HAMT shape.
    pub fn of(manifest: &Manifest, config: &Config) -> Self {
        Self::new(manifest.section_count, config)
    }

    /// The limits for a map of `sections` entries under `config`'s HAMT shape.
    ///
    /// In a canonical HAMT every non-root node holds more than a bucket's
    /// worth of entries below it (fewer would be a bucket in its parent), and
    /// the nodes of one level hold disjoint entries, so each level below the
    /// root has at most `sections / (bucket_size + 1)` nodes.
    pub fn new(sections: u64, config: &Config) -> Self {
        let hamt = config.hamt();
        let max_depth = max_depth(hamt.bit_width());
        let bucket = hamt.bucket_size() as u64;
        let per_level = sections / bucket.saturating_add(1);
        Self {
            sections,
            max_nodes: per_level
                .saturating_mul(u64::from(max_depth))
                .saturating_add(1),
            max_depth,
        }
    }
}

/// Levels below the root of a HAMT of `bit_width` (1..=8) bits per level.
fn max_depth(bit_width: u32) -> u32 {
    HASH_BITS.div_ceil(bit_width.max(1)).saturating_sub(1)
}

/// Decodes and checks the section-map node `bytes` (already verified against
/// its CID): a `[bitfield, pointers]` pair in `config`'s HAMT shape whose
/// buckets map 8-byte section numbers below `sections` to raw chunk links.
/// `is_root`: the root may be empty; any other node must be canonical
/// (not empty, and links or more entries than one bucket holds).
pub fn decode_map_node(
    bytes: &[u8],
    config: &Config,
    sections: u64,
    is_root: bool,
) -> Result<MapNode> {
    let bad = |reason: &str| Error::SectionMap(reason.to_string());
    let node: Ipld = serde_ipld_dagcbor::from_slice(bytes)
        .map_err(|e| Error::SectionMap(format!("node is not DAG-CBOR: {e}")))?;
    let Ipld::List(fields) = node else {
        return Err(bad("node is not a list"));
    };
    let [Ipld::Bytes(bitfield), Ipld::List(pointers)] = fields.as_slice() else {
        return Err(bad("node is not [bitfield, pointers]"));
    };
    let hamt = config.hamt();
    let slots = 1usize << hamt.bit_width().min(8);
    if bitfield.len() > slots.div_ceil(8) {
        return Err(bad("bitfield is wider than the bit width"));
    }
    let set: u32 = bitfield.iter().map(|b| b.count_ones()).sum();
    if set as usize != pointers.len() {
        return Err(bad("pointer count differs from the bitfield"));
    }
    let mut out = MapNode::default();
    for pointer in pointers {
        match pointer {
            Ipld::Link(cid) if cid.codec() == DAG_CBOR => out.children.push(*cid),
            Ipld::List(bucket) if !bucket.is_empty() && bucket.len() <= hamt.bucket_size() => {
                for entry in bucket {
                    out.sections.push(section_entry(entry, sections)?);
                }
            }
            _ => return Err(bad("pointer is neither a child link nor a bucket")),
        }
    }
    if !is_root
        && (pointers.is_empty()
            || (out.children.is_empty() && out.sections.len() <= hamt.bucket_size()))
    {
        return Err(bad("non-root node too small to be canonical"));
    }
    Ok(out)
}

/// One bucket entry: an 8-byte section number below `sections` and a raw link.
fn section_entry(entry: &Ipld, sections: u64) -> Result<(u64, Cid)> {
    let Ipld::List(pair) = entry else {
        return Err(Error::SectionMap("bucket entry is not a pair".into()));
    };
    let [Ipld::Bytes(key), Ipld::Link(chunk)] = pair.as_slice() else {
        return Err(Error::SectionMap(
            "bucket entry is not [key, chunk link]".into(),
        ));
    };
    let index = <[u8; 8]>::try_from(key.as_slice())
        .map(u64::from_be_bytes)
        .map_err(|_| Error::SectionMap(format!("key of {} bytes, not 8", key.len())))?;
    if index >= sections {
        return Err(Error::SectionMap(format!(
            "section {index} beyond the {sections} declared"
        )));
    }
    if chunk.codec() != RAW {
        return Err(Error::SectionMap(format!(
            "section {index} is not a raw block"
        )));
    }
    Ok((index, *chunk))
}

/// Counts a walk of one section map against its [`MapLimits`]: each node
/// once (a node linked twice is no tree, so no HAMT), nodes and entries at
/// most what the manifest's declared size allows.
#[derive(Debug)]
pub(crate) struct MapWalk {
    limits: MapLimits,
    seen: std::collections::HashSet<Cid>,
    /// Links counted so far: each must be a node of its own.
    links: u64,
    entries: u64,
}

impl MapWalk {
    pub(crate) fn new(limits: MapLimits) -> Self {
        Self {
            limits,
            seen: std::collections::HashSet::new(),
            links: 0,
            entries: 0,
        }
    }

    /// Admits node `cid` at `depth` before it is fetched.
    pub(crate) fn enter(&mut self, cid: &Cid, depth: u32) -> Result<()> {
        if depth > self.limits.max_depth {
            return Err(Error::SectionMap(format!(
                "deeper than {} levels",
                self.limits.max_depth
            )));
        }
        if !self.seen.insert(*cid) {
            return Err(Error::SectionMap(format!("node {cid} is linked twice")));
        }
        if self.seen.len() as u64 > self.limits.max_nodes {
            return Err(Error::SectionMap(format!(
                "more than {} nodes for {} sections",
                self.limits.max_nodes, self.limits.sections
            )));
        }
        Ok(())
    }

    /// Counts the entries and links of a checked node (before it is
    /// stored): entries past the declared sections, or more links than the
    /// map can have nodes, refuse it.
    pub(crate) fn count(&mut self, node: &MapNode) -> Result<()> {
        self.links = self.links.saturating_add(node.children.len() as u64);
        if self.links.saturating_add(1) > self.limits.max_nodes {
            return Err(Error::SectionMap(format!(
                "more than {} nodes for {} sections",
                self.limits.max_nodes, self.limits.sections
            )));
        }
        self.entries = self.entries.saturating_add(node.sections.len() as u64);
        if self.entries > self.limits.sections {
            return Err(Error::SectionMap(format!(
                "more entries than the {} sections declared",
                self.limits.sections
            )));
        }
        Ok(())
    }

    /// Nodes entered so far.
    #[cfg(test)]
    pub(crate) fn nodes(&self) -> u64 {
        self.seen.len() as u64
    }
}

/// Most store lookups [`probe_section_map`] makes (found or not): enough
/// to pass over the missing children of a map being downloaded and to reach
/// a bucket of a partly stored chain HAMT, small enough for a request's
/// admission.
pub const MAX_PROBE_READS: usize = 256;

/// What [`probe_section_map`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapProbe {
    /// A node of a section map: raw chunk links were found below it.
    SectionMap,
    /// Not one: a block below it has another shape or codec, or it holds
    /// no entries at all.
    NotSectionMap,
    /// Undecided: the blocks that would tell are not stored (a map still
    /// being downloaded), or more than [`MAX_PROBE_READS`] would be needed.
    /// Ask again later; do not remember it as either.
    Incomplete,
}

/// Whether the stored DAG-CBOR block `cid` is a node of some section map:
/// it has the shape, and the first entries found below it (depth first,
/// children in order, passing over children that are not stored, at most
/// [`MapLimits::max_depth`] levels and [`MAX_PROBE_READS`] reads) are raw
/// chunk links. The chain has no raw blocks, so its own HAMTs never pass.
/// A host uses it to charge requests for section maps it never saw a
/// manifest of; [`MapProbe::Incomplete`] keeps a partly stored map from
/// being taken for free data.
pub fn probe_section_map<BS: Blockstore>(store: &BS, cid: &Cid, config: &Config) -> MapProbe {
    let max_depth = max_depth(config.hamt().bit_width());
    let mut stack = vec![(*cid, 0u32)];
    let mut reads = 0;
    let mut incomplete = false;
    while let Some((next, depth)) = stack.pop() {
        if next.codec() != DAG_CBOR || depth > max_depth {
            return MapProbe::NotSectionMap;
        }
        if reads == MAX_PROBE_READS {
            return MapProbe::Incomplete;
        }
        reads += 1;
        let bytes = match store.get(&next) {
            Ok(Some(bytes)) => bytes,
            Ok(None) | Err(_) => {
                incomplete = true;
                continue;
            }
        };
        let Ok(node) = decode_map_node(&bytes, config, u64::MAX, depth == 0) else {
            return MapProbe::NotSectionMap;
        };
        if !node.sections.is_empty() {
            return MapProbe::SectionMap;
        }
        stack.extend(node.children.iter().rev().map(|c| (*c, depth + 1)));
    }
    if incomplete {
        MapProbe::Incomplete
    } else {
        MapProbe::NotSectionMap
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tau_hamt::Hamt;
    use tau_ipld::MemoryBlockstore;

    use crate::manifest::section_key;

    fn store_map(store: &MemoryBlockstore, entries: u64) -> Cid {
        let mut map: Hamt<_, Cid> = Hamt::new(store);
        for i in 0..entries {
            let chunk = store.put(RAW, &i.to_be_bytes()).unwrap();
            map.set(section_key(i), chunk).unwrap();
        }
        map.flush().unwrap()
    }

    #[test]
    fn real_maps_pass_and_their_node_count_fits_the_bound() {
        let store = MemoryBlockstore::new();
        let config = Config::default();
        for entries in [0u64, 1, 3, 4, 100, 2_000] {
            let root = store_map(&store, entries);
            let limits = MapLimits::new(entries, &config);
            let mut walk = MapWalk::new(limits);
            let mut stack = vec![(root, 0)];
            while let Some((cid, depth)) = stack.pop() {
                walk.enter(&cid, depth).unwrap();
                let bytes = store.get(&cid).unwrap().unwrap();
                let node = decode_map_node(&bytes, &config, entries, cid == root).unwrap();
                walk.count(&node).unwrap();
                stack.extend(node.children.iter().map(|c| (*c, depth + 1)));
            }
            assert_eq!(walk.entries, entries);
            assert!(walk.nodes() <= limits.max_nodes);
            assert_eq!(
                probe_section_map(&store, &root, &config),
                if entries > 0 {
                    MapProbe::SectionMap
                } else {
                    MapProbe::NotSectionMap
                }
            );
        }
        // A HAMT of the same shape whose values are not raw links is not one.
        let mut other: Hamt<_, u64> = Hamt::new(&store);
        for i in 0..100u64 {
            other.set(section_key(i), i).unwrap();
        }
        let other = other.flush().unwrap();
        assert_eq!(
            probe_section_map(&store, &other, &config),
            MapProbe::NotSectionMap
        );
        let bytes = store.get(&other).unwrap().unwrap();
        assert!(decode_map_node(&bytes, &config, 100, true).is_err());
    }

    #[test]
    fn a_partly_stored_map_is_undecided_until_an_entry_is_found() {
        let full = MemoryBlockstore::new();
        let config = Config::default();
        let root = store_map(&full, 2_000);
        let root_bytes = full.get(&root).unwrap().unwrap();
        let children = decode_map_node(&root_bytes, &config, 2_000, true)
            .unwrap()
            .children;
        assert!(children.len() > 1, "the map must have child nodes");
        // Only the root stored (a download in progress): undecided, not "no".
        let partial = MemoryBlockstore::new();
        partial.put_keyed(&root, &root_bytes).unwrap();
        assert_eq!(
            probe_section_map(&partial, &root, &config),
            MapProbe::Incomplete
        );
        // The first child still missing, a later one present: found.
        let mut below = vec![*children.last().unwrap()];
        while let Some(cid) = below.pop() {
            let bytes = full.get(&cid).unwrap().unwrap();
            partial.put_keyed(&cid, &bytes).unwrap();
            below.extend(
                decode_map_node(&bytes, &config, 2_000, false)
                    .unwrap()
                    .children,
            );
        }
        assert_eq!(
            probe_section_map(&partial, &root, &config),
            MapProbe::SectionMap
        );
    }
}
