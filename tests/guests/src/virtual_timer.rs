//! The EL1 virtual timer (CNTV_CTL_EL0, CNTV_CVAL_EL0), which interrupts as PPI 27.

use aarch64_cpu::registers::{CNTV_CTL_EL0, CNTV_CVAL_EL0, Readable, Writeable};

/// INTID of the virtual timer interrupt (PPI 11).
pub const INTID: u32 = 27;

/// Sets the compare value to `deadline` (counter ticks) and enables the timer with its interrupt
/// unmasked: it asserts PPI 27 while CNTVCT_EL0 ≥ `deadline`.
pub fn arm_at(deadline: u64) {
    CNTV_CVAL_EL0.set(deadline);
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::SET + CNTV_CTL_EL0::IMASK::CLEAR);
}

/// Moves the compare value to `deadline` without changing the enable and mask bits.
pub fn set_deadline(deadline: u64) {
    CNTV_CVAL_EL0.set(deadline);
}

/// The current compare value.
#[must_use]
pub fn deadline() -> u64 {
    CNTV_CVAL_EL0.get()
}

/// Disables the timer and masks its interrupt.
pub fn disable() {
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR + CNTV_CTL_EL0::IMASK::SET);
}

/// Whether the timer is enabled and its condition is met (CNTV_CTL_EL0.ISTATUS).
#[must_use]
pub fn condition_met() -> bool {
    let control = CNTV_CTL_EL0.extract();
    control.is_set(CNTV_CTL_EL0::ENABLE) && control.is_set(CNTV_CTL_EL0::ISTATUS)
}
