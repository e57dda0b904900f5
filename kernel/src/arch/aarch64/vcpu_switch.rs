//! Saving and restoring the parts of a vCPU that stay in the hardware while it runs: the EL1
//! system registers, FP/SIMD, the virtual timer, and its domain's stage-2 and identity registers.

use crate::vcpu_context::{El1SystemRegisters, FpRegisters};

macro_rules! save_registers {
    ($system:expr, $($field:ident),+) => {
        $(
            // SAFETY: reading an EL1 system register from EL2 has no side effect.
            unsafe { core::arch::asm!(concat!("mrs {}, ", stringify!($field)), out(reg) $system.$field, options(nomem, nostack)) };
        )+
    };
}

macro_rules! restore_registers {
    ($system:expr, $($field:ident),+) => {
        $(
            // SAFETY: the value belongs to the vCPU being loaded; EL1 registers do not affect EL2.
            unsafe { core::arch::asm!(concat!("msr ", stringify!($field), ", {}"), in(reg) $system.$field, options(nomem, nostack)) };
        )+
    };
}

/// Saves the calling CPU's EL1 state into `system` and `fp`; stops the virtual timer so it
/// cannot fire for the next vCPU.
pub fn save(system: &mut El1SystemRegisters, fp: &mut FpRegisters) {
    save_registers!(
        system,
        sctlr_el1,
        actlr_el1,
        cpacr_el1,
        ttbr0_el1,
        ttbr1_el1,
        tcr_el1,
        mair_el1,
        amair_el1,
        vbar_el1,
        contextidr_el1,
        tpidr_el0,
        tpidrro_el0,
        tpidr_el1,
        esr_el1,
        far_el1,
        afsr0_el1,
        afsr1_el1,
        par_el1,
        cntkctl_el1,
        csselr_el1,
        sp_el0,
        sp_el1,
        elr_el1,
        spsr_el1,
        cntv_ctl_el0,
        cntv_cval_el0
    );
    // SAFETY: disabling the virtual timer only affects the vCPU being switched out, whose
    // control value was saved above.
    unsafe { core::arch::asm!("msr cntv_ctl_el0, xzr", options(nomem, nostack)) };
    // SAFETY: stores 32 × 16 bytes plus two words into `fp`, which is large enough and aligned.
    unsafe {
        core::arch::asm!(
            ".arch_extension fp",
            ".arch_extension simd",
            "stp q0, q1, [{base}, #0]",
            "stp q2, q3, [{base}, #32]",
            "stp q4, q5, [{base}, #64]",
            "stp q6, q7, [{base}, #96]",
            "stp q8, q9, [{base}, #128]",
            "stp q10, q11, [{base}, #160]",
            "stp q12, q13, [{base}, #192]",
            "stp q14, q15, [{base}, #224]",
            "stp q16, q17, [{base}, #256]",
            "stp q18, q19, [{base}, #288]",
            "stp q20, q21, [{base}, #320]",
            "stp q22, q23, [{base}, #352]",
            "stp q24, q25, [{base}, #384]",
            "stp q26, q27, [{base}, #416]",
            "stp q28, q29, [{base}, #448]",
            "stp q30, q31, [{base}, #480]",
            "mrs {scratch}, fpcr",
            "str {scratch}, [{base}, #512]",
            "mrs {scratch}, fpsr",
            "str {scratch}, [{base}, #520]",
            base = in(reg) core::ptr::from_mut(fp),
            scratch = out(reg) _,
            options(nostack),
        );
    }
}

/// Loads `system` and `fp` into the calling CPU's EL1 state.
pub fn restore(system: &El1SystemRegisters, fp: &FpRegisters) {
    restore_registers!(
        system,
        sctlr_el1,
        actlr_el1,
        cpacr_el1,
        ttbr0_el1,
        ttbr1_el1,
        tcr_el1,
        mair_el1,
        amair_el1,
        vbar_el1,
        contextidr_el1,
        tpidr_el0,
        tpidrro_el0,
        tpidr_el1,
        esr_el1,
        far_el1,
        afsr0_el1,
        afsr1_el1,
        par_el1,
        cntkctl_el1,
        csselr_el1,
        sp_el0,
        sp_el1,
        elr_el1,
        spsr_el1,
        cntv_cval_el0,
        cntv_ctl_el0
    );
    // SAFETY: loads 32 × 16 bytes plus two words from `fp`, which is large enough and aligned;
    // the FP/SIMD registers belong to the vCPU being loaded (EL2 never uses them).
    unsafe {
        core::arch::asm!(
            ".arch_extension fp",
            ".arch_extension simd",
            "ldp q0, q1, [{base}, #0]",
            "ldp q2, q3, [{base}, #32]",
            "ldp q4, q5, [{base}, #64]",
            "ldp q6, q7, [{base}, #96]",
            "ldp q8, q9, [{base}, #128]",
            "ldp q10, q11, [{base}, #160]",
            "ldp q12, q13, [{base}, #192]",
            "ldp q14, q15, [{base}, #224]",
            "ldp q16, q17, [{base}, #256]",
            "ldp q18, q19, [{base}, #288]",
            "ldp q20, q21, [{base}, #320]",
            "ldp q22, q23, [{base}, #352]",
            "ldp q24, q25, [{base}, #384]",
            "ldp q26, q27, [{base}, #416]",
            "ldp q28, q29, [{base}, #448]",
            "ldp q30, q31, [{base}, #480]",
            "ldr {scratch}, [{base}, #512]",
            "msr fpcr, {scratch}",
            "ldr {scratch}, [{base}, #520]",
            "msr fpsr, {scratch}",
            base = in(reg) core::ptr::from_ref(fp),
            scratch = out(reg) _,
            options(nostack),
        );
    }
}

