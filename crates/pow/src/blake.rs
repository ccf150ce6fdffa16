//! BLAKE2b for the leaf hashes, several digests at once from one midstate.
//!
//! Every leaf group hashes the same `input ‖ nonce` followed by its own 4-byte
//! index, so everything but the last block (or two) is compressed once, and
//! the last blocks of [`LANES`] groups are compressed side by side: with AVX2
//! (detected at run time) each state word is one 256-bit vector of four
//! lanes; elsewhere a portable loop over the lanes does the same work.

/// Digests computed side by side.
pub(crate) const LANES: usize = 4;

const IV: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

const SIGMA: [[usize; 16]; 12] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
];

const BLOCK: usize = 128;

/// One state word across the lanes.
type Word = [u64; LANES];

/// BLAKE2b with a 16-byte personalisation, after a common prefix, ready to
/// finish `LANES` messages that each append a 4-byte little-endian index.
#[derive(Clone, Debug)]
pub(crate) struct Midstate {
    h: [u64; 8],
    /// Bytes compressed so far.
    counter: u128,
    /// The prefix bytes after the last compressed block (at most 128).
    tail: Vec<u8>,
    /// The message words of the last block(s) with a zero index.
    base: [[u64; 16]; 2],
}

impl Midstate {
    /// The state after `prefix` (the parts are concatenated), for digests of
    /// `digest_len` (1..=64) bytes personalised with `personal`.
    pub(crate) fn new(digest_len: usize, personal: &[u8; 16], prefix: &[&[u8]]) -> Self {
        let mut h = IV;
        h[0] ^= 0x0101_0000 ^ digest_len as u64;
        h[6] ^= le64(&personal[..8]);
        h[7] ^= le64(&personal[8..]);
        let mut state = Midstate {
            h,
            counter: 0,
            tail: Vec::with_capacity(BLOCK),
            base: [[0; 16]; 2],
        };
        for part in prefix {
            for &byte in *part {
                if state.tail.len() == BLOCK {
                    // More data follows (at least the index): not the last block.
                    let mut block = [0u8; BLOCK];
                    block.copy_from_slice(&state.tail);
                    state.counter += BLOCK as u128;
                    let h = state.h.map(|w| [w]);
                    let m = words(&block).map(|w| [w]);
                    state.h = compress::<1>(h, &m, state.counter, false).map(|[w]| w);
                    state.tail.clear();
                }
                state.tail.push(byte);
            }
        }
        let mut data = [0u8; 2 * BLOCK];
        data[..state.tail.len()].copy_from_slice(&state.tail);
        state.base = std::array::from_fn(|b| {
            let block: &[u8; BLOCK] = data[b * BLOCK..(b + 1) * BLOCK]
                .try_into()
                .unwrap_or(&[0; BLOCK]);
            words(block)
        });
        state
    }

    /// The digests of `prefix ‖ u32_le(index)` for `LANES` indices: the
    /// first `digest_len` bytes of `out[lane]`.
    pub(crate) fn finish(&self, indices: [u32; LANES], out: &mut [[u8; 64]; LANES]) {
        let tail = self.tail.len();
        let len = tail + 4;
        let blocks = len.div_ceil(BLOCK);
        // The last blocks without the index; each index byte goes into its
        // word (the same place in every lane).
        let mut h: [Word; 8] = self.h.map(|w| [w; LANES]);
        for (b, base) in self.base.iter().enumerate().take(blocks) {
            let last = b + 1 == blocks;
            let counter = self.counter + if last { len as u128 } else { BLOCK as u128 };
            let mut m: [Word; 16] = base.map(|w| [w; LANES]);
            for (i, byte_at) in (tail..len).enumerate() {
                if byte_at / BLOCK != b {
                    continue;
                }
                let word = (byte_at % BLOCK) / 8;
                let shift = 8 * (byte_at % 8);
                if let Some(lanes) = m.get_mut(word) {
                    for (lane, index) in lanes.iter_mut().zip(indices) {
                        *lane |= u64::from((index >> (8 * i)) & 0xff) << shift;
                    }
                }
            }
            h = compress_lanes(h, &m, counter, last);
        }
        for (lane, digest) in out.iter_mut().enumerate() {
            for (i, chunk) in digest.chunks_exact_mut(8).enumerate() {
                chunk.copy_from_slice(&h[i][lane].to_le_bytes());
            }
        }
    }
}

