//! `suspend-wake`: PSCI SYSTEM_SUSPEND woken by each kind of interrupt the domain left enabled, and
//! never by one it left disabled. One vCPU; the domain's first domain slot (console input goes to it).
//!
//! Cases, each a SYSTEM_SUSPEND that resumes at the warm entry with its own context id:
//! - `(a)` the virtual timer, armed 5 ms ahead with PPI 27 enabled;
//! - `(e)` a wake-up already pending at the call: the timer fired before it, IRQs masked, PPI 27
//!   enabled (resumes at once);
//! - `(b)` the PL031 RTC's alarm (SPI 2, INTID 34): the machine's, passed through with
//!   `devices = ["rtc"]` on qemu-virt, or the domain's virtual one; `(b) skipped` if the device
//!   tree has no PL031;
//! - `(c)` a keystroke on its virtual UART (RX interrupt, SPI 1, INTID 33), typed by the test after
//!   `suspend-wake: (c) suspending`; the virtual timer is armed with its condition already met but
//!   PPI 27 disabled, so it must not resume the domain: at the resume the key must already be in the
//!   receive FIFO (a timer wake-up would come long before the host could answer the line);
//! - `(d)` the reverse: a key typed after `suspend-wake: (d) type a key` is received while SPI 33 is
//!   disabled (the UART's interrupt is raised but the GIC may not signal it); then the timer, armed
//!   20 ms ahead with PPI 27 enabled, must be what resumes the domain, not before its deadline; once
//!   SPI 33 is enabled again the UART interrupt arrives and yields the key;
//! - `(f)` a keystroke whose interrupt (SPI 33) is routed to vCPU 1, which is off (the domain has
//!   2 vCPUs and has not started the second): it must still resume the domain, on vCPU 0, and must
//!   not be delivered to vCPU 0; once vCPU 0 starts vCPU 1 with CPU_ON, vCPU 1 takes it. With
//!   `case_f=reroute` on the command line vCPU 0 routes SPI 33 to itself instead and expects the
//!   pending interrupt there, as a GIC applies a new target to a pending interrupt.
//!
//! At every resume it checks: x0 = the case's context id, DAIF masked, SCTLR_EL1 with MMU and caches
//! off (they were set before the call), TPIDR_EL1 reset, a static and a word of RAM outside the image
//! unchanged, the wake-up interrupt still enabled in its GIC distributor (redistributor for PPIs on
//! GICv3), the UART's interrupt mask kept; then it re-enables its CPU interface, unmasks interrupts
//! and checks the wake-up interrupt is delivered exactly once. Lines: `suspend-wake: (<case>)
//! suspending ...`, `suspend-wake: (<case>) resumed ...`, then `TEST PASS suspend-wake`.

#![no_std]
#![no_main]

#[path = "psci_support/mod.rs"]
mod psci_support;

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use psci_support::{EntryState, code_name};
use somnus_test_guests::conduit::Conduit;
use somnus_test_guests::gic::{self, Acknowledged};
use somnus_test_guests::pl011::PL011_BASE;
use somnus_test_guests::start::{set_warm_handler, warm_entry_address};
use somnus_test_guests::{
    counter, cpu, device_tree, entry, fail, interrupts, pl011_receive, pl031, println, report, virtual_timer,
};

entry!("suspend-wake", main);

/// Context ids, one per case.
const CTX_TIMER: u64 = 0x5357_0000_0000_000A;
const CTX_PENDING: u64 = 0x5357_0000_0000_000E;
const CTX_RTC: u64 = 0x5357_0000_0000_000B;
const CTX_KEY: u64 = 0x5357_0000_0000_000C;
const CTX_DISABLED_KEY: u64 = 0x5357_0000_0000_000D;
const CTX_ROUTED_AWAY: u64 = 0x5357_0000_0000_000F;
/// Context id of vCPU 1 when vCPU 0 starts it in case (f).
const CTX_VCPU1: u64 = 0x5357_0001_0000_000F;

/// Keys the test types for cases (c) and (d).
const KEY_C: u8 = b'c';
const KEY_D: u8 = b'd';
const KEY_F: u8 = b'f';

