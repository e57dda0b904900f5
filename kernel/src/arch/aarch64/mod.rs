//! AArch64 at EL2: boot entry, exception vectors, EL2 translation, firmware calls, system registers.

pub mod boot_entry;
pub mod cpu;
pub mod el2_setup;
pub mod exception_dump;
pub mod firmware;
pub mod gic_v3_cpu_interface;
pub mod guest_entry;
pub mod guest_exit;
pub mod guest_memory;
pub mod hypervisor_timer;
pub mod mmu;
pub mod per_cpu;
pub mod stage2;
pub mod sysregs;
pub mod vcpu_switch;
pub mod vcpu_table;
pub mod vectors;
pub mod virtual_cpu_interface;
