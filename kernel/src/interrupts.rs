//! Physical interrupts taken at EL2: acknowledge, dispatch by INTID, end.

use spin::Once;

use crate::arch::aarch64::hypervisor_timer;
use crate::interrupt_controller::InterruptController;
use crate::println;

/// The machine's GIC, set up once by the boot CPU.
pub static GIC: Once<InterruptController> = Once::new();

/// INTID of the EL2 timer, from the platform description.
static HYPERVISOR_TIMER_INTID: Once<u32> = Once::new();

/// Records which INTID the EL2 timer raises.
pub fn set_hypervisor_timer_intid(intid: u32) {
    HYPERVISOR_TIMER_INTID.call_once(|| intid);
}

/// Handles every pending physical interrupt on the calling CPU.
pub fn handle_irq() {
    let Some(gic) = GIC.get() else { return };
    let timer_intid = HYPERVISOR_TIMER_INTID.get().copied();
    while let Some(interrupt) = gic.acknowledge() {
        if Some(interrupt.intid) == timer_intid {
            hypervisor_timer::rearm();
            crate::boot::timer_tick();
        } else {
            println!(
                "somnus: spurious physical interrupt {} on cpu {}",
                interrupt.intid,
                crate::arch::aarch64::cpu::index()
            );
        }
        gic.end_of_interrupt(interrupt);
    }
}
