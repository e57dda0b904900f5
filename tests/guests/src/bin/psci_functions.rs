//! `psci-functions`: every PSCI function of Somnus's virtual PSCI 1.1 and every error code it can
//! return, over HVC and SMC, with 32-bit calls carrying garbage in the upper halves of their
//! arguments. Needs a domain with 2 vCPUs (vCPU 1 off at start) and a virtual timer.
//!
//! Prints one line per check, `psci-functions: [HVC|SMC] <check> -> <result> (<x0>)`, and
//! `TEST PASS psci-functions` at the end. The test is a list of parts ([`PARTS`]); a part that
//! suspends or turns vCPU 0 off continues at the runtime's warm entry, where [`warm`] checks the
//! context id, the vCPU and the reset state (DAIF masked, MMU and caches off, TPIDR_EL1 reset),
//! re-enables the GIC CPU interface (reset like a powered-down core's), checks that the timer
//! interrupt that woke it is still enabled and is delivered once unmasked, and runs the next part.
//!
//! Parts: vCPU 0 alone (version, features, unimplemented functions, every error of CPU_ON, CPU_OFF,
//! AFFINITY_INFO, CPU_SUSPEND, SYSTEM_RESET2, SYSTEM_SUSPEND, statistics); with vCPU 1 on (CPU_ON
//! and its entry state, ALREADY_ON, SYSTEM_SUSPEND DENIED from either vCPU, vCPU 1's power-down
//! CPU_SUSPEND woken by an SGI, its CPU_OFF, CPU_ON by SMC32); vCPU 0 turned off by its CPU_OFF,
//! vCPU 1 then alone suspending the domain with SYSTEM_SUSPEND (woken by its own timer, resumed on
//! vCPU 1) and starting vCPU 0 again; CPU_SUSPEND standby; power-down CPU_SUSPEND by HVC64 and
//! SMC32; statistics; SYSTEM_SUSPEND by HVC64 and SMC32; statistics again.

#![no_std]
#![no_main]

#[path = "psci_support/mod.rs"]
mod psci_support;

use core::sync::atomic::{AtomicU64, Ordering};

use psci_support::{
    AFFINITY_OFF, AFFINITY_ON, ALREADY_ON, DENIED, EntryState, GARBAGE, INVALID_ADDRESS, INVALID_PARAMETERS,
    NOT_SUPPORTED, POWER_DOWN, STANDBY, SUCCESS, affinity, call, code_name,
};
use somnus_test_guests::conduit::Conduit;
use somnus_test_guests::gic::{self, Acknowledged};
use somnus_test_guests::smccc::psci;
use somnus_test_guests::start::{set_warm_handler, warm_entry_address};
use somnus_test_guests::{counter, cpu, device_tree, entry, fail, interrupts, println, report, virtual_timer};

entry!("psci-functions", main);

/// vCPU 1, the partner.
const PARTNER: usize = 1;
/// Number of vCPUs the domain must have.
const VCPUS: u64 = 2;

/// Context ids of the entries.
const CTX_PARTNER_HVC: u64 = 0x5053_4349_0001_0001;
const CTX_PARTNER_SMC32: u32 = 0x1234_5678;
const CTX_PARTNER_RESUME: u64 = 0x5053_4349_0001_0002;
const CTX_PARTNER_SYSTEM_SUSPEND: u64 = 0x5053_4349_0001_0003;
const CTX_VCPU0_AGAIN: u64 = 0x5053_4349_0000_0030;
const CTX_POWER_DOWN_HVC: u64 = 0x5053_4349_0000_0010;
const CTX_POWER_DOWN_SMC32: u32 = 0x8765_4321;
const CTX_SUSPEND_HVC: u64 = 0x5053_4349_0000_0020;
const CTX_SUSPEND_SMC32: u32 = 0x1357_9BDF;

/// How far ahead the timer that ends a suspension is armed, in microseconds.
const WAKE_MICROS: u64 = 3_000;
/// How long vCPU 1 stays in power-down before vCPU 0 wakes it with an SGI, in microseconds.
const PARTNER_SLEEP_MICROS: u64 = 5_000;
/// Longest wait for anything, in microseconds.
const TIMEOUT_MICROS: u64 = 2_000_000;
/// SGI that wakes vCPU 1 from its power-down.
const WAKE_SGI: u32 = 1;

/// The parts of the test, in order.
const PARTS: [fn(); 11] = [
    alone,
    with_partner,
    vcpu0_off_and_on,
    partner_off_by_smc,
    standby,
    power_down_hvc,
    power_down_smc32,
    statistics_after_power_downs,
    system_suspend_hvc,
    system_suspend_smc32,
    final_statistics,
];

/// The part to run after vCPU 0's next entry.
static NEXT_PART: AtomicU64 = AtomicU64::new(0);
/// Why vCPU 0 enters next: [`WAKE_BY_TIMER`] or [`STARTED_BY_PARTNER`].
static ENTRY_REASON: AtomicU64 = AtomicU64::new(0);
const WAKE_BY_TIMER: u64 = 1;
const STARTED_BY_PARTNER: u64 = 2;
/// Power-downs of vCPU 0 (CPU_SUSPEND power-down and SYSTEM_SUSPEND) so far.
static POWER_DOWNS: AtomicU64 = AtomicU64::new(0);
/// Context id each vCPU expects at its next entry (0: none expected).
static EXPECTED_CONTEXT: [AtomicU64; 2] = [const { AtomicU64::new(0) }; 2];
/// Counter value when vCPU 0's current suspension began, and the timer deadline that ends it.
static SUSPENDED_AT: AtomicU64 = AtomicU64::new(0);
static WAKE_DEADLINE: AtomicU64 = AtomicU64::new(0);
/// Total of vCPU 0's suspensions as it measured them (suspend call to entry), in counter ticks.
static MEASURED_TICKS: AtomicU64 = AtomicU64::new(0);
/// A word that must survive every suspension.
static MEMORY_CANARY: AtomicU64 = AtomicU64::new(0);
const CANARY: u64 = 0xC0FF_EE00_5EED_0001;
/// Timer interrupts taken.
static TIMER_INTERRUPTS: AtomicU64 = AtomicU64::new(0);
/// SGIs taken by vCPU 1.
static PARTNER_SGIS: AtomicU64 = AtomicU64::new(0);
/// Command for vCPU 1 (0: none) and its result.
static COMMAND: AtomicU64 = AtomicU64::new(0);
static COMMAND_RESULT: AtomicU64 = AtomicU64::new(0);
/// Entries of vCPU 1 and the context id of the last one.
static PARTNER_ENTRIES: AtomicU64 = AtomicU64::new(0);
static PARTNER_CONTEXT: AtomicU64 = AtomicU64::new(0);
/// When vCPU 1's SYSTEM_SUSPEND began and its timer's deadline.
static PARTNER_SUSPENDED_AT: AtomicU64 = AtomicU64::new(0);
static PARTNER_DEADLINE: AtomicU64 = AtomicU64::new(0);
/// CPU_SUSPEND calls vCPU 1 is about to make.
static PARTNER_SUSPENDING: AtomicU64 = AtomicU64::new(0);
/// vCPU 0 is to call CPU_OFF (set by vCPU 1), and is back at its entry (set by vCPU 0).
static VCPU0_OFF: AtomicU64 = AtomicU64::new(0);
static VCPU0_BACK: AtomicU64 = AtomicU64::new(0);
/// End of RAM, from the device tree.
static RAM_END: AtomicU64 = AtomicU64::new(0);

