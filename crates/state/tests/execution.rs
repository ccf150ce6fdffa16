//! Block production (process A): what is applied, what is skipped and why.

mod common;

use common::*;
use tau_keys::Address;
use tau_state::{AttachmentRef, Error, OptCode, Profile, StateKey, TxBody, TxError, TxRef};

#[test]
fn wiring_moves_amount_and_fee_goes_to_miner() {
    let (chain, g, k) = devnet(3, 1_000);
    let p = chain.params().clone();
    let t = earliest(&chain, &g, &k[2]);
    let txs = [
        pay(&p, &k[0], k[1].address(), 1, 100, 3, t),
        pay(&p, &k[0], k[1].address(), 2, 50, 2, t),
        pay(&p, &k[1], k[0].address(), 1, 10, 1, t),
    ];
    let next = chain.produce_next_state(&g, &k[2], &txs, t).unwrap();
    assert!(next.skipped.is_empty(), "{:?}", next.skipped);
    let r = next.root;
    assert_eq!(
        chain.balance(&r, &k[0].address()).unwrap(),
        Some(1_000 - 150 - 5 + 10)
    );
    assert_eq!(
        chain.balance(&r, &k[1].address()).unwrap(),
        Some(1_000 + 150 - 11)
    );
    assert_eq!(chain.balance(&r, &k[2].address()).unwrap(), Some(1_000 + 6));
    assert_eq!(chain.nonce(&r, &k[0].address()).unwrap(), 2);
    assert_eq!(chain.nonce(&r, &k[1].address()).unwrap(), 1);
    // Mining bumped the miner's nonce, and the coinbase is recorded under it.
    assert_eq!(chain.nonce(&r, &k[2].address()).unwrap(), 1);
    let coinbase = chain.tx_output(&r, &k[2].address(), 1).unwrap().unwrap();
    assert_eq!(coinbase.opt_code, OptCode::Coinbase);
    assert_eq!(coinbase.amount, 6);
    assert_eq!(coinbase.block_number, 1);
    let out = chain.tx_output(&r, &k[0].address(), 2).unwrap().unwrap();
    assert_eq!(out.opt_code, OptCode::Wiring);
    assert_eq!((out.amount, out.fee), (50, 2));
    assert_eq!(out.counterparty, Some(k[1].address()));
    assert_eq!(out.tx, Some(txs[1].id().unwrap()));
    assert_eq!(supply(&chain, &r), 3_000);
    chain.validate_block(&g, &r).unwrap();
}

#[test]
fn message_with_attachment_profile_and_thread() {
    let (chain, g, k) = devnet(2, 1_000);
    let p = chain.params().clone();
    let t = earliest(&chain, &g, &k[1]);
    let attachment = AttachmentRef {
        root: tau_ipld::block::cid_of(tau_ipld::block::RAW, b"tgz"),
        size: 3,
    };
    let profile = Profile {
        relays: vec!["/ip4/127.0.0.1/tcp/4001".into()],
        peer_id: Some("12D3KooW".into()),
        contact: None,
        free_quota: Some(5 << 20),
    };
    let mut tx = wiring(&p, &k[0], k[0].address(), 1, 0, 4, t);
    tx.body = TxBody::Message {
        text: "hello TAU".into(),
        attachment: Some(attachment),
    };
    tx.thread = Some(TxRef {
        sender: k[1].address(),
        nonce: 7,
    });
    tx.profile = Some(profile.clone());
    let signed = tx.sign(&k[0]).unwrap();
    let next = chain.produce_next_state(&g, &k[1], &[signed], t).unwrap();
    assert!(next.skipped.is_empty());
    let out = chain
        .tx_output(&next.root, &k[0].address(), 1)
        .unwrap()
        .unwrap();
    assert_eq!(out.opt_code, OptCode::Message);
    assert_eq!(out.message.as_deref(), Some("hello TAU"));
    assert_eq!(out.attachment, Some(attachment));
    let state = chain.state(&next.root).unwrap();
    assert_eq!(state.profile(&k[0].address()).unwrap(), Some(profile));
    assert_eq!(
        chain.balance(&next.root, &k[0].address()).unwrap(),
        Some(996)
    );
    chain.validate_block(&g, &next.root).unwrap();
}

