//! The coin ledger (TR-2018-02 §2.3, §3.4): unspent outputs and balances
//! at the stable point, changed only by stable units in total order.
//!
//! * A unit's payments are judged together when the unit becomes stable:
//!   every input must name an unspent output owned by one of the unit's
//!   authors, no input twice, no output of zero notes, and the inputs must
//!   cover the outputs plus the unit's commission (its encoded size in
//!   notes: the headers and payload commissions of the report's unit layout
//!   taken together). Anything over the outputs is the fee; fees go to the
//!   reward pool of the round on duty. A unit that fails any check changes
//!   nothing: its inputs stay unspent (so naming someone else's output in a
//!   bad payment cannot block it), and the first valid spend in the total
//!   order wins a double spend.
//! * Outputs that no unit message creates have reserved message indexes:
//!   a round's coinbase ([`COINBASE_OUTPUTS`], unit = the MC unit whose
//!   stability ended the round), a deposit paid back ([`WITHDRAWAL_OUTPUTS`],
//!   unit = the withdrawal unit) and deposits fixed in the genesis
//!   ([`GENESIS_DEPOSIT_OUTPUTS`], unit = the genesis unit).
//! * Deposit contracts hold real outputs at [`deposit_address`](crate::deposit_address),
//!   an address without a key: only a withdrawal moves them.
//! * Supply: the notes held (unspent outputs plus the pool) always equal
//!   the genesis outputs plus everything issued so far ([`Ledger::check_supply`]).
//!
//! Every change is folded into a running BLAKE2b digest ([`Ledger::digest`]):
//! two replicas with the same digest applied the same changes in the same order.

use std::collections::HashMap;

use cid::Cid;
use tau_dag::{Input, Message, Output, Unit};
use tau_ipld::keyed_hash::KeyedState;
use tau_ipld::Blockstore;
use tau_keys::{blake2b_256_concat, Address};
use tau_mainchain::{MainChain, StableMci};

use crate::reward::Coinbase;
use crate::{Error, Result};

/// Message index of a round's coinbase outputs (unit: the MC unit whose
/// stability ended the round; output index: the entry's index in the list).
pub const COINBASE_OUTPUTS: u32 = u32::MAX;
/// Message index of a deposit paid back (unit: the withdrawal unit; output 0).
pub const WITHDRAWAL_OUTPUTS: u32 = u32::MAX - 1;
/// Message index of the deposits a genesis configuration opens (unit: the
/// genesis unit; output index: the deposit's index in `Genesis::deposits`).
pub const GENESIS_DEPOSIT_OUTPUTS: u32 = u32::MAX - 2;

/// What one valid unit's payments did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    /// Notes spent (sum of the inputs).
    pub inputs: u64,
    /// Notes sent (sum of the outputs).
    pub outputs: u64,
    /// Inputs minus outputs, paid to the round's pool.
    pub fee: u64,
    /// Notes sent to the contract address named by the caller.
    pub to_contract: u64,
}

/// Unspent outputs, balances and the reward pool at the stable point.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    utxos: HashMap<Input, Output, KeyedState>,
    balances: HashMap<Address, u64, KeyedState>,
    /// The outputs each deposit contract holds.
    contracts: HashMap<Address, Vec<Input>, KeyedState>,
    genesis_supply: u64,
    issued: u64,
    pool: u64,
    held: u64,
    digest: [u8; 32],
}

