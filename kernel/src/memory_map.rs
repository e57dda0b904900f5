//! The hypervisor's own EL2 translation tables: an identity map, Normal cacheable memory for RAM
//! and Device memory for everything else. Pure encoding logic, so it is tested on the host.
//!
//! Layout (4 KiB granule, 39-bit addresses, walk starting at level 1): the first 4 GiB use 2 MiB
//! blocks from four level-2 tables, so RAM and devices sharing a gigabyte get the right attributes;
//! the rest of the 512 GiB space uses 1 GiB blocks.

/// Entries in one translation table.
pub const ENTRIES_PER_TABLE: usize = 512;
/// Bytes covered by a level-1 block.
pub const LEVEL1_BLOCK_SIZE: u64 = 1 << 30;
/// Bytes covered by a level-2 block.
pub const LEVEL2_BLOCK_SIZE: u64 = 1 << 21;
/// Level-1 entries that are split into 2 MiB blocks.
pub const FINE_GRAINED_GIGABYTES: usize = 4;
/// Size of the input address space (TCR_EL2.T0SZ = 64 - this).
pub const ADDRESS_BITS: u32 = 39;

/// MAIR_EL2 index of Device-nGnRE memory.
pub const MAIR_INDEX_DEVICE: u64 = 0;
/// MAIR_EL2 index of Normal write-back cacheable memory.
pub const MAIR_INDEX_NORMAL: u64 = 1;
/// MAIR_EL2 value matching the two indices above.
pub const MAIR_EL2_VALUE: u64 = 0x04 | (0xFF << 8);

const DESCRIPTOR_VALID: u64 = 1 << 0;
const DESCRIPTOR_TABLE: u64 = 1 << 1;
const ATTRIBUTE_INDEX_SHIFT: u64 = 2;
/// AP[1] is RES1 in the single-privilege EL2 regime; AP[2] = 0 keeps the block writable.
const ACCESS_PERMISSION_RES1: u64 = 1 << 6;
const SHAREABILITY_INNER: u64 = 0b11 << 8;
const ACCESS_FLAG: u64 = 1 << 10;
const EXECUTE_NEVER: u64 = 1 << 54;
const OUTPUT_ADDRESS_MASK: u64 = 0x0000_FFFF_FFFF_F000;

/// How a block of the address space is mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryKind {
    /// Device-nGnRE, never executable.
    Device,
    /// Normal, inner-shareable, write-back cacheable, executable.
    Normal,
}

/// Encodes a level-1 or level-2 block descriptor mapping `address` as `kind`.
#[must_use]
pub const fn block_descriptor(address: u64, kind: MemoryKind) -> u64 {
    let common = DESCRIPTOR_VALID | ACCESS_PERMISSION_RES1 | ACCESS_FLAG | (address & OUTPUT_ADDRESS_MASK);
    match kind {
        MemoryKind::Device => common | (MAIR_INDEX_DEVICE << ATTRIBUTE_INDEX_SHIFT) | EXECUTE_NEVER,
        MemoryKind::Normal => common | (MAIR_INDEX_NORMAL << ATTRIBUTE_INDEX_SHIFT) | SHAREABILITY_INNER,
    }
}

/// Encodes a table descriptor pointing at the next-level table at `table_address`.
#[must_use]
pub const fn table_descriptor(table_address: u64) -> u64 {
    DESCRIPTOR_VALID | DESCRIPTOR_TABLE | (table_address & OUTPUT_ADDRESS_MASK)
}

/// One 4 KiB-aligned translation table.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(4096))]
pub struct TranslationTable(pub [u64; ENTRIES_PER_TABLE]);

impl TranslationTable {
    /// A table with every entry invalid.
    pub const EMPTY: Self = Self([0; ENTRIES_PER_TABLE]);
}

/// The complete set of EL2 tables: one level-1 table and the level-2 tables for the first 4 GiB.
#[derive(Debug)]
#[repr(C)]
pub struct El2TranslationTables {
    /// The root (level 1) table, whose address goes into TTBR0_EL2.
    pub level1: TranslationTable,
    /// Level-2 tables for gigabytes 0..4.
    pub level2: [TranslationTable; FINE_GRAINED_GIGABYTES],
}

impl El2TranslationTables {
    /// Tables with nothing mapped.
    pub const EMPTY: Self =
        Self { level1: TranslationTable::EMPTY, level2: [TranslationTable::EMPTY; FINE_GRAINED_GIGABYTES] };