#[test]
fn invalid_transactions_are_skipped_and_reported() {
    let (chain, g, k) = devnet(3, 1_000);
    let p = chain.params().clone();
    let t = earliest(&chain, &g, &k[2]);
    let to = k[1].address();

    let mut bad_sig = pay(&p, &k[0], to, 1, 1, 1, t);
    bad_sig.signature = k[1].sign(bad_sig.tx.signing_digest().unwrap().as_bytes());
    let wrong_nonce = pay(&p, &k[0], to, 5, 1, 1, t);
    let overspend = pay(&p, &k[0], to, 1, 1_000, 1, t);
    let expired = pay(&p, &k[0], to, 1, 1, 1, t - p.tx_expiry - 1);
    let future = pay(&p, &k[0], to, 1, 1, 1, t + p.max_drift + 1);
    let mut long = wiring(&p, &k[0], to, 1, 0, 1, t);
    long.body = TxBody::Message {
        text: "x".repeat(p.max_message_len + 1),
        attachment: None,
    };
    let long = long.sign(&k[0]).unwrap();
    let mut other_chain = wiring(&p, &k[0], to, 1, 1, 1, t);
    other_chain.chain_id = tau_state::ChainId::new("other").unwrap();
    let other_chain = other_chain.sign(&k[0]).unwrap();
    let stranger = pay(&p, &common::key(9), to, 1, 1, 1, t);
    let good = pay(&p, &k[0], to, 1, 10, 1, t);
    let replay = good.clone();

    let pending = [
        bad_sig,
        wrong_nonce,
        overspend,
        expired,
        future,
        long,
        other_chain,
        stranger,
        good,
        replay,
    ];
    let next = chain.produce_next_state(&g, &k[2], &pending, t).unwrap();
    let reasons: Vec<_> = next
        .skipped
        .iter()
        .map(|s| (s.index, s.reason.clone()))
        .collect();
    assert_eq!(reasons.len(), 9, "{reasons:?}");
    assert!(matches!(reasons[0].1, TxError::Signature(_)));
    assert!(matches!(
        reasons[1].1,
        TxError::WrongNonce {
            expected: 1,
            found: 5,
            ..
        }
    ));
    assert!(matches!(
        reasons[2].1,
        TxError::InsufficientBalance {
            balance: 1_000,
            needed: 1_001,
            ..
        }
    ));
    assert!(matches!(reasons[3].1, TxError::Expired { .. }));
    assert!(matches!(reasons[4].1, TxError::FutureDated { .. }));
    assert!(matches!(reasons[5].1, TxError::MessageTooLong { .. }));
    assert!(matches!(reasons[6].1, TxError::WrongChain { .. }));
    // A stranger has no balance: nonce 1 is right, funds are not.
    assert!(matches!(
        reasons[7].1,
        TxError::InsufficientBalance { balance: 0, .. }
    ));
    // The replay of an applied transaction has a stale nonce.
    assert_eq!(reasons[8].0, 9);
    assert!(matches!(
        reasons[8].1,
        TxError::WrongNonce {
            expected: 2,
            found: 1,
            ..
        }
    ));
    assert_eq!(next.transactions.len(), 1);
    assert_eq!(chain.balance(&next.root, &to).unwrap(), Some(1_010));
    assert_eq!(supply(&chain, &next.root), 3_000);
    chain.validate_block(&g, &next.root).unwrap();
}

