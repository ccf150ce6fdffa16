//! A mempool flood's junk (see [`Attack::MempoolFlood`](super::Attack::MempoolFlood)).

use rand::rngs::StdRng;
use tau_keys::{Address, Keypair};
use tau_state::{ChainId, Params, SignedTransaction, Transaction, TxBody};

use super::state_error;
use crate::Result;

/// Throwaway keys a flood signs with (none has an account).
const THROWAWAY_KEYS: usize = 32;

/// Valid minimum-fee transactions of the funded key per batch: the most a
/// mempool holds per sender (tau-state's `MAX_PER_SENDER`).
const SPAM_PER_BATCH: u64 = 16;

/// The flood's keys.
pub(crate) struct Flood {
    /// The one funded key (endowed at genesis, never mining).
    funded: Keypair,
    /// Keys that never get an account: their nonce stays 0, so a gap or a
    /// far nonce of theirs stays one whatever the chain does meanwhile.
    throwaway: Vec<Keypair>,
    /// Where the spam pays to (not a throwaway key: paying one would give
    /// it an account).
    sink: Address,
    /// Throwaway key to use next.
    next: usize,
}

impl Flood {
    pub(crate) fn new(funded: Keypair, rng: &mut StdRng) -> Self {
        let throwaway = (0..THROWAWAY_KEYS)
            .map(|_| Keypair::generate(rng))
            .collect();
        let sink = Keypair::generate(rng).address();
        Self {
            funded,
            throwaway,
            sink,
            next: 0,
        }
    }

    pub(crate) fn funded_address(&self) -> Address {
        self.funded.address()
    }

    /// Whether `sender` is the flood's funded key.
    pub(crate) fn is_funded(&self, sender: &Address) -> bool {
        *sender == self.funded.address()
    }

    /// The next throwaway key, in turn (the funded one if there were none).
    fn throwaway(&mut self) -> Keypair {
        let at = self.next.checked_rem(self.throwaway.len()).unwrap_or(0);
        self.next = self.next.wrapping_add(1);
        self.throwaway.get(at).unwrap_or(&self.funded).clone()
    }

    /// `size` transactions at `now`, each flagged `true` if junk: the funded
    /// key's valid minimum-fee spam (its nonces after `nonce`, its nonce at
    /// the target's head) first, then junk of every kind in turn, one claiming
    /// to come from `victim`.
    pub(crate) fn batch(
        &mut self,
        params: &Params,
        nonce: u64,
        victim: Address,
        now: u64,
        size: usize,
    ) -> Result<Vec<(SignedTransaction, bool)>> {
        let mut out = Vec::with_capacity(size);
        let spam = (1..=SPAM_PER_BATCH).map(|k| nonce.saturating_add(k));
        for n in spam.take(size) {
            let tx = self.unsigned(params, self.funded.address(), n, now);
            out.push((tx.sign(&self.funded).map_err(state_error)?, false));
        }
        let mut kind = 0u64;
        while out.len() < size {
            let funded = self.funded.clone();
            let mut tx = self.unsigned(params, funded.address(), nonce.saturating_add(1), now);
            let signer = match kind % 8 {
                // Dated as far ahead as a u64 goes, and ten drifts ahead
                // (one just past the drift would arrive inside it: the
                // network's latency brings the clock closer).
                0 => {
                    tx.timestamp = u64::MAX;
                    funded
                }
                1 => {
                    tx.timestamp = now.saturating_add(params.max_drift.saturating_mul(10));
                    funded
                }
                // A throwaway key without an account.
                2 => {
                    let key = self.throwaway();
                    tx.sender = key.address();
                    key
                }
                // Claims an honest sender, signed by another key.
                3 => {
                    tx.sender = victim;
                    self.throwaway()
                }
                // A nonce gap (the account's next nonce is 1), and a nonce
                // far ahead. Not the funded key's: its nonce moves while a
                // batch travels, and a gap sent can arrive as the next nonce.
                4 => {
                    let key = self.throwaway();
                    tx.sender = key.address();
                    tx.nonce = 3;
                    key
                }
                5 => {
                    let key = self.throwaway();
                    tx.sender = key.address();
                    tx.nonce = 1_000 + kind;
                    key
                }
                // Under the minimum fee.
                6 => {
                    tx.fee = params.min_fee.saturating_sub(1);
                    funded
                }
                // Another chain.
                _ => {
                    tx.chain_id = ChainId::new("TAU-elsewhere").map_err(state_error)?;
                    funded
                }
            };
            out.push((tx.sign(&signer).map_err(state_error)?, true));
            kind += 1;
        }
        Ok(out)
    }

    /// A minimum-fee wiring of 1 from `sender` to the sink.
    fn unsigned(&self, params: &Params, sender: Address, nonce: u64, now: u64) -> Transaction {
        Transaction {
            version: params.version,
            chain_id: params.chain_id.clone(),
            sender,
            nonce,
            timestamp: now,
            fee: params.min_fee,
            body: TxBody::Wiring {
                receiver: self.sink,
                amount: 1,
            },
            thread: None,
            profile: None,
        }
    }
}
