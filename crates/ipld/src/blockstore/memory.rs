//! An in-memory block store.
//!
//! Blocks are appended to an arena of large chunks (one record = a 5-byte
//! header with the block's length and the CID's, the CID's bytes, then the
//! block's) and found through one open-addressing table of 16-byte slots
//! ([`SlotTable`]: hash bits, trusted flag, the record's place), keyed by a
//! per-store random [`HashKey`]. Storing a new block is a probe that ends on
//! the empty slot it then fills (one random cache line) and a copy to the
//! arena's tail, not an allocation of its own; the table never moves the
//! blocks when it grows: a store of a million blocks costs about the same
//! per block as one of a thousand. The chunks from 1 MiB up are tau-mem
//! buffers, on huge pages where the OS offers them. A large block (over
//! 256 KiB) is kept in a shared buffer of its own instead, so that
//! [`Blockstore::get_trusted_shared`] hands it out and
//! [`Blockstore::put_many_keyed_shared`] takes it without a copy.

use std::sync::{PoisonError, RwLock};

use bytes::Bytes;
use cid::Cid;

use tau_mem::HugeBuffer;

use super::slot_table::{Loc, Probe, SlotTable};
use super::{Blockstore, BlockstoreExt};
use crate::keyed_hash::HashKey;
use crate::{block, Result};

/// Size of the first arena chunk; each next chunk doubles, up to [`MAX_CHUNK`].
const FIRST_CHUNK: usize = 4 << 10;
/// Largest arena chunk: two huge pages (chunks from 1 MiB up are tau-mem
/// maps, so a large store is written on 2 MiB pages, one page fault per
/// 2 MiB instead of per 4 KiB).
const MAX_CHUNK: usize = 4 << 20;
/// A record larger than this gets a chunk of its own.
const LARGE_RECORD: usize = 256 << 10;
/// Room for any CID's binary form (version, codec, hash code and size
/// varints and a digest of at most 64 bytes).
const MAX_CID_BYTES: usize = 128;
/// An arena record's header: the block's length (4 bytes, little endian),
/// then the CID's (1 byte).
const HEADER: usize = 5;

#[derive(Default)]
struct Blocks {
    key: HashKey,
    table: SlotTable,
    chunks: Vec<Chunk>,
    /// The chunk small records are appended to.
    current: Option<usize>,
    total: usize,
}

/// One chunk of the arena.
enum Chunk {
    /// Small records appended one after the other: `len` bytes of `buf`
    /// are written, the rest is zero.
    Arena { buf: HugeBuffer<u8>, len: usize },
    /// One large record: the CID's bytes, and the block in a shared buffer.
    Large { key: Box<[u8]>, data: Bytes },
}

/// The binary form of `cid` in a stack buffer.
fn cid_bytes(cid: &Cid, buf: &mut [u8; MAX_CID_BYTES]) -> usize {
    let mut out = &mut buf[..];
    // Cannot fail for a buffer of MAX_CID_BYTES (multihash digests are at most 64 bytes).
    cid.write_bytes(&mut out).unwrap_or(0)
}

/// The CID bytes and the block of the record at `loc`.
fn record(chunks: &[Chunk], loc: Loc) -> Option<(&[u8], &[u8])> {
    match chunks.get(loc.chunk as usize)? {
        Chunk::Arena { buf, len } => {
            let chunk = buf.get(..*len)?;
            let start = loc.offset as usize;
            let head = chunk.get(start..start.checked_add(HEADER)?)?;
            let [a, b, c, d, cid_len] = *<&[u8; HEADER]>::try_from(head).ok()?;
            let len = u32::from_le_bytes([a, b, c, d]) as usize;
            let mid = start + HEADER + cid_len as usize;
            let end = mid.checked_add(len)?;
            Some((chunk.get(start + HEADER..mid)?, chunk.get(mid..end)?))
        }
        Chunk::Large { key, data } => Some((key, data)),
    }
}

impl Blocks {
    /// The binary form of `cid` in `buf` (its length) and its keyed hash.
    fn key_of(&self, cid: &Cid, buf: &mut [u8; MAX_CID_BYTES]) -> (usize, u64) {
        let n = cid_bytes(cid, buf);
        (n, self.key.hash_bytes(buf.get(..n).unwrap_or_default()))
    }

