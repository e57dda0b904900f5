//! Physical interrupts taken at EL2: acknowledge, dispatch by INTID, end; and kicking another CPU.

use core::sync::atomic::{AtomicU64, Ordering};

use spin::Once;

use crate::arch::aarch64::{cpu, hypervisor_timer, vcpu_switch};
use crate::interrupt_controller::InterruptController;
use crate::interrupt_delivery;
use crate::platform::MAX_CPUS;
use crate::println;

/// The SGI one CPU sends another to make it look at its run queue.
pub const RESCHEDULE_SGI: u32 = 0;
/// The first shared peripheral interrupt.
const FIRST_SPI: u32 = 32;

/// The machine's GIC, set up once by the boot CPU.
pub static GIC: Once<InterruptController> = Once::new();

/// INTIDs of the private interrupts the kernel handles, from the platform description.
#[derive(Clone, Copy, Debug)]
pub struct TimerInterrupts {
    /// EL2 physical timer.
    pub hypervisor: u32,
    /// Virtual timer (the running vCPU's).
    pub virtual_timer: u32,
    /// GIC virtualization maintenance interrupt.
    pub maintenance: u32,
    /// The console UART's interrupt, when input is taken.
    pub console: Option<u32>,
}

static TIMERS: Once<TimerInterrupts> = Once::new();
/// Per CPU, what `InterruptController::send_sgi` needs to reach it.
static SGI_TARGETS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Records which INTIDs the timers raise.
pub fn set_timer_interrupts(timers: TimerInterrupts) {
    TIMERS.call_once(|| timers);
}

/// Records how to reach the calling CPU (after its GIC interface is set up).
pub fn register_this_cpu(gic: &InterruptController, mpidr: u64) {
    SGI_TARGETS[cpu::index()].store(gic.sgi_target_of_this_cpu(mpidr), Ordering::Release);
}

/// What `InterruptController::send_sgi` and `route` need to reach CPU `index`.
#[must_use]
pub fn sgi_target_of(index: usize) -> u64 {
    SGI_TARGETS.get(index).map_or(0, |target| target.load(Ordering::Acquire))
}

/// Makes CPU `index` re-examine its run queue.
pub fn kick(index: usize) {
    if let (Some(gic), Some(target)) = (GIC.get(), SGI_TARGETS.get(index)) {
        gic.send_sgi(RESCHEDULE_SGI, target.load(Ordering::Acquire));
    }
}

/// Handles every pending physical interrupt on the calling CPU.
pub fn handle_irq() {
    let Some(gic) = GIC.get() else { return };
    let Some(timers) = TIMERS.get().copied() else { return };
    while let Some(interrupt) = gic.acknowledge() {
        match interrupt.intid {
            RESCHEDULE_SGI => gic.end_of_interrupt(interrupt),
            intid if intid == timers.hypervisor => {
                hypervisor_timer::rearm();
                crate::boot::timer_tick();
                crate::run_loop::request_rotation();
                gic.end_of_interrupt(interrupt);
                interrupt_delivery::expire_timers(hypervisor_timer::now());
                crate::service_alarm::check(hypervisor_timer::now_ns());
            }
            intid if intid == timers.maintenance => {
                interrupt_delivery::handle_maintenance();
                gic.end_of_interrupt(interrupt);
            }
            intid if Some(intid) == timers.console => {
                // Until the receive FIFO is empty: a UART (QEMU's PL011 among them) raises its
                // receive interrupt again only when a byte enters an empty FIFO, so bytes left
                // behind would wait for good (a pasted line stopped half-way). The interrupt ends
                // after the device was acknowledged, or its level would pend it once more.
                loop {
                    let bytes = crate::console::take_input::<32>();
                    let more = bytes.is_full();
                    for byte in bytes {
                        crate::management::console_byte(byte);
                    }
                    if !more {
                        break;
                    }
                }
                gic.end_of_interrupt(interrupt);
            }
            intid if intid == timers.virtual_timer || intid >= FIRST_SPI => {
                // Forwarded: the guest's EOI deactivates it through the list register.
                gic.drop_priority(interrupt);
                if !interrupt_delivery::forward_physical(intid) {
                    gic.deactivate(intid);
                    if intid == timers.virtual_timer {
                        vcpu_switch::mask_virtual_timer();
                    }
                }
            }
            intid => {
                println!("somnus: unexpected physical interrupt {intid} on cpu {}", cpu::index());
                gic.end_of_interrupt(interrupt);
            }
        }
    }
}
