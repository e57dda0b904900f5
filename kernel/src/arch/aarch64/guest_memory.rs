//! Reading the loaded vCPU's memory through its own translation (stage 1 and stage 2), for the
//! rare cases the kernel must look at a guest instruction.

use crate::boot::platform;

/// The 32-bit instruction at guest virtual address `address` of the loaded vCPU, if it lies in
/// RAM the hypervisor can read.
#[must_use]
pub fn read_instruction(address: u64) -> Option<u32> {
    if !address.is_multiple_of(4) {
        return None;
    }
    let result: u64;
    // SAFETY: AT S12E1R only translates (with the loaded vCPU's stage 1 and stage 2) and writes
    // PAR_EL1, which is saved before and restored after; nothing in memory changes.
    unsafe {
        core::arch::asm!(
            "mrs {saved}, par_el1",
            "at s12e1r, {address}",
            "isb",
            "mrs {result}, par_el1",
            "msr par_el1, {saved}",
            saved = out(reg) _,
            result = out(reg) result,
            address = in(reg) address,
            options(nostack),
        );
    }
    if result & 1 != 0 {
        return None;
    }
    let physical = (result & 0x0000_FFFF_FFFF_F000) | (address & 0xFFF);
    if !platform().is_ram(physical) {
        return None;
    }
    // SAFETY: `physical` is 4-byte aligned RAM, identity-mapped as Normal memory at EL2; reading
    // a word of it has no side effect.
    Some(unsafe { core::ptr::read_volatile(physical as *const u32) })
}
