//! The minimal encoding of a solution: 2^k indices of (n/(k+1) + 1) bits each,
//! packed big-endian (`docs/src/formats/equihash.md`, "Definition").

use crate::params::Params;
use crate::{Error, Result};

/// Packs `indices` into the minimal encoding.
pub(crate) fn encode(params: &Params, indices: &[u32]) -> Vec<u8> {
    let width = params.index_bits();
    let mut out = Vec::with_capacity(params.solution_bytes());
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    for &index in indices {
        acc = (acc << width) | u64::from(index);
        bits += width;
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
        acc &= (1u64 << bits) - 1;
    }
    out
}

/// Unpacks a minimal encoding into its indices.
pub fn decode_indices(params: &Params, solution: &[u8]) -> Result<Vec<u32>> {
    if solution.len() != params.solution_bytes() {
        return Err(Error::SolutionLength {
            len: solution.len(),
            expected: params.solution_bytes(),
        });
    }
    let width = params.index_bits();
    let mut out = Vec::with_capacity(params.solution_indices());
    let mut acc: u64 = 0;
    let mut bits = 0u32;
    for &byte in solution {
        acc = (acc << 8) | u64::from(byte);
        bits += 8;
        if bits >= width {
            bits -= width;
            out.push((acc >> bits) as u32 & ((1u64 << width) - 1) as u32);
            acc &= (1u64 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_at_every_spec_size() {
        for (n, k) in [(200, 9), (96, 5), (48, 5), (144, 5), (248, 7)] {
            let p = Params::new(n, k).unwrap();
            let max = (p.list_size() - 1) as u32;
            let indices: Vec<u32> = (0..p.solution_indices() as u32)
                .map(|i| i.wrapping_mul(2_654_435_761) & max)
                .collect();
            let bytes = encode(&p, &indices);
            assert_eq!(bytes.len(), p.solution_bytes());
            assert_eq!(decode_indices(&p, &bytes).unwrap(), indices);
        }
        let p = Params::tiny();
        assert!(matches!(
            decode_indices(&p, &[0; 35]),
            Err(Error::SolutionLength { .. })
        ));
    }
}
