//! SYSTEM_SUSPEND and resume, with one vCPU on its physical CPU:
//! - `system-suspend`: from the guest's call until its physical CPU idles (the hypervisor's idle
//!   WFI), and
//! - `resume`: from the wake-up interrupt (the hypervisor's idle WFI returning) until the first
//!   instruction at the guest's resume entry point.
//!
//! The guest's virtual timer wakes it: the hypervisor notices its deadline on the EL2 tick, so the
//! wake-up interrupt is that tick. The hypervisor's side of both figures is read from a benchmark
//! build of Somnus (cargo feature `bench`, kernel/src/bench.rs): each physical CPU records the
//! physical counter right before and right after its idle WFI, which a guest load from
//! [`PROBE_BASE`] returns. The guest's side is the physical counter before its call and at the
//! first instruction of its warm entry ([`start::entry_count`]).

use core::arch::asm;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use somnus_test_guests::gic::{self, Acknowledged};
use somnus_test_guests::timing::Series;
use somnus_test_guests::{fail, interrupts, report, start, virtual_timer};

use crate::psci_support::{self, code_name};

/// Where a benchmark build of Somnus answers loads: offset 0 the physical counter when the
/// caller's CPU last started idling, offset 8 when it last stopped (kernel/src/bench.rs).
const PROBE_BASE: usize = 0x0BE0_0000;

/// SYSTEM_SUSPEND, 64-bit.
const SYSTEM_SUSPEND: u64 = 0xC400_000E;

/// Context id of cycle 0; cycle n resumes with `CONTEXT_BASE + n`.
const CONTEXT_BASE: u64 = 0xBE5C_0000_0000_0000;

/// How far ahead the wake-up deadline lies, in counter ticks: past the whole suspend path, so the
/// timer cannot fire before the vCPU is parked (a pending interrupt would cancel the suspend).
const WAKE_AFTER: u64 = 50_000;

/// How long the resumed guest waits for the timer interrupt that woke it, in microseconds.
const INTERRUPT_TIMEOUT_MICROS: u64 = 100_000;

/// The samples of `system-suspend` and `resume`.
const SUSPEND_SERIES: Series = Series::new(0);
const RESUME_SERIES: Series = Series::new(1);

/// Cycles to run, the empty costs, and the cycle in progress: kept across resumes.
static CYCLES: AtomicUsize = AtomicUsize::new(0);
static EMPTY: AtomicU64 = AtomicU64::new(0);
static EMPTY_WITH_STORE: AtomicU64 = AtomicU64::new(0);
static CYCLE: AtomicUsize = AtomicUsize::new(0);
/// The physical counter just before the call, stored by the call's own assembly.
static CALLED_AT: AtomicU64 = AtomicU64::new(0);
/// Timer interrupts taken.
static TIMER_INTERRUPTS: AtomicU64 = AtomicU64::new(0);

fn timer_expired(_interrupt: Acknowledged) {
    virtual_timer::disable();
    TIMER_INTERRUPTS.store(TIMER_INTERRUPTS.load(Ordering::Relaxed) + 1, Ordering::Release);
}

/// One of the two records of the probe.
fn probe(offset: usize) -> u64 {
    let address = (PROBE_BASE + offset) as *const u64;
    // SAFETY: a benchmark build of Somnus answers 64-bit loads from the probe (nothing is mapped
    // there; without the `bench` feature the load aborts and the guest reports it).
    unsafe { address.read_volatile() }
}

/// The cost of an empty measurement shaped like the call's: a counter read, its store, a read.
fn empty_with_store() -> u64 {
    let slot = AtomicU64::new(0);
    let end: u64;
    // SAFETY: the store goes to the local `slot`.
    unsafe {
        asm!(
            "mrs {start}, cntpct_el0",
            "str {start}, [{slot}]",
            "mrs {end}, cntpct_el0",
            start = out(reg) _,
            end = out(reg) end,
            slot = in(reg) slot.as_ptr(),
            options(nostack),
        );
    }
    end - slot.load(Ordering::Relaxed)
}

