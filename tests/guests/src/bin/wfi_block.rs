//! `wfi-block`: waits in WFI with IRQs and FIQs unmasked at PSTATE but no interrupt source enabled.
//!
//! The virtual timer is disabled and masked and the GIC is left alone, so nothing can become pending:
//! a hypervisor must keep this vCPU blocked (and its pCPU free for others). Every return from WFI is
//! counted and printed as `wfi-block: woke (<n>)`; the architecture allows spurious returns, so only a
//! test under Somnus treats that line as a failure. An interrupt actually taken has no handler and is
//! reported as an unexpected exception.

#![no_std]
#![no_main]

use somnus_test_guests::aarch64_cpu::registers::{CNTV_CTL_EL0, Writeable};
use somnus_test_guests::{cpu, entry, println};

entry!("wfi-block", main);

fn main(_device_tree: u64) -> ! {
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR + CNTV_CTL_EL0::IMASK::SET);
    println!("wfi-block: waiting");
    cpu::unmask_interrupts();
    let mut returns: u64 = 0;
    loop {
        cpu::wait_for_interrupt();
        returns += 1;
        println!("wfi-block: woke ({returns})");
    }
}