fn sum(amounts: impl IntoIterator<Item = u64>) -> Result<u64> {
    amounts
        .into_iter()
        .try_fold(0u64, |s, a| s.checked_add(a))
        .ok_or(Error::AmountOverflow)
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Credits the genesis: the outputs of the genesis unit's payments (which
    /// may not have inputs) and `deposits` as outputs at their contracts.
    pub fn open_genesis(
        &mut self,
        genesis_id: Cid,
        genesis: &Unit,
        deposits: &[(Address, u64)],
    ) -> Result<()> {
        if genesis.inputs().next().is_some() {
            return Err(Error::GenesisInputs);
        }
        for (m, payment) in payments(genesis) {
            for (o, out) in payment.outputs.iter().enumerate() {
                let key = Input {
                    unit: genesis_id,
                    message_index: m,
                    output_index: index(o)?,
                };
                self.create(key, *out, None)?;
            }
        }
        for (i, &(node, amount)) in deposits.iter().enumerate() {
            let contract = crate::deposit_address(&node);
            let key = Input {
                unit: genesis_id,
                message_index: GENESIS_DEPOSIT_OUTPUTS,
                output_index: index(i)?,
            };
            self.create(
                key,
                Output {
                    address: contract,
                    amount,
                },
                Some(contract),
            )?;
        }
        self.genesis_supply = self.held;
        Ok(())
    }

    /// Judges and applies the payments of a stable unit `id` of `size`
    /// encoded bytes. Outputs to `contract` (the author's deposit address
    /// when the unit opens a deposit) are kept as that contract's. On error
    /// nothing changed. A unit without payments changes nothing and pays nothing.
    pub fn apply_unit(
        &mut self,
        id: Cid,
        unit: &Unit,
        size: usize,
        contract: Option<Address>,
    ) -> Result<Applied> {
        if payments(unit).next().is_none() {
            return Ok(Applied::default());
        }
        let applied = self.judge(unit, size, contract)?;
        for input in unit.inputs() {
            self.spend(input);
        }
        for (m, payment) in payments(unit) {
            for (o, out) in payment.outputs.iter().enumerate() {
                let key = Input {
                    unit: id,
                    message_index: m,
                    output_index: index(o)?,
                };
                self.create(key, *out, contract.filter(|c| *c == out.address))?;
            }
        }
        // Spending and creating took the fee out of `held`; the pool holds it.
        self.add_to_pool(applied.fee);
        self.fold(b"fee", &applied.fee.to_be_bytes());
        Ok(applied)
    }

    /// Applies the payments of every unit of a newly stable MCI of `chain`,
    /// in total order: the ledger on its own, without TrustME's rounds (no
    /// deposits, no coinbase). Returns the units with inputs whose payments
    /// failed.
    pub fn apply_stable<BS: Blockstore>(
        &mut self,
        stable: &StableMci,
        chain: &MainChain<BS>,
    ) -> Result<Vec<(Cid, Error)>> {
        let mut refused = Vec::new();
        // Only units that spend are read back: the main chain knows them
        // from the insert. Reading and decoding every stable unit cost
        // 2.5 µs a unit in mc-ingest (`--ledger-ab`, 1M units without
        // payments: 161k units/s against 289k without the ledger). A
        // payment without inputs can never cover its commission, so the
        // units passed over would all be refused anyway (and refusals
        // change nothing).
        for su in stable.units.iter().filter(|su| su.spends) {
            let bytes = unit_bytes(chain, &su.id)?;
            let unit = Unit::decode(&bytes, chain.dag().params())?;
            if let Err(e) = self.apply_unit(su.id, &unit, bytes.len(), None) {
                refused.push((su.id, e));
            }
        }
        Ok(refused)
    }

    /// The checks of [`apply_unit`](Self::apply_unit), changing nothing.
    pub fn judge(&self, unit: &Unit, size: usize, contract: Option<Address>) -> Result<Applied> {
        if payments(unit).next().is_none() {
            return Ok(Applied::default());
        }
        let authors = &unit.unsigned.authors;
        let mut seen = std::collections::HashSet::new();
        let mut spent = Vec::new();
        for input in unit.inputs() {
            if !seen.insert(*input) {
                return Err(Error::InputTwice(Box::new(*input)));
            }
            let out = self
                .utxos
                .get(input)
                .ok_or_else(|| Error::UnknownInput(Box::new(*input)))?;
            if !authors.contains(&out.address) {
                return Err(Error::NotOwner {
                    input: Box::new(*input),
                    owner: out.address,
                });
            }
            spent.push(out.amount);
        }
        let mut outs = Vec::new();
        let mut to_contract = Vec::new();
        for (_, payment) in payments(unit) {
            for out in &payment.outputs {
                if out.amount == 0 {
                    return Err(Error::ZeroOutput);
                }
                outs.push(out.amount);
                if contract == Some(out.address) {
                    to_contract.push(out.amount);
                }
            }
        }
        let inputs = sum(spent)?;
        let outputs = sum(outs)?;
        let commission = u64::try_from(size).unwrap_or(u64::MAX);
        let fee = inputs
            .checked_sub(outputs)
            .filter(|fee| *fee >= commission)
            .ok_or(Error::Unbalanced {
                inputs,
                outputs,
                commission,
            })?;
        Ok(Applied {
            inputs,
            outputs,
            fee,
            to_contract: sum(to_contract)?,
        })
    }

    /// Credits a round's coinbase, which pays `issuance` new notes and the
    /// pool: the list must sum to exactly that. Entries of zero notes get no output.
    pub fn credit_coinbase(
        &mut self,
        mc_unit: Cid,
        coinbase: &Coinbase,
        issuance: u64,
    ) -> Result<()> {
        let total = sum(coinbase.iter().map(|e| e.amount))?;
        let expected = issuance
            .checked_add(self.pool)
            .ok_or(Error::AmountOverflow)?;
        if total != expected {
            return Err(Error::CoinbaseTotal { total, expected });
        }
        self.issued = self
            .issued
            .checked_add(issuance)
            .ok_or(Error::AmountOverflow)?;
        self.held = self.held.saturating_sub(self.pool);
        self.pool = 0;
        for (i, entry) in coinbase.iter().enumerate().filter(|(_, e)| e.amount > 0) {
            let key = Input {
                unit: mc_unit,
                message_index: COINBASE_OUTPUTS,
                output_index: index(i)?,
            };
            self.create(
                key,
                Output {
                    address: entry.address,
                    amount: entry.amount,
                },
                None,
            )?;
        }
        Ok(())
    }

    /// Pays everything `contract` holds to `payout` as output 0 of
    /// [`WITHDRAWAL_OUTPUTS`] of unit `id`; returns the amount.
    pub fn release_contract(
        &mut self,
        contract: &Address,
        payout: Address,
        id: Cid,
    ) -> Result<u64> {
        let inputs = self.contracts.remove(contract).unwrap_or_default();
        let mut amount = 0u64;
        for input in &inputs {
            if let Some(out) = self.spend(input) {
                amount = amount
                    .checked_add(out.amount)
                    .ok_or(Error::AmountOverflow)?;
            }
        }
        if amount > 0 {
            let key = Input {
                unit: id,
                message_index: WITHDRAWAL_OUTPUTS,
                output_index: 0,
            };
            self.create(
                key,
                Output {
                    address: payout,
                    amount,
                },
                None,
            )?;
        }
        Ok(amount)
    }

    fn add_to_pool(&mut self, fee: u64) {
        // Bounded by `held`, which is a u64 sum of the same notes.
        self.pool = self.pool.saturating_add(fee);
        self.held = self.held.saturating_add(fee);
    }

    fn create(&mut self, key: Input, out: Output, contract: Option<Address>) -> Result<()> {
        if self.utxos.contains_key(&key) {
            return Err(Error::OutputExists(Box::new(key)));
        }
        self.held = self
            .held
            .checked_add(out.amount)
            .ok_or(Error::AmountOverflow)?;
        let b = self.balances.entry(out.address).or_insert(0);
        *b = b.saturating_add(out.amount);
        if let Some(c) = contract {
            self.contracts.entry(c).or_default().push(key);
        }
        self.fold(b"out", &out_bytes(&key, &out));
        self.utxos.insert(key, out);
        Ok(())
    }

    fn spend(&mut self, input: &Input) -> Option<Output> {
        let out = self.utxos.remove(input)?;
        self.held = self.held.saturating_sub(out.amount);
        if let Some(b) = self.balances.get_mut(&out.address) {
            *b = b.saturating_sub(out.amount);
            if *b == 0 {
                self.balances.remove(&out.address);
            }
        }
        self.fold(b"in", &out_bytes(input, &out));
        Some(out)
    }

    fn fold(&mut self, tag: &[u8], data: &[u8]) {
        self.digest = blake2b_256_concat(&[&self.digest, tag, data]);
    }

    // ---- queries -------------------------------------------------------

    /// Notes held by `address` in unspent outputs.
    pub fn balance(&self, address: &Address) -> u64 {
        self.balances.get(address).copied().unwrap_or(0)
    }

    /// The unspent output `input` names, if any.
    pub fn output(&self, input: &Input) -> Option<&Output> {
        self.utxos.get(input)
    }

    /// Number of unspent outputs.
    pub fn utxo_count(&self) -> usize {
        self.utxos.len()
    }

    /// Fees collected for the round on duty, paid with its coinbase.
    pub fn pool(&self) -> u64 {
        self.pool
    }

    /// Notes the genesis created.
    pub fn genesis_supply(&self) -> u64 {
        self.genesis_supply
    }

    /// Notes issued by coinbases so far.
    pub fn issued(&self) -> u64 {
        self.issued
    }

    /// Notes held by the contract `contract`.
    pub fn contract_balance(&self, contract: &Address) -> u64 {
        self.contracts.get(contract).map_or(0, |inputs| {
            inputs
                .iter()
                .filter_map(|i| self.utxos.get(i))
                .fold(0u64, |s, o| s.saturating_add(o.amount))
        })
    }

    /// The running digest of every change so far.
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// Recounts every unspent output and the pool: `Ok(supply)` when they
    /// equal the genesis supply plus the issued notes, else
    /// [`Error::SupplyMismatch`]. O(outputs); for tests and audits.
    pub fn check_supply(&self) -> Result<u64> {
        let held = sum(self.utxos.values().map(|o| o.amount))?
            .checked_add(self.pool)
            .ok_or(Error::AmountOverflow)?;
        let expected = self
            .genesis_supply
            .checked_add(self.issued)
            .ok_or(Error::AmountOverflow)?;
        let balances = sum(self.balances.values().copied())?;
        if held != expected || held != self.held || balances + self.pool != held {
            return Err(Error::SupplyMismatch { held, expected });
        }
        Ok(held)
    }
}

