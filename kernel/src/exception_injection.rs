//! What a vCPU's registers become when the hypervisor injects a synchronous exception into it
//! (an external abort for an access it may not make, an undefined instruction).

use crate::vcpu_context::{PSTATE_DAIF_MASKED, PSTATE_EL1H};

/// Which synchronous exception to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injected {
    /// Synchronous external abort on a data access; `is_write` as the access was.
    DataAbort {
        /// The faulting access was a store.
        is_write: bool,
    },
    /// Synchronous external abort on an instruction fetch.
    InstructionAbort,
    /// Undefined instruction.
    Undefined,
}

/// The guest registers an injection changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InjectionResult {
    /// New ESR_EL1.
    pub esr_el1: u64,
    /// New ELR_EL1 (the instruction that faulted).
    pub elr_el1: u64,
    /// New SPSR_EL1 (the PSTATE at the fault).
    pub spsr_el1: u64,
    /// New PC: the vector in the guest's table.
    pub pc: u64,
    /// New PSTATE: EL1h with every exception masked.
    pub pstate: u64,
}

const ESR_INSTRUCTION_LENGTH_32: u64 = 1 << 25;
const FAULT_STATUS_SYNCHRONOUS_EXTERNAL: u64 = 0x10;
const ESR_WRITE_NOT_READ: u64 = 1 << 6;

/// The result of injecting `kind` into a vCPU at `pc` with `pstate` and vector base `vbar_el1`.
#[must_use]
pub const fn inject(kind: Injected, pc: u64, pstate: u64, vbar_el1: u64) -> InjectionResult {
    let mode = pstate & 0b1111;
    let from_el0 = mode == 0;
    // Vector offsets: current EL with SP_EL0 0x000, current EL with SP_ELx 0x200, lower EL 0x400.
    let vector_offset = match mode {
        0b0100 => 0x000,
        0b0101 => 0x200,
        _ => 0x400,
    };
    let class: u64 = match kind {
        Injected::DataAbort { .. } => {
            if from_el0 {
                0x24
            } else {
                0x25
            }
        }
        Injected::InstructionAbort => {
            if from_el0 {
                0x20
            } else {
                0x21
            }
        }
        Injected::Undefined => 0x00,
    };
    let iss = match kind {
        Injected::DataAbort { is_write } => {
            FAULT_STATUS_SYNCHRONOUS_EXTERNAL | if is_write { ESR_WRITE_NOT_READ } else { 0 }
        }
        Injected::InstructionAbort => FAULT_STATUS_SYNCHRONOUS_EXTERNAL,
        Injected::Undefined => 0,
    };
    InjectionResult {
        esr_el1: (class << 26) | ESR_INSTRUCTION_LENGTH_32 | iss,
        elr_el1: pc,
        spsr_el1: pstate,
        pc: vbar_el1 + vector_offset,
        pstate: PSTATE_EL1H | PSTATE_DAIF_MASKED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_abort_from_el1h_goes_to_the_current_el_spx_vector() {
        let result = inject(Injected::DataAbort { is_write: true }, 0x4008_1234, 0x3C5, 0x4009_0000);
        assert_eq!(result.esr_el1 >> 26, 0x25);
        assert_eq!(result.esr_el1 & 0x3F, 0x10, "synchronous external abort");
        assert_ne!(result.esr_el1 & (1 << 6), 0, "write");
        assert_eq!(result.elr_el1, 0x4008_1234);
        assert_eq!(result.spsr_el1, 0x3C5);
        assert_eq!(result.pc, 0x4009_0200);
        assert_eq!(result.pstate, 0x3C5);
    }

    #[test]
    fn aborts_from_el0_are_lower_el_exceptions() {
        let result = inject(Injected::DataAbort { is_write: false }, 0x1000, 0x0, 0x8000);
        assert_eq!(result.esr_el1 >> 26, 0x24);
        assert_eq!(result.esr_el1 & (1 << 6), 0);
        assert_eq!(result.pc, 0x8400);
    }

    #[test]
    fn undefined_and_instruction_abort() {
        let undefined = inject(Injected::Undefined, 0x10, 0b0100, 0x8000);
        assert_eq!(undefined.esr_el1, 1 << 25);
        assert_eq!(undefined.pc, 0x8000, "EL1t uses the SP_EL0 vectors");
        assert_eq!(inject(Injected::InstructionAbort, 0x10, 0b0101, 0).esr_el1 >> 26, 0x21);
    }
}
