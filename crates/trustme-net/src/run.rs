//! The networked run of `examples/trustme-network.rs --real N`: N super
//! nodes in one process through several round switches with payments,
//! optionally a partition and its heal, then a check that the replicas
//! agree. The example prints what [`run`] returns; a test runs a small one.

use std::time::{Duration, Instant};

use crate::network::{check_agreement, Agreement, Network};
use crate::node::Status;
use crate::{Devnet, Error, Result};

/// What to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Consensus parameters (`Params::tiny()` or `Params::devnet()`).
    pub params: tau_trustme::Params,
    /// Super nodes besides the foundation node.
    pub super_nodes: usize,
    /// Round switches every node must see.
    pub rounds: u64,
    /// Keys and genesis seed.
    pub seed: u64,
    /// Notes each node gets in the genesis.
    pub funds: u64,
    /// Each node pays the next one this often (none: no payments).
    pub payment_every: Option<Duration>,
    /// Cut the last `minority` attestors of the current round off for
    /// `cut` once every node has 3 stable MCIs.
    pub partition: Option<PartitionPlan>,
    /// Give up after this long.
    pub timeout: Duration,
}

/// A partition to make during a run.
#[derive(Debug, Clone, Copy)]
pub struct PartitionPlan {
    /// Attestors cut off (the last ones of the current round by priority).
    pub minority: usize,
    /// How long the cut lasts.
    pub cut: Duration,
    /// Growth is measured after this much of the cut (units already on
    /// their way settle first).
    pub settle: Duration,
}

/// What a partition showed.
#[derive(Debug, Clone)]
pub struct PartitionReport {
    /// Node indices cut off.
    pub minority: Vec<usize>,
    /// Stable MCI growth per node over the measured part of the cut.
    pub growth: Vec<u64>,
    /// How long growth was measured.
    pub measured: Duration,
    /// Stable MCIs adopted from catch-up proofs per node after the heal.
    pub catchup_mcis: Vec<u64>,
}

impl PartitionReport {
    /// The smallest growth on the majority side.
    pub fn majority_growth(&self) -> u64 {
        self.side_growth(false).min().unwrap_or(0)
    }

    /// The largest growth on the minority side.
    pub fn minority_growth(&self) -> u64 {
        self.side_growth(true).max().unwrap_or(0)
    }

    fn side_growth(&self, minority: bool) -> impl Iterator<Item = u64> + '_ {
        self.growth
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.minority.contains(i) == minority)
            .map(|(_, g)| *g)
    }

    /// TR-2018-02 §4.1's claim as measured: the majority kept stabilizing
    /// (at least 3 MCIs) and the minority stalled (at most one MCI, which
    /// attestations sent before the cut can still complete).
    pub fn claim_holds(&self) -> bool {
        self.majority_growth() >= 3 && self.minority_growth() <= 1
    }
}

/// What a run ended with.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The devnet's addresses, foundation first.
    pub addresses: Vec<tau_keys::Address>,
    /// Every node's last snapshot.
    pub statuses: Vec<Status>,
    /// Whether the replicas agree.
    pub agreement: Agreement,
    /// What the partition showed, if one was made.
    pub partition: Option<PartitionReport>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Notes each node got in the genesis.
    pub funds: u64,
}

/// Runs a network as `config` says; fails if it does not reach the rounds
/// within the timeout (the nodes are stopped either way).
pub async fn run(config: RunConfig) -> Result<RunReport> {
    let started = Instant::now();
    let devnet = Devnet::new(
        config.params.clone(),
        config.super_nodes,
        config.seed,
        config.funds,
    )?;
    let addresses = devnet.addresses();
    let net = Network::start(devnet, config.payment_every, Duration::from_secs(20)).await?;
    let result = drive(&net, &config, started).await;
    net.stop().await;
    let (statuses, partition) = result?;
    Ok(RunReport {
        addresses,
        agreement: check_agreement(&statuses),
        statuses,
        partition,
        elapsed: started.elapsed(),
        funds: config.funds,
    })
}

fn left(config: &RunConfig, started: Instant) -> Result<Duration> {
    config
        .timeout
        .checked_sub(started.elapsed())
        .ok_or(Error::Timeout("the run"))
}

async fn drive(
    net: &Network,
    config: &RunConfig,
    started: Instant,
) -> Result<(Vec<Status>, Option<PartitionReport>)> {
    let mut partition = None;
    if let Some(plan) = config.partition {
        let before = net
            .wait_until(left(config, started)?, |s| {
                s.iter().all(|s| s.last_stable_mci >= 3)
            })
            .await?;
        let attestors = &before[0].attestors;
        let minority: Vec<usize> = attestors[attestors.len().saturating_sub(plan.minority)..]
            .iter()
            .filter_map(|a| before.iter().position(|s| s.address == *a))
            .collect();
        net.partition(&minority)?;
        tokio::time::sleep(plan.settle).await;
        let from = net.statuses().await?;
        let measured = plan.cut.saturating_sub(plan.settle);
        tokio::time::sleep(measured).await;
        let to = net.statuses().await?;
        net.heal()?;
        let growth = from
            .iter()
            .zip(&to)
            .map(|(a, b)| b.last_stable_mci.saturating_sub(a.last_stable_mci))
            .collect();
        partition = Some(PartitionReport {
            minority,
            growth,
            measured,
            catchup_mcis: Vec::new(),
        });
    }
    let target = 1 + config.rounds;
    net.wait_until(left(config, started)?, |s| {
        s.iter().all(|s| s.round >= target)
    })
    .await?;
    // Let every node reach the highest stable point seen now.
    let now = net.statuses().await?;
    let top = now.iter().map(|s| s.last_stable_mci).max().unwrap_or(0);
    let statuses = net
        .wait_until(left(config, started)?, |s| {
            s.iter().all(|s| s.last_stable_mci >= top)
        })
        .await?;
    if let Some(p) = partition.as_mut() {
        p.catchup_mcis = statuses.iter().map(|s| s.stats.catchup_mcis).collect();
    }
    Ok((statuses, partition))
}
