//! `wfi-timer`: arms the virtual timer 50 ms ahead, enables PPI 27 and waits in WFI with interrupts
//! unmasked; checks that the vCPU woke at least 50 ms later and that the timer interrupt's handler ran
//! before the instruction after WFI.
//!
//! The architecture allows WFI to return early; such returns are counted and printed, and the vCPU
//! waits again (for at most 1 s in all).

#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use somnus_test_guests::gic::{self, Acknowledged};
use somnus_test_guests::{counter, cpu, entry, fail, interrupts, println, report, virtual_timer};

entry!("wfi-timer", main);

/// How far ahead the timer is armed, in microseconds.
const DELAY_MICROS: u64 = 50_000;

/// How long the vCPU may wait in all, in microseconds.
const TIMEOUT_MICROS: u64 = 1_000_000;

/// Value of [`FIRED_AT`] until the handler runs.
const NOT_YET: u64 = 0;

/// Counter value when the timer handler ran.
static FIRED_AT: AtomicU64 = AtomicU64::new(NOT_YET);

fn expire(_interrupt: Acknowledged) {
    if !virtual_timer::condition_met() {
        fail!("the timer interrupt arrived with CNTV_CTL_EL0.ISTATUS clear");
    }
    FIRED_AT.store(counter::now().max(1), Ordering::Release);
    virtual_timer::disable();
}

fn main(device_tree: u64) -> ! {
    let detection = gic::init(device_tree);
    interrupts::set_handler(virtual_timer::INTID, Some(expire));
    gic::enable(virtual_timer::INTID);
    println!("wfi-timer: {detection}; timer armed {} ms ahead, waiting in WFI", DELAY_MICROS / 1000);

    let start = counter::now();
    let deadline = start + counter::ticks_from_micros(DELAY_MICROS);
    let timeout = start + counter::ticks_from_micros(TIMEOUT_MICROS);
    virtual_timer::arm_at(deadline);
    cpu::unmask_interrupts();
    let mut early_returns: u64 = 0;
    let woke = loop {
        if FIRED_AT.load(Ordering::Acquire) != NOT_YET {
            fail!("the timer fired before WFI ran (the vCPU was held up for 50 ms)");
        }
        cpu::wait_for_interrupt();
        let now = counter::now();
        if FIRED_AT.load(Ordering::Acquire) != NOT_YET {
            break now;
        }
        early_returns += 1;
        if now > timeout {
            fail!("no timer interrupt within {} ms ({early_returns} early WFI returns)", TIMEOUT_MICROS / 1000);
        }
    };
    cpu::mask_interrupts();
    gic::disable(virtual_timer::INTID);

    let fired_at = FIRED_AT.load(Ordering::Acquire);
    let waited = counter::micros_from_ticks(woke - start);
    println!(
        "wfi-timer: woke after {waited} us, timer handler ran at {} us, {early_returns} early WFI returns",
        counter::micros_from_ticks(fired_at - start)
    );
    if woke < deadline || fired_at < deadline {
        fail!("woke after {waited} us, before the {} us deadline", DELAY_MICROS);
    }
    report::pass()
}
