//! Moving a peer's blocks to the asker, as a Graphsync answer would.

use std::collections::HashSet;

use cid::Cid;
use ipld_core::ipld::Ipld;
use tau_ipld::block::DAG_CBOR;
use tau_ipld::{Blockstore, MemoryBlockstore};

/// Every block reachable from `root` in `from` that `to` lacks, following all
/// IPLD links (HAMT nodes, the block under the contract key, its transaction
/// list, the previous state). Blocks `to` holds are not descended into: a
/// peer's history is shared up to the point where the chains meet.
pub(crate) fn missing_blocks(
    from: &MemoryBlockstore,
    to: &MemoryBlockstore,
    root: &Cid,
) -> Vec<(Cid, Vec<u8>)> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![*root];
    while let Some(cid) = stack.pop() {
        if !seen.insert(cid) || to.has(&cid).unwrap_or(false) {
            continue;
        }
        let Ok(Some(data)) = from.get(&cid) else {
            continue;
        };
        if cid.codec() == DAG_CBOR {
            if let Ok(node) = serde_ipld_dagcbor::from_slice::<Ipld>(&data) {
                links(&node, &mut stack);
            }
        }
        out.push((cid, data));
    }
    out
}

fn links(node: &Ipld, out: &mut Vec<Cid>) {
    match node {
        Ipld::Link(cid) => out.push(*cid),
        Ipld::List(items) => items.iter().for_each(|i| links(i, out)),
        Ipld::Map(map) => map.values().for_each(|v| links(v, out)),
        _ => {}
    }
}