    /// The place of the block under `cid` and whether this store hashed it.
    fn find(&self, cid: &Cid) -> Option<(Loc, bool)> {
        let mut buf = [0u8; MAX_CID_BYTES];
        let (n, hash) = self.key_of(cid, &mut buf);
        let key = buf.get(..n)?;
        let chunks = &self.chunks;
        match self.table.probe(hash, |loc| {
            record(chunks, loc).is_some_and(|(k, _)| k == key)
        })? {
            Probe::Found(i) => self.table.get(i),
            Probe::Vacant(_) => None,
        }
    }

    fn get(&self, cid: &Cid) -> Option<&[u8]> {
        self.get_entry(cid).map(|(data, _)| data)
    }

    /// The block under `cid` and whether this store hashed it itself.
    fn get_entry(&self, cid: &Cid) -> Option<(&[u8], bool)> {
        let (loc, hashed) = self.find(cid)?;
        record(&self.chunks, loc).map(|(_, data)| (data, hashed))
    }

    /// As [`get_entry`](Self::get_entry), in a shared buffer: a large block's
    /// own, a copy of a small one.
    fn get_shared(&self, cid: &Cid) -> Option<(Bytes, bool)> {
        let (loc, hashed) = self.find(cid)?;
        match self.chunks.get(loc.chunk as usize)? {
            Chunk::Large { data, .. } => Some((data.clone(), hashed)),
            Chunk::Arena { .. } => {
                let (_, data) = record(&self.chunks, loc)?;
                Some((Bytes::copy_from_slice(data), hashed))
            }
        }
    }

