//! `psci-races`: four vCPUs racing PSCI power calls against each other, thousands of times, checking
//! that every answer fits some serial order of the calls. vCPU 0 coordinates; vCPUs 1 and 2 are
//! workers that run commands; vCPU 3 is the target (started with a context id that says what it is to
//! do, and counting its starts). Needs a domain with 4 vCPUs, each on its own physical CPU.
//!
//! Rounds, in order:
//! - `concurrent CPU_ON` ([`ROUNDS_CONCURRENT_ON`]): vCPUs 0, 1 and 2 call CPU_ON(3) at the same
//!   counter time; vCPU 3 stays on until all three returned. Exactly one must get SUCCESS, the others
//!   ALREADY_ON, and vCPU 3 must have started once, with the winner's context id.
//! - `CPU_ON against CPU_OFF` ([`ROUNDS_ON_OFF`]): vCPU 3 calls CPU_OFF while vCPU 1 calls CPU_ON(3),
//!   with pseudo-random offsets. SUCCESS must mean vCPU 3 started again with vCPU 1's context id;
//!   ALREADY_ON that it did not. Both outcomes are counted.
//! - `SYSTEM_SUSPEND while a vCPU is on` ([`ROUNDS_SUSPEND_DENIED`]): vCPU 2 loops CPU_ON(3) (vCPU 3
//!   turns itself off at once) while vCPU 0 calls SYSTEM_SUSPEND; vCPU 1 is on throughout, so every
//!   SYSTEM_SUSPEND must be DENIED; vCPU 2's successes must equal vCPU 3's starts.
//! - `SYSTEM_SUSPEND against the last CPU_OFFs` ([`ROUNDS_SUSPEND_RACE`]): vCPUs 1, 2 and 3 call
//!   CPU_OFF at pseudo-random moments while vCPU 0 calls SYSTEM_SUSPEND until it succeeds (its
//!   virtual timer, armed a little ahead, wakes it). DENIED is only allowed while some vCPU was on:
//!   if AFFINITY_INFO said all three were off before the call, the call must succeed (nobody was left
//!   to turn one on). A success must resume at the entry point with the round's context id, with
//!   every other vCPU having called CPU_OFF and AFFINITY_INFO saying OFF for each.
//!
//! Prints a line per round type with the outcome counts, then `TEST PASS psci-races`.

#![no_std]
#![no_main]

#[path = "psci_support/mod.rs"]
mod psci_support;

use core::sync::atomic::{AtomicU64, Ordering};

use psci_support::{AFFINITY_OFF, AFFINITY_ON, ALREADY_ON, DENIED, EntryState, SUCCESS, affinity, code_name};
use somnus_test_guests::conduit::Conduit;
use somnus_test_guests::gic::{self, Acknowledged};
use somnus_test_guests::random::PseudoRandom;
use somnus_test_guests::smccc::psci;
use somnus_test_guests::start::{set_warm_handler, warm_entry_address};
use somnus_test_guests::{counter, cpu, entry, fail, interrupts, println, report, virtual_timer};

entry!("psci-races", main);

const ROUNDS_CONCURRENT_ON: u64 = 150;
const ROUNDS_ON_OFF: u64 = 150;
const ROUNDS_SUSPEND_DENIED: u64 = 100;
const ROUNDS_SUSPEND_RACE: u64 = 80;
/// SYSTEM_SUSPEND calls per round while vCPU 1 is on.
const SUSPENDS_PER_DENIED_ROUND: u64 = 5;

const VCPUS: usize = 4;
const TARGET: usize = 3;
/// Longest wait for anything, in microseconds.
const TIMEOUT_MICROS: u64 = 2_000_000;
/// How far after the coordinator sets a start time the racing calls begin, in microseconds.
const LEAD_MICROS: u64 = 100;
/// Largest pseudo-random offset of a racing call, in microseconds.
const JITTER_MICROS: u64 = 60;

