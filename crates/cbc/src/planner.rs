//! Process B's planner: whom to ask next, when a pass is done, when to start over.

use std::collections::BTreeSet;

use rand::Rng;

use crate::params::Params;

/// Whether the node also produces the next state (the TAU design note's two modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Collects votes and produces future states (process A and B).
    Mining,
    /// Only collects votes (process B).
    Light,
}

impl Mode {
    /// Whether this mode runs process A.
    pub fn produces_next_state(self) -> bool {
        self == Mode::Mining
    }
}

/// What to contact next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next<P> {
    /// Ask this mining peer for its next state.
    Peer(P),
    /// No mining peer left to ask: walk through this relay to find peers.
    Relay(P),
    /// Nothing known to ask.
    Idle,
}

/// The random walk of one node over its known peers: each pass asks known
/// mining peers in random order, none twice; a pass is complete once enough
/// of them answered (half by default); a new pass starts when the known
/// mining peers grew by a third or the node was offline for 12 h.
#[derive(Debug, Clone)]
pub struct Planner<P> {
    params: Params,
    mode: Mode,
    mining: BTreeSet<P>,
    relays: BTreeSet<P>,
    asked: BTreeSet<P>,
    answered: BTreeSet<P>,
    known_at_pass_start: usize,
    last_connection: Option<u64>,
    relay_cursor: usize,
}

impl<P: Ord + Clone> Planner<P> {
    /// An empty planner.
    pub fn new(params: Params, mode: Mode) -> Self {
        Self {
            params,
            mode,
            mining: BTreeSet::new(),
            relays: BTreeSet::new(),
            asked: BTreeSet::new(),
            answered: BTreeSet::new(),
            known_at_pass_start: 0,
            last_connection: None,
            relay_cursor: 0,
        }
    }

    /// The node's mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Learns a mining peer.
    pub fn add_mining_peer(&mut self, peer: P) {
        self.mining.insert(peer);
    }

    /// Forgets a peer (e.g. marked dishonest).
    pub fn remove_peer(&mut self, peer: &P) {
        self.mining.remove(peer);
        self.relays.remove(peer);
    }

    /// Learns a relay.
    pub fn add_relay(&mut self, relay: P) {
        self.relays.insert(relay);
    }

    /// Known mining peers.
    pub fn mining_peers(&self) -> &BTreeSet<P> {
        &self.mining
    }

    /// The next peer to ask in this pass, drawn at random among those not
    /// asked yet; a relay when every mining peer was asked.
    pub fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Next<P> {
        self.next_ranked(rng, |_| 0)
    }

    /// Like [`next`](Self::next), but drawn among the unasked peers of the
    /// lowest `rank` (process B asks proven miners first, then peers that
    /// answered before, then the rest).
    pub fn next_ranked<R: Rng + ?Sized>(
        &mut self,
        rng: &mut R,
        rank: impl Fn(&P) -> u8,
    ) -> Next<P> {
        let best = self
            .mining
            .iter()
            .filter(|p| !self.asked.contains(*p))
            .map(&rank)
            .min();
        let unasked: Vec<&P> = self
            .mining
            .iter()
            .filter(|p| !self.asked.contains(*p) && Some(rank(p)) == best)
            .collect();
        if !unasked.is_empty() {
            let pick = rng.random_range(0..unasked.len());
            if let Some(peer) = unasked.get(pick).map(|p| (*p).clone()) {
                self.asked.insert(peer.clone());
                return Next::Peer(peer);
            }
        }
        if self.relays.is_empty() {
            return Next::Idle;
        }
        self.relay_cursor = (self.relay_cursor + 1) % self.relays.len();
        self.relays
            .iter()
            .nth(self.relay_cursor)
            .cloned()
            .map_or(Next::Idle, Next::Relay)
    }

    /// Records an answer from `peer` at time `now` (seconds).
    pub fn answered(&mut self, peer: P, now: u64) {
        self.answered.insert(peer);
        self.last_connection = Some(now);
    }

