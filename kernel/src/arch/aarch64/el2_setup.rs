//! EL2 control registers every CPU sets once at boot.

use aarch64_cpu::registers::{CNTHCTL_EL2, CNTVOFF_EL2, HCR_EL2};
use tock_registers::interfaces::Writeable;

/// Routes physical IRQs, FIQs and SErrors to EL2 (so the hypervisor takes them even while it
/// runs itself), declares EL1 AArch64, and leaves the EL1 counters accessible.
pub fn configure_this_cpu() {
    HCR_EL2.write(HCR_EL2::RW::EL1IsAarch64 + HCR_EL2::IMO::SET + HCR_EL2::FMO::SET + HCR_EL2::AMO::SET);
    CNTHCTL_EL2.write(CNTHCTL_EL2::EL1PCEN::SET + CNTHCTL_EL2::EL1PCTEN::SET);
    CNTVOFF_EL2.set(0);
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
}