/// Identity and translation of the domain a vCPU belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomainRegisters {
    /// VTTBR_EL2: VMID and stage-2 root.
    pub vttbr: u64,
    /// VMPIDR_EL2 of the vCPU.
    pub vmpidr: u64,
    /// CNTVOFF_EL2 of the domain.
    pub counter_offset: u64,
}

/// Loads the domain registers of the vCPU about to run.
pub fn load_domain(registers: &DomainRegisters) {
    // SAFETY: these EL2 registers only take effect for EL1/EL0, i.e. for the vCPU being loaded.
    unsafe {
        core::arch::asm!(
            "msr vttbr_el2, {vttbr}",
            "msr vmpidr_el2, {vmpidr}",
            "msr cntvoff_el2, {offset}",
            "isb",
            vttbr = in(reg) registers.vttbr,
            vmpidr = in(reg) registers.vmpidr,
            offset = in(reg) registers.counter_offset,
            options(nostack),
        );
    }
}

/// Writes the exception registers of the loaded vCPU (for an injected exception).
pub fn write_exception_registers(esr: u64, far: u64, elr: u64, spsr: u64) {
    // SAFETY: these EL1 registers belong to the loaded vCPU.
    unsafe {
        core::arch::asm!(
            "msr esr_el1, {esr}",
            "msr far_el1, {far}",
            "msr elr_el1, {elr}",
            "msr spsr_el1, {spsr}",
            esr = in(reg) esr,
            far = in(reg) far,
            elr = in(reg) elr,
            spsr = in(reg) spsr,
            options(nomem, nostack),
        );
    }
}

/// VBAR_EL1 of the loaded vCPU.
#[must_use]
pub fn vector_base() -> u64 {
    let value;
    // SAFETY: reading VBAR_EL1 has no side effect.
    unsafe { core::arch::asm!("mrs {}, vbar_el1", out(reg) value, options(nomem, nostack)) };
    value
}

/// Whether the loaded vCPU's virtual timer asserts its interrupt: enabled, not masked, and its
/// condition met (CNTV_CTL_EL0 ENABLE, IMASK, ISTATUS).
#[must_use]
pub fn virtual_timer_asserted() -> bool {
    let control: u64;
    // SAFETY: reading the loaded vCPU's timer control has no side effect.
    unsafe { core::arch::asm!("isb", "mrs {}, cntv_ctl_el0", out(reg) control, options(nomem, nostack)) };
    control & 0b111 == 0b101
}

/// Masks the loaded vCPU's virtual timer interrupt (CNTV_CTL_EL0.IMASK).
pub fn mask_virtual_timer() {
    // SAFETY: only the loaded vCPU's timer is affected.
    unsafe {
        core::arch::asm!(
            "mrs {scratch}, cntv_ctl_el0",
            "orr {scratch}, {scratch}, #2",
            "msr cntv_ctl_el0, {scratch}",
            scratch = out(reg) _,
            options(nomem, nostack),
        );
    }
}

/// Adds `amount` to the loaded vCPU's stack pointer for the mode in `pstate` (SP_EL1 for EL1h,
/// SP_EL0 otherwise).
pub fn add_to_stack_pointer(pstate: u64, amount: i64) {
    let uses_el1_stack = pstate & 0b1111 == 0b0101;
    // SAFETY: the stack pointer registers belong to the loaded vCPU; EL2 uses SP_EL2.
    unsafe {
        if uses_el1_stack {
            core::arch::asm!("mrs {v}, sp_el1", "add {v}, {v}, {a}", "msr sp_el1, {v}", v = out(reg) _, a = in(reg) amount, options(nomem, nostack));
        } else {
            core::arch::asm!("mrs {v}, sp_el0", "add {v}, {v}, {a}", "msr sp_el0, {v}", v = out(reg) _, a = in(reg) amount, options(nomem, nostack));
        }
    }
}
