//! `suspend-cycles`: 1000 PSCI SYSTEM_SUSPEND/resume cycles, each woken by the virtual timer armed a
//! pseudo-random time ahead (fixed seed): 0 (the interrupt is pending before the call, IRQs masked),
//! 0..50 us (it fires around the call) or 0..3 ms. One vCPU.
//!
//! Every resume must come at the warm entry with x0 = the cycle's context id (`CONTEXT_BASE + cycle`),
//! DAIF masked, the MMU off, memory intact, not before the timer's deadline; after re-enabling its
//! GIC CPU interface and unmasking, the timer interrupt must be delivered. A lost wake-up leaves the
//! domain suspended for good: the test then sees no more progress lines. Prints
//! `suspend-cycles: <n> cycles, ...` every 100 cycles and a summary (resumes, interrupts, how many
//! were pending at the call, the largest delay from deadline to resume), then
//! `TEST PASS suspend-cycles` if resumes = interrupts = 1000.

#![no_std]
#![no_main]

#[path = "psci_support/mod.rs"]
mod psci_support;

use core::sync::atomic::{AtomicU64, Ordering};

use psci_support::{EntryState, code_name};
use somnus_test_guests::conduit::Conduit;
use somnus_test_guests::gic::{self, Acknowledged};
use somnus_test_guests::random::PseudoRandom;
use somnus_test_guests::start::{set_warm_handler, warm_entry_address};
use somnus_test_guests::{counter, cpu, entry, fail, interrupts, println, report, virtual_timer};

entry!("suspend-cycles", main);

/// Number of cycles.
const CYCLES: u64 = 1000;
/// A progress line every this many cycles.
const REPORT_EVERY: u64 = 100;
/// Context id of cycle 0; cycle n uses `CONTEXT_BASE + n`.
const CONTEXT_BASE: u64 = 0x5C5C_0000_0000_0000;
/// Longest delay, in microseconds.
const MAX_DELAY_MICROS: u64 = 3_000;
/// Seed of the delays.
const SEED: u64 = 0x5EED_0000_0000_1000;
/// A value that must survive every suspension.
const CANARY: u64 = 0xCA4A_4700_0000_0001;

/// The cycle in progress.
static CYCLE: AtomicU64 = AtomicU64::new(0);
/// The pseudo-random generator's state between cycles (its seed for the next draw).
static RANDOM_STATE: AtomicU64 = AtomicU64::new(SEED);
/// This cycle's timer deadline and call time (counter ticks).
static DEADLINE: AtomicU64 = AtomicU64::new(0);
static CALLED_AT: AtomicU64 = AtomicU64::new(0);
/// Resumes, timer interrupts, cycles whose interrupt was pending at the call, the largest delay
/// from deadline to resume (ticks).
static RESUMES: AtomicU64 = AtomicU64::new(0);
static TIMER_INTERRUPTS: AtomicU64 = AtomicU64::new(0);
static PENDING_AT_CALL: AtomicU64 = AtomicU64::new(0);
static LARGEST_LATENCY: AtomicU64 = AtomicU64::new(0);
static TOTAL_SUSPENDED: AtomicU64 = AtomicU64::new(0);
static MEMORY: AtomicU64 = AtomicU64::new(0);
/// Resumes by how long after the deadline they came: up to 1, 2, 5, 20 ms, and later.
static LATENCY_HISTOGRAM: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];
const LATENCY_BOUNDS_MICROS: [u64; 4] = [1_000, 2_000, 5_000, 20_000];
/// Counter value at the start.
static STARTED_AT: AtomicU64 = AtomicU64::new(0);

fn timer_expired(_interrupt: Acknowledged) {
    virtual_timer::disable();
    TIMER_INTERRUPTS.store(TIMER_INTERRUPTS.load(Ordering::Relaxed) + 1, Ordering::Release);
}

/// The next delay in microseconds: one in eight 0, one in eight below 50 us, the rest up to 3 ms.
fn next_delay() -> u64 {
    let state = RANDOM_STATE.load(Ordering::Acquire);
    let mut random = PseudoRandom::new(state);
    let delay = match random.below(8) {
        0 => 0,
        1 => random.below(50),
        _ => random.below(MAX_DELAY_MICROS + 1),
    };
    RANDOM_STATE.store(random.next_u64(), Ordering::Release);
    delay
}

fn main(device_tree_address: u64) -> ! {
    let detection = gic::init(device_tree_address);
    interrupts::set_handler(virtual_timer::INTID, Some(timer_expired));
    gic::enable(virtual_timer::INTID);
    set_warm_handler(resumed);
    MEMORY.store(CANARY, Ordering::Release);
    println!(
        "suspend-cycles: {detection}; start: {CYCLES} SYSTEM_SUSPEND cycles woken by the virtual timer, delays \
         0..{MAX_DELAY_MICROS} us"
    );
    STARTED_AT.store(counter::now(), Ordering::Release);
    suspend(0)
}

