//! # tau-mem
//!
//! Zeroed buffers on huge pages where the OS offers them, and the
//! open-addressing table built on them ([`OpenTable`], see [`open_table`]).
//!
//! A table probed at random positions (the DAG's id table, the memory block
//! store's slot table, an Equihash heap) misses the TLB on nearly every probe
//! once it outgrows what 4 KiB pages cover, and in a virtual machine every
//! miss is a nested page walk. [`HugeBuffer`] puts such a table on 2 MiB
//! pages (and a large append-only arena too: one page fault per 2 MiB
//! written instead of per 4 KiB): at and above [`MAP_THRESHOLD`] bytes it
//! is an anonymous memory map (zeroed by the OS, so allocating it writes
//! nothing), started on a 2 MiB boundary and advised `MADV_HUGEPAGE` on
//! Linux, which transparent huge pages honour in their `madvise` mode as
//! well as in `always`. Below the threshold, or where the map fails, it is
//! an ordinary vector of zeroes: small tables must not cost a map each.
//! Either way the contents are the same slice of `T`.
//!
//! No `unsafe`: the map is `memmap2`'s, the view of its bytes as `T` is a
//! checked `bytemuck` cast, so `T` must be [`Pod`] (any bit pattern valid,
//! all-zero included).
//!
//! ```
//! use tau_mem::HugeBuffer;
//!
//! // 4 MiB of zeroed u64 slots: mapped, on huge pages where the OS agrees.
//! let mut slots: HugeBuffer<u64> = HugeBuffer::zeroed(1 << 19);
//! assert_eq!(slots.len(), 1 << 19);
//! assert!(slots.iter().all(|&s| s == 0));
//! slots[12_345] = 7;
//! assert_eq!(slots.as_slice()[12_345], 7);
//!
//! // A small buffer is a plain vector.
//! let small: HugeBuffer<[u64; 2]> = HugeBuffer::zeroed(64);
//! assert!(!small.is_mapped());
//! ```

// Stricter than the workspace's `unsafe_code = "deny"`: the huge-page
// buffer is where `unsafe` would be tempting, and it must stay without
// (the map is memmap2's, the cast bytemuck's), with no local `allow`.
#![forbid(unsafe_code)]

use std::fmt;
use std::ops::{Deref, DerefMut};

pub mod open_table;
pub use open_table::{OpenTable, Probe, SlotFormat};

pub use bytemuck::Pod;
use memmap2::MmapMut;

/// Buffers of at least this many bytes are mapped; smaller ones are vectors.
pub const MAP_THRESHOLD: usize = 1 << 20;

/// A huge page (x86-64 and AArch64 with 4 KiB base pages): the map is
/// started on a multiple of it, so every whole 2 MiB of the buffer can be
/// one huge page.
const HUGE_PAGE: usize = 2 << 20;

/// A fixed-length buffer of `T`, zero-initialised, on huge pages where
/// available (see the crate documentation). Dereferences to `[T]`.
pub struct HugeBuffer<T> {
    store: Store<T>,
}

enum Store<T> {
    /// An anonymous map; the buffer is `len` elements from byte `start`
    /// (the first 2 MiB boundary in the map).
    Mapped {
        map: MmapMut,
        start: usize,
        len: usize,
    },
    /// Below the threshold, or where the map is unavailable.
    Vector(Vec<T>),
}

impl<T: Pod> HugeBuffer<T> {
    /// An empty buffer (allocates nothing).
    pub const fn new() -> Self {
        Self {
            store: Store::Vector(Vec::new()),
        }
    }

    /// `len` elements, all zero.
    ///
    /// # Panics
    ///
    /// If `len` elements of `T` exceed the address space, as
    /// `Vec::with_capacity` does.
    pub fn zeroed(len: usize) -> Self {
        let store = Self::map(len).unwrap_or_else(|| Store::Vector(vec![T::zeroed(); len]));
        Self { store }
    }

    /// The map of `len` elements, if the buffer is large enough to be mapped
    /// and the OS grants the map.
    fn map(len: usize) -> Option<Store<T>> {
        let bytes = len.checked_mul(std::mem::size_of::<T>())?;
        if bytes < MAP_THRESHOLD {
            return None;
        }
        // Room to start on a huge-page boundary; the slack is never touched,
        // so it costs address space only.
        let map = MmapMut::map_anon(bytes.checked_add(HUGE_PAGE)?).ok()?;
        let start = (HUGE_PAGE - map.as_ptr() as usize % HUGE_PAGE) % HUGE_PAGE;
        // The cast also checks alignment and size once, here: every later
        // view of the same bytes succeeds.
        let _: &[T] = bytemuck::try_cast_slice(map.get(start..start.checked_add(bytes)?)?).ok()?;
        #[cfg(target_os = "linux")]
        {
            // A hint: refused (no THP in this kernel), the map works the
            // same on small pages.
            let _ = map.advise_range(memmap2::Advice::HugePage, start, bytes);
        }
        Some(Store::Mapped { map, start, len })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.store {
            Store::Mapped { len, .. } => *len,
            Store::Vector(v) => v.len(),
        }
    }

