//! Typed keys of the state HAMT and their one byte encoding.
//!
//! The TAU design note names the keys `<address>Nonce`, `<address>Balance`,
//! `<address><nonce>TXOutputJSON`, `<address><nonce>AttachmentsLogJSON`,
//! `<address>Profile`, `<ChainID>contractJSON` and the peer-book keys
//! `<address>Relay(i)`, `<address>PeerTAU(i)`, `<address>PeerIPLD(i)`. Their
//! bytes here are the 20 address bytes, then (for per-transaction keys) the
//! nonce as 8 bytes big-endian or (for peer-book keys) the index as 4 bytes
//! big-endian, then an ASCII tag. The contract key is the chain id followed
//! by `Contract`. No tag is a suffix of another, so the tag read from the end
//! names the variant and the encoding is injective (`docs/src/formats/state.md`).

use std::fmt;

use tau_keys::{Address, ADDRESS_LEN};

use crate::params::ChainId;
use crate::{Error, Result};

const NONCE: &[u8] = b"Nonce";
const BALANCE: &[u8] = b"Balance";
const TX_OUTPUT: &[u8] = b"TXOutput";
const ATTACHMENTS_LOG: &[u8] = b"AttachmentsLog";
const PROFILE: &[u8] = b"Profile";
const CONTRACT: &[u8] = b"Contract";
const RELAY: &[u8] = b"Relay";
const PEER_TAU: &[u8] = b"PeerTAU";
const PEER_IPLD: &[u8] = b"PeerIPLD";

/// A key of the state HAMT.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StateKey {
    /// `<address>Nonce`: the account's transaction count (mining counts).
    Nonce(Address),
    /// `<address>Balance`: the account's balance; present iff the account exists.
    Balance(Address),
    /// `<address><nonce>TXOutput`: the record of the account's transaction `nonce`.
    TxOutput(Address, u64),
    /// `<address><nonce>AttachmentsLog`: downloads served, logged with the miner's transaction `nonce`.
    AttachmentsLog(Address, u64),
    /// `<address>Profile`: the sender profile last published by the account.
    Profile(Address),
    /// `<ChainID>Contract`: the CID of the block that produced this state.
    Contract(ChainId),
    /// `<address>Relay(i)`: the i-th relay known to the account (local peer book).
    Relay(Address, u32),
    /// `<address>PeerTAU(i)`: the i-th TAU peer known to the account (local peer book).
    PeerTau(Address, u32),
    /// `<address>PeerIPLD(i)`: the i-th IPLD peer known to the account (local peer book).
    PeerIpld(Address, u32),
}

impl StateKey {
    /// The key's bytes in the HAMT.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ADDRESS_LEN + 8 + ATTACHMENTS_LOG.len());
        let tag = match self {
            StateKey::Nonce(a) => {
                out.extend_from_slice(a.as_bytes());
                NONCE
            }
            StateKey::Balance(a) => {
                out.extend_from_slice(a.as_bytes());
                BALANCE
            }
            StateKey::Profile(a) => {
                out.extend_from_slice(a.as_bytes());
                PROFILE
            }
            StateKey::TxOutput(a, n) => {
                out.extend_from_slice(a.as_bytes());
                out.extend_from_slice(&n.to_be_bytes());
                TX_OUTPUT
            }
            StateKey::AttachmentsLog(a, n) => {
                out.extend_from_slice(a.as_bytes());
                out.extend_from_slice(&n.to_be_bytes());
                ATTACHMENTS_LOG
            }
            StateKey::Contract(chain) => {
                out.extend_from_slice(chain.as_str().as_bytes());
                CONTRACT
            }
            StateKey::Relay(a, i) => {
                out.extend_from_slice(a.as_bytes());
                out.extend_from_slice(&i.to_be_bytes());
                RELAY
            }
            StateKey::PeerTau(a, i) => {
                out.extend_from_slice(a.as_bytes());
                out.extend_from_slice(&i.to_be_bytes());
                PEER_TAU
            }
            StateKey::PeerIpld(a, i) => {
                out.extend_from_slice(a.as_bytes());
                out.extend_from_slice(&i.to_be_bytes());
                PEER_IPLD
            }
        };
        out.extend_from_slice(tag);
        out
    }

    /// Parses key bytes ([`Error::BadKey`] if they name no key).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bad = || Error::BadKey(bytes.to_vec());
        let tags: [&[u8]; 9] = [
            NONCE,
            BALANCE,
            TX_OUTPUT,
            ATTACHMENTS_LOG,
            PROFILE,
            CONTRACT,
            RELAY,
            PEER_TAU,
            PEER_IPLD,
        ];
        let tag = tags
            .into_iter()
            .find(|t| bytes.ends_with(t))
            .ok_or_else(bad)?;
        let head = &bytes[..bytes.len() - tag.len()];
        if tag == CONTRACT {
            let text = std::str::from_utf8(head).map_err(|_| bad())?;
            return ChainId::new(text)
                .map(StateKey::Contract)
                .map_err(|_| bad());
        }
        let (address, rest) = head.split_at_checked(ADDRESS_LEN).ok_or_else(bad)?;
        let address = Address::from_bytes(address).map_err(|_| bad())?;
        let nonce = || <[u8; 8]>::try_from(rest).map(u64::from_be_bytes);
        let index = || <[u8; 4]>::try_from(rest).map(u32::from_be_bytes);
        let key = match tag {
            NONCE if rest.is_empty() => StateKey::Nonce(address),
            BALANCE if rest.is_empty() => StateKey::Balance(address),
            PROFILE if rest.is_empty() => StateKey::Profile(address),
            TX_OUTPUT => StateKey::TxOutput(address, nonce().map_err(|_| bad())?),
            ATTACHMENTS_LOG => StateKey::AttachmentsLog(address, nonce().map_err(|_| bad())?),
            RELAY => StateKey::Relay(address, index().map_err(|_| bad())?),
            PEER_TAU => StateKey::PeerTau(address, index().map_err(|_| bad())?),
            PEER_IPLD => StateKey::PeerIpld(address, index().map_err(|_| bad())?),
            _ => return Err(bad()),
        };
        Ok(key)
    }
}