/// What a vCPU does when it enters at the warm entry: bits 63:48 of its context id.
const KIND_SHIFT: u32 = 48;
const KIND_WORKER: u64 = 1;
/// vCPU 3 in a concurrent-CPU_ON round: stay on until every caller returned, then CPU_OFF.
const KIND_WAIT_THEN_OFF: u64 = 2;
/// vCPU 3 in a CPU_ON-against-CPU_OFF round: CPU_OFF at the round's start time plus its offset.
const KIND_OFF_AT_GO: u64 = 3;
/// vCPU 3 started again during a race: CPU_OFF at once.
const KIND_OFF_AT_ONCE: u64 = 4;
/// vCPU 0 resumed from a SYSTEM_SUSPEND that was allowed to succeed.
const KIND_RESUME: u64 = 5;
/// vCPU 0 resumed from a SYSTEM_SUSPEND that had to be DENIED.
const KIND_WRONG_RESUME: u64 = 6;

fn context(kind: u64, round: u64, caller: usize) -> u64 {
    (kind << KIND_SHIFT) | ((round & 0xFFFF_FFFF) << 8) | caller as u64
}

/// Worker commands (per worker mailbox).
const COMMAND_NONE: u64 = 0;
/// Call CPU_ON(3) with the context id in PARAMETER at GO (+ offset in OFFSET); result to RESULT.
const COMMAND_CPU_ON_AT_GO: u64 = 1;
/// Loop CPU_ON(3) until STOP is set; successes counted in RESULT.
const COMMAND_CPU_ON_LOOP: u64 = 2;
/// CPU_OFF at GO + OFFSET.
const COMMAND_CPU_OFF_AT_GO: u64 = 3;

static COMMANDS: [AtomicU64; VCPUS] = [const { AtomicU64::new(0) }; VCPUS];
static PARAMETERS: [AtomicU64; VCPUS] = [const { AtomicU64::new(0) }; VCPUS];
static OFFSETS: [AtomicU64; VCPUS] = [const { AtomicU64::new(0) }; VCPUS];
static RESULTS: [AtomicU64; VCPUS] = [const { AtomicU64::new(0) }; VCPUS];
/// Set by a worker when its result is in RESULTS (cleared by the coordinator).
static POSTED: [AtomicU64; VCPUS] = [const { AtomicU64::new(0) }; VCPUS];
/// Entries at the warm entry and the last context id, per vCPU.
static STARTS: [AtomicU64; VCPUS] = [const { AtomicU64::new(0) }; VCPUS];
static LAST_CONTEXT: [AtomicU64; VCPUS] = [const { AtomicU64::new(0) }; VCPUS];
/// 1 from a vCPU's entry until just before its CPU_OFF.
static ALIVE: [AtomicU64; VCPUS] = [const { AtomicU64::new(0) }; VCPUS];
/// The round's start time (counter ticks) and a flag that ends a loop.
static GO: AtomicU64 = AtomicU64::new(0);
static STOP: AtomicU64 = AtomicU64::new(0);
/// The suspend-race round in progress and its context id.
static ROUND: AtomicU64 = AtomicU64::new(0);
static EXPECTED_RESUME: AtomicU64 = AtomicU64::new(0);
static RANDOM_STATE: AtomicU64 = AtomicU64::new(0x5EED_0000_0000_4ACE);
/// Outcome counters of the suspend race (kept across the resumes).
static SUSPEND_DENIED: AtomicU64 = AtomicU64::new(0);
static SUSPEND_CALLS: AtomicU64 = AtomicU64::new(0);
static TIMER_INTERRUPTS: AtomicU64 = AtomicU64::new(0);
static STARTED_AT: AtomicU64 = AtomicU64::new(0);

/// Milliseconds since the previous call (since the start for the first).
fn lap() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = counter::now();
    let last = LAST.swap(now, Ordering::AcqRel);
    let since = if last == 0 { STARTED_AT.load(Ordering::Acquire) } else { last };
    counter::micros_from_ticks(now - since) / 1000
}

fn bump(value: &AtomicU64) {
    value.store(value.load(Ordering::Relaxed) + 1, Ordering::Release);
}

fn random_below(bound: u64) -> u64 {
    let mut random = PseudoRandom::new(RANDOM_STATE.load(Ordering::Relaxed));
    let value = random.below(bound);
    RANDOM_STATE.store(random.next_u64(), Ordering::Relaxed);
    value
}

fn timer_expired(_interrupt: Acknowledged) {
    virtual_timer::disable();
    bump(&TIMER_INTERRUPTS);
}

