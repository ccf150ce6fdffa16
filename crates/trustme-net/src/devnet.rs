//! A devnet for networked super nodes: keys from a seed, a genesis that
//! lists round 1's attestors and deposits (as the simulator builds it) and
//! gives every node funds to pay with, and each node's configuration.

use std::time::{Duration, Instant};

use tau_dag::{Input, Message, Output, Payment, UnsignedUnit, VerifiedUnit};
use tau_keys::{blake2b_256_concat, Address, Keypair};
use tau_trustme::{Genesis, Params};

use crate::node::NodeConfig;
use crate::Result;

/// One devnet: node 0 is the foundation node, nodes `1..` super nodes
/// (the first `pow_attestors` of them attest in round 1).
#[derive(Debug, Clone)]
pub struct Devnet {
    /// Consensus parameters.
    pub params: Params,
    /// DAG parameters.
    pub dag_params: tau_dag::Params,
    /// Main-chain parameters.
    pub chain_params: tau_mainchain::Params,
    /// The genesis configuration.
    pub genesis: Genesis,
    /// The genesis unit (by node 0), with one payment output per node.
    pub genesis_unit: VerifiedUnit,
    /// Every node's key, foundation first.
    pub keys: Vec<Keypair>,
    /// Notes each node receives in the genesis unit.
    pub funds: u64,
}

/// A key derived from `seed` and `i` (retrying the rare digest that is not
/// a valid secret key).
fn key_of(seed: u64, i: usize) -> Result<Keypair> {
    let mut counter = 0u32;
    loop {
        let secret = blake2b_256_concat(&[
            b"tau-trustme-net devnet key",
            &seed.to_be_bytes(),
            &(i as u64).to_be_bytes(),
            &counter.to_be_bytes(),
        ]);
        match Keypair::from_bytes(&secret) {
            Ok(k) => return Ok(k),
            Err(e) if counter > 16 => return Err(e.into()),
            Err(_) => counter += 1,
        }
    }
}

impl Devnet {
    /// A devnet of one foundation node and `super_nodes` super nodes with
    /// `params` (at least `params.pow_attestors` super nodes), each node
    /// holding `funds` notes from the genesis.
    pub fn new(params: Params, super_nodes: usize, seed: u64, funds: u64) -> Result<Self> {
        params.validate()?;
        let f = params.foundation_attestors;
        if super_nodes < params.pow_attestors || f == 0 || funds == 0 {
            return Err(crate::Error::Config(
                "a devnet needs a foundation node, at least pow_attestors super nodes and funds",
            ));
        }
        let keys: Vec<Keypair> = (0..f + super_nodes)
            .map(|i| key_of(seed, i))
            .collect::<Result<_>>()?;
        let round_one: Vec<Address> = keys[..f + params.pow_attestors]
            .iter()
            .map(|k| k.address())
            .collect();
        let pub_seed = blake2b_256_concat(&[b"tau-trustme-net pub seed", &seed.to_be_bytes()]);
        let genesis = Genesis {
            foundation: round_one[..f].to_vec(),
            foundation_reward: keys[0].address(),
            initial_attestors: round_one[f..].to_vec(),
            pub_seed,
            deposits: keys[f..]
                .iter()
                .map(|k| (k.address(), params.min_deposit))
                .collect(),
            witness_phase: None,
        };
        let dag_params = tau_dag::Params::devnet();
        let payment = Payment {
            inputs: Vec::new(),
            outputs: keys
                .iter()
                .map(|k| Output {
                    address: k.address(),
                    amount: funds,
                })
                .collect(),
        };
        let genesis_unit = UnsignedUnit {
            version: dag_params.version,
            round: genesis.first_round(),
            timestamp: 0,
            parents: vec![],
            authors: vec![keys[0].address()],
            messages: vec![
                Message::Payment(payment),
                Message::Data(b"tau-trustme-net devnet genesis".to_vec()),
            ],
        }
        .sign(&[&keys[0]])?
        .verify(&dag_params)?;
        Ok(Self {
            params,
            dag_params,
            chain_params: tau_mainchain::Params::mainnet(),
            genesis,
            genesis_unit,
            keys,
            funds,
        })
    }

    /// Number of nodes (foundation included).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no nodes (never, for a built devnet).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Every node's address, foundation first.
    pub fn addresses(&self) -> Vec<Address> {
        self.keys.iter().map(|k| k.address()).collect()
    }

    /// Node `i`'s genesis output.
    pub fn genesis_coin(&self, i: usize) -> Input {
        Input {
            unit: self.genesis_unit.id(),
            message_index: 0,
            output_index: u32::try_from(i).unwrap_or(u32::MAX),
        }
    }

    /// Node `i`'s configuration (`None` past the last node): it listens on
    /// 127.0.0.1 on a free port, reads time from `epoch` (the same for all
    /// nodes: unit timestamps are ms since it), and pays the next node
    /// every `payment_every` (none if `None`).
    pub fn node_config(
        &self,
        i: usize,
        epoch: Instant,
        payment_every: Option<Duration>,
    ) -> Option<NodeConfig> {
        let key = self.keys.get(i)?.clone();
        let addresses = self.addresses();
        let payee = addresses.get((i + 1) % addresses.len()).copied()?;
        Some(NodeConfig {
            key,
            dag_params: self.dag_params.clone(),
            chain_params: self.chain_params.clone(),
            params: self.params.clone(),
            genesis: self.genesis.clone(),
            genesis_unit: self.genesis_unit.clone(),
            epoch,
            tick: Duration::from_millis(100),
            payment: payment_every.map(|every| PaymentPlan {
                every,
                coin: (self.genesis_coin(i), self.funds),
                payee,
                amount: 1_000,
            }),
            watch: addresses,
            nonce_seed: i as u64,
        })
    }
}

/// When and how a node pays: from `coin` (an output it owns, and its
/// amount), `amount` notes to `payee` every `every`, the change back to
/// itself, the commission covered by a fee of the DAG's largest unit size.
#[derive(Debug, Clone)]
pub struct PaymentPlan {
    /// Time between payments (one in flight at a time).
    pub every: Duration,
    /// The first output spent, and its amount.
    pub coin: (Input, u64),
    /// Who receives.
    pub payee: Address,
    /// Notes per payment.
    pub amount: u64,
}
