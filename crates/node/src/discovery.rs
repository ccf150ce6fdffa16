//! Peer and relay discovery: a Kademlia routing table (bootstrapped from the
//! configured and persisted peers) walked at random, and identify telling
//! which of the peers found serve the circuit-relay hop protocol. One walk
//! finds both (the TAU design note: "random walk combined").

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use libp2p::kad::{self, store::MemoryStore};
use libp2p::multiaddr::Protocol;
use libp2p::{identify, relay, Multiaddr, PeerId, StreamProtocol};

/// The Kademlia protocol of TAU nodes (kept apart from the IPFS DHT).
pub const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/tau/kad/1.0.0");

/// One Kademlia query (a whole walk) gives up after this long.
const QUERY_TIMEOUT: Duration = Duration::from_secs(20);

/// Relayed circuits close after this long or this many bytes (each way):
/// room for a few states and small attachments, not for bulk traffic.
const MAX_CIRCUIT_DURATION: Duration = Duration::from_secs(10 * 60);
const MAX_CIRCUIT_BYTES: u64 = 64 << 20;

/// The Kademlia behaviour: server mode when the node is reachable directly,
/// client mode behind a NAT (it asks but is not put in others' tables).
pub(crate) fn kademlia(local: PeerId, reachable: bool) -> kad::Behaviour<MemoryStore> {
    let mut config = kad::Config::new(KAD_PROTOCOL);
    config.set_query_timeout(QUERY_TIMEOUT);
    // The node runs its own walks; no records are stored or published.
    config.set_periodic_bootstrap_interval(None);
    config.set_record_ttl(None);
    config.set_provider_record_ttl(None);
    config.set_publication_interval(None);
    config.set_provider_publication_interval(None);
    config.set_replication_interval(None);
    let mut kad = kad::Behaviour::with_config(local, MemoryStore::new(local), config);
    kad.set_mode(Some(if reachable {
        kad::Mode::Server
    } else {
        kad::Mode::Client
    }));
    kad
}

/// The relay server (hop) behaviour with TAU's circuit limits.
pub(crate) fn relay_server(local: PeerId) -> relay::Behaviour {
    let config = relay::Config {
        max_circuit_duration: MAX_CIRCUIT_DURATION,
        max_circuit_bytes: MAX_CIRCUIT_BYTES,
        ..relay::Config::default()
    };
    relay::Behaviour::new(local, config)
}

/// What identify says about a peer that matters to discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identified {
    /// Its dialable listen addresses.
    pub(crate) addrs: Vec<Multiaddr>,
    /// It takes part in the TAU Kademlia table.
    pub(crate) kad: bool,
    /// It serves circuit-relay v2 reservations (hop).
    pub(crate) relay: bool,
}

impl Identified {
    pub(crate) fn of(info: &identify::Info) -> Self {
        let has = |p: &StreamProtocol| info.protocols.iter().any(|q| q == p);
        Self {
            addrs: info
                .listen_addrs
                .iter()
                .filter(|a| is_dialable(a))
                .cloned()
                .collect(),
            kad: has(&KAD_PROTOCOL),
            relay: has(&relay::HOP_PROTOCOL_NAME),
        }
    }
}

/// Reservations a node behind NAT holds at most (on discovered relays).
pub(crate) const MAX_RESERVATIONS: usize = 2;

/// Addresses kept per relay.
const MAX_RELAY_ADDRS: usize = 8;

/// The relays a node knows and those it asked for a reservation.
#[derive(Debug, Default)]
pub(crate) struct Relays {
    known: BTreeMap<PeerId, Vec<Multiaddr>>,
    requested: BTreeSet<PeerId>,
    reserved: BTreeSet<PeerId>,
    /// Relays that dropped us, and when they may be asked again.
    retry_after: BTreeMap<PeerId, Instant>,
}

impl Relays {
    /// Learns that `peer` relays at `addrs` (circuit addresses are skipped:
    /// a relay is reached directly). Returns the address to listen through
    /// when the node is `behind_nat` and holds fewer than
    /// [`MAX_RESERVATIONS`] reservations.
    pub(crate) fn learn(
        &mut self,
        peer: PeerId,
        addrs: impl IntoIterator<Item = Multiaddr>,
        behind_nat: bool,
    ) -> Option<Multiaddr> {
        let known = self.known.entry(peer).or_default();
        for addr in addrs.into_iter().filter(|a| !is_circuit(a)) {
            if !known.contains(&addr) && known.len() < MAX_RELAY_ADDRS {
                known.push(addr);
            }
        }
        if !behind_nat || self.requested.contains(&peer) || self.requested.len() >= MAX_RESERVATIONS
        {
            return None;
        }
        let addr = known.first()?;
        self.requested.insert(peer);
        Some(circuit_listen_addr(peer, addr))
    }