fn wait(what: &str, round: u64, condition: impl Fn() -> bool) {
    if !psci_support::wait_until(TIMEOUT_MICROS, condition) {
        fail!(
            "round {round}: timed out waiting for {what} (AFFINITY_INFO 1..3: {:#x} {:#x} {:#x})",
            affinity(1),
            affinity(2),
            affinity(3)
        );
    }
}

fn cpu_on(target: usize, context_id: u64) -> u64 {
    psci_support::cpu_on_at(Conduit::Hvc, target as u64, warm_entry_address(), context_id)
}

/// Clears ALIVE and calls CPU_OFF, which must not return.
fn cpu_off() -> ! {
    let index = cpu::index();
    ALIVE[index].store(0, Ordering::Release);
    let result = psci_support::call(Conduit::Smc, psci::PSCI_CPU_OFF, &[]);
    fail!("CPU_OFF on vCPU {index} returned {result:#x} ({})", code_name(result))
}

/// Waits until the round's start time plus `offset_micros` (GO = `u64::MAX` until it is set).
fn wait_for_go(offset_micros: u64) {
    let offset = counter::ticks_from_micros(offset_micros);
    loop {
        let go = GO.load(Ordering::Acquire);
        if go != u64::MAX && counter::now() >= go + offset {
            return;
        }
        core::hint::spin_loop();
    }
}

fn main(device_tree_address: u64) -> ! {
    let detection = gic::init(device_tree_address);
    interrupts::set_handler(virtual_timer::INTID, Some(timer_expired));
    gic::enable(virtual_timer::INTID);
    set_warm_handler(entered);
    ALIVE[0].store(1, Ordering::Release);
    STARTED_AT.store(counter::now(), Ordering::Release);
    println!("psci-races: {detection}; {VCPUS} vCPUs");
    for worker in [1, 2] {
        start_worker(worker, 0);
    }
    concurrent_cpu_on();
    cpu_on_against_cpu_off();
    suspend_while_on();
    suspend_race(0)
}

fn start_worker(worker: usize, round: u64) {
    let starts = STARTS[worker].load(Ordering::Acquire);
    let result = cpu_on(worker, context(KIND_WORKER, round, 0));
    if result != SUCCESS {
        fail!("round {round}: CPU_ON({worker}) of an off worker returned {result:#x} ({})", code_name(result));
    }
    wait("a worker to start", round, || STARTS[worker].load(Ordering::Acquire) > starts);
}

/// Every start and resume.
fn entered(context_id: u64) -> ! {
    let state = EntryState::read();
    let index = cpu::index();
    state.check("entry");
    LAST_CONTEXT[index].store(context_id, Ordering::Release);
    ALIVE[index].store(1, Ordering::Release);
    bump(&STARTS[index]);
    match context_id >> KIND_SHIFT {
        KIND_WORKER => worker(index),
        KIND_WAIT_THEN_OFF => {
            // Stay on until every caller of the round has its answer.
            let round = (context_id >> 8) & 0xFFFF_FFFF;
            wait("the CPU_ON callers to return", round, || {
                (0..TARGET).all(|caller| POSTED[caller].load(Ordering::Acquire) != 0)
            });
            cpu_off()
        }
        KIND_OFF_AT_GO => {
            wait_for_go(OFFSETS[TARGET].load(Ordering::Acquire));
            cpu_off()
        }
        KIND_OFF_AT_ONCE => cpu_off(),
        KIND_RESUME if index == 0 => resumed(context_id),
        KIND_WRONG_RESUME => {
            fail!("SYSTEM_SUSPEND succeeded (resumed with {context_id:#x}) while vCPU 1 was on")
        }
        _ => fail!("vCPU {index} entered with unknown context id {context_id:#x}"),
    }
}

