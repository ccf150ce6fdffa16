//! The selector traversal both sides of a request run.
//!
//! [`Traversal`] is a resumable state machine: [`Traversal::next_link`] runs
//! until the walk needs a block and returns that link; the caller supplies the
//! block (or reports it unavailable) with [`Traversal::provide`]. A responder
//! feeds it from its store; a requester feeds it the blocks a peer sent, so
//! both see the same sequence of links — depth-first, children in IPLD order,
//! the root first — which is go-ipld-prime's `WalkAdv` order:
//!
//! * a link is loaded whenever a selector explores into it (even a bare
//!   matcher), and a link reached twice is loaded twice (no "visit once");
//! * lists are visited by index, maps in DAG-CBOR key order (length-first).
//!   go iterates maps in the order of the encoded block, which is the same for
//!   canonical DAG-CBOR (the only kind this workspace writes);
//! * a block that is unavailable skips its subtree (go's `SkipMe`).
//!
//! Blocks are decoded by codec: DAG-CBOR (0x71) into the IPLD data model, raw
//! (0x55) as a leaf; anything else is [`Error::UnsupportedCodec`]. The caller
//! vouches that the block matches its CID (a `Blockstore::get` or a rebuilt
//! wire CID already checked it).

mod hamt;
mod node;

use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use cid::Cid;
use tau_ipld::block::{DAG_CBOR, RAW};
use tau_ipld::Blockstore;

use crate::dagcbor;
use crate::selector::DEFAULT_MAX_RECURSION_DEPTH;
use crate::selector::{HamtLayout, Interest, Segment, Sel, Selector};
use crate::{Error, Result};
use node::{Item, Node};

/// Default [`Limits::max_links`]: links one traversal may load (2^20; a
/// 256 MiB file in 256 KiB blocks is 1,024, a 100,000-key HAMT about 4,000).
pub const DEFAULT_MAX_LINKS: u64 = 1 << 20;

/// Default [`Limits::max_selector_state`]: nodes of one selector state.
pub const DEFAULT_MAX_SELECTOR_STATE: usize = 1024;

/// Default [`Limits::max_selector_size`]: selector nodes and field names.
pub const DEFAULT_MAX_SELECTOR_SIZE: usize = 16 << 10;

/// Default [`Limits::max_work`]: children examined by one traversal (each
/// costs about the size of the selector state at its parent).
pub const DEFAULT_MAX_WORK: u64 = 1 << 28;

/// Bounds on a traversal. A responder applies them to every request it
/// serves; the requester's verifier applies the same ones, so one peer cannot
/// make the other walk without end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted ExploreRecursive depth (go-graphsync: 100).
    pub max_recursion_depth: u64,
    /// Whether `{"none": {}}` recursion is accepted (go-graphsync: no).
    pub allow_unbounded_recursion: bool,
    /// Most links loaded in one traversal (`None`: no limit, as go's default;
    /// default [`DEFAULT_MAX_LINKS`]); beyond it [`Error::LinkBudget`].
    pub max_links: Option<u64>,
    /// Largest selector state (see `Sel::weight`: one per union member and
    /// recursion level) reached at any node; beyond it
    /// [`Error::SelectorState`]. Default [`DEFAULT_MAX_SELECTOR_STATE`]; a
    /// selector without nested recursion never needs more than twice its
    /// own size.
    pub max_selector_state: usize,
    /// Largest selector accepted, in [`Selector::size`] (nodes and field
    /// names; default [`DEFAULT_MAX_SELECTOR_SIZE`]); beyond it
    /// [`Error::SelectorTooLarge`], which a responder answers with 30.
    pub max_selector_size: usize,
    /// Most work units (children of a node examined, weighted by the size of
    /// the selector state there) in one traversal; beyond it
    /// [`Error::WorkBudget`]. Default [`DEFAULT_MAX_WORK`] (a few seconds of
    /// CPU); bounds a walk over huge nodes that loads few links.
    pub max_work: u64,
}

impl Default for Limits {
    /// go-graphsync's selector limits (depth at most 100, no unbounded
    /// recursion) and our budgets: [`DEFAULT_MAX_LINKS`] links,
    /// [`DEFAULT_MAX_SELECTOR_STATE`], [`DEFAULT_MAX_WORK`].
    fn default() -> Self {
        Limits {
            max_recursion_depth: DEFAULT_MAX_RECURSION_DEPTH,
            allow_unbounded_recursion: false,
            max_links: Some(DEFAULT_MAX_LINKS),
            max_selector_state: DEFAULT_MAX_SELECTOR_STATE,
            max_selector_size: DEFAULT_MAX_SELECTOR_SIZE,
            max_work: DEFAULT_MAX_WORK,
        }
    }
}

