//! Stage-2 translation: building a domain's tables from a static pool and the EL2 controls
//! (VTCR_EL2) shared by all domains.

use core::ptr::addr_of_mut;

use spin::Mutex;

use crate::memory_map::{LEVEL2_BLOCK_SIZE, TranslationTable};
use crate::stage2_tables::{
    GUEST_ADDRESS_BITS, PAGE_SIZE, Stage2Kind, block_descriptor, is_table, level1_index, level2_index, level3_index,
    page_descriptor, table_address, table_descriptor,
};

/// Translation tables available to all domains together.
const TABLE_POOL_SIZE: usize = 64;

static mut TABLE_POOL: [TranslationTable; TABLE_POOL_SIZE] = [TranslationTable::EMPTY; TABLE_POOL_SIZE];
static TABLES_USED: Mutex<usize> = Mutex::new(0);

/// Why a mapping could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage2Error {
    /// The table pool is exhausted.
    OutOfTables,
    /// An address or size is not aligned to the granule asked for.
    Misaligned,
    /// The guest address is beyond the guest physical address space.
    OutOfRange,
}

fn allocate_table() -> Result<u64, Stage2Error> {
    let mut used = TABLES_USED.lock();
    if *used >= TABLE_POOL_SIZE {
        return Err(Stage2Error::OutOfTables);
    }
    // SAFETY: entry `*used` has never been handed out; the lock makes the index unique.
    let table = unsafe { &mut *addr_of_mut!(TABLE_POOL[*used]) };
    *used += 1;
    *table = TranslationTable::EMPTY;
    Ok(core::ptr::from_mut(table) as u64)
}

fn table_at(address: u64) -> &'static mut TranslationTable {
    // SAFETY: every table address comes from `allocate_table` (identity-mapped pool memory) and
    // each domain's tables are only written while it is being built, by one CPU.
    unsafe { &mut *(address as *mut TranslationTable) }
}

fn next_table(entry: &mut u64) -> Result<u64, Stage2Error> {
    if !is_table(*entry) {
        *entry = table_descriptor(allocate_table()?);
    }
    Ok(table_address(*entry))
}

/// One domain's stage-2 translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stage2 {
    root: u64,
}

impl Stage2 {
    /// An empty translation (nothing mapped).
    pub fn new() -> Result<Self, Stage2Error> {
        Ok(Self { root: allocate_table()? })
    }

    /// Maps `size` bytes of guest RAM at `guest` to host memory at `host`, in 2 MiB blocks.
    pub fn map_ram(&self, guest: u64, host: u64, size: u64) -> Result<(), Stage2Error> {
        if !(guest | host | size).is_multiple_of(LEVEL2_BLOCK_SIZE) {
            return Err(Stage2Error::Misaligned);
        }
        for offset in (0..size).step_by(LEVEL2_BLOCK_SIZE as usize) {
            let address = guest + offset;
            if address >> GUEST_ADDRESS_BITS != 0 {
                return Err(Stage2Error::OutOfRange);
            }
            let level2 = next_table(&mut table_at(self.root).0[level1_index(address)])?;
            table_at(level2).0[level2_index(address)] = block_descriptor(host + offset, Stage2Kind::Ram);
        }
        Ok(())
    }

    /// Maps one 4 KiB device frame at `guest` to the host frame at `host`.
    pub fn map_device_page(&self, guest: u64, host: u64) -> Result<(), Stage2Error> {
        if !(guest | host).is_multiple_of(PAGE_SIZE) {
            return Err(Stage2Error::Misaligned);
        }
        if guest >> GUEST_ADDRESS_BITS != 0 {
            return Err(Stage2Error::OutOfRange);
        }
        let level2 = next_table(&mut table_at(self.root).0[level1_index(guest)])?;
        let level3 = next_table(&mut table_at(level2).0[level2_index(guest)])?;
        table_at(level3).0[level3_index(guest)] = page_descriptor(host, Stage2Kind::Device);
        Ok(())
    }

    /// VTTBR_EL2 for this translation with `vmid`.
    #[must_use]
    pub const fn vttbr(&self, vmid: u8) -> u64 {
        ((vmid as u64) << 48) | self.root
    }
}

/// Sets VTCR_EL2 on the calling CPU: 39-bit guest physical space, walk from level 1, 4 KiB
/// granule, inner-shareable write-back walks, 40-bit output.
pub fn configure_this_cpu() {
    const RES1: u64 = 1 << 31;
    let control = RES1
        | (2 << 16) // PS: 40-bit physical addresses
        | (0b11 << 12) // SH0: inner shareable
        | (0b01 << 10) // ORGN0: write-back
        | (0b01 << 8) // IRGN0: write-back
        | (0b01 << 6) // SL0: start at level 1
        | u64::from(64 - GUEST_ADDRESS_BITS); // T0SZ
    // SAFETY: VTCR_EL2 only affects stage-2 translation of EL1/EL0, which is not running.
    unsafe { core::arch::asm!("msr vtcr_el2, {}", "isb", in(reg) control, options(nostack)) };
}

/// Invalidates every stage-1 and stage-2 TLB entry of the VMID in `vttbr`, on all CPUs, and
/// puts the calling CPU's VTTBR_EL2 back as it was.
pub fn invalidate_vmid(vttbr: u64) {
    // SAFETY: VTTBR_EL2 only matters while a guest runs, and it is restored before returning;
    // TLB maintenance only drops cached translations.
    unsafe {
        core::arch::asm!(
            "mrs {saved}, vttbr_el2",
            "msr vttbr_el2, {vttbr}",
            "isb",
            "dsb ishst",
            "tlbi vmalls12e1is",
            "dsb ish",
            "msr vttbr_el2, {saved}",
            "isb",
            saved = out(reg) _,
            vttbr = in(reg) vttbr,
            options(nostack),
        );
    }
}
