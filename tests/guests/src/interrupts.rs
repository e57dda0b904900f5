//! IRQ handlers by INTID, called from the runtime's exception dispatch.
//!
//! [`install`] (done by [`gic::init`](crate::gic::init)) makes the runtime's IRQ handler acknowledge
//! interrupts at the GIC until none is pending, call the handler registered for each INTID with the
//! acknowledged interrupt, and end it. An INTID without a handler makes the guest report
//! `TEST FAIL <guest>: unexpected interrupt INTID <n> on vCPU <i>`. An IRQ exception that finds nothing
//! pending is counted as spurious. Handlers are shared by all vCPUs and run with interrupts masked.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::exceptions::{self, ExceptionFrame, Kind, Resolution};
use crate::gic::{self, Acknowledged, SPECIAL_INTIDS_START};
use crate::start::MAX_CPUS;
use crate::{cpu, fail};

/// A handler for one INTID; it runs before the interrupt is ended.
pub type InterruptHandler = fn(Acknowledged);

/// Handlers by INTID, as addresses; 0 when none is registered.
static HANDLERS: [AtomicUsize; SPECIAL_INTIDS_START as usize] =
    [const { AtomicUsize::new(0) }; SPECIAL_INTIDS_START as usize];

/// IRQ exceptions that found no pending interrupt, per vCPU.
static SPURIOUS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Registers `handler` for `intid` (on every vCPU), or removes it with `None`.
pub fn set_handler(intid: u32, handler: Option<InterruptHandler>) {
    let Some(slot) = HANDLERS.get(intid as usize) else {
        fail!("INTID {intid} cannot have a handler");
    };
    slot.store(handler.map_or(0, |handler| handler as usize), Ordering::Release);
}

fn handler(intid: u32) -> Option<InterruptHandler> {
    let address = HANDLERS.get(intid as usize)?.load(Ordering::Acquire);
    if address == 0 {
        return None;
    }
    // SAFETY: the only non-zero values stored in HANDLERS come from `set_handler`, which stores valid
    // `InterruptHandler`s; function pointers and usize have the same size on AArch64.
    Some(unsafe { core::mem::transmute::<usize, InterruptHandler>(address) })
}

/// Makes the runtime's IRQ exceptions go to the handlers registered here.
pub fn install() {
    exceptions::set_handler(Kind::Irq, Some(dispatch));
}

/// Number of IRQ exceptions on vCPU `cpu` that found nothing pending at the GIC.
#[must_use]
pub fn spurious_count(cpu: usize) -> u64 {
    SPURIOUS.get(cpu).map_or(0, |count| count.load(Ordering::Acquire))
}

fn dispatch(_frame: &mut ExceptionFrame) -> Resolution {
    let mut delivered = 0_u64;
    while let Some(interrupt) = gic::acknowledge() {
        let Some(handler) = handler(interrupt.intid) else {
            fail!("unexpected interrupt INTID {} on vCPU {}", interrupt.intid, cpu::index());
        };
        handler(interrupt);
        gic::end_of_interrupt(interrupt);
        delivered += 1;
    }
    if delivered == 0 {
        let count = &SPURIOUS[cpu::index()];
        count.store(count.load(Ordering::Relaxed) + 1, Ordering::Release);
    }
    Resolution::Return
}
