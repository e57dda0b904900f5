//! The EL2 physical timer (CNTHP), which gives every CPU its scheduling tick.

use aarch64_cpu::registers::{CNTFRQ_EL0, CNTHP_CTL_EL2, CNTPCT_EL0};
use tock_registers::interfaces::{Readable, Writeable};

use super::sysregs::CNTHP_TVAL_EL2;

/// Ticks per second.
pub const TICK_HZ: u64 = 1000;

/// Counter ticks between two timer interrupts.
fn period() -> u64 {
    (CNTFRQ_EL0.get() / TICK_HZ).max(1)
}

/// Starts the periodic tick on the calling CPU.
pub fn start() {
    CNTHP_TVAL_EL2.set(period());
    CNTHP_CTL_EL2.write(CNTHP_CTL_EL2::ENABLE::SET + CNTHP_CTL_EL2::IMASK::CLEAR);
}

/// Re-arms the timer for the next tick; call from its interrupt handler.
pub fn rearm() {
    CNTHP_TVAL_EL2.set(period());
}

/// The physical counter now.
#[must_use]
pub fn now() -> u64 {
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
    CNTPCT_EL0.get()
}

/// The hypervisor's monotonic clock in nanoseconds (the physical counter, scaled).
#[must_use]
pub fn now_ns() -> u64 {
    let frequency = CNTFRQ_EL0.get().max(1);
    (u128::from(now()) * 1_000_000_000 / u128::from(frequency)) as u64
}

/// The counter frequency in Hz.
#[must_use]
pub fn frequency() -> u64 {
    CNTFRQ_EL0.get()
}
