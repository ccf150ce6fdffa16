//! Super nodes over libp2p on 127.0.0.1: replicas agree through round
//! switches with payments, a cut-off minority stalls while the majority
//! stabilizes, and garbage or forged units are refused before anything is
//! stored. Every test stops by itself (timeouts).

use std::time::Duration;

use tau_trustme::Params;
use tau_trustme_net::{check_agreement, run, Devnet, Network, RunConfig};

const FUNDS: u64 = 10_000_000;

/// One network at a time: on a small, shared machine networks running side
/// by side slow each other into the timeouts.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A small version of `examples/trustme-network.rs --real`: six nodes
/// through two round switches with payments; every replica agrees and the
/// coinbase was credited to the ledger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_agree_through_round_switches_with_payments() {
    let _one = SERIAL.lock().await;
    let report = run(RunConfig {
        params: Params::tiny(),
        super_nodes: 5,
        rounds: 2,
        seed: 11,
        funds: FUNDS,
        payment_every: Some(Duration::from_millis(700)),
        partition: None,
        timeout: Duration::from_secs(55),
    })
    .await
    .unwrap();
    let statuses = &report.statuses;
    for s in statuses {
        eprintln!(
            "round {} stable MCI {} rewards {} balance {} {:?}",
            s.round,
            s.last_stable_mci,
            s.rewards.get(&s.address).copied().unwrap_or(0),
            s.balances.get(&s.address).copied().unwrap_or(0),
            s.stats
        );
    }
    let agreement = &report.agreement;
    eprintln!("{agreement:?}");
    assert!(agreement.agree(), "{agreement:?}");
    assert!(agreement.common_mci > 0);
    let first = &statuses[0];
    for s in statuses {
        assert!(s.fatal.is_none());
        assert!(s.round >= 3);
        assert!(s.stats.round_switches >= 2, "{:?}", s.stats);
        // Coinbase credited to the ledger: issued notes and rewards seen.
        assert!(s.issued > 0);
        assert!(s.rewards.values().sum::<u64>() > 0);
        // The run waits for one stable point: the same balances everywhere.
        if s.last_stable_mci == first.last_stable_mci {
            assert_eq!(s.balances, first.balances);
        }
    }
    // Some attestor's balance grew past its genesis funds by its rewards.
    assert!(statuses
        .iter()
        .any(|s| s.balances.get(&s.address).copied().unwrap_or(0) > FUNDS));
    // Payments went through the stable ledger.
    let confirmed: u64 = statuses.iter().map(|s| s.stats.payments_confirmed).sum();
    assert!(confirmed > 0, "no payment confirmed");
}

