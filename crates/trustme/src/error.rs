//! The crate's error type.

use cid::Cid;
use tau_keys::Address;

/// Everything that can go wrong in `tau-trustme`: bad units (each rule of
/// TR-2018-02 §2.3, §4.3–§4.6 has its variant) and failures of the crates
/// below.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The DAG rejected a unit or failed.
    #[error(transparent)]
    Dag(#[from] tau_dag::Error),
    /// The main chain failed (including a stable rewrite).
    #[error(transparent)]
    MainChain(#[from] tau_mainchain::Error),
    /// Equihash parameters, solution or compact bits are invalid.
    #[error(transparent)]
    Pow(#[from] tau_pow::Error),
    /// A signature or key failed.
    #[error(transparent)]
    Keys(#[from] tau_keys::Error),
    /// Bytes that do not decode, are not canonical, or an object that does not encode.
    #[error(transparent)]
    Codec(#[from] tau_ipld::canonical::CodecError),
    /// A `Params` or `Genesis` value is inconsistent.
    #[error("invalid params: {0}")]
    InvalidParams(&'static str),
    /// A unit carries more than one PoW, TrustME or deposit message.
    #[error("a unit carries at most one PoW, TrustME or deposit message")]
    SeveralConsensusMessages,
    /// PoW, TrustME and deposit units have exactly one author.
    #[error("{count} authors; PoW, TrustME and deposit units have exactly one")]
    NotSingleAuthor {
        /// Authors listed.
        count: usize,
    },
    /// A unit's round is below one of its parents' rounds (rounds never go back).
    #[error("unit of round {round} has a parent of round {parent_round}")]
    RoundBelowParent {
        /// The unit's round.
        round: u64,
        /// The parent's round.
        parent_round: u64,
    },
    /// The payload's round does not fit the unit's round (TrustME: equal;
    /// PoW: one more, it competes for the next round).
    #[error("payload round {payload} does not fit unit round {unit}")]
    RoundMismatch {
        /// The unit's round.
        unit: u64,
        /// The payload's round.
        payload: u64,
    },
    /// Round 0 does not exist (except as the witness phase, TR §5.2).
    #[error("round 0 does not exist")]
    RoundZero,
    /// A PoW unit for a round that has already started (or a TrustME unit of
    /// a round that has ended when it became stable).
    #[error("unit for round {round} became stable in round {current}")]
    StaleRound {
        /// The unit's round.
        round: u64,
        /// The round on duty when it became stable.
        current: u64,
    },
    /// A TrustME unit stable at or before its round started.
    #[error("TrustME unit of round {round} became stable before the round started")]
    EarlyRound {
        /// The unit's round.
        round: u64,
    },
    /// A second PoW unit by the same super node for the same round.
    #[error("{author} already has a PoW unit for round {round}")]
    DuplicatePow {
        /// The super node.
        author: Address,
        /// The round competed for.
        round: u64,
    },
    /// The PoW unit's bits are not the round's bits.
    #[error("PoW unit has bits {bits:#010x}, round needs {expected:#010x}")]
    WrongBits {
        /// Bits in the unit.
        bits: u32,
        /// The round's bits.
        expected: u32,
    },
    /// BLAKE2b-256 of the solution is above the target.
    #[error("solution does not meet the target of bits {bits:#010x}")]
    UnderTarget {
        /// The bits.
        bits: u32,
    },
    /// The PoW unit's seed is not Seed(round, author).
    #[error("PoW unit seed is not Seed(round {round}, author)")]
    WrongSeed {
        /// The round.
        round: u64,
    },
    /// The super node's deposit is below the minimum.
    #[error("{author} has a deposit of {deposit} notes, below the minimum {min}")]
    InsufficientDeposit {
        /// The super node.
        author: Address,
        /// Its deposit.
        deposit: u64,
        /// The minimum.
        min: u64,
    },
    /// A TrustME unit by an address that is not an attestor of its round.
    #[error("{author} is not an attestor of round {round}")]
    NotAttestor {
        /// The author.
        author: Address,
        /// The round.
        round: u64,
    },
    /// A TrustME unit's priority is not its author's place in the round.
    #[error("priority {got} given, the author's priority is {expected}")]
    WrongPriority {
        /// The author's priority (1-based).
        expected: u32,
        /// The priority in the payload.
        got: u32,
    },
    /// A TrustME unit names another PoW unit than the one that made its
    /// author an attestor.
    #[error("TrustME unit names the wrong PoW unit")]
    WrongPowUnit,
    /// A coinbase list (or its hash) in a TrustME unit differs from the one
    /// computed for round `round`.
    #[error("coinbase of round {round} does not match")]
    CoinbaseMismatch {
        /// The round whose coinbase was carried.
        round: u64,
    },
    /// The round's state needed to check a unit is not known yet (the unit
    /// waits; not a rejection).
    #[error("round {round} is not known yet")]
    RoundNotKnown {
        /// The round.
        round: u64,
    },
    /// A withdrawal from a deposit that is still locked or does not exist.
    #[error("deposit of {author} is locked until round {until}")]
    DepositLocked {
        /// The super node.
        author: Address,
        /// First round a withdrawal is allowed.
        until: u64,
    },
    /// A withdrawal or deposit change for an address without a deposit.
    #[error("{0} has no deposit")]
    NoDeposit(Address),
    /// A deposit unit that pays nothing into its deposit contract.
    #[error("the deposit unit of {0} pays nothing into its contract")]
    UnfundedDeposit(Address),
    /// A deposit contract with a lock shorter than the minimum.
    #[error("silent-locking time {got} rounds is below the minimum {min}")]
    LockTooShort {
        /// Rounds given.
        got: u64,
        /// The minimum.
        min: u64,
    },
    /// A catch-up proof contradicts this replica's stable main chain at `mci`
    /// (another MC unit there, or a unit that does not extend it).
    #[error("catch-up proof conflicts with the stable main chain at MCI {mci}")]
    CatchupConflict {
        /// The MCI.
        mci: u64,
    },
    /// A catch-up proof's steps are not the consecutive MCIs after its start.
    #[error("catch-up proof step for MCI {got} where MCI {expected} was due")]
    CatchupGap {
        /// The MCI due.
        expected: u64,
        /// The MCI given.
        got: u64,
    },
    /// A catch-up proof names a unit that is neither in the DAG nor among
    /// the units it carries (or one that cannot enter the DAG yet).
    #[error("catch-up proof names unit {0} that is not in the DAG")]
    CatchupUnknownUnit(Box<Cid>),
    /// A witness of a catch-up step is not a TrustME unit by an attestor of
    /// the round on duty (or is of a later round).
    #[error("witness {unit} is not a TrustME unit by an attestor of round {round}")]
    WitnessNotAttestor {
        /// The witness.
        unit: Box<Cid>,
        /// The round on duty.
        round: u64,
    },
    /// A witness of a catch-up step does not have the step's MC unit strictly
    /// below it on its best-parent chain.
    #[error("witness {unit} is not built on the MC unit of MCI {mci}")]
    WitnessOffChain {
        /// The witness.
        unit: Box<Cid>,
        /// The step's MCI.
        mci: u64,
    },
    /// A catch-up step's witnesses come from fewer than a majority of the
    /// round's attestors.
    #[error("MCI {mci} has witnesses by {got} attestors, a majority is {need}")]
    TooFewWitnesses {
        /// The step's MCI.
        mci: u64,
        /// Distinct attestors among the witnesses.
        got: usize,
        /// The majority.
        need: usize,
    },
    /// An attestor's stable unit does not include the attestor's previous
    /// stable unit (TR §3: non-sequential units); the attestor is eliminated.
    #[error("{author}'s unit {unit} does not include its previous unit {previous}: non-sequential, the attestor is eliminated")]
    NonSequential {
        /// The attestor.
        author: Address,
        /// The unit.
        unit: Box<Cid>,
        /// The attestor's previous stable unit.
        previous: Box<Cid>,
    },
    /// A TrustME or PoW unit by an attestor eliminated for non-sequential units.
    #[error(
        "{0} was eliminated for non-sequential units; its TrustME and PoW units count for nothing"
    )]
    Eliminated(Address),
    /// An attestor's first TrustME unit of a round ≥ 3 without the coinbase
    /// of round − 2 (TR §4.6 (d)).
    #[error("the first TrustME unit of round {round} by {author} does not carry the coinbase of round {}", round.saturating_sub(2))]
    MissingCoinbase {
        /// The round.
        round: u64,
        /// The attestor.
        author: Address,
    },
    /// A payment input names no unspent output.
    #[error("input {} of unit {} names no unspent output", fmt_input(.0), .0.unit)]
    UnknownInput(Box<tau_dag::Input>),
    /// A unit names the same input twice.
    #[error("input {} of unit {} is named twice", fmt_input(.0), .0.unit)]
    InputTwice(Box<tau_dag::Input>),
    /// A payment spends an output none of the unit's authors owns.
    #[error("input {} of unit {} belongs to {owner}, not to an author of the unit", fmt_input(.input), .input.unit)]
    NotOwner {
        /// The input.
        input: Box<tau_dag::Input>,
        /// The output's owner.
        owner: Address,
    },
    /// A payment output of zero notes.
    #[error("a payment output of zero notes")]
    ZeroOutput,
    /// Inputs do not cover the outputs and the commission.
    #[error("payments spend {inputs} notes and send {outputs}: the commission of {commission} notes is not covered")]
    Unbalanced {
        /// Sum of the inputs.
        inputs: u64,
        /// Sum of the outputs.
        outputs: u64,
        /// The unit's commission (its encoded size in notes).
        commission: u64,
    },
    /// A sum of notes over `u64::MAX`.
    #[error("amount overflow")]
    AmountOverflow,
    /// The genesis unit's payments spend inputs.
    #[error("the genesis unit's payments may not have inputs")]
    GenesisInputs,
    /// An output that already exists would be created again.
    #[error("output {} of unit {} already exists", fmt_input(.0), .0.unit)]
    OutputExists(Box<tau_dag::Input>),
    /// A coinbase list does not pay exactly the issuance plus the pool.
    #[error("coinbase pays {total} notes where the issuance and the pool are {expected}")]
    CoinbaseTotal {
        /// What the list pays.
        total: u64,
        /// Issuance plus the pool.
        expected: u64,
    },
    /// The ledger holds other than the genesis supply plus the issuance.
    #[error("the ledger holds {held} notes where the genesis and the issuance make {expected}")]
    SupplyMismatch {
        /// Unspent outputs plus the pool.
        held: u64,
        /// Genesis supply plus issued notes.
        expected: u64,
    },
    /// A catch-up proof larger than `Params::catchup_max_bytes`.
    #[error("catch-up proof of {size} bytes exceeds the limit {max}")]
    ProofTooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A unit the rules need is missing from the DAG store.
    #[error("unit {0} is missing from the DAG")]
    MissingUnit(Box<Cid>),
    /// A PoW unit for round 1 that does not include the main-chain unit at
    /// the witness phase's `switch_mci` (TR §5.2: it was made before the
    /// competition opened); it counts for nothing.
    #[error("PoW unit for round 1 includes MCI {limci} only, the switch MCI is {switch_mci}")]
    PowBeforeSwitch {
        /// The last MCI it includes (0: none).
        limci: u64,
        /// The witness phase's switch MCI.
        switch_mci: u64,
    },
    /// The block store failed to read or write a persistent replica's log.
    #[error("replica store: {0}")]
    Store(#[source] tau_ipld::Error),
    /// [`Replica::open`](crate::Replica::open) found no replica in the store
    /// (create one with [`Replica::create`](crate::Replica::create)).
    #[error("the store holds no replica (root {0:?} is not set)")]
    NoReplica(&'static str),
    /// [`Replica::create`](crate::Replica::create) found a replica already
    /// in the store (reopen it with [`Replica::open`](crate::Replica::open)).
    #[error("the store already holds a replica (root {0:?} is set)")]
    ReplicaExists(&'static str),
    /// A persistent replica's log is unreadable or inconsistent (a missing
    /// or corrupt block, a gap, another genesis, a unit that does not
    /// replay): the store is damaged or belongs to another network.
    #[error("corrupt replica log: {0}")]
    CorruptReplica(String),
}

impl Error {
    /// Whether a [`Replica`](crate::Replica) that returned this error from
    /// [`receive`](crate::Replica::receive) or
    /// [`apply_catchup`](crate::Replica::apply_catchup) can no longer be
    /// trusted: the DAG's or main chain's store failed part way, or the
    /// main chain's own records do not decode. A node stops on these.
    ///
    /// Every other error refused one unit (or one catch-up step) and changed
    /// nothing, and the node goes on: a unit the DAG refuses (parents that
    /// include each other, a second genesis, a full DAG), a stable rewrite
    /// (the main chain refuses the unit before anything changes), a proof
    /// step not on this replica's main chain. These are what peers send, so
    /// treating them as fatal would let any peer stop a node with one unit.
    /// A failed write of a persistent replica's log ([`Error::Store`]) is
    /// not fatal either: the next call logs what is missing.
    pub fn is_fatal(&self) -> bool {
        use tau_mainchain::Error as Mc;
        match self {
            Error::Dag(tau_dag::Error::Store(_)) => true,
            Error::MainChain(e) => matches!(
                e,
                Mc::Store(_)
                    | Mc::Dag(tau_dag::Error::Store(_))
                    | Mc::Decode { .. }
                    | Mc::Encode { .. }
                    | Mc::Reload(_)
            ),
            Error::CorruptReplica(_) => true,
            _ => false,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn fmt_input(input: &tau_dag::Input) -> String {
    format!("{}/{}", input.message_index, input.output_index)
}