/// The stored encoding of unit `id` of `chain` (a stable unit: its bytes
/// must be there).
pub(crate) fn unit_bytes<BS: Blockstore>(chain: &MainChain<BS>, id: &Cid) -> Result<Vec<u8>> {
    chain
        .dag()
        .store()
        .get(id)
        .map_err(tau_dag::Error::from)?
        .ok_or_else(|| Error::MissingUnit(Box::new(*id)))
}

/// The payments of a unit with their message indexes.
fn payments(unit: &Unit) -> impl Iterator<Item = (u32, &tau_dag::Payment)> {
    unit.unsigned
        .messages
        .iter()
        .enumerate()
        .filter_map(|(i, m)| match m {
            // Message counts are bounded by `tau_dag::Params::max_messages`.
            Message::Payment(p) => Some((u32::try_from(i).unwrap_or(u32::MAX), p)),
            _ => None,
        })
}

fn index(i: usize) -> Result<u32> {
    u32::try_from(i).map_err(|_| Error::AmountOverflow)
}

fn out_bytes(key: &Input, out: &Output) -> Vec<u8> {
    let mut v = key.unit.to_bytes();
    v.extend_from_slice(&key.message_index.to_be_bytes());
    v.extend_from_slice(&key.output_index.to_be_bytes());
    v.extend_from_slice(out.address.as_bytes());
    v.extend_from_slice(&out.amount.to_be_bytes());
    v
}

