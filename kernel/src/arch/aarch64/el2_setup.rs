//! EL2 control registers every CPU sets once at boot: how guests are trapped and isolated.

use aarch64_cpu::registers::{CNTHCTL_EL2, CNTVOFF_EL2, CPTR_EL2, HCR_EL2, MDCR_EL2};
use tock_registers::interfaces::Writeable;

/// CPTR_EL2 RES1 bits (13:12 and 9:0) with nothing trapped: guests own FP/SIMD directly; the
/// hypervisor, built soft-float, never touches those registers.
const CPTR_EL2_NO_TRAPS: u64 = 0x33FF;

/// Routes physical IRQs, FIQs and SErrors to EL2; enables stage-2 translation for EL1/EL0; traps
/// WFI/WFE, SMC, implementation-defined and auxiliary control registers, the debug, OS-lock and
/// PMU registers, and the EL1 physical timer (the guest's time is its virtual timer).
pub fn configure_this_cpu() {
    HCR_EL2.write(
        HCR_EL2::RW::EL1IsAarch64
            + HCR_EL2::VM::SET
            + HCR_EL2::SWIO::SET
            + HCR_EL2::IMO::SET
            + HCR_EL2::FMO::SET
            + HCR_EL2::AMO::SET
            + HCR_EL2::FB::SET
            + HCR_EL2::BSU.val(0b01)
            + HCR_EL2::TWI::SET
            + HCR_EL2::TWE::SET
            + HCR_EL2::TSC::SET
            + HCR_EL2::TIDCP::SET
            + HCR_EL2::TACR::SET,
    );
    CPTR_EL2.set(CPTR_EL2_NO_TRAPS);
    MDCR_EL2.write(
        MDCR_EL2::TDA::SET + MDCR_EL2::TDOSA::SET + MDCR_EL2::TDRA::SET + MDCR_EL2::TPM::SET + MDCR_EL2::TPMCR::SET,
    );
    CNTHCTL_EL2.write(CNTHCTL_EL2::EL1PCTEN::SET + CNTHCTL_EL2::EL1PCEN::CLEAR);
    CNTVOFF_EL2.set(0);
    super::stage2::configure_this_cpu();
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
}