/// Commands for vCPU 1.
const COMMAND_SYSTEM_SUSPEND: u64 = 1;
const COMMAND_POWER_DOWN: u64 = 2;
const COMMAND_CPU_OFF_HVC: u64 = 3;
const COMMAND_CPU_OFF_SMC: u64 = 4;
const COMMAND_CPU_OFF_OF_VCPU0: u64 = 5;

/// A call's result as the function defines it: a return code, or ON/OFF, a version or a number.
struct Shown(u32, u64);

impl core::fmt::Display for Shown {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let Self(function, value) = *self;
        if value.cast_signed() < 0 {
            return write!(formatter, "{} ({value:#x})", code_name(value));
        }
        match function {
            psci::PSCI_AFFINITY_INFO_32 | psci::PSCI_AFFINITY_INFO_64 => {
                let state = match value {
                    AFFINITY_ON => "ON",
                    AFFINITY_OFF => "OFF",
                    _ => "?",
                };
                write!(formatter, "{state} ({value})")
            }
            psci::PSCI_VERSION | psci_support::SMCCC_VERSION => {
                write!(formatter, "{}.{} ({value:#x})", value >> 16, value & 0xFFFF)
            }
            psci::PSCI_MIGRATE_INFO_TYPE
            | psci::PSCI_STAT_COUNT_32
            | psci::PSCI_STAT_COUNT_64
            | psci::PSCI_STAT_RESIDENCY_32
            | psci::PSCI_STAT_RESIDENCY_64
            | COUNT => write!(formatter, "{value}"),
            _ => write!(formatter, "{} ({value:#x})", code_name(value)),
        }
    }
}

/// Pseudo function id for [`check`] of a count.
const COUNT: u32 = 0;

/// Prints `label -> result` for a call of `function` and fails unless the result is `want`.
fn check(function: u32, label: impl core::fmt::Display, got: u64, want: u64) {
    println!("psci-functions: {label} -> {}", Shown(function, got));
    if got != want {
        fail!("{label} returned {}, expected {}", Shown(function, got), Shown(function, want));
    }
}

fn check_on(conduit: Conduit, function: u32, label: impl core::fmt::Display, got: u64, want: u64) {
    println!("psci-functions: {conduit} {label} -> {}", Shown(function, got));
    if got != want {
        fail!("{conduit} {label} returned {}, expected {}", Shown(function, got), Shown(function, want));
    }
}

/// Makes the call over HVC and over SMC; both must return `want`.
fn conduit_calls(function: u32, arguments: &[u64], label: &str, want: u64) {
    for conduit in Conduit::ALL {
        check_on(conduit, function, label, call(conduit, function, arguments), want);
    }
}

fn features(function: u32, name: &str, want: u64) {
    for conduit in Conduit::ALL {
        let got = call(conduit, psci::PSCI_FEATURES, &[u64::from(function)]);
        check_on(conduit, psci::PSCI_FEATURES, format_args!("PSCI_FEATURES({name})"), got, want);
    }
}

fn timer_expired(_interrupt: Acknowledged) {
    virtual_timer::disable();
    TIMER_INTERRUPTS.store(TIMER_INTERRUPTS.load(Ordering::Relaxed) + 1, Ordering::Release);
}

fn partner_sgi(_interrupt: Acknowledged) {
    PARTNER_SGIS.store(PARTNER_SGIS.load(Ordering::Relaxed) + 1, Ordering::Release);
}

fn main(device_tree_address: u64) -> ! {
    let detection = gic::init(device_tree_address);
    let tree = device_tree::parse(device_tree_address);
    let Some((ram_start, ram_end)) = tree.as_ref().and_then(device_tree::ram_range) else {
        fail!("no RAM range in the device tree at {device_tree_address:#x}");
    };
    RAM_END.store(ram_end, Ordering::Release);
    MEMORY_CANARY.store(CANARY, Ordering::Release);
    interrupts::set_handler(virtual_timer::INTID, Some(timer_expired));
    interrupts::set_handler(WAKE_SGI, Some(partner_sgi));
    gic::enable(virtual_timer::INTID);
    set_warm_handler(warm);
    println!("psci-functions: {detection}; RAM {ram_start:#x}..{ram_end:#x}, warm entry {:#x}", warm_entry_address());
    run_from(0)
}

/// Runs the parts from `first` on, then passes.
fn run_from(first: usize) -> ! {
    for (index, part) in PARTS.iter().enumerate().skip(first) {
        NEXT_PART.store(index as u64 + 1, Ordering::Release);
        part();
    }
    report::pass()
}