/// The compression function on [`LANES`] lanes: AVX2 when the CPU has it.
fn compress_lanes(h: [Word; 8], m: &[Word; 16], counter: u128, last: bool) -> [Word; 8] {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the only requirement of `avx2::compress` is AVX2, detected
        // just above.
        #[allow(unsafe_code)]
        return unsafe { avx2::compress(h, m, counter, last) };
    }
    compress::<LANES>(h, m, counter, last)
}

/// The BLAKE2b compression function on `L` lanes.
#[inline(always)]
fn compress<const L: usize>(
    h: [[u64; L]; 8],
    m: &[[u64; L]; 16],
    counter: u128,
    last: bool,
) -> [[u64; L]; 8] {
    let mut v = [[0u64; L]; 16];
    v[..8].copy_from_slice(&h);
    for i in 0..8 {
        v[8 + i] = [IV[i]; L];
    }
    v[12] = v[12].map(|w| w ^ counter as u64);
    v[13] = v[13].map(|w| w ^ (counter >> 64) as u64);
    if last {
        v[14] = v[14].map(|w| !w);
    }
    for s in &SIGMA {
        g(&mut v, 0, 4, 8, 12, &m[s[0]], &m[s[1]]);
        g(&mut v, 1, 5, 9, 13, &m[s[2]], &m[s[3]]);
        g(&mut v, 2, 6, 10, 14, &m[s[4]], &m[s[5]]);
        g(&mut v, 3, 7, 11, 15, &m[s[6]], &m[s[7]]);
        g(&mut v, 0, 5, 10, 15, &m[s[8]], &m[s[9]]);
        g(&mut v, 1, 6, 11, 12, &m[s[10]], &m[s[11]]);
        g(&mut v, 2, 7, 8, 13, &m[s[12]], &m[s[13]]);
        g(&mut v, 3, 4, 9, 14, &m[s[14]], &m[s[15]]);
    }
    let mut out = h;
    for i in 0..8 {
        for l in 0..L {
            out[i][l] ^= v[i][l] ^ v[i + 8][l];
        }
    }
    out
}

/// The mixing function G on every lane.
#[inline(always)]
fn g<const L: usize>(
    v: &mut [[u64; L]; 16],
    a: usize,
    b: usize,
    c: usize,
    d: usize,
    x: &[u64; L],
    y: &[u64; L],
) {
    let (mut va, mut vb, mut vc, mut vd) = (v[a], v[b], v[c], v[d]);
    va = add(add(va, vb), *x);
    vd = rotr(xor(vd, va), 32);
    vc = add(vc, vd);
    vb = rotr(xor(vb, vc), 24);
    va = add(add(va, vb), *y);
    vd = rotr(xor(vd, va), 16);
    vc = add(vc, vd);
    vb = rotr(xor(vb, vc), 63);
    (v[a], v[b], v[c], v[d]) = (va, vb, vc, vd);
}

#[inline(always)]
fn add<const L: usize>(a: [u64; L], b: [u64; L]) -> [u64; L] {
    std::array::from_fn(|l| a[l].wrapping_add(b[l]))
}

#[inline(always)]
fn xor<const L: usize>(a: [u64; L], b: [u64; L]) -> [u64; L] {
    std::array::from_fn(|l| a[l] ^ b[l])
}

