//! Differential test for parameters the reference solver does not cover: the
//! solver must find exactly the solutions of a naive Wagner implementation
//! written here from the definition (`docs/src/formats/equihash.md`, "Definition") — whole
//! hashes, index lists carried along, no buckets, no capacities.

use std::collections::BTreeSet;

use tau_pow::{decode_indices, Params, Solver};

/// Leaf `i` of `input ‖ nonce` for `params`, as bytes.
fn leaf(params: &Params, input: &[u8], nonce: &[u8], i: u32) -> Vec<u8> {
    let mut personal = [0u8; 16];
    personal[..8].copy_from_slice(b"ZcashPoW");
    personal[8..12].copy_from_slice(&params.n().to_le_bytes());
    personal[12..].copy_from_slice(&params.k().to_le_bytes());
    let per = params.hashes_per_digest();
    let hb = params.hash_bytes();
    let digest = blake2b_simd::Params::new()
        .hash_length(params.digest_bytes())
        .personal(&personal)
        .to_state()
        .update(input)
        .update(nonce)
        .update(&(i / per).to_le_bytes())
        .finalize();
    let j = (i % per) as usize;
    digest.as_bytes()[j * hb..(j + 1) * hb].to_vec()
}

/// `len` (≤ 64) bits of `bytes` from bit `start`, most significant first.
fn bits(bytes: &[u8], start: u32, len: u32) -> u64 {
    let first = (start / 8) as usize;
    let window = (0..9).fold(0u128, |acc, i| {
        (acc << 8) | u128::from(bytes.get(first + i).copied().unwrap_or(0))
    });
    ((window >> (72 - start % 8 - len)) & ((1u128 << len) - 1)) as u64
}

/// Whether every bit of `bytes` from `start` on is zero.
fn zero_from(bytes: &[u8], start: u32) -> bool {
    let first = (start / 8) as usize;
    let head = bytes.get(first).map_or(0, |&b| b & (0xff >> (start % 8)));
    head == 0 && bytes.iter().skip(first + 1).all(|&b| b == 0)
}

/// Every solution, as index lists in canonical order.
fn naive(params: &Params, input: &[u8], nonce: &[u8]) -> BTreeSet<Vec<u32>> {
    let c = params.collision_bits();
    let k = params.k();
    let mut list: Vec<(Vec<u8>, Vec<u32>)> = (0..params.list_size() as u32)
        .map(|i| (leaf(params, input, nonce, i), vec![i]))
        .collect();
    let mut found = BTreeSet::new();
    for round in 1..=k {
        let start = (round - 1) * c;
        let key_len = if round == k { 2 * c } else { c };
        list.sort_by_cached_key(|(h, _)| bits(h, start, key_len));
        let mut next = Vec::new();
        for group in list.chunk_by(|a, b| bits(&a.0, start, key_len) == bits(&b.0, start, key_len))
        {
            for (i, (ha, ia)) in group.iter().enumerate() {
                for (hb, ib) in &group[i + 1..] {
                    let (first, second) = if ia[0] < ib[0] { (ia, ib) } else { (ib, ia) };
                    let indices: Vec<u32> = first.iter().chain(second).copied().collect();
                    if round == k {
                        let distinct: BTreeSet<u32> = indices.iter().copied().collect();
                        if distinct.len() == indices.len() {
                            found.insert(indices);
                        }
                        continue;
                    }
                    let xor: Vec<u8> = ha.iter().zip(hb).map(|(a, b)| a ^ b).collect();
                    // Equal on every remaining bit: only repeated indices follow
                    // (the solver's rule: validity rule 3 of `docs/src/formats/equihash.md`).
                    if zero_from(&xor, round * c) {
                        continue;
                    }
                    next.push((xor, indices));
                }
            }
        }
        list = next;
    }
    found
}

/// Compares the solver with the naive algorithm on `nonces` nonces; with
/// `full_buckets` false, also requires that no entry was dropped. Returns the
/// entries dropped over all nonces.
fn check(params: Params, nonces: u32, threads: usize, full_buckets: bool) -> u64 {
    let input = b"tau-pow naive differential";
    let mut solver = Solver::new(params).unwrap().threads(threads);
    let mut total = 0;
    let mut dropped = 0;
    for nonce in 0..nonces {
        let nonce = nonce.to_le_bytes();
        let ours: BTreeSet<Vec<u32>> = solver
            .solve(input, &nonce)
            .iter()
            .map(|s| decode_indices(&params, s).unwrap())
            .collect();
        let expected = naive(&params, input, &nonce);
        assert_eq!(ours, expected, "{params:?} nonce {nonce:?}");
        if !full_buckets {
            assert_eq!(solver.phases().dropped, 0, "{params:?} nonce {nonce:?}");
        }
        dropped += solver.phases().dropped;
        total += expected.len();
    }
    assert!(
        total > 0,
        "{params:?}: no solutions at all, the comparison proves nothing"
    );
    dropped
}

#[test]
fn tiny_matches_the_naive_algorithm() {
    check(Params::tiny(), 150, 1, false);
    check(Params::tiny(), 30, 2, false);
}

#[test]
fn devnet_matches_the_naive_algorithm() {
    check(Params::devnet(), 2, 1, false);
}

#[test]
fn other_shapes_match_the_naive_algorithm() {
    // 16 buckets, 7 rounds: duplicated subtrees make later lists outgrow
    // their buckets on some nonces (entries are dropped, counted in
    // `Phases::dropped`), yet the solutions must be the naive ones.
    // The overflow really happens here, so `Phases::dropped` is seen counting.
    let dropped = check(Params::new(96, 7).unwrap(), 10, 1, true);
    assert!(dropped > 0, "(96, 7) is expected to overflow some buckets");
    check(Params::new(72, 5).unwrap(), 10, 2, true);
    // One bucket and k = 4; 256 buckets and k = 3.
    check(Params::new(40, 4).unwrap(), 40, 1, false);
    check(Params::new(64, 3).unwrap(), 2, 1, false);
}