/// TR-2018-02 §4.1: the side holding a majority of the round's attestors
/// keeps stabilizing, the other side stalls; after the heal the replicas
/// still agree on every MCI both made stable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_majority_stabilizes_minority_stalls() {
    let _one = SERIAL.lock().await;
    let devnet = Devnet::new(Params::tiny(), 5, 12, FUNDS).unwrap();
    let net = Network::start(
        devnet,
        Some(Duration::from_millis(1_000)),
        Duration::from_secs(15),
    )
    .await
    .unwrap();
    // Some stable history first.
    let before = net
        .wait_until(Duration::from_secs(30), |s| {
            s.iter().all(|s| s.last_stable_mci >= 3)
        })
        .await
        .unwrap();
    // The minority: the last two PoW attestors of the current round (as
    // node 0 sees it): two of five; the other side keeps three of five.
    let attestors = &before[0].attestors;
    let minority: Vec<usize> = attestors[attestors.len() - 2..]
        .iter()
        .filter_map(|a| before.iter().position(|s| s.address == *a))
        .collect();
    assert_eq!(minority.len(), 2);
    net.partition(&minority).unwrap();
    // Units already on their way settle during the first seconds; the claim
    // is about what follows.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cut = net.statuses().await.unwrap();
    // Liveness, not speed: with two of five attestors gone every ring of the
    // take-over schedule waits out their turns, and how often depends on
    // where they sit in the round's order (and on how loaded the machine
    // is: one CI run saw 2 MCIs in 6 s, runs here 9 to 24). So the majority
    // gets a generous deadline to stabilize 5 more MCIs, and the minority's
    // stall is checked over that whole window (6 s at least).
    let wanted = 5;
    let started = std::time::Instant::now();
    let majority_moved = net
        .wait_until(Duration::from_secs(45), |s| {
            s.iter().zip(&cut).enumerate().all(|(i, (now, then))| {
                minority.contains(&i) || now.last_stable_mci >= then.last_stable_mci + wanted
            })
        })
        .await;
    // The minority is watched for at least 6 s however fast the majority is.
    if let Some(rest) = Duration::from_secs(6).checked_sub(started.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    let during = net.statuses().await.unwrap();
    let growth: Vec<u64> = cut
        .iter()
        .zip(&during)
        .map(|(a, b)| b.last_stable_mci.saturating_sub(a.last_stable_mci))
        .collect();
    eprintln!(
        "minority {minority:?}, stable MCI growth per node in {:.1} s of the cut: {growth:?}",
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = majority_moved {
        for (i, st) in during.iter().enumerate() {
            eprintln!(
                "node {i}: round {} attestors {:?} mci {} waiting {} connected {} fatal {:?} {:?}",
                st.round,
                st.attestors
                    .iter()
                    .filter_map(|a| during.iter().position(|s| s.address == *a))
                    .collect::<Vec<_>>(),
                st.last_stable_mci,
                st.waiting,
                st.connected,
                st.fatal,
                st.stats
            );
        }
        panic!("the majority did not stabilize {wanted} MCIs ({e}): {growth:?}");
    }
    for (i, st) in during.iter().enumerate() {
        assert!(st.fatal.is_none(), "node {i} stopped: {:?}", st.fatal);
    }
    for (i, g) in growth.iter().enumerate() {
        if minority.contains(&i) {
            // At most one more MCI: attestations the majority sent before
            // the cut, completed by the minority's own units; then nothing.
            assert!(*g <= 1, "minority node {i} kept stabilizing: {growth:?}");
            assert!(
                during[i].connected <= 1,
                "minority node {i} still connected across"
            );
        } else {
            assert!(*g >= wanted, "majority node {i} stalled: {growth:?}");
        }
    }
    // After the heal the minority catches up (by units, or by a catch-up
    // proof if the cut spanned a round switch) and everyone agrees.
    let target = during.iter().map(|s| s.last_stable_mci).max().unwrap_or(0);
    net.heal().unwrap();
    let after = net
        .wait_until(Duration::from_secs(35), |s| {
            s.iter().all(|x| x.last_stable_mci >= target)
        })
        .await;
    let after = match after {
        Ok(a) => a,
        Err(e) => {
            let s = net.statuses().await.unwrap();
            for st in &s {
                eprintln!(
                    "round {} mci {} waiting {} {:?}",
                    st.round, st.last_stable_mci, st.waiting, st.stats
                );
            }
            panic!("{e}");
        }
    };
    let agreement = check_agreement(&after);
    net.stop().await;
    eprintln!(
        "after heal: stable MCI per node {:?}, catch-ups {:?}, {agreement:?}",
        after.iter().map(|s| s.last_stable_mci).collect::<Vec<_>>(),
        after
            .iter()
            .map(|s| s.stats.catchup_mcis)
            .collect::<Vec<_>>(),
    );
    assert!(agreement.agree(), "{agreement:?}");
}

/// A hostile peer's garbage, oversized blobs, a unit signed by the wrong
/// key and a well-signed PoW unit with a bogus solution are all refused by
/// every other node before anything is stored (nor forwarded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_units_are_refused_before_anything_is_stored() {
    let _one = SERIAL.lock().await;
    use tau_dag::{Message, UnsignedUnit};
    let devnet = Devnet::new(Params::tiny(), 4, 13, FUNDS).unwrap();
    let dag_params = devnet.dag_params.clone();
    let genesis = devnet.genesis_unit.id();
    let honest = devnet.keys[1].clone();
    let hostile = devnet.keys[4].clone();
    let net = Network::start(devnet, None, Duration::from_secs(15))
        .await
        .unwrap();
    // Claims node 1 as its author; the signature is node 4's (over
    // another unit, the only way to get one: signing checks the key).
    let unsigned = |author: &tau_keys::Keypair, data: &[u8]| UnsignedUnit {
        version: dag_params.version,
        round: 1,
        timestamp: 1,
        parents: vec![genesis],
        authors: vec![author.address()],
        messages: vec![Message::Data(data.to_vec())],
    };
    let mut forged = unsigned(&honest, b"forged").sign(&[&honest]).unwrap();
    forged.signatures = unsigned(&hostile, b"other")
        .sign(&[&hostile])
        .unwrap()
        .signatures;
    let forged = forged.encode().unwrap();
    let forged_id = tau_dag::id::unit_id(&forged);
    // Signed right, but its Equihash solution is garbage.
    let bad_pow = UnsignedUnit {
        version: dag_params.version,
        round: 1,
        timestamp: 2,
        parents: vec![genesis],
        authors: vec![hostile.address()],
        messages: vec![Message::PowEquihash(vec![0; 40])],
    }
    .sign(&[&hostile])
    .unwrap()
    .verify(&dag_params)
    .unwrap();
    let bad_pow_id = bad_pow.id();
    let attacker = &net.nodes[4];
    let sent = [
        b"\xff\x00garbage".to_vec(),
        vec![7u8; dag_params.max_unit_size + 10],
        forged,
        bad_pow.bytes().to_vec(),
    ];
    // Gossipsub may need a heartbeat before the topic has peers.
    for bytes in sent {
        let mut published = false;
        for _ in 0..40 {
            if attacker.publish_raw(bytes.clone()).await.unwrap() {
                published = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(published);
    }
    let statuses = net
        .wait_until(Duration::from_secs(20), |s| {
            s[..4].iter().all(|s| s.stats.units_refused >= 4)
        })
        .await;
    let mut held = Vec::new();
    for n in &net.nodes[..4] {
        held.push(n.has_unit(forged_id).await.unwrap() || n.has_unit(bad_pow_id).await.unwrap());
    }
    let statuses = match statuses {
        Ok(s) => s,
        Err(e) => {
            let s = net.statuses().await.unwrap();
            net.stop().await;
            panic!("{e}: {:?}", s.iter().map(|s| s.stats).collect::<Vec<_>>());
        }
    };
    net.stop().await;
    assert_eq!(held, vec![false; 4], "a refused unit was stored");
    for s in &statuses[..4] {
        assert!(s.fatal.is_none());
        // Each of the four was refused, and nothing else.
        assert_eq!(s.stats.units_refused, 4, "{:?}", s.stats);
    }
}

/// A peer sends a well-signed unit that passes every check before the
/// DAG's own insertion, which refuses it (its parents include each other).
/// Every node refuses it and goes on stabilizing: a refusal by the DAG or
/// the main chain is not a reason to stop (before, one such unit stopped
/// every node that received it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_the_dag_refuses_stops_no_node() {
    let _one = SERIAL.lock().await;
    let devnet = Devnet::new(Params::tiny(), 4, 17, FUNDS).unwrap();
    let dag_params = devnet.dag_params.clone();
    let genesis = devnet.genesis_unit.id();
    let net = Network::start(devnet, None, Duration::from_secs(15))
        .await
        .unwrap();
    let before = net
        .wait_until(Duration::from_secs(30), |s| {
            s.iter().all(|s| s.last_stable_mci >= 2)
        })
        .await
        .unwrap();
    // A stable unit every node holds; it includes the genesis.
    let held = before[0].stable_units[1][0];
    let key = tau_keys::Keypair::from_bytes(&[0x44; 32]).unwrap();
    let bad = hostile::data_unit(
        &dag_params,
        &key,
        vec![genesis, held],
        3,
        b"parents include each other",
    );
    let attacker = &net.nodes[4];
    let mut published = false;
    for _ in 0..40 {
        if attacker.publish_raw(bad.bytes().to_vec()).await.unwrap() {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published);
    let refused = net
        .wait_until(Duration::from_secs(20), |s| {
            s[..4]
                .iter()
                .all(|s| s.stats.units_refused >= 1 || s.fatal.is_some())
        })
        .await;
    // Then the network goes on: three more stable MCIs everywhere.
    let mark: Vec<u64> = net
        .statuses()
        .await
        .unwrap()
        .iter()
        .map(|s| s.last_stable_mci)
        .collect();
    let went_on = net
        .wait_until(Duration::from_secs(30), |s| {
            s.iter().zip(&mark).all(|(s, m)| s.last_stable_mci >= m + 3)
        })
        .await;
    let after = net.statuses().await.unwrap();
    net.stop().await;
    for (i, s) in after.iter().enumerate() {
        assert!(s.fatal.is_none(), "node {i} stopped: {:?}", s.fatal);
    }
    assert!(refused.is_ok(), "not every node refused the unit");
    assert!(went_on.is_ok(), "stabilization stopped: {mark:?}");
}

mod hostile {
    use libp2p::gossipsub;
    use libp2p::request_response::{self, ProtocolSupport};
    use libp2p::swarm::NetworkBehaviour;
    use tau_trustme_net::{FrameCodec, UnitCodec, UnitResponse, CATCHUP_PROTOCOL, UNIT_PROTOCOL};

    /// A round-1 data unit by `key` alone on `parents` (sorted here),
    /// signed right and checked against `dag_params`.
    pub fn data_unit(
        dag_params: &tau_dag::Params,
        key: &tau_keys::Keypair,
        mut parents: Vec<cid::Cid>,
        timestamp: u64,
        data: &[u8],
    ) -> tau_dag::VerifiedUnit {
        parents.sort_by_key(|c| c.hash().digest().to_vec());
        tau_dag::UnsignedUnit {
            version: dag_params.version,
            round: 1,
            timestamp,
            parents,
            authors: vec![key.address()],
            messages: vec![tau_dag::Message::Data(data.to_vec())],
        }
        .sign(&[key])
        .unwrap()
        .verify(dag_params)
        .unwrap()
    }

    /// Waits up to 200 ms for the hostile peer's next event and answers a
    /// fetch request from `answers`; whether the event was a peer
    /// subscribing to the units topic.
    pub async fn step(
        swarm: &mut libp2p::Swarm<Behaviour>,
        answers: &mut std::collections::HashMap<cid::Cid, Vec<u8>>,
    ) -> bool {
        use futures::StreamExt as _;
        let event =
            tokio::time::timeout(super::Duration::from_millis(200), swarm.select_next_some()).await;
        match event {
            Ok(libp2p::swarm::SwarmEvent::Behaviour(BehaviourEvent::Gossip(
                gossipsub::Event::Subscribed { .. },
            ))) => true,
            Ok(libp2p::swarm::SwarmEvent::Behaviour(event)) => {
                answer(swarm, event, answers);
                false
            }
            _ => false,
        }
    }

    /// Publishes `unit` on the units topic.
    pub fn publish(
        swarm: &mut libp2p::Swarm<Behaviour>,
        topic: &gossipsub::IdentTopic,
        unit: &tau_dag::VerifiedUnit,
    ) {
        swarm
            .behaviour_mut()
            .gossip
            .publish(topic.clone(), unit.bytes().to_vec())
            .unwrap();
    }

    /// A hostile peer subscribed to the units topic and dialing `target`.
    pub fn dialing(
        max_unit: usize,
        target: &libp2p::Multiaddr,
    ) -> (libp2p::Swarm<Behaviour>, gossipsub::IdentTopic) {
        let mut swarm = swarm(max_unit);
        let topic = gossipsub::IdentTopic::new(tau_trustme_net::UNITS_TOPIC);
        swarm.behaviour_mut().gossip.subscribe(&topic).unwrap();
        swarm.dial(target.clone()).unwrap();
        (swarm, topic)
    }

    /// What the hostile peer speaks: the units topic, the fetch protocol
    /// and the catch-up protocol.
    #[derive(NetworkBehaviour)]
    pub struct Behaviour {
        pub gossip: gossipsub::Behaviour,
        pub unit: request_response::Behaviour<UnitCodec>,
        pub catchup: request_response::Behaviour<FrameCodec>,
    }

    /// A swarm of a fresh identity over TCP, noise and yamux, running
    /// `behaviour`; connections are kept while idle for 5 minutes.
    pub fn swarm_with<B: NetworkBehaviour>(
        behaviour: impl FnOnce(&libp2p::identity::Keypair) -> B,
    ) -> libp2p::Swarm<B> {
        libp2p::SwarmBuilder::with_new_identity()
            .with_tokio()
            .with_tcp(
                libp2p::tcp::Config::default(),
                libp2p::noise::Config::new,
                libp2p::yamux::Config::default,
            )
            .unwrap()
            .with_behaviour(behaviour)
            .unwrap()
            .with_swarm_config(|c| c.with_idle_connection_timeout(super::Duration::from_secs(300)))
            .build()
    }

    pub fn swarm(max_unit: usize) -> libp2p::Swarm<Behaviour> {
        swarm_with(|key| Behaviour {
            gossip: gossipsub::Behaviour::new(
                gossipsub::MessageAuthenticity::Signed(key.clone()),
                gossipsub::Config::default(),
            )
            .unwrap(),
            unit: request_response::Behaviour::with_codec(
                UnitCodec {
                    max_unit_bytes: max_unit,
                },
                [(UNIT_PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default(),
            ),
            catchup: request_response::Behaviour::with_codec(
                FrameCodec {
                    max_request: 256,
                    max_response: 64 << 20,
                },
                [(CATCHUP_PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default(),
            ),
        })
    }

    pub fn answer(
        swarm: &mut libp2p::Swarm<Behaviour>,
        event: BehaviourEvent,
        answers: &mut std::collections::HashMap<cid::Cid, Vec<u8>>,
    ) {
        if let BehaviourEvent::Unit(request_response::Event::Message {
            message:
                request_response::Message::Request {
                    request, channel, ..
                },
            ..
        }) = event
        {
            // Each prepared answer once, for the id it is prepared for;
            // anything else (a retry) is answered empty.
            let bytes = answers.remove(&request.0).unwrap_or_default();
            let _ = swarm
                .behaviour_mut()
                .unit
                .send_response(channel, UnitResponse(bytes));
        }
    }
}

/// A hostile peer announces units whose parent it made up, and answers the
/// fetch of that parent with garbage, then with another (valid, well
/// signed) unit: the node refuses both answers and stores neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_fetch_answers_are_refused() {
    let _one = SERIAL.lock().await;
    let devnet = Devnet::new(Params::tiny(), 4, 14, FUNDS).unwrap();
    let dag_params = devnet.dag_params.clone();
    let genesis = devnet.genesis_unit.id();
    let net = Network::start(devnet, None, Duration::from_secs(15))
        .await
        .unwrap();
    let target = &net.nodes[0];
    let key = tau_keys::Keypair::from_bytes(&[0x42; 32]).unwrap();
    let unit = |parent, data: &[u8]| hostile::data_unit(&dag_params, &key, vec![parent], 5, data);
    let ghost_a = tau_dag::id::unit_id(b"no such unit a");
    let ghost_b = tau_dag::id::unit_id(b"no such unit b");
    let child_a = unit(ghost_a, b"child a");
    let child_b = unit(ghost_b, b"child b");
    // Valid and well signed, but not what will be asked for.
    let substitute = unit(genesis, b"substitute");
    let mut answers = std::collections::HashMap::from([
        (ghost_a, b"\xff\x00garbage".to_vec()),
        (ghost_b, substitute.bytes().to_vec()),
    ]);

    let (mut swarm, topic) = hostile::dialing(dag_params.max_unit_size, &target.addr);
    // Wait for the node's subscription, then announce the first child.
    let mut published = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut refused = 0;
    while tokio::time::Instant::now() < deadline {
        if hostile::step(&mut swarm, &mut answers).await && published == 0 {
            hostile::publish(&mut swarm, &topic, &child_a);
            published = 1;
        }
        refused = target.status().await.unwrap().stats.units_refused;
        if published == 1 && !answers.contains_key(&ghost_a) && refused >= 1 {
            // The garbage was refused: now the second child.
            hostile::publish(&mut swarm, &topic, &child_b);
            published = 2;
        }
        if published == 2 && answers.is_empty() && refused >= 2 {
            break;
        }
    }
    // Every fetch ends: a refused answer is asked for again elsewhere until
    // the attempts run out, and the fetch queue empties.
    let drained = net
        .wait_until(Duration::from_secs(30), |s| s[0].fetch_queued == 0)
        .await
        .map(|_| ());
    let held_substitute = target.has_unit(substitute.id()).await.unwrap();
    let held_ghosts =
        target.has_unit(ghost_a).await.unwrap() || target.has_unit(ghost_b).await.unwrap();
    net.stop().await;
    assert_eq!(
        published, 2,
        "the node never asked for the first ghost parent"
    );
    assert!(
        answers.is_empty(),
        "the node never asked for the second ghost parent"
    );
    assert!(refused >= 2, "refused {refused}");
    assert!(
        !held_substitute,
        "a unit answered for another id was stored"
    );
    assert!(!held_ghosts);
    assert!(drained.is_ok(), "fetches never ended: {drained:?}");
}

/// A peer announces a unit whose parent nobody answers for: the node asks
/// every peer it may, gives the parent up, and keeps the child waiting.
/// When a grandchild arrives the node asks again for what the chain still
/// needs (not only for the grandchild's parent, which it holds, waiting):
/// otherwise a parent lost once would leave every later unit built on it
/// waiting for good (the way a partition's in-flight units can).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ancestor_given_up_is_asked_again_when_a_later_unit_needs_it() {
    let _one = SERIAL.lock().await;
    let devnet = Devnet::new(Params::tiny(), 4, 16, FUNDS).unwrap();
    let dag_params = devnet.dag_params.clone();
    let genesis = devnet.genesis_unit.id();
    let net = Network::start(devnet, None, Duration::from_secs(15))
        .await
        .unwrap();
    let target = &net.nodes[0];
    let key = tau_keys::Keypair::from_bytes(&[0x43; 32]).unwrap();
    let unit = |parent, data: &[u8]| hostile::data_unit(&dag_params, &key, vec![parent], 5, data);
    let lost = unit(genesis, b"lost parent");
    let child = unit(lost.id(), b"child");
    let grandchild = unit(child.id(), b"grandchild");
    // Nothing prepared yet: every ask for the parent is answered empty.
    let mut answers = std::collections::HashMap::new();

    let (mut swarm, topic) = hostile::dialing(dag_params.max_unit_size, &target.addr);
    let mut stage = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while tokio::time::Instant::now() < deadline {
        if hostile::step(&mut swarm, &mut answers).await && stage == 0 {
            hostile::publish(&mut swarm, &topic, &child);
            stage = 1;
        }
        let status = target.status().await.unwrap();
        let given_up = status.stats.fetch_failures >= 3 && status.fetch_queued == 0;
        if stage == 1 && given_up && target.has_unit(child.id()).await.unwrap() {
            // The parent was given up and the child waits: now the
            // grandchild, and this time the parent is there for the asking.
            answers.insert(lost.id(), lost.bytes().to_vec());
            hostile::publish(&mut swarm, &topic, &grandchild);
            stage = 2;
        }
        if stage == 2 && answers.is_empty() && status.waiting == 0 {
            break;
        }
    }
    let status = target.status().await.unwrap();
    let held = target.has_unit(lost.id()).await.unwrap();
    // The grandchild is in the DAG (not waiting): it becomes stable.
    let stable = net
        .wait_until(Duration::from_secs(30), |s| {
            s[0].stable_units
                .iter()
                .flatten()
                .any(|id| *id == grandchild.id())
        })
        .await
        .map(|_| ());
    net.stop().await;
    assert!(stage >= 1, "the node never subscribed");
    assert_eq!(
        stage, 2,
        "the node never gave the parent up: {:?}",
        status.stats
    );
    assert!(
        answers.is_empty(),
        "the node never asked again for the given-up parent"
    );
    assert!(held, "the parent was answered but not taken");
    assert!(
        stable.is_ok(),
        "the grandchild never became stable: {stable:?}"
    );
}

/// A hostile peer floods one node with 2,000 well-signed units whose
/// parents do not exist (each costs it one signature): the node keeps at
/// most its waiting bound of them, forwards none to the other nodes, and
/// the network goes on making units stable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_units_with_made_up_parents_is_held_at_the_bound() {
    use futures::StreamExt as _;
    use libp2p::gossipsub;
    use libp2p::swarm::SwarmEvent;
    const FLOOD: usize = 2_000;
    let _one = SERIAL.lock().await;
    let devnet = Devnet::new(Params::tiny(), 4, 15, FUNDS).unwrap();
    let dag_params = devnet.dag_params.clone();
    let bound = dag_params.max_orphans;
    let net = Network::start(devnet, None, Duration::from_secs(15))
        .await
        .unwrap();
    let target = &net.nodes[0];
    let key = tau_keys::Keypair::from_bytes(&[0x43; 32]).unwrap();
    let flood: Vec<tau_dag::VerifiedUnit> = (0..FLOOD)
        .map(|i| {
            let ghost = tau_dag::id::unit_id(format!("ghost {i}").as_bytes());
            hostile::data_unit(&dag_params, &key, vec![ghost], i as u64, &[1; 32])
        })
        .collect();
    let before = target.status().await.unwrap().last_stable_mci;

    let (mut swarm, topic) = hostile::dialing(dag_params.max_unit_size, &target.addr);
    let mut next = 0;
    let mut max_waiting = 0;
    let mut subscribed = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while tokio::time::Instant::now() < deadline && next < FLOOD {
        let event = tokio::time::timeout(Duration::from_millis(20), swarm.select_next_some()).await;
        if let Ok(SwarmEvent::Behaviour(hostile::BehaviourEvent::Gossip(
            gossipsub::Event::Subscribed { .. },
        ))) = event
        {
            subscribed = true;
        }
        // Fetches of the ghost parents go unanswered.
        if subscribed {
            for unit in flood.iter().skip(next).take(50) {
                let _ = swarm
                    .behaviour_mut()
                    .gossip
                    .publish(topic.clone(), unit.bytes().to_vec());
                next += 1;
            }
            max_waiting = max_waiting.max(target.status().await.unwrap().waiting);
        }
    }
    assert_eq!(next, FLOOD, "the flood was not sent");
    // The honest network goes on while the flood sits in the pool.
    let statuses = net
        .wait_until(Duration::from_secs(30), |s| {
            s.iter().all(|s| s.last_stable_mci >= before + 5)
        })
        .await;
    let status = target.status().await.unwrap();
    max_waiting = max_waiting.max(status.waiting);
    let mut forwarded = false;
    for n in &net.nodes[1..] {
        for unit in flood.iter().step_by(97) {
            forwarded |= n.has_unit(unit.id()).await.unwrap();
        }
    }
    let received = status.stats.units_received;
    net.stop().await;
    let statuses = statuses.expect("the honest network stopped stabilizing");
    eprintln!(
        "flood {FLOOD}: target received {received}, waiting at most {max_waiting} (bound {bound}), stable MCI {before} -> {}",
        statuses[0].last_stable_mci
    );
    assert!(max_waiting <= bound, "{max_waiting} > {bound}");
    assert!(max_waiting > 0, "the flood never reached the pool");
    assert!(!forwarded, "a unit with made-up parents was forwarded");
    for s in &statuses {
        assert!(s.fatal.is_none());
    }
}

/// A hostile peer asks one node for 60 catch-up proofs, each as soon as the
/// last is answered (a short request, an answer of up to
/// `catchup_max_bytes` built from the node's stable chain; a burst is held
/// by the two streams per connection, so the attack is the rate): the node
/// serves at most one per second to it and refuses the rest at once, and
/// the network goes on making units stable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catchup_request_flood_is_served_at_the_rate_limit() {
    use futures::StreamExt as _;
    use libp2p::request_response;
    use libp2p::swarm::SwarmEvent;
    const ASKS: usize = 60;
    let _one = SERIAL.lock().await;
    let devnet = Devnet::new(Params::tiny(), 4, 16, FUNDS).unwrap();
    let max_unit = devnet.dag_params.max_unit_size;
    let genesis = devnet.genesis_unit.id();
    let net = Network::start(devnet, None, Duration::from_secs(15))
        .await
        .unwrap();
    let target = &net.nodes[0];
    // Something to prove: a few stable MCIs.
    net.wait_until(Duration::from_secs(30), |s| s[0].last_stable_mci >= 4)
        .await
        .unwrap();
    let request = tau_trustme_net::encode_catchup_request(&tau_trustme::CatchupRequest {
        stable_mci: 0,
        stable_unit: genesis,
    })
    .unwrap();
    let mut swarm = hostile::swarm(max_unit);
    swarm.dial(target.addr.clone()).unwrap();
    let (mut proofs, mut empty, mut failed) = (0usize, 0usize, 0usize);
    let (mut target_id, mut sent) = (None, 0usize);
    let start = tokio::time::Instant::now();
    let deadline = start + Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline && proofs + empty + failed < ASKS {
        let event =
            tokio::time::timeout(Duration::from_millis(100), swarm.select_next_some()).await;
        match event {
            Ok(SwarmEvent::ConnectionEstablished { peer_id, .. }) if target_id.is_none() => {
                target_id = Some(peer_id);
            }
            Ok(SwarmEvent::Behaviour(hostile::BehaviourEvent::Catchup(e))) => match e {
                request_response::Event::Message {
                    message: request_response::Message::Response { response, .. },
                    ..
                } => {
                    if response.is_empty() {
                        empty += 1;
                    } else {
                        proofs += 1;
                    }
                }
                request_response::Event::OutboundFailure { .. } => failed += 1,
                _ => {}
            },
            _ => {}
        }
        // One request in flight at a time.
        if let Some(peer) = target_id {
            if sent == proofs + empty + failed && sent < ASKS {
                swarm
                    .behaviour_mut()
                    .catchup
                    .send_request(&peer, request.clone());
                sent += 1;
            }
        }
    }
    let elapsed = start.elapsed().as_secs() as usize;
    let status = target.status().await.unwrap();
    let before = status.last_stable_mci;
    let later = net
        .wait_until(Duration::from_secs(30), |s| {
            s.iter().all(|s| s.last_stable_mci >= before + 3)
        })
        .await;
    net.stop().await;
    eprintln!(
        "{ASKS} asks in {elapsed} s: {proofs} proofs, {empty} refused or empty, {failed} failed; node stats {:?}",
        status.stats
    );
    assert_eq!(sent, ASKS, "never connected");
    assert_eq!(proofs + empty + failed, ASKS, "answers missing");
    assert!(proofs >= 1, "the limit refused everything");
    assert!(proofs <= 1 + elapsed, "{proofs} proofs in {elapsed} s");
    assert!(
        status.stats.catchups_refused as usize >= ASKS / 2,
        "{:?}",
        status.stats
    );
    later.expect("the network stopped stabilizing under the flood");
}

/// One stranger of a connection flood: dials the node `dials` times, and
/// again whenever it holds no connection (every 100 ms), until told to
/// stop.
fn stranger(
    target: libp2p::PeerId,
    addr: libp2p::Multiaddr,
    dials: usize,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    use futures::StreamExt as _;
    use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
    use libp2p::swarm::SwarmEvent;
    let mut swarm = hostile::swarm_with(|_| libp2p::swarm::dummy::Behaviour);
    let dial = move |swarm: &mut libp2p::Swarm<libp2p::swarm::dummy::Behaviour>| {
        let opts = DialOpts::peer_id(target)
            .addresses(vec![addr.clone()])
            .condition(PeerCondition::Always)
            .build();
        let _ = swarm.dial(opts);
    };
    tokio::spawn(async move {
        for _ in 0..dials {
            dial(&mut swarm);
        }
        let (mut held, mut dialing) = (0usize, dials);
        let mut retry = tokio::time::interval(Duration::from_millis(100));
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = retry.tick() => {
                    if held == 0 && dialing == 0 {
                        dial(&mut swarm);
                        dialing = 1;
                    }
                }
                event = swarm.select_next_some() => match event {
                    SwarmEvent::ConnectionEstablished { .. } => {
                        held += 1;
                        dialing = dialing.saturating_sub(1);
                    }
                    SwarmEvent::ConnectionClosed { .. } => {
                        held = held.saturating_sub(1);
                    }
                    SwarmEvent::OutgoingConnectionError { .. } => {
                        dialing = dialing.saturating_sub(1);
                    }
                    _ => {}
                },
            }
        }
    })
}

