//! The virtual timer interrupt: from the timer's deadline to the first instruction of the guest's
//! IRQ vector, the guest spinning with IRQs unmasked meanwhile. The raw figure is reported: it
//! includes what QEMU itself takes to deliver a timer interrupt, which `cargo xtask bench` measures
//! by running this guest on QEMU without a hypervisor and subtracts.

use somnus_test_guests::gic::{self, Acknowledged};
use somnus_test_guests::timing::{Series, measure};
use somnus_test_guests::virtual_timer;
use somnus_test_guests::{fail, interrupts};

use crate::interrupt_timestamps;

/// How far ahead of its arming the deadline lies, in counter ticks: past the few instructions
/// that unmask IRQs, so the interrupt always finds the guest spinning.
const LEAD: u64 = 200;

/// The virtual counter.
fn virtual_count() -> u64 {
    let value;
    // SAFETY: reading the virtual counter has no side effect.
    unsafe { core::arch::asm!("mrs {}, cntvct_el0", out(reg) value, options(nostack, preserves_flags)) };
    value
}

/// The timer's handler: disarms it, so its level drops.
fn expired(_interrupt: Acknowledged) {
    virtual_timer::disable();
}

/// Measures and reports `virtual-timer-raw`.
pub fn run(series: Series, iterations: usize) {
    interrupts::set_handler(virtual_timer::INTID, Some(expired));
    gic::enable(virtual_timer::INTID);
    interrupt_timestamps::install();
    let statistics = measure(series, iterations, || {
        let deadline = virtual_count() + LEAD;
        virtual_timer::arm_at(deadline);
        let taken = interrupt_timestamps::spin_until_interrupt();
        if taken < deadline {
            fail!("virtual-timer: an IRQ came {} instructions before the deadline", deadline - taken);
        }
        taken - deadline
    });
    interrupt_timestamps::uninstall();
    gic::disable(virtual_timer::INTID);
    interrupts::set_handler(virtual_timer::INTID, None);
    statistics.report("virtual-timer-raw");
}
