//! The wall-clock time at boot, read once from the machine's PL031 so that guests' virtual RTCs
//! show the real date.

/// The PL031's data register (seconds since 1970), identity-mapped as device memory at EL2.
const PL031_DATA: usize = 0x0901_0000;

/// Seconds since 1970 now.
pub fn seconds() -> u32 {
    // SAFETY: the QEMU `virt` machine always has a PL031 at this address; EL2 maps everything
    // outside RAM as device memory, and reading the data register has no side effect.
    unsafe { core::ptr::read_volatile(PL031_DATA as *const u32) }
}