    /// Peers asked in this pass.
    pub fn asked(&self) -> impl Iterator<Item = &P> {
        self.asked.iter()
    }

    /// Whether `peer` was asked in this pass.
    pub fn was_asked(&self, peer: &P) -> bool {
        self.asked.contains(peer)
    }

    /// Whether `peer` answered in this pass.
    pub fn has_answered(&self, peer: &P) -> bool {
        self.answered.contains(peer)
    }

    /// Peers asked in this pass that have not answered (yet).
    pub fn outstanding(&self) -> usize {
        self.asked.difference(&self.answered).count()
    }

    /// Whether enough peers answered in this pass for the vote to count.
    pub fn pass_complete(&self) -> bool {
        !self.mining.is_empty()
            && self.answered.len() >= self.params.needed_peers(self.mining.len())
    }

    /// Whether every known mining peer was asked in this pass.
    pub fn pass_exhausted(&self) -> bool {
        self.mining.iter().all(|p| self.asked.contains(p))
    }

    /// Whether to start over: the known mining peers grew by the regrowth
    /// share since the pass began, or no connection for `offline_restart` s.
    pub fn should_restart(&self, now: u64) -> bool {
        let grown = (self.mining.len() as u128) * u128::from(self.params.regrowth.den)
            >= (self.known_at_pass_start as u128)
                * u128::from(self.params.regrowth.den + self.params.regrowth.num)
            && self.mining.len() > self.known_at_pass_start;
        let offline = self
            .last_connection
            .is_some_and(|t| now.saturating_sub(t) >= self.params.offline_restart);
        grown || offline
    }

    /// Starts a new pass: nobody asked yet.
    pub fn start_pass(&mut self, now: u64) {
        self.asked.clear();
        self.answered.clear();
        self.known_at_pass_start = self.mining.len();
        if self.last_connection.is_none() {
            self.last_connection = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_pass_asks_each_peer_once_in_random_order() {
        let mut planner = Planner::new(Params::devnet(), Mode::Light);
        for p in 0..10u32 {
            planner.add_mining_peer(p);
        }
        planner.start_pass(0);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut order = Vec::new();
        while let Next::Peer(p) = planner.next(&mut rng) {
            order.push(p);
        }
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_ne!(order, sorted, "the walk should not follow the peer order");
        assert!(planner.pass_exhausted());
        assert!(!planner.pass_complete());
        for p in 0..4 {
            planner.answered(p, 10);
        }
        assert!(!planner.pass_complete());
        planner.answered(4, 10);
        assert!(planner.pass_complete(), "half of 10 answered");
        assert_eq!(planner.outstanding(), 5);
    }

    #[test]
    fn relays_when_no_peer_is_left_and_idle_when_nothing_is_known() {
        let mut planner: Planner<u32> = Planner::new(Params::devnet(), Mode::Mining);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        assert_eq!(planner.next(&mut rng), Next::Idle);
        planner.add_relay(100);
        assert_eq!(planner.next(&mut rng), Next::Relay(100));
        assert!(planner.mode().produces_next_state());
        assert!(!Mode::Light.produces_next_state());
    }

    #[test]
    fn restart_on_a_third_more_peers_or_twelve_hours_offline() {
        let mut planner = Planner::new(Params::mainnet(), Mode::Light);
        for p in 0..9u32 {
            planner.add_mining_peer(p);
        }
        planner.start_pass(1_000);
        assert!(!planner.should_restart(1_000));
        for p in 9..11 {
            planner.add_mining_peer(p);
        }
        assert!(!planner.should_restart(1_000), "11 of 9 is +22 %");
        planner.add_mining_peer(11);
        assert!(planner.should_restart(1_000), "12 of 9 is +33 %");
        planner.start_pass(1_000);
        assert!(!planner.should_restart(1_000 + 12 * 3600 - 1));
        assert!(planner.should_restart(1_000 + 12 * 3600));
        planner.answered(3, 50_000);
        assert!(!planner.should_restart(50_000));
    }
}
