use tau_trustme::sim::{Sim, SimConfig};

#[test]
fn devnet_runs_rounds() {
    let mut sim = Sim::new(SimConfig::devnet(6, 4, 1)).unwrap();
    let r = sim.run().unwrap();
    eprintln!("end {} ms, rounds {:?}", r.end_ms, r.round_durations_ms());
    eprintln!(
        "stable {} mean {} ms mci {} mc {} per node {:?}",
        r.stable_units,
        r.mean_stabilization_ms(),
        r.last_stable_mci,
        r.mc_len,
        r.stable_mci_per_node
    );
    eprintln!("rejected {:?}", &r.rejected[..r.rejected.len().min(10)]);
    eprintln!("rewards {:?}", r.rewards_by_node);
    assert!(r.rounds.len() >= 5);
}