    /// Asks for a reservation on a configured relay (`addr` ends in its id);
    /// returns the address to listen through.
    pub(crate) fn configured(&mut self, addr: &Multiaddr) -> Option<Multiaddr> {
        let peer = peer_of(addr)?;
        self.requested.insert(peer);
        let known = self.known.entry(peer).or_default();
        if !known.contains(addr) {
            known.push(addr.clone());
        }
        Some(circuit_listen_addr(peer, addr))
    }

    /// The relay accepted our reservation.
    pub(crate) fn reserved(&mut self, peer: PeerId) {
        self.reserved.insert(peer);
    }

    /// Forgets a relay (marked dishonest).
    pub(crate) fn remove(&mut self, peer: &PeerId) {
        self.known.remove(peer);
        self.retry_after.remove(peer);
    }

    /// The listener through `relay` closed (the relay dropped the
    /// connection or refused the reservation): the reservation is gone, and
    /// `relay` is not asked again before `retry_at`.
    pub(crate) fn dropped(&mut self, relay: PeerId, retry_at: Instant) {
        self.requested.remove(&relay);
        self.reserved.remove(&relay);
        if self.known.contains_key(&relay) {
            self.retry_after.insert(relay, retry_at);
        }
    }

    /// Dialing `peer` failed: if it is a relay asked for a reservation that
    /// it has not granted yet, the slot is freed as if it had dropped us.
    pub(crate) fn unreachable(&mut self, peer: PeerId, retry_at: Instant) {
        if self.requested.contains(&peer) && !self.reserved.contains(&peer) {
            self.dropped(peer, retry_at);
        }
    }

    /// The next relay to ask for a reservation when a node `behind_nat`
    /// holds fewer than [`MAX_RESERVATIONS`]: a known relay not asked yet
    /// (in id order), skipping those that dropped us less than their retry
    /// delay ago. Returns the address to listen through.
    pub(crate) fn next_request(&mut self, behind_nat: bool, now: Instant) -> Option<Multiaddr> {
        if !behind_nat || self.requested.len() >= MAX_RESERVATIONS {
            return None;
        }
        self.retry_after.retain(|_, at| *at > now);
        let (peer, addr) = self.known.iter().find_map(|(peer, addrs)| {
            let free = !self.requested.contains(peer) && !self.retry_after.contains_key(peer);
            free.then(|| addrs.first().map(|a| (*peer, a)))?
        })?;
        let listen = circuit_listen_addr(peer, addr);
        self.requested.insert(peer);
        Some(listen)
    }

    /// Known relays and their addresses.
    pub(crate) fn known(&self) -> &BTreeMap<PeerId, Vec<Multiaddr>> {
        &self.known
    }

    /// Relays holding a reservation for us.
    pub(crate) fn reservations(&self) -> &BTreeSet<PeerId> {
        &self.reserved
    }
}

/// Whether an address is worth dialing (not unspecified).
pub(crate) fn is_dialable(addr: &Multiaddr) -> bool {
    !addr.iter().any(|p| {
        matches!(p, Protocol::Ip4(ip) if ip.is_unspecified())
            || matches!(p, Protocol::Ip6(ip) if ip.is_unspecified())
    })
}

/// The peer id an address ends with (`…/p2p/<id>`), if any.
pub(crate) fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    match addr.iter().last() {
        Some(Protocol::P2p(peer)) => Some(peer),
        _ => None,
    }
}

/// The address to listen on through `relay` (`<relay addr>/p2p/<relay>/p2p-circuit`),
/// given the relay's address with or without its `/p2p/<id>` suffix.
pub(crate) fn circuit_listen_addr(relay: PeerId, addr: &Multiaddr) -> Multiaddr {
    let base = if peer_of(addr) == Some(relay) {
        addr.clone()
    } else {
        addr.clone().with(Protocol::P2p(relay))
    };
    base.with(Protocol::P2pCircuit)
}

/// Whether `addr` goes through a relay.
pub(crate) fn is_circuit(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| matches!(p, Protocol::P2pCircuit))
}