/// vCPUs 1, 2 (and 3 in the suspend race): run commands.
fn worker(index: usize) -> ! {
    loop {
        let command = COMMANDS[index].load(Ordering::Acquire);
        match command {
            COMMAND_NONE => continue,
            COMMAND_CPU_ON_AT_GO => {
                let context_id = PARAMETERS[index].load(Ordering::Acquire);
                wait_for_go(OFFSETS[index].load(Ordering::Acquire));
                let result = cpu_on(TARGET, context_id);
                RESULTS[index].store(result, Ordering::Release);
            }
            COMMAND_CPU_ON_LOOP => {
                let context_id = PARAMETERS[index].load(Ordering::Acquire);
                let mut successes = 0;
                while STOP.load(Ordering::Acquire) == 0 {
                    match cpu_on(TARGET, context_id) {
                        SUCCESS => successes += 1,
                        ALREADY_ON => {}
                        other => fail!("CPU_ON(3) in a loop returned {other:#x} ({})", code_name(other)),
                    }
                }
                RESULTS[index].store(successes, Ordering::Release);
            }
            COMMAND_CPU_OFF_AT_GO => {
                COMMANDS[index].store(COMMAND_NONE, Ordering::Release);
                wait_for_go(OFFSETS[index].load(Ordering::Acquire));
                cpu_off();
            }
            _ => fail!("vCPU {index}: unknown command {command}"),
        }
        COMMANDS[index].store(COMMAND_NONE, Ordering::Release);
        POSTED[index].store(1, Ordering::Release);
    }
}

fn set_go() {
    GO.store(counter::now() + counter::ticks_from_micros(LEAD_MICROS), Ordering::Release);
}

/// vCPUs 0, 1 and 2 call CPU_ON(3) together.
fn concurrent_cpu_on() {
    let mut winners = [0_u64; TARGET];
    for round in 0..ROUNDS_CONCURRENT_ON {
        let starts = STARTS[TARGET].load(Ordering::Acquire);
        for caller in 0..TARGET {
            POSTED[caller].store(0, Ordering::Release);
            OFFSETS[caller].store(random_below(JITTER_MICROS / 4), Ordering::Release);
        }
        set_go();
        for worker in [1, 2] {
            PARAMETERS[worker].store(context(KIND_WAIT_THEN_OFF, round, worker), Ordering::Release);
            COMMANDS[worker].store(COMMAND_CPU_ON_AT_GO, Ordering::Release);
        }
        wait_for_go(OFFSETS[0].load(Ordering::Acquire));
        RESULTS[0].store(cpu_on(TARGET, context(KIND_WAIT_THEN_OFF, round, 0)), Ordering::Release);
        POSTED[0].store(1, Ordering::Release);
        wait("the workers' CPU_ON results", round, || {
            POSTED[1].load(Ordering::Acquire) != 0 && POSTED[2].load(Ordering::Acquire) != 0
        });
        let results: [u64; TARGET] = core::array::from_fn(|caller| RESULTS[caller].load(Ordering::Acquire));
        let successes = results.iter().filter(|&&result| result == SUCCESS).count();
        if successes != 1 || results.iter().any(|&result| result != SUCCESS && result != ALREADY_ON) {
            fail!(
                "round {round}: concurrent CPU_ON(3) from vCPUs 0, 1, 2 returned {} / {} / {}, expected one SUCCESS \
                 and ALREADY_ON",
                code_name(results[0]),
                code_name(results[1]),
                code_name(results[2])
            );
        }
        let winner = results.iter().position(|&result| result == SUCCESS).unwrap_or(0);
        winners[winner] += 1;
        wait("vCPU 3 to turn off", round, || affinity(TARGET) == AFFINITY_OFF);
        let started = STARTS[TARGET].load(Ordering::Acquire) - starts;
        let seen = LAST_CONTEXT[TARGET].load(Ordering::Acquire);
        if started != 1 || seen != context(KIND_WAIT_THEN_OFF, round, winner) {
            fail!(
                "round {round}: vCPU {winner} got SUCCESS but vCPU 3 started {started} times, last with context id \
                 {seen:#x}"
            );
        }
    }
    println!(
        "psci-races: concurrent CPU_ON: {ROUNDS_CONCURRENT_ON} rounds of 3 callers, exactly one SUCCESS each (won by \
         vCPU 0/1/2: {}/{}/{}), every start matched its SUCCESS ({} ms)",
        winners[0],
        winners[1],
        winners[2],
        lap()
    );
}