#[cfg(test)]
mod tests {
    use tau_dag::{Payment, UnsignedUnit};
    use tau_keys::Keypair;

    use super::*;
    use crate::reward::CoinbaseEntry;

    fn key(i: u8) -> Keypair {
        Keypair::from_bytes(&[i; 32]).unwrap()
    }

    /// A unsigned-looking unit by `author` with one payment (signatures do
    /// not matter to the ledger: the DAG checked them).
    fn unit(author: &Keypair, inputs: Vec<Input>, outputs: Vec<(Address, u64)>) -> Unit {
        Unit {
            unsigned: UnsignedUnit {
                version: 1,
                round: 1,
                timestamp: 0,
                parents: vec![],
                authors: vec![author.address()],
                messages: vec![Message::Payment(Payment {
                    inputs,
                    outputs: outputs
                        .into_iter()
                        .map(|(address, amount)| Output { address, amount })
                        .collect(),
                })],
            },
            signatures: vec![],
        }
    }

    fn cid(i: u8) -> Cid {
        tau_dag::id::unit_id(&[i])
    }

    fn input(unit: Cid, message_index: u32, output_index: u32) -> Input {
        Input {
            unit,
            message_index,
            output_index,
        }
    }

    /// A ledger whose genesis gave `a` 1,000 and `b` 500.
    fn funded() -> (Ledger, Cid, Keypair, Keypair) {
        let (a, b) = (key(1), key(2));
        let g = unit(&a, vec![], vec![(a.address(), 1_000), (b.address(), 500)]);
        let mut ledger = Ledger::new();
        ledger.open_genesis(cid(0), &g, &[]).unwrap();
        (ledger, cid(0), a, b)
    }

