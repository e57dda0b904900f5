//! The GICv3 CPU interface system registers that aarch64-cpu does not define, with the same
//! tock-registers `Readable`/`Writeable` interface as the registers it does define.
//!
//! Each access is an `MRS`/`MSR` of an EL1 register; the caller adds the `ISB` the architecture asks for
//! where a write must take effect before the next instruction.

use tock_registers::interfaces::{Readable, Writeable};

macro_rules! system_register {
    ($(#[$meta:meta])* $constant:ident, $type:ident, $name:literal, read_write) => {
        system_register!($(#[$meta])* $constant, $type, $name, read_only);
        system_register!(@write $type, $name);
    };
    ($(#[$meta:meta])* $constant:ident, $type:ident, $name:literal, read_only) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug)]
        pub struct $type;
        impl Readable for $type {
            type T = u64;
            type R = ();
            #[inline]
            fn get(&self) -> u64 {
                let value;
                // SAFETY: reading this GIC CPU interface register touches no memory; acknowledging an
                // interrupt (ICC_IAR1_EL1) changes only the GIC's state, which the caller asked for.
                unsafe { core::arch::asm!(concat!("mrs {}, ", $name), out(reg) value, options(nomem, nostack)) };
                value
            }
        }
        $(#[$meta])*
        pub const $constant: $type = $type;
    };
    ($(#[$meta:meta])* $constant:ident, $type:ident, $name:literal, write_only) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug)]
        pub struct $type;
        system_register!(@write $type, $name);
        $(#[$meta])*
        pub const $constant: $type = $type;
    };
    (@write $type:ident, $name:literal) => {
        impl Writeable for $type {
            type T = u64;
            type R = ();
            #[inline]
            fn set(&self, value: u64) {
                // SAFETY: writing this GIC CPU interface register has no memory-safety effect; its
                // architectural effect (masking, ending or sending an interrupt) is what the caller asked for.
                unsafe { core::arch::asm!(concat!("msr ", $name, ", {}"), in(reg) value, options(nomem, nostack)) };
            }
        }
    };
}

system_register!(
    /// ICC_SRE_EL1: bit 0 (SRE) selects the system register interface.
    ICC_SRE_EL1, SystemRegisterEnable, "icc_sre_el1", read_write
);
system_register!(
    /// ICC_PMR_EL1: the priority mask; only interrupts more urgent (lower value) are signalled.
    ICC_PMR_EL1, PriorityMask, "icc_pmr_el1", read_write
);
system_register!(
    /// ICC_BPR1_EL1: binary point of group 1 (preemption grouping).
    ICC_BPR1_EL1, BinaryPointGroup1, "icc_bpr1_el1", read_write
);
system_register!(
    /// ICC_CTLR_EL1: bit 1 (EOImode) splits priority drop from deactivation when set.
    ICC_CTLR_EL1, ControlRegister, "icc_ctlr_el1", read_write
);
system_register!(
    /// ICC_IGRPEN1_EL1: bit 0 enables group 1 interrupts at this CPU interface.
    ICC_IGRPEN1_EL1, GroupEnable1, "icc_igrpen1_el1", read_write
);
system_register!(
    /// ICC_IAR1_EL1: acknowledges the most urgent pending group 1 interrupt and returns its INTID.
    ICC_IAR1_EL1, InterruptAcknowledgeGroup1, "icc_iar1_el1", read_only
);
system_register!(
    /// ICC_EOIR1_EL1: ends (drops the priority of and deactivates) a group 1 interrupt.
    ICC_EOIR1_EL1, EndOfInterruptGroup1, "icc_eoir1_el1", write_only
);
system_register!(
    /// ICC_SGI1R_EL1: generates a group 1 SGI for the vCPUs named by affinity and target list.
    ICC_SGI1R_EL1, SoftwareGeneratedInterruptGroup1, "icc_sgi1r_el1", write_only
);
