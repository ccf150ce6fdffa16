//! The peer table: every peer process B knows, bounded, healing.
//!
//! Peer ids arrive from anywhere (head answers list 32 each, discovery walks
//! find more), so the table must not fill with ids that never answer. Rules:
//! * at most [`Params::max_peers`] entries;
//! * an ask unanswered for a pass timeout has failed; a peer that never
//!   answered is dropped at its first failed ask, one that answered before
//!   and proves no miner address after [`Params::max_failed_asks`] failed
//!   asks in a row; a dropped peer is refused for
//!   [`Params::drop_cooldown`] seconds after (it would come straight back
//!   through the next peer list otherwise); a proven miner is kept while its
//!   address stays proven (a partition must not make a node forget the
//!   miners it has to count);
//! * when the table is full, a newcomer takes the place of a peer that
//!   proves no miner address (never answered first, then most failures, then
//!   the oldest), never the place of a proven miner; if every entry is a
//!   proven miner, the newcomer is refused;
//! * only peers that answered at least once are worth persisting.

use std::collections::BTreeMap;

use tau_keys::Address;

use crate::miners::ProvenMiners;
use crate::params::Params;

/// What the table knows of one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRecord {
    /// The TAU address its identity proves, if any (a secp256k1 peer id).
    pub address: Option<Address>,
    /// When it was learned (seconds).
    pub added_at: u64,
    /// Answers ever counted from it.
    pub answers: u64,
    /// When it last answered (seconds).
    pub last_answer: Option<u64>,
    /// Asks failed in a row.
    pub failed_asks: u32,
    /// When the ask still waiting for an answer was sent (seconds).
    pub pending_ask: Option<u64>,
    /// Failed or garbled exchanges in a row that are its fault.
    pub strikes: u32,
    /// It said it does not mine (asked no more; it may still serve blocks).
    pub light: bool,
}

/// What [`PeerTable::add`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission<P> {
    /// Already known.
    Known,
    /// Added.
    Added,
    /// Added in place of this peer, dropped.
    Replaced(P),
    /// Not added: the table is full of proven miners, or the peer was
    /// dropped lately.
    Refused,
}

/// The bounded table of known peers.
#[derive(Debug, Clone)]
pub struct PeerTable<P> {
    capacity: usize,
    max_failed_asks: u32,
    cooldown: u64,
    peers: BTreeMap<P, PeerRecord>,
    /// Peers dropped lately, with the time they may come back.
    dropped: BTreeMap<P, u64>,
}

impl<P: Ord + Clone> PeerTable<P> {
    /// An empty table with `params`' bounds.
    pub fn new(params: &Params) -> Self {
        Self {
            capacity: params.max_peers.max(1),
            max_failed_asks: params.max_failed_asks.max(1),
            cooldown: params.drop_cooldown,
            peers: BTreeMap::new(),
            dropped: BTreeMap::new(),
        }
    }

    /// Learns `peer` (whose identity proves `address`, if any) at `now`.
    pub fn add(
        &mut self,
        peer: P,
        address: Option<Address>,
        miners: &ProvenMiners,
        now: u64,
    ) -> Admission<P> {
        if self.peers.contains_key(&peer) {
            return Admission::Known;
        }
        if self.dropped.get(&peer).is_some_and(|until| now < *until) {
            return Admission::Refused;
        }
        self.dropped.remove(&peer);
        let record = PeerRecord {
            address,
            added_at: now,
            answers: 0,
            last_answer: None,
            failed_asks: 0,
            pending_ask: None,
            strikes: 0,
            light: false,
        };
        if self.peers.len() < self.capacity {
            self.peers.insert(peer, record);
            return Admission::Added;
        }
        let proven = |r: &PeerRecord| r.address.is_some_and(|a| miners.contains(&a));
        if address.is_some_and(|a| !miners.contains(&a)) || address.is_none() {
            // A newcomer that proves nothing replaces only a peer that never
            // answered: answering peers keep their place.
            let victim = self
                .peers
                .iter()
                .filter(|(_, r)| !proven(r) && r.answers == 0)
                .max_by(|(pa, a), (pb, b)| {
                    a.failed_asks
                        .cmp(&b.failed_asks)
                        .then(b.added_at.cmp(&a.added_at))
                        .then(pb.cmp(pa))
                })
                .map(|(p, _)| p.clone());
            return self.replace(victim, peer, record, now);
        }
        // A proven miner replaces any peer that proves nothing.
        let victim = self
            .peers
            .iter()
            .filter(|(_, r)| !proven(r))
            .max_by(|(pa, a), (pb, b)| {
                (a.answers == 0)
                    .cmp(&(b.answers == 0))
                    .then(a.failed_asks.cmp(&b.failed_asks))
                    .then(b.last_answer.cmp(&a.last_answer))
                    .then(b.added_at.cmp(&a.added_at))
                    .then(pb.cmp(pa))
            })
            .map(|(p, _)| p.clone());
        self.replace(victim, peer, record, now)
    }