/// What to do with the block being loaded.
#[derive(Debug)]
enum Pending {
    /// Walk it with this selector.
    Walk(Arc<Sel>),
    /// It is the next node of the HAMT lookup on top of the stack.
    HamtChild,
}

/// Which children of a node remain to be visited.
#[derive(Debug)]
enum Cursor {
    /// All children in block order: the next one's offset and index.
    All { pos: usize, index: u64 },
    /// The selector's interests, next position, and the next index of a range
    /// being expanded with its offset (so a range reads the list once).
    Interests(Arc<[Interest]>, usize, Option<(i64, usize)>),
}

#[derive(Debug)]
enum Frame {
    /// Visiting the children of a map or list.
    Node {
        node: Node,
        sel: Arc<Sel>,
        cursor: Cursor,
    },
    /// A HAMT interpreted as a map: the keys to look up, in order.
    HamtMap {
        root: Item,
        layout: HamtLayout,
        fields: Arc<Sel>,
        names: Vec<String>,
        pos: usize,
    },
    /// Walking one key's path down the HAMT.
    HamtLookup {
        node: Item,
        depth: u32,
        key: Vec<u8>,
        hash: hamt::KeyHash,
        bit_width: u32,
        /// The selector for the value found.
        then: Arc<Sel>,
    },
}

/// A resumable selector traversal.
///
/// ```
/// use tau_graphsync::traversal::{Limits, Traversal};
/// use tau_graphsync::Selector;
/// use tau_ipld::{Blockstore, MemoryBlockstore, block::{DAG_CBOR, RAW}};
///
/// let store = MemoryBlockstore::new();
/// let leaf = store.put(RAW, b"leaf")?;
/// // A DAG-CBOR list [leaf]: 81 d8 2a 58 27 00 ‖ CID.
/// let mut node = vec![0x81, 0xd8, 0x2a, 0x58, 0x27, 0x00];
/// node.extend_from_slice(&leaf.to_bytes());
/// let root = store.put(DAG_CBOR, &node)?;
///
/// let mut t = Traversal::new(root, &Selector::explore_all_recursively(10), &Limits::default())?;
/// let mut order = Vec::new();
/// while let Some(cid) = t.next_link()? {
///     order.push(cid);
///     t.provide(store.get(&cid)?.as_deref())?;
/// }
/// assert_eq!(order, [root, leaf]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Traversal {
    stack: Vec<Frame>,
    /// The link being loaded and what to do with it.
    want: Option<(Cid, Pending)>,
    links: u64,
    work: u64,
    /// The largest selector state reached so far.
    peak_state: usize,
    limits: Limits,
}

impl Traversal {
    /// A traversal of `selector` from `root`. Checks the selector against
    /// `limits` first ([`Error::RecursionLimit`]).
    pub fn new(root: Cid, selector: &Selector, limits: &Limits) -> Result<Self> {
        selector.check_depth(limits.max_recursion_depth, limits.allow_unbounded_recursion)?;
        let size = selector.size();
        if size > limits.max_selector_size {
            return Err(Error::SelectorTooLarge {
                size,
                max: limits.max_selector_size,
            });
        }
        Ok(Traversal {
            stack: Vec::new(),
            want: Some((root, Pending::Walk(Sel::compile(selector)))),
            links: 0,
            work: 0,
            peak_state: 0,
            limits: *limits,
        })
    }

    /// Links handed out so far (blocks loaded or asked for).
    pub fn links(&self) -> u64 {
        self.links
    }

    /// Work units spent so far (see [`Limits::max_work`]).
    pub fn work(&self) -> u64 {
        self.work
    }

    /// The largest selector state reached so far (see
    /// [`Limits::max_selector_state`]).
    pub fn peak_selector_state(&self) -> usize {
        self.peak_state
    }

    /// The next link the traversal needs, `None` once it is complete. The same
    /// link is returned until [`provide`](Self::provide) is called.
    pub fn next_link(&mut self) -> Result<Option<Cid>> {
        loop {
            if let Poll::Ready(next) = self.poll_link(u64::MAX)? {
                return Ok(next);
            }
        }
    }

