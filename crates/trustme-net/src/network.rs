//! N super nodes in one process, connected over 127.0.0.1: start them,
//! cut the network in two and heal it, take snapshots, and check that the
//! replicas agree.

use std::time::{Duration, Instant};

use crate::devnet::Devnet;
use crate::node::{spawn, NodeHandle, Status};
use crate::Result;

/// Nodes of one devnet running in this process, every pair connected.
#[derive(Debug)]
pub struct Network {
    /// The devnet they run.
    pub devnet: Devnet,
    /// The nodes, in devnet order (node 0 is the foundation).
    pub nodes: Vec<NodeHandle>,
    /// When the network started (unit timestamps are ms since then).
    pub epoch: Instant,
}

/// Whether the replicas agree, and up to where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreement {
    /// The lowest last stable MCI over the nodes: every node has judged
    /// every MCI up to here.
    pub common_mci: u64,
    /// MCIs compared over all pairs with node 0 (each up to the lower of
    /// the two last stable MCIs).
    pub compared: u64,
    /// The first difference found, if any.
    pub difference: Option<String>,
}

impl Agreement {
    /// Whether no difference was found.
    pub fn agree(&self) -> bool {
        self.difference.is_none()
    }
}

/// Compares every node's replica with node 0's: the same stable units and
/// the same state digest (rounds and ledger) at every MCI both have made
/// stable.
pub fn check_agreement(statuses: &[Status]) -> Agreement {
    let common_mci = statuses
        .iter()
        .map(|s| s.last_stable_mci)
        .min()
        .unwrap_or(0);
    let mut compared = 0;
    let Some(first) = statuses.first() else {
        return Agreement {
            common_mci,
            compared,
            difference: None,
        };
    };
    for (i, s) in statuses.iter().enumerate().skip(1) {
        let upto = first.last_stable_mci.min(s.last_stable_mci);
        for mci in 0..=upto {
            let m = mci as usize;
            if first.stable_units.get(m) != s.stable_units.get(m) {
                return Agreement {
                    common_mci,
                    compared,
                    difference: Some(format!(
                        "node {i}: stable units of MCI {mci} differ from node 0's"
                    )),
                };
            }
            if mci > 0 {
                let (a, b) = (first.digests.get(m - 1), s.digests.get(m - 1));
                if a != b || a.is_none_or(|d| d.is_none()) {
                    return Agreement {
                        common_mci,
                        compared,
                        difference: Some(format!(
                            "node {i}: state digest at MCI {mci} differs from node 0's"
                        )),
                    };
                }
            }
            compared += 1;
        }
    }
    Agreement {
        common_mci,
        compared,
        difference: None,
    }
}

impl Network {
    /// Starts every node of `devnet` (paying every `payment_every` if
    /// given) and connects every pair; returns once each node has a
    /// connection to every other one and knows it subscribed to the units
    /// topic, or fails after `timeout`.
    pub async fn start(
        devnet: Devnet,
        payment_every: Option<Duration>,
        timeout: Duration,
    ) -> Result<Self> {
        let epoch = Instant::now();
        let mut nodes = Vec::with_capacity(devnet.len());
        for i in 0..devnet.len() {
            let config = devnet
                .node_config(i, epoch, payment_every)
                .ok_or(crate::Error::Config("node index"))?;
            nodes.push(spawn(config).await?);
        }
        for a in &nodes {
            for b in &nodes {
                if a.peer_id != b.peer_id {
                    a.dial(b.peer_id, b.addr.clone())?;
                }
            }
        }
        let net = Self {
            devnet,
            nodes,
            epoch,
        };
        let n = net.nodes.len();
        // Connected, and each knows every other is subscribed to the units
        // topic (else its first units reach only some).
        net.wait_until(timeout, |s| {
            s.iter()
                .all(|s| s.connected + 1 >= n && s.topic_peers + 1 >= n)
        })
        .await?;
        Ok(net)
    }

    /// Every node's snapshot, in order.
    pub async fn statuses(&self) -> Result<Vec<Status>> {
        let mut out = Vec::with_capacity(self.nodes.len());
        for n in &self.nodes {
            out.push(n.status().await?);
        }
        Ok(out)
    }

    /// Polls snapshots every 250 ms until `done` holds; fails with a
    /// timeout after `timeout`. Returns the last snapshots.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&[Status]) -> bool,
    ) -> Result<Vec<Status>> {
        let until = Instant::now() + timeout;
        loop {
            let statuses = self.statuses().await?;
            if done(&statuses) {
                return Ok(statuses);
            }
            if Instant::now() >= until {
                return Err(crate::Error::Timeout("waiting for the network"));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Cuts the network: every connection between a node in `side` and a
    /// node outside is closed, and both ends refuse new ones.
    pub fn partition(&self, side: &[usize]) -> Result<()> {
        for (i, a) in self.nodes.iter().enumerate() {
            for (j, b) in self.nodes.iter().enumerate() {
                if side.contains(&i) != side.contains(&j) {
                    a.block(b.peer_id)?;
                }
            }
        }
        Ok(())
    }

    /// Heals any cut: every node accepts and redials every other one.
    pub fn heal(&self) -> Result<()> {
        for a in &self.nodes {
            for b in &self.nodes {
                if a.peer_id != b.peer_id {
                    a.unblock(b.peer_id)?;
                }
            }
        }
        Ok(())
    }

    /// Stops every node.
    pub async fn stop(self) {
        for n in self.nodes {
            n.stop().await;
        }
    }
}
