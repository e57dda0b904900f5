//! `virtual-timer`: runs the virtual timer (PPI 27) at 1 kHz for 2 s of counter time and checks that
//! no tick was lost and none was spurious.
//!
//! The handler moves CNTV_CVAL_EL0 on by one period (not from "now"), so a late tick is followed by the
//! ones it delayed and the tick count follows the counter. After the 2 s, the guest keeps taking
//! interrupts until it has handled one tick per deadline of those 2 s (a host that stalls QEMU only
//! delays ticks; a lost one never comes), at most 5 s more: exactly 2000 must be handled, and every
//! handler invocation must see CNTV_CTL_EL0.ISTATUS set.

#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use somnus_test_guests::gic::{self, Acknowledged};
use somnus_test_guests::{counter, cpu, entry, fail, interrupts, println, report, virtual_timer};

entry!("virtual-timer", main);

/// Tick rate, in ticks per second.
const RATE_HERTZ: u64 = 1000;

/// How many ticks to run for (2 s at 1 kHz).
const TICKS: u64 = 2000;

/// Timer period, in counter ticks (set before the timer starts).
static PERIOD: AtomicU64 = AtomicU64::new(0);

/// Handler invocations that saw the timer condition met.
static HANDLED: AtomicU64 = AtomicU64::new(0);

/// Handler invocations that saw ISTATUS clear.
static WITHOUT_CONDITION: AtomicU64 = AtomicU64::new(0);

/// Largest delay from a deadline to its handler, in counter ticks.
static LARGEST_LATENCY: AtomicU64 = AtomicU64::new(0);

fn tick(_interrupt: Acknowledged) {
    if !virtual_timer::condition_met() {
        WITHOUT_CONDITION.store(WITHOUT_CONDITION.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        return;
    }
    let deadline = virtual_timer::deadline();
    let latency = counter::now().saturating_sub(deadline);
    LARGEST_LATENCY.store(LARGEST_LATENCY.load(Ordering::Relaxed).max(latency), Ordering::Relaxed);
    let handled = HANDLED.load(Ordering::Relaxed) + 1;
    HANDLED.store(handled, Ordering::Relaxed);
    if handled < TICKS {
        virtual_timer::set_deadline(deadline + PERIOD.load(Ordering::Relaxed));
    } else {
        // The last deadline of the run: no more ticks.
        virtual_timer::disable();
    }
}

/// Seconds the guest waits, after the run, for ticks a stalled host delayed.
const CATCH_UP_SECONDS: u64 = 5;

fn main(device_tree: u64) -> ! {
    let detection = gic::init(device_tree);
    let period = counter::frequency() / RATE_HERTZ;
    PERIOD.store(period, Ordering::Relaxed);
    println!(
        "virtual-timer: {detection}; {RATE_HERTZ} Hz for {TICKS} ticks, counter at {} Hz, period {period} ticks",
        counter::frequency()
    );
    interrupts::set_handler(virtual_timer::INTID, Some(tick));
    gic::enable(virtual_timer::INTID);

    let start = counter::now();
    let end = start + TICKS * period;
    virtual_timer::arm_at(start + period);
    cpu::unmask_interrupts();
    while counter::now() < end {
        cpu::wait_for_interrupt();
    }
    let catch_up_end = counter::now() + CATCH_UP_SECONDS * counter::frequency();
    while HANDLED.load(Ordering::Relaxed) < TICKS && counter::now() < catch_up_end {
        cpu::wait_for_interrupt();
    }
    cpu::mask_interrupts();
    let stop = counter::now().min(end);
    virtual_timer::disable();
    gic::disable(virtual_timer::INTID);

    let handled = HANDLED.load(Ordering::Relaxed);
    let expected = (stop - start) / period;
    let without_condition = WITHOUT_CONDITION.load(Ordering::Relaxed);
    println!(
        "virtual-timer: {handled} ticks in {} us, {expected} deadlines passed by CNTVCT, {without_condition} \
         without ISTATUS, {} spurious IRQs, largest latency {} us",
        counter::micros_from_ticks(stop - start),
        interrupts::spurious_count(cpu::index()),
        counter::micros_from_ticks(LARGEST_LATENCY.load(Ordering::Relaxed))
    );
    if without_condition != 0 {
        fail!("{without_condition} handler invocations saw CNTV_CTL_EL0.ISTATUS clear (spurious ticks)");
    }
    if handled != TICKS || expected.abs_diff(TICKS) > 1 {
        fail!("{handled} ticks handled, {expected} deadlines passed by CNTVCT, {TICKS} expected (lost ticks)");
    }
    report::pass()
}
