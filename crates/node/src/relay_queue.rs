//! The queue of transactions peers relay with their head requests, fair
//! across peers.
//!
//! Each peer has a FIFO of its own, at most `per_peer` entries, and all of
//! them together hold at most `total` (so at most `total` peers have
//! entries: each holds one at least). [`RelayQueue::take`] serves the peers
//! round-robin, one entry per peer per turn, in peer order from where the
//! last take stopped: a peer with entries is served within one take of
//! `peers` entries, whoever else queues.
//!
//! A full queue still takes an entry from a peer that holds fewer than the
//! longest queue minus one: the longest queue's newest entry makes room (the
//! longest by entries, the largest peer among equals). So many peer ids
//! (ids are free) cannot keep a peer below its share, `total` over the peers
//! with entries, by filling the queue first: they only share it with it.
//!
//! Deterministic: no clock, no randomness; the same pushes and takes give the
//! same queue.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;

/// Why [`RelayQueue::push`] refused an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refused {
    /// The peer already holds its bound.
    #[error("the peer holds {0} relayed entries, its bound")]
    PeerFull(usize),
    /// The queue holds its bound and no peer holds more than the asker
    /// would.
    #[error("the relayed queue holds {0} entries, its bound, shared fairly")]
    Full(usize),
}

/// High-water marks and counts since the queue was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Marks {
    /// Most entries queued at once.
    pub(crate) most_queued: usize,
    /// Most entries one peer held at once.
    pub(crate) most_per_peer: usize,
    /// Most peers with entries at once.
    pub(crate) most_peers: usize,
    /// Entries refused.
    pub(crate) refused: u64,
    /// Entries dropped to make room for a peer with fewer.
    pub(crate) displaced: u64,
}

/// Per-peer FIFOs drained round-robin, bounded per peer and in total.
#[derive(Debug)]
pub(crate) struct RelayQueue<K, T> {
    per_peer: usize,
    total: usize,
    queues: BTreeMap<K, VecDeque<T>>,
    /// `(entries, peer)` for every peer with entries: the longest last.
    by_len: BTreeSet<(usize, K)>,
    /// Entries in all queues.
    len: usize,
    /// The peer the last take served last (the next turn starts after it).
    last: Option<K>,
    marks: Marks,
}

impl<K: Ord + Clone, T> RelayQueue<K, T> {
    /// An empty queue holding at most `per_peer` entries of a peer and
    /// `total` in all (`per_peer` ≤ `total`; both at least 1).
    pub(crate) fn new(per_peer: usize, total: usize) -> Self {
        let total = total.max(1);
        Self {
            per_peer: per_peer.clamp(1, total),
            total,
            queues: BTreeMap::new(),
            by_len: BTreeSet::new(),
            len: 0,
            last: None,
            marks: Marks::default(),
        }
    }

    /// Entries queued.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Peers with entries.
    pub(crate) fn peers(&self) -> usize {
        self.queues.len()
    }

    /// Entries `peer` holds.
    pub(crate) fn queued_by(&self, peer: &K) -> usize {
        self.queues.get(peer).map_or(0, VecDeque::len)
    }

    /// Entries the longest queue holds.
    pub(crate) fn longest(&self) -> usize {
        self.by_len.last().map_or(0, |(n, _)| *n)
    }

    /// High-water marks and counts.
    pub(crate) fn marks(&self) -> Marks {
        self.marks
    }

    /// Whether `peer` can queue one more entry (the check [`push`](Self::push)
    /// makes, without the entry): lets a caller skip work on an entry that
    /// would be refused anyway.
    pub(crate) fn has_room_for(&self, peer: &K) -> bool {
        let mine = self.queued_by(peer);
        mine < self.per_peer && (self.len < self.total || self.longest() > mine + 1)
    }

    /// Queues `entry` at the back of `peer`'s FIFO, making room in the
    /// longest queue if the queue is full and that one holds more than
    /// `peer` would after the push.
    pub(crate) fn push(&mut self, peer: K, entry: T) -> Result<(), Refused> {
        let mine = self.queued_by(&peer);
        if mine >= self.per_peer {
            self.marks.refused += 1;
            return Err(Refused::PeerFull(mine));
        }
        if self.len >= self.total {
            match self.by_len.last() {
                Some((longest, victim)) if *longest > mine + 1 => {
                    let victim = victim.clone();
                    self.drop_newest(&victim);
                    self.marks.displaced += 1;
                }
                _ => {
                    self.marks.refused += 1;
                    return Err(Refused::Full(self.len));
                }
            }
        }
        self.by_len.remove(&(mine, peer.clone()));
        self.by_len.insert((mine + 1, peer.clone()));
        self.queues.entry(peer).or_default().push_back(entry);
        self.len += 1;
        let marks = &mut self.marks;
        marks.most_queued = marks.most_queued.max(self.len);
        marks.most_per_peer = marks.most_per_peer.max(mine + 1);
        marks.most_peers = marks.most_peers.max(self.queues.len());
        Ok(())
    }

