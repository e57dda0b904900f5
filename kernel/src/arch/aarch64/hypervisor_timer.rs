//! The EL2 physical timer (CNTHP), which gives every CPU its scheduling tick.

use aarch64_cpu::registers::{CNTFRQ_EL0, CNTHP_CTL_EL2};
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