    fn replace(
        &mut self,
        victim: Option<P>,
        peer: P,
        record: PeerRecord,
        now: u64,
    ) -> Admission<P> {
        let Some(victim) = victim else {
            return Admission::Refused;
        };
        self.drop_peer(&victim, now);
        self.peers.insert(peer, record);
        Admission::Replaced(victim)
    }

    /// Removes `peer` and refuses it for the cooldown.
    pub fn drop_peer(&mut self, peer: &P, now: u64) {
        if self.peers.remove(peer).is_some() {
            if self.dropped.len() >= self.capacity {
                // Forget the refusal that ends first.
                if let Some(first) = self
                    .dropped
                    .iter()
                    .min_by_key(|(_, until)| **until)
                    .map(|(p, _)| p.clone())
                {
                    self.dropped.remove(&first);
                }
            }
            self.dropped
                .insert(peer.clone(), now.saturating_add(self.cooldown));
        }
    }

    /// Removes `peer` for good (marked dishonest: the caller keeps the mark).
    pub fn remove(&mut self, peer: &P) {
        self.peers.remove(peer);
    }

    /// Records an answer from `peer` at `now`.
    pub fn answered(&mut self, peer: &P, now: u64) {
        if let Some(r) = self.peers.get_mut(peer) {
            r.answers = r.answers.saturating_add(1);
            r.last_answer = Some(now);
            r.failed_asks = 0;
            r.pending_ask = None;
        }
    }

    /// Records that `peer` was asked at `now`.
    pub fn asked(&mut self, peer: &P, now: u64) {
        if let Some(r) = self.peers.get_mut(peer) {
            r.pending_ask.get_or_insert(now);
        }
    }

    /// Counts every ask sent `timeout` seconds or more before `now` and still
    /// unanswered as failed; returns the peers dropped for it.
    pub fn expire_asks(&mut self, timeout: u64, miners: &ProvenMiners, now: u64) -> Vec<P> {
        let expired: Vec<P> = self
            .peers
            .iter()
            .filter(|(_, r)| {
                r.pending_ask
                    .is_some_and(|t| t.saturating_add(timeout) <= now)
            })
            .map(|(p, _)| p.clone())
            .collect();
        expired
            .into_iter()
            .filter(|p| self.failed(p, miners, now))
            .collect()
    }

    /// Records an ask that got no answer; returns whether the peer is now
    /// dropped (never a proven miner).
    pub fn failed(&mut self, peer: &P, miners: &ProvenMiners, now: u64) -> bool {
        let Some(r) = self.peers.get_mut(peer) else {
            return false;
        };
        r.failed_asks = r.failed_asks.saturating_add(1);
        r.pending_ask = None;
        let proven = r.address.is_some_and(|a| miners.contains(&a));
        let limit = if r.answers == 0 {
            1
        } else {
            self.max_failed_asks
        };
        if r.failed_asks >= limit && !proven {
            self.drop_peer(peer, now);
            return true;
        }
        false
    }

    /// Adds a strike; returns the strikes in a row.
    pub fn strike(&mut self, peer: &P) -> u32 {
        self.peers.get_mut(peer).map_or(0, |r| {
            r.strikes = r.strikes.saturating_add(1);
            r.strikes
        })
    }

    /// Clears `peer`'s strikes (it answered well).
    pub fn clear_strikes(&mut self, peer: &P) {
        if let Some(r) = self.peers.get_mut(peer) {
            r.strikes = 0;
        }
    }

    /// Records that `peer` does not mine.
    pub fn set_light(&mut self, peer: &P) {
        if let Some(r) = self.peers.get_mut(peer) {
            r.light = true;
        }
    }

    /// The record of `peer`.
    pub fn get(&self, peer: &P) -> Option<&PeerRecord> {
        self.peers.get(peer)
    }

    /// Whether `peer` is in the table.
    pub fn contains(&self, peer: &P) -> bool {
        self.peers.contains_key(peer)
    }

