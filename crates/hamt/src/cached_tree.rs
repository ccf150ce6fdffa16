//! [`CachedTree`]: the decoded nodes of a flushed map, detached from its store.

use cid::Cid;

use crate::config::Config;
use crate::node::Node;

/// The decoded nodes of a flushed [`Hamt`](crate::Hamt), detached from its
/// store by [`Hamt::into_cached_tree`](crate::Hamt::into_cached_tree) and
/// attached to a store again by
/// [`Hamt::from_cached_tree`](crate::Hamt::from_cached_tree).
///
/// It lets the next edit of a map start from the nodes the previous one had
/// in memory instead of reading, re-hashing and decoding them again. Every
/// node it holds was either checked against its CID when loaded or encoded
/// and hashed by the flush that made its CID, so a map built from it holds
/// exactly the contents of [`root`](CachedTree::root). Nodes it does not hold
/// are loaded from the store on first use, as after
/// [`Hamt::load`](crate::Hamt::load): attach it only to a store that holds
/// the blocks of its root.
///
/// ```
/// use tau_hamt::Hamt;
/// use tau_ipld::MemoryBlockstore;
///
/// let store = MemoryBlockstore::new();
/// let mut map: Hamt<_, u64> = Hamt::new(&store);
/// for i in 0u64..1_000 {
///     map.set(i.to_be_bytes(), i)?;
/// }
/// let root = map.flush()?;
/// let tree = map.into_cached_tree().expect("flushed");
/// assert_eq!(tree.root(), &root);
/// assert!(tree.decoded_nodes() > 1);
///
/// let mut map: Hamt<_, u64> = Hamt::from_cached_tree(&store, tree);
/// assert_eq!(map.get(7u64.to_be_bytes())?, Some(7));
/// map.set(b"new", 1)?;
/// assert_ne!(map.flush()?, root);
/// # Ok::<(), tau_hamt::Error>(())
/// ```
#[derive(Debug)]
pub struct CachedTree {
    pub(crate) root: Node,
    pub(crate) cid: Cid,
    pub(crate) config: Config,
}

impl CachedTree {
    /// The root CID of the map the tree holds.
    pub fn root(&self) -> &Cid {
        &self.cid
    }

    /// The configuration the map was written with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The number of decoded nodes held, the root included (a walk over them).
    pub fn decoded_nodes(&self) -> usize {
        self.root.decoded_nodes()
    }

    /// Keeps the tree within `max_nodes` decoded nodes: if it holds more,
    /// drops every decoded node below the root (they are read from the store
    /// again when used). Returns the number of nodes held afterwards.
    pub fn trim(&mut self, max_nodes: usize) -> usize {
        let held = self.root.decoded_nodes();
        if held <= max_nodes {
            return held;
        }
        self.root.drop_cached_children();
        self.root.decoded_nodes()
    }
}
