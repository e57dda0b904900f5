//! The GICv3 CPU interface at EL2, through the ICC system registers.

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::ICC_SRE_EL2;
use tock_registers::interfaces::{Readable, Writeable};

use super::sysregs::{
    ICC_BPR1_EL1, ICC_CTLR_EL1_RAW, ICC_DIR_EL1, ICC_EOIR1_EL1, ICC_IAR1_EL1, ICC_IGRPEN1_EL1, ICC_PMR_EL1,
    ICC_SGI1R_EL1, ICC_SRE_EL1_RAW,
};

/// ICC_CTLR_EL1.EOImode.
const EOI_MODE: u64 = 1 << 1;
/// INTIDs at and above this value are special (1023: nothing pending).
const FIRST_SPECIAL_INTID: u64 = 1020;
/// First LPI; INTIDs between the special ones and here are reserved.
const FIRST_LPI: u64 = 8192;

/// Enables system-register access for EL2 and EL1, unmasks all priorities, enables group 1.
pub fn init() {
    ICC_SRE_EL2.write(ICC_SRE_EL2::SRE::SET + ICC_SRE_EL2::ENABLE::SET + ICC_SRE_EL2::DFB::SET + ICC_SRE_EL2::DIB::SET);
    barrier::isb(barrier::SY);
    ICC_PMR_EL1.set(0xF0);
    ICC_BPR1_EL1.set(0);
    // EOI mode 1: EOIR drops the priority, DIR deactivates; forwarded interrupts are deactivated
    // by the guest's EOI through the list register's hardware bit.
    ICC_CTLR_EL1_RAW.set(ICC_CTLR_EL1_RAW.get() | EOI_MODE);
    ICC_IGRPEN1_EL1.set(1);
    // The guests' own view: system-register interface on, so their ICC accesses are virtualized.
    ICC_SRE_EL1_RAW.set(0b111);
    barrier::isb(barrier::SY);
}

/// Acknowledges the highest-priority pending group 1 interrupt; `None` for a special INTID.
#[must_use]
pub fn acknowledge() -> Option<u32> {
    let intid = ICC_IAR1_EL1.get() & 0xFF_FFFF;
    barrier::dsb(barrier::SY);
    if (FIRST_SPECIAL_INTID..FIRST_LPI).contains(&intid) { None } else { Some(intid as u32) }
}

/// Drops the running priority of an acknowledged interrupt.
pub fn drop_priority(intid: u32) {
    ICC_EOIR1_EL1.set(u64::from(intid));
    barrier::isb(barrier::SY);
}

/// Deactivates an interrupt.
pub fn deactivate(intid: u32) {
    ICC_DIR_EL1.set(u64::from(intid));
    barrier::isb(barrier::SY);
}

/// Sends SGI `sgi` to the CPU with `mpidr`.
pub fn send_sgi(sgi: u32, mpidr: u64) {
    barrier::dsb(barrier::ISHST);
    ICC_SGI1R_EL1.set(crate::drivers::gic_v3::sgi1r_value(sgi, mpidr));
    barrier::isb(barrier::SY);
}
