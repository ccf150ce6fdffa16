//! Process C's sources from the chain: who holds an attachment, read from
//! the blocks themselves rather than given by the user. A message that
//! attaches a root names its sender as a host (it published it), and a
//! block's attachment log names its miner as having served the root and
//! the visitor as having downloaded it.

use cid::Cid;
use tau_ipld::{Blockstore, SharedStore};
use tau_keys::Address;
use tau_state::{Executor, TxBody};

use crate::Result;

/// Blocks back from the head the scan reads at most by default.
pub const SEEDER_SCAN_BLOCKS: usize = 10_000;

/// Addresses the last `depth` blocks of `head`'s chain name as holding
/// `root`, newest first, each once: message senders that attached it,
/// miners that logged serving it, visitors they served.
pub(crate) fn holders(
    chain: &Executor<SharedStore>,
    head: &Cid,
    root: &Cid,
    depth: usize,
) -> Result<Vec<Address>> {
    let mut out: Vec<Address> = Vec::new();
    let mut add = |a: Address| {
        if !out.contains(&a) {
            out.push(a);
        }
    };
    for (_, block) in chain.available_history(head, depth)? {
        for tx in chain.transactions(&block)? {
            if let TxBody::Message {
                attachment: Some(attached),
                ..
            } = &tx.tx.body
            {
                if attached.root == *root {
                    add(tx.tx.sender);
                }
            }
        }
        let Some(log) = block.unsigned.attachments_log else {
            continue;
        };
        let Some(bytes) = chain.store().get(&log)? else {
            continue;
        };
        let records = tau_state::decode_attachments_log(&bytes)?;
        for record in records.iter().filter(|r| r.root == *root) {
            add(block.unsigned.miner);
            add(record.visitor);
        }
    }
    Ok(out)
}
