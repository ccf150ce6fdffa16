//! The node's mempool is [`tau_state::mempool`] (admission, eviction,
//! pruning and what a block takes; its rules are there), used by the core
//! directly so tau-cbc's simulator runs the same pool. This module holds the
//! floods run against it behind a real [`NodeState`](crate::state::NodeState).

/// The mempool behind a [`NodeState`](crate::state::NodeState) on a devnet genesis,
/// flooded the way issue 19 describes, and the next block.
mod flood {
    use std::sync::Arc;

    use libp2p::PeerId;
    use tau_cbc::Mode;
    use tau_ipld::MemoryBlockstore;
    use tau_ipld::SharedStore;
    use tau_keys::Keypair;
    use tau_state::{ChainId, Executor, Genesis, Transaction, TxBody, TxError};

    use tau_keys::Address;
    use tau_state::mempool::{Admission, Refusal, MAX_MEMPOOL};
    use tau_state::SignedTransaction;

    use crate::protocol::MAX_TRANSACTIONS;
    use crate::state::{unix_now, NodeState};

    const ADMITTED: Admission = Admission::Admitted { evicted: 0 };

    fn key(i: u8) -> Keypair {
        Keypair::from_bytes(&[i; 32]).unwrap()
    }

    /// A mining core of `miner` on a genesis allocating `funded`.
    fn core(miner: &Keypair, funded: &[(Address, u64)]) -> NodeState {
        let (params, cbc) = crate::local_devnet(1);
        let store: SharedStore = Arc::new(MemoryBlockstore::new());
        let chain = Executor::new(store, params).unwrap();
        let allocations = funded.iter().fold(
            Genesis::new(1_000).allocate(miner.address(), 1_000),
            |g, (a, b)| g.allocate(*a, *b),
        );
        let (genesis, _) = chain.genesis(&allocations, miner).unwrap();
        let local = PeerId::random();
        NodeState::new(
            chain,
            miner.clone(),
            Mode::Mining,
            cbc,
            local,
            genesis,
            genesis,
            None,
        )
        .unwrap()
    }

    /// A throwaway key per index.
    fn throwaway(i: usize) -> Keypair {
        let mut secret = [0x5a; 32];
        secret[..8].copy_from_slice(&(i as u64).to_be_bytes());
        Keypair::from_bytes(&secret).unwrap()
    }

    fn wiring(from: Address, to: Address, nonce: u64, fee: u64, now: u64) -> Transaction {
        let params = crate::local_devnet(1).0;
        Transaction {
            version: params.version,
            chain_id: params.chain_id,
            sender: from,
            nonce,
            timestamp: now,
            fee,
            body: TxBody::Wiring {
                receiver: to,
                amount: 500,
            },
            thread: None,
            profile: None,
        }
    }

    /// Offers `txs` as peers send them (a request's worth at a time);
    /// the pool never grows past its cap.
    fn offer_all(core: &mut NodeState, txs: &[SignedTransaction], now: u64) -> Vec<Admission> {
        let mut out = Vec::new();
        for request in txs.chunks(MAX_TRANSACTIONS) {
            out.extend(core.admit_transactions(request.to_vec(), now).unwrap());
            assert!(core.mempool.len() <= MAX_MEMPOOL);
        }
        assert_eq!(out.len(), txs.len());
        out
    }

    /// Mines the next block and checks `honest` is in it.
    fn mine_honest(core: &mut NodeState, honest: &SignedTransaction, now: u64) {
        let job = core.prepare_mine(now).unwrap().expect("eligible");
        let produced = job.produce(&[]).unwrap();
        assert!(core.adopt_mined(job.head(), &produced, now).unwrap());
        assert!(produced.skipped.is_empty(), "{:?}", produced.skipped);
        assert!(produced.transactions.contains(honest));
        let sender = honest.tx.sender;
        assert_eq!(core.chain.nonce(&core.head(), &sender).unwrap(), 1);
        assert_eq!(core.mempool.len(), 0, "all included, pruned");
    }

    #[test]
    fn junk_is_refused_and_an_honest_transaction_is_mined() {
        let (miner, honest) = (key(7), key(8));
        let mut core = core(&miner, &[(honest.address(), 1_000_000)]);
        let now = unix_now();
        let junk: Vec<SignedTransaction> = (0..MAX_MEMPOOL + 4 * MAX_TRANSACTIONS)
            .map(|i| {
                let key = throwaway(i);
                let mut t = wiring(key.address(), miner.address(), 1, 1_000, now);
                match i % 5 {
                    0 => t.timestamp = u64::MAX,
                    1 => {} // valid, but the key holds nothing
                    2 => t.chain_id = ChainId::new("TAU-elsewhere").unwrap(),
                    3 => t.sender = honest.address(), // not signed by it
                    _ => t.nonce = 1_000 + i as u64,
                }
                t.sign(&key).unwrap()
            })
            .collect();
        for (i, outcome) in offer_all(&mut core, &junk, now).into_iter().enumerate() {
            let Admission::Refused(why) = outcome else {
                panic!("junk {i} admitted");
            };
            let expected = match i % 5 {
                0 => matches!(why, Refusal::Time(TxError::FutureDated { .. })),
                1 => why == Refusal::UnknownSender,
                2 => matches!(why, Refusal::Static(TxError::WrongChain { .. })),
                3 => matches!(why, Refusal::Signature(_)),
                _ => matches!(why, Refusal::NonceTooFar { current: 0, .. }),
            };
            assert!(expected, "junk {i}: {why:?}");
        }
        assert_eq!(core.mempool.len(), 0);

        let honest_tx = wiring(honest.address(), miner.address(), 1, 2, now)
            .sign(&honest)
            .unwrap();
        let admitted = core
            .admit_transactions(vec![honest_tx.clone()], now)
            .unwrap();
        assert_eq!(admitted, [ADMITTED]);
        assert!(core.gossip().contains(&honest_tx));
        mine_honest(&mut core, &honest_tx, now);
    }

    #[test]
    fn a_pool_full_of_low_fees_lets_a_higher_fee_in_and_it_is_mined() {
        let (miner, honest) = (key(7), key(8));
        let spammers: Vec<Keypair> = (0..=MAX_MEMPOOL).map(throwaway).collect();
        let mut funded: Vec<(Address, u64)> =
            spammers.iter().map(|k| (k.address(), 1_000)).collect();
        funded.push((honest.address(), 1_000_000));
        let mut core = core(&miner, &funded);
        let now = unix_now();
        let spam: Vec<SignedTransaction> = spammers
            .iter()
            .map(|k| {
                wiring(k.address(), miner.address(), 1, 1, now)
                    .sign(k)
                    .unwrap()
            })
            .collect();
        let outcomes = offer_all(&mut core, &spam, now);
        assert!(outcomes[..MAX_MEMPOOL].iter().all(|o| *o == ADMITTED));
        assert_eq!(
            outcomes[MAX_MEMPOOL],
            Admission::Refused(Refusal::PoolFull { lowest_fee: 1 })
        );
        assert_eq!(core.mempool.len(), MAX_MEMPOOL);

        let honest_tx = wiring(honest.address(), miner.address(), 1, 2, now)
            .sign(&honest)
            .unwrap();
        let admitted = core
            .admit_transactions(vec![honest_tx.clone()], now)
            .unwrap();
        assert_eq!(admitted, [Admission::Admitted { evicted: 1 }]);
        assert_eq!(core.mempool.len(), MAX_MEMPOOL);
        mine_honest(&mut core, &honest_tx, now);
    }
}
