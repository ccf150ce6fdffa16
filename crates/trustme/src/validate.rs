//! What kind of unit a unit is for TrustME-PoW, and the checks that need no
//! round state.

use tau_dag::{Message, Unit};
use tau_keys::PublicKey;

use crate::deposit::DepositPayload;
use crate::params::Params;
use crate::pow_unit::PowPayload;
use crate::trustme_unit::TrustMePayload;
use crate::{Error, Result};

/// A unit's TrustME-PoW role, with its decoded payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// No PoW, TrustME or deposit message.
    Normal,
    /// A PoW unit.
    Pow(PowPayload),
    /// A TrustME unit.
    TrustMe(TrustMePayload),
    /// A deposit contract message.
    Deposit(DepositPayload),
}

/// Decodes the unit's (at most one) PoW, TrustME or deposit payload.
pub fn classify(unit: &Unit) -> Result<Kind> {
    let mut kind = Kind::Normal;
    for m in &unit.unsigned.messages {
        let next = match m {
            Message::PowEquihash(b) => Kind::Pow(PowPayload::decode(b)?),
            Message::TrustMe(b) => Kind::TrustMe(TrustMePayload::decode(b)?),
            Message::Deposit(b) => Kind::Deposit(DepositPayload::decode(b)?),
            _ => continue,
        };
        if kind != Kind::Normal {
            return Err(Error::SeveralConsensusMessages);
        }
        kind = next;
    }
    Ok(kind)
}

/// Checks that need no round state: round ≥ 1, a single author for PoW,
/// TrustME and deposit units, payload rounds that fit the unit's round, and
/// a PoW solution that is valid Equihash meeting its own bits. (A network
/// with a witness phase also has round 0; [`crate::Replica`] allows it.)
pub fn check_stateless(unit: &Unit, kind: &Kind, params: &Params) -> Result<()> {
    check_stateless_from(unit, kind, params, 1)
}

/// [`check_stateless`] for a network whose first round is `first_round`
/// (0 with a witness phase, [`crate::Genesis::first_round`]).
pub(crate) fn check_stateless_from(
    unit: &Unit,
    kind: &Kind,
    params: &Params,
    first_round: u64,
) -> Result<()> {
    let round = unit.unsigned.round;
    if round < first_round {
        return Err(Error::RoundZero);
    }
    if *kind != Kind::Normal && unit.unsigned.authors.len() != 1 {
        return Err(Error::NotSingleAuthor {
            count: unit.unsigned.authors.len(),
        });
    }
    match kind {
        Kind::Pow(p) => {
            if p.round != round.saturating_add(1) {
                return Err(Error::RoundMismatch {
                    unit: round,
                    payload: p.round,
                });
            }
            p.check_solution(params)
        }
        Kind::TrustMe(p) if p.round != round => Err(Error::RoundMismatch {
            unit: round,
            payload: p.round,
        }),
        _ => Ok(()),
    }
}

/// The public key of a single-author unit, recovered from its signature.
pub fn author_key(unit: &Unit) -> Result<PublicKey> {
    let digest = unit.unsigned.signing_digest()?;
    let signature = unit
        .signatures
        .first()
        .ok_or(Error::NotSingleAuthor { count: 0 })?;
    Ok(tau_keys::recover_public_key(&digest, signature)?)
}