/// Strangers open more connections than a node accepts. One identity
/// dialing four times holds at most `MAX_CONNECTIONS_PER_PEER` (counted
/// by the node, before the flood);
/// `MAX_ESTABLISHED_INCOMING` + 24 identities, redialing every 100 ms
/// whenever they hold nothing, hold at most `MAX_ESTABLISHED_INCOMING`
/// incoming connections. The node is the one with the largest peer id, so
/// every honest peer reaches it by dialing in: cut off and healed while the
/// strangers hold every incoming slot, it still gets back to its peers (it
/// dials them after `REDIAL_FALLBACK`, outside the incoming bound) and goes
/// on stabilizing with them. Without that dial it stayed cut off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_is_held_at_the_bounds_and_the_node_still_reaches_its_peers() {
    use tau_trustme_net::{MAX_CONNECTIONS_PER_PEER, MAX_ESTABLISHED_INCOMING};
    const FLOOD: usize = MAX_ESTABLISHED_INCOMING as usize + 24;
    let _one = SERIAL.lock().await;
    let devnet = Devnet::new(Params::tiny(), 4, 17, FUNDS).unwrap();
    let net = Network::start(devnet, None, Duration::from_secs(15))
        .await
        .unwrap();
    let t = (0..net.nodes.len())
        .max_by_key(|&i| net.nodes[i].peer_id)
        .unwrap();
    let target = &net.nodes[t];
    net.wait_until(Duration::from_secs(30), |s| {
        s.iter().all(|s| s.last_stable_mci >= 2)
    })
    .await
    .unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);

    // One identity, four dials at once. Counted by the node: the dialer
    // also sees, for a moment, the connections the node refuses.
    let honest_in = target.status().await.unwrap().connections_in;
    let greedy = stranger(target.peer_id, target.addr.clone(), 4, stopped.clone());
    let mut greedy_in = 0;
    let settle = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = target.status().await.unwrap().connections_in;
        greedy_in = greedy_in.max(now.saturating_sub(honest_in));
    }
    // Many identities.
    let mut flood = Vec::new();
    for _ in 0..FLOOD {
        flood.push(stranger(
            target.peer_id,
            target.addr.clone(),
            1,
            stopped.clone(),
        ));
    }
    let bound = MAX_ESTABLISHED_INCOMING as usize;
    let full = net
        .wait_until(Duration::from_secs(30), |s| {
            s[t].connections_in + 2 >= bound
        })
        .await;
    let full = match full {
        Ok(s) => s[t].clone(),
        Err(e) => panic!(
            "the flood never filled the incoming slots ({e}): {:?}",
            target.status().await.unwrap().connections_in
        ),
    };
    let mut most_in = full.connections_in;
    // Cut off from every honest peer, then healed, while the strangers
    // keep every incoming slot taken.
    net.partition(&[t]).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cut = target.status().await.unwrap();
    most_in = most_in.max(cut.connections_in);
    net.heal().unwrap();
    let from = cut.last_stable_mci;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    let mut now = target.status().await.unwrap();
    while now.last_stable_mci < from + 5 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        now = target.status().await.unwrap();
        most_in = most_in.max(now.connections_in);
    }
    let _ = stop.send(true);
    let _ = greedy.await;
    for f in flood {
        let _ = f.await;
    }
    let statuses = net.statuses().await.unwrap();
    net.stop().await;
    eprintln!(
        "flood of {FLOOD} identities: target held at most {most_in} incoming (bound {bound}), \
         {} at the end; one identity dialing 4 times held at most \
         {greedy_in}; after the heal: {} outgoing connections, stable MCI {from} -> {}",
        now.connections_in, now.connections_out, now.last_stable_mci
    );
    assert!(greedy_in >= 1, "the greedy stranger never got in");
    assert!(greedy_in <= MAX_CONNECTIONS_PER_PEER as usize);
    assert!(most_in <= bound, "{most_in} incoming > {bound}");
    assert!(
        now.connections_in + 8 >= bound,
        "the strangers did not keep the incoming slots: {}",
        now.connections_in
    );
    assert!(
        now.last_stable_mci >= from + 5,
        "the target stayed cut off: stable MCI {from} -> {}, {} outgoing connections",
        now.last_stable_mci,
        now.connections_out
    );
    assert!(now.connections_out >= 1);
    let agreement = check_agreement(&statuses);
    assert!(agreement.agree(), "{agreement:?}");
}