fn suspend(cycle: u64) -> ! {
    CYCLE.store(cycle, Ordering::Release);
    let delay = next_delay();
    psci_support::leave_traces();
    let deadline = psci_support::arm_timer_in(delay);
    if delay == 0 {
        // Let the timer fire (IRQs stay masked) so the interrupt is pending before the call.
        counter::delay_micros(20);
    }
    let now = counter::now();
    if now >= deadline {
        PENDING_AT_CALL.store(PENDING_AT_CALL.load(Ordering::Relaxed) + 1, Ordering::Release);
    }
    DEADLINE.store(deadline, Ordering::Release);
    CALLED_AT.store(now, Ordering::Release);
    let result = psci_support::system_suspend_at(Conduit::Hvc, warm_entry_address(), CONTEXT_BASE + cycle);
    fail!("cycle {cycle}: SYSTEM_SUSPEND returned {result:#x} ({})", code_name(result))
}

fn resumed(context_id: u64) -> ! {
    let state = EntryState::read();
    let entered = counter::now();
    let cycle = CYCLE.load(Ordering::Acquire);
    if context_id != CONTEXT_BASE + cycle {
        fail!("cycle {cycle}: resumed with context id {context_id:#x}, expected {:#x}", CONTEXT_BASE + cycle);
    }
    if cpu::index() != 0 {
        fail!("cycle {cycle}: vCPU {} resumed", cpu::index());
    }
    state.check("resume");
    if MEMORY.load(Ordering::Acquire) != CANARY {
        fail!("cycle {cycle}: memory changed while suspended");
    }
    let deadline = DEADLINE.load(Ordering::Acquire);
    if entered < deadline {
        fail!(
            "cycle {cycle}: resumed {} us before the timer's deadline",
            counter::micros_from_ticks(deadline - entered)
        );
    }
    let resumes = RESUMES.load(Ordering::Relaxed) + 1;
    RESUMES.store(resumes, Ordering::Release);
    let latency = entered - deadline;
    if latency > LARGEST_LATENCY.load(Ordering::Relaxed) {
        LARGEST_LATENCY.store(latency, Ordering::Release);
    }
    let latency_micros = counter::micros_from_ticks(latency);
    let bucket = LATENCY_BOUNDS_MICROS.iter().position(|&bound| latency_micros <= bound).unwrap_or(4);
    LATENCY_HISTOGRAM[bucket].store(LATENCY_HISTOGRAM[bucket].load(Ordering::Relaxed) + 1, Ordering::Release);
    let called_at = CALLED_AT.load(Ordering::Acquire);
    TOTAL_SUSPENDED.store(TOTAL_SUSPENDED.load(Ordering::Relaxed) + (entered - called_at), Ordering::Release);
    psci_support::reenable_cpu_interface();
    let before = TIMER_INTERRUPTS.load(Ordering::Acquire);
    if !psci_support::unmasked_until(100_000, || TIMER_INTERRUPTS.load(Ordering::Acquire) > before) {
        fail!("cycle {cycle}: the timer interrupt that woke the domain was not delivered after unmasking");
    }
    let cycles = cycle + 1;
    if cycles.is_multiple_of(REPORT_EVERY) {
        println!(
            "suspend-cycles: {cycles} cycles, {resumes} resumes, {} timer interrupts, {} pending at the call, \
             largest deadline-to-resume {} us",
            TIMER_INTERRUPTS.load(Ordering::Acquire),
            PENDING_AT_CALL.load(Ordering::Acquire),
            counter::micros_from_ticks(LARGEST_LATENCY.load(Ordering::Acquire))
        );
    }
    if cycles < CYCLES {
        suspend(cycles);
    }
    finish()
}

fn finish() -> ! {
    // Interrupts that arrive late or twice would show up here.
    psci_support::unmasked_until(10_000, || false);
    let resumes = RESUMES.load(Ordering::Acquire);
    let interrupts = TIMER_INTERRUPTS.load(Ordering::Acquire);
    let elapsed = counter::micros_from_ticks(counter::now() - STARTED_AT.load(Ordering::Acquire));
    println!(
        "suspend-cycles: done: {CYCLES} cycles, {resumes} resumes, {interrupts} timer interrupts, {} pending at the \
         call, {} us suspended of {elapsed} us, largest deadline-to-resume {} us, 0 lost",
        PENDING_AT_CALL.load(Ordering::Acquire),
        counter::micros_from_ticks(TOTAL_SUSPENDED.load(Ordering::Acquire)),
        counter::micros_from_ticks(LARGEST_LATENCY.load(Ordering::Acquire))
    );
    let histogram: [u64; 5] = core::array::from_fn(|bucket| LATENCY_HISTOGRAM[bucket].load(Ordering::Acquire));
    println!(
        "suspend-cycles: deadline-to-resume: {} within 1 ms, {} within 2 ms, {} within 5 ms, {} within 20 ms, {} later",
        histogram[0], histogram[1], histogram[2], histogram[3], histogram[4]
    );
    if resumes != CYCLES || interrupts != CYCLES {
        fail!("{resumes} resumes and {interrupts} timer interrupts for {CYCLES} cycles");
    }
    report::pass()
}
