//! Hostile peers against the production process-B engine, in the simulator
//! (fixed seeds; each run is deterministic). For every attack: no honest
//! safety point conflicts with another or goes back, no honest node adopts a
//! forged (or future-dated) state, and the honest nodes' safety point still
//! advances and agrees.

use tau_cbc::sim::{Attack, Report, SimConfig, Simulation};

/// Eight honest nodes under `attack`: 1,200 s of mining, 300 s to settle.
fn run(attack: Attack, seed: u64) -> Report {
    let mut config = SimConfig::new(8, 0, seed).under(attack);
    config.mining_time = 1_200;
    Simulation::run(config).unwrap()
}

fn assert_unharmed(report: &Report) {
    assert_eq!(report.safety_violations, 0, "{report:?}");
    assert_eq!(report.forged_adopted, 0, "{report:?}");
    assert_eq!(report.attacker_chain_adopted, 0, "{report:?}");
    assert_eq!(report.honest_marked, 0, "{report:?}");
    assert!(report.final_agreement, "{report:?}");
    assert!(report.honest_safety_advanced, "{report:?}");
    assert!(report.final_safety_number.unwrap_or(0) > 5, "{report:?}");
}

#[test]
fn eighty_sybil_ids_behind_one_private_fork_do_not_decide() {
    // 80 throwaway peer ids (10 per honest node) and their one funded lead
    // all answer the lead's private fork and report it safe.
    let report = run(Attack::Sybil, 11);
    assert_unharmed(&report);
}

#[test]
fn a_chain_minted_ahead_of_the_clock_is_refused() {
    let report = run(Attack::Future, 12);
    assert_unharmed(&report);
    assert!(report.future_refused > 0, "{report:?}");
}

#[test]
fn a_forged_chain_on_an_invented_state_is_never_adopted() {
    let report = run(Attack::ForgedBottom, 13);
    assert_unharmed(&report);
    // The lead's invented state is found once a catch-up walks down to it.
    assert!(report.forgeries_detected > 0, "{report:?}");
    assert!(report.byzantine_marked >= 1, "{report:?}");
}

#[test]
fn a_flood_of_silent_peer_ids_is_bounded_and_does_not_stall_the_vote() {
    let report = run(Attack::PeerFlood, 14);
    assert_unharmed(&report);
    let max_peers = SimConfig::new(8, 0, 14).cbc.max_peers;
    assert!(report.max_peer_table <= max_peers, "{report:?}");
}

#[test]
fn attacks_are_named_for_the_command_line() {
    for attack in [
        Attack::Sybil,
        Attack::Future,
        Attack::ForgedBottom,
        Attack::PeerFlood,
    ] {
        assert_eq!(Attack::from_name(attack.name()), Some(attack));
    }
    assert_eq!(Attack::from_name("nonsense"), None);
}
