//! Answering head requests (`/tau/head/2.0.0`) from an encoded copy of the
//! node's answer, and queueing the transactions they relay.
//!
//! The swarm's request-response behaviour reads and checks each request
//! within its bounds (the size limit, the request timeout, at most
//! `MAX_HEAD_STREAMS_PER_CONNECTION` streams per connection and the
//! connection limits); the owner task answers it here at once, without a
//! worker, so answering costs one copy of a shared buffer.

use bytes::Bytes;
use libp2p::request_response::ResponseChannel;
use libp2p::PeerId;

use crate::protocol::{self, HeadRequest};
use crate::runtime::Owner;
use crate::state::unix_now;
use crate::swarm::Command;

/// Relayed transactions queued at most, all peers together (so at most
/// this many peers have entries: each holds one at least).
pub const MAX_RELAYED_QUEUE: usize = 4096;

/// Relayed transactions one peer has queued at most (four requests' worth).
/// A peer holding fewer than the longest queue still gets in when the queue
/// is full (see `relay_queue`), so 4096 over the peers with entries is each
/// one's share at least (less one).
pub const MAX_RELAYED_PER_PEER: usize = 256;

/// Relayed transactions admitted per process-B tick at most (about 20 ms of
/// signature checks at 25,000 recoveries per second), taken round-robin
/// across the peers that relayed them: with up to 512 peers holding
/// entries, each is served every tick.
pub const RELAYED_PER_TICK: usize = 512;

/// Whether the mempool would refuse `tx` before its signature check on the
/// rules that need no state: its sender is us, the static rules (chain,
/// version, fee, sizes) or its time. It costs about 30 ns a transaction
/// against about 110 µs for the signature recovery it spares (measured by
/// `screening_refuses_on_the_mempools_stateless_rules` below, test build,
/// 2026-12-07), and a refused one never takes a place in the queue.
/// Duplicates are left to the mempool, which refuses a transaction it holds
/// before the signature check too.
fn screened_out(
    tx: &tau_state::SignedTransaction,
    params: &tau_state::Params,
    own: &tau_keys::Address,
    now: u64,
) -> bool {
    tx.tx.sender == *own
        || tx.tx.check_static(params).is_err()
        || tx.tx.check_time(params, now).is_err()
}

impl Owner {
    /// Encodes what head requests are answered with: a head request is
    /// answered from this copy, encoded once per change. Process B refreshes
    /// it every tick (and process A after each block), so it is at most a
    /// poll interval old; `None`: no answer (no safety point within the
    /// mutable range: the TAU design note's process A, step 1;
    /// `docs/src/vote-rule.md` §7).
    pub(crate) fn refresh_answer(&mut self) {
        self.answer = self
            .state
            .answer()
            .and_then(|a| protocol::encode(&a).ok())
            .map(Bytes::from);
    }

    /// Hands queued relayed transactions to the mempool, at most
    /// [`RELAYED_PER_TICK`], one per peer per turn (each costs a signature
    /// check and two state reads on the owner task; the rest wait for the
    /// next tick).
    pub(crate) fn take_relayed(&mut self) {
        if !self.relayed.is_empty() {
            let relayed = self.relayed.take(RELAYED_PER_TICK);
            self.state.accept_transactions(relayed);
            self.report_relayed();
        }
    }

    /// Updates the queue's figures the handle reads.
    fn report_relayed(&self) {
        let q = &self.relayed;
        let marks = q.marks();
        let mut figures = crate::runtime::lock(&self.inner.relayed);
        *figures = crate::handle::RelayedQueue {
            queued: q.len(),
            peers: q.peers(),
            longest: q.longest(),
            most_queued: marks.most_queued,
            most_per_peer: marks.most_per_peer,
            most_peers: marks.most_peers,
            refused: marks.refused,
            displaced: marks.displaced,
            screened: figures.screened,
        };
    }

    /// Answers `peer`'s head request: the head, safety point, seen heads and
    /// peers from the snapshot (never pushes anything:
    /// `docs/src/formats/network.md`), unless the peer is marked or the node
    /// holds no safety point within the mutable range (then no answer:
    /// `channel` is dropped, which the asker reads as a stream closed without
    /// a message). The transactions it relays for our chain join its queue,
    /// within the bounds.
    pub(crate) fn answer_head(
        &mut self,
        peer: PeerId,
        request: HeadRequest,
        channel: ResponseChannel<Bytes>,
    ) {
        if self.state.is_marked(&peer) {
            return;
        }
        if request.chain == self.inner.config.chain.chain_id.as_str() {
            self.queue_relayed(peer, request.transactions);
        }
        if let Some(answer) = self.answer.clone() {
            self.inner.command(Command::AnswerHead(channel, answer));
        }
    }

    /// Queues the transactions `peer` relayed: the bounds first (no room:
    /// refused), then the screening, then the queue.
    fn queue_relayed(&mut self, peer: PeerId, transactions: Vec<tau_state::SignedTransaction>) {
        if transactions.is_empty() {
            return;
        }
        let (params, own, now) = (&self.inner.config.chain, self.inner.address, unix_now());
        let mut screened = 0u64;
        for tx in transactions {
            if self.relayed.has_room_for(&peer) && screened_out(&tx, params, &own, now) {
                screened += 1;
                continue;
            }
            // No room: counted in the queue's refusals.
            let _ = self.relayed.push(peer, tx);
        }
        crate::runtime::lock(&self.inner.relayed).screened += screened;
        self.report_relayed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tau_keys::Keypair;
    use tau_state::{Transaction, TxBody};

    /// The screening refuses what the mempool refuses on the same rules and
    /// keeps a valid transaction. With `--nocapture` it also prints what it
    /// costs against the signature recovery it spares, on that valid
    /// transaction (both pass: the dearest case for each); the figures are
    /// printed, not asserted.
    #[test]
    fn screening_refuses_on_the_mempools_stateless_rules() {
        let (params, _) = crate::local_devnet(1);
        let key = Keypair::from_bytes(&[3; 32]).unwrap();
        let now = unix_now();
        let tx = Transaction {
            version: params.version,
            chain_id: params.chain_id.clone(),
            sender: key.address(),
            nonce: 1,
            timestamp: now,
            fee: 1,
            body: TxBody::Wiring {
                receiver: key.address(),
                amount: 5,
            },
            thread: None,
            profile: None,
        }
        .sign(&key)
        .unwrap();
        let other = Keypair::from_bytes(&[4; 32]).unwrap().address();
        const N: u32 = 2_000;
        let timed = |f: &dyn Fn() -> bool| {
            let started = std::time::Instant::now();
            let mut passed = 0u32;
            for _ in 0..N {
                passed += u32::from(std::hint::black_box(f()));
            }
            (started.elapsed() / N, passed)
        };
        let (screen, kept) = timed(&|| !screened_out(&tx, &params, &other, now));
        let (signature, valid) = timed(&|| tx.verify_signature().is_ok());
        assert_eq!((kept, valid), (N, N));
        println!("screening {screen:?}, signature check {signature:?} per transaction");
        // And it refuses what the mempool refuses on the same rules.
        assert!(screened_out(&tx, &params, &key.address(), now));
        let mut stale = tx.clone();
        stale.tx.timestamp = now + params.max_drift + 1;
        assert!(screened_out(&stale, &params, &other, now));
    }
}