/// How far ahead the timer is armed in case (a) and in case (d), in microseconds.
const TIMER_MICROS: u64 = 5_000;
const DISABLED_KEY_TIMER_MICROS: u64 = 20_000;
/// Longest wait for a key or an alarm, in microseconds.
const TIMEOUT_MICROS: u64 = 10_000_000;

/// Offset of a RAM word far from the image, the stacks and the device tree (which sits in the last
/// 64 KiB of RAM).
const RAM_WORD_OFFSET: u64 = 8 << 20;
const RAM_WORD_VALUE: u64 = 0x5EED_0000_CAFE_F00D;
const STATIC_VALUE: u64 = 0x0DDB_A110_0000_0001;

/// The cases in order; the warm handler runs the next one.
const CASES: [fn(); 6] = [case_timer, case_pending, case_rtc, case_key, case_disabled_key, case_routed_away];

static NEXT_CASE: AtomicU64 = AtomicU64::new(0);
/// Context id the next entry must have.
static EXPECTED_CONTEXT: AtomicU64 = AtomicU64::new(0);
/// What must wake the domain: an INTID, and no resume before this counter value.
static WAKE_INTID: AtomicU64 = AtomicU64::new(0);
static NOT_BEFORE: AtomicU64 = AtomicU64::new(0);
/// Counter value at the call, and the timer and UART interrupts taken before it.
static SUSPENDED_AT: AtomicU64 = AtomicU64::new(0);
static TIMER_AT_SUSPEND: AtomicU64 = AtomicU64::new(0);
static UART_AT_SUSPEND: AtomicU64 = AtomicU64::new(0);
/// A static that must survive every suspension.
static STATIC_WORD: AtomicU64 = AtomicU64::new(0);
static RAM_WORD: AtomicU64 = AtomicU64::new(0);
/// Whether the domain has the PL031.
static HAS_RTC: AtomicBool = AtomicBool::new(false);

/// Interrupts taken, per source, and the last key received.
static TIMER_INTERRUPTS: AtomicU64 = AtomicU64::new(0);
static RTC_INTERRUPTS: AtomicU64 = AtomicU64::new(0);
static UART_INTERRUPTS: AtomicU64 = AtomicU64::new(0);
static LAST_KEY: AtomicU64 = AtomicU64::new(0);
/// The vCPU that took the last UART interrupt.
static UART_CPU: AtomicU64 = AtomicU64::new(0);
/// Case (f) routes SPI 33 back to vCPU 0 after the resume (`case_f=reroute`).
static REROUTE: AtomicBool = AtomicBool::new(false);
/// vCPU 1 took its UART interrupt in case (f).
static VCPU1_DONE: AtomicBool = AtomicBool::new(false);
static KEYS: AtomicU64 = AtomicU64::new(0);

fn bump(counter: &AtomicU64) {
    counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Release);
}

fn timer_expired(_interrupt: Acknowledged) {
    virtual_timer::disable();
    bump(&TIMER_INTERRUPTS);
}

fn rtc_alarm(_interrupt: Acknowledged) {
    pl031::clear_alarm();
    pl031::disable_alarm();
    bump(&RTC_INTERRUPTS);
}

fn uart_receive(_interrupt: Acknowledged) {
    while let Some(byte) = pl011_receive::read_byte() {
        LAST_KEY.store(u64::from(byte), Ordering::Release);
        bump(&KEYS);
    }
    pl011_receive::clear_receive_interrupts();
    UART_CPU.store(cpu::index() as u64, Ordering::Release);
    bump(&UART_INTERRUPTS);
}

/// UARTIMSC, the PL011's interrupt mask (device state that must survive a suspension).
fn uart_interrupt_mask() -> u32 {
    // SAFETY: the guest platform's PL011 is at PL011_BASE; UARTIMSC is at offset 0x38.
    unsafe { ((PL011_BASE + 0x38) as *const u32).read_volatile() }
}

/// UARTFR.RXFE clear: a byte is waiting in the receive FIFO.
fn key_waiting() -> bool {
    // SAFETY: as above; UARTFR is at offset 0x18, bit 4 is RXFE.
    unsafe { ((PL011_BASE + 0x18) as *const u32).read_volatile() & (1 << 4) == 0 }
}