    #[test]
    fn a_valid_payment_moves_notes_and_pays_its_fee_to_the_pool() {
        let (mut l, g, a, b) = funded();
        let pay = unit(
            &a,
            vec![input(g, 0, 0)],
            vec![(b.address(), 600), (a.address(), 300)],
        );
        let applied = l.apply_unit(cid(1), &pay, 90, None).unwrap();
        assert_eq!(
            (applied.inputs, applied.outputs, applied.fee),
            (1_000, 900, 100)
        );
        assert_eq!(l.balance(&a.address()), 300);
        assert_eq!(l.balance(&b.address()), 1_100);
        assert_eq!(l.pool(), 100);
        assert_eq!(l.check_supply().unwrap(), 1_500);
        // The spent output is gone, the new ones are named by the unit.
        assert!(l.output(&input(g, 0, 0)).is_none());
        assert_eq!(l.output(&input(cid(1), 0, 0)).map(|o| o.amount), Some(600));
    }

    #[test]
    fn bad_payments_change_nothing() {
        let (mut l, g, a, b) = funded();
        let before = (l.digest(), l.balance(&a.address()), l.utxo_count());
        let cases = [
            // b spends a's output.
            (
                unit(&b, vec![input(g, 0, 0)], vec![(b.address(), 900)]),
                "belongs to",
            ),
            // An output that does not exist.
            (
                unit(&a, vec![input(g, 0, 7)], vec![(a.address(), 1)]),
                "names no unspent",
            ),
            // The same input twice.
            (
                unit(
                    &a,
                    vec![input(g, 0, 0), input(g, 0, 0)],
                    vec![(a.address(), 1)],
                ),
                "named twice",
            ),
            // Zero notes.
            (
                unit(&a, vec![input(g, 0, 0)], vec![(b.address(), 0)]),
                "zero notes",
            ),
            // The commission (size 90) is not covered.
            (
                unit(&a, vec![input(g, 0, 0)], vec![(b.address(), 950)]),
                "commission",
            ),
            // More out than in.
            (
                unit(&a, vec![input(g, 0, 0)], vec![(b.address(), 2_000)]),
                "commission",
            ),
        ];
        for (u, why) in cases {
            let e = l.apply_unit(cid(9), &u, 90, None).unwrap_err();
            assert!(e.to_string().contains(why), "{e}");
            assert_eq!(
                (l.digest(), l.balance(&a.address()), l.utxo_count()),
                before
            );
        }
        // b's bad payment named a's output; a can still spend it.
        let ok = unit(&a, vec![input(g, 0, 0)], vec![(b.address(), 900)]);
        l.apply_unit(cid(2), &ok, 90, None).unwrap();
        // A second spend of the same output loses.
        let again = unit(&a, vec![input(g, 0, 0)], vec![(a.address(), 900)]);
        assert!(matches!(
            l.apply_unit(cid(3), &again, 90, None),
            Err(Error::UnknownInput(_))
        ));
        l.check_supply().unwrap();
    }

