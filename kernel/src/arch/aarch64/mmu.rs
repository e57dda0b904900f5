//! Turns on the EL2 MMU and caches with the identity map from `memory_map`.

use core::ptr::addr_of_mut;

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{ID_AA64MMFR0_EL1, MAIR_EL2, SCTLR_EL2, TCR_EL2, TTBR0_EL2};
use tock_registers::interfaces::{Readable, Writeable};

use crate::memory_map::{
    ADDRESS_BITS, El2TranslationTables, FINE_GRAINED_GIGABYTES, MAIR_EL2_VALUE, MemoryKind, overlaps,
};
use crate::platform::PlatformInfo;

/// Bits 31 and 23 of TCR_EL2 are RES1 when HCR_EL2.E2H is 0.
const TCR_EL2_RES1: u64 = (1 << 31) | (1 << 23);
/// RES1 bits of SCTLR_EL2 when HCR_EL2.E2H is 0 (4, 5, 11, 16, 18, 22, 23, 28, 29).
const SCTLR_EL2_RES1: u64 = 0x30C5_0830;

static mut TABLES: El2TranslationTables = El2TranslationTables::EMPTY;

unsafe extern "C" {
    static __image_start: u8;
    static __image_end: u8;
}

/// The physical range the hypervisor image (code, data, stacks) occupies.
#[must_use]
pub fn image_range() -> (u64, u64) {
    // Only the addresses of the linker symbols are taken, never their contents.
    (&raw const __image_start as u64, &raw const __image_end as u64)
}

/// Fills the translation tables for `platform`. Boot CPU only, before any CPU enables its MMU.
///
/// # Safety
/// No CPU may be using the tables (MMU on) while they are rewritten.
pub unsafe fn build_tables(platform: &PlatformInfo) {
    let (image_start, image_end) = image_range();
    // SAFETY: the caller guarantees exclusive access to the tables.
    let tables = unsafe { &mut *addr_of_mut!(TABLES) };
    let mut level2_addresses = [0; FINE_GRAINED_GIGABYTES];
    for (address, table) in level2_addresses.iter_mut().zip(tables.level2.iter()) {
        *address = core::ptr::from_ref(table) as u64;
    }
    tables.build_identity_map(level2_addresses, |base, size| {
        let in_ram = platform.ram_regions().iter().any(|region| overlaps(base, size, region.base.0, region.end()));
        if in_ram || overlaps(base, size, image_start, image_end) { MemoryKind::Normal } else { MemoryKind::Device }
    });
    // The tables were written with the MMU (and so the data cache) off; make sure no stale line
    // of them stays in a cache the table walker might look at.
    let start = core::ptr::from_ref(tables) as usize;
    let end = start + core::mem::size_of::<El2TranslationTables>();
    for line in (start..end).step_by(64) {
        // SAFETY: cleaning and invalidating a cache line by address has no memory-safety effect.
        unsafe { core::arch::asm!("dc civac, {}", in(reg) line, options(nostack)) };
    }
    barrier::dsb(barrier::SY);
}

/// Turns on translation and caches on the calling CPU.
///
/// # Safety
/// `build_tables` must have run; the identity map keeps the running code and stack in place.
pub unsafe fn enable() {
    let physical_address_size = ID_AA64MMFR0_EL1.read(ID_AA64MMFR0_EL1::PARange).min(2);
    MAIR_EL2.set(MAIR_EL2_VALUE);
    let translation_control = TCR_EL2::T0SZ.val(u64::from(64 - ADDRESS_BITS))
        + TCR_EL2::IRGN0::WriteBack_ReadAlloc_WriteAlloc_Cacheable
        + TCR_EL2::ORGN0::WriteBack_ReadAlloc_WriteAlloc_Cacheable
        + TCR_EL2::SH0::Inner
        + TCR_EL2::TG0::KiB_4
        + TCR_EL2::PS.val(physical_address_size);
    TCR_EL2.set(translation_control.value | TCR_EL2_RES1);
    // SAFETY: only the address of the tables is taken.
    let root = unsafe { &raw const TABLES.level1 } as u64;
    TTBR0_EL2.set_baddr(root);
    barrier::isb(barrier::SY);
    // SAFETY: invalidating EL2 TLB entries and the instruction cache only drops cached state.
    unsafe {
        core::arch::asm!("tlbi alle2", "dsb nsh", "ic iallu", "dsb nsh", "isb", options(nostack));
    }
    let system_control =
        SCTLR_EL2::M::Enable + SCTLR_EL2::C::Cacheable + SCTLR_EL2::I::Cacheable + SCTLR_EL2::SA::Enable;
    SCTLR_EL2.set(system_control.value | SCTLR_EL2_RES1);
    barrier::isb(barrier::SY);
}