    /// Stores `data` under `cid` unless a block is already stored there.
    /// With `hashed` (the caller computed `cid` from `data`) an entry a keyed
    /// put stored earlier becomes trusted, its bytes replaced if they differ.
    /// `shared`, if given, holds the same bytes as `data` and is kept instead
    /// of a copy when the block is large.
    fn put(&mut self, cid: &Cid, data: &[u8], shared: Option<&Bytes>, hashed: bool) -> Result<()> {
        let mut buf = [0u8; MAX_CID_BYTES];
        let (n, hash) = self.key_of(cid, &mut buf);
        let key = buf.get(..n).unwrap_or_default();
        let Self {
            table,
            chunks,
            current,
            total,
            ..
        } = self;
        let probe = table.probe(hash, |loc| {
            record(chunks, loc).is_some_and(|(k, _)| k == key)
        });
        let found = match probe {
            Some(Probe::Found(i)) => table.get(i).map(|entry| (i, entry)),
            _ => None,
        };
        match found {
            None => {
                let loc = append(chunks, current, key, data, shared)?;
                table.insert(probe, hash, loc, hashed);
                *total += data.len();
            }
            Some((_, (_, true))) => {
                // First write wins; a trusted entry is final.
            }
            Some((_, (_, false))) if !hashed => {
                // First write wins.
            }
            Some((i, (loc, false))) => {
                // The caller hashed `data`: the entry becomes trusted, and
                // bytes a keyed put stored under the wrong CID are replaced.
                match record(chunks, loc) {
                    Some((_, old)) if old == data => table.update(i, loc, true),
                    old => {
                        let old_len = old.map_or(0, |(_, d)| d.len());
                        let new = append(chunks, current, key, data, shared)?;
                        *total = total.saturating_sub(old_len) + data.len();
                        table.update(i, new, true);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Appends one record (header, `key`, then `data`) to the arena; its place.
/// A large record gets a chunk of its own (the current one stays), holding
/// `shared` if given (the same bytes as `data`), else a copy of `data`.
fn append(
    chunks: &mut Vec<Chunk>,
    current: &mut Option<usize>,
    key: &[u8],
    data: &[u8],
    shared: Option<&Bytes>,
) -> Result<Loc> {
    let need = HEADER + key.len() + data.len();
    // The last chunk number is the table's mark of an empty slot.
    let next = u32::try_from(chunks.len())
        .ok()
        .filter(|&i| i < u32::MAX)
        .ok_or_else(|| too_large(need))?;
    if need > LARGE_RECORD {
        let data = match shared {
            Some(shared) => shared.clone(),
            None => Bytes::copy_from_slice(data),
        };
        chunks.push(Chunk::Large {
            key: key.into(),
            data,
        });
        return Ok(Loc {
            chunk: next,
            offset: 0,
        });
    }
    let cid_len = u8::try_from(key.len()).map_err(|_| too_large(need))?;
    let len = u32::try_from(data.len()).map_err(|_| too_large(need))?;
    let open = current.and_then(|i| match chunks.get(i) {
        Some(Chunk::Arena { buf, len }) => Some((i, buf.len(), *len)),
        _ => None,
    });
    let index = match open {
        Some((i, size, used)) if size - used >= need => i,
        _ => {
            let size = open.map_or(FIRST_CHUNK, |(_, size, _)| (size * 2).min(MAX_CHUNK));
            chunks.push(Chunk::Arena {
                buf: HugeBuffer::zeroed(size.max(need)),
                len: 0,
            });
            *current = Some(chunks.len() - 1);
            chunks.len() - 1
        }
    };
    let chunk_index = u32::try_from(index).map_err(|_| too_large(need))?;
    let Some(Chunk::Arena { buf, len: used }) = chunks.get_mut(index) else {
        return Err(too_large(need));
    };
    let offset = u32::try_from(*used).map_err(|_| too_large(need))?;
    let (head, rest) = buf
        .get_mut(*used..*used + need)
        .and_then(|dst| dst.split_at_mut_checked(HEADER))
        .ok_or_else(|| too_large(need))?;
    let [a, b, c, d] = len.to_le_bytes();
    head.copy_from_slice(&[a, b, c, d, cid_len]);
    let (k, v) = rest
        .split_at_mut_checked(key.len())
        .ok_or_else(|| too_large(need))?;
    k.copy_from_slice(key);
    v.copy_from_slice(data);
    *used += need;
    Ok(Loc {
        chunk: chunk_index,
        offset,
    })
}

fn too_large(size: usize) -> crate::Error {
    crate::Error::CorruptStore(format!(
        "a block of {size} bytes does not fit the memory store"
    ))
}

/// A block store in memory: the embedded default and the store of tests.
///
/// It is `Send + Sync`; clones of the bytes are handed out on `get`.
///
/// ```
/// use tau_ipld::{Blockstore, MemoryBlockstore, block::RAW};
/// let store = MemoryBlockstore::new();
/// let cid = store.put(RAW, b"chunk")?;
/// assert_eq!(store.get(&cid)?.as_deref(), Some(&b"chunk"[..]));
/// # Ok::<(), tau_ipld::Error>(())
/// ```
#[derive(Default)]
pub struct MemoryBlockstore {
    blocks: RwLock<Blocks>,
}

impl std::fmt::Debug for MemoryBlockstore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBlockstore")
            .field("blocks", &self.len())
            .field("bytes", &self.total_bytes())
            .finish()
    }
}

impl MemoryBlockstore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of blocks stored.
    pub fn len(&self) -> usize {
        self.blocks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .table
            .len()
    }

    /// Whether the store holds no block.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total size in bytes of the stored blocks.
    pub fn total_bytes(&self) -> usize {
        self.blocks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

impl Blockstore for MemoryBlockstore {
    fn get_raw(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        let blocks = self.blocks.read().unwrap_or_else(PoisonError::into_inner);
        Ok(blocks.get(cid).map(<[u8]>::to_vec))
    }

    fn put_keyed(&self, cid: &Cid, block: &[u8]) -> Result<()> {
        let mut blocks = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        blocks.put(cid, block, None, false)
    }

    /// Hashes `data` here, so the block is trusted by
    /// [`get_trusted`](BlockstoreExt::get_trusted); it also replaces bytes a
    /// [`put_keyed`](Blockstore::put_keyed) caller stored under a wrong CID.
    fn put(&self, codec: u64, data: &[u8]) -> Result<Cid> {
        let cid = block::cid_of(codec, data);
        let mut blocks = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        blocks.put(&cid, data, None, true)?;
        Ok(cid)
    }

    fn has(&self, cid: &Cid) -> Result<bool> {
        let blocks = self.blocks.read().unwrap_or_else(PoisonError::into_inner);
        Ok(blocks.get(cid).is_some())
    }

    fn put_many_keyed(&self, batch: &[(Cid, Vec<u8>)]) -> Result<()> {
        let mut blocks = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        for (cid, data) in batch {
            blocks.put(cid, data, None, false)?;
        }
        Ok(())
    }
}

impl BlockstoreExt for MemoryBlockstore {
    fn get_trusted(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        let blocks = self.blocks.read().unwrap_or_else(PoisonError::into_inner);
        match blocks.get_entry(cid) {
            None => Ok(None),
            Some((data, true)) => Ok(Some(data.to_vec())),
            Some((data, false)) => {
                block::verify(cid, data)?;
                Ok(Some(data.to_vec()))
            }
        }
    }

    /// Keeps large blocks' buffers themselves (no copy); small ones are
    /// copied into the arena.
    fn put_many_keyed_shared(&self, batch: &[(Cid, Bytes)]) -> Result<()> {
        let mut blocks = self.blocks.write().unwrap_or_else(PoisonError::into_inner);
        for (cid, data) in batch {
            blocks.put(cid, data, Some(data), false)?;
        }
        Ok(())
    }

    /// A large block's own shared buffer (no copy), a copy of a small one.
    fn get_trusted_shared(&self, cid: &Cid) -> Result<Option<Bytes>> {
        let blocks = self.blocks.read().unwrap_or_else(PoisonError::into_inner);
        match blocks.get_shared(cid) {
            None => Ok(None),
            Some((data, true)) => Ok(Some(data)),
            Some((data, false)) => {
                block::verify(cid, &data)?;
                Ok(Some(data))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{cid_of, DAG_CBOR, RAW};
    use crate::Error;
    use proptest::prelude::*;

    #[test]
    fn get_verifies_blocks() {
        let store = MemoryBlockstore::new();
        let cid = cid_of(RAW, b"good");
        // A block stored under the wrong CID is never handed out.
        store.put_keyed(&cid, b"evil").unwrap();
        assert!(matches!(store.get(&cid), Err(Error::CidMismatch { .. })));
        assert!(store.has(&cid).unwrap());
        let other = store.put(RAW, b"fine").unwrap();
        assert_eq!(store.get(&other).unwrap().unwrap(), b"fine");
        assert_eq!(store.get(&cid_of(RAW, b"absent")).unwrap(), None);
    }

    #[test]
    fn trusted_reads_rehash_what_the_store_did_not_hash() {
        let store = MemoryBlockstore::new();
        let cid = cid_of(RAW, b"good");
        // Stored under a CID the caller vouched for, wrongly: never handed out.
        store.put_keyed(&cid, b"evil").unwrap();
        assert!(matches!(
            store.get_trusted(&cid),
            Err(Error::CidMismatch { .. })
        ));
        // Hashed by the store itself: the right bytes replace the wrong ones.
        assert_eq!(store.put(RAW, b"good").unwrap(), cid);
        assert_eq!(store.get_trusted(&cid).unwrap().unwrap(), b"good");
        assert_eq!(store.get(&cid).unwrap().unwrap(), b"good");
        // A keyed block with the right bytes is served too, after its hash.
        let other = cid_of(RAW, b"keyed");
        store.put_keyed(&other, b"keyed").unwrap();
        assert_eq!(store.get_trusted(&other).unwrap().unwrap(), b"keyed");
        assert_eq!(store.get_trusted(&cid_of(RAW, b"absent")).unwrap(), None);
        // Through an `Arc`, `put` still reaches the store's own (hashing) put.
        let shared = std::sync::Arc::new(MemoryBlockstore::new());
        let cid = shared.put(RAW, b"x").unwrap();
        assert!(shared.blocks.read().unwrap().get_entry(&cid).unwrap().1);
    }

    #[test]
    fn first_write_wins_and_sizes_add_up() {
        let store = MemoryBlockstore::new();
        let cid = cid_of(RAW, b"one");
        store.put_keyed(&cid, b"one").unwrap();
        store.put_keyed(&cid, b"other bytes").unwrap();
        assert_eq!(store.get_raw(&cid).unwrap().unwrap(), b"one");
        assert_eq!((store.len(), store.total_bytes()), (1, 3));
        // The same digest under another codec is another block.
        let cbor = store.put(DAG_CBOR, b"one").unwrap();
        assert_ne!(cbor, cid);
        assert_eq!((store.len(), store.total_bytes()), (2, 6));
    }

    #[test]
    fn large_blocks_and_many_chunks() {
        let store = MemoryBlockstore::new();
        let big = vec![7u8; 12 * LARGE_RECORD];
        let mut cids = Vec::new();
        // About 7 MB of small records: chunks up to the largest, mapped ones included.
        for i in 0..20_000u32 {
            let data = if i % 5000 == 500 {
                let mut b = big.clone();
                b[..4].copy_from_slice(&i.to_le_bytes());
                b
            } else {
                vec![(i % 251) as u8; (i % 700) as usize + 1]
            };
            cids.push((store.put(RAW, &data).unwrap(), data));
        }
        let total: usize = cids.iter().map(|(_, d)| d.len()).sum();
        assert_eq!((store.len(), store.total_bytes()), (cids.len(), total));
        for (cid, data) in &cids {
            assert_eq!(store.get(cid).unwrap().as_ref(), Some(data));
        }
    }

    #[test]
    fn shared_reads_and_writes_do_not_copy_large_blocks() {
        let store = MemoryBlockstore::new();
        let large = Bytes::from(vec![3u8; LARGE_RECORD + 1]);
        let small = Bytes::from_static(b"small");
        let (lc, sc) = (cid_of(RAW, &large), cid_of(RAW, &small));
        store
            .put_many_keyed_shared(&[(lc, large.clone()), (sc, small.clone())])
            .unwrap();
        let got = store.get_trusted_shared(&lc).unwrap().unwrap();
        assert_eq!(got, large);
        // The very buffer that was put: no copy either way.
        assert_eq!(got.as_ptr(), large.as_ptr());
        assert_eq!(store.get_trusted_shared(&sc).unwrap().unwrap(), small);
        assert_eq!(store.get_raw(&lc).unwrap().unwrap(), large.to_vec());
        // A keyed block under a wrong CID is caught on a trusted read, shared or not.
        let wrong = cid_of(RAW, b"other");
        store
            .put_many_keyed_shared(&[(wrong, large.clone())])
            .unwrap();
        assert!(matches!(
            store.get_trusted_shared(&wrong),
            Err(Error::CidMismatch { .. })
        ));
        assert_eq!(
            store.get_trusted_shared(&cid_of(RAW, b"absent")).unwrap(),
            None
        );
    }

    proptest! {
        /// The shared and the copying paths store and hand out the same
        /// bytes, for blocks on both sides of the large-block threshold.
        #[test]
        fn shared_paths_agree_with_copying_ones(blocks in proptest::collection::vec(
            (0u8..12, any::<bool>(), 0usize..3, any::<u8>()), 0..24)) {
            let (copied, shared) = (MemoryBlockstore::new(), MemoryBlockstore::new());
            for (name, trusted, size, fill) in &blocks {
                let len = [*fill as usize, LARGE_RECORD - 40, LARGE_RECORD + *fill as usize][*size];
                let data = vec![*fill; len];
                if *trusted {
                    copied.put(RAW, &data).unwrap();
                    shared.put(RAW, &data).unwrap();
                } else {
                    // Few distinct CIDs: the same CID is written with other bytes.
                    let cid = cid_of(RAW, &[*name]);
                    copied.put_many_keyed(&[(cid, data.clone())]).unwrap();
                    shared.put_many_keyed_shared(&[(cid, Bytes::from(data))]).unwrap();
                }
            }
            prop_assert_eq!(copied.len(), shared.len());
            prop_assert_eq!(copied.total_bytes(), shared.total_bytes());
            let names = (0u8..12).map(|n| cid_of(RAW, &[n]));
            let contents = blocks.iter().map(|(_, _, size, fill)| {
                let len = [*fill as usize, LARGE_RECORD - 40, LARGE_RECORD + *fill as usize][*size];
                cid_of(RAW, &vec![*fill; len])
            });
            for cid in names.chain(contents) {
                let want = copied.get_raw(&cid).unwrap();
                prop_assert_eq!(&shared.get_raw(&cid).unwrap(), &want);
                let a = copied.get_trusted(&cid).map_err(|e| e.to_string());
                let b = shared.get_trusted_shared(&cid).map(|o| o.map(|d| d.to_vec())).map_err(|e| e.to_string());
                prop_assert_eq!(a, b);
            }
        }

        /// Differential against a model `HashMap<Cid, (Vec<u8>, trusted)>`
        /// over every write and read path: hashing, keyed, batched and
        /// shared puts (duplicates, right and wrong bytes under a CID), small
        /// blocks, blocks at and past the large-block threshold, enough
        /// distinct blocks to grow the table several times.
        #[test]
        fn every_path_behaves_like_the_model(ops in proptest::collection::vec(
            (0u8..6, 0u16..400, 0u8..8, any::<u8>()), 0..400)) {
            let store = MemoryBlockstore::new();
            let mut model: std::collections::HashMap<Cid, (Vec<u8>, bool)> =
                std::collections::HashMap::new();
            let mut seen = Vec::new();
            for (op, name, size, fill) in ops {
                // Mostly small blocks, some near and past the threshold.
                let len = match size {
                    0 => LARGE_RECORD + usize::from(fill),
                    1 => LARGE_RECORD - HEADER - 36,
                    _ => usize::from(fill) + usize::from(name % 97),
                };
                let mut data = vec![fill; len];
                if let Some(first) = data.first_mut() {
                    *first = name as u8;
                }
                // A CID by name (often not the data's) or the data's own.
                let named = cid_of(RAW, &name.to_le_bytes());
                let own = cid_of(RAW, &data);
                seen.extend([named, own]);
                let keyed = |model: &mut std::collections::HashMap<_, _>, cid: Cid, data: &Vec<u8>| {
                    model.entry(cid).or_insert_with(|| (data.clone(), false));
                };
                match op {
                    0 => {
                        prop_assert_eq!(store.put(RAW, &data).unwrap(), own);
                        let entry = model.entry(own).or_insert_with(|| (data.clone(), true));
                        *entry = (data.clone(), true);
                    }
                    1 => {
                        store.put_keyed(&named, &data).unwrap();
                        keyed(&mut model, named, &data);
                    }
                    2 => {
                        store.put_keyed(&own, &data).unwrap();
                        keyed(&mut model, own, &data);
                    }
                    3 => {
                        store.put_many_keyed(&[(named, data.clone()), (own, data.clone())]).unwrap();
                        keyed(&mut model, named, &data);
                        keyed(&mut model, own, &data);
                    }
                    4 => {
                        let shared = Bytes::from(data.clone());
                        store.put_many_keyed_shared(&[(named, shared.clone()), (own, shared)]).unwrap();
                        keyed(&mut model, named, &data);
                        keyed(&mut model, own, &data);
                    }
                    _ => {
                        // Reads only.
                        let want = model.get(&named).map(|(d, _)| d.clone());
                        prop_assert_eq!(store.get_raw(&named).unwrap(), want);
                        prop_assert_eq!(store.has(&own).unwrap(), model.contains_key(&own));
                    }
                }
            }
            prop_assert_eq!(store.len(), model.len());
            prop_assert_eq!(store.total_bytes(), model.values().map(|(d, _)| d.len()).sum::<usize>());
            seen.push(cid_of(RAW, b"never stored"));
            for cid in &seen {
                let want = model.get(cid);
                prop_assert_eq!(store.get_raw(cid).unwrap(), want.map(|(d, _)| d.clone()));
                prop_assert_eq!(store.has(cid).unwrap(), want.is_some());
                let matches = want.is_some_and(|(d, trusted)| *trusted || cid_of(RAW, d) == *cid);
                let trusted = store.get_trusted(cid).map_err(|e| matches!(e, Error::CidMismatch { .. }));
                let shared = store.get_trusted_shared(cid).map(|o| o.map(|b| b.to_vec()))
                    .map_err(|e| matches!(e, Error::CidMismatch { .. }));
                let get = store.get(cid).map_err(|e| matches!(e, Error::CidMismatch { .. }));
                match want {
                    None => {
                        prop_assert_eq!(trusted, Ok(None));
                        prop_assert_eq!(shared, Ok(None));
                        prop_assert_eq!(get, Ok(None));
                    }
                    Some((d, _)) if matches => {
                        prop_assert_eq!(trusted, Ok(Some(d.clone())));
                        prop_assert_eq!(shared, Ok(Some(d.clone())));
                        prop_assert_eq!(get, Ok(Some(d.clone())));
                    }
                    Some(_) => {
                        prop_assert_eq!(trusted, Err(true));
                        prop_assert_eq!(shared, Err(true));
                        prop_assert_eq!(get, Err(true));
                    }
                }
            }
        }

        /// Differential against a `HashMap`: the same puts give the same gets.
        #[test]
        fn behaves_like_a_map(blocks in proptest::collection::vec(
            (0u8..40, proptest::collection::vec(any::<u8>(), 0..300)), 0..200)) {
            let store = MemoryBlockstore::new();
            let mut model = std::collections::HashMap::new();
            for (name, data) in &blocks {
                // Few distinct CIDs, so the same CID is written with other bytes.
                let cid = cid_of(RAW, &[*name]);
                store.put_keyed(&cid, data).unwrap();
                model.entry(cid).or_insert_with(|| data.clone());
            }
            prop_assert_eq!(store.len(), model.len());
            prop_assert_eq!(store.total_bytes(), model.values().map(Vec::len).sum::<usize>());
            for name in 0u8..40 {
                let cid = cid_of(RAW, &[name]);
                prop_assert_eq!(store.get_raw(&cid).unwrap(), model.get(&cid).cloned());
                prop_assert_eq!(store.has(&cid).unwrap(), model.contains_key(&cid));
            }
        }
    }
}
