//! CIDs of blocks: computing them and checking a block against its CID.

use cid::Cid;
use multihash::Multihash;

use crate::{Error, Result};

/// Multicodec of DAG-CBOR blocks (HAMT nodes and other structured data).
pub const DAG_CBOR: u64 = 0x71;
/// Multicodec of raw blocks (attachment chunks).
pub const RAW: u64 = 0x55;
/// Multihash code of BLAKE2b-256, the hash of every block this workspace writes.
pub const BLAKE2B_256: u64 = 0xb220;
/// Multihash code of SHA2-256 (accepted when verifying blocks written by others).
pub const SHA2_256: u64 = 0x12;
/// Multihash code of the identity "hash" (the digest is the data itself).
pub const IDENTITY: u64 = 0x00;

/// The BLAKE2b-256 digest of `data`.
pub fn blake2b_256(data: &[u8]) -> [u8; 32] {
    let hash = blake2b_simd::Params::new().hash_length(32).hash(data);
    let mut out = [0u8; 32];
    out.copy_from_slice(hash.as_bytes());
    out
}

/// The CIDv1 of `data` under `codec`, hashed with BLAKE2b-256 (as Filecoin does).
///
/// ```
/// use tau_ipld::block::{cid_of, DAG_CBOR};
/// // The empty HAMT node `[h'', []]`.
/// let cid = cid_of(DAG_CBOR, &[0x82, 0x40, 0x80]);
/// assert_eq!(cid.to_string(), "bafy2bzaceamp42wmmgr2g2ymg46euououzfyck7szknvfacqscohrvaikwfay");
/// ```
pub fn cid_of(codec: u64, data: &[u8]) -> Cid {
    let digest = blake2b_256(data);
    // A 32-byte digest always fits the 64-byte multihash.
    let mh = Multihash::<64>::wrap(BLAKE2B_256, &digest).unwrap_or_default();
    Cid::new_v1(codec, mh)
}

/// Checks that `data` hashes to `cid`'s multihash.
///
/// Supports BLAKE2b-256, SHA2-256 and identity multihashes; any other code is
/// [`Error::UnsupportedHash`], a mismatch is [`Error::CidMismatch`].
pub fn verify(cid: &Cid, data: &[u8]) -> Result<()> {
    let mh = cid.hash();
    let ok = match mh.code() {
        BLAKE2B_256 => mh.size() == 32 && blake2b_256(data) == mh.digest(),
        SHA2_256 => {
            use sha2::Digest;
            mh.size() == 32 && sha2::Sha256::digest(data).as_slice() == mh.digest()
        }
        IDENTITY => mh.digest() == data,
        code => {
            return Err(Error::UnsupportedHash {
                cid: Box::new(*cid),
                code,
            })
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Error::CidMismatch {
            cid: Box::new(*cid),
        })
    }
}

/// The links (tag-42 CIDs) of the block `data` stored under `cid`, in order:
/// none for a raw block, every link for a DAG-CBOR block (which must be one
/// well-formed strict DAG-CBOR item, else [`Error::Malformed`]); any other
/// codec is [`Error::UnsupportedCodec`]. Bounded by the block: no link is
/// followed and nesting is limited.
///
/// ```
/// use tau_ipld::block::{cid_of, links, DAG_CBOR, RAW};
/// let leaf = cid_of(RAW, b"leaf");
/// // [link(leaf), 1]
/// let mut node = vec![0x82, 0xd8, 0x2a, 0x58, leaf.to_bytes().len() as u8 + 1, 0x00];
/// node.extend(leaf.to_bytes());
/// node.push(0x01);
/// assert_eq!(links(&cid_of(DAG_CBOR, &node), &node)?, vec![leaf]);
/// assert!(links(&leaf, b"leaf")?.is_empty());
/// # Ok::<(), tau_ipld::Error>(())
/// ```
pub fn links(cid: &Cid, data: &[u8]) -> Result<Vec<Cid>> {
    match cid.codec() {
        RAW => Ok(Vec::new()),
        DAG_CBOR => {
            let mut out = Vec::new();
            let mut reader = crate::cbor::Reader::new(data);
            reader.skip_item_with_links(&mut |link| out.push(link))?;
            if !reader.is_at_end() {
                return Err(Error::Malformed("trailing bytes after the item"));
            }
            Ok(out)
        }
        codec => Err(Error::UnsupportedCodec(codec)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_accepts_own_cid_and_rejects_any_flip() {
        let data = b"hello tau".to_vec();
        let cid = cid_of(RAW, &data);
        verify(&cid, &data).unwrap();
        for i in 0..data.len() {
            let mut bad = data.clone();
            bad[i] ^= 1;
            assert!(matches!(verify(&cid, &bad), Err(Error::CidMismatch { .. })));
        }
    }

    #[test]
    fn verify_sha256_and_unsupported() {
        use sha2::Digest;
        let data = b"x";
        let d = sha2::Sha256::digest(data);
        let cid = Cid::new_v1(RAW, Multihash::<64>::wrap(SHA2_256, &d).unwrap());
        verify(&cid, data).unwrap();
        let odd = Cid::new_v1(RAW, Multihash::<64>::wrap(0x1b, &d).unwrap());
        assert!(matches!(
            verify(&odd, data),
            Err(Error::UnsupportedHash { code: 0x1b, .. })
        ));
    }
}