/// The entry point of every start and resume.
fn warm(context_id: u64) -> ! {
    let state = EntryState::read();
    let index = cpu::index();
    let expected = EXPECTED_CONTEXT.get(index).map_or(0, |slot| slot.swap(0, Ordering::AcqRel));
    if expected == 0 {
        fail!("vCPU {index} entered the warm entry with context id {context_id:#x} unexpectedly");
    }
    if context_id != expected {
        fail!("vCPU {index} entered with context id {context_id:#x}, expected {expected:#x}");
    }
    state.check("entry");
    if index == PARTNER {
        partner(context_id, state);
    }
    let entered = counter::now();
    let mask = psci_support::reenable_cpu_interface();
    if MEMORY_CANARY.load(Ordering::Acquire) != CANARY {
        fail!("memory changed while vCPU 0 was off: {:#x}", MEMORY_CANARY.load(Ordering::Acquire));
    }
    if !gic::is_enabled(virtual_timer::INTID) {
        fail!("the timer interrupt is no longer enabled after vCPU 0's entry");
    }
    match ENTRY_REASON.swap(0, Ordering::AcqRel) {
        WAKE_BY_TIMER => {
            let suspended_at = SUSPENDED_AT.load(Ordering::Acquire);
            let deadline = WAKE_DEADLINE.load(Ordering::Acquire);
            MEASURED_TICKS.store(MEASURED_TICKS.load(Ordering::Relaxed) + (entered - suspended_at), Ordering::Release);
            if entered < deadline {
                fail!("vCPU 0 resumed {} us before its timer deadline", counter::micros_from_ticks(deadline - entered));
            }
            let before = TIMER_INTERRUPTS.load(Ordering::Acquire);
            let delivered = psci_support::unmasked_until(10_000, || TIMER_INTERRUPTS.load(Ordering::Acquire) > before);
            if !delivered {
                fail!("the timer interrupt that woke vCPU 0 was not delivered after unmasking");
            }
            let extra = psci_support::unmasked_until(2_000, || TIMER_INTERRUPTS.load(Ordering::Acquire) > before + 1);
            if extra {
                fail!("the timer interrupt that woke vCPU 0 was delivered twice");
            }
            println!(
                "psci-functions: vCPU 0 entered with x0 = {context_id:#x} after {} us (timer at {} us), DAIF \
                 {:#x}, SCTLR_EL1 {:#x}, priority mask was {mask:#x}, timer interrupt delivered once",
                counter::micros_from_ticks(entered - suspended_at),
                counter::micros_from_ticks(deadline - suspended_at),
                state.daif,
                state.sctlr
            );
        }
        STARTED_BY_PARTNER => {
            println!("psci-functions: vCPU 0 started again with x0 = {context_id:#x}, DAIF {:#x}", state.daif);
            VCPU0_BACK.store(1, Ordering::Release);
            if !psci_support::wait_until(TIMEOUT_MICROS, || COMMAND.load(Ordering::Acquire) == 0) {
                fail!("vCPU 1 did not finish starting vCPU 0");
            }
            check(
                psci::PSCI_CPU_ON_64,
                "vCPU 1: CPU_OFF of vCPU 0, then CPU_ON(0)",
                COMMAND_RESULT.load(Ordering::Acquire),
                SUCCESS,
            );
        }
        reason => fail!("vCPU 0 entered with context id {context_id:#x} for no known reason ({reason})"),
    }
    run_from(NEXT_PART.load(Ordering::Acquire) as usize)
}

/// vCPU 0 alone: everything that does not need a second vCPU on or a suspension.
fn alone() {
    versions_and_features();
    affinity_info_cpu_on_and_cpu_off_errors();
    suspend_reset_and_statistics_errors();
}

/// Versions, PSCI_FEATURES of every function, the unimplemented functions, MIGRATE_INFO_TYPE.
fn versions_and_features() {
    conduit_calls(psci::PSCI_VERSION, &[], "PSCI_VERSION", 0x1_0001);
    conduit_calls(psci_support::SMCCC_VERSION, &[], "SMCCC_VERSION", 0x1_0001);
    for (function, name) in [
        (psci_support::SMCCC_VERSION, "SMCCC_ARCH_FEATURES(SMCCC_VERSION)"),
        (psci_support::SMCCC_ARCH_FEATURES, "SMCCC_ARCH_FEATURES(SMCCC_ARCH_FEATURES)"),
    ] {
        conduit_calls(psci_support::SMCCC_ARCH_FEATURES, &[u64::from(function)], name, SUCCESS);
    }
    conduit_calls(
        psci_support::SMCCC_ARCH_FEATURES,
        &[u64::from(psci_support::SMCCC_ARCH_WORKAROUND_1)],
        "SMCCC_ARCH_FEATURES(ARCH_WORKAROUND_1)",
        NOT_SUPPORTED,
    );
    let implemented = [
        (psci::PSCI_VERSION, "PSCI_VERSION"),
        (psci::PSCI_CPU_SUSPEND_32, "CPU_SUSPEND_32"),
        (psci::PSCI_CPU_SUSPEND_64, "CPU_SUSPEND_64"),
        (psci::PSCI_CPU_OFF, "CPU_OFF"),
        (psci::PSCI_CPU_ON_32, "CPU_ON_32"),
        (psci::PSCI_CPU_ON_64, "CPU_ON_64"),
        (psci::PSCI_AFFINITY_INFO_32, "AFFINITY_INFO_32"),
        (psci::PSCI_AFFINITY_INFO_64, "AFFINITY_INFO_64"),
        (psci::PSCI_MIGRATE_INFO_TYPE, "MIGRATE_INFO_TYPE"),
        (psci::PSCI_SYSTEM_OFF, "SYSTEM_OFF"),
        (psci::PSCI_SYSTEM_RESET, "SYSTEM_RESET"),
        (psci::PSCI_SYSTEM_RESET2_32, "SYSTEM_RESET2_32"),
        (psci::PSCI_SYSTEM_RESET2_64, "SYSTEM_RESET2_64"),
        (psci::PSCI_FEATURES, "PSCI_FEATURES"),
        (psci::PSCI_SYSTEM_SUSPEND_32, "SYSTEM_SUSPEND_32"),
        (psci::PSCI_SYSTEM_SUSPEND_64, "SYSTEM_SUSPEND_64"),
        (psci::PSCI_STAT_RESIDENCY_32, "STAT_RESIDENCY_32"),
        (psci::PSCI_STAT_RESIDENCY_64, "STAT_RESIDENCY_64"),
        (psci::PSCI_STAT_COUNT_32, "STAT_COUNT_32"),
        (psci::PSCI_STAT_COUNT_64, "STAT_COUNT_64"),
        (psci_support::SMCCC_VERSION, "SMCCC_VERSION"),
    ];
    for (function, name) in implemented {
        features(function, name, SUCCESS);
    }
    let unimplemented = [
        (psci::PSCI_MIGRATE_32, "MIGRATE_32"),
        (psci::PSCI_MIGRATE_64, "MIGRATE_64"),
        (psci::PSCI_MIGRATE_INFO_UP_CPU_32, "MIGRATE_INFO_UP_CPU_32"),
        (psci::PSCI_MIGRATE_INFO_UP_CPU_64, "MIGRATE_INFO_UP_CPU_64"),
        (psci::PSCI_CPU_FREEZE, "CPU_FREEZE"),
        (psci::PSCI_CPU_DEFAULT_SUSPEND_32, "CPU_DEFAULT_SUSPEND_32"),
        (psci::PSCI_CPU_DEFAULT_SUSPEND_64, "CPU_DEFAULT_SUSPEND_64"),
        (psci::PSCI_NODE_HW_STATE_32, "NODE_HW_STATE_32"),
        (psci::PSCI_NODE_HW_STATE_64, "NODE_HW_STATE_64"),
        (psci::PSCI_SET_SUSPEND_MODE, "SET_SUSPEND_MODE"),
        (psci::PSCI_MEM_PROTECT, "MEM_PROTECT"),
        (psci::PSCI_MEM_PROTECT_CHECK_RANGE_32, "MEM_PROTECT_CHECK_RANGE_32"),
        (psci::PSCI_MEM_PROTECT_CHECK_RANGE_64, "MEM_PROTECT_CHECK_RANGE_64"),
        (psci_support::PSCI_SYSTEM_OFF2_32, "SYSTEM_OFF2_32"),
        (psci_support::PSCI_SYSTEM_OFF2_64, "SYSTEM_OFF2_64"),
        (psci_support::SMCCC_ARCH_FEATURES, "SMCCC_ARCH_FEATURES"),
        (0x8400_001F, "0x8400001f"),
        (0x1234_5678, "0x12345678"),
    ];
    for (function, name) in unimplemented {
        features(function, name, NOT_SUPPORTED);
    }
    // The unimplemented PSCI functions themselves (harmless arguments: vCPU 0, level 0).
    for (function, name) in unimplemented.iter().take(15) {
        for conduit in Conduit::ALL {
            let got = call(conduit, *function, &[0, 0, 0]);
            println!("psci-functions: {conduit} {name}(0, 0, 0) -> {} ({got:#x})", code_name(got));
            if got != NOT_SUPPORTED {
                fail!("{conduit} {name} returned {got:#x}, expected NOT_SUPPORTED");
            }
        }
    }
    conduit_calls(psci::PSCI_MIGRATE_INFO_TYPE, &[], "MIGRATE_INFO_TYPE", 2);
}