fn ram_word_address() -> u64 {
    RAM_WORD.load(Ordering::Acquire)
}

fn main(device_tree_address: u64) -> ! {
    let detection = gic::init(device_tree_address);
    let tree = device_tree::parse(device_tree_address);
    let Some((ram_start, _)) = tree.as_ref().and_then(device_tree::ram_range) else {
        fail!("no RAM range in the device tree at {device_tree_address:#x}");
    };
    let has_rtc = tree.as_ref().is_some_and(|tree| tree.find_compatible(&["arm,pl031"]).is_some());
    HAS_RTC.store(has_rtc, Ordering::Release);
    let case_f = tree
        .as_ref()
        .and_then(device_tree::bootargs)
        .and_then(|arguments| device_tree::command_line_value(arguments, "case_f"));
    REROUTE.store(case_f == Some("reroute"), Ordering::Release);
    RAM_WORD.store(ram_start + RAM_WORD_OFFSET, Ordering::Release);
    psci_support::set_ram_word(ram_word_address(), RAM_WORD_VALUE);
    STATIC_WORD.store(STATIC_VALUE, Ordering::Release);
    interrupts::set_handler(virtual_timer::INTID, Some(timer_expired));
    interrupts::set_handler(pl031::INTID, Some(rtc_alarm));
    interrupts::set_handler(pl011_receive::INTID, Some(uart_receive));
    gic::route_spi(pl011_receive::INTID, 0);
    gic::route_spi(pl031::INTID, 0);
    pl011_receive::enable_receive_interrupts();
    set_warm_handler(resumed);
    println!(
        "suspend-wake: {detection}; PL031 {}; warm entry {:#x}",
        if has_rtc { "present" } else { "absent" },
        warm_entry_address()
    );
    run_from(0)
}

fn run_from(first: usize) -> ! {
    for (index, case) in CASES.iter().enumerate().skip(first) {
        NEXT_CASE.store(index as u64 + 1, Ordering::Release);
        case();
    }
    report::pass()
}

/// Suspends; `wake_intid` must resume the domain, not before `not_before`.
fn suspend(context_id: u64, wake_intid: u32, not_before: u64) -> ! {
    EXPECTED_CONTEXT.store(context_id, Ordering::Release);
    WAKE_INTID.store(u64::from(wake_intid), Ordering::Release);
    NOT_BEFORE.store(not_before, Ordering::Release);
    TIMER_AT_SUSPEND.store(TIMER_INTERRUPTS.load(Ordering::Acquire), Ordering::Release);
    UART_AT_SUSPEND.store(UART_INTERRUPTS.load(Ordering::Acquire), Ordering::Release);
    psci_support::leave_traces();
    SUSPENDED_AT.store(counter::now(), Ordering::Release);
    let result = psci_support::system_suspend_at(Conduit::Hvc, warm_entry_address(), context_id);
    fail!("SYSTEM_SUSPEND returned {result:#x} ({})", code_name(result))
}

/// (a) The virtual timer.
fn case_timer() {
    gic::enable(virtual_timer::INTID);
    let deadline = psci_support::arm_timer_in(TIMER_MICROS);
    println!("suspend-wake: (a) suspending, woken by the virtual timer in {} us", TIMER_MICROS);
    suspend(CTX_TIMER, virtual_timer::INTID, deadline);
}

/// (e) A wake-up pending at the call: the timer fired while IRQs were masked.
fn case_pending() {
    gic::enable(virtual_timer::INTID);
    let deadline = psci_support::arm_timer_in(0);
    counter::delay_micros(1_000);
    if !virtual_timer::condition_met() {
        fail!("the virtual timer's condition is not met 1 ms after its deadline");
    }
    println!("suspend-wake: (e) suspending with the timer interrupt already pending (IRQs masked)");
    suspend(CTX_PENDING, virtual_timer::INTID, deadline);
}