/// vCPU 1's CPU_ON(3) against vCPU 3's CPU_OFF.
fn cpu_on_against_cpu_off() {
    let (mut restarted, mut refused) = (0, 0);
    for round in 0..ROUNDS_ON_OFF {
        // vCPU 3 on, waiting for its moment to turn off.
        OFFSETS[TARGET].store(random_below(JITTER_MICROS), Ordering::Release);
        OFFSETS[1].store(random_below(JITTER_MICROS), Ordering::Release);
        GO.store(u64::MAX, Ordering::Release);
        let starts = STARTS[TARGET].load(Ordering::Acquire);
        let result = cpu_on(TARGET, context(KIND_OFF_AT_GO, round, 0));
        if result != SUCCESS {
            fail!("round {round}: CPU_ON(3) of an off vCPU 3 returned {result:#x} ({})", code_name(result));
        }
        wait("vCPU 3 to start", round, || STARTS[TARGET].load(Ordering::Acquire) > starts);
        POSTED[1].store(0, Ordering::Release);
        PARAMETERS[1].store(context(KIND_OFF_AT_ONCE, round, 1), Ordering::Release);
        COMMANDS[1].store(COMMAND_CPU_ON_AT_GO, Ordering::Release);
        set_go();
        wait("vCPU 1's CPU_ON result", round, || POSTED[1].load(Ordering::Acquire) != 0);
        let result = RESULTS[1].load(Ordering::Acquire);
        let expected_starts = match result {
            SUCCESS => {
                restarted += 1;
                2
            }
            ALREADY_ON => {
                refused += 1;
                1
            }
            other => fail!("round {round}: CPU_ON(3) against its CPU_OFF returned {other:#x} ({})", code_name(other)),
        };
        wait("vCPU 3 to start again", round, || STARTS[TARGET].load(Ordering::Acquire) >= starts + expected_starts);
        wait("vCPU 3 to turn off", round, || affinity(TARGET) == AFFINITY_OFF);
        let started = STARTS[TARGET].load(Ordering::Acquire) - starts;
        let seen = LAST_CONTEXT[TARGET].load(Ordering::Acquire);
        let expected_context =
            if result == SUCCESS { context(KIND_OFF_AT_ONCE, round, 1) } else { context(KIND_OFF_AT_GO, round, 0) };
        if started != expected_starts || seen != expected_context {
            fail!(
                "round {round}: vCPU 1's CPU_ON(3) returned {} but vCPU 3 started {started} times (last context id \
                 {seen:#x})",
                code_name(result)
            );
        }
    }
    println!(
        "psci-races: CPU_ON against CPU_OFF: {ROUNDS_ON_OFF} rounds, {restarted} SUCCESS (vCPU 3 started again), \
         {refused} ALREADY_ON (it stayed off), all consistent ({} ms)",
        lap()
    );
}

/// SYSTEM_SUSPEND while vCPU 1 is on and vCPU 2 keeps starting vCPU 3.
fn suspend_while_on() {
    let mut denied = 0;
    let mut target_starts = 0;
    for round in 0..ROUNDS_SUSPEND_DENIED {
        let starts = STARTS[TARGET].load(Ordering::Acquire);
        STOP.store(0, Ordering::Release);
        POSTED[2].store(0, Ordering::Release);
        PARAMETERS[2].store(context(KIND_OFF_AT_ONCE, round, 2), Ordering::Release);
        COMMANDS[2].store(COMMAND_CPU_ON_LOOP, Ordering::Release);
        for call in 0..SUSPENDS_PER_DENIED_ROUND {
            counter::delay_micros(random_below(JITTER_MICROS));
            if affinity(1) != AFFINITY_ON {
                fail!("round {round}: AFFINITY_INFO(1) is not ON though vCPU 1 never turned off");
            }
            let result = psci_support::system_suspend_at(
                Conduit::Hvc,
                warm_entry_address(),
                context(KIND_WRONG_RESUME, round, call as usize),
            );
            if result != DENIED {
                fail!("round {round}: SYSTEM_SUSPEND with vCPU 1 on returned {result:#x} ({})", code_name(result));
            }
            denied += 1;
        }
        STOP.store(1, Ordering::Release);
        wait("vCPU 2's CPU_ON loop", round, || POSTED[2].load(Ordering::Acquire) != 0);
        wait("vCPU 3 to turn off", round, || affinity(TARGET) == AFFINITY_OFF);
        let successes = RESULTS[2].load(Ordering::Acquire);
        let started = STARTS[TARGET].load(Ordering::Acquire) - starts;
        if successes != started {
            fail!("round {round}: vCPU 2 got SUCCESS from CPU_ON(3) {successes} times but vCPU 3 started {started}");
        }
        target_starts += started;
    }
    println!(
        "psci-races: SYSTEM_SUSPEND while vCPU 1 is on: {denied} calls, all DENIED; vCPU 2's {target_starts} \
         successful CPU_ON(3) calls matched vCPU 3's starts ({} ms)",
        lap()
    );
}