/// AFFINITY_INFO, and the errors of CPU_ON and CPU_OFF while vCPU 0 is alone.
fn affinity_info_cpu_on_and_cpu_off_errors() {
    let warm = warm_entry_address();
    let ram_end = RAM_END.load(Ordering::Acquire);
    // AFFINITY_INFO.
    conduit_calls(psci::PSCI_AFFINITY_INFO_64, &[0, 0], "AFFINITY_INFO(0, level 0)", AFFINITY_ON);
    conduit_calls(psci::PSCI_AFFINITY_INFO_64, &[1, 0], "AFFINITY_INFO(1, level 0)", AFFINITY_OFF);
    conduit_calls(psci::PSCI_AFFINITY_INFO_64, &[0, 1], "AFFINITY_INFO(0, level 1)", AFFINITY_ON);
    conduit_calls(psci::PSCI_AFFINITY_INFO_64, &[VCPUS, 0], "AFFINITY_INFO(2, level 0)", INVALID_PARAMETERS);
    conduit_calls(psci::PSCI_AFFINITY_INFO_64, &[0x100, 0], "AFFINITY_INFO(0x100, level 0)", INVALID_PARAMETERS);
    conduit_calls(psci::PSCI_AFFINITY_INFO_64, &[0, 4], "AFFINITY_INFO(0, level 4)", INVALID_PARAMETERS);
    conduit_calls(
        psci::PSCI_AFFINITY_INFO_32,
        &[GARBAGE | 1, GARBAGE],
        "AFFINITY_INFO_32(garbage:1, garbage:0)",
        AFFINITY_OFF,
    );
    conduit_calls(psci::PSCI_AFFINITY_INFO_64, &[GARBAGE | 1, 0], "AFFINITY_INFO_64(garbage:1, 0)", INVALID_PARAMETERS);

    // CPU_ON errors; vCPU 1 stays off.
    conduit_calls(psci::PSCI_CPU_ON_64, &[VCPUS, warm, 1], "CPU_ON(2) of a vCPU the domain lacks", INVALID_PARAMETERS);
    conduit_calls(psci::PSCI_CPU_ON_64, &[0x100, warm, 1], "CPU_ON(0x100)", INVALID_PARAMETERS);
    conduit_calls(psci::PSCI_CPU_ON_64, &[0, warm, 1], "CPU_ON(0) of the caller", ALREADY_ON);
    conduit_calls(psci::PSCI_CPU_ON_64, &[1, 0x1000, 1], "CPU_ON(1) at 0x1000, below RAM", INVALID_ADDRESS);
    conduit_calls(psci::PSCI_CPU_ON_64, &[1, ram_end, 1], "CPU_ON(1) at the end of RAM", INVALID_ADDRESS);
    conduit_calls(psci::PSCI_CPU_ON_64, &[1, warm | 1], "CPU_ON(1) at an odd entry", INVALID_ADDRESS);
    conduit_calls(psci::PSCI_CPU_ON_64, &[1, GARBAGE | warm, 1], "CPU_ON_64(1) at garbage:entry", INVALID_ADDRESS);
    conduit_calls(psci::PSCI_AFFINITY_INFO_64, &[1, 0], "AFFINITY_INFO(1) after failed CPU_ONs", AFFINITY_OFF);

    // CPU_OFF of the last vCPU.
    conduit_calls(psci::PSCI_CPU_OFF, &[], "CPU_OFF of the last vCPU on", DENIED);
}

