//! Every solution the solver returns is accepted by the `equihash` crate's
//! verifier, and runs find about as many solutions as Wagner's analysis says.

use tau_pow::{decode_indices, verify, Params, Solver};

/// Solves `nonces` nonces of `params`; checks each solution with the reference
/// verifier and returns how many there were.
fn solve_and_verify(params: Params, input: &[u8], nonces: u32) -> usize {
    let mut solver = Solver::new(params).unwrap();
    let mut total = 0;
    for nonce in 0..nonces {
        let nonce = nonce.to_le_bytes();
        let solutions = solver.solve(input, &nonce);
        for s in &solutions {
            verify(&params, input, &nonce, s).unwrap_or_else(|e| {
                panic!("({}, {}) nonce {nonce:?}: {e}", params.n(), params.k())
            });
        }
        // Sorted and without duplicates.
        assert!(solutions.windows(2).all(|w| w[0] < w[1]));
        total += solutions.len();
    }
    total
}

#[test]
fn tiny_48_5_solutions_verify() {
    let found = solve_and_verify(Params::tiny(), b"tau-pow (48,5)", 200);
    // About 1.9 solutions per run on average.
    assert!(found > 100, "{found} solutions in 200 runs");
}

#[test]
fn devnet_96_5_solutions_verify() {
    let found = solve_and_verify(Params::devnet(), b"tau-pow (96,5)", 12);
    assert!(found > 0, "no solution in 12 runs");
}

/// (200,9) is slow in debug builds: run with `--release -- --ignored`.
#[test]
#[ignore]
fn zcash_200_9_solutions_verify() {
    let found = solve_and_verify(Params::zcash(), &[7u8; 108], 20);
    assert!(found > 0, "no solution in 20 runs");
}

#[test]
#[ignore]
fn zcash_200_9_thread_counts_agree() {
    let params = Params::zcash();
    let mut one = Solver::new(params).unwrap();
    let mut two = Solver::new(params).unwrap().threads(2);
    let mut three = Solver::new(params).unwrap().threads(3);
    let mut total = 0;
    for nonce in 0u32..6 {
        let nonce = nonce.to_le_bytes();
        let expected = one.solve(&[7u8; 108], &nonce);
        assert_eq!(two.solve(&[7u8; 108], &nonce), expected);
        assert_eq!(three.solve(&[7u8; 108], &nonce), expected);
        total += expected.len();
    }
    assert!(total > 0, "no solution in 6 runs");
}

#[test]
fn a_corrupted_solution_is_rejected() {
    let params = Params::tiny();
    let mut solver = Solver::new(params).unwrap();
    let (nonce, solution) = (0u32..64)
        .find_map(|n| solver.solve(b"x", &n.to_le_bytes()).pop().map(|s| (n, s)))
        .unwrap();
    let nonce = nonce.to_le_bytes();
    verify(&params, b"x", &nonce, &solution).unwrap();
    for i in 0..solution.len() {
        let mut bad = solution.clone();
        bad[i] ^= 0x10;
        assert!(verify(&params, b"x", &nonce, &bad).is_err(), "byte {i}");
    }
    assert!(verify(&params, b"x", &nonce, &solution[1..]).is_err());
    let indices = decode_indices(&params, &solution).unwrap();
    assert_eq!(indices.len(), 32);
}

#[test]
fn the_thread_count_does_not_change_the_solutions() {
    for params in [Params::tiny(), Params::devnet()] {
        let mut one = Solver::new(params).unwrap();
        let mut two = Solver::new(params).unwrap().threads(2);
        let mut three = Solver::new(params).unwrap().threads(3);
        assert_eq!(three.thread_count(), 3);
        let nonces = if params.n() == 48 { 64u32 } else { 4 };
        for nonce in 0..nonces {
            let nonce = nonce.to_le_bytes();
            let expected = one.solve(b"threads", &nonce);
            assert_eq!(two.solve(b"threads", &nonce), expected);
            assert_eq!(three.solve(b"threads", &nonce), expected);
        }
    }
}

mod untrusted {
    use proptest::prelude::*;
    use tau_pow::{decode_indices, verify, Params, Solver};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Bytes from the network never panic the verifier or the decoder;
        /// random solutions of the right length are (overwhelmingly) rejected.
        #[test]
        fn random_solutions_are_rejected_without_panicking(
            which in 0usize..3,
            input in proptest::collection::vec(any::<u8>(), 0..160),
            nonce in proptest::collection::vec(any::<u8>(), 0..40),
            exact in any::<bool>(),
            bytes in proptest::collection::vec(any::<u8>(), 0..1400),
        ) {
            let params = [Params::tiny(), Params::devnet(), Params::zcash()][which];
            let mut solution = bytes;
            if exact {
                solution.resize(params.solution_bytes(), 0);
            }
            let verdict = verify(&params, &input, &nonce, &solution);
            prop_assert!(verdict.is_err());
            let decoded = decode_indices(&params, &solution);
            prop_assert_eq!(decoded.is_ok(), solution.len() == params.solution_bytes());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any input and nonce (every length, so the index lands anywhere in
        /// BLAKE2b's last block or straddles two): every solution verifies,
        /// and two threads find the same ones as one.
        #[test]
        fn any_input_solves_to_valid_solutions(
            input in proptest::collection::vec(any::<u8>(), 0..300),
            nonce in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let params = Params::tiny();
            let one = Solver::new(params).unwrap().solve(&input, &nonce);
            for solution in &one {
                prop_assert!(verify(&params, &input, &nonce, solution).is_ok());
            }
            let two = Solver::new(params).unwrap().threads(2).solve(&input, &nonce);
            prop_assert_eq!(one, two);
        }
    }
}

#[test]
fn phases_describe_the_last_run() {
    let params = Params::devnet();
    let mut solver = Solver::new(params).unwrap();
    assert_eq!(solver.phases(), &tau_pow::Phases::default());
    solver.solve(b"phases", &[0; 4]);
    let phases = solver.phases().clone();
    assert_eq!(phases.rounds.len(), params.k() as usize - 1);
    assert!(phases.leaves > std::time::Duration::ZERO);
    solver.solve(b"phases", &[1; 4]);
    assert_eq!(solver.phases().rounds.len(), phases.rounds.len());
}

#[test]
fn zcash_heaps_fit_the_memory_target() {
    // The target: at most 150 MiB per thread; the workers share the
    // slots of a bucket, so two threads use about as much as one.
    for threads in [1, 2, 4] {
        let solver = Solver::new(Params::zcash()).unwrap().threads(threads);
        let bytes = solver.memory_bytes();
        assert!(bytes <= 150 << 20, "{threads} threads: {bytes} bytes");
        assert!(bytes >= 140 << 20, "{threads} threads: {bytes} bytes");
    }
}

#[test]
fn a_solver_can_move_to_and_be_shared_with_other_threads() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let mut solver = Solver::new(Params::tiny()).unwrap();
    send_sync(&solver);
    let found = std::thread::scope(|s| s.spawn(|| solver.solve(b"thread", &[1; 4])).join());
    assert!(found.is_ok());
}