impl fmt::Display for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateKey::Nonce(a) => write!(f, "{a}Nonce"),
            StateKey::Balance(a) => write!(f, "{a}Balance"),
            StateKey::Profile(a) => write!(f, "{a}Profile"),
            StateKey::TxOutput(a, n) => write!(f, "{a}{n}TXOutput"),
            StateKey::AttachmentsLog(a, n) => write!(f, "{a}{n}AttachmentsLog"),
            StateKey::Contract(c) => write!(f, "{c}Contract"),
            StateKey::Relay(a, i) => write!(f, "{a}Relay({i})"),
            StateKey::PeerTau(a, i) => write!(f, "{a}PeerTAU({i})"),
            StateKey::PeerIpld(a, i) => write!(f, "{a}PeerIPLD({i})"),
        }
    }
}

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StateKey({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_key() -> impl Strategy<Value = StateKey> {
        let addr = any::<[u8; 20]>().prop_map(Address::new);
        prop_oneof![
            addr.clone().prop_map(StateKey::Nonce),
            addr.clone().prop_map(StateKey::Balance),
            addr.clone().prop_map(StateKey::Profile),
            (addr.clone(), any::<u64>()).prop_map(|(a, n)| StateKey::TxOutput(a, n)),
            (addr.clone(), any::<u64>()).prop_map(|(a, n)| StateKey::AttachmentsLog(a, n)),
            (addr.clone(), any::<u32>()).prop_map(|(a, i)| StateKey::Relay(a, i)),
            (addr.clone(), any::<u32>()).prop_map(|(a, i)| StateKey::PeerTau(a, i)),
            (addr, any::<u32>()).prop_map(|(a, i)| StateKey::PeerIpld(a, i)),
            "[ -~]{1,32}".prop_map(|s| StateKey::Contract(ChainId::new(s).unwrap())),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(key in any_key()) {
            prop_assert_eq!(StateKey::from_bytes(&key.to_bytes()).unwrap(), key);
        }

        #[test]
        fn encoding_is_injective(a in any_key(), b in any_key()) {
            prop_assert_eq!(a == b, a.to_bytes() == b.to_bytes());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(key) = StateKey::from_bytes(&bytes) {
                prop_assert_eq!(key.to_bytes(), bytes);
            }
        }
    }

    #[test]
    fn layout_is_address_then_nonce_then_tag() {
        let a = Address::new([7; 20]);
        let bytes = StateKey::TxOutput(a, 258).to_bytes();
        assert_eq!(&bytes[..20], &[7; 20]);
        assert_eq!(&bytes[20..28], &[0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(&bytes[28..], b"TXOutput");
        assert_eq!(
            StateKey::Contract(ChainId::new("TAU").unwrap()).to_bytes(),
            b"TAUContract"
        );
        assert!(matches!(
            StateKey::from_bytes(b"Nonce"),
            Err(Error::BadKey(_))
        ));
    }
}