/// The errors of CPU_SUSPEND, SYSTEM_RESET2, SYSTEM_SUSPEND and the statistics calls.
fn suspend_reset_and_statistics_errors() {
    let warm = warm_entry_address();
    let ram_end = RAM_END.load(Ordering::Acquire);
    // CPU_SUSPEND errors.
    conduit_calls(psci::PSCI_CPU_SUSPEND_64, &[1 << 30, warm, 1], "CPU_SUSPEND(reserved bit 30)", INVALID_PARAMETERS);
    conduit_calls(
        psci::PSCI_CPU_SUSPEND_64,
        &[POWER_DOWN, 0x1000, 1],
        "CPU_SUSPEND(power-down, 0x1000)",
        INVALID_ADDRESS,
    );
    conduit_calls(
        psci::PSCI_CPU_SUSPEND_64,
        &[POWER_DOWN, warm | 1, 1],
        "CPU_SUSPEND(power-down, odd)",
        INVALID_ADDRESS,
    );

    // SYSTEM_RESET2 with types the domain cannot have.
    conduit_calls(psci::PSCI_SYSTEM_RESET2_32, &[0x8000_0000, 0], "SYSTEM_RESET2_32(vendor 0)", NOT_SUPPORTED);
    conduit_calls(psci::PSCI_SYSTEM_RESET2_64, &[0x8000_0001, 0], "SYSTEM_RESET2_64(vendor 1)", NOT_SUPPORTED);
    conduit_calls(psci::PSCI_SYSTEM_RESET2_32, &[1, 0], "SYSTEM_RESET2_32(architectural 1)", INVALID_PARAMETERS);
    conduit_calls(
        psci::PSCI_SYSTEM_RESET2_64,
        &[0x7FFF_FFFF, 0],
        "SYSTEM_RESET2_64(architectural 0x7fffffff)",
        INVALID_PARAMETERS,
    );
    conduit_calls(
        psci::PSCI_SYSTEM_RESET2_32,
        &[GARBAGE | 0x8000_0001, GARBAGE],
        "SYSTEM_RESET2_32(garbage:vendor 1)",
        NOT_SUPPORTED,
    );

    // SYSTEM_SUSPEND with entry points outside RAM or odd (vCPU 1 is off, so the address decides).
    conduit_calls(psci::PSCI_SYSTEM_SUSPEND_64, &[0x1000, 1], "SYSTEM_SUSPEND(0x1000)", INVALID_ADDRESS);
    conduit_calls(psci::PSCI_SYSTEM_SUSPEND_64, &[ram_end, 1], "SYSTEM_SUSPEND(end of RAM)", INVALID_ADDRESS);
    conduit_calls(psci::PSCI_SYSTEM_SUSPEND_64, &[warm | 1, 1], "SYSTEM_SUSPEND(odd entry)", INVALID_ADDRESS);
    conduit_calls(psci::PSCI_SYSTEM_SUSPEND_32, &[0x1000, 1], "SYSTEM_SUSPEND_32(0x1000)", INVALID_ADDRESS);
    conduit_calls(
        psci::PSCI_SYSTEM_SUSPEND_64,
        &[GARBAGE | warm, 1],
        "SYSTEM_SUSPEND_64(garbage:entry)",
        INVALID_ADDRESS,
    );

    // Statistics before any power-down.
    conduit_calls(psci::PSCI_STAT_COUNT_64, &[0, POWER_DOWN], "STAT_COUNT(0, power-down) at start", 0);
    conduit_calls(psci::PSCI_STAT_RESIDENCY_64, &[0, POWER_DOWN], "STAT_RESIDENCY(0, power-down) at start", 0);
    conduit_calls(psci::PSCI_STAT_COUNT_64, &[VCPUS, POWER_DOWN], "STAT_COUNT(2, power-down)", INVALID_PARAMETERS);
    conduit_calls(psci::PSCI_STAT_RESIDENCY_32, &[VCPUS, POWER_DOWN], "STAT_RESIDENCY_32(2)", INVALID_PARAMETERS);
}

/// Waits for vCPU 1 to be in state `want` per AFFINITY_INFO.
fn wait_for_partner(want: u64, what: &str) {
    if !psci_support::wait_until(TIMEOUT_MICROS, || affinity(PARTNER) == want) {
        fail!("AFFINITY_INFO({PARTNER}) still {:#x} {what}", affinity(PARTNER));
    }
}

/// Starts vCPU 1 with `function` over `conduit` and waits until it reached its entry point.
fn start_partner(conduit: Conduit, function: u32, arguments: &[u64], label: &str, expected: u64) {
    let entries = PARTNER_ENTRIES.load(Ordering::Acquire);
    COMMAND.store(0, Ordering::Release);
    EXPECTED_CONTEXT[PARTNER].store(expected, Ordering::Release);
    check_on(conduit, function, label, call(conduit, function, arguments), SUCCESS);
    if !psci_support::wait_until(TIMEOUT_MICROS, || PARTNER_ENTRIES.load(Ordering::Acquire) > entries) {
        fail!("vCPU {PARTNER} did not reach its entry point after {label}");
    }
    println!(
        "psci-functions: vCPU 1 runs at the entry with x0 = {:#x}, DAIF masked, MMU off",
        PARTNER_CONTEXT.load(Ordering::Acquire)
    );
}

/// Runs `command` on vCPU 1 and returns its result.
fn command(command: u64) -> u64 {
    COMMAND.store(command, Ordering::Release);
    if !psci_support::wait_until(TIMEOUT_MICROS, || COMMAND.load(Ordering::Acquire) == 0) {
        fail!("vCPU {PARTNER} did not finish command {command}");
    }
    COMMAND_RESULT.load(Ordering::Acquire)
}

