//! `stale-timer-suspend`: the smallest reproduction of a fault Linux runs into under Somnus
//! (issue 7): a SYSTEM_SUSPEND is resumed at once by a virtual timer interrupt that the guest's
//! timer no longer asserts.
//!
//! Linux's suspend path does what this guest does: with IRQs masked its tick may expire (the
//! virtual timer's PPI 27 becomes pending, and Somnus puts it in a list register), then the tick
//! is shut down (CNTV_CTL_EL0.ENABLE = 0, so the level-sensitive interrupt is no longer asserted
//! and a GIC no longer holds it pending), then SYSTEM_SUSPEND. The only wake-up left is the RTC
//! alarm 2 s ahead. Each of [`ROUNDS`] rounds prints how long the domain slept; a resume within
//! [`TOO_SOON_MICROS`] is the fault (`TEST FAIL`), about 1–2 s is right (`TEST PASS` after every
//! round).

#![no_std]
#![no_main]

#[path = "psci_support/mod.rs"]
mod psci_support;

use core::sync::atomic::{AtomicU64, Ordering};

use somnus_test_guests::conduit::Conduit;
use somnus_test_guests::gic::{self, Acknowledged};
use somnus_test_guests::start::{set_warm_handler, warm_entry_address};
use somnus_test_guests::{counter, entry, fail, interrupts, pl031, println, report, virtual_timer};

entry!("stale-timer-suspend", main);

/// Rounds of the experiment.
const ROUNDS: u64 = 3;
/// A resume sooner than this (microseconds) came before the RTC alarm could fire.
const TOO_SOON_MICROS: u64 = 500_000;
/// The timer expires this long after it is armed; the guest then waits [`EXPIRED_FOR_MICROS`].
const TIMER_MICROS: u64 = 1_000;
const EXPIRED_FOR_MICROS: u64 = 5_000;
/// Context id of round n: `CONTEXT_BASE + n`.
const CONTEXT_BASE: u64 = 0x57A1_E000_0000_0000;

static ROUND: AtomicU64 = AtomicU64::new(0);
static CALLED_AT: AtomicU64 = AtomicU64::new(0);
static TIMER_INTERRUPTS: AtomicU64 = AtomicU64::new(0);
static RTC_INTERRUPTS: AtomicU64 = AtomicU64::new(0);

fn timer_expired(_interrupt: Acknowledged) {
    virtual_timer::disable();
    TIMER_INTERRUPTS.store(TIMER_INTERRUPTS.load(Ordering::Relaxed) + 1, Ordering::Release);
}

fn rtc_alarm(_interrupt: Acknowledged) {
    pl031::clear_alarm();
    pl031::disable_alarm();
    RTC_INTERRUPTS.store(RTC_INTERRUPTS.load(Ordering::Relaxed) + 1, Ordering::Release);
}

fn main(device_tree_address: u64) -> ! {
    let detection = gic::init(device_tree_address);
    interrupts::set_handler(virtual_timer::INTID, Some(timer_expired));
    interrupts::set_handler(pl031::INTID, Some(rtc_alarm));
    gic::enable(virtual_timer::INTID);
    gic::enable(pl031::INTID);
    gic::route_spi(pl031::INTID, 0);
    set_warm_handler(resumed);
    println!("stale-timer-suspend: {detection}; {ROUNDS} rounds");
    suspend(0)
}

/// Lets the timer expire with IRQs masked, disables it, and suspends with the RTC alarm armed.
fn suspend(round: u64) -> ! {
    ROUND.store(round, Ordering::Release);
    psci_support::arm_timer_in(TIMER_MICROS);
    counter::delay_micros(TIMER_MICROS + EXPIRED_FOR_MICROS);
    let expired = virtual_timer::condition_met();
    virtual_timer::disable();
    pl031::arm_alarm(pl031::seconds() + 2);
    println!("stale-timer-suspend: round {round}: timer expired ({expired}) and disabled; suspending");
    CALLED_AT.store(counter::now(), Ordering::Release);
    let result = psci_support::system_suspend_at(Conduit::Hvc, warm_entry_address(), CONTEXT_BASE + round);
    fail!("round {round}: SYSTEM_SUSPEND returned {result:#x}")
}

fn resumed(context_id: u64) -> ! {
    let slept = counter::micros_from_ticks(counter::now() - CALLED_AT.load(Ordering::Acquire));
    let round = ROUND.load(Ordering::Acquire);
    if context_id != CONTEXT_BASE + round {
        fail!("round {round}: resumed with context id {context_id:#x}");
    }
    psci_support::reenable_cpu_interface();
    let (timer_before, rtc_before) = (TIMER_INTERRUPTS.load(Ordering::Acquire), RTC_INTERRUPTS.load(Ordering::Acquire));
    psci_support::unmasked_until(20_000, || false);
    let timer = TIMER_INTERRUPTS.load(Ordering::Acquire) - timer_before;
    let rtc = RTC_INTERRUPTS.load(Ordering::Acquire) - rtc_before;
    println!(
        "stale-timer-suspend: round {round}: resumed after {slept} us; then took {timer} timer and {rtc} RTC \
         interrupts"
    );
    if slept < TOO_SOON_MICROS {
        fail!(
            "round {round}: resumed after {slept} us, before the RTC alarm, by an interrupt its disabled timer no \
             longer asserted"
        );
    }
    if round + 1 < ROUNDS {
        pl031::disable_alarm();
        suspend(round + 1);
    }
    report::pass()
}
