//! System registers that the aarch64-cpu crate does not define yet, with the same tock-registers
//! `Readable`/`Writeable` interface so callers cannot tell the difference.

use tock_registers::interfaces::{Readable, Writeable};

macro_rules! system_register {
    ($(#[$meta:meta])* $constant:ident, $type:ident, $name:literal, read_write) => {
        system_register!($(#[$meta])* $constant, $type, $name, read_only);
        impl Writeable for $type {
            type T = u64;
            type R = ();
            #[inline]
            fn set(&self, value: u64) {
                // SAFETY: writing this system register has no memory-safety effect; its
                // architectural effect is what the caller asked for.
                unsafe { core::arch::asm!(concat!("msr ", $name, ", {}"), in(reg) value, options(nomem, nostack)) };
            }
        }
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
                // SAFETY: reading this system register has no side effect on memory.
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
        impl Writeable for $type {
            type T = u64;
            type R = ();
            #[inline]
            fn set(&self, value: u64) {
                // SAFETY: writing this system register has no memory-safety effect; its
                // architectural effect is what the caller asked for.
                unsafe { core::arch::asm!(concat!("msr ", $name, ", {}"), in(reg) value, options(nomem, nostack)) };
            }
        }
        $(#[$meta])*
        pub const $constant: $type = $type;
    };
}

system_register!(
    /// EL2 physical timer value (down-counter view of CNTHP_CVAL_EL2).
    CNTHP_TVAL_EL2, HypervisorTimerValue, "cnthp_tval_el2", read_write
);
system_register!(
    /// GICv3 interrupt acknowledge, group 1.
    ICC_IAR1_EL1, InterruptAcknowledgeGroup1, "icc_iar1_el1", read_only
);
system_register!(
    /// GICv3 end of interrupt, group 1.
    ICC_EOIR1_EL1, EndOfInterruptGroup1, "icc_eoir1_el1", write_only
);
system_register!(
    /// GICv3 priority mask.
    ICC_PMR_EL1, PriorityMask, "icc_pmr_el1", read_write
);
system_register!(
    /// GICv3 binary point, group 1.
    ICC_BPR1_EL1, BinaryPointGroup1, "icc_bpr1_el1", read_write
);
system_register!(
    /// GICv3 group 1 interrupt enable.
    ICC_IGRPEN1_EL1, GroupEnable1, "icc_igrpen1_el1", read_write
);
system_register!(
    /// GICv3 SGI generation, group 1.
    ICC_SGI1R_EL1, SoftwareGeneratedInterruptGroup1, "icc_sgi1r_el1", write_only
);
system_register!(
    /// GICv3 deactivate interrupt (EOI mode 1).
    ICC_DIR_EL1, DeactivateInterrupt, "icc_dir_el1", write_only
);
system_register!(
    /// GICv3 CPU interface control (EL1 and, without EL3 banking, EL2 use).
    ICC_CTLR_EL1_RAW, InterfaceControl, "icc_ctlr_el1", read_write
);
system_register!(
    /// GICv3 virtual CPU interface: which list registers have a pending end-of-interrupt.
    ICH_EISR_EL2, EndOfInterruptStatus, "ich_eisr_el2", read_only
);
system_register!(
    /// GICv3 virtual CPU interface: which list registers are empty.
    ICH_ELRSR_EL2, EmptyListRegisterStatus, "ich_elrsr_el2", read_only
);
system_register!(
    /// GICv3 system-register enable for EL1 (the guest's view).
    ICC_SRE_EL1_RAW, SystemRegisterEnableEl1, "icc_sre_el1", read_write
);