/// vCPU 0 with vCPU 1 on.
fn with_partner() {
    let warm = warm_entry_address();
    start_partner(Conduit::Hvc, psci::PSCI_CPU_ON_64, &[1, warm, CTX_PARTNER_HVC], "CPU_ON(1)", CTX_PARTNER_HVC);
    conduit_calls(psci::PSCI_CPU_ON_64, &[1, warm, 2], "CPU_ON(1) while it is on", ALREADY_ON);
    conduit_calls(psci::PSCI_AFFINITY_INFO_64, &[1, 0], "AFFINITY_INFO(1) while it is on", AFFINITY_ON);
    conduit_calls(psci::PSCI_AFFINITY_INFO_64, &[0, 1], "AFFINITY_INFO(0, level 1) with both on", AFFINITY_ON);
    conduit_calls(psci::PSCI_SYSTEM_SUSPEND_64, &[warm, 1], "SYSTEM_SUSPEND while vCPU 1 is on", DENIED);
    conduit_calls(psci::PSCI_SYSTEM_SUSPEND_32, &[warm, 1], "SYSTEM_SUSPEND_32 while vCPU 1 is on", DENIED);
    conduit_calls(
        psci::PSCI_SYSTEM_SUSPEND_64,
        &[0x1000, 1],
        "SYSTEM_SUSPEND(0x1000) while vCPU 1 is on (DENIED is checked first)",
        DENIED,
    );
    check(
        psci::PSCI_SYSTEM_SUSPEND_64,
        "vCPU 1: SYSTEM_SUSPEND while vCPU 0 is on",
        command(COMMAND_SYSTEM_SUSPEND),
        DENIED,
    );

    // vCPU 1 powers down; CPU_ON finds it on; an SGI resumes it at its entry point.
    let entries = PARTNER_ENTRIES.load(Ordering::Acquire);
    let suspending = PARTNER_SUSPENDING.load(Ordering::Acquire);
    EXPECTED_CONTEXT[PARTNER].store(CTX_PARTNER_RESUME, Ordering::Release);
    COMMAND.store(COMMAND_POWER_DOWN, Ordering::Release);
    if !psci_support::wait_until(TIMEOUT_MICROS, || PARTNER_SUSPENDING.load(Ordering::Acquire) > suspending) {
        fail!("vCPU {PARTNER} did not start its CPU_SUSPEND");
    }
    counter::delay_micros(PARTNER_SLEEP_MICROS);
    if PARTNER_ENTRIES.load(Ordering::Acquire) != entries {
        fail!("vCPU {PARTNER} resumed from CPU_SUSPEND before anything woke it");
    }
    check(psci::PSCI_AFFINITY_INFO_64, "AFFINITY_INFO(1) while it is powered down", affinity(PARTNER), AFFINITY_ON);
    check(
        psci::PSCI_CPU_ON_64,
        "CPU_ON(1) while it is powered down",
        psci_support::cpu_on_at(Conduit::Hvc, 1, warm, 3),
        ALREADY_ON,
    );
    check(
        psci::PSCI_SYSTEM_SUSPEND_64,
        "SYSTEM_SUSPEND while vCPU 1 is powered down",
        psci_support::system_suspend_at(Conduit::Hvc, warm, 4),
        DENIED,
    );
    gic::send_sgi(WAKE_SGI, PARTNER);
    if !psci_support::wait_until(TIMEOUT_MICROS, || PARTNER_ENTRIES.load(Ordering::Acquire) > entries) {
        fail!("vCPU {PARTNER} did not resume after SGI {WAKE_SGI}");
    }
    if !psci_support::wait_until(TIMEOUT_MICROS, || COMMAND.load(Ordering::Acquire) == 0) {
        fail!("vCPU {PARTNER} did not finish its resume");
    }
    check(COUNT, "vCPU 1: SGIs taken after its resume", COMMAND_RESULT.load(Ordering::Acquire), 1);
    conduit_calls(psci::PSCI_STAT_COUNT_64, &[1, POWER_DOWN], "STAT_COUNT(1, power-down)", 1);
    let residency = call(Conduit::Hvc, psci::PSCI_STAT_RESIDENCY_64, &[1, POWER_DOWN]);
    println!("psci-functions: HVC STAT_RESIDENCY(1, power-down) -> {residency} us");
    if !(PARTNER_SLEEP_MICROS - 1_000..TIMEOUT_MICROS).contains(&residency) {
        fail!("STAT_RESIDENCY(1) = {residency} us after a power-down of at least {PARTNER_SLEEP_MICROS} us");
    }

    // CPU_OFF: vCPU 1 stops and AFFINITY_INFO says so.
    COMMAND.store(COMMAND_CPU_OFF_HVC, Ordering::Release);
    wait_for_partner(AFFINITY_OFF, "after its CPU_OFF (HVC)");
    println!("psci-functions: HVC CPU_OFF on vCPU 1 -> it stopped, AFFINITY_INFO(1) = OFF");
    conduit_calls(psci::PSCI_CPU_OFF, &[], "CPU_OFF of vCPU 0, the last vCPU on", DENIED);

    // CPU_ON over SMC32 with garbage in every upper half; vCPU 1 gets the low half as context id.
    start_partner(
        Conduit::Smc,
        psci::PSCI_CPU_ON_32,
        &[GARBAGE | 1, GARBAGE | warm, GARBAGE | u64::from(CTX_PARTNER_SMC32)],
        "CPU_ON_32(garbage:1, garbage:entry, garbage:context)",
        u64::from(CTX_PARTNER_SMC32),
    );
}

/// vCPU 1 turns vCPU 0 off (by asking it to call CPU_OFF) and starts it again; vCPU 0 continues at
/// its entry point.
fn vcpu0_off_and_on() {
    ENTRY_REASON.store(STARTED_BY_PARTNER, Ordering::Release);
    EXPECTED_CONTEXT[0].store(CTX_VCPU0_AGAIN, Ordering::Release);
    VCPU0_BACK.store(0, Ordering::Release);
    VCPU0_OFF.store(0, Ordering::Release);
    COMMAND.store(COMMAND_CPU_OFF_OF_VCPU0, Ordering::Release);
    if !psci_support::wait_until(TIMEOUT_MICROS, || VCPU0_OFF.load(Ordering::Acquire) != 0) {
        fail!("vCPU 1 did not ask vCPU 0 to turn off");
    }
    psci_support::leave_traces();
    let result = call(Conduit::Hvc, psci::PSCI_CPU_OFF, &[]);
    fail!("CPU_OFF of vCPU 0 with vCPU 1 on returned {result:#x} ({})", code_name(result));
}

fn partner_off_by_smc() {
    COMMAND.store(COMMAND_CPU_OFF_SMC, Ordering::Release);
    wait_for_partner(AFFINITY_OFF, "after its CPU_OFF (SMC)");
    println!("psci-functions: SMC CPU_OFF on vCPU 1 -> it stopped, AFFINITY_INFO(1) = OFF");
}