    /// Takes at most `max` entries, one per peer per turn, each peer's
    /// oldest first, peers in order from where the last take stopped.
    pub(crate) fn take(&mut self, max: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(max.min(self.len));
        while out.len() < max {
            let Some(peer) = self.next_peer() else {
                break;
            };
            if let Some(entry) = self.pop_oldest(&peer) {
                out.push(entry);
            }
            self.last = Some(peer);
        }
        out
    }

    /// The peer after `last` with entries, wrapping around.
    fn next_peer(&self) -> Option<K> {
        let after = match &self.last {
            Some(last) => self
                .queues
                .range((Bound::Excluded(last), Bound::Unbounded))
                .next(),
            None => None,
        };
        after
            .or_else(|| self.queues.iter().next())
            .map(|(k, _)| k.clone())
    }

    fn pop_oldest(&mut self, peer: &K) -> Option<T> {
        self.pop(peer, VecDeque::pop_front)
    }

    fn drop_newest(&mut self, peer: &K) {
        drop(self.pop(peer, VecDeque::pop_back));
    }

    /// Pops one entry of `peer` with `pop`, keeping the index and the count.
    fn pop(&mut self, peer: &K, pop: fn(&mut VecDeque<T>) -> Option<T>) -> Option<T> {
        let queue = self.queues.get_mut(peer)?;
        let had = queue.len();
        let entry = pop(queue)?;
        let left = queue.len();
        if left == 0 {
            self.queues.remove(peer);
        }
        self.by_len.remove(&(had, peer.clone()));
        if left > 0 {
            self.by_len.insert((left, peer.clone()));
        }
        self.len -= 1;
        Some(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bounds_per_peer_and_in_total() {
        let mut q = RelayQueue::new(3, 5);
        for i in 0..3 {
            q.push(1u8, i).unwrap();
        }
        assert_eq!(q.push(1, 3), Err(Refused::PeerFull(3)));
        q.push(2, 10).unwrap();
        q.push(2, 11).unwrap();
        assert_eq!(q.len(), 5);
        // Full; peer 2 holds 2 and peer 1 holds 3: no peer holds more than
        // 2 would after the push.
        assert_eq!(q.push(2, 12), Err(Refused::Full(5)));
        // A newcomer holds nothing: the longest queue's newest makes room.
        q.push(3, 20).unwrap();
        assert_eq!((q.len(), q.queued_by(&1), q.queued_by(&3)), (5, 2, 1));
        assert_eq!(q.marks().displaced, 1);
        assert_eq!(q.marks().refused, 2);
        assert_eq!(q.marks().most_per_peer, 3);
        // FIFO within a peer, one per peer per turn, peers in order; the
        // displaced entry was peer 1's newest.
        assert_eq!(q.take(10), vec![0, 10, 20, 1, 11]);
        assert!(q.is_empty());
        assert_eq!(q.peers(), 0);
    }

    #[test]
    fn a_take_goes_on_where_the_last_stopped() {
        let mut q = RelayQueue::new(10, 100);
        for peer in 0..4u8 {
            for i in 0..3 {
                q.push(peer, (peer, i)).unwrap();
            }
        }
        assert_eq!(q.take(3), vec![(0, 0), (1, 0), (2, 0)]);
        // Peer 3 is served first in the next take, then the ring wraps.
        assert_eq!(q.take(2), vec![(3, 0), (0, 1)]);
        // A peer that joins before the cursor waits for the wrap.
        q.push(0, (0, 9)).unwrap();
        assert_eq!(q.take(4), vec![(1, 1), (2, 1), (3, 1), (0, 2)]);
    }

    #[test]
    fn a_flooding_peer_does_not_starve_another() {
        // One peer relays 64 per request, 100 requests between takes of 512;
        // another relays one entry once.
        let mut q = RelayQueue::new(256, 4096);
        let mut honest_served = None;
        for tick in 0..10 {
            for i in 0..6400 {
                let _ = q.push("flood", i);
            }
            if tick == 3 {
                q.push("honest", -1).unwrap();
            }
            if q.take(512).contains(&-1) {
                honest_served = Some(tick);
            }
            assert!(q.queued_by(&"flood") <= 256);
        }
        assert_eq!(honest_served, Some(3));
    }

    #[test]
    fn many_ids_filling_the_queue_only_share_it() {
        // 4096 ids each holding one entry fill it: a newcomer still gets
        // in once one of them holds two.
        let mut q = RelayQueue::new(256, 4096);
        for id in 0..4096u32 {
            q.push(id, id).unwrap();
        }
        assert_eq!(q.push(5_000, 0), Err(Refused::Full(4096)));
        // 16 ids holding 256 each fill it: a newcomer gets in.
        let mut q = RelayQueue::new(256, 4096);
        for id in 0..16u32 {
            for i in 0..256 {
                q.push(id, i).unwrap();
            }
        }
        assert!(q.has_room_for(&99));
        q.push(99, 7).unwrap();
        assert_eq!((q.len(), q.longest()), (4096, 256));
        assert_eq!(q.queued_by(&15), 255);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(u8, u16),
        Take(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            8 => (0u8..12, 0u16..64).prop_map(|(p, n)| Op::Push(p, n)),
            1 => (0usize..40).prop_map(Op::Take),
        ]
    }

    proptest! {
        #[test]
        fn invariants_hold(
            per_peer in 1usize..8,
            total in 1usize..32,
            ops in proptest::collection::vec(op(), 1..200),
        ) {
            let mut q = RelayQueue::new(per_peer, total);
            let per_peer = per_peer.min(total);
            // What each peer pushed and was not dropped, oldest first.
            let mut model: BTreeMap<u8, VecDeque<(u8, u32)>> = BTreeMap::new();
            let mut seq = 0u32;
            for op in ops {
                match op {
                    Op::Push(peer, n) => {
                        for _ in 0..n {
                            seq += 1;
                            let before = q.queued_by(&peer);
                            let room = q.has_room_for(&peer);
                            let longest_before = q.longest();
                            let pushed = q.push(peer, (peer, seq));
                            prop_assert_eq!(room, pushed.is_ok());
                            if pushed.is_ok() {
                                model.entry(peer).or_default().push_back((peer, seq));
                                // A displacement drops the newest of a
                                // longest queue, never the pusher's.
                                let in_model: usize = model.values().map(VecDeque::len).sum();
                                if in_model > q.len() {
                                    prop_assert!(longest_before > before + 1);
                                    let victim = model
                                        .iter()
                                        .filter(|(p, v)| **p != peer && v.len() == longest_before)
                                        .map(|(p, _)| *p)
                                        .next_back();
                                    let victim = victim.unwrap();
                                    model.get_mut(&victim).unwrap().pop_back();
                                }
                            }
                            prop_assert!(q.len() <= total);
                            prop_assert!(q.longest() <= per_peer);
                            prop_assert!(q.peers() <= q.len());
                        }
                    }
                    Op::Take(max) => {
                        let peers_before: Vec<u8> = model
                            .iter()
                            .filter(|(_, v)| !v.is_empty())
                            .map(|(p, _)| *p)
                            .collect();
                        let taken = q.take(max);
                        prop_assert_eq!(taken.len(), max.min(
                            model.values().map(VecDeque::len).sum::<usize>()));
                        // FIFO within a peer: each taken entry is its
                        // peer's oldest left.
                        for (peer, seq) in &taken {
                            let front = model.get_mut(peer).unwrap().pop_front();
                            prop_assert_eq!(front, Some((*peer, *seq)));
                        }
                        // Round-robin: a take of at least as many entries
                        // as there are peers with entries serves each.
                        if max >= peers_before.len() {
                            for p in &peers_before {
                                prop_assert!(taken.iter().any(|(t, _)| t == p));
                            }
                        }
                        // No peer is served twice before every other peer
                        // with entries was served once.
                        let mut counts: BTreeMap<u8, usize> = BTreeMap::new();
                        for (p, _) in &taken {
                            *counts.entry(*p).or_default() += 1;
                        }
                        let most = counts.values().copied().max().unwrap_or(0);
                        let fewest = peers_before
                            .iter()
                            .map(|p| counts.get(p).copied().unwrap_or(0))
                            .min()
                            .unwrap_or(0);
                        let emptied = peers_before
                            .iter()
                            .any(|p| model.get(p).is_none_or(VecDeque::is_empty));
                        if !emptied {
                            prop_assert!(most <= fewest + 1);
                        }
                    }
                }
                let in_model: usize = model.values().map(VecDeque::len).sum();
                prop_assert_eq!(in_model, q.len());
                for (p, v) in &model {
                    prop_assert_eq!(v.len(), q.queued_by(p));
                }
            }
        }
    }
}