/// (b) The passed-through RTC's alarm, about 1 s ahead.
fn case_rtc() {
    if !HAS_RTC.load(Ordering::Acquire) {
        println!("suspend-wake: (b) skipped: no PL031 in the device tree");
        return;
    }
    gic::disable(virtual_timer::INTID);
    virtual_timer::disable();
    let first = pl031::seconds();
    if !psci_support::wait_until(2_000_000, || pl031::seconds() != first) {
        fail!("the RTC stayed at {first} s");
    }
    let now = pl031::seconds();
    pl031::arm_alarm(now + 1);
    gic::enable(pl031::INTID);
    println!("suspend-wake: (b) suspending at RTC {now} s, woken by the RTC alarm at {} s", now + 1);
    suspend(CTX_RTC, pl031::INTID, counter::now() + counter::ticks_from_micros(500_000));
}

/// (c) A keystroke, with the timer's condition met but PPI 27 disabled.
fn case_key() {
    gic::disable(pl031::INTID);
    gic::disable(virtual_timer::INTID);
    psci_support::arm_timer_in(0);
    gic::enable(pl011_receive::INTID);
    if key_waiting() {
        fail!("a key arrived before case (c) asked for one");
    }
    println!("suspend-wake: (c) suspending until a key arrives; the timer fires now but PPI 27 is disabled");
    suspend(CTX_KEY, pl011_receive::INTID, 0);
}

/// (d) A key received while SPI 33 is disabled; the timer wakes the domain.
fn case_disabled_key() {
    gic::disable(pl011_receive::INTID);
    virtual_timer::disable();
    println!("suspend-wake: (d) type a key (SPI 33 disabled)");
    if !psci_support::wait_until(TIMEOUT_MICROS, key_waiting) {
        fail!("no key arrived for case (d)");
    }
    if pl011_receive::masked_status() == 0 {
        fail!("a key is waiting but the UART's receive interrupt is not raised (UARTMIS = 0)");
    }
    gic::enable(virtual_timer::INTID);
    let deadline = psci_support::arm_timer_in(DISABLED_KEY_TIMER_MICROS);
    println!(
        "suspend-wake: (d) suspending with the UART interrupt raised but disabled; the timer fires in {} us",
        DISABLED_KEY_TIMER_MICROS
    );
    suspend(CTX_DISABLED_KEY, virtual_timer::INTID, deadline);
}

/// (f) A keystroke whose interrupt is routed to vCPU 1, which is off.
fn case_routed_away() {
    virtual_timer::disable();
    gic::disable(virtual_timer::INTID);
    let vcpu1 = psci_support::affinity(1);
    if vcpu1 != psci_support::AFFINITY_OFF {
        fail!("(f): AFFINITY_INFO(1) = {vcpu1:#x}, vCPU 1 was never started");
    }
    gic::route_spi(pl011_receive::INTID, 1);
    gic::enable(pl011_receive::INTID);
    if key_waiting() {
        fail!("a key arrived before case (f) asked for one");
    }
    println!("suspend-wake: (f) suspending until a key arrives; SPI 33 is routed to vCPU 1, which is off");
    suspend(CTX_ROUTED_AWAY, pl011_receive::INTID, 0);
}

fn case_name(context_id: u64) -> &'static str {
    match context_id {
        CTX_TIMER => "(a)",
        CTX_PENDING => "(e)",
        CTX_RTC => "(b)",
        CTX_KEY => "(c)",
        CTX_DISABLED_KEY => "(d)",
        CTX_ROUTED_AWAY => "(f)",
        _ => "(?)",
    }
}

fn taken(intid: u32) -> u64 {
    let counter = match intid {
        virtual_timer::INTID => &TIMER_INTERRUPTS,
        pl031::INTID => &RTC_INTERRUPTS,
        _ => &UART_INTERRUPTS,
    };
    counter.load(Ordering::Acquire)
}