    /// The address `peer` proves, if it is known and proves one.
    pub fn address(&self, peer: &P) -> Option<Address> {
        self.peers.get(peer).and_then(|r| r.address)
    }

    /// All peers, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&P, &PeerRecord)> {
        self.peers.iter()
    }

    /// How many peers are known.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether no peer is known.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use tau_keys::Keypair;

    use super::*;
    use crate::view::{ChainView, ViewEntry};

    fn params(max_peers: usize) -> Params {
        let mut p = Params::devnet();
        p.max_peers = max_peers;
        p
    }

    fn address(seed: u8) -> Address {
        Keypair::from_bytes(&[seed; 32]).unwrap().address()
    }

    fn miners_of(addresses: &[Address]) -> ProvenMiners {
        let key = Keypair::from_bytes(&[1; 32]).unwrap();
        let signature = key.sign(&[0; 32]);
        let entries: Vec<ViewEntry> = addresses
            .iter()
            .enumerate()
            .map(|(i, a)| ViewEntry {
                number: (addresses.len() - i) as u64,
                root: cid::Cid::default(),
                cumulative_difficulty: 0,
                miner: *a,
                signature,
            })
            .collect();
        let mut miners = ProvenMiners::new();
        if let Some(view) = ChainView::from_entries(entries) {
            miners.record(&view);
        }
        miners
    }

    #[test]
    fn a_full_table_of_silent_ids_gives_way_and_miners_keep_their_place() {
        let miner = address(9);
        let miners = miners_of(&[miner]);
        let mut table = PeerTable::new(&params(4));
        assert_eq!(table.add(100u32, Some(miner), &miners, 0), Admission::Added);
        for junk in 0..3u32 {
            assert_eq!(table.add(junk, None, &miners, 0), Admission::Added);
        }
        table.answered(&0, 1);
        // Full: a junk newcomer replaces a junk peer that never answered.
        match table.add(7, None, &miners, 2) {
            Admission::Replaced(victim) => assert!(victim == 1 || victim == 2),
            other => panic!("{other:?}"),
        }
        assert!(table.contains(&100), "the proven miner keeps its place");
        assert!(table.contains(&0), "an answering peer keeps its place");
        // Fill the rest with answering peers: junk is now refused.
        for p in [2u32, 1, 7] {
            table.answered(&p, 3);
        }
        assert_eq!(table.add(8, None, &miners, 4), Admission::Refused);
        // A proven miner still gets in, in place of a peer proving nothing.
        let other = address(10);
        let miners = miners_of(&[miner, other]);
        assert!(matches!(
            table.add(200, Some(other), &miners, 5),
            Admission::Replaced(_)
        ));
        assert!(table.contains(&100) && table.contains(&200));
    }

    #[test]
    fn silent_peers_are_dropped_and_kept_out_for_the_cooldown() {
        let p = params(8);
        let miners = ProvenMiners::new();
        let mut table = PeerTable::new(&p);
        // A peer that never answered goes at its first unanswered ask.
        table.add(1u32, None, &miners, 0);
        table.asked(&1, 0);
        assert!(
            table.expire_asks(5, &miners, 4).is_empty(),
            "not yet expired"
        );
        assert_eq!(table.expire_asks(5, &miners, 5), vec![1]);
        assert!(!table.contains(&1));
        // One that answered before gets max_failed_asks chances.
        table.add(3u32, None, &miners, 0);
        table.answered(&3, 1);
        for i in 1..p.max_failed_asks {
            assert!(!table.failed(&3, &miners, u64::from(i)));
        }
        assert!(table.failed(&3, &miners, 10));
        assert!(!table.contains(&1));
        assert_eq!(table.add(1, None, &miners, 11), Admission::Refused);
        assert_eq!(
            table.add(1, None, &miners, 10 + p.drop_cooldown),
            Admission::Added
        );
        // An answer resets the count.
        table.answered(&1, 1);
        table.failed(&1, &miners, 2);
        table.answered(&1, 3);
        for _ in 1..p.max_failed_asks {
            assert!(!table.failed(&1, &miners, 4));
        }
        assert!(table.contains(&1), "an answer resets the count");
        // A proven miner out of reach is kept, however long the silence.
        let miner = address(9);
        let proven = miners_of(&[miner]);
        table.add(2, Some(miner), &proven, 0);
        for i in 0..3 * p.max_failed_asks {
            assert!(!table.failed(&2, &proven, u64::from(i)));
        }
        assert!(table.contains(&2));
    }
}
