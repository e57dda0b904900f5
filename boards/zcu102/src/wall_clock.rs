//! The wall-clock time at boot, read once from the ZynqMP's RTC so that guests' virtual RTCs
//! show the real date.

/// The ZynqMP RTC's current-time register (seconds), identity-mapped as device memory at EL2.
const CURRENT_TIME: usize = 0xFFA6_0010;

/// Seconds since 1970 now (0 on a board whose RTC was never set).
pub fn seconds() -> u32 {
    // SAFETY: the ZynqMP has its RTC at this address in every configuration; EL2 maps everything
    // outside RAM as device memory, and reading the current time has no side effect.
    unsafe { core::ptr::read_volatile(CURRENT_TIME as *const u32) }
}