    /// As [`next_link`](Self::next_link), but spends at most about `work`
    /// work units (see [`Limits::max_work`]) looking: `Poll::Pending` when
    /// they are spent first (call again to go on). A responder uses this to
    /// answer in bounded slices of CPU, so a cancel is seen soon.
    pub fn poll_link(&mut self, work: u64) -> Result<Poll<Option<Cid>>> {
        let until = self.work.saturating_add(work);
        loop {
            if let Some((cid, _)) = &self.want {
                return Ok(Poll::Ready(Some(*cid)));
            }
            if self.work >= until {
                return Ok(Poll::Pending);
            }
            if !self.advance()? {
                return Ok(Poll::Ready(None));
            }
        }
    }

    /// Supplies the block of the link returned by [`next_link`](Self::next_link):
    /// `Some(data)` to walk it, `None` if it is unavailable (its subtree is skipped).
    pub fn provide(&mut self, block: Option<&[u8]>) -> Result<()> {
        let shared = match (block, self.want.as_ref()) {
            // Only DAG-CBOR blocks are kept while walked; raw ones are leaves.
            (Some(data), Some((cid, _))) if cid.codec() == DAG_CBOR => {
                Some(Bytes::copy_from_slice(data))
            }
            (Some(_), _) => Some(Bytes::new()),
            (None, _) => None,
        };
        self.provide_shared(shared)
    }

    /// As [`provide`](Self::provide), with the block as shared bytes (not
    /// copied). While the walk is inside a block it holds these bytes, not a
    /// decoded copy.
    pub fn provide_shared(&mut self, block: Option<Bytes>) -> Result<()> {
        let (cid, pending) = self
            .want
            .take()
            .ok_or(Error::TraversalState("no link is being loaded"))?;
        if let Some(max) = self.limits.max_links {
            if self.links >= max {
                return Err(Error::LinkBudget(max));
            }
        }
        self.links += 1;
        match (pending, block) {
            (Pending::Walk(_), None) => Ok(()),
            (Pending::Walk(sel), Some(data)) => match decode(&cid, data)? {
                Some(item) => self.enter(item, sel),
                None if matches!(*sel, Sel::Interpret(..)) => {
                    Err(Error::MalformedHamt("raw block interpreted as a HAMT"))
                }
                None => Ok(()),
            },
            (Pending::HamtChild, None) => {
                self.stack.pop();
                Ok(())
            }
            (Pending::HamtChild, Some(data)) => {
                if cid.codec() != DAG_CBOR {
                    return Err(Error::MalformedHamt("HAMT child is not DAG-CBOR"));
                }
                let child = decode(&cid, data)?
                    .ok_or(Error::MalformedHamt("HAMT child is not DAG-CBOR"))?;
                match self.stack.last_mut() {
                    Some(Frame::HamtLookup { node, depth, .. }) => {
                        *node = child;
                        *depth += 1;
                        Ok(())
                    }
                    _ => Err(Error::TraversalState("HAMT lookup frame lost")),
                }
            }
        }
    }

    /// Starts walking `item` with `sel` (go's `walkAdv` on entry).
    fn enter(&mut self, item: Item, sel: Arc<Sel>) -> Result<()> {
        if let Sel::Interpret(layout, fields) = &*sel {
            let names = match fields.interests() {
                Some(list) => list
                    .iter()
                    .filter_map(|i| match i {
                        Interest::Field(name) => Some(name.clone()),
                        _ => None,
                    })
                    .collect(),
                None => return Err(Error::UnsupportedSelector("iterating a whole HAMT".into())),
            };
            self.stack.push(Frame::HamtMap {
                root: item,
                layout: *layout,
                fields: fields.clone(),
                names,
                pos: 0,
            });
            return Ok(());
        }
        let Item::Node(node) = item else {
            return Ok(());
        };
        let cursor = match sel.interests() {
            Some(list) if list.is_empty() => return Ok(()),
            Some(list) => Cursor::Interests(list, 0, None),
            None => Cursor::All {
                pos: node.first(),
                index: 0,
            },
        };
        self.stack.push(Frame::Node { node, sel, cursor });
        Ok(())
    }

    /// Counts the work of exploring one child (`cost`) and checks the state
    /// it produced against the limits.
    fn charge(&mut self, cost: u64, next: Option<&Arc<Sel>>) -> Result<()> {
        self.work = self.work.saturating_add(cost);
        if self.work > self.limits.max_work {
            return Err(Error::WorkBudget(self.limits.max_work));
        }
        if let Some(next) = next {
            let weight = next.weight();
            self.peak_state = self.peak_state.max(weight);
            if weight > self.limits.max_selector_state {
                return Err(Error::SelectorState(self.limits.max_selector_state));
            }
        }
        Ok(())
    }

