//! Buckets: up to `bucket_size` key/value pairs kept in a node slot.
//!
//! A bucket is held as its exact DAG-CBOR encoding, `[[key, value], …]`, with
//! keys as byte strings in strictly ascending order. Node encoding copies it
//! verbatim, decoding slices it out after validation, and lookups read it in
//! place: values are never decoded until a caller asks for one.

use smallvec::SmallVec;

use tau_ipld::cbor::{self, Reader, MAJOR_ARRAY};

/// An encoded bucket. Small buckets (the common case: three short entries)
/// live inline in their node's pointer array, so a lookup touches no extra
/// cache line and an edit allocates nothing.
pub(crate) type BucketBytes = SmallVec<[u8; 56]>;
use crate::{Error, Result};

/// The entries of an encoded bucket, in key order.
#[derive(Clone)]
pub(crate) struct Entries<'a> {
    reader: Reader<'a>,
    left: u64,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<(&'a [u8], &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(read_entry(&mut self.reader))
    }
}

fn read_entry<'a>(r: &mut Reader<'a>) -> Result<(&'a [u8], &'a [u8])> {
    if r.expect(MAJOR_ARRAY, "bucket entry must be an array")? != 2 {
        return Err(Error::MalformedNode("bucket entry must have two fields"));
    }
    let key = r.bytes("bucket key must be a byte string")?;
    let start = r.position();
    r.skip_item()?;
    Ok((key, r.since(start)))
}

/// Iterates the entries of an encoded bucket.
pub(crate) fn entries(bucket: &[u8]) -> Result<Entries<'_>> {
    let mut reader = Reader::new(bucket);
    let left = reader.expect(MAJOR_ARRAY, "bucket must be an array")?;
    Ok(Entries { reader, left })
}

/// Number of entries of an encoded bucket.
pub(crate) fn len(bucket: &[u8]) -> Result<usize> {
    Ok(entries(bucket)?.left as usize)
}

/// Where a key is in a bucket, as byte offsets into its encoding.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Present: the entry spans `entry`, its value spans `value`.
    Found {
        entry: std::ops::Range<usize>,
        value: std::ops::Range<usize>,
        count: usize,
    },
    /// Absent: a new entry goes at byte `offset`.
    Absent { offset: usize, count: usize },
}

/// Finds `key` in an encoded bucket.
pub(crate) fn search(bucket: &[u8], key: &[u8]) -> Result<Slot> {
    let mut r = Reader::new(bucket);
    let count = r.expect(MAJOR_ARRAY, "bucket must be an array")? as usize;
    for _ in 0..count {
        let start = r.position();
        if r.expect(MAJOR_ARRAY, "bucket entry must be an array")? != 2 {
            return Err(Error::MalformedNode("bucket entry must have two fields"));
        }
        let k = r.bytes("bucket key must be a byte string")?;
        match k.cmp(key) {
            std::cmp::Ordering::Less => r.skip_item()?,
            std::cmp::Ordering::Equal => {
                let value_start = r.position();
                r.skip_item()?;
                return Ok(Slot::Found {
                    entry: start..r.position(),
                    value: value_start..r.position(),
                    count,
                });
            }
            std::cmp::Ordering::Greater => {
                return Ok(Slot::Absent {
                    offset: start,
                    count,
                })
            }
        }
    }
    Ok(Slot::Absent {
        offset: r.position(),
        count,
    })
}

/// The value of `key`, if present.
pub(crate) fn find<'a>(bucket: &'a [u8], key: &[u8]) -> Result<Option<&'a [u8]>> {
    match search(bucket, key)? {
        Slot::Found { value, .. } => Ok(bucket.get(value)),
        Slot::Absent { .. } => Ok(None),
    }
}

/// Encodes `pairs` (already sorted by key) as a bucket.
pub(crate) fn encode<'a>(
    pairs: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])>,
) -> BucketBytes {
    let mut out = BucketBytes::new();
    let (head, len) = cbor::header_bytes(MAJOR_ARRAY, pairs.len() as u64);
    out.extend_from_slice(&head[..len]);
    for (k, v) in pairs {
        out.push(0x82);
        let (head, len) = cbor::header_bytes(cbor::MAJOR_BYTES, k.len() as u64);
        out.extend_from_slice(&head[..len]);
        out.extend_from_slice(k);
        out.extend_from_slice(v);
    }
    out
}

/// A bucket of already-encoded `[key, value]` records (sorted by key).
pub(crate) fn from_records<'a>(records: impl ExactSizeIterator<Item = &'a [u8]>) -> BucketBytes {
    let mut out = BucketBytes::new();
    let (head, len) = cbor::header_bytes(MAJOR_ARRAY, records.len() as u64);
    out.extend_from_slice(&head[..len]);
    for r in records {
        out.extend_from_slice(r);
    }
    out
}

/// A bucket of one entry.
pub(crate) fn single(key: &[u8], value: &[u8]) -> BucketBytes {
    encode(std::iter::once((key, value)))
}

