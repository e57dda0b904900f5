//! What the PSCI guests (`psci-functions`, `suspend-wake`, `suspend-cycles`, `psci-races`,
//! `system-reset`, `system-off`) share: raw PSCI calls with named return codes, the reset state a
//! vCPU must have at a PSCI entry point, and re-enabling the GIC CPU interface after a resume.
//!
//! Each guest includes this file with `#[path = "psci_support/mod.rs"] mod psci_support;` (a
//! directory without `main.rs`, so cargo does not take it for a guest of its own). Not every guest
//! uses every item.

#![allow(dead_code, reason = "each guest uses a different part of this module")]

use core::arch::asm;

use somnus_test_guests::aarch64_cpu::registers::{DAIF, Readable, SCTLR_EL1, TPIDR_EL1, Writeable};
use somnus_test_guests::conduit::Conduit;
use somnus_test_guests::gic::system_registers::{
    ICC_BPR1_EL1, ICC_CTLR_EL1, ICC_IGRPEN1_EL1, ICC_PMR_EL1, ICC_SRE_EL1,
};
use somnus_test_guests::gic::{self, CPU_INTERFACE_BASE, PRIORITY_MASK, Version};
use somnus_test_guests::smccc::psci;
use somnus_test_guests::{counter, cpu, fail, virtual_timer};

/// SMCCC_VERSION.
pub const SMCCC_VERSION: u32 = 0x8000_0000;
/// SMCCC_ARCH_FEATURES.
pub const SMCCC_ARCH_FEATURES: u32 = 0x8000_0001;
/// SMCCC_ARCH_WORKAROUND_1, which Somnus does not offer.
pub const SMCCC_ARCH_WORKAROUND_1: u32 = 0x8000_8000;
/// SYSTEM_OFF2 (PSCI 1.3), not implemented by a PSCI 1.1 service.
pub const PSCI_SYSTEM_OFF2_32: u32 = 0x8400_0015;
/// SYSTEM_OFF2, 64-bit form.
pub const PSCI_SYSTEM_OFF2_64: u32 = 0xC400_0015;

/// CPU_SUSPEND power_state (original format) for standby at power level 0.
pub const STANDBY: u64 = 0;
/// CPU_SUSPEND power_state (original format) for power-down (StateType, bit 16) at power level 0.
pub const POWER_DOWN: u64 = 1 << 16;

/// PSCI return codes as x0 values.
pub const SUCCESS: u64 = 0;
/// NOT_SUPPORTED.
pub const NOT_SUPPORTED: u64 = code(psci::error::NOT_SUPPORTED);
/// INVALID_PARAMETERS.
pub const INVALID_PARAMETERS: u64 = code(psci::error::INVALID_PARAMETERS);
/// DENIED.
pub const DENIED: u64 = code(psci::error::DENIED);
/// ALREADY_ON.
pub const ALREADY_ON: u64 = code(psci::error::ALREADY_ON);
/// INVALID_ADDRESS.
pub const INVALID_ADDRESS: u64 = code(psci::error::INVALID_ADDRESS);

/// AFFINITY_INFO: the affinity instance is on.
pub const AFFINITY_ON: u64 = 0;
/// AFFINITY_INFO: the affinity instance is off.
pub const AFFINITY_OFF: u64 = 1;

/// Garbage for the upper halves of SMC32/HVC32 arguments, which the callee must ignore.
pub const GARBAGE: u64 = 0xDEAD_BEEF_0000_0000;

const fn code(value: i32) -> u64 {
    (value as i64).cast_unsigned()
}

/// The name of a PSCI return code (or `value` for anything else, e.g. a version).
pub fn code_name(value: u64) -> &'static str {
    match value {
        SUCCESS => "SUCCESS",
        NOT_SUPPORTED => "NOT_SUPPORTED",
        INVALID_PARAMETERS => "INVALID_PARAMETERS",
        DENIED => "DENIED",
        ALREADY_ON => "ALREADY_ON",
        INVALID_ADDRESS => "INVALID_ADDRESS",
        _ => "value",
    }
}