/// Runs `cycles` suspend/resume cycles, reports both paths and passes; never returns.
pub fn run(cycles: usize, empty: u64) -> ! {
    CYCLES.store(cycles, Ordering::Release);
    EMPTY.store(empty, Ordering::Release);
    let with_store = (0..cycles.max(1)).map(|_| empty_with_store()).min().unwrap_or(0);
    EMPTY_WITH_STORE.store(with_store, Ordering::Release);
    SUSPEND_SERIES.clear();
    RESUME_SERIES.clear();
    interrupts::set_handler(virtual_timer::INTID, Some(timer_expired));
    gic::enable(virtual_timer::INTID);
    start::set_warm_handler(resumed);
    suspend(0)
}

/// Arms the wake-up and suspends; returns only if the call fails.
fn suspend(cycle: usize) -> ! {
    CYCLE.store(cycle, Ordering::Release);
    virtual_timer::arm_at(virtual_count() + WAKE_AFTER);
    let result: u64;
    // SAFETY: SYSTEM_SUSPEND either fails (x0..x17 may change, declared) or resumes at the warm
    // entry with a fresh stack; the store goes to a static.
    unsafe {
        asm!(
            "mrs {start}, cntpct_el0",
            "str {start}, [{slot}]",
            "hvc #0",
            start = out(reg) _,
            slot = in(reg) CALLED_AT.as_ptr(),
            inout("x0") SYSTEM_SUSPEND => result,
            inout("x1") start::warm_entry_address() => _,
            inout("x2") CONTEXT_BASE + cycle as u64 => _,
            out("x3") _, out("x4") _, out("x5") _, out("x6") _, out("x7") _, out("x8") _, out("x9") _,
            out("x10") _, out("x11") _, out("x12") _, out("x13") _, out("x14") _, out("x15") _,
            out("x16") _, out("x17") _,
            options(nostack),
        );
    }
    fail!("cycle {cycle}: SYSTEM_SUSPEND returned {result:#x} ({})", code_name(result))
}

/// The virtual counter.
fn virtual_count() -> u64 {
    let value;
    // SAFETY: reading the virtual counter has no side effect.
    unsafe { asm!("mrs {}, cntvct_el0", out(reg) value, options(nostack, preserves_flags)) };
    value
}

/// The warm entry after a resume: records both samples, takes the timer interrupt that woke the
/// guest, and suspends again or reports.
fn resumed(context_id: u64) -> ! {
    let entered = start::entry_count();
    let (idle_started, idle_ended) = (probe(0), probe(8));
    let cycle = CYCLE.load(Ordering::Acquire);
    if context_id != CONTEXT_BASE + cycle as u64 {
        fail!("cycle {cycle}: resumed with context id {context_id:#x}");
    }
    let called = CALLED_AT.load(Ordering::Acquire);
    if !(called < idle_started && idle_started < idle_ended && idle_ended < entered) {
        fail!(
            "cycle {cycle}: out of order: called at {called}, idle {idle_started}..{idle_ended}, entered at {entered} \
             (is this a benchmark build of Somnus?)"
        );
    }
    SUSPEND_SERIES.push(idle_started - called - EMPTY_WITH_STORE.load(Ordering::Relaxed));
    RESUME_SERIES.push(entered - idle_ended - EMPTY.load(Ordering::Relaxed));
    psci_support::reenable_cpu_interface();
    let before = TIMER_INTERRUPTS.load(Ordering::Acquire);
    if !psci_support::unmasked_until(INTERRUPT_TIMEOUT_MICROS, || TIMER_INTERRUPTS.load(Ordering::Acquire) > before) {
        fail!("cycle {cycle}: the timer interrupt that woke the guest never came");
    }
    let next = cycle + 1;
    if next < CYCLES.load(Ordering::Acquire) {
        suspend(next);
    }
    SUSPEND_SERIES.statistics().report("system-suspend");
    RESUME_SERIES.statistics().report("resume");
    report::pass()
}
