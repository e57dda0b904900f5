//! The calling CPU: its index, its MPIDR, waiting and stopping.

use aarch64_cpu::asm;
use aarch64_cpu::registers::{MPIDR_EL1, TPIDR_EL2};
use tock_registers::interfaces::{Readable, Writeable};

/// Records the calling CPU's index (kept in TPIDR_EL2).
pub fn set_index(index: usize) {
    TPIDR_EL2.set(index as u64);
}

/// The calling CPU's index, as recorded by `set_index`.
#[must_use]
pub fn index() -> usize {
    TPIDR_EL2.get() as usize
}

/// The calling CPU's MPIDR_EL1.
#[must_use]
pub fn mpidr() -> u64 {
    MPIDR_EL1.get()
}

/// Unmasks IRQs on the calling CPU.
pub fn enable_interrupts() {
    // SAFETY: unmasking IRQs only lets the installed vectors run; they are set up before this.
    unsafe { core::arch::asm!("msr daifclr, #2", options(nomem, nostack)) };
}

/// Masks IRQs on the calling CPU.
pub fn disable_interrupts() {
    // SAFETY: masking interrupts has no memory-safety effect.
    unsafe { core::arch::asm!("msr daifset, #2", options(nomem, nostack)) };
}

/// Waits for an interrupt (the CPU idles until one is pending).
pub fn wait_for_interrupt() {
    asm::wfi();
}

/// Stops the calling CPU for good: interrupts masked, waiting forever. Other CPUs carry on.
pub fn stop() -> ! {
    disable_interrupts();
    loop {
        asm::wfe();
    }
}