#[inline(always)]
fn rotr<const L: usize>(a: [u64; L], n: u32) -> [u64; L] {
    std::array::from_fn(|l| a[l].rotate_right(n))
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The four-lane compression function in AVX2: one vector per state word.

    use core::arch::x86_64::*;

    use super::{Word, IV, SIGMA};

    #[inline]
    #[target_feature(enable = "avx2")]
    fn vector(w: super::Word) -> __m256i {
        _mm256_setr_epi64x(w[0] as i64, w[1] as i64, w[2] as i64, w[3] as i64)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn lanes(v: __m256i) -> Word {
        [
            _mm256_extract_epi64::<0>(v) as u64,
            _mm256_extract_epi64::<1>(v) as u64,
            _mm256_extract_epi64::<2>(v) as u64,
            _mm256_extract_epi64::<3>(v) as u64,
        ]
    }

    /// BLAKE2b's compression of four blocks with four chaining values.
    #[target_feature(enable = "avx2")]
    pub(super) fn compress(h: [Word; 8], m: &[Word; 16], counter: u128, last: bool) -> [Word; 8] {
        let rot24 = _mm256_setr_epi8(
            3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10, 3, 4, 5, 6, 7, 0, 1, 2, 11, 12,
            13, 14, 15, 8, 9, 10,
        );
        let rot16 = _mm256_setr_epi8(
            2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9, 2, 3, 4, 5, 6, 7, 0, 1, 10, 11,
            12, 13, 14, 15, 8, 9,
        );
        let hv: [__m256i; 8] = std::array::from_fn(|i| vector(h[i]));
        let mv: [__m256i; 16] = std::array::from_fn(|i| vector(m[i]));
        let mut v: [__m256i; 16] = std::array::from_fn(|i| {
            if i < 8 {
                hv[i]
            } else {
                _mm256_set1_epi64x(IV[i - 8] as i64)
            }
        });
        v[12] = _mm256_xor_si256(v[12], _mm256_set1_epi64x(counter as u64 as i64));
        v[13] = _mm256_xor_si256(v[13], _mm256_set1_epi64x((counter >> 64) as u64 as i64));
        if last {
            v[14] = _mm256_xor_si256(v[14], _mm256_set1_epi64x(-1));
        }
        macro_rules! g {
            ($a:expr, $b:expr, $c:expr, $d:expr, $x:expr, $y:expr) => {
                v[$a] = _mm256_add_epi64(_mm256_add_epi64(v[$a], v[$b]), $x);
                v[$d] = _mm256_shuffle_epi32::<0b10_11_00_01>(_mm256_xor_si256(v[$d], v[$a]));
                v[$c] = _mm256_add_epi64(v[$c], v[$d]);
                v[$b] = _mm256_shuffle_epi8(_mm256_xor_si256(v[$b], v[$c]), rot24);
                v[$a] = _mm256_add_epi64(_mm256_add_epi64(v[$a], v[$b]), $y);
                v[$d] = _mm256_shuffle_epi8(_mm256_xor_si256(v[$d], v[$a]), rot16);
                v[$c] = _mm256_add_epi64(v[$c], v[$d]);
                let t = _mm256_xor_si256(v[$b], v[$c]);
                v[$b] = _mm256_or_si256(_mm256_srli_epi64::<63>(t), _mm256_add_epi64(t, t));
            };
        }
        for s in &SIGMA {
            g!(0, 4, 8, 12, mv[s[0]], mv[s[1]]);
            g!(1, 5, 9, 13, mv[s[2]], mv[s[3]]);
            g!(2, 6, 10, 14, mv[s[4]], mv[s[5]]);
            g!(3, 7, 11, 15, mv[s[6]], mv[s[7]]);
            g!(0, 5, 10, 15, mv[s[8]], mv[s[9]]);
            g!(1, 6, 11, 12, mv[s[10]], mv[s[11]]);
            g!(2, 7, 8, 13, mv[s[12]], mv[s[13]]);
            g!(3, 4, 9, 14, mv[s[14]], mv[s[15]]);
        }
        std::array::from_fn(|i| lanes(_mm256_xor_si256(hv[i], _mm256_xor_si256(v[i], v[i + 8]))))
    }
}

/// The 16 little-endian message words of a block.
fn words(block: &[u8; BLOCK]) -> [u64; 16] {
    std::array::from_fn(|i| le64(&block[8 * i..8 * i + 8]))
}

/// A little-endian u64 from (up to) 8 bytes.
fn le64(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let n = bytes.len().min(8);
    word[..n].copy_from_slice(&bytes[..n]);
    u64::from_le_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(len: usize, personal: &[u8; 16], data: &[u8]) -> Vec<u8> {
        blake2b_simd::Params::new()
            .hash_length(len)
            .personal(personal)
            .hash(data)
            .as_bytes()
            .to_vec()
    }

    #[test]
    fn equals_blake2b_simd_for_every_tail_length() {
        let personal = *b"ZcashPoW\xc8\0\0\0\x09\0\0\0";
        for prefix_len in (0..300).chain([1000, 1023, 1024]) {
            let prefix: Vec<u8> = (0..prefix_len).map(|i| (i * 7 + 3) as u8).collect();
            let (a, b) = prefix.split_at(prefix_len / 3);
            for digest_len in [50, 64, 60] {
                let state = Midstate::new(digest_len, &personal, &[a, b]);
                let indices = [0, 1, 0xdead_beef, u32::MAX];
                let mut out = [[0u8; 64]; LANES];
                state.finish(indices, &mut out);
                for (index, digest) in indices.iter().zip(&out) {
                    let mut data = prefix.clone();
                    data.extend_from_slice(&index.to_le_bytes());
                    let expected = reference(digest_len, &personal, &data);
                    assert_eq!(&digest[..digest_len], &expected[..], "prefix {prefix_len}");
                }
            }
        }
    }
}