/// Any SMCCC call, returning x0.
pub fn call(conduit: Conduit, function: u32, arguments: &[u64]) -> u64 {
    conduit.call_x0(function, arguments)
}

/// SYSTEM_SUSPEND (64-bit) with an explicit entry point.
pub fn system_suspend_at(conduit: Conduit, entry: u64, context_id: u64) -> u64 {
    call(conduit, psci::PSCI_SYSTEM_SUSPEND_64, &[entry, context_id])
}

/// CPU_SUSPEND (64-bit).
pub fn cpu_suspend(conduit: Conduit, power_state: u64, entry: u64, context_id: u64) -> u64 {
    call(conduit, psci::PSCI_CPU_SUSPEND_64, &[power_state, entry, context_id])
}

/// CPU_ON (64-bit) with an explicit entry point.
pub fn cpu_on_at(conduit: Conduit, target: u64, entry: u64, context_id: u64) -> u64 {
    call(conduit, psci::PSCI_CPU_ON_64, &[target, entry, context_id])
}

/// AFFINITY_INFO (64-bit) of vCPU `target` at level 0.
pub fn affinity(target: usize) -> u64 {
    call(Conduit::Hvc, psci::PSCI_AFFINITY_INFO_64, &[target as u64, 0])
}

/// Bits of SCTLR_EL1 that a reset must clear: M (MMU), A (alignment check), C (data cache),
/// I (instruction cache), E0E and EE (endianness).
const SCTLR_MUST_BE_CLEAR: u64 = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 12) | (1 << 24) | (1 << 25);
/// SCTLR_EL1.C and SCTLR_EL1.I, which a guest may set with its MMU off.
const SCTLR_CACHES: u64 = (1 << 2) | (1 << 12);
/// DAIF with D, A, I and F masked.
const DAIF_ALL_MASKED: u64 = 0b1111 << 6;
/// What [`leave_traces`] writes to TPIDR_EL1.
const TPIDR_TRACE: u64 = 0x7E57_0000_0000_0001;

/// Leaves state a reset must clear: SCTLR_EL1.C and .I set, TPIDR_EL1 non-zero. Called just before a
/// call that resumes at an entry point.
pub fn leave_traces() {
    SCTLR_EL1.set(SCTLR_EL1.get() | SCTLR_CACHES);
    TPIDR_EL1.set(TPIDR_TRACE);
    // SAFETY: an instruction barrier only orders the system register writes above.
    unsafe { asm!("isb", options(nomem, nostack, preserves_flags)) };
}

/// The state a vCPU found at a PSCI entry point.
#[derive(Clone, Copy, Debug)]
pub struct EntryState {
    /// DAIF.
    pub daif: u64,
    /// SCTLR_EL1.
    pub sctlr: u64,
    /// TPIDR_EL1.
    pub tpidr: u64,
    /// CNTV_CTL_EL0.
    pub timer_control: u64,
}

impl EntryState {
    /// Reads the state; call first thing in a warm handler.
    pub fn read() -> Self {
        let timer_control: u64;
        // SAFETY: reading CNTV_CTL_EL0 touches no memory.
        unsafe { asm!("mrs {}, cntv_ctl_el0", out(reg) timer_control, options(nomem, nostack, preserves_flags)) };
        Self { daif: DAIF.get(), sctlr: SCTLR_EL1.get(), tpidr: TPIDR_EL1.get(), timer_control }
    }

