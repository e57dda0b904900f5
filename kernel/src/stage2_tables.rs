//! Stage-2 (guest physical to host physical) translation-table encoding: 4 KiB granule, 39-bit
//! guest physical space, walks starting at level 1. Pure logic, tested on the host.

use crate::memory_map::{LEVEL1_BLOCK_SIZE, LEVEL2_BLOCK_SIZE};

/// Bits of guest physical address space (VTCR_EL2.T0SZ = 64 - this).
pub const GUEST_ADDRESS_BITS: u32 = 39;
/// Bytes of one stage-2 page.
pub const PAGE_SIZE: u64 = 4096;

const VALID: u64 = 1 << 0;
const TABLE_OR_PAGE: u64 = 1 << 1;
/// MemAttr[5:2] = 0b1111: Normal, outer and inner write-back cacheable.
const MEMORY_ATTRIBUTE_NORMAL: u64 = 0b1111 << 2;
/// MemAttr[5:2] = 0b0001: Device-nGnRE.
const MEMORY_ATTRIBUTE_DEVICE: u64 = 0b0001 << 2;
/// S2AP[7:6] = 0b11: read and write.
const ACCESS_READ_WRITE: u64 = 0b11 << 6;
const SHAREABILITY_INNER: u64 = 0b11 << 8;
const ACCESS_FLAG: u64 = 1 << 10;
const EXECUTE_NEVER: u64 = 1 << 54;
const OUTPUT_ADDRESS_MASK: u64 = 0x0000_FFFF_FFFF_F000;

/// How a guest physical range is backed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage2Kind {
    /// Guest RAM: Normal cacheable, executable.
    Ram,
    /// A passed-through device frame: Device-nGnRE, never executable.
    Device,
}

/// A level-1 or level-2 block descriptor mapping to `host_address`.
#[must_use]
pub const fn block_descriptor(host_address: u64, kind: Stage2Kind) -> u64 {
    leaf(host_address, kind) & !TABLE_OR_PAGE
}

/// A level-3 page descriptor mapping to `host_address`.
#[must_use]
pub const fn page_descriptor(host_address: u64, kind: Stage2Kind) -> u64 {
    leaf(host_address, kind) | TABLE_OR_PAGE
}

/// A table descriptor pointing at the next level's table.
#[must_use]
pub const fn table_descriptor(table_address: u64) -> u64 {
    VALID | TABLE_OR_PAGE | (table_address & OUTPUT_ADDRESS_MASK)
}

const fn leaf(host_address: u64, kind: Stage2Kind) -> u64 {
    let common = VALID | ACCESS_READ_WRITE | ACCESS_FLAG | (host_address & OUTPUT_ADDRESS_MASK);
    match kind {
        Stage2Kind::Ram => common | MEMORY_ATTRIBUTE_NORMAL | SHAREABILITY_INNER,
        Stage2Kind::Device => common | MEMORY_ATTRIBUTE_DEVICE | EXECUTE_NEVER,
    }
}

/// The entry of `address` in a level-1 table.
#[must_use]
pub const fn level1_index(address: u64) -> usize {
    ((address / LEVEL1_BLOCK_SIZE) & 0x1FF) as usize
}

/// The entry of `address` in a level-2 table.
#[must_use]
pub const fn level2_index(address: u64) -> usize {
    ((address / LEVEL2_BLOCK_SIZE) & 0x1FF) as usize
}

/// The entry of `address` in a level-3 table.
#[must_use]
pub const fn level3_index(address: u64) -> usize {
    ((address / PAGE_SIZE) & 0x1FF) as usize
}

/// Whether a descriptor is a valid table descriptor (at levels 1 and 2).
#[must_use]
pub const fn is_table(descriptor: u64) -> bool {
    descriptor & (VALID | TABLE_OR_PAGE) == VALID | TABLE_OR_PAGE
}

/// The next-level table address of a table descriptor.
#[must_use]
pub const fn table_address(descriptor: u64) -> u64 {
    descriptor & OUTPUT_ADDRESS_MASK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_block_encoding() {
        let descriptor = block_descriptor(0x4060_0000, Stage2Kind::Ram);
        assert_eq!(descriptor & 0b11, 0b01);
        assert_eq!((descriptor >> 2) & 0xF, 0b1111);
        assert_eq!((descriptor >> 6) & 0b11, 0b11);
        assert_ne!(descriptor & ACCESS_FLAG, 0);
        assert_eq!(descriptor & EXECUTE_NEVER, 0);
        assert_eq!(descriptor & OUTPUT_ADDRESS_MASK, 0x4060_0000);
    }

    #[test]
    fn device_page_encoding() {
        let descriptor = page_descriptor(0x0901_0000, Stage2Kind::Device);
        assert_eq!(descriptor & 0b11, 0b11);
        assert_eq!((descriptor >> 2) & 0xF, 0b0001);
        assert_ne!(descriptor & EXECUTE_NEVER, 0);
    }

    #[test]
    fn indices_and_tables() {
        assert_eq!(level1_index(0x4000_0000), 1);
        assert_eq!(level2_index(0x4060_0000), 3);
        assert_eq!(level3_index(0x0901_0000), 0x10);
        let table = table_descriptor(0x4030_1000);
        assert!(is_table(table));
        assert_eq!(table_address(table), 0x4030_1000);
        assert!(!is_table(block_descriptor(0, Stage2Kind::Ram)));
    }
}