    /// Explores a child reached at `seg` with `sel_next` (go's `explore`).
    fn explore_child(&mut self, child: Item, sel_next: Arc<Sel>) -> Result<()> {
        match child {
            Item::Link(cid) => {
                self.want = Some((cid, Pending::Walk(sel_next)));
                self.trim()
            }
            Item::Node(node) => self.enter(Item::Node(node), sel_next),
            _ if matches!(*sel_next, Sel::Interpret(..)) => {
                Err(Error::MalformedHamt("scalar interpreted as a HAMT"))
            }
            _ => Ok(()),
        }
    }

    /// Before a link is loaded, lets the frames below it drop what they no
    /// longer need: trailing scalar children of an all-children walk are
    /// visited now (they load nothing), and a frame with nothing left is
    /// popped. So the stack does not hold a block for the scalars after its
    /// last link (a chain of `[link, 4 MiB of bytes]` blocks holds one block,
    /// not all of them).
    fn trim(&mut self) -> Result<()> {
        loop {
            let Some(Frame::Node { node, sel, cursor }) = self.stack.last_mut() else {
                return Ok(());
            };
            let (cost, next) = match cursor {
                Cursor::All { pos, index } => {
                    if *index >= node.len() {
                        self.stack.pop();
                        continue;
                    }
                    let (seg, value) = if node.is_list() {
                        (Segment::Index(*index as i64), *pos)
                    } else {
                        let (key, value) = node.key(*pos)?;
                        (Segment::Field(key.to_string()), value)
                    };
                    if !matches!(node::item(node.data(), value)?, Item::Other) {
                        return Ok(());
                    }
                    let (end, items) = node.skip(value)?;
                    *pos = end;
                    *index += 1;
                    let cost = (sel.weight() as u64).saturating_add(items);
                    (cost, sel.explore(node.is_list(), &seg))
                }
                Cursor::Interests(list, pos, range_next) => {
                    if *pos >= list.len() && range_next.is_none() {
                        self.stack.pop();
                        continue;
                    }
                    return Ok(());
                }
            };
            self.charge(cost, next.as_ref())?;
            if next.is_some_and(|n| matches!(*n, Sel::Interpret(..))) {
                return Err(Error::MalformedHamt("scalar interpreted as a HAMT"));
            }
        }
    }

    /// Bytes of the blocks the traversal holds now (each block once).
    pub fn held_bytes(&self) -> usize {
        let mut seen: Vec<*const u8> = Vec::new();
        let mut total = 0;
        for frame in &self.stack {
            let data = match frame {
                Frame::Node { node, .. } => Some(node.data()),
                Frame::HamtMap {
                    root: Item::Node(n),
                    ..
                }
                | Frame::HamtLookup {
                    node: Item::Node(n),
                    ..
                } => Some(n.data()),
                _ => None,
            };
            if let Some(data) = data {
                if !seen.contains(&data.as_ptr()) {
                    seen.push(data.as_ptr());
                    total += data.len();
                }
            }
        }
        total
    }

    /// Makes one step of progress; `false` when the traversal is over.
    fn advance(&mut self) -> Result<bool> {
        let Some(frame) = self.stack.last_mut() else {
            return Ok(false);
        };
        match frame {
            Frame::Node { node, sel, cursor } => {
                let is_list = node.is_list();
                let (next, scanned) = next_child(node, cursor)?;
                let Some((seg, child)) = next else {
                    self.stack.pop();
                    return self.charge(scanned, None).map(|()| true);
                };
                let cost = (sel.weight() as u64).saturating_add(scanned);
                let sel_next = sel.explore(is_list, &seg);
                self.charge(cost, sel_next.as_ref())?;
                if let Some(sel_next) = sel_next {
                    self.explore_child(child, sel_next)?;
                }
            }
            Frame::HamtMap {
                root,
                layout,
                fields,
                names,
                pos,
            } => {
                let Some(name) = names.get(*pos).cloned() else {
                    self.stack.pop();
                    return Ok(true);
                };
                *pos += 1;
                let key = layout.key(&name)?;
                let cost = fields.weight() as u64;
                let then = fields.explore(false, &Segment::Field(name));
                let (root, bit_width) = (root.clone(), layout.bit_width());
                self.charge(cost, then.as_ref())?;
                let Some(then) = then else {
                    return Ok(true);
                };
                let frame = Frame::HamtLookup {
                    node: root,
                    depth: 0,
                    hash: hamt::key_hash(&key),
                    key,
                    bit_width,
                    then,
                };
                self.stack.push(frame);
            }
            Frame::HamtLookup {
                node,
                depth,
                key,
                hash,
                bit_width,
                then,
            } => {
                let found = match hamt::step(node, key, hash, *depth, *bit_width)? {
                    hamt::Step::Child(cid) => {
                        self.want = Some((cid, Pending::HamtChild));
                        return Ok(true);
                    }
                    hamt::Step::Absent => None,
                    hamt::Step::Found(value) => Some((value, then.clone())),
                };
                self.stack.pop();
                if let Some((child, then)) = found {
                    self.explore_child(child, then)?;
                }
            }
        }
        Ok(true)
    }
}

