//! The calling CPU: its index, its MPIDR, waiting and stopping.

use aarch64_cpu::asm;
use aarch64_cpu::registers::MPIDR_EL1;
use tock_registers::interfaces::Readable;

use super::per_cpu;

/// Records the calling CPU's index and sets up its per-CPU data.
pub fn set_index(index: usize) {
    per_cpu::init(index);
}

/// The calling CPU's logical index (0 until `set_index`).
#[must_use]
pub fn index() -> usize {
    per_cpu::index()
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

/// Masks IRQs and returns the previous DAIF value for `restore_interrupts`.
#[must_use]
pub fn save_and_mask_interrupts() -> u64 {
    let saved: u64;
    // SAFETY: reading DAIF and masking IRQs has no memory-safety effect.
    unsafe { core::arch::asm!("mrs {}, daif", "msr daifset, #2", out(reg) saved, options(nomem, nostack)) };
    saved
}

/// Restores DAIF as `save_and_mask_interrupts` found it.
pub fn restore_interrupts(saved: u64) {
    // SAFETY: restoring a DAIF value read earlier on this CPU.
    unsafe { core::arch::asm!("msr daif, {}", in(reg) saved, options(nomem, nostack)) };
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
