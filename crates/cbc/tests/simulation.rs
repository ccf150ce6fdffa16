//! The scenarios of the tau-cbc issue, run in the deterministic simulator
//! (16 nodes, devnet PoT blocks, 1–3 s latency, 2 % loss).

use tau_cbc::sim::{Partition, Report, SimConfig, Simulation};

fn run(config: SimConfig) -> Report {
    Simulation::run(config).unwrap()
}

#[test]
fn sixteen_honest_nodes_agree_and_never_go_back() {
    let report = run(SimConfig::new(16, 0, 1));
    assert!(report.blocks_mined > 20, "{report:?}");
    assert!(report.final_agreement, "{report:?}");
    assert!(report.final_safety_number.unwrap() > 10, "{report:?}");
    assert!(report.first_agreement_at.is_some());
    // Never backwards, never two honest points on different chains.
    assert_eq!(report.safety_violations, 0);
    assert_eq!(report.conflicts_refused, 0);
    assert_eq!(report.forged_adopted, 0);
    assert_eq!(report.honest_marked, 0);
    // Everyone saw everyone: the clique oracle tolerates faults.
    assert!(
        report.min_fault_tolerance.is_some_and(|t| t > 0),
        "{report:?}"
    );
}

#[test]
fn five_byzantine_of_sixteen_cannot_break_safety() {
    // Nodes 11..16: forger, withholder, equivocator, forger, withholder.
    let report = run(SimConfig::new(16, 5, 2));
    assert_eq!(report.forged_adopted, 0, "{report:?}");
    assert_eq!(report.safety_violations, 0, "{report:?}");
    assert!(report.final_agreement, "{report:?}");
    assert!(report.final_safety_number.unwrap() > 10, "{report:?}");
    assert!(report.forgeries_detected > 0);
    // Both forgers are caught; withholders and the equivocator send valid
    // (if unhelpful) chains, and no honest node is accused.
    assert_eq!(report.byzantine_marked, 2, "{report:?}");
    assert_eq!(report.honest_marked, 0);
}

#[test]
fn a_cut_off_minority_cannot_move_its_safety_point_and_rejoins() {
    let mut config = SimConfig::new(16, 0, 3);
    config.partition = Some(Partition {
        minority: 5,
        from: 600,
        until: 900,
    });
    let report = run(config);
    assert!(!report.minority_advanced_in_partition, "{report:?}");
    assert_eq!(report.safety_violations, 0, "{report:?}");
    assert!(report.final_agreement, "{report:?}");
    assert_eq!(report.refused_reorgs, 0, "{report:?}");
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let mut config = SimConfig::new(8, 2, 9);
    config.mining_time = 400;
    config.settle_time = 100;
    assert_eq!(run(config.clone()), run(config));
}