/// The warm entry: checks everything a resume must preserve and reset, then the next case.
fn resumed(context_id: u64) -> ! {
    let state = EntryState::read();
    if cpu::index() == 1 {
        vcpu1_entry(context_id, state);
    }
    let entered = counter::now();
    let expected = EXPECTED_CONTEXT.swap(0, Ordering::AcqRel);
    let case = case_name(expected);
    if context_id != expected {
        fail!("{case}: resumed with context id {context_id:#x}, expected {expected:#x}");
    }
    if cpu::index() != 0 {
        fail!("{case}: vCPU {} resumed, expected vCPU 0", cpu::index());
    }
    state.check(case);
    let key_at_entry = key_waiting();
    let wake = WAKE_INTID.load(Ordering::Acquire) as u32;
    let suspended_at = SUSPENDED_AT.load(Ordering::Acquire);
    let not_before = NOT_BEFORE.load(Ordering::Acquire);
    if STATIC_WORD.load(Ordering::Acquire) != STATIC_VALUE {
        fail!("{case}: a static changed while suspended: {:#x}", STATIC_WORD.load(Ordering::Acquire));
    }
    let ram = psci_support::ram_word(ram_word_address());
    if ram != RAM_WORD_VALUE {
        fail!("{case}: RAM at {:#x} changed while suspended: {ram:#x}", ram_word_address());
    }
    if !gic::is_enabled(wake) {
        fail!("{case}: INTID {wake} is no longer enabled in the GIC after the resume");
    }
    let uart_mask = uart_interrupt_mask();
    if uart_mask & 0x50 != 0x50 {
        fail!("{case}: UARTIMSC = {uart_mask:#x} after the resume, the receive interrupts were enabled");
    }
    if entered < not_before {
        fail!(
            "{case}: resumed {} us after the call, before its wake-up ({} us)",
            counter::micros_from_ticks(entered - suspended_at),
            counter::micros_from_ticks(not_before - suspended_at)
        );
    }
    if expected == CTX_ROUTED_AWAY {
        if !key_at_entry {
            fail!("(f): resumed with no key received");
        }
        if !REROUTE.load(Ordering::Acquire) {
            routed_away(entered - suspended_at);
        }
        gic::route_spi(pl011_receive::INTID, 0);
    }
    if expected == CTX_KEY && !key_at_entry {
        fail!(
            "(c): resumed after {} us with no key received: the disabled timer interrupt woke it",
            counter::micros_from_ticks(entered - suspended_at)
        );
    }
    let priority_mask = psci_support::reenable_cpu_interface();
    let before = taken(wake);
    let keys_before = KEYS.load(Ordering::Acquire);
    if !psci_support::unmasked_until(100_000, || taken(wake) > before) {
        fail!("{case}: the wake-up interrupt INTID {wake} was not delivered after unmasking");
    }
    if psci_support::unmasked_until(5_000, || taken(wake) > before + 1) {
        fail!("{case}: the wake-up interrupt INTID {wake} was delivered twice");
    }
    println!(
        "suspend-wake: {case} resumed after {} us with x0 = {context_id:#x}, DAIF {:#x}, SCTLR_EL1 {:#x}, memory \
         intact, INTID {wake} still enabled and delivered once (priority mask was {priority_mask:#x})",
        counter::micros_from_ticks(entered - suspended_at),
        state.daif,
        state.sctlr
    );
    after_delivery(expected, keys_before);
    run_from(NEXT_CASE.load(Ordering::Acquire) as usize)
}