    /// Whether the buffer holds no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the buffer is a memory map (and so could be on huge pages),
    /// rather than a vector.
    pub fn is_mapped(&self) -> bool {
        matches!(self.store, Store::Mapped { .. })
    }

    /// The elements.
    pub fn as_slice(&self) -> &[T] {
        match &self.store {
            Store::Mapped { map, start, len } => {
                let bytes = len.saturating_mul(std::mem::size_of::<T>());
                let raw = map
                    .get(*start..start.saturating_add(bytes))
                    .unwrap_or_default();
                // Checked when the map was made.
                bytemuck::try_cast_slice(raw).unwrap_or_default()
            }
            Store::Vector(v) => v,
        }
    }

    /// The elements, writable.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        match &mut self.store {
            Store::Mapped { map, start, len } => {
                let bytes = len.saturating_mul(std::mem::size_of::<T>());
                let raw = map
                    .get_mut(*start..start.saturating_add(bytes))
                    .unwrap_or_default();
                // Checked when the map was made.
                bytemuck::try_cast_slice_mut(raw).unwrap_or_default()
            }
            Store::Vector(v) => v,
        }
    }
}

impl<T: Pod> Default for HugeBuffer<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Pod> Clone for HugeBuffer<T> {
    /// A buffer of the same kind (mapped or not) with the same elements.
    fn clone(&self) -> Self {
        let mut copy = Self::zeroed(self.len());
        copy.as_mut_slice().copy_from_slice(self.as_slice());
        copy
    }
}

impl<T: Pod> Deref for HugeBuffer<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: Pod> DerefMut for HugeBuffer<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.as_mut_slice()
    }
}

impl<T: Pod> fmt::Debug for HugeBuffer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HugeBuffer")
            .field("len", &self.len())
            .field("mapped", &self.is_mapped())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Elements of `T` in `bytes` bytes.
    fn elems<T>(bytes: usize) -> usize {
        bytes / std::mem::size_of::<T>()
    }

    #[test]
    fn small_buffers_are_vectors_and_large_ones_maps() {
        assert!(!HugeBuffer::<u64>::zeroed(elems::<u64>(MAP_THRESHOLD) - 1).is_mapped());
        assert!(!HugeBuffer::<u32>::new().is_mapped());
        assert!(HugeBuffer::<u32>::new().is_empty());
        // Where the OS grants anonymous maps (every target this workspace
        // runs its tests on), a buffer at the threshold is one.
        #[cfg(unix)]
        assert!(HugeBuffer::<u64>::zeroed(elems::<u64>(MAP_THRESHOLD)).is_mapped());
    }

    #[test]
    fn maps_start_on_a_huge_page() {
        let buf = HugeBuffer::<[u64; 2]>::zeroed(elems::<[u64; 2]>(3 * HUGE_PAGE));
        #[cfg(unix)]
        assert!(buf.is_mapped());
        if buf.is_mapped() {
            assert_eq!(buf.as_ptr() as usize % HUGE_PAGE, 0);
        }
        assert_eq!(buf.len(), elems::<[u64; 2]>(3 * HUGE_PAGE));
    }

    #[test]
    fn zeroed_and_writable_on_both_sides_of_the_threshold() {
        for len in [
            0,
            1,
            1000,
            elems::<u32>(MAP_THRESHOLD) - 1,
            1 << 20,
            5 << 20,
        ] {
            let mut buf = HugeBuffer::<u32>::zeroed(len);
            assert_eq!(buf.len(), len);
            assert!(buf.iter().all(|&w| w == 0));
            if let Some(last) = buf.last_mut() {
                *last = 7;
            }
            if let Some(first) = buf.as_mut_slice().first_mut() {
                *first = 9;
            }
            if len > 1 {
                assert_eq!(buf.as_slice()[len - 1], 7);
                assert_eq!(buf[0], 9);
                assert_eq!(buf.iter().filter(|&&w| w != 0).count(), 2);
            }
        }
    }

    #[test]
    fn clones_are_equal_and_independent() {
        for len in [10, 1 << 18] {
            let mut a = HugeBuffer::<u64>::zeroed(len);
            for (i, x) in a.iter_mut().enumerate() {
                *x = i as u64 * 3;
            }
            let mut b = a.clone();
            assert_eq!(b.is_mapped(), a.is_mapped());
            assert_eq!(a.as_slice(), b.as_slice());
            b[1] = 0;
            assert_eq!(a[1], 3);
        }
    }

    proptest! {
        /// Any writes to a buffer read back like the same writes to a
        /// vector of zeroes.
        #[test]
        fn behaves_like_a_zeroed_vector(
            big in any::<bool>(),
            writes in proptest::collection::vec((any::<usize>(), any::<u64>()), 0..64),
        ) {
            let len = if big { elems::<u64>(MAP_THRESHOLD) + 17 } else { 300 };
            let mut buf = HugeBuffer::<u64>::zeroed(len);
            let mut model = vec![0u64; len];
            for (at, value) in writes {
                buf[at % len] = value;
                model[at % len] = value;
            }
            prop_assert_eq!(buf.as_slice(), &model[..]);
        }
    }
}

// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
