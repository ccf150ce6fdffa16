//! Attachment logs (proof of service): who downloaded what from a host, and
//! the free quota each visitor address gets.

use std::collections::BTreeMap;

use cid::Cid;
use tau_keys::Address;
use tau_state::ServiceRecord;

use crate::{Error, Result};

/// Default free quota per new address: 1 GiB.
pub const DEFAULT_FREE_QUOTA: u64 = 1 << 30;

/// How much each visitor may download for free.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaPolicy {
    /// Free bytes for an address with no override.
    pub free_per_address: u64,
    /// Per-address quotas (e.g. from a sender profile).
    pub overrides: BTreeMap<Address, u64>,
}

impl Default for QuotaPolicy {
    fn default() -> Self {
        Self {
            free_per_address: DEFAULT_FREE_QUOTA,
            overrides: BTreeMap::new(),
        }
    }
}

impl QuotaPolicy {
    /// The quota of `visitor`.
    pub fn quota(&self, visitor: &Address) -> u64 {
        self.overrides
            .get(visitor)
            .copied()
            .unwrap_or(self.free_per_address)
    }
}

/// A host's log of served downloads with per-visitor usage.
#[derive(Debug, Clone, Default)]
pub struct ServiceLog {
    policy: QuotaPolicy,
    used: BTreeMap<Address, u64>,
    records: Vec<ServiceRecord>,
}

impl ServiceLog {
    /// An empty log under `policy`.
    pub fn new(policy: QuotaPolicy) -> Self {
        Self {
            policy,
            used: BTreeMap::new(),
            records: Vec::new(),
        }
    }

    /// Rebuilds usage from records loaded from the state.
    pub fn from_records(policy: QuotaPolicy, records: Vec<ServiceRecord>) -> Self {
        let mut log = Self::new(policy);
        for r in &records {
            let used = log.used.entry(r.visitor).or_default();
            *used = used.saturating_add(r.bytes);
        }
        log.records = records;
        log
    }

    /// Bytes served to `visitor` so far.
    pub fn used(&self, visitor: &Address) -> u64 {
        self.used.get(visitor).copied().unwrap_or(0)
    }

    /// Bytes `visitor` may still download.
    pub fn remaining(&self, visitor: &Address) -> u64 {
        self.policy
            .quota(visitor)
            .saturating_sub(self.used(visitor))
    }

    /// Records serving `bytes` of `root` to `visitor` at `time`, or refuses
    /// with [`Error::QuotaExceeded`] (and records nothing) if it would go over
    /// the visitor's quota.
    pub fn serve(
        &mut self,
        visitor: Address,
        root: Cid,
        bytes: u64,
        time: u64,
    ) -> Result<&ServiceRecord> {
        let used = self.used(&visitor);
        let quota = self.policy.quota(&visitor);
        if used.saturating_add(bytes) > quota {
            return Err(Error::QuotaExceeded {
                visitor,
                used,
                quota,
                requested: bytes,
            });
        }
        self.used.insert(visitor, used + bytes);
        self.records.push(ServiceRecord {
            visitor,
            root,
            bytes,
            time,
        });
        let last = self.records.len() - 1;
        Ok(&self.records[last])
    }

    /// Refuses with [`Error::QuotaExceeded`] if `visitor` may not download
    /// `requested` more bytes (nothing is recorded).
    pub fn admit(&self, visitor: &Address, requested: u64) -> Result<()> {
        let used = self.used(visitor);
        let quota = self.policy.quota(visitor);
        if used.saturating_add(requested) > quota {
            return Err(Error::QuotaExceeded {
                visitor: *visitor,
                used,
                quota,
                requested,
            });
        }
        Ok(())
    }

    /// Records a download already served (a request admitted while under
    /// quota may end a little over it: the bytes count all the same).
    pub fn record(&mut self, record: ServiceRecord) {
        let used = self.used.entry(record.visitor).or_default();
        *used = used.saturating_add(record.bytes);
        self.records.push(record);
    }

    /// The quota policy.
    pub fn policy(&self) -> &QuotaPolicy {
        &self.policy
    }

    /// Changes the quota policy (e.g. the host's profile changed); usage stays.
    pub fn set_policy(&mut self, policy: QuotaPolicy) {
        self.policy = policy;
    }

    /// Every record, oldest first.
    pub fn records(&self) -> &[ServiceRecord] {
        &self.records
    }

    /// The DAG-CBOR encoding of the records (the `AttachmentsLog` value).
    pub fn encode(&self) -> Result<Vec<u8>> {
        serde_ipld_dagcbor::to_vec(&self.records).map_err(|e| Error::Archive(e.to_string()))
    }

    /// Decodes records encoded by [`encode`](Self::encode).
    pub fn decode(policy: QuotaPolicy, bytes: &[u8]) -> Result<Self> {
        let records: Vec<ServiceRecord> =
            serde_ipld_dagcbor::from_slice(bytes).map_err(|e| Error::Archive(e.to_string()))?;
        Ok(Self::from_records(policy, records))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tau_ipld::block::{cid_of, RAW};

    #[test]
    fn quota_is_enforced_per_visitor_and_survives_a_reload() {
        let (a, b) = (Address::new([1; 20]), Address::new([2; 20]));
        let root = cid_of(RAW, b"x");
        let mut policy = QuotaPolicy {
            free_per_address: 100,
            ..QuotaPolicy::default()
        };
        policy.overrides.insert(b, 1_000);
        let mut log = ServiceLog::new(policy.clone());
        log.serve(a, root, 60, 1).unwrap();
        log.serve(a, root, 40, 2).unwrap();
        assert!(matches!(
            log.serve(a, root, 1, 3),
            Err(Error::QuotaExceeded {
                used: 100,
                quota: 100,
                requested: 1,
                ..
            })
        ));
        log.serve(b, root, 500, 4).unwrap();
        assert_eq!(log.remaining(&b), 500);
        assert_eq!(log.records().len(), 3);
        let back = ServiceLog::decode(policy, &log.encode().unwrap()).unwrap();
        assert_eq!(back.used(&a), 100);
        assert_eq!(back.records(), log.records());
        // The host's log and a block's log are the same record type and bytes.
        assert_eq!(
            log.encode().unwrap(),
            tau_state::encode_attachments_log(log.records()).unwrap()
        );
        assert_eq!(QuotaPolicy::default().quota(&a), 1 << 30);
    }

    #[test]
    fn admitted_downloads_are_recorded_even_past_the_quota() {
        let a = Address::new([3; 20]);
        let root = cid_of(RAW, b"y");
        let mut log = ServiceLog::new(QuotaPolicy {
            free_per_address: 10,
            ..QuotaPolicy::default()
        });
        log.admit(&a, 1).unwrap();
        log.record(ServiceRecord {
            visitor: a,
            root,
            bytes: 25,
            time: 1,
        });
        assert_eq!(log.used(&a), 25);
        assert_eq!(log.remaining(&a), 0);
        assert!(matches!(
            log.admit(&a, 1),
            Err(Error::QuotaExceeded {
                used: 25,
                quota: 10,
                ..
            })
        ));
        log.set_policy(QuotaPolicy {
            free_per_address: 100,
            ..QuotaPolicy::default()
        });
        log.admit(&a, 75).unwrap();
        assert!(log.admit(&a, 76).is_err());
        assert_eq!(log.policy().free_per_address, 100);
    }
}