/// One round of SYSTEM_SUSPEND against the CPU_OFFs of vCPUs 1, 2 and 3; continues in [`resumed`].
fn suspend_race(round: u64) -> ! {
    ROUND.store(round, Ordering::Release);
    // vCPUs 1 and 2 are on (workers); start vCPU 3 as a worker too.
    start_worker(TARGET, round);
    for offset in &OFFSETS[1..] {
        offset.store(random_below(4 * JITTER_MICROS), Ordering::Release);
    }
    set_go();
    for command in &COMMANDS[1..] {
        command.store(COMMAND_CPU_OFF_AT_GO, Ordering::Release);
    }
    let context_id = context(KIND_RESUME, round, 0);
    EXPECTED_RESUME.store(context_id, Ordering::Release);
    // The timer that will resume vCPU 0: somewhere around the last CPU_OFF.
    let wake_micros = LEAD_MICROS + random_below(6 * JITTER_MICROS);
    psci_support::arm_timer_in(wake_micros);
    wait_for_go(random_below(2 * JITTER_MICROS));
    loop {
        let all_off_before = (1..VCPUS).all(|vcpu| affinity(vcpu) == AFFINITY_OFF);
        bump(&SUSPEND_CALLS);
        psci_support::leave_traces();
        let result = psci_support::system_suspend_at(Conduit::Hvc, warm_entry_address(), context_id);
        if result != DENIED {
            fail!("round {round}: SYSTEM_SUSPEND returned {result:#x} ({})", code_name(result));
        }
        if all_off_before {
            fail!("round {round}: SYSTEM_SUSPEND DENIED though AFFINITY_INFO said vCPUs 1..3 were off before the call");
        }
        bump(&SUSPEND_DENIED);
        if counter::now() > GO.load(Ordering::Acquire) + counter::ticks_from_micros(TIMEOUT_MICROS) {
            fail!("round {round}: SYSTEM_SUSPEND still DENIED after {} ms", TIMEOUT_MICROS / 1000);
        }
    }
}

/// vCPU 0 resumed from a successful SYSTEM_SUSPEND of the suspend race.
fn resumed(context_id: u64) -> ! {
    let round = ROUND.load(Ordering::Acquire);
    let expected = EXPECTED_RESUME.load(Ordering::Acquire);
    if context_id != expected {
        fail!("round {round}: vCPU 0 resumed with context id {context_id:#x}, expected {expected:#x}");
    }
    for (vcpu, alive) in ALIVE.iter().enumerate().skip(1) {
        if alive.load(Ordering::Acquire) != 0 {
            fail!("round {round}: SYSTEM_SUSPEND succeeded while vCPU {vcpu} had not called CPU_OFF");
        }
        if affinity(vcpu) != AFFINITY_OFF {
            fail!("round {round}: after the resume AFFINITY_INFO({vcpu}) is not OFF");
        }
    }
    psci_support::reenable_cpu_interface();
    let before = TIMER_INTERRUPTS.load(Ordering::Acquire);
    if !psci_support::unmasked_until(100_000, || TIMER_INTERRUPTS.load(Ordering::Acquire) > before) {
        fail!("round {round}: the timer interrupt that resumed vCPU 0 was not delivered");
    }
    if round + 1 < ROUNDS_SUSPEND_RACE {
        for worker in [1, 2] {
            start_worker(worker, round + 1);
        }
        suspend_race(round + 1);
    }
    println!(
        "psci-races: SYSTEM_SUSPEND against the last CPU_OFFs: {ROUNDS_SUSPEND_RACE} rounds, {} calls, {} DENIED \
         while a vCPU was on, {ROUNDS_SUSPEND_RACE} successes, each with vCPUs 1..3 off, resumed at the entry point \
         ({} ms)",
        SUSPEND_CALLS.load(Ordering::Acquire),
        SUSPEND_DENIED.load(Ordering::Acquire),
        lap()
    );
    println!(
        "psci-races: done in {} ms",
        counter::micros_from_ticks(counter::now() - STARTED_AT.load(Ordering::Acquire)) / 1000
    );
    report::pass()
}