    /// Fills the tables with an identity map of the whole 512 GiB space.
    ///
    /// `level2_addresses[i]` is the physical address of `self.level2[i]`; `kind_of(base, size)`
    /// chooses the attributes of each block.
    pub fn build_identity_map(
        &mut self,
        level2_addresses: [u64; FINE_GRAINED_GIGABYTES],
        kind_of: impl Fn(u64, u64) -> MemoryKind,
    ) {
        for (gigabyte, entry) in self.level1.0.iter_mut().enumerate() {
            let base = gigabyte as u64 * LEVEL1_BLOCK_SIZE;
            if gigabyte < FINE_GRAINED_GIGABYTES {
                for (index, level2_entry) in self.level2[gigabyte].0.iter_mut().enumerate() {
                    let block = base + index as u64 * LEVEL2_BLOCK_SIZE;
                    *level2_entry = block_descriptor(block, kind_of(block, LEVEL2_BLOCK_SIZE));
                }
                *entry = table_descriptor(level2_addresses[gigabyte]);
            } else {
                *entry = block_descriptor(base, kind_of(base, LEVEL1_BLOCK_SIZE));
            }
        }
    }
}

/// Whether the range `[base, base + size)` overlaps `[start, end)`.
#[must_use]
pub const fn overlaps(base: u64, size: u64, start: u64, end: u64) -> bool {
    base < end && start < base.saturating_add(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_block_encoding() {
        let descriptor = block_descriptor(0x4000_0000, MemoryKind::Normal);
        assert_eq!(descriptor & 0b11, 0b01, "block, valid");
        assert_eq!((descriptor >> 2) & 0b111, MAIR_INDEX_NORMAL);
        assert_eq!((descriptor >> 8) & 0b11, 0b11, "inner shareable");
        assert_ne!(descriptor & ACCESS_FLAG, 0);
        assert_eq!(descriptor & EXECUTE_NEVER, 0);
        assert_eq!(descriptor & OUTPUT_ADDRESS_MASK, 0x4000_0000);
        assert_eq!((descriptor >> 7) & 1, 0, "writable");
    }

    #[test]
    fn device_block_is_never_executable() {
        let descriptor = block_descriptor(0x0900_0000, MemoryKind::Device);
        assert_eq!((descriptor >> 2) & 0b111, MAIR_INDEX_DEVICE);
        assert_ne!(descriptor & EXECUTE_NEVER, 0);
    }

    #[test]
    fn table_descriptor_encoding() {
        assert_eq!(table_descriptor(0x4021_3000), 0x4021_3003);
    }

    #[test]
    fn mair_matches_indices() {
        assert_eq!((MAIR_EL2_VALUE >> (8 * MAIR_INDEX_DEVICE)) & 0xFF, 0x04);
        assert_eq!((MAIR_EL2_VALUE >> (8 * MAIR_INDEX_NORMAL)) & 0xFF, 0xFF);
    }

    #[test]
    fn identity_map_splits_ram_and_devices() {
        let mut tables = Box::new(El2TranslationTables::EMPTY);
        let ram = (0x4000_0000_u64, 0x8000_0000_u64);
        tables.build_identity_map([0x1000, 0x2000, 0x3000, 0x4000], |base, size| {
            if overlaps(base, size, ram.0, ram.1) { MemoryKind::Normal } else { MemoryKind::Device }
        });
        assert_eq!(tables.level1.0[0], table_descriptor(0x1000));
        assert_eq!(tables.level1.0[3], table_descriptor(0x4000));
        // UART at 0x0900_0000 lies in gigabyte 0, 2 MiB block 72.
        assert_eq!(tables.level2[0].0[72], block_descriptor(0x0900_0000, MemoryKind::Device));
        assert_eq!(tables.level2[1].0[0], block_descriptor(0x4000_0000, MemoryKind::Normal));
        assert_eq!(tables.level2[2].0[0], block_descriptor(0x8000_0000, MemoryKind::Device));
        assert_eq!(tables.level1.0[4], block_descriptor(4 << 30, MemoryKind::Device));
        assert_eq!(tables.level1.0[511], block_descriptor(511 << 30, MemoryKind::Device));
    }

    #[test]
    fn overlap_edges() {
        assert!(overlaps(0, 10, 9, 20));
        assert!(!overlaps(0, 10, 10, 20));
        assert!(!overlaps(20, 10, 10, 20));
        assert!(overlaps(u64::MAX - 1, 10, 0, u64::MAX));
    }
}
