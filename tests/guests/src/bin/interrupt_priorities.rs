//! `interrupt-priorities`: with interrupts masked at PSTATE, makes 12 SPIs (INTIDs 40..=51) pending
//! through GICD_ISPENDR, each enabled, edge-triggered, routed to vCPU 0 and at its own priority given
//! in a scrambled order; then unmasks and checks the handler saw all 12, each exactly once, most urgent
//! (lowest priority value) first.
//!
//! 12 is more than a hypervisor's list registers (4 on QEMU), so it must keep the rest pending and
//! refill by priority.

#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use somnus_test_guests::gic::{self, Acknowledged, Trigger};
use somnus_test_guests::{counter, cpu, entry, fail, interrupts, print, println, report};

entry!("interrupt-priorities", main);

/// First SPI used.
const FIRST: u32 = 40;

/// Priority of SPI `FIRST + i`: distinct multiples of 0x10 (a GIC has at least 4 priority bits), all
/// below the priority mask, in no particular order.
const PRIORITIES: [u8; 12] = [0x70, 0x20, 0xB0, 0x10, 0x90, 0x50, 0x30, 0xC0, 0x60, 0x40, 0xA0, 0x80];

/// How long to wait for deliveries (and then for duplicates), in microseconds.
const WAIT_MICROS: u64 = 100_000;

/// INTIDs in the order the handler saw them.
static SEEN: [AtomicU32; 32] = [const { AtomicU32::new(0) }; 32];

/// Number of handler invocations.
static SEEN_COUNT: AtomicUsize = AtomicUsize::new(0);

fn record(interrupt: Acknowledged) {
    if cpu::index() != 0 {
        fail!("INTID {} arrived on vCPU {}, routed to vCPU 0", interrupt.intid, cpu::index());
    }
    let count = SEEN_COUNT.load(Ordering::Relaxed);
    if let Some(slot) = SEEN.get(count) {
        slot.store(interrupt.intid, Ordering::Relaxed);
    }
    SEEN_COUNT.store(count + 1, Ordering::Release);
}

fn priority_of(intid: u32) -> u8 {
    PRIORITIES[(intid - FIRST) as usize]
}

fn main(device_tree: u64) -> ! {
    // The runtime enters with interrupts masked at PSTATE; they stay masked until everything is pending.
    let detection = gic::init(device_tree);
    let spis = FIRST..FIRST + PRIORITIES.len() as u32;
    for intid in spis.clone() {
        interrupts::set_handler(intid, Some(record));
        gic::set_trigger(intid, Trigger::Edge);
        gic::set_priority(intid, priority_of(intid));
        gic::route_spi(intid, 0);
        gic::enable(intid);
    }
    for intid in spis.clone() {
        gic::set_pending(intid);
    }
    let pending = spis.clone().filter(|&intid| gic::is_pending(intid)).count();
    println!("interrupt-priorities: {detection}; {pending} of {} SPIs pending, unmasking", PRIORITIES.len());

    cpu::unmask_interrupts();
    let deadline = counter::now() + counter::ticks_from_micros(WAIT_MICROS);
    while SEEN_COUNT.load(Ordering::Acquire) < PRIORITIES.len() && counter::now() < deadline {
        core::hint::spin_loop();
    }
    counter::delay_micros(WAIT_MICROS);
    cpu::mask_interrupts();

    let count = SEEN_COUNT.load(Ordering::Acquire);
    print!("interrupt-priorities: order");
    for slot in SEEN.iter().take(count) {
        let intid = slot.load(Ordering::Relaxed);
        if spis.contains(&intid) {
            print!(" {intid}({:#04x})", priority_of(intid));
        } else {
            print!(" {intid}(?)");
        }
    }
    println!();
    if count != PRIORITIES.len() {
        fail!("{count} deliveries, expected {}", PRIORITIES.len());
    }
    let mut previous: Option<u8> = None;
    for slot in &SEEN[..count] {
        let intid = slot.load(Ordering::Relaxed);
        if !spis.contains(&intid) {
            fail!("INTID {intid} delivered, not one of the SPIs set pending");
        }
        let priority = priority_of(intid);
        if previous.is_some_and(|previous| previous >= priority) {
            fail!("INTID {intid} (priority {priority:#04x}) came after a less urgent or repeated priority");
        }
        previous = Some(priority);
    }
    report::pass()
}