/// The next child of `node` per `cursor`, advancing it, and the items read
/// to find it (work).
fn next_child(node: &Node, cursor: &mut Cursor) -> Result<(Option<(Segment, Item)>, u64)> {
    let mut scanned = 0u64;
    loop {
        match cursor {
            Cursor::All { pos, index } => {
                if *index >= node.len() {
                    return Ok((None, scanned));
                }
                let (seg, value) = if node.is_list() {
                    (Segment::Index(*index as i64), *pos)
                } else {
                    let (key, value) = node.key(*pos)?;
                    (Segment::Field(key.to_string()), value)
                };
                let child = node::item(node.data(), value)?;
                let (end, items) = node.skip(value)?;
                *pos = end;
                *index += 1;
                return Ok((Some((seg, child)), scanned.saturating_add(items)));
            }
            Cursor::Interests(list, pos, range_next) => {
                let Some(interest) = list.get(*pos) else {
                    return Ok((None, scanned));
                };
                let (seg, found) = match interest {
                    Interest::Field(name) => {
                        *pos += 1;
                        let (found, n) = node.lookup_field(name)?;
                        scanned = scanned.saturating_add(n);
                        (Segment::Field(name.clone()), found)
                    }
                    Interest::Index(i) => {
                        *pos += 1;
                        let (found, n) = node.lookup_index(*i)?;
                        scanned = scanned.saturating_add(n);
                        (Segment::Index(*i), found)
                    }
                    Interest::Range(start, end) => {
                        // Ranges only select list elements: clamp to the list.
                        let len = if node.is_list() {
                            i64::try_from(node.len()).unwrap_or(i64::MAX)
                        } else {
                            0
                        };
                        let (i, at) = match *range_next {
                            Some(next) => next,
                            None => {
                                let first = (*start).max(0);
                                if first >= (*end).min(len) {
                                    (first, 0)
                                } else {
                                    let (at, n) = node.lookup_index(first)?;
                                    scanned = scanned.saturating_add(n);
                                    let at = at.ok_or(Error::TraversalState(
                                        "range start not found in the list",
                                    ))?;
                                    (first, at)
                                }
                            }
                        };
                        if i >= (*end).min(len) {
                            *pos += 1;
                            *range_next = None;
                            continue;
                        }
                        let (after, n) = node.skip(at)?;
                        scanned = scanned.saturating_add(n);
                        *range_next = Some((i + 1, after));
                        (Segment::Index(i), Some(at))
                    }
                };
                if let Some(at) = found {
                    let child = node::item(node.data(), at)?;
                    return Ok((Some((seg, child)), scanned));
                }
            }
        }
    }
}

/// Checks a block for walking: `Some` item for DAG-CBOR (read in place), `None`
/// for a raw leaf.
fn decode(cid: &Cid, data: Bytes) -> Result<Option<Item>> {
    let bad = |e: Error| Error::BlockDecode {
        cid: Box::new(*cid),
        reason: e.to_string(),
    };
    match cid.codec() {
        DAG_CBOR => {
            dagcbor::check_dag(&data).map_err(bad)?;
            node::root(data).map(Some).map_err(bad)
        }
        RAW => Ok(None),
        codec => Err(Error::UnsupportedCodec {
            cid: Box::new(*cid),
            codec,
        }),
    }
}

/// What a traversal over a store loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinksLoaded {
    /// Every link loaded, in order (missing ones included).
    pub links: Vec<Cid>,
    /// The links whose blocks the store lacked (their subtrees were skipped).
    pub missing: Vec<Cid>,
}

/// Runs `selector` from `root` over `store` and reports the links it loads,
/// in order, and which of them are missing.
pub fn walk<BS: Blockstore + ?Sized>(
    store: &BS,
    root: Cid,
    selector: &Selector,
    limits: &Limits,
) -> Result<LinksLoaded> {
    let mut t = Traversal::new(root, selector, limits)?;
    let mut out = LinksLoaded::default();
    while let Some(cid) = t.next_link()? {
        let block = store.get(&cid)?;
        out.links.push(cid);
        if block.is_none() {
            out.missing.push(cid);
        }
        t.provide(block.as_deref())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