/// The checks of cases (c), (d) and (f) once the wake-up interrupt was delivered.
fn after_delivery(expected: u64, keys_before: u64) {
    match expected {
        CTX_KEY => {
            let key = LAST_KEY.load(Ordering::Acquire);
            if KEYS.load(Ordering::Acquire) == keys_before || key != u64::from(KEY_C) {
                fail!("(c): the UART interrupt gave key {key:#x}, expected {:#x}", KEY_C);
            }
            if TIMER_INTERRUPTS.load(Ordering::Acquire) != TIMER_AT_SUSPEND.load(Ordering::Acquire) {
                fail!("(c): the disabled timer interrupt was delivered");
            }
            println!("suspend-wake: (c) key {:?} received; the disabled timer interrupt never arrived", KEY_C as char);
            gic::disable(pl011_receive::INTID);
            virtual_timer::disable();
        }
        CTX_DISABLED_KEY => {
            let uart_before = UART_INTERRUPTS.load(Ordering::Acquire);
            if uart_before != UART_AT_SUSPEND.load(Ordering::Acquire) {
                fail!("(d): the UART interrupt was delivered while SPI 33 was disabled");
            }
            gic::enable(pl011_receive::INTID);
            if !psci_support::unmasked_until(100_000, || UART_INTERRUPTS.load(Ordering::Acquire) > uart_before) {
                fail!("(d): the UART interrupt raised during the suspension did not arrive once SPI 33 was enabled");
            }
            let key = LAST_KEY.load(Ordering::Acquire);
            if key != u64::from(KEY_D) {
                fail!("(d): the UART interrupt gave key {key:#x}, expected {:#x}", KEY_D);
            }
            println!(
                "suspend-wake: (d) the raised but disabled UART interrupt did not wake it; enabled, it gave key {:?}",
                KEY_D as char
            );
        }
        CTX_ROUTED_AWAY => {
            let key = LAST_KEY.load(Ordering::Acquire);
            if key != u64::from(KEY_F) {
                fail!("(f): the UART interrupt gave key {key:#x}, expected {:#x}", KEY_F);
            }
            println!(
                "suspend-wake: (f) the interrupt routed to the off vCPU 1 resumed vCPU 0; routed to vCPU 0, it gave \
                 key {:?}",
                KEY_F as char
            );
        }
        _ => {}
    }
}

/// Case (f) after vCPU 0's resume checks: the interrupt, still routed to vCPU 1, must not arrive at
/// vCPU 0; vCPU 1, once started, takes it.
fn routed_away(suspended_for: u64) -> ! {
    psci_support::reenable_cpu_interface();
    let before = UART_INTERRUPTS.load(Ordering::Acquire);
    if psci_support::unmasked_until(5_000, || UART_INTERRUPTS.load(Ordering::Acquire) > before) {
        fail!("(f): the UART interrupt routed to vCPU 1 arrived at vCPU 0");
    }
    let result = psci_support::cpu_on_at(Conduit::Hvc, 1, warm_entry_address(), CTX_VCPU1);
    if result != psci_support::SUCCESS {
        fail!("(f): CPU_ON(1) returned {result:#x} ({})", code_name(result));
    }
    if !psci_support::wait_until(1_000_000, || VCPU1_DONE.load(Ordering::Acquire)) {
        fail!("(f): vCPU 1 did not take the UART interrupt routed to it");
    }
    let key = LAST_KEY.load(Ordering::Acquire);
    if key != u64::from(KEY_F) || UART_CPU.load(Ordering::Acquire) != 1 {
        fail!("(f): key {key:#x} taken on vCPU {}, expected {:#x} on vCPU 1", UART_CPU.load(Ordering::Acquire), KEY_F);
    }
    if !psci_support::wait_until(1_000_000, || psci_support::affinity(1) == psci_support::AFFINITY_OFF) {
        fail!("(f): vCPU 1 did not turn off again");
    }
    println!(
        "suspend-wake: (f) resumed after {} us: the interrupt routed to the off vCPU 1 resumed vCPU 0, which did not \
         take it; vCPU 1, started, took it: key {:?}",
        counter::micros_from_ticks(suspended_for),
        KEY_F as char
    );
    gic::disable(pl011_receive::INTID);
    run_from(NEXT_CASE.load(Ordering::Acquire) as usize)
}

/// vCPU 1 in case (f): takes the UART interrupt routed to it, then turns off.
fn vcpu1_entry(context_id: u64, state: EntryState) -> ! {
    if context_id != CTX_VCPU1 {
        fail!("vCPU 1 entered with context id {context_id:#x}, expected {CTX_VCPU1:#x}");
    }
    state.check("(f) vCPU 1");
    gic::init_cpu();
    let before = UART_INTERRUPTS.load(Ordering::Acquire);
    if !psci_support::unmasked_until(100_000, || UART_INTERRUPTS.load(Ordering::Acquire) > before) {
        fail!("(f): the UART interrupt routed to vCPU 1 did not arrive there once it ran");
    }
    VCPU1_DONE.store(true, Ordering::Release);
    let result = psci_support::call(Conduit::Hvc, somnus_test_guests::smccc::psci::PSCI_CPU_OFF, &[]);
    fail!("CPU_OFF on vCPU 1 returned {result:#x} ({})", code_name(result))
}
