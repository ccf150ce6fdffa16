//! The payments a devnet node sends: one at a time, each spending the
//! change of the last once the stable ledger shows it.

use std::time::Duration;

use cid::Cid;
use tau_dag::{Input, Message, Output, Payment};

use super::Node;
use crate::devnet::PaymentPlan;

/// A payment in flight: its unit and its change output (with the amount).
pub(super) struct Pending {
    unit: Cid,
    change: Option<(Input, u64)>,
}

pub(super) struct PaymentState {
    plan: PaymentPlan,
    /// The output the next payment spends (none: funds exhausted).
    coin: Option<(Input, u64)>,
    pending: Option<Pending>,
    next_at: Duration,
}

impl PaymentState {
    pub(super) fn new(plan: PaymentPlan) -> Self {
        Self {
            coin: Some(plan.coin),
            plan,
            pending: None,
            next_at: Duration::ZERO,
        }
    }
}

impl Node {
    /// Sends the next payment when due and none is in flight; takes note of
    /// the last one once the stable ledger shows it (or refused it).
    pub(super) fn pay(&mut self, now: u64) {
        let Some(state) = self.payment.as_mut() else {
            return;
        };
        let ledger = self.replica.rounds().ledger();
        if let Some(p) = &state.pending {
            let chain = self.replica.chain();
            let stable = chain.dag().num(&p.unit).is_some_and(|n| chain.is_stable(n));
            if !stable {
                return;
            }
            let change_there = p.change.is_none_or(|(c, _)| ledger.output(&c).is_some());
            let spent = state.coin.is_none_or(|(c, _)| ledger.output(&c).is_none());
            if change_there && spent {
                state.coin = p.change;
                self.stats.payments_confirmed += 1;
            }
            state.pending = None;
        }
        let elapsed = Duration::from_millis(now);
        if elapsed < state.next_at {
            return;
        }
        let Some((coin, amount)) = state.coin else {
            return;
        };
        if ledger.output(&coin).is_none() {
            return;
        }
        let fee = self.config.dag_params.max_unit_size as u64;
        let pay = state.plan.amount;
        let Some(change) = amount.checked_sub(pay).and_then(|r| r.checked_sub(fee)) else {
            state.coin = None;
            return;
        };
        let me = self.producer.address();
        let mut outputs = vec![Output {
            address: state.plan.payee,
            amount: pay,
        }];
        if change > 0 {
            outputs.push(Output {
                address: me,
                amount: change,
            });
        }
        let message = Message::Payment(Payment {
            inputs: vec![coin],
            outputs,
        });
        let unit = match self.producer.make_unit(&self.replica, now, vec![message]) {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!("payment: {e}");
                return;
            }
        };
        let id = unit.id();
        state.pending = Some(Pending {
            unit: id,
            change: (change > 0).then_some((
                Input {
                    unit: id,
                    message_index: 0,
                    output_index: 1,
                },
                change,
            )),
        });
        state.next_at = elapsed + state.plan.every;
        self.stats.payments_sent += 1;
        self.publish(unit);
    }
}