/// Rewrites the entry count of a bucket holding `old` entries to `new`.
fn set_count(bucket: &mut BucketBytes, old: usize, new: usize) {
    let (header, len) = cbor::header_bytes(MAJOR_ARRAY, new as u64);
    let old_len = cbor::header_bytes(MAJOR_ARRAY, old as u64).1;
    if old_len == len {
        bucket[..len].copy_from_slice(&header[..len]);
    } else {
        bucket.drain(..old_len);
        bucket.insert_from_slice(0, &header[..len]);
    }
}

/// Inserts `(key, value)` at byte `offset` of a bucket of `count` entries.
pub(crate) fn insert(
    bucket: &mut BucketBytes,
    offset: usize,
    count: usize,
    key: &[u8],
    value: &[u8],
) {
    let (head, head_len) = cbor::header_bytes(cbor::MAJOR_BYTES, key.len() as u64);
    let mut entry: SmallVec<[u8; 64]> = SmallVec::new();
    entry.push(0x82);
    entry.extend_from_slice(&head[..head_len]);
    entry.extend_from_slice(key);
    entry.extend_from_slice(value);
    bucket.insert_from_slice(offset, &entry);
    set_count(bucket, count, count + 1);
}

/// Replaces the value spanning `range` with `value`.
pub(crate) fn replace_value(bucket: &mut BucketBytes, range: std::ops::Range<usize>, value: &[u8]) {
    if range.len() == value.len() {
        bucket[range].copy_from_slice(value);
    } else {
        let start = range.start;
        bucket.drain(range);
        bucket.insert_from_slice(start, value);
    }
}

/// Removes the entry spanning `range` from a bucket of `count` entries.
pub(crate) fn remove(bucket: &mut BucketBytes, range: std::ops::Range<usize>, count: usize) {
    bucket.drain(range);
    set_count(bucket, count, count - 1);
}

/// Reads and validates a bucket at the reader's position: 1..=`max` entries,
/// byte-string keys strictly ascending, values strict DAG-CBOR. Returns its bytes
/// and its entry count.
pub(crate) fn read_validated<'a>(r: &mut Reader<'a>, max: usize) -> Result<(&'a [u8], usize)> {
    let start = r.position();
    let n = r.expect(MAJOR_ARRAY, "bucket must be an array")?;
    if n == 0 {
        return Err(Error::MalformedNode("empty bucket"));
    }
    if n > max as u64 {
        return Err(Error::MalformedNode("bucket larger than the bucket size"));
    }
    let mut prev: Option<&[u8]> = None;
    for _ in 0..n {
        let (key, _) = read_entry(r)?;
        if let Some(p) = prev {
            if p >= key {
                return Err(Error::MalformedNode("bucket keys unsorted or duplicated"));
            }
        }
        prev = Some(key);
    }
    Ok((r.since(start), n as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replace_remove_keep_order() {
        let mut b = single(b"m", &[0x01]);
        let Slot::Absent { offset, count } = search(&b, b"a").unwrap() else {
            panic!()
        };
        insert(&mut b, offset, count, b"a", &[0x02]);
        let Slot::Absent { offset, count } = search(&b, b"z").unwrap() else {
            panic!()
        };
        insert(&mut b, offset, count, b"z", &[0x03]);
        let keys: Vec<Vec<u8>> = entries(&b)
            .unwrap()
            .map(|e| e.unwrap().0.to_vec())
            .collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"m".to_vec(), b"z".to_vec()]);
        assert_eq!(
            b,
            encode([(&b"a"[..], &[2u8][..]), (b"m", &[1]), (b"z", &[3])].into_iter())
        );
        let Slot::Found { value, .. } = search(&b, b"m").unwrap() else {
            panic!()
        };
        replace_value(&mut b, value, &[0x18, 0x20]);
        assert_eq!(find(&b, b"m").unwrap(), Some(&[0x18, 0x20][..]));
        assert_eq!(find(&b, b"n").unwrap(), None);
        let Slot::Found { entry, count, .. } = search(&b, b"a").unwrap() else {
            panic!()
        };
        remove(&mut b, entry, count);
        assert_eq!(len(&b).unwrap(), 2);
        assert_eq!(
            b,
            encode([(&b"m"[..], &[0x18u8, 0x20][..]), (b"z", &[3])].into_iter())
        );
        let mut r = Reader::new(&b);
        assert_eq!(read_validated(&mut r, 3).unwrap().1, 2);
        let mut r = Reader::new(&b);
        assert!(read_validated(&mut r, 1).is_err());
    }

    #[test]
    fn count_header_grows_past_23_entries() {
        let mut b = single(&[0], &[0]);
        for i in 1..30u8 {
            let Slot::Absent { offset, count } = search(&b, &[i]).unwrap() else {
                panic!()
            };
            insert(&mut b, offset, count, &[i], &[0]);
        }
        assert_eq!(len(&b).unwrap(), 30);
        for i in 0..30u8 {
            let Slot::Found { entry, count, .. } = search(&b, &[i]).unwrap() else {
                panic!()
            };
            remove(&mut b, entry, count);
        }
        assert_eq!(b.as_slice(), &[0x80]);
    }
}
