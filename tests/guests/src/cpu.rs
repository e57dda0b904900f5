//! The running vCPU: its identity, exception level, interrupt masks and idling.

use aarch64_cpu::asm;
use aarch64_cpu::registers::{CNTV_CTL_EL0, CurrentEL, DAIF, MPIDR_EL1, ReadWriteable, Readable, Writeable};

/// MPIDR_EL1 with the fields that identify a vCPU (Aff3, Aff2, Aff1, Aff0).
#[must_use]
pub fn mpidr() -> u64 {
    MPIDR_EL1.get() & 0xff_00ff_ffff
}

/// This vCPU's index: MPIDR_EL1 Aff0, which also selects its stack.
#[must_use]
pub fn index() -> usize {
    (MPIDR_EL1.get() & 0xff) as usize
}

/// The current exception level (1 for a guest).
#[must_use]
pub fn current_el() -> u64 {
    CurrentEL.read(CurrentEL::EL)
}

/// Unmasks IRQs and FIQs at PSTATE (DAIF.I and DAIF.F cleared).
pub fn unmask_interrupts() {
    DAIF.modify(DAIF::I::Unmasked + DAIF::F::Unmasked);
}

/// Masks IRQs and FIQs at PSTATE (DAIF.I and DAIF.F set).
pub fn mask_interrupts() {
    DAIF.modify(DAIF::I::Masked + DAIF::F::Masked);
}

/// Executes one WFI: waits until an interrupt is pending (or returns spuriously, as the
/// architecture allows).
pub fn wait_for_interrupt() {
    asm::wfi();
}

/// Stops this vCPU for good: masks every exception, disables the virtual timer so it cannot keep
/// waking the vCPU, and waits for interrupts forever.
pub fn idle() -> ! {
    DAIF.write(DAIF::D::Masked + DAIF::A::Masked + DAIF::I::Masked + DAIF::F::Masked);
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR + CNTV_CTL_EL0::IMASK::SET);
    loop {
        asm::wfi();
    }
}
