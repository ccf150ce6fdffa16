//! Properties over random transaction streams, checked against a plain model
//! of the rules (balances and nonces in a map).

mod common;

use std::collections::BTreeMap;

use common::*;
use proptest::prelude::*;
use tau_keys::Address;
use tau_state::SignedTransaction;

const KEYS: u8 = 4;
const START: u64 = 1_000;

fn blocks() -> impl Strategy<Value = Vec<(u8, Vec<Op>)>> {
    proptest::collection::vec((0..KEYS, proptest::collection::vec(op(KEYS), 0..8)), 1..6)
}

/// The model: what a block should do to balances and nonces.
#[derive(Debug, Clone, Default)]
struct Model {
    balance: BTreeMap<Address, u64>,
    nonce: BTreeMap<Address, u64>,
}

impl Model {
    fn apply(&mut self, tx: &SignedTransaction) -> bool {
        let t = &tx.tx;
        let nonce = self.nonce.get(&t.sender).copied().unwrap_or(0);
        let balance = self.balance.get(&t.sender).copied().unwrap_or(0);
        let amount = t.body.amount();
        if t.nonce != nonce + 1 || amount + t.fee > balance {
            return false;
        }
        let tau_state::TxBody::Wiring { receiver, .. } = &t.body else {
            unreachable!("the strategy only makes wirings")
        };
        *self.balance.get_mut(&t.sender).unwrap() -= amount + t.fee;
        *self.balance.entry(*receiver).or_default() += amount;
        self.nonce.insert(t.sender, t.nonce);
        true
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_streams_follow_the_model(blocks in blocks()) {
        let (chain, genesis, keys) = devnet(KEYS, START);
        let p = chain.params().clone();
        let mut model = Model::default();
        for k in &keys {
            model.balance.insert(k.address(), START);
        }
        let mut root = genesis;
        for (miner, ops) in blocks {
            let miner = &keys[usize::from(miner)];
            let t = earliest(&chain, &root, miner);
            // The miner's nonce goes up first (mining is a tx to self).
            *model.nonce.entry(miner.address()).or_default() += 1;
            let mut next_nonce: BTreeMap<Address, u64> = model.nonce.clone();
            let txs: Vec<SignedTransaction> = ops.iter().map(|op| {
                let from = &keys[usize::from(op.from)];
                let n = next_nonce.entry(from.address()).or_default();
                *n += 1;
                let nonce = n.saturating_add_signed(i64::from(op.skew));
                pay(&p, from, keys[usize::from(op.to)].address(), nonce, op.amount, op.fee, t)
            }).collect();
            let mut fees = 0;
            let mut expected_applied = Vec::new();
            for tx in &txs {
                if model.apply(tx) {
                    fees += tx.tx.fee;
                    expected_applied.push(tx.clone());
                }
            }
            *model.balance.get_mut(&miner.address()).unwrap() += fees;

            let before = supply(&chain, &root);
            let produced = chain.produce_next_state(&root, miner, &txs, t).unwrap();
            prop_assert_eq!(&produced.transactions, &expected_applied);
            prop_assert_eq!(produced.skipped.len(), txs.len() - expected_applied.len());
            // validate_block(produce_next_state(..)) always passes.
            chain.validate_block(&root, &produced.root).unwrap();
            // Supply is conserved: fees move to the miner, nothing is created.
            prop_assert_eq!(supply(&chain, &produced.root), before);
            // Nonces strictly increase along each sender's applied transactions.
            let mut last: BTreeMap<Address, u64> = BTreeMap::new();
            for tx in &produced.transactions {
                if let Some(prev) = last.insert(tx.tx.sender, tx.tx.nonce) {
                    prop_assert!(tx.tx.nonce > prev);
                }
            }
            root = produced.root;
            for k in &keys {
                let a = k.address();
                prop_assert_eq!(chain.balance(&root, &a).unwrap(), model.balance.get(&a).copied());
                prop_assert_eq!(chain.nonce(&root, &a).unwrap(), model.nonce.get(&a).copied().unwrap_or(0));
            }
        }
        prop_assert_eq!(supply(&chain, &root), u64::from(KEYS) * START);
    }

    #[test]
    fn any_flipped_byte_of_a_transaction_is_rejected(
        amount in 0u64..1_000_000, fee in 0u64..1_000, nonce in 1u64..1_000,
        at in any::<prop::sample::Index>(), bit in 0u8..8,
    ) {
        let p = tau_state::Params::devnet();
        let from = key(0);
        let tx = pay(&p, &from, key(1).address(), nonce, amount, fee, GENESIS_TIME);
        let bytes = tx.encode().unwrap();
        prop_assert_eq!(&SignedTransaction::decode(&bytes).unwrap(), &tx);
        tx.verify_signature().unwrap();
        let mut flipped = bytes.clone();
        flipped[at.index(bytes.len())] ^= 1 << bit;
        // Either it no longer decodes, or it decodes to a transaction whose
        // signature does not recover to its sender.
        if let Ok(decoded) = SignedTransaction::decode(&flipped) {
            prop_assert_ne!(&decoded, &tx);
            prop_assert!(decoded.verify_signature().is_err());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = SignedTransaction::decode(&bytes);
        let _ = tau_state::Block::decode(&bytes);
    }
}