    /// Fails the test unless the vCPU is in the reset state PSCI asks for at an entry point: DAIF all
    /// masked, SCTLR_EL1 with MMU, caches and alignment checks off and little endian, and, as Somnus
    /// resets every other register, TPIDR_EL1 zero. `what` names the entry in the failure.
    pub fn check(&self, what: &str) {
        if self.daif != DAIF_ALL_MASKED {
            fail!("{what}: DAIF = {:#x} at the entry point, expected {DAIF_ALL_MASKED:#x}", self.daif);
        }
        if self.sctlr & SCTLR_MUST_BE_CLEAR != 0 {
            fail!("{what}: SCTLR_EL1 = {:#x} at the entry point (MMU, caches or alignment checks on)", self.sctlr);
        }
        if self.tpidr != 0 {
            fail!("{what}: TPIDR_EL1 = {:#x} at the entry point, expected it reset to 0", self.tpidr);
        }
    }
}

/// Re-enables this vCPU's GIC CPU interface after a power-down, which resets it like a real core's
/// (priority mask and group enable), as Linux does on resume; the distributor and redistributor
/// state is kept. Returns the priority mask found before, for the record.
pub fn reenable_cpu_interface() -> u64 {
    match gic::version() {
        Version::V2 => {
            let priority_mask = (CPU_INTERFACE_BASE + 4) as *mut u32;
            let control = CPU_INTERFACE_BASE as *mut u32;
            // SAFETY: on a GICv2 guest platform the CPU interface is at CPU_INTERFACE_BASE (device
            // memory); GICC_PMR is at offset 4 and GICC_CTLR at 0.
            unsafe {
                let before = priority_mask.read_volatile();
                priority_mask.write_volatile(u32::from(PRIORITY_MASK));
                control.write_volatile(1);
                u64::from(before)
            }
        }
        Version::V3 => {
            ICC_SRE_EL1.set(ICC_SRE_EL1.get() | 1);
            // SAFETY: an instruction barrier only orders the system register writes.
            unsafe { asm!("isb", options(nomem, nostack, preserves_flags)) };
            let before = ICC_PMR_EL1.get();
            ICC_PMR_EL1.set(u64::from(PRIORITY_MASK));
            ICC_BPR1_EL1.set(0);
            ICC_CTLR_EL1.set(0);
            ICC_IGRPEN1_EL1.set(1);
            // SAFETY: as above.
            unsafe { asm!("isb", options(nomem, nostack, preserves_flags)) };
            before
        }
    }
}

/// Arms the virtual timer `micros` from now (0: its condition is already met).
pub fn arm_timer_in(micros: u64) -> u64 {
    let deadline = counter::now() + counter::ticks_from_micros(micros);
    virtual_timer::arm_at(deadline);
    deadline
}

/// Unmasks interrupts until `done()` holds or `micros` pass; returns whether it held.
pub fn unmasked_until(micros: u64, done: impl Fn() -> bool) -> bool {
    let timeout = counter::now() + counter::ticks_from_micros(micros);
    cpu::unmask_interrupts();
    let result = loop {
        if done() {
            break true;
        }
        if counter::now() > timeout {
            break done();
        }
        core::hint::spin_loop();
    };
    cpu::mask_interrupts();
    result
}

/// Busy-waits until `done()` holds or `micros` pass; returns whether it held.
pub fn wait_until(micros: u64, done: impl Fn() -> bool) -> bool {
    let timeout = counter::now() + counter::ticks_from_micros(micros);
    loop {
        if done() {
            return true;
        }
        if counter::now() > timeout {
            return done();
        }
        core::hint::spin_loop();
    }
}

/// Volatile 64-bit word in the guest's RAM (outside the image), for memory checks.
pub fn ram_word(address: u64) -> u64 {
    // SAFETY: callers pass an 8-byte aligned address inside the guest's RAM that no Rust object uses.
    unsafe { (address as *const u64).read_volatile() }
}

/// Writes a 64-bit word of the guest's RAM outside the image.
pub fn set_ram_word(address: u64, value: u64) {
    // SAFETY: as for `ram_word`.
    unsafe { (address as *mut u64).write_volatile(value) }
}