/// The relay a circuit address goes through and its direct address
/// (everything before `/p2p-circuit`, ending in the relay's id).
pub(crate) fn relay_of(addr: &Multiaddr) -> Option<(PeerId, Multiaddr)> {
    let direct: Multiaddr = addr
        .iter()
        .take_while(|p| !matches!(p, Protocol::P2pCircuit))
        .collect();
    Some((peer_of(&direct)?, direct))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circuit_addresses_name_the_relay_once() {
        let relay = PeerId::random();
        let tcp: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().unwrap();
        let with_id = tcp.clone().with(Protocol::P2p(relay));
        let expected: Multiaddr = format!("/ip4/127.0.0.1/tcp/4001/p2p/{relay}/p2p-circuit")
            .parse()
            .unwrap();
        assert_eq!(circuit_listen_addr(relay, &tcp), expected);
        assert_eq!(circuit_listen_addr(relay, &with_id), expected);
        assert!(is_circuit(&expected));
        assert!(!is_circuit(&tcp));
        assert_eq!(peer_of(&with_id), Some(relay));
        assert_eq!(peer_of(&tcp), None);
    }

    #[test]
    fn a_node_behind_nat_reserves_on_at_most_two_relays() {
        let addr =
            |port: u16| -> Multiaddr { format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap() };
        let mut open = Relays::default();
        assert_eq!(open.learn(PeerId::random(), [addr(1)], false), None);
        assert_eq!(open.known().len(), 1);

        let mut natted = Relays::default();
        let first = PeerId::random();
        let listen = natted.learn(first, [addr(1)], true).unwrap();
        assert_eq!(listen, circuit_listen_addr(first, &addr(1)));
        assert_eq!(natted.learn(first, [addr(2)], true), None, "asked once");
        assert_eq!(natted.known()[&first].len(), 2);
        assert!(natted.learn(PeerId::random(), [addr(3)], true).is_some());
        assert_eq!(natted.learn(PeerId::random(), [addr(4)], true), None);
        assert_eq!(natted.known().len(), 3);
        // A relay known only through a circuit address cannot be asked.
        let circuit_only = circuit_listen_addr(first, &addr(5));
        let mut fresh = Relays::default();
        assert_eq!(fresh.learn(PeerId::random(), [circuit_only], true), None);
    }

    #[test]
    fn a_dropped_reservation_is_asked_again_after_its_delay() {
        let addr =
            |port: u16| -> Multiaddr { format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap() };
        let now = Instant::now();
        let mut relays = Relays::default();
        let (a, b, c) = (PeerId::random(), PeerId::random(), PeerId::random());
        assert!(relays.learn(a, [addr(1)], true).is_some());
        assert!(relays.learn(b, [addr(2)], true).is_some());
        assert_eq!(relays.learn(c, [addr(3)], true), None, "two held already");
        assert_eq!(relays.next_request(true, now), None);
        relays.reserved(a);
        relays.reserved(b);

        // `a` drops us: the free slot goes to `c`, never back to `a` at once.
        let later = now + Duration::from_secs(5);
        relays.dropped(a, later);
        assert!(!relays.reservations().contains(&a));
        assert_eq!(
            relays.next_request(true, now),
            Some(circuit_listen_addr(c, &addr(3)))
        );
        assert_eq!(relays.next_request(true, now), None, "two asked again");

        // `c` refuses too: `a` is still waiting out its delay, then asked.
        let much_later = later + Duration::from_secs(5);
        relays.dropped(c, much_later);
        assert_eq!(relays.next_request(true, now), None);
        assert_eq!(
            relays.next_request(true, later + Duration::from_millis(1)),
            Some(circuit_listen_addr(a, &addr(1)))
        );
        // A relay that cannot be dialed frees its slot; a reserved one does
        // not lose its reservation over a failed extra dial.
        relays.unreachable(a, much_later);
        assert_eq!(relays.next_request(true, now), None, "a and c both wait");
        relays.reserved(b);
        relays.unreachable(b, much_later);
        assert!(relays.reservations().contains(&b));
        // A node not behind NAT never asks; a forgotten relay is not asked.
        relays.dropped(a, now);
        relays.remove(&a);
        assert_eq!(relays.next_request(false, later), None);
        assert_eq!(
            relays.next_request(true, much_later + Duration::from_millis(1)),
            Some(circuit_listen_addr(c, &addr(3)))
        );
    }

    #[test]
    fn unspecified_addresses_are_not_dialable() {
        assert!(!is_dialable(&"/ip4/0.0.0.0/tcp/1".parse().unwrap()));
        assert!(!is_dialable(&"/ip6/::/tcp/1".parse().unwrap()));
        assert!(is_dialable(&"/ip4/127.0.0.1/tcp/1".parse().unwrap()));
    }

    #[test]
    fn identify_tells_kad_and_relay_support() {
        let key = libp2p::identity::Keypair::generate_ed25519();
        let info = identify::Info {
            public_key: key.public(),
            protocol_version: "/tau/1.0.0".into(),
            agent_version: "test".into(),
            listen_addrs: vec![
                "/ip4/0.0.0.0/tcp/1".parse().unwrap(),
                "/ip4/127.0.0.1/tcp/1".parse().unwrap(),
            ],
            protocols: vec![KAD_PROTOCOL, relay::HOP_PROTOCOL_NAME],
            observed_addr: "/ip4/127.0.0.1/tcp/2".parse().unwrap(),
            signed_peer_record: None,
        };
        let id = Identified::of(&info);
        assert!(id.kad && id.relay);
        assert_eq!(id.addrs, vec!["/ip4/127.0.0.1/tcp/1".parse().unwrap()]);
        let plain = identify::Info {
            protocols: vec![],
            ..info
        };
        let id = Identified::of(&plain);
        assert!(!id.kad && !id.relay);
    }
}