#[test]
fn block_limit_skips_the_rest() {
    let (chain, g, k) = devnet(2, 1_000);
    let mut p = chain.params().clone();
    p.max_block_transactions = 2;
    let chain = tau_state::Executor::new(chain.store(), p.clone()).unwrap();
    let t = earliest(&chain, &g, &k[1]);
    let txs: Vec<_> = (1..=3)
        .map(|n| pay(&p, &k[0], k[1].address(), n, 1, 0, t))
        .collect();
    let next = chain.produce_next_state(&g, &k[1], &txs, t).unwrap();
    assert_eq!(next.transactions.len(), 2);
    assert_eq!(next.skipped.len(), 1);
    assert_eq!(next.skipped[0].reason, TxError::BlockFull);
}

#[test]
fn mining_needs_an_account_and_its_turn() {
    let (chain, g, k) = devnet(2, 1_000);
    let stranger = common::key(42);
    assert!(matches!(
        chain.produce_next_state(&g, &stranger, &[], GENESIS_TIME + 1_000),
        Err(Error::UnknownMiner(a)) if a == stranger.address()
    ));
    let t = earliest(&chain, &g, &k[0]);
    assert!(t > GENESIS_TIME);
    assert!(matches!(
        chain.produce_next_state(&g, &k[0], &[], t - 1),
        Err(Error::TooEarly { earliest, .. }) if earliest == t
    ));
    // A failed production stores nothing: the genesis state is intact.
    let before = chain.store().len();
    let _ = chain.produce_next_state(&g, &k[0], &[], t - 1);
    assert_eq!(chain.store().len(), before);
    assert_eq!(chain.balance(&g, &k[0].address()).unwrap(), Some(1_000));
}

#[test]
fn self_transfer_only_costs_the_fee() {
    let (chain, g, k) = devnet(2, 1_000);
    let p = chain.params().clone();
    let t = earliest(&chain, &g, &k[1]);
    let tx = pay(&p, &k[0], k[0].address(), 1, 500, 7, t);
    let next = chain.produce_next_state(&g, &k[1], &[tx], t).unwrap();
    assert_eq!(
        chain.balance(&next.root, &k[0].address()).unwrap(),
        Some(993)
    );
    assert_eq!(supply(&chain, &next.root), 2_000);
    chain.validate_block(&g, &next.root).unwrap();
}

#[test]
fn history_walks_back_to_genesis() {
    let (chain, g, k) = devnet(2, 1_000);
    let mut root = g;
    let mut roots = vec![g];
    for i in 0..5 {
        let miner = &k[i % 2];
        let t = earliest(&chain, &root, miner);
        root = chain.produce_next_state(&root, miner, &[], t).unwrap().root;
        roots.push(root);
    }
    let history = chain.history(&root, 100).unwrap();
    let walked: Vec<_> = history.iter().map(|(r, _)| *r).collect();
    roots.reverse();
    assert_eq!(walked, roots);
    assert_eq!(history.last().unwrap().1.number(), 0);
    assert_eq!(chain.history(&root, 2).unwrap().len(), 2);
    let _ = Address::new([0; 20]);
    assert!(chain
        .state(&root)
        .unwrap()
        .get::<u64>(&StateKey::Nonce(k[0].address()))
        .unwrap()
        .is_some());
}

#[test]
fn a_miner_sending_in_its_own_block_counts_the_mining_nonce() {
    let (chain, g, k) = devnet(2, 1_000);
    let p = chain.params().clone();
    let t = earliest(&chain, &g, &k[0]);
    // Mining takes nonce 1, so the miner's own transaction needs nonce 2.
    let stale = pay(&p, &k[0], k[1].address(), 1, 5, 0, t);
    let fresh = pay(&p, &k[0], k[1].address(), 2, 5, 0, t);
    let next = chain
        .produce_next_state(&g, &k[0], &[stale, fresh], t)
        .unwrap();
    assert_eq!(next.skipped.len(), 1);
    assert!(matches!(
        next.skipped[0].reason,
        TxError::WrongNonce {
            expected: 2,
            found: 1,
            ..
        }
    ));
    assert_eq!(chain.nonce(&next.root, &k[0].address()).unwrap(), 2);
    assert_eq!(
        chain.balance(&next.root, &k[1].address()).unwrap(),
        Some(1_005)
    );
}