    #[test]
    fn coinbase_pays_issuance_and_pool_exactly() {
        let (mut l, g, a, b) = funded();
        let pay = unit(&a, vec![input(g, 0, 0)], vec![(b.address(), 900)]);
        l.apply_unit(cid(1), &pay, 90, None).unwrap(); // pool 100
        let entry = |k: &Keypair, amount| CoinbaseEntry {
            address: k.address(),
            amount,
        };
        let short = vec![entry(&a, 50)];
        assert!(matches!(
            l.credit_coinbase(cid(5), &short, 50),
            Err(Error::CoinbaseTotal {
                total: 50,
                expected: 150
            })
        ));
        l.credit_coinbase(cid(5), &vec![entry(&a, 120), entry(&b, 30)], 50)
            .unwrap();
        assert_eq!(l.pool(), 0);
        assert_eq!(l.issued(), 50);
        assert_eq!(l.balance(&a.address()), 120);
        assert_eq!(
            l.output(&input(cid(5), COINBASE_OUTPUTS, 1))
                .map(|o| o.amount),
            Some(30)
        );
        assert_eq!(l.check_supply().unwrap(), 1_550);
    }

    #[test]
    fn a_contract_holds_its_outputs_until_released() {
        let (mut l, g, a, _) = funded();
        let contract = crate::deposit_address(&a.address());
        let deposit = unit(
            &a,
            vec![input(g, 0, 0)],
            vec![(contract, 800), (a.address(), 100)],
        );
        let applied = l.apply_unit(cid(1), &deposit, 90, Some(contract)).unwrap();
        assert_eq!(applied.to_contract, 800);
        assert_eq!(l.contract_balance(&contract), 800);
        // Nobody holds the contract's key: its output cannot be spent.
        let steal = unit(&a, vec![input(cid(1), 0, 0)], vec![(a.address(), 700)]);
        assert!(matches!(
            l.apply_unit(cid(2), &steal, 90, None),
            Err(Error::NotOwner { .. })
        ));
        let paid = l.release_contract(&contract, a.address(), cid(3)).unwrap();
        assert_eq!(paid, 800);
        assert_eq!(l.contract_balance(&contract), 0);
        assert_eq!(l.balance(&a.address()), 900);
        assert_eq!(
            l.output(&input(cid(3), WITHDRAWAL_OUTPUTS, 0))
                .map(|o| o.amount),
            Some(800)
        );
        l.check_supply().unwrap();
    }

    #[test]
    fn genesis_deposits_are_contract_outputs() {
        let a = key(1);
        let g = unit(&a, vec![], vec![(a.address(), 10)]);
        let mut l = Ledger::new();
        l.open_genesis(cid(0), &g, &[(a.address(), 70)]).unwrap();
        assert_eq!(l.genesis_supply(), 80);
        assert_eq!(
            l.contract_balance(&crate::deposit_address(&a.address())),
            70
        );
        let spending = unit(&a, vec![input(cid(0), 0, 0)], vec![]);
        assert!(matches!(
            Ledger::new().open_genesis(cid(0), &spending, &[]),
            Err(Error::GenesisInputs)
        ));
    }
}
