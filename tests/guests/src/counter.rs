//! The architected virtual counter (CNTVCT_EL0 at CNTFRQ_EL0 ticks per second) and busy waiting.

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{CNTFRQ_EL0, CNTVCT_EL0, Readable};

const MICROS_PER_SECOND: u64 = 1_000_000;

/// Current virtual counter value, in ticks; reads are ordered after earlier instructions.
#[must_use]
pub fn now() -> u64 {
    barrier::isb(barrier::SY);
    CNTVCT_EL0.get()
}

/// Counter frequency, in ticks per second.
#[must_use]
pub fn frequency() -> u64 {
    CNTFRQ_EL0.get() & 0xffff_ffff
}

/// Number of ticks in `micros` microseconds.
#[must_use]
pub fn ticks_from_micros(micros: u64) -> u64 {
    (u128::from(micros) * u128::from(frequency()) / u128::from(MICROS_PER_SECOND)) as u64
}

/// Number of whole microseconds in `ticks` ticks.
#[must_use]
pub fn micros_from_ticks(ticks: u64) -> u64 {
    (u128::from(ticks) * u128::from(MICROS_PER_SECOND) / u128::from(frequency().max(1))) as u64
}

/// Busy-waits until the counter reaches `deadline` (in ticks).
pub fn wait_until(deadline: u64) {
    while now() < deadline {
        core::hint::spin_loop();
    }
}

/// Busy-waits for `micros` microseconds of counter time.
pub fn delay_micros(micros: u64) {
    wait_until(now() + ticks_from_micros(micros));
}