/// vCPU 1: entered at the warm entry; takes commands from vCPU 0.
fn partner(context_id: u64, state: EntryState) -> ! {
    let resumed = context_id == CTX_PARTNER_RESUME;
    if context_id == CTX_PARTNER_SYSTEM_SUSPEND {
        psci_support::reenable_cpu_interface();
        let result = start_vcpu0_again();
        COMMAND_RESULT.store(result, Ordering::Release);
        COMMAND.store(0, Ordering::Release);
    } else if resumed {
        let mask = psci_support::reenable_cpu_interface();
        println!(
            "psci-functions: vCPU 1 resumed from CPU_SUSPEND with x0 = {context_id:#x}: SCTLR_EL1 {:#x}, DAIF {:#x}, \
             priority mask was {mask:#x}",
            state.sctlr, state.daif
        );
        if !gic::is_enabled(WAKE_SGI) {
            fail!("SGI {WAKE_SGI} is no longer enabled on vCPU 1 after its resume");
        }
    } else {
        gic::init_cpu();
        gic::enable(WAKE_SGI);
    }
    PARTNER_CONTEXT.store(context_id, Ordering::Release);
    PARTNER_ENTRIES.store(PARTNER_ENTRIES.load(Ordering::Relaxed) + 1, Ordering::Release);
    if resumed {
        let before = PARTNER_SGIS.load(Ordering::Acquire);
        psci_support::unmasked_until(2_000, || false);
        COMMAND_RESULT.store(PARTNER_SGIS.load(Ordering::Acquire) - before, Ordering::Release);
        COMMAND.store(0, Ordering::Release);
    }
    loop {
        let command = COMMAND.load(Ordering::Acquire);
        let result = match command {
            0 => continue,
            COMMAND_SYSTEM_SUSPEND => psci_support::system_suspend_at(Conduit::Hvc, warm_entry_address(), 9),
            COMMAND_POWER_DOWN => {
                psci_support::leave_traces();
                PARTNER_SUSPENDING.store(PARTNER_SUSPENDING.load(Ordering::Relaxed) + 1, Ordering::Release);
                let result =
                    psci_support::cpu_suspend(Conduit::Hvc, POWER_DOWN, warm_entry_address(), CTX_PARTNER_RESUME);
                fail!("CPU_SUSPEND(power-down) on vCPU 1 returned {result:#x} ({})", code_name(result));
            }
            COMMAND_CPU_OFF_HVC | COMMAND_CPU_OFF_SMC => {
                let conduit = if command == COMMAND_CPU_OFF_HVC { Conduit::Hvc } else { Conduit::Smc };
                COMMAND.store(0, Ordering::Release);
                let result = call(conduit, psci::PSCI_CPU_OFF, &[]);
                fail!("{conduit} CPU_OFF on vCPU 1 returned {result:#x} ({})", code_name(result));
            }
            COMMAND_CPU_OFF_OF_VCPU0 => off_and_on_again(),
            _ => fail!("unknown command {command}"),
        };
        COMMAND_RESULT.store(result, Ordering::Release);
        COMMAND.store(0, Ordering::Release);
    }
}

/// On vCPU 1: asks vCPU 0 to call CPU_OFF, waits until AFFINITY_INFO says it is off, checks that
/// its own CPU_OFF is now DENIED (it is the last vCPU on), then suspends the domain itself with
/// SYSTEM_SUSPEND, woken by its own virtual timer; [`partner`] continues with
/// [`start_vcpu0_again`].
fn off_and_on_again() -> u64 {
    VCPU0_OFF.store(1, Ordering::Release);
    if !psci_support::wait_until(TIMEOUT_MICROS, || affinity(0) == AFFINITY_OFF) {
        fail!("vCPU 0 did not turn off");
    }
    println!("psci-functions: vCPU 1 sees AFFINITY_INFO(0) = OFF after vCPU 0's CPU_OFF");
    check(
        psci::PSCI_CPU_OFF,
        "vCPU 1: CPU_OFF of vCPU 1, now the last vCPU on",
        call(Conduit::Smc, psci::PSCI_CPU_OFF, &[]),
        DENIED,
    );
    gic::enable(virtual_timer::INTID);
    EXPECTED_CONTEXT[PARTNER].store(CTX_PARTNER_SYSTEM_SUSPEND, Ordering::Release);
    psci_support::leave_traces();
    PARTNER_SUSPENDED_AT.store(counter::now(), Ordering::Release);
    PARTNER_DEADLINE.store(psci_support::arm_timer_in(WAKE_MICROS), Ordering::Release);
    let result = psci_support::system_suspend_at(Conduit::Smc, warm_entry_address(), CTX_PARTNER_SYSTEM_SUSPEND);
    fail!("vCPU 1: SYSTEM_SUSPEND with vCPU 0 off returned {result:#x} ({})", code_name(result))
}

/// On vCPU 1, resumed from its SYSTEM_SUSPEND: the timer interrupt arrives, then vCPU 1 starts
/// vCPU 0 again and waits until it is back at its entry point.
fn start_vcpu0_again() -> u64 {
    let entered = counter::now();
    let deadline = PARTNER_DEADLINE.load(Ordering::Acquire);
    if entered < deadline {
        fail!("vCPU 1 resumed from SYSTEM_SUSPEND before its timer's deadline");
    }
    if !gic::is_enabled(virtual_timer::INTID) {
        fail!("the timer interrupt is no longer enabled on vCPU 1 after its SYSTEM_SUSPEND");
    }
    let before = TIMER_INTERRUPTS.load(Ordering::Acquire);
    if !psci_support::unmasked_until(10_000, || TIMER_INTERRUPTS.load(Ordering::Acquire) > before) {
        fail!("the timer interrupt that woke vCPU 1 was not delivered after unmasking");
    }
    gic::disable(virtual_timer::INTID);
    println!(
        "psci-functions: vCPU 1 resumed from its SYSTEM_SUSPEND (vCPU 0 off) with x0 = {CTX_PARTNER_SYSTEM_SUSPEND:#x} \
         after {} us, on vCPU 1, timer interrupt delivered",
        counter::micros_from_ticks(entered - PARTNER_SUSPENDED_AT.load(Ordering::Acquire))
    );
    check(psci::PSCI_AFFINITY_INFO_64, "vCPU 1: AFFINITY_INFO(0) after the resume", affinity(0), AFFINITY_OFF);
    check(
        psci::PSCI_CPU_ON_64,
        "vCPU 1: CPU_ON(0)",
        psci_support::cpu_on_at(Conduit::Smc, 0, warm_entry_address(), CTX_VCPU0_AGAIN),
        SUCCESS,
    );
    if !psci_support::wait_until(TIMEOUT_MICROS, || VCPU0_BACK.load(Ordering::Acquire) != 0) {
        fail!("vCPU 0 did not come back after CPU_ON(0)");
    }
    SUCCESS
}

