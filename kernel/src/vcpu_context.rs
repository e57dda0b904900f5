//! The complete state of one vCPU as the hypervisor keeps it while the vCPU is not on a CPU, and
//! the single routine that resets it to the architectural state at an entry point.
//!
//! `reset_at` is used for a domain's first boot, for PSCI CPU_ON and for every resume at an entry
//! point (SYSTEM_SUSPEND, power-down CPU_SUSPEND): there is one reset, not one per caller.

/// PSTATE for EL1 using SP_EL1 (EL1h), AArch64.
pub const PSTATE_EL1H: u64 = 0b0101;
/// PSTATE.{D,A,I,F}: every exception masked.
pub const PSTATE_DAIF_MASKED: u64 = 0b1111 << 6;
/// SCTLR_EL1 at reset: MMU, caches and alignment checks off, little endian; RES1 bits set
/// (bits 29, 28, 23, 22, 20, 11).
pub const SCTLR_EL1_RESET: u64 = 0x30D0_0800;

/// General registers, program counter and PSTATE: what the exception entry code saves.
///
/// The layout is shared with the assembly in `arch::aarch64::guest_entry` (x0 at offset 0,
/// `pc` at 248, `pstate` at 256).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct GuestRegisters {
    /// x0..x30.
    pub x: [u64; 31],
    /// Where the vCPU continues (ELR_EL2 on exit).
    pub pc: u64,
    /// Its PSTATE (SPSR_EL2 on exit).
    pub pstate: u64,
}

/// Byte offset of `pc` inside `GuestRegisters`, for the assembly.
pub const GUEST_REGISTERS_PC_OFFSET: usize = core::mem::offset_of!(GuestRegisters, pc);

/// The EL1 and EL0 system registers a guest owns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
#[allow(missing_docs, reason = "each field is the architectural register of the same name")]
pub struct El1SystemRegisters {
    pub sctlr_el1: u64,
    pub actlr_el1: u64,
    pub cpacr_el1: u64,
    pub ttbr0_el1: u64,
    pub ttbr1_el1: u64,
    pub tcr_el1: u64,
    pub mair_el1: u64,
    pub amair_el1: u64,
    pub vbar_el1: u64,
    pub contextidr_el1: u64,
    pub tpidr_el0: u64,
    pub tpidrro_el0: u64,
    pub tpidr_el1: u64,
    pub esr_el1: u64,
    pub far_el1: u64,
    pub afsr0_el1: u64,
    pub afsr1_el1: u64,
    pub par_el1: u64,
    pub cntkctl_el1: u64,
    pub csselr_el1: u64,
    pub sp_el0: u64,
    pub sp_el1: u64,
    pub elr_el1: u64,
    pub spsr_el1: u64,
    pub cntv_ctl_el0: u64,
    pub cntv_cval_el0: u64,
}

/// FP/SIMD registers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(16))]
pub struct FpRegisters {
    /// q0..q31.
    pub q: [u128; 32],
    /// FPCR.
    pub fpcr: u64,
    /// FPSR.
    pub fpsr: u64,
}

/// The vCPU's virtual CPU interface (GICv2 GICH / GICv3 ICH state) while it is not loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct VirtualInterfaceState {
    /// GICH_VMCR / ICH_VMCR_EL2: the guest's CPU interface control, priority mask, binary points.
    pub machine_control: u64,
    /// GICH_APR / ICH_AP1R0_EL2: active priorities.
    pub active_priorities: u64,
    /// The list registers.
    pub list_registers: [u64; 16],
    /// Whether its virtual timer's physical interrupt was active (forwarded, not yet ended).
    pub timer_interrupt_active: bool,
}

/// Everything that makes up one vCPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct VcpuContext {
    /// Saved by the exception entry code on every exit.
    pub registers: GuestRegisters,
    /// Saved and restored when another vCPU takes the CPU.
    pub system: El1SystemRegisters,
    /// Saved and restored when another vCPU takes the CPU.
    pub fp: FpRegisters,
    /// Saved and restored when another vCPU takes the CPU; reset like a powered-down core's.
    pub interface: VirtualInterfaceState,
}

impl VcpuContext {
    /// A vCPU in its reset state, not yet started.
    pub const RESET: Self = Self {
        registers: GuestRegisters { x: [0; 31], pc: 0, pstate: PSTATE_EL1H | PSTATE_DAIF_MASKED },
        system: El1SystemRegisters {
            sctlr_el1: SCTLR_EL1_RESET,
            actlr_el1: 0,
            cpacr_el1: 0,
            ttbr0_el1: 0,
            ttbr1_el1: 0,
            tcr_el1: 0,
            mair_el1: 0,
            amair_el1: 0,
            vbar_el1: 0,
            contextidr_el1: 0,
            tpidr_el0: 0,
            tpidrro_el0: 0,
            tpidr_el1: 0,
            esr_el1: 0,
            far_el1: 0,
            afsr0_el1: 0,
            afsr1_el1: 0,
            par_el1: 0,
            cntkctl_el1: 0,
            csselr_el1: 0,
            sp_el0: 0,
            sp_el1: 0,
            elr_el1: 0,
            spsr_el1: 0,
            cntv_ctl_el0: 0,
            cntv_cval_el0: 0,
        },
        fp: FpRegisters { q: [0; 32], fpcr: 0, fpsr: 0 },
        interface: VirtualInterfaceState {
            machine_control: 0,
            active_priorities: 0,
            list_registers: [0; 16],
            timer_interrupt_active: false,
        },
    };

    /// Resets the whole vCPU to the architectural state a CPU has when it is powered on at
    /// `entry` with `context_id` in x0: EL1h, AArch64, DAIF masked, MMU and caches off, every
    /// other register zero, and its virtual CPU interface (VMCR, active priorities, list registers)
    /// reset like a powered-down core's. The domain's distributor and redistributor state (in the
    /// vGIC service) and its queued interrupts are not part of a vCPU and are kept: they are what
    /// wakes it.
    pub fn reset_at(&mut self, entry: u64, context_id: u64) {
        *self = Self::RESET;
        self.registers.pc = entry;
        self.registers.x[0] = context_id;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_leaves_nothing_of_the_previous_life() {
        let mut context = VcpuContext::RESET;
        context.registers.x = [0xAA; 31];
        context.registers.pstate = 0x3C4;
        context.system.sctlr_el1 = 0x3455_D91D;
        context.system.vbar_el1 = 0xFFFF_0000_0000_0800;
        context.system.cntv_ctl_el0 = 1;
        context.fp.q[7] = 0xDEAD;
        context.reset_at(0x4008_0000, 0x1234);
        assert_eq!(context.registers.pc, 0x4008_0000);
        assert_eq!(context.registers.x[0], 0x1234);
        assert!(context.registers.x[1..].iter().all(|&value| value == 0));
        assert_eq!(context.registers.pstate, 0x3C5, "EL1h with D, A, I and F masked");
        assert_eq!(context.system.sctlr_el1 & 0b101, 0, "MMU and data cache off");
        assert_eq!(context.system.sctlr_el1 & (1 << 25), 0, "little endian");
        assert_eq!(context.system.vbar_el1, 0);
        assert_eq!(context.system.cntv_ctl_el0, 0, "virtual timer disabled");
        assert_eq!(context.fp, FpRegisters::default());
    }

    #[test]
    fn layout_matches_the_assembly() {
        assert_eq!(GUEST_REGISTERS_PC_OFFSET, 248);
        assert_eq!(core::mem::offset_of!(GuestRegisters, pstate), 256);
        assert_eq!(core::mem::offset_of!(VcpuContext, registers), 0);
    }
}
