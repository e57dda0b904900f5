//! `sleeper`: a domain that naps, for the demo and for `pwrctl watch`. Forever: it arms its PL031
//! RTC's alarm `nap` seconds ahead (command line `nap=N`, default 3), suspends the whole domain with
//! PSCI SYSTEM_SUSPEND, is resumed at its entry point by the alarm, prints how long it slept, and
//! stays awake `awake` seconds (default 2) waiting in WFI for its virtual timer. Lines:
//! `sleeper: nap <n>: suspending, RTC alarm in <nap> s` and
//! `sleeper: nap <n>: resumed after <ms> ms by the RTC alarm`.

#![no_std]
#![no_main]

#[path = "psci_support/mod.rs"]
mod psci_support;

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use psci_support::code_name;
use somnus_test_guests::conduit::Conduit;
use somnus_test_guests::gic::{self, Acknowledged};
use somnus_test_guests::start::{set_warm_handler, warm_entry_address};
use somnus_test_guests::{counter, cpu, device_tree, entry, fail, interrupts, pl031, println, virtual_timer};

entry!("sleeper", main);

/// Context id of nap 0; nap n resumes with `CONTEXT_BASE + n`.
const CONTEXT_BASE: u64 = 0x5E5E_0000_0000_0000;

/// Seconds per nap and seconds awake between naps.
static NAP_SECONDS: AtomicU64 = AtomicU64::new(3);
static AWAKE_SECONDS: AtomicU64 = AtomicU64::new(2);
/// The nap in progress, and the counter value when it began.
static NAP: AtomicU64 = AtomicU64::new(0);
static SUSPENDED_AT: AtomicU64 = AtomicU64::new(0);
/// Set by the interrupt handlers.
static ALARM_RANG: AtomicBool = AtomicBool::new(false);
static TIMER_FIRED: AtomicBool = AtomicBool::new(false);

fn rtc_alarm(_interrupt: Acknowledged) {
    pl031::clear_alarm();
    ALARM_RANG.store(true, Ordering::Release);
}

fn timer_expired(_interrupt: Acknowledged) {
    virtual_timer::disable();
    TIMER_FIRED.store(true, Ordering::Release);
}

fn main(device_tree_address: u64) -> ! {
    let tree = device_tree::parse(device_tree_address);
    let option = |key: &str| {
        tree.as_ref()
            .and_then(device_tree::bootargs)
            .and_then(|arguments| device_tree::command_line_value(arguments, key))
            .and_then(|value| value.parse::<u64>().ok())
            .filter(|&value| (1..=3600).contains(&value))
    };
    if let Some(nap) = option("nap") {
        NAP_SECONDS.store(nap, Ordering::Release);
    }
    if let Some(awake) = option("awake") {
        AWAKE_SECONDS.store(awake, Ordering::Release);
    }
    let detection = gic::init(device_tree_address);
    interrupts::set_handler(pl031::INTID, Some(rtc_alarm));
    interrupts::set_handler(virtual_timer::INTID, Some(timer_expired));
    gic::route_spi(pl031::INTID, 0);
    gic::enable(pl031::INTID);
    gic::enable(virtual_timer::INTID);
    set_warm_handler(resumed);
    println!(
        "sleeper: {detection}; napping {} s at a time (SYSTEM_SUSPEND, woken by the RTC alarm), awake {} s between",
        NAP_SECONDS.load(Ordering::Acquire),
        AWAKE_SECONDS.load(Ordering::Acquire)
    );
    nap(0)
}

fn nap(number: u64) -> ! {
    NAP.store(number, Ordering::Release);
    let seconds = NAP_SECONDS.load(Ordering::Acquire);
    println!("sleeper: nap {number}: suspending, RTC alarm in {seconds} s");
    ALARM_RANG.store(false, Ordering::Release);
    pl031::arm_alarm(pl031::seconds().wrapping_add(seconds as u32));
    SUSPENDED_AT.store(counter::now(), Ordering::Release);
    let result = psci_support::system_suspend_at(Conduit::Hvc, warm_entry_address(), CONTEXT_BASE + number);
    fail!("nap {number}: SYSTEM_SUSPEND returned {result:#x} ({})", code_name(result))
}

fn resumed(context_id: u64) -> ! {
    let number = NAP.load(Ordering::Acquire);
    if context_id != CONTEXT_BASE + number {
        fail!("nap {number}: resumed with context id {context_id:#x}");
    }
    let slept = counter::micros_from_ticks(counter::now() - SUSPENDED_AT.load(Ordering::Acquire));
    psci_support::reenable_cpu_interface();
    if !psci_support::unmasked_until(100_000, || ALARM_RANG.load(Ordering::Acquire)) {
        fail!("nap {number}: resumed after {} ms, but the RTC alarm never arrived", slept / 1000);
    }
    println!("sleeper: nap {number}: resumed after {} ms by the RTC alarm", slept / 1000);
    stay_awake(AWAKE_SECONDS.load(Ordering::Acquire) * 1_000_000);
    nap(number + 1)
}

/// Waits `micros` in WFI for the virtual timer, leaving the CPU to others.
fn stay_awake(micros: u64) {
    TIMER_FIRED.store(false, Ordering::Release);
    psci_support::arm_timer_in(micros);
    while !TIMER_FIRED.load(Ordering::Acquire) {
        cpu::unmask_interrupts();
        cpu::wait_for_interrupt();
        cpu::mask_interrupts();
    }
}
