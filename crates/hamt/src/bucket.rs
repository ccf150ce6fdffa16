//! Buckets: up to `bucket_size` key/value pairs kept in a node slot.
//!
//! A bucket is held as its exact DAG-CBOR encoding, `[[key, value], …]`, with
//! keys as byte strings in strictly ascending order. Node encoding copies it
//! verbatim, decoding slices it out after validation, and lookups read it in
//! place: values are never decoded until a caller asks for one.

use crate::cbor::{self, Reader, MAJOR_ARRAY};
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

/// Where `key` is: `Ok((index, value))` if present, `Err(insert_index)` if not.
pub(crate) fn search<'a>(
    bucket: &'a [u8],
    key: &[u8],
) -> Result<std::result::Result<(usize, &'a [u8]), usize>> {
    for (i, entry) in entries(bucket)?.enumerate() {
        let (k, v) = entry?;
        match k.cmp(key) {
            std::cmp::Ordering::Less => {}
            std::cmp::Ordering::Equal => return Ok(Ok((i, v))),
            std::cmp::Ordering::Greater => return Ok(Err(i)),
        }
    }
    Ok(Err(len(bucket)?))
}

/// The value of `key`, if present.
pub(crate) fn find<'a>(bucket: &'a [u8], key: &[u8]) -> Result<Option<&'a [u8]>> {
    Ok(search(bucket, key)?.ok().map(|(_, v)| v))
}

/// Encodes `pairs` (already sorted by key) as a bucket.
pub(crate) fn encode<'a>(pairs: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])>) -> Box<[u8]> {
    let mut out = Vec::with_capacity(64);
    cbor::write_header(&mut out, MAJOR_ARRAY, pairs.len() as u64);
    for (k, v) in pairs {
        out.push(0x82);
        cbor::write_bytes(&mut out, k);
        out.extend_from_slice(v);
    }
    out.into_boxed_slice()
}

/// A bucket of one entry.
pub(crate) fn single(key: &[u8], value: &[u8]) -> Box<[u8]> {
    encode(std::iter::once((key, value)))
}

/// `bucket` with `(key, value)` put at entry `at`, replacing the entry there if `replace`.
pub(crate) fn with_entry(
    bucket: &[u8],
    at: usize,
    key: &[u8],
    value: &[u8],
    replace: bool,
) -> Result<Box<[u8]>> {
    let mut pairs: Vec<(&[u8], &[u8])> = entries(bucket)?.collect::<Result<_>>()?;
    if replace {
        if let Some(slot) = pairs.get_mut(at) {
            *slot = (key, value);
        }
    } else {
        pairs.insert(at.min(pairs.len()), (key, value));
    }
    Ok(encode(pairs.into_iter()))
}

/// `bucket` without entry `at`.
pub(crate) fn without_entry(bucket: &[u8], at: usize) -> Result<Box<[u8]>> {
    let mut pairs: Vec<(&[u8], &[u8])> = entries(bucket)?.collect::<Result<_>>()?;
    if at < pairs.len() {
        pairs.remove(at);
    }
    Ok(encode(pairs.into_iter()))
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
        let b = single(b"m", &[0x01]);
        let b = with_entry(&b, 0, b"a", &[0x02], false).unwrap();
        let b = with_entry(&b, 2, b"z", &[0x03], false).unwrap();
        let keys: Vec<Vec<u8>> = entries(&b)
            .unwrap()
            .map(|e| e.unwrap().0.to_vec())
            .collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"m".to_vec(), b"z".to_vec()]);
        assert_eq!(search(&b, b"m").unwrap(), Ok((1, &[0x01][..])));
        assert_eq!(search(&b, b"n").unwrap(), Err(2));
        let b = with_entry(&b, 1, b"m", &[0x07], true).unwrap();
        assert_eq!(find(&b, b"m").unwrap(), Some(&[0x07][..]));
        let b = without_entry(&b, 0).unwrap();
        assert_eq!(len(&b).unwrap(), 2);
        let mut r = Reader::new(&b);
        assert_eq!(read_validated(&mut r, 3).unwrap().1, 2);
        let mut r = Reader::new(&b);
        assert!(read_validated(&mut r, 1).is_err());
    }
}
