//! Zeroed word buffers for the lists, on huge pages where the OS offers them.
//!
//! Every entry of a round is written to a random bucket of a ~75 MB heap: with
//! 4 KiB pages nearly every write also misses the TLB. An anonymous map with
//! `MADV_HUGEPAGE` (Linux) puts the heap on 2 MiB pages; anywhere the map or
//! the hint is unavailable an ordinary vector does the same job, slower.

use memmap2::MmapMut;

/// A zero-initialised buffer of `u32` words.
#[derive(Debug)]
pub(crate) enum Heap {
    /// Anonymous memory map (page aligned, zeroed by the OS).
    Mapped(MmapMut),
    /// Fallback where the map is unavailable.
    Vector(Vec<u32>),
}

impl Heap {
    /// `words` zeroed words.
    pub(crate) fn zeroed(words: usize) -> Self {
        let bytes = words.saturating_mul(4);
        match MmapMut::map_anon(bytes.max(1)) {
            Ok(map) if bytemuck::try_cast_slice::<u8, u32>(&map[..bytes]).is_ok() => {
                #[cfg(target_os = "linux")]
                {
                    // A hint: without it the map works the same, on small pages.
                    let _ = map.advise(memmap2::Advice::HugePage);
                }
                Heap::Mapped(map)
            }
            _ => Heap::Vector(vec![0; words]),
        }
    }

    /// The words.
    pub(crate) fn words(&self) -> &[u32] {
        match self {
            Heap::Mapped(map) => bytemuck::try_cast_slice(&map[..]).unwrap_or_default(),
            Heap::Vector(words) => words,
        }
    }

    /// The words, writable.
    pub(crate) fn words_mut(&mut self) -> &mut [u32] {
        match self {
            Heap::Mapped(map) => bytemuck::try_cast_slice_mut(&mut map[..]).unwrap_or_default(),
            Heap::Vector(words) => words,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeroed_and_writable() {
        for words in [1, 1000, 1 << 20] {
            let mut heap = Heap::zeroed(words);
            assert!(heap.words().len() >= words);
            assert!(heap.words().iter().all(|&w| w == 0));
            heap.words_mut()[words - 1] = 7;
            assert_eq!(heap.words()[words - 1], 7);
        }
    }
}