/// CPU_SUSPEND standby by HVC64 and by SMC32 (garbage upper halves): returns SUCCESS once the
/// timer interrupt is pending (IRQs stay masked), no earlier than its deadline.
fn standby() {
    for (conduit, function, power_state) in [
        (Conduit::Hvc, psci::PSCI_CPU_SUSPEND_64, STANDBY),
        (Conduit::Smc, psci::PSCI_CPU_SUSPEND_32, GARBAGE | STANDBY),
    ] {
        let start = counter::now();
        let deadline = psci_support::arm_timer_in(WAKE_MICROS);
        let result = call(conduit, function, &[power_state, GARBAGE, GARBAGE]);
        let returned = counter::now();
        check_on(conduit, function, "CPU_SUSPEND(standby)", result, SUCCESS);
        println!(
            "psci-functions: {conduit} CPU_SUSPEND(standby) returned after {} us (timer at {} us)",
            counter::micros_from_ticks(returned - start),
            counter::micros_from_ticks(deadline - start)
        );
        if returned < deadline || !virtual_timer::condition_met() {
            fail!("CPU_SUSPEND(standby) returned before the timer interrupt was pending");
        }
        let before = TIMER_INTERRUPTS.load(Ordering::Acquire);
        if !psci_support::unmasked_until(10_000, || TIMER_INTERRUPTS.load(Ordering::Acquire) > before) {
            fail!("the timer interrupt that ended the standby was not delivered");
        }
    }
}

/// Suspends vCPU 0 with `suspend`, woken by its timer; [`warm`] continues with the next part.
fn suspend_by_timer(context_id: u64, label: &str, suspend: impl FnOnce(u64) -> u64) -> ! {
    ENTRY_REASON.store(WAKE_BY_TIMER, Ordering::Release);
    EXPECTED_CONTEXT[0].store(context_id, Ordering::Release);
    POWER_DOWNS.store(POWER_DOWNS.load(Ordering::Relaxed) + 1, Ordering::Release);
    psci_support::leave_traces();
    SUSPENDED_AT.store(counter::now(), Ordering::Release);
    WAKE_DEADLINE.store(psci_support::arm_timer_in(WAKE_MICROS), Ordering::Release);
    let result = suspend(warm_entry_address());
    fail!("{label} returned {result:#x} ({})", code_name(result))
}

fn power_down_hvc() {
    suspend_by_timer(CTX_POWER_DOWN_HVC, "HVC CPU_SUSPEND(power-down)", |entry| {
        psci_support::cpu_suspend(Conduit::Hvc, POWER_DOWN, entry, CTX_POWER_DOWN_HVC)
    });
}

fn power_down_smc32() {
    suspend_by_timer(u64::from(CTX_POWER_DOWN_SMC32), "SMC CPU_SUSPEND_32(power-down)", |entry| {
        call(
            Conduit::Smc,
            psci::PSCI_CPU_SUSPEND_32,
            &[GARBAGE | POWER_DOWN, GARBAGE | entry, GARBAGE | u64::from(CTX_POWER_DOWN_SMC32)],
        )
    });
}

fn system_suspend_hvc() {
    suspend_by_timer(CTX_SUSPEND_HVC, "HVC SYSTEM_SUSPEND", |entry| {
        psci_support::system_suspend_at(Conduit::Hvc, entry, CTX_SUSPEND_HVC)
    });
}

fn system_suspend_smc32() {
    suspend_by_timer(u64::from(CTX_SUSPEND_SMC32), "SMC SYSTEM_SUSPEND_32", |entry| {
        call(Conduit::Smc, psci::PSCI_SYSTEM_SUSPEND_32, &[GARBAGE | entry, GARBAGE | u64::from(CTX_SUSPEND_SMC32)])
    });
}

/// STAT_COUNT and STAT_RESIDENCY of vCPU 0 after its power-downs (CPU_SUSPEND power-down and, as
/// Somnus counts it, SYSTEM_SUSPEND); standby is not a tracked state.
fn statistics_after_power_downs() {
    let count = POWER_DOWNS.load(Ordering::Acquire);
    conduit_calls(psci::PSCI_STAT_COUNT_64, &[0, POWER_DOWN], "STAT_COUNT(0, power-down)", count);
    conduit_calls(
        psci::PSCI_STAT_COUNT_32,
        &[GARBAGE, GARBAGE | POWER_DOWN],
        "STAT_COUNT_32(garbage:0, garbage:power-down)",
        count,
    );
    conduit_calls(psci::PSCI_STAT_COUNT_64, &[0, STANDBY], "STAT_COUNT(0, standby)", 0);
    conduit_calls(
        psci::PSCI_STAT_COUNT_64,
        &[0, POWER_DOWN | (1 << 30)],
        "STAT_COUNT(0, reserved bit)",
        INVALID_PARAMETERS,
    );
    let residency = call(Conduit::Hvc, psci::PSCI_STAT_RESIDENCY_64, &[0, POWER_DOWN]);
    let measured = counter::micros_from_ticks(MEASURED_TICKS.load(Ordering::Acquire));
    println!(
        "psci-functions: HVC STAT_RESIDENCY(0, power-down) -> {residency} us after {count} power-downs that vCPU 0 \
         measured as {measured} us"
    );
    let least = count * WAKE_MICROS - 1_000;
    if residency < least || residency > measured + 1_000 {
        fail!("STAT_RESIDENCY(0) = {residency} us, expected {least}..={} us", measured + 1_000);
    }
}

/// After the two SYSTEM_SUSPENDs: the statistics count them too, and vCPU 1 is still off.
fn final_statistics() {
    statistics_after_power_downs();
    conduit_calls(psci::PSCI_AFFINITY_INFO_64, &[1, 0], "AFFINITY_INFO(1) after the suspensions", AFFINITY_OFF);
    println!("psci-functions: {} timer interrupts taken in all", TIMER_INTERRUPTS.load(Ordering::Acquire));
}
